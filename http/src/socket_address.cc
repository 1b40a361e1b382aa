// SPDX-License-Identifier: Apache-2.0
// Socket addresses as text. See socket_address.h.

#include "socket_address.h"

#include <netdb.h>
#include <netinet/in.h>

namespace ctx::http::internal {

void AddressOf(const sockaddr_storage& addr, socklen_t len, std::string& ip,
               int& port) {
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host,
                  sizeof(host), nullptr, 0, NI_NUMERICHOST) == 0) {
    ip = host;
  }
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
}

}  // namespace ctx::http::internal
