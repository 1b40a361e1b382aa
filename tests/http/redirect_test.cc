// SPDX-License-Identifier: Apache-2.0
// Redirects that ctx::http::Client follows (set_follow_location): where each
// goes (http/src/redirect.h), and that every hop is made within the call's
// context, to another host too.

#include "redirect.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <string>
#include <system_error>

#include "ctx/http/client.h"
#include "ctx/http/status.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using internal::Origin;
using internal::ResolveRedirect;
using testing::Event;
using testing::kCap;
using testing::RunningServer;

// Resolved is where `location` leads from http://a:80`from_path`, as
// "host:port/path", or the error's message.
std::string Resolved(std::string_view from_path, std::string_view location) {
  Origin next;
  std::string path;
  if (Error e =
          ResolveRedirect(Origin{"a", 80}, from_path, location, next, path)) {
    return "error: " + e.message();
  }
  return next.host + ":" + std::to_string(next.port) + path;
}

TEST(ResolveRedirect, AbsoluteLocationNamesHostPortAndPath) {
  EXPECT_EQ(Resolved("/x", "http://b:8080/p?q=1#frag"), "b:8080/p?q=1");
  EXPECT_EQ(Resolved("/x", "HTTP://b"), "b:80/");
  EXPECT_EQ(Resolved("/x", "http://[::1]:81?q"), "::1:81/?q");
  EXPECT_EQ(Resolved("/x", "//b/p"), "b:80/p");
}

TEST(ResolveRedirect, RelativeLocationResolvesAgainstTheRequestPath) {
  EXPECT_EQ(Resolved("/a/b/c?old", "d"), "a:80/a/b/d");
  EXPECT_EQ(Resolved("/a/b/c", "../d/./e"), "a:80/a/d/e");
  EXPECT_EQ(Resolved("/a/b/c", "/../../x/"), "a:80/x/");
  EXPECT_EQ(Resolved("/a/b?old", "?new"), "a:80/a/b?new");
  EXPECT_EQ(Resolved("/a/b?old", "#frag"), "a:80/a/b?old");
  EXPECT_EQ(Resolved("/a/b", " /c "), "a:80/c") << "whitespace around it";
}

TEST(ResolveRedirect, SchemeOtherThanHttpIsNotSupported) {
  Origin next;
  std::string path;
  const Error e =
      ResolveRedirect(Origin{"a", 80}, "/", "https://b/", next, path);
  EXPECT_EQ(e, std::errc::protocol_not_supported) << e.ToString();
  EXPECT_EQ(ResolveRedirect(Origin{"a", 80}, "/", "ftp://b/", next, path),
            std::errc::protocol_not_supported);
}

TEST(ResolveRedirect, MalformedLocationIsInvalid) {
  for (const char* location :
       {"http://user@b/", "http://b:0/", "http://b:65536/", "http://b:x/",
        "http:/p", "http:///p", "//b c/", "/p\r\nX: y", "http://[zz]/",
        "http://[::1/", "http://b%41/"}) {
    Origin next;
    std::string path;
    EXPECT_EQ(ResolveRedirect(Origin{"a", 80}, "/", location, next, path),
              std::errc::invalid_argument)
        << location;
  }
}

TEST(RedirectRequest, SeeOtherMakesAGetWithoutBody) {
  httplib::Request req;
  req.method = "POST";
  req.body = "form";
  req.headers = {{"Content-Type", "text/plain"}, {"X-Keep", "1"}};
  internal::RedirectRequest(req, 303, "/done", /*other_origin=*/false,
                            /*via_proxy=*/false);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/done");
  EXPECT_EQ(req.body, "");
  EXPECT_FALSE(req.has_header("Content-Type"));
  EXPECT_TRUE(req.has_header("X-Keep"));
}

TEST(RedirectRequest, FoundDropsTheBodyOfAGet) {
  httplib::Request req;
  req.method = "GET";
  req.body = "odd";
  req.content_length_ = 3;
  req.content_provider_ = [](size_t, size_t, httplib::DataSink&) {
    return false;
  };
  internal::RedirectRequest(req, 302, "/there", /*other_origin=*/false,
                            /*via_proxy=*/false);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.body, "");
  EXPECT_FALSE(req.content_provider_);
}

TEST(RedirectRequest, TemporaryRedirectKeepsMethodAndBody) {
  httplib::Request req;
  req.method = "PUT";
  req.body = "data";
  internal::RedirectRequest(req, 307, "/there", /*other_origin=*/false,
                            /*via_proxy=*/false);
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.body, "data");
}

TEST(RedirectRequest, OtherOriginGetsNoCredentials) {
  httplib::Request req;
  req.method = "GET";
  req.headers = {{"authorization", "Bearer t"},
                 {"Cookie", "c=1"},
                 {"Proxy-Authorization", "Basic cA=="},
                 {"Host", "a"},
                 {"X-Keep", "1"}};
  internal::RedirectRequest(req, 302, "/", /*other_origin=*/true,
                            /*via_proxy=*/false);
  EXPECT_FALSE(req.has_header("Authorization"));
  EXPECT_FALSE(req.has_header("Cookie"));
  EXPECT_FALSE(req.has_header("Proxy-Authorization"));
  EXPECT_FALSE(req.has_header("Host"));
  EXPECT_TRUE(req.has_header("X-Keep"));
}

// Two servers: `from` redirects to `to`, another port (another origin).
class RedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    to_.server().Get("/headers", [this](const httplib::Request& req,
                                        httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      seen_ = req.headers;
      res.set_content("there", "text/plain");
    });
    to_.server().Get("/block",
                     [this](const httplib::Request&, httplib::Response& res) {
                       blocked_.Fire();
                       (void)release_.WaitFor();  // bounded by kCap
                       res.set_content("late", "text/plain");
                     });
    to_.server().Get(
        "/method", [](const httplib::Request& req, httplib::Response& res) {
          res.set_content(req.method + " " + req.body, "text/plain");
        });
    to_.server().Post(
        "/method", [](const httplib::Request& req, httplib::Response& res) {
          res.set_content(req.method + " " + req.body, "text/plain");
        });
    to_.Start();
    from_.server().Get(R"(/to(/.*))", [this](const httplib::Request& req,
                                             httplib::Response& res) {
      res.set_redirect(There(req.matches[1]), 302);
    });
    from_.server().Post(
        R"(/see-other(/.*))",
        [this](const httplib::Request& req, httplib::Response& res) {
          res.set_redirect(There(req.matches[1]), 303);
        });
    from_.server().Post(
        R"(/temporary(/.*))",
        [this](const httplib::Request& req, httplib::Response& res) {
          res.set_redirect(There(req.matches[1]), 307);
        });
    from_.server().Get("/moved-with-body",
                       [this](const httplib::Request&, httplib::Response& res) {
                         res.status = 302;
                         res.set_header("Location", There("/headers"));
                         res.set_content("MOVED", "text/plain");
                       });
    from_.server().Get("/loop",
                       [](const httplib::Request&, httplib::Response& res) {
                         res.set_redirect("/loop", 302);
                       });
    from_.server().Get("/https",
                       [](const httplib::Request&, httplib::Response& res) {
                         res.set_redirect("https://127.0.0.1/", 302);
                       });
    from_.Start();
  }
  void TearDown() override { release_.Fire(); }

  std::string There(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(to_.port()) + path;
  }
  std::string Seen(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = seen_.find(name);
    return it == seen_.end() ? std::string("(none)") : it->second;
  }

  // Before the servers: their handlers use these until the servers stop.
  std::mutex mu_;
  httplib::Headers seen_;
  Event blocked_, release_;
  RunningServer to_;
  RunningServer from_;
};

TEST_F(RedirectTest, HopToAnotherHostCarriesTheContextsHeaders) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  auto [c, cancel] = WithTimeout(Background(), std::chrono::seconds(20));
  Result r = client.Get(c, "/to/headers");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "there");
  EXPECT_EQ(r->location, There("/headers"));
  EXPECT_EQ(Seen("X-Request-Id"), r.request_id());
  const std::string budget = Seen("X-Request-Timeout");
  ASSERT_NE(budget, "(none)");
  EXPECT_LT(std::stoll(budget), 20'000) << "not below the caller's budget";
}

// The hop to the other host waits within the call's context: a cancel ends
// it, though that server never answers (and httplib's own read timeout is
// longer than the test).
TEST_F(RedirectTest, CancelEndsAHopToAnotherHost) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  client.httplib_client().set_read_timeout(2 * kCap);
  auto [c, cancel] = WithCancel(Background());
  auto call = std::async(std::launch::async, [&client, c = c] {
    return client.Get(c, "/to/block");
  });
  ASSERT_TRUE(blocked_.WaitFor());
  cancel();
  ASSERT_EQ(call.wait_for(kCap), std::future_status::ready);
  Result r = call.get();
  EXPECT_TRUE(r.canceled())
      << (r.ok() ? "answered: " + r->body : r.error().ToString());
}

TEST_F(RedirectTest, HopToAnotherHostSendsNoCredentials) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  client.httplib_client().set_bearer_token_auth("secret");
  client.httplib_client().set_default_headers({{"Cookie", "session=1"}});
  Result r = client.Get(Background(), "/to/headers",
                        {{"Authorization", "Basic c2VjcmV0"},
                         {"Cookie", "a=b"},
                         {"X-Keep", "1"}});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(Seen("Authorization"), "(none)");
  EXPECT_EQ(Seen("Cookie"), "(none)");
  EXPECT_EQ(Seen("X-Keep"), "1");
}

TEST_F(RedirectTest, FollowedResponseReachesNoReceiverOfTheCallers) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  httplib::Request req;
  req.method = "GET";
  req.path = "/moved-with-body";
  std::string statuses;
  std::string received;
  req.response_handler = [&statuses](const httplib::Response& res) {
    statuses += std::to_string(res.status) + " ";
    return res.status == 200;  // as a caller that wants only a 200 writes
  };
  req.content_receiver = [&received](const char* data, size_t n, uint64_t,
                                     uint64_t) {
    received.append(data, n);
    return true;
  };
  Result r = client.Send(Background(), std::move(req));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(statuses, "200 ");
  EXPECT_EQ(received, "there");
}

TEST_F(RedirectTest, DefaultHostAndProxyCredentialsStayHome) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  client.httplib_client().set_default_headers(
      {{"Host", "internal.example"}, {"Proxy-Authorization", "Basic cA=="}});
  client.httplib_client().set_proxy_bearer_token_auth("proxy-secret");
  Result r = client.Get(Background(), "/to/headers");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(Seen("Host"), "127.0.0.1:" + std::to_string(to_.port()));
  EXPECT_EQ(Seen("Proxy-Authorization"), "(none)");
}

// StreamedPost is a POST of "form" from a content provider.
httplib::Request StreamedPost(const std::string& path) {
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = {{"Content-Type", "text/plain"}};
  req.content_length_ = 4;
  req.content_provider_ = [](size_t offset, size_t length,
                             httplib::DataSink& sink) {
    return sink.write(std::string("form").data() + offset, length);
  };
  return req;
}

TEST_F(RedirectTest, SeeOtherAfterAStreamedPostSendsNoBody) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  Result r = client.Send(Background(), StreamedPost("/see-other/method"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "GET ");
}

// A provider's body cannot be sent twice: the 307 is the answer.
TEST_F(RedirectTest, TemporaryRedirectOfAStreamedPostIsNotFollowed) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  Result r = client.Send(Background(), StreamedPost("/temporary/method"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 307);
}

TEST_F(RedirectTest, SeeOtherAfterPostIsAGet) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  Result r =
      client.Post(Background(), "/see-other/method", "form", "text/plain");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "GET ");
}

TEST_F(RedirectTest, TemporaryRedirectRepeatsThePost) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  Result r =
      client.Post(Background(), "/temporary/method", "form", "text/plain");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "POST form");
}

TEST_F(RedirectTest, EndlessRedirectsFailTheCall) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  client.httplib_client().set_keep_alive(true);
  Result r = client.Get(Background(), "/loop");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TransportError(httplib::Error::ExceedRedirectCount))
      << r.error().ToString();
}

TEST_F(RedirectTest, RedirectToHttpsFailsTheCall) {
  Client client("127.0.0.1", from_.port());
  client.httplib_client().set_follow_location(true);
  Result r = client.Get(Background(), "/https");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), std::errc::protocol_not_supported)
      << r.error().ToString();
}

TEST_F(RedirectTest, WithoutFollowTheRedirectIsTheResponse) {
  Client client("127.0.0.1", from_.port());
  Result r = client.Get(Background(), "/to/headers");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->get_header_value("Location"), There("/headers"));
}

}  // namespace
}  // namespace ctx::http
