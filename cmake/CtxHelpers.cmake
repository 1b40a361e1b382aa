# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every ctx component.

# Sanitizer flags apply to everything built in this tree (our code and tests), so that
# instrumented and uninstrumented code of ours never mix.
# float-cast-overflow is not part of GCC's "undefined" group: a NaN or huge floating-point
# duration converted to integer ticks is undefined behaviour it alone reports.
if(CTX_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined,float-cast-overflow)
  add_link_options(-fsanitize=address,undefined,float-cast-overflow)
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

# ctx_hide_internals(target): in a shared build (BUILD_SHARED_LIBS=ON) the target's library exports only
# what its headers mark CTX_EXPORT (ctx/export.h): the API, and the internals its inline functions and
# templates call. Tests that observe the internals (src/) link <target>_for_tests instead: in a shared
# build a static library from the same sources with the same usage requirements, otherwise the target
# itself. Call it once the target's sources, include directories and links are set.
function(ctx_hide_internals target)
  if(NOT BUILD_SHARED_LIBS)
    add_library(${target}_for_tests ALIAS ${target})
    return()
  endif()
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden)
  # Every symbol the library uses must be defined by what it links: a declaration of another ctx
  # library that lacks CTX_EXPORT fails here, not when a program loads the library.
  if(CTX_SANITIZE STREQUAL "")
    target_link_options(${target} PRIVATE LINKER:--no-undefined)
  endif()
  get_target_property(sources ${target} SOURCES)
  add_library(${target}_for_tests STATIC ${sources})
  foreach(prop INCLUDE_DIRECTORIES INTERFACE_INCLUDE_DIRECTORIES COMPILE_OPTIONS COMPILE_FEATURES
               INTERFACE_COMPILE_FEATURES LINK_LIBRARIES INTERFACE_LINK_LIBRARIES POSITION_INDEPENDENT_CODE)
    get_target_property(value ${target} ${prop})
    if(value)
      set_property(TARGET ${target}_for_tests PROPERTY ${prop} "${value}")
    endif()
  endforeach()
  # A static library passes all it links on to its users; the shared one keeps its private links.
  get_target_property(links ${target} LINK_LIBRARIES)
  if(links)
    target_link_libraries(${target}_for_tests INTERFACE ${links})
  endif()
endfunction()
