// SPDX-License-Identifier: Apache-2.0
// http/src/handler_answer.h: how the server answers in a handler's stead (it
// threw, its context ended, its request was refused) and logs what no request
// owns. Internal.

#ifndef CTX_HTTP_SRC_HANDLER_ANSWER_H_
#define CTX_HTTP_SRC_HANDLER_ANSWER_H_

#include <httplib.h>

#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "ctx/http/request_log.h"

namespace ctx::http::internal {

// kInternalErrorBody is a throwing handler's answer.
inline constexpr std::string_view kInternalErrorBody =
    "internal server error\n";

// GuardedReleaser runs a content provider's releaser and swallows what it
// throws: httplib calls it from Response's destructor, where an exception
// ends the process. The user's bug; the response is over either way.
struct GuardedReleaser {
  std::function<void(bool)> release;
  void operator()(bool success) const noexcept;
};

// GuardReleaser guards `res`'s releaser, if it has one not guarded yet.
void GuardReleaser(httplib::Response& res);

// ReplaceResponse answers for the handler: drops what it set (releasing a
// content provider's resources as httplib would), keeps nothing but the
// request id (none when empty).
void ReplaceResponse(httplib::Response& res, int status, std::string body,
                     const std::string& request_id);

// HandlerResponded says whether a handler set any part of a response of its
// own (a status, a body or a content provider).
bool HandlerResponded(const httplib::Response& res);

// WhatOf is an exception's what(), or a fixed text for one of another type.
std::string WhatOf(const std::exception_ptr& e);

// Reason names the outcome of a done context (its status: 504, 499, else a
// stop) for the body and the log.
std::string_view Reason(int status);

// LogUnattributed reports an outcome that belongs to no parsed request (a
// connection refused, a response that failed half written) to `logger`, if
// set.
void LogUnattributed(const RequestLogger& logger, int status,
                     std::string_view reason);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_HANDLER_ANSWER_H_
