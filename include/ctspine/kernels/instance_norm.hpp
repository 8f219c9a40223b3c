// ctspine — InstanceNorm3d (+ optional residual) fused with LeakyReLU/ReLU on the blocked layout (conv3d_layout.hpp).
// Statistics in float64 with a fixed reduction order per channel block. Scalar twin: kernels/reference/nn_reference.hpp.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/nn/tensor.hpp"
#include "ctspine/kernels/conv3d_layout.hpp"

namespace ctspine {
namespace nn {

/// InstanceNorm (per channel over the interior, statistics in float64, fixed order) + affine + LeakyReLU(slope)
/// (slope < 0: none). Optional residual added before the nonlinearity. Operates on channel blocks [cb0, cb0 + n).
inline void instance_norm_act(blocked_tensor& t, const std::vector<float>& gamma, const std::vector<float>& beta, double eps, double slope,
                              int threads, const blocked_tensor* residual = nullptr, const std::vector<float>* res_gamma = nullptr,
                              const std::vector<float>* res_beta = nullptr) {
    const index_t CB = t.cblocks(), D = t.D(), H = t.H(), W = t.W();
    const double n = double(D * H * W);
    auto stats = [&](const blocked_tensor& x, index_t cb, double* mean, double* inv) {
        double s[16] = {0}, q[16] = {0};
        for (index_t d = 0; d < D; ++d)
            for (index_t h = 0; h < H; ++h) {
                const float* p = x.at(cb, d + 1, h + 1, 1);
                for (index_t w = 0; w < W; ++w)
                    for (int l = 0; l < 16; ++l) s[l] += p[w * block + l];
            }
        for (int l = 0; l < 16; ++l) mean[l] = s[l] / n;
        for (index_t d = 0; d < D; ++d)
            for (index_t h = 0; h < H; ++h) {
                const float* p = x.at(cb, d + 1, h + 1, 1);
                for (index_t w = 0; w < W; ++w)
                    for (int l = 0; l < 16; ++l) {
                        const double v = p[w * block + l] - mean[l];
                        q[l] += v * v;
                    }
            }
        for (int l = 0; l < 16; ++l) inv[l] = 1.0 / std::sqrt(q[l] / n + eps);
    };
    parallel_for(threads, CB, [&](index_t b, index_t e, int) {
        for (index_t cb = b; cb < e; ++cb) {
            double mean[16], inv[16], rmean[16], rinv[16];
            stats(t, cb, mean, inv);
            float scale[16], shift[16], rscale[16] = {0}, rshift[16] = {0};
            for (int l = 0; l < 16; ++l) {
                const index_t c = cb * block + l;
                const bool real = c < t.channels();
                scale[l] = real ? float(inv[l] * gamma[static_cast<size_t>(c)]) : 0.f;
                shift[l] = real ? float(beta[static_cast<size_t>(c)] - mean[l] * inv[l] * gamma[static_cast<size_t>(c)]) : 0.f;
            }
            if (residual && res_gamma) {
                stats(*residual, cb, rmean, rinv);
                for (int l = 0; l < 16; ++l) {
                    const index_t c = cb * block + l;
                    const bool real = c < t.channels();
                    rscale[l] = real ? float(rinv[l] * (*res_gamma)[static_cast<size_t>(c)]) : 0.f;
                    rshift[l] = real ? float((*res_beta)[static_cast<size_t>(c)] - rmean[l] * rinv[l] * (*res_gamma)[static_cast<size_t>(c)]) : 0.f;
                }
            }
            const float sl = static_cast<float>(slope);
            for (index_t d = 0; d < D; ++d)
                for (index_t h = 0; h < H; ++h) {
                    float* p = t.at(cb, d + 1, h + 1, 1);
                    const float* r = residual ? residual->at(cb, d + 1, h + 1, 1) : nullptr;
                    for (index_t w = 0; w < W; ++w)
                        for (int l = 0; l < 16; ++l) {
                            float y = p[w * block + l] * scale[l] + shift[l];
                            if (r) y += res_gamma ? r[w * block + l] * rscale[l] + rshift[l] : r[w * block + l];
                            if (slope >= 0 && y < 0) y *= sl;
                            p[w * block + l] = y;
                        }
                }
        }
    });
}

}  // namespace nn
}  // namespace ctspine
