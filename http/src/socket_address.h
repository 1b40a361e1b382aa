// SPDX-License-Identifier: Apache-2.0
// http/src/socket_address.h: socket addresses as httplib reports them.
// Internal.

#ifndef CTX_HTTP_SRC_SOCKET_ADDRESS_H_
#define CTX_HTTP_SRC_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <string>

namespace ctx::http::internal {

// AddressOf renders `addr` as httplib does: numeric host into `ip`, host-order
// port into `port` (each left unchanged when it cannot be rendered).
void AddressOf(const sockaddr_storage& addr, socklen_t len, std::string& ip,
               int& port);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_SOCKET_ADDRESS_H_
