#!/usr/bin/env bash
# Developer script: build and run ctspine's tests against xsimd 14 (and optionally Eigen 5) instead of Debian's xsimd 8.1
# and Eigen 3.4. Nothing is committed or installed system-wide: the dependency sources are exported into the work
# directory and installed into a private prefix there.
#
# Usage: tests/compat/run_xsimd14.sh [--xsimd SRC] [--eigen SRC] [--all] [--work DIR] [--jobs N]
#   --xsimd SRC  an xsimd source tree, or a git repository (a bare mirror is fine) from which tag $XSIMD_TAG
#                (default 14.3.0) is exported; without it, https://github.com/xtensor-stack/xsimd is cloned at that tag
#   --eigen SRC  the same for Eigen, tag $EIGEN_TAG (default 5.0.0; clone from https://gitlab.com/libeigen/eigen);
#                without it, Debian's Eigen is used
#   --all        also build and run the slow tests (unet, pipeline, isa and the --isa CLI segmentations); by default
#                they are skipped: together they take longer than everything else
#   --work DIR   work directory (default: build-compat in the source tree)
# Requires the packages of tests/install_deps.sh (the rest of the dependencies stay Debian's).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
xsimd_src="" eigen_src="" all=0 work="$root/build-compat" jobs=2
XSIMD_TAG="${XSIMD_TAG:-14.3.0}" EIGEN_TAG="${EIGEN_TAG:-5.0.0}"
while [ $# -gt 0 ]; do
  case "$1" in
    --xsimd) xsimd_src="$2"; shift 2 ;;
    --eigen) eigen_src="$2"; shift 2 ;;
    --all) all=1; shift ;;
    --work) work="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
prefix="$work/prefix"

# fetch NAME SRC TAG URL -> prints the source directory
fetch_source() {
  local name="$1" src="$2" tag="$3" url="$4" dest="$work/$1-src"
  rm -rf "$dest"
  mkdir -p "$dest"
  if [ -z "$src" ]; then
    git clone --quiet --depth 1 --branch "$tag" "$url" "$dest" >&2
  elif git --git-dir="$src" rev-parse --verify --quiet "$tag^{commit}" >/dev/null 2>&1; then
    git --git-dir="$src" archive "$tag" | tar -x -C "$dest"            # a bare repository / mirror
  elif git -C "$src" rev-parse --verify --quiet "$tag^{commit}" >/dev/null 2>&1; then
    git -C "$src" archive "$tag" | tar -x -C "$dest"                   # a clone with a work tree
  elif [ -f "$src/CMakeLists.txt" ]; then
    cp -a "$src/." "$dest/"                                            # a plain source tree, as it is
  else
    echo "$name: $src is neither a source tree nor a git repository with tag $tag" >&2
    exit 1
  fi
  echo "$dest"
}

xs="$(fetch_source xsimd "$xsimd_src" "$XSIMD_TAG" https://github.com/xtensor-stack/xsimd)"
cmake -S "$xs" -B "$work/xsimd-build" -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_TESTS=OFF > "$work/xsimd-configure.log"
cmake --install "$work/xsimd-build" > /dev/null
want_eigen=""
if [ -n "$eigen_src" ]; then
  es="$(fetch_source eigen "$eigen_src" "$EIGEN_TAG" https://gitlab.com/libeigen/eigen)"
  cmake -S "$es" -B "$work/eigen-build" -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_TESTING=OFF -DEIGEN_BUILD_DOC=OFF \
    -DEIGEN_BUILD_TESTING=OFF -DEIGEN_BUILD_BLAS=OFF -DEIGEN_BUILD_LAPACK=OFF \
    -DEIGEN_PRERELEASE_VERSION= > "$work/eigen-configure.log"  # else Eigen's CMake labels a release tag "-dev"
  cmake --install "$work/eigen-build" > /dev/null
  want_eigen="$(sed -n 's/^#define EIGEN_VERSION_STRING "\(.*\)"/\1/p' "$prefix"/include/eigen3/Eigen/Version 2>/dev/null || true)"
fi

build="$work/build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log"
slow="unet|pipeline|isa"
targets=(ctspine_cli)
for f in "$root"/tests/unit/test_*.cpp; do
  area="$(basename "$f" .cpp)"; area="${area#test_}"
  if [ "$all" = 1 ] || ! [[ "$area" =~ ^($slow)$ ]]; then targets+=("ctspine_test_$area"); fi
done
for f in "$root"/examples/example_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# the versions the build really used, as the tool reports them
"$build/bin/ctspine" --version | tee "$work/versions.txt"
grep -q "xsimd $XSIMD_TAG" "$work/versions.txt" || { echo "the build did not use xsimd $XSIMD_TAG" >&2; exit 1; }
if [ -n "$want_eigen" ]; then
  grep -q "Eigen $want_eigen" "$work/versions.txt" || { echo "the build did not use Eigen $want_eigen" >&2; exit 1; }
fi

# every test except the package tests (they install ctspine against the system's packages) and, unless --all, the slow ones
exclude="^package_"
[ "$all" = 1 ] || exclude="$exclude|^($slow)\$|^cli_segment_demo_"
(cd "$build" && ctest --output-on-failure -j"$jobs" -E "$exclude")
