# SPDX-License-Identifier: Apache-2.0
# Install and package what the component directories built (included by the top-level CMakeLists.txt
# after the libraries):
#   <libdir>/cmake/ctx/     ctxConfig.cmake, ctxConfigVersion.cmake, one ctx<Component>Targets.cmake each
#   <libdir>/pkgconfig/     ctx-core.pc and ctx-grpc.pc / ctx-http.pc / ctx-log.pc for the built components
#   <datadir>/doc/ctx/      LICENSE, CHANGELOG.md
# and `cpack -G DEB` (from the build directory) makes libctx-dev with all of it under /usr.
include(CMakePackageConfigHelpers)

# The components this build installs; each has a target ctx_<name> in the export set ctx<Name>Targets.
set(CTX_INSTALLED_COMPONENTS core)
foreach(_ctx_comp grpc http log)
  if(TARGET ctx_${_ctx_comp})
    list(APPEND CTX_INSTALLED_COMPONENTS ${_ctx_comp})
  endif()
endforeach()

# Shared libraries carry the release in their names; a 0.x minor release may change the ABI, so the
# soname holds major.minor (libctx_core.so.0.2).
if(BUILD_SHARED_LIBS)
  foreach(_ctx_comp IN LISTS CTX_INSTALLED_COMPONENTS)
    set_target_properties(ctx_${_ctx_comp} PROPERTIES
      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  endforeach()
endif()

# --- CMake package: find_package(ctx [0.2] CONFIG [REQUIRED] [COMPONENTS grpc http log]).
set(_ctx_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ctx)
foreach(_ctx_comp IN LISTS CTX_INSTALLED_COMPONENTS)
  string(SUBSTRING ${_ctx_comp} 0 1 _ctx_first)
  string(TOUPPER ${_ctx_first} _ctx_first)
  string(SUBSTRING ${_ctx_comp} 1 -1 _ctx_rest)
  install(EXPORT ctx${_ctx_first}${_ctx_rest}Targets NAMESPACE ctx:: DESTINATION ${_ctx_cmake_dir})
endforeach()
configure_package_config_file(cmake/ctxConfig.cmake.in ${PROJECT_BINARY_DIR}/ctxConfig.cmake
  INSTALL_DESTINATION ${_ctx_cmake_dir})
# 0.x releases: a minor version may break the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ctxConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ctxConfig.cmake ${PROJECT_BINARY_DIR}/ctxConfigVersion.cmake
  DESTINATION ${_ctx_cmake_dir})

# --- pkg-config: ctx-<component>.pc. The prefix is found from the .pc file's own place (${pcfiledir}), so
# the files stay right wherever the tree is installed or unpacked (cmake --install --prefix, dpkg -x).
set(_ctx_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR} OR IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(CTX_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
  set(CTX_PC_LIBDIR ${CMAKE_INSTALL_FULL_LIBDIR})
  set(CTX_PC_INCLUDEDIR ${CMAKE_INSTALL_FULL_INCLUDEDIR})
else()
  file(RELATIVE_PATH _ctx_up /ctx_root/${_ctx_pc_dir} /ctx_root)
  string(REGEX REPLACE "/$" "" _ctx_up ${_ctx_up})
  set(CTX_PC_PREFIX "\${pcfiledir}/${_ctx_up}")
  set(CTX_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(CTX_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# A static library's own dependencies must reach the final link: in a static build they are listed as
# public (Requires, Libs), so plain `pkg-config --libs` links as well as `--static`; a shared library
# already records them, so they are private (Requires.private, Libs.private) there.
# ctx_pkg_config(component DESCRIPTION text [REQUIRES pc...] [PRIVATE_REQUIRES pc...]
#                [PRIVATE_LIBS flags...]): write and install ctx-<component>.pc for target ctx_<component>.
function(ctx_pkg_config comp)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DESCRIPTION" "REQUIRES;PRIVATE_REQUIRES;PRIVATE_LIBS")
  set(requires ${arg_REQUIRES})
  set(libs -L\${libdir} -lctx_${comp})
  set(fields)
  if(BUILD_SHARED_LIBS)
    if(arg_PRIVATE_REQUIRES)
      list(JOIN arg_PRIVATE_REQUIRES " " private_requires)
      string(APPEND fields "Requires.private: ${private_requires}\n")
    endif()
    if(arg_PRIVATE_LIBS)
      list(JOIN arg_PRIVATE_LIBS " " private_libs)
      string(APPEND fields "Libs.private: ${private_libs}\n")
    endif()
  else()
    list(APPEND requires ${arg_PRIVATE_REQUIRES})
    list(APPEND libs ${arg_PRIVATE_LIBS})
  endif()
  if(requires)
    list(JOIN requires " " requires)
    string(PREPEND fields "Requires: ${requires}\n")
  endif()
  list(JOIN libs " " libs)
  string(APPEND fields "Libs: ${libs}\n")
  set(CTX_PC_NAME ctx-${comp})
  set(CTX_PC_DESCRIPTION ${arg_DESCRIPTION})
  set(CTX_PC_FIELDS ${fields})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/ctx.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/ctx-${comp}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/ctx-${comp}.pc DESTINATION ${_ctx_pc_dir})
endfunction()

ctx_pkg_config(core DESCRIPTION "Go's context package in C++20" PRIVATE_LIBS -pthread)
if(TARGET ctx_grpc)
  ctx_pkg_config(grpc DESCRIPTION "ctx bridge for gRPC C++ (server interceptor, client context)"
    REQUIRES ctx-core grpc++ PRIVATE_LIBS -pthread)
endif()
if(TARGET ctx_http)
  ctx_pkg_config(http DESCRIPTION "ctx bridge for cpp-httplib (server, handler wrapper, client)"
    REQUIRES ctx-core cpp-httplib PRIVATE_REQUIRES spdlog)
endif()
if(TARGET ctx_log)
  ctx_pkg_config(log DESCRIPTION "spdlog lines carrying a ctx::Context's request id and deadline"
    REQUIRES ctx-core spdlog)
endif()

# A plain install carries the license and changes as they are; the .deb carries them as Debian policy
# wants instead (component deb, below).
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT doc)

# --- Debian package: `cpack -G DEB` in the build directory makes libctx-dev_<version>-<release>_<arch>.deb.
set(CTX_DEB_MAINTAINER "ctx developers <dev@ctx.local>" CACHE STRING
  "Maintainer field of the Debian package (name <email>)")
set(CTX_DEB_RELEASE 1 CACHE STRING "Debian revision of the package (the -N after the upstream version)")
set(_ctx_deb_name libctx-dev)
set(_ctx_deb_doc ${PROJECT_BINARY_DIR}/debian-doc)
# /usr/share/doc/libctx-dev: copyright (machine-readable; its license paragraph is LICENSE's notice for
# applying the license, plus where Debian keeps the full text, as policy wants for Apache-2.0), the
# upstream changelog (CHANGELOG.md) and a Debian changelog, both compressed with gzip -9n.
file(READ ${PROJECT_SOURCE_DIR}/LICENSE _ctx_license)
string(REGEX MATCH "Licensed under the Apache License[^\n]*\n.*limitations under the License\\." _ctx_notice
  "${_ctx_license}")
if(NOT _ctx_notice)
  message(FATAL_ERROR "LICENSE has no \"Licensed under the Apache License ... limitations under the License.\"")
endif()
# Each line indented by one space, empty lines as " .".
string(REGEX REPLACE "\n[ \t]*" "\n " _ctx_notice "${_ctx_notice}")
string(REPLACE "\n \n" "\n .\n" _ctx_notice "${_ctx_notice}")
set(CTX_DEB_LICENSE_TEXT " ${_ctx_notice}\n .\n On Debian systems, the complete text of the Apache License, Version 2.0 can be\n found in /usr/share/common-licenses/Apache-2.0.")
string(TIMESTAMP CTX_DEB_YEAR "%Y" UTC)  # SOURCE_DATE_EPOCH, when set, makes these reproducible
string(TIMESTAMP CTX_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(CTX_DEB_VERSION ${PROJECT_VERSION}-${CTX_DEB_RELEASE})
configure_file(cmake/debian/copyright.in ${_ctx_deb_doc}/copyright @ONLY)
configure_file(cmake/debian/changelog.Debian.in ${_ctx_deb_doc}/changelog.Debian @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/CHANGELOG.md ${_ctx_deb_doc}/changelog COPYONLY)
find_program(CTX_GZIP gzip REQUIRED)
foreach(_ctx_file changelog changelog.Debian)
  execute_process(COMMAND ${CTX_GZIP} -9nf ${_ctx_deb_doc}/${_ctx_file} RESULT_VARIABLE _ctx_rc)
  if(NOT _ctx_rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${_ctx_deb_doc}/${_ctx_file} failed (${_ctx_rc})")
  endif()
endforeach()
install(FILES ${_ctx_deb_doc}/copyright ${_ctx_deb_doc}/changelog.gz ${_ctx_deb_doc}/changelog.Debian.gz
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_ctx_deb_name} COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_PACKAGE_NAME ctx)
set(CPACK_PACKAGE_VENDOR "ctx")
set(CPACK_PACKAGE_CONTACT "${CTX_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The package holds everything but the plain docs (component doc), and the Debian docs (component deb).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};ctx;Unspecified;/;${PROJECT_BINARY_DIR};ctx;deb;/")
set(CPACK_DEBIAN_PACKAGE_NAME ${_ctx_deb_name})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CTX_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE ${CTX_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
list(JOIN CTX_INSTALLED_COMPONENTS ", " _ctx_comps)
set(CPACK_PACKAGE_DESCRIPTION "Headers, libraries, CMake package (find_package(ctx CONFIG)) and
pkg-config files for the components ${_ctx_comps}.")
# Debian packages for what the installed CMake and pkg-config files ask consumers to find.
set(_ctx_deb_depends)
if(TARGET ctx_grpc)
  list(APPEND _ctx_deb_depends libgrpc++-dev libprotobuf-dev)
endif()
if(TARGET ctx_http)
  list(APPEND _ctx_deb_depends libcpp-httplib-dev pkg-config)
endif()
if(TARGET ctx_http OR TARGET ctx_log)
  list(APPEND _ctx_deb_depends libspdlog-dev)
endif()
list(JOIN _ctx_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
# Shared libraries also need the runtime packages of what they link (libc6, libstdc++6, libgrpc++1.51,
# ...): dpkg-shlibdeps finds them, looking up our own libraries in the package's own tree.
if(BUILD_SHARED_LIBS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_INSTALL_LIBDIR})
endif()
include(CPack)
