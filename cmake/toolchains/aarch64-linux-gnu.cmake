# Cross-compile for 64-bit Arm Linux with Debian's cross compiler (package g++-aarch64-linux-gnu); the result runs
# natively on aarch64 or under QEMU user-mode emulation (package qemu-user), which ctest uses by itself:
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake -DCTSPINE_NATIVE=OFF
#
# -DCTSPINE_NATIVE=OFF is required: -march=native names the build machine's CPU. xsimd picks NEON on aarch64.
#
# Where the dependencies come from:
#   * Eigen, xsimd, nlohmann_json and doctest are header-only: the host's /usr/include copies serve (the Debian cross
#     compiler searches /usr/include after its own /usr/aarch64-linux-gnu/include).
#   * zlib (and optionally libdeflate) must be arm64 builds: either Debian multiarch (`dpkg --add-architecture arm64`,
#     `apt-get install zlib1g-dev:arm64 libdeflate-dev:arm64`; found in /usr/lib/aarch64-linux-gnu), or any other
#     arm64 copy passed explicitly (-DZLIB_LIBRARY=... -DZLIB_INCLUDE_DIR=..., -DCTSPINE_LIBDEFLATE_LIBRARY=...
#     -DCTSPINE_LIBDEFLATE_INCLUDE_DIR=..., or -DCTSPINE_USE_LIBDEFLATE=OFF), as tests/cross/run_qemu_tests.sh does.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CTSPINE_CROSS_TRIPLE aarch64-linux-gnu)
find_program(CMAKE_C_COMPILER ${CTSPINE_CROSS_TRIPLE}-gcc)
find_program(CMAKE_CXX_COMPILER ${CTSPINE_CROSS_TRIPLE}-g++)
if(NOT CMAKE_CXX_COMPILER)
  message(FATAL_ERROR "${CTSPINE_CROSS_TRIPLE}-g++ not found (Debian: apt-get install g++-${CTSPINE_CROSS_TRIPLE})")
endif()

# Target libraries: the cross toolchain's own tree first, then the host's multiarch directories
# (/usr/lib/aarch64-linux-gnu) through CMAKE_LIBRARY_ARCHITECTURE. Programs always come from the host.
set(CMAKE_LIBRARY_ARCHITECTURE ${CTSPINE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${CTSPINE_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# `ctest` and custom commands run the target's programs through QEMU when it is installed.
find_program(CTSPINE_QEMU_AARCH64 qemu-aarch64)
if(CTSPINE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CTSPINE_QEMU_AARCH64} -L /usr/${CTSPINE_CROSS_TRIPLE})
endif()
