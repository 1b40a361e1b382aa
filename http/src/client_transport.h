// http/src/client_transport.h: httplib's client with waits that end when a
// context is done. Internal.
//
// httplib::ClientImpl lets a subclass replace how a socket is connected
// (create_and_connect_socket, protected virtual) and how a connected socket is
// read and written (process_socket, a private virtual: overridable, not
// callable). We replace both so every wait also polls the call's abort
// descriptor (the context's Done().Fd()) and is no longer than the call's
// remaining deadline. The thread making the call is the only one that touches
// its socket: cancellation needs no cross-thread shutdown and cannot hit a
// descriptor httplib already closed and the process reused.

#ifndef CTX_HTTP_SRC_CLIENT_TRANSPORT_H_
#define CTX_HTTP_SRC_CLIENT_TRANSPORT_H_

#include <httplib.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "ctx/done_signal.h"

namespace ctx::http::internal {

// CallLimits is what one call may wait for: the abort descriptor (-1: none)
// and the deadline (nullopt: none), on top of httplib's own timeouts.
struct CallLimits {
  int abort_fd = -1;
  std::optional<TimePoint> deadline;
};

class ContextClientImpl final : public httplib::ClientImpl {
 public:
  ContextClientImpl(const std::string& host, int port)
      : httplib::ClientImpl(host, port) {}

  // set_limits sets the limits of the next calls; the caller serializes
  // calls and resets them afterwards.
  void set_limits(const CallLimits& limits) { limits_ = limits; }

 protected:
  bool create_and_connect_socket(Socket& socket,
                                 httplib::Error& error) override;

 private:
  bool process_socket(const Socket& socket,
                      std::function<bool(httplib::Stream&)> callback) override;

  // Bounded returns `configured`, shortened to what is left of the deadline.
  std::chrono::microseconds Bounded(std::chrono::microseconds configured) const;

  CallLimits limits_;  // written between calls, by the calling thread
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_CLIENT_TRANSPORT_H_
