# SPDX-License-Identifier: Apache-2.0
# Runs as `cmake -P` (see CMakeLists.txt here) against the tree install.prefix installed into PREFIX:
#   MODE=install    `cmake --install BUILD_DIR` into an empty PREFIX (the fixture the other modes use)
#   MODE=cmake      build consumer/ with find_package(ctx COMPONENTS <COMPONENTS>) and run its programs
#   MODE=pkgconfig  compile consumer/<component>.cc with the flags `pkg-config --cflags --libs` gives alone
#   MODE=probe      configure probe/: the versions and components find_package(ctx) must refuse
#   MODE=deb        `cpack -G DEB` in BUILD_DIR, check the package's Depends, `dpkg -x` it into a scratch
#                   root and build the CMake and pkg-config consumers against that root
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
string(REPLACE "," ";" COMPONENTS "${COMPONENTS}")

# run(<command>...): runs it, fails the test with the command and its output when it fails. The output is
# left in run_out.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

# run_program(path): runs a consumer, with the installed libraries on the loader's path (shared builds).
function(run_program root program)
  run(${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${root}/${LIBDIR}" ${program})
  message(STATUS "${program}: ${run_out}")
endfunction()

# cmake_consumer(root components): configures and builds consumer/ against root, runs each program.
function(cmake_consumer root components)
  list(JOIN components "\\;" components_arg)
  set(build ${WORK_DIR}/cmake_consumer)
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/consumer -B ${build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${root} "-DCTX_COMPONENTS=${components_arg}")
  run(${CMAKE_COMMAND} --build ${build})
  foreach(comp IN LISTS components)
    run_program(${root} ${build}/consumer_${comp})
  endforeach()
endfunction()

# pkgconfig_consumer(root component): compiles consumer/<component>.cc with nothing but -std=c++20 and
# what `pkg-config --cflags --libs ctx-<component>` prints (PKG_CONFIG_PATH: root's pkgconfig only), runs it.
function(pkgconfig_consumer root comp)
  set(ENV{PKG_CONFIG_PATH} ${root}/${LIBDIR}/pkgconfig)
  run(pkg-config --modversion ctx-${comp})
  string(STRIP "${run_out}" version)
  run(pkg-config --cflags --libs ctx-${comp})
  separate_arguments(flags UNIX_COMMAND "${run_out}")
  set(program ${WORK_DIR}/pkgconfig_${comp})
  run(${CXX} -std=c++20 "-DCTX_EXPECTED_VERSION=\"${version}\"" ${SOURCE_DIR}/consumer/${comp}.cc ${flags}
    -o ${program})
  run_program(${root} ${program})
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
elseif(MODE STREQUAL "cmake")
  cmake_consumer(${PREFIX} "${COMPONENTS}")
elseif(MODE STREQUAL "pkgconfig")
  foreach(comp IN LISTS COMPONENTS)
    pkgconfig_consumer(${PREFIX} ${comp})
  endforeach()
elseif(MODE STREQUAL "probe")
  # A copy of the installation without the grpc component's targets (as if built with CTX_BUILD_GRPC=OFF):
  # its own CMake files, the rest linked to the installed tree.
  set(root ${WORK_DIR}/root)
  file(MAKE_DIRECTORY ${root}/${LIBDIR})
  file(CREATE_LINK ${PREFIX}/include ${root}/include SYMBOLIC)
  file(GLOB libs ${PREFIX}/${LIBDIR}/libctx_*)
  foreach(lib IN LISTS libs)
    get_filename_component(name ${lib} NAME)
    file(CREATE_LINK ${lib} ${root}/${LIBDIR}/${name} SYMBOLIC)
  endforeach()
  file(COPY ${PREFIX}/${LIBDIR}/cmake DESTINATION ${root}/${LIBDIR})
  file(GLOB grpc_targets ${root}/${LIBDIR}/cmake/ctx/ctxGrpcTargets*.cmake)
  file(REMOVE ${grpc_targets})
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/probe -B ${WORK_DIR}/probe -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_PREFIX_PATH=${root})
  message(STATUS "${run_out}")
  # REQUIRED: configuring stops in find_package, with ctx's reason.
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/probe -B ${WORK_DIR}/probe_required -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${root} -DPROBE_REQUIRED=grpc
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "ctx component 'grpc': not built into this installation" at)
  if(rc EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "find_package(ctx REQUIRED COMPONENTS grpc), no grpc installed: exit ${rc}, "
      "stderr:\n${err}\nwant a failure that says the component was not built")
  endif()
elseif(MODE STREQUAL "deb")
  run(cpack -G DEB -B ${WORK_DIR}/package WORKING_DIRECTORY ${BUILD_DIR})
  file(GLOB debs ${WORK_DIR}/package/libctx-dev_*.deb)
  list(LENGTH debs count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "cpack -G DEB: got ${count} packages (${debs}), want one libctx-dev_*.deb")
  endif()
  set(want_depends)
  if("grpc" IN_LIST COMPONENTS)
    list(APPEND want_depends libgrpc++-dev libprotobuf-dev)
  endif()
  if("http" IN_LIST COMPONENTS)
    list(APPEND want_depends libcpp-httplib-dev)
  endif()
  if("http" IN_LIST COMPONENTS OR "log" IN_LIST COMPONENTS)
    list(APPEND want_depends libspdlog-dev)
  endif()
  run(dpkg-deb -f ${debs} Package Depends)
  foreach(dep IN LISTS want_depends)
    string(FIND "${run_out}" "${dep}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "libctx-dev's control fields: got\n${run_out}want Depends to name ${dep}")
    endif()
  endforeach()
  set(root ${WORK_DIR}/root)
  run(dpkg -x ${debs} ${root})
  cmake_consumer(${root}/usr "${COMPONENTS}")
  pkgconfig_consumer(${root}/usr core)
else()
  message(FATAL_ERROR "MODE must be install, cmake, pkgconfig, probe or deb, not '${MODE}'")
endif()
