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

# Optional: libdeflate, a faster inflate used for .nii.gz when present (zlib stays the default dependency).
if(NOT DEFINED CTSPINE_USE_LIBDEFLATE)
  set(CTSPINE_USE_LIBDEFLATE ON)
endif()
if(CTSPINE_USE_LIBDEFLATE AND NOT TARGET ctspine_libdeflate)
  find_path(CTSPINE_LIBDEFLATE_INCLUDE_DIR libdeflate.h)
  find_library(CTSPINE_LIBDEFLATE_LIBRARY NAMES deflate libdeflate)
  if(CTSPINE_LIBDEFLATE_INCLUDE_DIR AND CTSPINE_LIBDEFLATE_LIBRARY)
    add_library(ctspine_libdeflate INTERFACE IMPORTED)
    set_target_properties(ctspine_libdeflate PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${CTSPINE_LIBDEFLATE_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${CTSPINE_LIBDEFLATE_LIBRARY}"
      INTERFACE_COMPILE_DEFINITIONS "CTSPINE_HAVE_LIBDEFLATE=1")
  endif()
endif()

# Optional: nlohmann_json, needed only by the nnU-Net model loader (ctspine/model/nnunet_model.hpp).
find_package(nlohmann_json CONFIG QUIET)

find_package(Threads REQUIRED)
