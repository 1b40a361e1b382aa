// SPDX-License-Identifier: Apache-2.0
// CallInfo: owns what it reports, shares registered method names, copies
// generic ones.

#include "call_info.h"

#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "ctx/grpc/call_context.h"

namespace ctx::grpc::testing {
namespace {

using internal::CallInfoMaker;

TEST(CallInfo, CopyStaysValidAfterTheOriginalIsGone) {
  auto original = std::make_unique<CallInfo>(
      "/pkg.Svc/Method", "ipv4:127.0.0.1:5000", IdSource::kReplaced);
  const CallInfo copy = *original;
  original.reset();
  EXPECT_EQ(copy.method(), "/pkg.Svc/Method");
  EXPECT_EQ(copy.peer(), "ipv4:127.0.0.1:5000");
  EXPECT_EQ(copy.request_id_source(), IdSource::kReplaced);
}

TEST(CallInfo, MoveTakesThePeerAndLeavesTheSourceEmpty) {
  CallInfo a("/pkg.Svc/Method", "ipv6:[::1]:5000", IdSource::kIncoming);
  CallInfo b = std::move(a);
  EXPECT_EQ(b.peer(), "ipv6:[::1]:5000");
  EXPECT_EQ(b.method(), "/pkg.Svc/Method");
  EXPECT_TRUE(a.peer().empty());  // NOLINT(bugprone-use-after-move)
  a = b;
  EXPECT_EQ(a.peer(), "ipv6:[::1]:5000");
}

TEST(CallInfo, DefaultIsEmpty) {
  const CallInfo info;
  EXPECT_TRUE(info.method().empty());
  EXPECT_TRUE(info.peer().empty());
}

TEST(CallInfo, PrintsMethodAndPeerLogSafe) {
  const CallInfo info("/pkg.Svc/M\r\nX", "ipv4:1.2.3.4:5", IdSource::kIncoming);
  std::ostringstream os;
  os << info;
  EXPECT_EQ(os.str().find('\n'), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("peer=ipv4:1.2.3.4:5"), std::string::npos)
      << os.str();
}

TEST(CallInfoMaker, RegisteredMethodNameIsSharedByItsCalls) {
  ::grpc::ServerContext sc;
  static const char kMethod[] = "/pkg.Svc/Shared";
  const CallInfo a = CallInfoMaker::Make(&sc, kMethod, /*registered=*/true,
                                         IdSource::kIncoming);
  const CallInfo b = CallInfoMaker::Make(&sc, kMethod, /*registered=*/true,
                                         IdSource::kIncoming);
  EXPECT_EQ(a.method(), kMethod);
  EXPECT_EQ(a.method().data(), b.method().data())
      << "two calls of one registered method keep two copies of its name";
}

TEST(CallInfoMaker, GenericMethodNameIsCopiedIntoTheCallInfo) {
  ::grpc::ServerContext sc;
  std::string path = "/any.Thing/TheClientChose";
  const CallInfo info =
      CallInfoMaker::Make(&sc, path.c_str(),
                          /*registered=*/false, IdSource::kIncoming);
  path.assign(path.size(), 'x');
  EXPECT_EQ(info.method(), "/any.Thing/TheClientChose");
}

TEST(CallInfoMaker, ReusedAddressWithAnotherNameGetsThatName) {
  ::grpc::ServerContext sc;
  char name[32];
  std::strcpy(name, "/pkg.Svc/First");
  const CallInfo first =
      CallInfoMaker::Make(&sc, name, /*registered=*/true, IdSource::kIncoming);
  std::strcpy(name, "/pkg.Svc/Second");
  const CallInfo second =
      CallInfoMaker::Make(&sc, name, /*registered=*/true, IdSource::kIncoming);
  std::strcpy(name, "/pkg.Svc/Firs");  // a prefix of the cached name
  const CallInfo prefix =
      CallInfoMaker::Make(&sc, name, /*registered=*/true, IdSource::kIncoming);
  EXPECT_EQ(first.method(), "/pkg.Svc/First");
  EXPECT_EQ(second.method(), "/pkg.Svc/Second");
  EXPECT_EQ(prefix.method(), "/pkg.Svc/Firs");
}

TEST(CallInfoMaker, NoCallMeansNoPeer) {
  ::grpc::ServerContext sc;  // not bound to a gRPC call
  const CallInfo info = CallInfoMaker::Make(&sc, nullptr, /*registered=*/true,
                                            IdSource::kIncoming);
  EXPECT_TRUE(info.method().empty());
  EXPECT_TRUE(info.peer().empty());
}

}  // namespace
}  // namespace ctx::grpc::testing
