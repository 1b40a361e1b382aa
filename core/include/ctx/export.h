// SPDX-License-Identifier: Apache-2.0
// ctx/export.h: CTX_EXPORT marks what a shared ctx library exports.
//
// A shared build (BUILD_SHARED_LIBS=ON) compiles ctx::core with hidden symbol
// visibility, so libctx_core.so exports only the declarations marked
// CTX_EXPORT: the API, and the internals that its inline functions and
// templates call. Everything else in the library stays private to it.
//
// The mark is the same in every build: it gives a declaration default
// visibility, which is what a static build and a user's own code already have.
#ifndef CTX_EXPORT_H_
#define CTX_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define CTX_EXPORT __attribute__((visibility("default")))
#else
#define CTX_EXPORT
#endif

#endif  // CTX_EXPORT_H_
