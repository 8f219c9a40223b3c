# Find ctspine's dependencies and provide the targets ctspine links to. Shared by the build tree and
# the installed package config, so consumers get the same workarounds.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro OPTIONAL)

find_package(Eigen3 CONFIG QUIET)
if(NOT TARGET Eigen3::Eigen)
  find_path(CTSPINE_EIGEN3_INCLUDE_DIR Eigen/Core PATH_SUFFIXES eigen3 REQUIRED)
  add_library(Eigen3::Eigen INTERFACE IMPORTED)
  set_target_properties(Eigen3::Eigen PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CTSPINE_EIGEN3_INCLUDE_DIR}")
endif()

# xsimd: Debian's xsimd 8.1 target lists a non-existent `xtl` link library (xsimd is header-only and
# needs no xtl). Rather than trusting its target, make our own from the header location.
if(NOT TARGET ctspine_xsimd)
  find_package(xsimd CONFIG QUIET)
  set(_ctspine_xsimd_inc "")
  if(TARGET xsimd)
    get_target_property(_ctspine_xsimd_inc xsimd INTERFACE_INCLUDE_DIRECTORIES)
  endif()
  if(NOT _ctspine_xsimd_inc)
    find_path(_ctspine_xsimd_inc xsimd/xsimd.hpp REQUIRED)
  endif()
  add_library(ctspine_xsimd INTERFACE IMPORTED)
  set_target_properties(ctspine_xsimd PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_ctspine_xsimd_inc}")
endif()

find_package(ZLIB REQUIRED)

# Optional dependencies. CTSPINE_USE_<DEP> (default ON): use it when found. With CTSPINE_REQUIRE_ENABLED_DEPENDENCIES
# (package managers set it, and the installed config sets it for what the build used) an enabled one must be found.
if(NOT DEFINED CTSPINE_REQUIRE_ENABLED_DEPENDENCIES)
  set(CTSPINE_REQUIRE_ENABLED_DEPENDENCIES OFF)
endif()

# libdeflate: a faster inflate used for .nii.gz when present (zlib stays the default dependency). Its own CMake package
# (libdeflate >= 1.15; vcpkg, Conan's CMakeDeps) first, else the library and header (Debian 12 ships 1.14 without one).
if(NOT DEFINED CTSPINE_USE_LIBDEFLATE)
  set(CTSPINE_USE_LIBDEFLATE ON)
endif()
if(CTSPINE_USE_LIBDEFLATE AND NOT TARGET ctspine_libdeflate)
  find_package(libdeflate CONFIG QUIET)
  set(_ctspine_deflate_target "")
  foreach(_t libdeflate::libdeflate libdeflate::libdeflate_shared libdeflate::libdeflate_static)
    if(TARGET ${_t} AND NOT _ctspine_deflate_target)
      set(_ctspine_deflate_target ${_t})
    endif()
  endforeach()
  if(_ctspine_deflate_target)
    add_library(ctspine_libdeflate INTERFACE IMPORTED)
    set_target_properties(ctspine_libdeflate PROPERTIES
      INTERFACE_LINK_LIBRARIES "${_ctspine_deflate_target}"
      INTERFACE_COMPILE_DEFINITIONS "CTSPINE_HAVE_LIBDEFLATE=1")
  else()
    find_path(CTSPINE_LIBDEFLATE_INCLUDE_DIR libdeflate.h)
    find_library(CTSPINE_LIBDEFLATE_LIBRARY NAMES deflate libdeflate deflatestatic)
    if(CTSPINE_LIBDEFLATE_INCLUDE_DIR AND CTSPINE_LIBDEFLATE_LIBRARY)
      add_library(ctspine_libdeflate INTERFACE IMPORTED)
      set_target_properties(ctspine_libdeflate PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${CTSPINE_LIBDEFLATE_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${CTSPINE_LIBDEFLATE_LIBRARY}"
        INTERFACE_COMPILE_DEFINITIONS "CTSPINE_HAVE_LIBDEFLATE=1")
    endif()
  endif()
  if(NOT TARGET ctspine_libdeflate AND CTSPINE_REQUIRE_ENABLED_DEPENDENCIES)
    message(FATAL_ERROR "ctspine: libdeflate is enabled (CTSPINE_USE_LIBDEFLATE) but was not found")
  endif()
endif()

# nlohmann_json: needed only by the nnU-Net model loader (ctspine/model/nnunet_plans.hpp, nnunet_model.hpp, and the
# segmenter); with it the target defines CTSPINE_HAVE_NLOHMANN_JSON=1.
if(NOT DEFINED CTSPINE_USE_NLOHMANN_JSON)
  set(CTSPINE_USE_NLOHMANN_JSON ON)
endif()
if(CTSPINE_USE_NLOHMANN_JSON AND NOT TARGET nlohmann_json::nlohmann_json)
  if(CTSPINE_REQUIRE_ENABLED_DEPENDENCIES)
    find_package(nlohmann_json 3.2 CONFIG REQUIRED)
  else()
    find_package(nlohmann_json 3.2 CONFIG QUIET)
  endif()
endif()

find_package(Threads REQUIRED)
