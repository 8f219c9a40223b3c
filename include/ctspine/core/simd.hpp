// ctspine — the SIMD vocabulary of the kernels, on xsimd. Kernels use only what is declared here; the xsimd version
// differences (Debian ships 8.1; vcpkg/Conan ship 13–14) are absorbed in core/compat.hpp.
#pragma once
#include "ctspine/core/compat.hpp"

namespace ctspine {
namespace simd {

/// The architecture chosen by the host's compile flags (-march/-m...). A header-only library
/// never forces -march; the examples/CLI/benchmarks build with -march=native by default.
using default_arch = xsimd::default_arch;

template <class T, class Arch = default_arch>
using batch = xsimd::batch<T, Arch>;

/// Horizontal sum of a batch (compat::reduce_add: hadd in xsimd 8, reduce_add from 9).
template <class T, class Arch>
inline T reduce_add(const xsimd::batch<T, Arch>& b) noexcept {
    return compat::reduce_add(b);
}

/// Fused multiply-add a·b + c with one rounding, as std::fma in the scalar twins. xsimd 8.1 implements xsimd::fma
/// for AVX-512 as a separate multiply and add (its generic kernel), which only the compiler's optional contraction
/// would fuse, so the FMA instructions are used directly where the compile flags provide them; elsewhere xsimd::fma
/// (fused on NEON; two roundings on x86 without FMA).
template <class Arch>
inline xsimd::batch<float, Arch> fmadd(const xsimd::batch<float, Arch>& a, const xsimd::batch<float, Arch>& b,
                                       const xsimd::batch<float, Arch>& c) noexcept {
#if defined(__AVX512F__)
    if constexpr (xsimd::batch<float, Arch>::size == 16) return xsimd::batch<float, Arch>(_mm512_fmadd_ps(a, b, c));
#endif
#if defined(__FMA__)
    if constexpr (xsimd::batch<float, Arch>::size == 8) return xsimd::batch<float, Arch>(_mm256_fmadd_ps(a, b, c));
    if constexpr (xsimd::batch<float, Arch>::size == 4) return xsimd::batch<float, Arch>(_mm_fmadd_ps(a, b, c));
#endif
    return xsimd::fma(a, b, c);
}

}  // namespace simd
}  // namespace ctspine
