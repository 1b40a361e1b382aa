// SPDX-License-Identifier: Apache-2.0
#include "ctx/log/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "ctx/context.h"
#include "ctx/propagation.h"

namespace {

// CapturingLogger is a spdlog logger that writes bare messages to a string.
struct CapturingLogger {
  CapturingLogger() {
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::trace);
  }
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
};

}  // namespace

// CountsFormatting counts how often it is formatted.
struct CountsFormatting {
  int* count;
};

template <>
struct fmt::formatter<CountsFormatting> : fmt::formatter<int> {
  auto format(const CountsFormatting& c, fmt::format_context& out) const {
    return fmt::formatter<int>::format(++*c.count, out);
  }
};

namespace {

ctx::Context RequestContext() {
  return ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, "req-1");
}

TEST(Logger, WritesPrefixThenMessage) {
  CapturingLogger capture;
  ctx::log::Logger(capture.logger)
      .Info(RequestContext(), "reserved {} of {}", 3, "book");
  EXPECT_EQ(capture.out.str(),
            "info [req=req-1 left=none] reserved 3 of book\n");
}

TEST(Logger, BracesInArgumentsAreNotReadAsFormat) {
  CapturingLogger capture;
  ctx::log::Logger(capture.logger).Warn(RequestContext(), "item {}", "{}{0}");
  EXPECT_EQ(capture.out.str(), "warning [req=req-1 left=none] item {}{0}\n");
}

TEST(Logger, DisabledLevelFormatsNothing) {
  CapturingLogger capture;
  capture.logger->set_level(spdlog::level::warn);
  int formatted = 0;
  ctx::log::Logger(capture.logger)
      .Debug(RequestContext(), "{}", CountsFormatting{&formatted});
  EXPECT_EQ(formatted, 0) << "after a debug line at level warn";
  EXPECT_EQ(capture.out.str(), "");
}

TEST(Logger, ReadsTheConfiguredKey) {
  static const ctx::Key<std::string> kTraceKey{"trace"};
  CapturingLogger capture;
  ctx::log::Logger(capture.logger, {.request_id_key = &kTraceKey})
      .Error(ctx::WithValue(RequestContext(), kTraceKey, "t-9"), "boom");
  EXPECT_EQ(capture.out.str(), "error [req=t-9 left=none] boom\n");
}

TEST(FreeFunctions, WriteToTheDefaultLogger) {
  CapturingLogger capture;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(capture.logger);
  ctx::log::Info(RequestContext(), "hello {}", 42);
  ctx::log::Critical(ctx::Background(), "bye");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(capture.out.str(),
            "info [req=req-1 left=none] hello 42\n"
            "critical [req=- left=none] bye\n");
}

}  // namespace
