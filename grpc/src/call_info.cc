// SPDX-License-Identifier: Apache-2.0
// CallInfo, and how the bridge makes one. See ctx/grpc/call_context.h and
// call_info.h.

#include "call_info.h"

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <unordered_set>
#include <utility>

#include "mutex.h"

namespace ctx::grpc {
namespace internal {
namespace {

// SharedNames keeps each registered method's name once, for the life of the
// process (calls' CallInfos point at them; never freed).
class SharedNames {
 public:
  const std::string* Get(std::string_view name) {
    MutexLock lock(mu_);
    auto it = names_.find(name);
    if (it != names_.end()) return &*it;
    if (names_.size() >= CallInfoMaker::kMaxSharedNames) return nullptr;
    return &*names_.emplace(name).first;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  Mutex mu_;
  // Node-based: an element's address never changes.
  std::unordered_set<std::string, Hash, std::equal_to<>> names_
      CTX_GUARDED_BY(mu_);
};

// RecentName is one entry of a thread's cache of shared names, keyed by the
// address gRPC passed (a registered method's name lives in its service), and
// checked by content: a reused address with another name misses.
struct RecentName {
  const char* key = nullptr;
  const std::string* name = nullptr;
};
constexpr std::size_t kRecentNames = 16;
thread_local RecentName t_recent[kRecentNames];

// peer_reads counts the peers read from gRPC (CallInfoMaker::PeerReads).
std::atomic<std::uint64_t> peer_reads{0};

// PeerLock is the lock CallInfo::EndLink takes (a peer's first read, or the
// end of the call), one of a few stripes by address (taken once per call at
// most, so rarely contended). Never destroyed: calls may still end while static
// destructors run at exit.
Mutex& PeerLock(const CallInfo* info) noexcept {
  static constexpr std::size_t kStripes = 16;
  struct alignas(64) Stripe {
    Mutex mu;
  };
  static Stripe* const stripes = new Stripe[kStripes];
  return stripes[(reinterpret_cast<std::uintptr_t>(info) >> 6) % kStripes].mu;
}

bool SameName(const char* method, const std::string& name) noexcept {
  // strncmp stops at method's end; then its terminator is where name ends.
  return std::strncmp(method, name.data(), name.size()) == 0 &&
         method[name.size()] == '\0';
}

}  // namespace

const std::string* CallInfoMaker::SharedMethodName(std::string_view name) {
  // Never destroyed: CallInfos may outlive static destructors.
  static SharedNames* const names = new SharedNames;
  return names->Get(name);
}

CallInfo CallInfoMaker::Make(::grpc::ServerContextBase* sc, const char* method,
                             bool registered, IdSource request_id_source) {
  CallInfo info;
  info.request_id_source_ = request_id_source;
  if (method != nullptr && registered) {
    RecentName& recent =
        t_recent[(reinterpret_cast<std::uintptr_t>(method) >> 4) %
                 kRecentNames];
    if (recent.key != method || !SameName(method, *recent.name)) {
      const std::string* shared = SharedMethodName(method);
      recent = shared ? RecentName{method, shared} : RecentName{};
    }
    info.shared_method_ = recent.name;
  }
  if (info.shared_method_ == nullptr && method != nullptr)
    info.own_method_ = method;
  // Borrowed, not referenced: the bridge ends the link while gRPC still holds
  // the call (see CallInfo::call_).
  info.call_.store(sc->c_call(), std::memory_order_relaxed);
  return info;
}

void CallInfoMaker::EndCall(const CallInfo& info,
                            bool readable_later) noexcept {
  grpc_call* call = info.call_.load(std::memory_order_acquire);
  if (call == nullptr) return;
  if (readable_later) {
    (void)info.EndLink(/*read_peer=*/true);
    return;
  }
  // No one else can reach `info`, so no peer() runs beside this: the link is
  // ended without EndLink's lock.
  info.call_.store(nullptr, std::memory_order_relaxed);
}

std::uint64_t CallInfoMaker::PeerReads() noexcept {
  return peer_reads.load(std::memory_order_relaxed);
}

}  // namespace internal

CallInfo::CallInfo(std::string_view method, std::string_view peer,
                   IdSource request_id_source)
    : own_method_(method), request_id_source_(request_id_source) {
  CopyPeer(peer);
}

CallInfo::CallInfo(const CallInfo& other)
    : shared_method_(other.shared_method_),
      own_method_(other.own_method_),
      request_id_source_(other.request_id_source_) {
  CopyPeer(other.peer());
}

CallInfo& CallInfo::operator=(const CallInfo& other) {
  if (this != &other) *this = CallInfo(other);
  return *this;
}

CallInfo::CallInfo(CallInfo&& other) noexcept
    : shared_method_(other.shared_method_),
      own_method_(std::move(other.own_method_)),
      peer_(other.peer_.load(std::memory_order_relaxed)),
      peer_size_(std::exchange(other.peer_size_, 0)),
      request_id_source_(other.request_id_source_),
      call_(other.call_.load(std::memory_order_relaxed)) {
  // A move has `other` to itself (no reader beside it): plain loads and
  // stores, no atomic exchange.
  other.peer_.store(nullptr, std::memory_order_relaxed);
  other.call_.store(nullptr, std::memory_order_relaxed);
}

CallInfo& CallInfo::operator=(CallInfo&& other) noexcept {
  if (this == &other) return *this;
  FreeOwned();
  shared_method_ = other.shared_method_;
  own_method_ = std::move(other.own_method_);
  peer_.store(other.peer_.load(std::memory_order_relaxed),
              std::memory_order_relaxed);
  other.peer_.store(nullptr, std::memory_order_relaxed);
  peer_size_ = std::exchange(other.peer_size_, 0);
  call_.store(other.call_.load(std::memory_order_relaxed),
              std::memory_order_relaxed);
  other.call_.store(nullptr, std::memory_order_relaxed);
  request_id_source_ = other.request_id_source_;
  return *this;
}

CallInfo::~CallInfo() { FreeOwned(); }

void CallInfo::FreeOwned() noexcept {
  gpr_free(peer_.load(std::memory_order_relaxed));
}

void CallInfo::CopyPeer(std::string_view peer) {
  if (peer.empty()) return;
  char* copy = static_cast<char*>(gpr_malloc(peer.size()));
  std::memcpy(copy, peer.data(), peer.size());
  peer_size_ = peer.size();
  peer_.store(copy, std::memory_order_relaxed);
}

std::string_view CallInfo::PeerSlow() const noexcept {
  // call_ is cleared only after peer_ is set (if it ever is): seen cleared, the
  // second look at peer_ is final.
  if (call_.load(std::memory_order_acquire) != nullptr)
    return EndLink(/*read_peer=*/true);
  const char* p = peer_.load(std::memory_order_acquire);
  return p != nullptr ? std::string_view(p, peer_size_) : std::string_view();
}

std::string_view CallInfo::EndLink(bool read_peer) const noexcept {
  std::string_view peer_now;
  {
    internal::MutexLock lock(internal::PeerLock(this));
    grpc_call* const call = call_.load(std::memory_order_relaxed);
    if (call != nullptr && read_peer) {
      internal::peer_reads.fetch_add(1, std::memory_order_relaxed);
      // gRPC's own copy of the peer is adopted, not copied again.
      char* peer = grpc_call_get_peer(call);
      if (peer != nullptr && peer[0] != '\0') {
        peer_size_ = std::strlen(peer);
        peer_.store(peer, std::memory_order_release);
      } else {
        gpr_free(peer);
      }
    }
    call_.store(nullptr, std::memory_order_release);
    const char* p = peer_.load(std::memory_order_relaxed);
    if (p != nullptr) peer_now = std::string_view(p, peer_size_);
  }
  return peer_now;
}

std::ostream& operator<<(std::ostream& os, const CallInfo& info) {
  return os << "method=" << LogSafe(info.method(), 256)
            << " peer=" << LogSafe(info.peer(), 256);
}

}  // namespace ctx::grpc
