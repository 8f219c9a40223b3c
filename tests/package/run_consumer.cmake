# cmake -P script: build and run a consumer of ctspine as the package managers' consumers would.
#   MODE=find_package: install ctspine (CTSPINE_USE_LIBDEFLATE=DEFLATE, CTSPINE_USE_NLOHMANN_JSON=JSON, every enabled
#     dependency required, as ports/ctspine/portfile.cmake and conanfile.py configure it) into a staging prefix, move
#     the prefix elsewhere (vcpkg and Conan relocate packages), then build and run against it:
#     tests/package/consumer with find_package, the Conan recipe's test_package with find_package, and the consumer
#     with nothing but `pkg-config --cflags --libs ctspine` and the compiler (CXX).
#   MODE=add_subdirectory: the consumer with add_subdirectory of the source tree.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()
function(bool01 var value)
  if(value)
    set(${var} 1 PARENT_SCOPE)
  else()
    set(${var} 0 PARENT_SCOPE)
  endif()
endfunction()
set(consumer ${SOURCE_DIR}/tests/package/consumer)
if(NOT MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/consumer -G ${GENERATOR} -DCTSPINE_SOURCE_DIR=${SOURCE_DIR})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
  run(${WORK_DIR}/consumer/consumer)
  return()
endif()

bool01(deflate "${DEFLATE}")
bool01(json "${JSON}")
set(staged ${WORK_DIR}/staged)
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib -G ${GENERATOR} -DCMAKE_INSTALL_PREFIX=${staged}
    -DCTSPINE_BUILD_TESTS=OFF -DCTSPINE_BUILD_EXAMPLES=OFF -DCTSPINE_INSTALL=ON
    -DCTSPINE_USE_LIBDEFLATE=${deflate} -DCTSPINE_USE_NLOHMANN_JSON=${json} -DCTSPINE_REQUIRE_ENABLED_DEPENDENCIES=ON)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/lib --target install)
file(RENAME ${staged} ${prefix})
foreach(f include/ctspine/ctspine.hpp include/ctspine/version.hpp share/cmake/ctspine/ctspineConfig.cmake
          share/cmake/ctspine/ctspineConfigVersion.cmake share/cmake/ctspine/ctspineDependencies.cmake share/pkgconfig/ctspine.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install did not produce ${f}")
  endif()
endforeach()
# nothing of the build tree or the staging prefix may leak into the installed files
file(GLOB_RECURSE installed_cmake ${prefix}/share/*.cmake ${prefix}/share/*.pc)
foreach(f ${installed_cmake})
  file(READ ${f} text)
  foreach(p ${staged} ${WORK_DIR}/lib ${SOURCE_DIR})
    string(FIND "${text}" "${p}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${f} mentions ${p}: not relocatable")
    endif()
  endforeach()
endforeach()

# the version the package announces, passed to the consumers to compare with the headers' version
file(READ ${prefix}/share/cmake/ctspine/ctspineConfigVersion.cmake cv)
string(REGEX MATCH "PACKAGE_VERSION \"([0-9.]+)\"" _m "${cv}")
set(version ${CMAKE_MATCH_1})

# 1. find_package consumer
run(${CMAKE_COMMAND} -S ${consumer} -B ${WORK_DIR}/consumer -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix}
    -DEXPECT_LIBDEFLATE=${deflate} -DEXPECT_NLOHMANN_JSON=${json})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer ${version} ${WORK_DIR}/roundtrip.nii.gz)

# 2. the Conan recipe's test_package (Conan builds it with find_package(ctspine) and ctspine::ctspine too)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/test_package -B ${WORK_DIR}/test_package -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/test_package)
run(${WORK_DIR}/test_package/test_package)

# 3. pkg-config consumer: the compiler and `pkg-config --cflags --libs ctspine` only
find_program(PKG_CONFIG NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found")
endif()
set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
run(${PKG_CONFIG} --modversion ctspine)
string(STRIP "${run_output}" pc_version)
if(NOT pc_version STREQUAL version)
  message(FATAL_ERROR "ctspine.pc says ${pc_version}, the CMake package ${version}")
endif()
run(${PKG_CONFIG} --cflags --libs ctspine)
string(STRIP "${run_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run(${PKG_CONFIG} --print-requires ctspine)
message(STATUS "ctspine.pc requires: ${run_output}")
run(${CXX} ${consumer}/main.cpp -o ${WORK_DIR}/pc_consumer -DEXPECT_LIBDEFLATE=${deflate} -DEXPECT_NLOHMANN_JSON=${json} ${pc_flags})
run(${WORK_DIR}/pc_consumer ${version} ${WORK_DIR}/roundtrip_pc.nii.gz)
