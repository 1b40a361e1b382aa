# SPDX-License-Identifier: Apache-2.0
# cmake -DLIB=<libctx_X.so> -DCOMPONENT=<core|grpc|http|log> -DNM=<nm> -P check_exports.cmake
#
# A shared ctx library exports its API and nothing else (ctx_hide_internals, ctx/export.h). Reads the
# defined dynamic symbols (`nm -D --defined-only`) and fails, listing them, for any symbol that is:
#   - a strong definition (nm type T, D, B, R) outside the component's own namespace (ctx:: for core,
#     ctx::grpc:: / ctx::http:: / ctx::log:: for the bridges), or in a bridge's ctx::<bridge>::internal;
#   - a weak definition (W, V, u: inline functions and template instantiations) of anything but ctx::,
#     the C++ standard library or spdlog::logger (libstdc++ gives namespace std default visibility, and
#     Debian's shared spdlog its logger class: their templates instantiated here are exported whatever
#     we do);
#   - not a C++ name, other than the ELF markers every library has.
# A library built without hidden visibility fails: it exports its internals, and the inline functions of
# the third-party headers it includes (grpc::, httplib::, spdlog::, fmt::).
foreach(var LIB COMPONENT NM)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_exports: ${var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${LIB}")
  message(FATAL_ERROR "check_exports: ${LIB} does not exist")
endif()
execute_process(COMMAND "${NM}" -D --defined-only --format=posix "${LIB}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_exports: ${NM} -D ${LIB} failed (${rc}): ${err}")
endif()

# Mangled prefixes (Itanium ABI) of the namespaces: ctx = 3ctx, ctx::grpc = 3ctx4grpc, and so on.
string(LENGTH "${COMPONENT}" len)
if(COMPONENT STREQUAL "core")
  set(own "3ctx")
  set(internal "^$")  # core's ctx::internal holds what its inline functions call: exported on purpose
else()
  set(own "3ctx${len}${COMPONENT}")
  set(internal "^3ctx${len}${COMPONENT}8internal")
endif()
set(std_like "^(St|Sa|Sb|Ss|Si|So|Sd|9__gnu_cxx|6spdlog6logger)")

string(REPLACE "\n" ";" lines "${out}")
set(bad)
set(count 0)
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX MATCH "^([^ ]+) ([A-Za-z])" _ "${line}")
  set(name "${CMAKE_MATCH_1}")
  set(type "${CMAKE_MATCH_2}")
  math(EXPR count "${count} + 1")
  if(name MATCHES "^(_init|_fini|_edata|_end|__bss_start)$")
    continue()
  endif()
  if(NOT name MATCHES "^_Z")
    list(APPEND bad "${type} ${name} (not a C++ name)")
    continue()
  endif()
  # Strip what precedes the first name: special-name prefixes (vtable, typeinfo, guard variable), the
  # local-entity marker Z, the nested-name marker N and cv/ref qualifiers.
  string(REGEX REPLACE "^_Z(T[VITS]|GV|TH|TW)?Z?N?[KVRO]*" "" rest "${name}")
  if(type MATCHES "^[TDBR]$")
    if(NOT rest MATCHES "^${own}" OR rest MATCHES "${internal}")
      list(APPEND bad "${type} ${name} (strong, outside the component's API namespace)")
    endif()
  elseif(NOT rest MATCHES "^3ctx" AND NOT rest MATCHES "${std_like}")
    list(APPEND bad "${type} ${name} (weak, neither ctx nor the standard library)")
  endif()
endforeach()

if(count EQUAL 0)
  message(FATAL_ERROR "check_exports: ${LIB} exports nothing; want its API")
endif()
if(bad)
  list(LENGTH bad nbad)
  list(JOIN bad "\n  " text)
  message(FATAL_ERROR "check_exports: ${LIB} exports ${nbad} symbol(s) outside its API "
    "(nm -DC ${LIB} shows them demangled); want none:\n  ${text}")
endif()
message(STATUS "check_exports: ${LIB}: ${count} symbols, all ctx API or standard-library instantiations")
