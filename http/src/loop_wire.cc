// SPDX-License-Identifier: Apache-2.0
// The server loop's own answers. See loop_wire.h.

#include "loop_wire.h"

#include <sys/socket.h>

#include <cerrno>

#include "reason_phrase.h"

namespace ctx::http::internal {

ssize_t SendSome(int fd, const char* data, size_t size) {
  for (;;) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0 || errno != EINTR) return n;
  }
}

void SendNow(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = SendSome(fd, data.data(), data.size());
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string ErrorResponse(int status, std::string_view reason) {
  std::string body(reason);
  body.push_back('\n');
  std::string r = "HTTP/1.1 ";
  r.append(std::to_string(status))
      .append(" ")
      .append(ReasonPhrase(status))
      .append("\r\nContent-Type: text/plain\r\nContent-Length: ")
      .append(std::to_string(body.size()))
      .append("\r\nConnection: close\r\n\r\n")
      .append(body);
  return r;
}

}  // namespace ctx::http::internal
