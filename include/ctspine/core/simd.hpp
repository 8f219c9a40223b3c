// ctspine — the one place that includes xsimd and papers over its API differences
// (Debian ships xsimd 8.1; vcpkg/Conan ship 13–14). Kernels use only what is declared here.
#pragma once
#include <xsimd/xsimd.hpp>

namespace ctspine {
namespace simd {

/// The architecture chosen by the host's compile flags (-march/-m...). A header-only library
/// never forces -march; the examples/CLI/benchmarks build with -march=native by default.
using default_arch = xsimd::default_arch;

template <class T, class Arch = default_arch>
using batch = xsimd::batch<T, Arch>;

/// Horizontal sum of a batch. xsimd ≤ 8 calls it hadd, xsimd ≥ 9 reduce_add.
template <class T, class Arch>
inline T reduce_add(const xsimd::batch<T, Arch>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
    return xsimd::reduce_add(b);
#else
    return xsimd::hadd(b);
#endif
}

}  // namespace simd
}  // namespace ctspine
