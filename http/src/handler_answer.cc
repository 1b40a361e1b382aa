// SPDX-License-Identifier: Apache-2.0
// Answers in a handler's stead. See handler_answer.h.

#include "handler_answer.h"

#include <utility>

#include "ctx/http/status.h"
#include "ctx/propagation.h"

namespace ctx::http::internal {

void GuardedReleaser::operator()(bool success) const noexcept {
  try {
    release(success);
  } catch (...) {
  }
}

void GuardReleaser(httplib::Response& res) {
  auto& release = res.content_provider_resource_releaser_;
  if (!release || release.target<GuardedReleaser>() != nullptr) return;
  release = GuardedReleaser{std::move(release)};
}

void ReplaceResponse(httplib::Response& res, int status, std::string body,
                     const std::string& request_id) {
  GuardReleaser(res);
  if (res.content_provider_resource_releaser_) {
    res.content_provider_resource_releaser_(false);
  }
  res = httplib::Response();
  res.status = status;
  if (!request_id.empty()) {
    res.set_header(std::string(kRequestIdHeader), request_id);
  }
  res.set_content(std::move(body), "text/plain");
}

bool HandlerResponded(const httplib::Response& res) {
  return res.status != -1 || !res.body.empty() ||
         static_cast<bool>(res.content_provider_);
}

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "exception of unknown type";
  }
}

std::string_view Reason(int status) {
  switch (status) {
    case kStatusGatewayTimeout:
      return "deadline exceeded";
    case kStatusClientClosedRequest:
      return "client disconnected";
    default:
      return "server stopping";
  }
}

void LogUnattributed(const RequestLogger& logger, int status,
                     std::string_view reason) {
  if (!logger) return;
  logger(RequestLogRecord{
      .status = status,
      .request_id = "",
      .trace_id = "",
      .span_id = "",
      .method = "",
      .path = "",
      .reason = reason,
      .elapsed = Clock::duration::zero(),
  });
}

}  // namespace ctx::http::internal
