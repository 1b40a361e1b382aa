// SPDX-License-Identifier: Apache-2.0
// http/src/loop_wire.h: what the server loop writes itself (server_loop.cc,
// server_accept.cc): small, best-effort answers. Internal.

#ifndef CTX_HTTP_SRC_LOOP_WIRE_H_
#define CTX_HTTP_SRC_LOOP_WIRE_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace ctx::http::internal {

// SendSome is one send(2) of [data, data + size) that never blocks and never
// raises SIGPIPE, retried on EINTR: the bytes the socket took, or -1 with
// errno (EAGAIN/EWOULDBLOCK: the socket is full).
ssize_t SendSome(int fd, const char* data, size_t size);

// SendNow writes what the socket takes at once, never blocking and never
// raising SIGPIPE; the rest is dropped.
void SendNow(int fd, std::string_view data);

// ErrorResponse is a complete `status` response with `reason` as its plain
// text body and Connection: close.
[[nodiscard]] std::string ErrorResponse(int status, std::string_view reason);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_LOOP_WIRE_H_
