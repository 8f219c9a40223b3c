// ctspine — InstanceNorm3d (+ optional residual) fused with LeakyReLU/ReLU on the blocked layout (conv3d_layout.hpp).
// Statistics in float64 per channel in storage order; the affine step is y = fma(x, scale, shift). Per-ISA forms in
// x86_avx512.hpp / x86_avx2.hpp, chosen at run time (core/cpu.hpp); the generic form below is scalar C++. Every
// multiply-add is an explicit fused one (never left to the compiler's contraction, which differs between -march
// builds), so all forms give bit-identical results. PyTorch-semantics twin: kernels/reference/nn_reference.hpp.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/x86_avx2.hpp"
#include "ctspine/kernels/x86_avx512.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {
namespace nn {
namespace detail {

/// Whether the generic (compile-flag) forms multiply-add with one rounding: true where the target has an FMA
/// instruction (x86 built with FMA, aarch64). Elsewhere (a baseline x86-64 build) std::fma would be a slow library
/// call, so the generic forms multiply and add separately and are not bit-identical to the fused forms.
#if defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA) || (defined(_MSC_VER) && defined(__AVX2__))
inline constexpr bool generic_fma_fused = true;
#else
inline constexpr bool generic_fma_fused = false;
#endif

template <bool Fused, class T>
inline T madd(T a, T b, T c) {
    if constexpr (Fused) return std::fma(a, b, c);
    else return a * b + c;
}

/// Scalar forms of the three passes. Fused = true is the exact twin of the SIMD forms.
template <bool Fused>
struct norm_scalar {
    static void sum(const blocked_tensor& x, index_t cb, double* s) {
        std::fill(s, s + 16, 0.0);
        for (index_t d = 0; d < x.D(); ++d)
            for (index_t h = 0; h < x.H(); ++h) {
                const float* p = x.at(cb, d + 1, h + 1, 1);
                for (index_t w = 0; w < x.W(); ++w, p += block)
                    for (int l = 0; l < 16; ++l) s[l] += double(p[l]);
            }
    }
    static void sqdev(const blocked_tensor& x, index_t cb, const double* mean, double* q) {
        std::fill(q, q + 16, 0.0);
        for (index_t d = 0; d < x.D(); ++d)
            for (index_t h = 0; h < x.H(); ++h) {
                const float* p = x.at(cb, d + 1, h + 1, 1);
                for (index_t w = 0; w < x.W(); ++w, p += block)
                    for (int l = 0; l < 16; ++l) {
                        const double v = double(p[l]) - mean[l];
                        q[l] = madd<Fused>(v, v, q[l]);
                    }
            }
    }
    static void apply(blocked_tensor& t, index_t cb, const float* scale, const float* shift, const blocked_tensor* res, const float* rscale,
                      const float* rshift, float slope) {
        for (index_t d = 0; d < t.D(); ++d)
            for (index_t h = 0; h < t.H(); ++h) {
                float* p = t.at(cb, d + 1, h + 1, 1);
                const float* r = res ? res->at(cb, d + 1, h + 1, 1) : nullptr;
                for (index_t w = 0; w < t.W(); ++w, p += block) {
                    for (int l = 0; l < 16; ++l) {
                        float y = madd<Fused>(p[l], scale[l], shift[l]);
                        if (r) y += rscale ? madd<Fused>(r[l], rscale[l], rshift[l]) : r[l];
                        if (slope >= 0 && y < 0) y *= slope;
                        p[l] = y;
                    }
                    if (r) r += block;
                }
            }
    }
};

/// scale = inv·γ, shift = fma(−mean, scale, β) per lane of channel block cb (zero for padded channels).
inline void norm_affine(const blocked_tensor& t, index_t cb, const double* mean, const double* q, double eps, const std::vector<float>& gamma,
                        const std::vector<float>& beta, float* scale, float* shift) {
    const double n = double(t.D() * t.H() * t.W());
    for (int l = 0; l < 16; ++l) {
        const index_t c = cb * block + l;
        if (c >= t.channels()) {
            scale[l] = shift[l] = 0.f;
            continue;
        }
        const double inv = 1.0 / std::sqrt(q[l] / n + eps), sc = inv * double(gamma[static_cast<size_t>(c)]);
        scale[l] = float(sc);
        shift[l] = float(std::fma(-mean[l], sc, double(beta[static_cast<size_t>(c)])));
    }
}

/// One channel block through the passes of form K (a struct with static sum / sqdev / apply).
template <class K>
void norm_block(blocked_tensor& t, index_t cb, const std::vector<float>& gamma, const std::vector<float>& beta, double eps, double slope,
                const blocked_tensor* residual, const std::vector<float>* res_gamma, const std::vector<float>* res_beta) {
    const double n = double(t.D() * t.H() * t.W());
    double s[16], mean[16], q[16];
    float scale[16], shift[16], rscale[16], rshift[16];
    K::sum(t, cb, s);
    for (int l = 0; l < 16; ++l) mean[l] = s[l] / n;
    K::sqdev(t, cb, mean, q);
    norm_affine(t, cb, mean, q, eps, gamma, beta, scale, shift);
    const bool proj = residual && res_gamma;
    if (proj) {
        K::sum(*residual, cb, s);
        for (int l = 0; l < 16; ++l) mean[l] = s[l] / n;
        K::sqdev(*residual, cb, mean, q);
        norm_affine(*residual, cb, mean, q, eps, *res_gamma, *res_beta, rscale, rshift);
    }
    K::apply(t, cb, scale, shift, residual, proj ? rscale : nullptr, proj ? rshift : nullptr, static_cast<float>(slope));
}

#if CTSPINE_X86
struct norm_avx512 {
    static void sum(const blocked_tensor& x, index_t cb, double* s) { avx512::norm_sum(x, cb, s); }
    static void sqdev(const blocked_tensor& x, index_t cb, const double* m, double* q) { avx512::norm_sqdev(x, cb, m, q); }
    static void apply(blocked_tensor& t, index_t cb, const float* sc, const float* sh, const blocked_tensor* r, const float* rsc, const float* rsh,
                      float sl) {
        avx512::norm_apply(t, cb, sc, sh, r, rsc, rsh, sl);
    }
};
struct norm_avx2 {
    static void sum(const blocked_tensor& x, index_t cb, double* s) { avx2::norm_sum(x, cb, s); }
    static void sqdev(const blocked_tensor& x, index_t cb, const double* m, double* q) { avx2::norm_sqdev(x, cb, m, q); }
    static void apply(blocked_tensor& t, index_t cb, const float* sc, const float* sh, const blocked_tensor* r, const float* rsc, const float* rsh,
                      float sl) {
        avx2::norm_apply(t, cb, sc, sh, r, rsc, rsh, sl);
    }
};
#endif

}  // namespace detail

/// InstanceNorm (per channel over the interior, statistics in float64) + affine + LeakyReLU(slope) (slope < 0: none),
/// in place. Optional residual added before the nonlinearity: as is, or (res_gamma/res_beta given) itself
/// instance-normalised first (ResEnc's projected skip). One channel block per task: identical for any thread count.
inline void instance_norm_act(blocked_tensor& t, const std::vector<float>& gamma, const std::vector<float>& beta, double eps, double slope,
                              int threads, const blocked_tensor* residual = nullptr, const std::vector<float>* res_gamma = nullptr,
                              const std::vector<float>* res_beta = nullptr, cpu_isa isa = cpu_isa::automatic) {
    if (static_cast<index_t>(gamma.size()) < t.channels() || static_cast<index_t>(beta.size()) < t.channels())
        throw error(errc::shape_mismatch, "instance_norm_act: fewer affine parameters than channels");
    auto run = [&](auto kernel) {
        using K = decltype(kernel);
        parallel_for(threads, t.cblocks(), [&](index_t b, index_t e, int) {
            for (index_t cb = b; cb < e; ++cb) detail::norm_block<K>(t, cb, gamma, beta, eps, slope, residual, res_gamma, res_beta);
        });
    };
    switch (resolve_isa(isa)) {
#if CTSPINE_X86
        case cpu_isa::avx512: return run(detail::norm_avx512{});
        case cpu_isa::avx2: return run(detail::norm_avx2{});
#endif
        default: return run(detail::norm_scalar<detail::generic_fma_fused>{});
    }
}

}  // namespace nn
}  // namespace ctspine
