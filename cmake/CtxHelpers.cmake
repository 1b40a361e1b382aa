# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every ctx component.

# Sanitizer flags apply to everything built in this tree (our code and tests), so that
# instrumented and uninstrumented code of ours never mix.
if(CTX_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(CTX_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT CTX_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CTX_SANITIZE must be '', 'address' or 'thread', not '${CTX_SANITIZE}'")
endif()

# ctx_target_warnings(target): our own code builds with warnings as errors.
function(ctx_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
endfunction()
