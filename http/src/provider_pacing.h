// SPDX-License-Identifier: Apache-2.0
// http/src/provider_pacing.h: a content provider that writes nothing cannot
// spin its worker. Internal.
//
// httplib calls a response's content provider again at once whenever it
// returns true, until the body is complete (or the provider calls done()): a
// provider that returns true without writing (waiting for data that is not
// there yet) turns the worker into a busy loop, for as long as the server
// runs. PaceContentProvider wraps the provider so that each call that follows
// one that wrote nothing first sleeps: 1 ms, then twice as long each time
// again, up to 16 ms; a call that wrote starts over.
// And as every response must end within ServerLimits::response_timeout of its
// first byte, the wrapper fails the response (the connection closes) once
// that much has passed since its first call.

#ifndef CTX_HTTP_SRC_PROVIDER_PACING_H_
#define CTX_HTTP_SRC_PROVIDER_PACING_H_

#include <httplib.h>

#include <chrono>

namespace ctx::http::internal {

// PaceContentProvider wraps res's content provider, if any (see the file
// comment). Call it once per response, before httplib writes it.
void PaceContentProvider(httplib::Response& res,
                         std::chrono::milliseconds response_timeout);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_PROVIDER_PACING_H_
