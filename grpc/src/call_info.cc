// SPDX-License-Identifier: Apache-2.0
// CallInfo: the call's method and peer, read from gRPC on first use. See
// ctx/grpc/call_context.h.

#include <grpcpp/server_context.h>

#include <mutex>
#include <string>
#include <string_view>

#include "ctx/grpc/call_context.h"
#include "ctx/propagation.h"

namespace ctx::grpc {

CallInfo::CallInfo(const internal::CallInfoSource& source) noexcept
    : request_id_source_(source.request_id_source),
      server_context_(source.server_context),
      method_source_(source.method) {}

std::string_view CallInfo::method() const { return Read(kMethod); }

std::string_view CallInfo::peer() const { return Read(kPeer); }

std::string_view CallInfo::Read(uint8_t bit) const {
  if ((read_.load(std::memory_order_acquire) & bit) == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (linked_.load(std::memory_order_relaxed)) {
      CaptureLocked(bit);
    } else {
      // Unlinked without a copy (the call ended with no moment at which
      // gRPC's call was known to be readable): "" from now on.
      read_.fetch_or(bit, std::memory_order_release);
    }
  }
  return bit == kMethod ? std::string_view(method_) : std::string_view(peer_);
}

void CallInfo::CaptureLocked(uint8_t bit) const {
  if ((read_.load(std::memory_order_relaxed) & bit) != 0) return;
  if (bit == kMethod) {
    if (method_source_ != nullptr) method_ = method_source_;
  } else if (server_context_ != nullptr) {
    peer_ = server_context_->peer();
  }
  read_.fetch_or(bit, std::memory_order_release);
}

void CallInfo::Unlink(bool copy, bool forget) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (linked_.load(std::memory_order_relaxed) && copy) {
    CaptureLocked(kMethod);
    CaptureLocked(kPeer);
  }
  linked_.store(false, std::memory_order_relaxed);
  if (forget) {
    server_context_ = nullptr;
    method_source_ = nullptr;
  }
}

void CallInfo::CaptureIfUnlinked() const {
  // Relaxed: the caller orders this after Unlink (the registry's lock).
  if (linked_.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(mu_);
  CaptureLocked(kMethod);
  CaptureLocked(kPeer);
}

std::ostream& operator<<(std::ostream& os, const CallInfo& info) {
  return os << "method=" << LogSafe(info.method(), 256)
            << " peer=" << LogSafe(info.peer(), 256);
}

}  // namespace ctx::grpc
