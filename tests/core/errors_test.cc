// SPDX-License-Identifier: Apache-2.0
// Errors: the ctx category, its portable conditions, and ctx::Error.

#include "ctx/errors.h"

#include <system_error>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "kept_errors.h"

namespace ctx {
namespace {

TEST(Errc, MessagesMatchGo) {
  EXPECT_EQ(std::error_code(Errc::kCanceled).message(), "context canceled");
  EXPECT_EQ(std::error_code(Errc::kDeadlineExceeded).message(),
            "context deadline exceeded");
  EXPECT_STREQ(Category().name(), "ctx");
}

TEST(Errc, ComparesEqualToPortableConditions) {
  EXPECT_EQ(std::error_code(Errc::kCanceled), std::errc::operation_canceled);
  EXPECT_EQ(std::error_code(Errc::kDeadlineExceeded), std::errc::timed_out);
  EXPECT_NE(std::error_code(Errc::kCanceled), std::errc::timed_out);
}

TEST(Error, DefaultIsNoError) {
  Error e;
  EXPECT_FALSE(e);
  EXPECT_EQ(e.message(), "");
  EXPECT_EQ(e.ToString(), "no error");
}

TEST(Error, MessageFallsBackToCodeMessage) {
  Error e(Errc::kCanceled);
  EXPECT_EQ(e.message(), "context canceled");
  EXPECT_EQ(e.ToString(), "context canceled (ctx:1)");
}

TEST(Error, CarriesItsMessage) {
  Error e(std::errc::connection_reset, "client went away");
  EXPECT_TRUE(e);
  EXPECT_EQ(e.message(), "client went away");
  EXPECT_EQ(e, std::errc::connection_reset);
  EXPECT_EQ(e, std::make_error_code(std::errc::connection_reset));
  EXPECT_FALSE(e == Error(std::errc::connection_reset, "other"));
}

// Errors compare by code and message, where a missing message stands for the
// code's own: for ctx codes (compared without building strings) and others.
TEST(Error, MessageComparesWithTheCodesOwnMessage) {
  EXPECT_EQ(Error(Errc::kCanceled, "context canceled"), Error(Errc::kCanceled));
  EXPECT_EQ(Error(Errc::kCanceled), Error(Errc::kCanceled, "context canceled"));
  EXPECT_FALSE(Error(Errc::kCanceled, "client gone") == Error(Errc::kCanceled));
  EXPECT_FALSE(Error(Errc::kDeadlineExceeded, "context canceled") ==
               Error(Errc::kDeadlineExceeded));
  EXPECT_FALSE(Error(Errc::kCanceled, "context canceled") ==
               Error(Errc::kDeadlineExceeded));
  const std::error_code reset =
      std::make_error_code(std::errc::connection_reset);
  EXPECT_EQ(Error(reset, reset.message()), Error(reset));
  EXPECT_FALSE(Error(reset, "other") == Error(reset));
  EXPECT_EQ(Error(Errc::kCanceled, "same"), Error(Errc::kCanceled, "same"))
      << "two messages built apart";
}

// An immortal error is an Error like any other: same message, same
// comparisons, in copies too, and as a cancel's cause.
TEST(ImmortalError, BehavesAsAnErrorWithItsMessage) {
  const Error kept = internal::ImmortalError(make_error_code(Errc::kCanceled),
                                             "call finished");
  EXPECT_TRUE(kept);
  EXPECT_EQ(kept.message(), "call finished");
  EXPECT_EQ(kept.ToString(), "call finished (ctx:1)");
  EXPECT_EQ(kept, Errc::kCanceled);
  EXPECT_EQ(kept, Error(Errc::kCanceled, "call finished"));
  EXPECT_FALSE(kept == Error(Errc::kCanceled));
  const Error copy = kept;
  EXPECT_EQ(copy, kept);
  EXPECT_EQ(copy.message(), "call finished");

  auto [c, cancel] = WithCancelCause(Background());
  cancel(kept);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), kept);
  EXPECT_EQ(Cause(c).message(), "call finished");
}

// A kept error and its copies share one small index, which names it again;
// other errors have none.
// (Made before any test runs: later ones may find every index taken.)
const Error& kIndexed =
    internal::ImmortalError(make_error_code(Errc::kCanceled), "indexed");

TEST(ImmortalError, CopiesShareAnIndexThatNamesIt) {
  const Error& kept = kIndexed;
  const Error copy = kept;
  const uint32_t index = internal::KeptSlotIndex(copy);
  ASSERT_NE(index, 0u);
  EXPECT_EQ(index, internal::KeptSlotIndex(kept));
  EXPECT_EQ(internal::KeptSlot(index).error, kept);
  EXPECT_EQ(internal::KeptSlot(index).error.message(), "indexed");
  EXPECT_EQ(internal::KeptSlotIndex(Error(Errc::kCanceled, "indexed")), 0u);
  EXPECT_EQ(internal::KeptSlotIndex(Error(Errc::kCanceled)), 0u);
  EXPECT_EQ(internal::KeptSlotIndex(Error()), 0u);
}

}  // namespace
}  // namespace ctx
