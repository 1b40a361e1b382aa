// SPDX-License-Identifier: Apache-2.0
// ctx/internal/thread_annotations.h: lock-policy annotations checked by clang's
// -Wthread-safety and empty under other compilers (where they still document
// the policy to the reader). Not API.

#ifndef CTX_INTERNAL_THREAD_ANNOTATIONS_H_
#define CTX_INTERNAL_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define CTX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CTX_THREAD_ANNOTATION(x)
#endif

#define CTX_CAPABILITY(x) CTX_THREAD_ANNOTATION(capability(x))
#define CTX_SCOPED_CAPABILITY CTX_THREAD_ANNOTATION(scoped_lockable)
#define CTX_GUARDED_BY(x) CTX_THREAD_ANNOTATION(guarded_by(x))
#define CTX_PT_GUARDED_BY(x) CTX_THREAD_ANNOTATION(pt_guarded_by(x))
#define CTX_ACQUIRED_AFTER(...) \
  CTX_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define CTX_EXCLUSIVE_LOCKS_REQUIRED(...) \
  CTX_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define CTX_LOCKS_EXCLUDED(...) \
  CTX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define CTX_ACQUIRE(...) CTX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define CTX_RELEASE(...) CTX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CTX_NO_THREAD_SAFETY_ANALYSIS \
  CTX_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // CTX_INTERNAL_THREAD_ANNOTATIONS_H_
