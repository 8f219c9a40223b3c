// ctspine — scalar reference layers on plain (C, D, H, W) tensors: the test oracle twins of the fast kernels.
// Semantics (PyTorch, as nnU-Net uses it; docs/nnunet-numerics.md §3): Conv3d is a cross-correlation with
// zero padding (k − 1)/2 per axis; ConvTranspose3d with kernel = stride writes out[o, i·s + a] = b[o] + Σ_c in[c, i]·W[c, o, a]
// (weight layout [in, out, k...]); InstanceNorm3d uses the biased variance over D·H·W; LeakyReLU slope 0.01.
#pragma once
#include <array>
#include <cmath>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {
namespace nn {
namespace reference {

using ks3 = std::array<int, 3>;

/// weight [Co][Ci][kd][kh][kw] (PyTorch Conv3d layout), bias [Co] (may be empty).
inline tensor conv3d(const tensor& in, const std::vector<float>& weight, const std::vector<float>& bias, index_t co, ks3 k, ks3 s) {
    const index_t ci = in.shape()[0], D = in.shape()[1], H = in.shape()[2], W = in.shape()[3];
    const ks3 p{(k[0] - 1) / 2, (k[1] - 1) / 2, (k[2] - 1) / 2};
    const index_t OD = (D + 2 * p[0] - k[0]) / s[0] + 1, OH = (H + 2 * p[1] - k[1]) / s[1] + 1, OW = (W + 2 * p[2] - k[2]) / s[2] + 1;
    if (static_cast<index_t>(weight.size()) != co * ci * k[0] * k[1] * k[2]) throw error(errc::shape_mismatch, "reference conv3d: weight size");
    tensor out({co, OD, OH, OW});
    for (index_t o = 0; o < co; ++o)
        for (index_t d = 0; d < OD; ++d)
            for (index_t h = 0; h < OH; ++h)
                for (index_t w = 0; w < OW; ++w) {
                    double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(o)];
                    for (index_t c = 0; c < ci; ++c)
                        for (int a = 0; a < k[0]; ++a)
                            for (int b = 0; b < k[1]; ++b)
                                for (int e = 0; e < k[2]; ++e) {
                                    index_t id = d * s[0] + a - p[0], ih = h * s[1] + b - p[1], iw = w * s[2] + e - p[2];
                                    if (id < 0 || ih < 0 || iw < 0 || id >= D || ih >= H || iw >= W) continue;
                                    acc += double(in(c, id, ih, iw)) *
                                           double(weight[static_cast<size_t>((((o * ci + c) * k[0] + a) * k[1] + b) * k[2] + e)]);
                                }
                    out(o, d, h, w) = static_cast<float>(acc);
                }
    return out;
}

/// weight [Ci][Co][sd][sh][sw] (PyTorch ConvTranspose3d layout), kernel = stride.
inline tensor conv_transpose3d(const tensor& in, const std::vector<float>& weight, const std::vector<float>& bias, index_t co, ks3 s) {
    const index_t ci = in.shape()[0], D = in.shape()[1], H = in.shape()[2], W = in.shape()[3];
    tensor out({co, D * s[0], H * s[1], W * s[2]});
    for (index_t o = 0; o < co; ++o)
        for (index_t d = 0; d < D * s[0]; ++d)
            for (index_t h = 0; h < H * s[1]; ++h)
                for (index_t w = 0; w < W * s[2]; ++w) {
                    double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(o)];
                    const index_t a = d % s[0], b = h % s[1], e = w % s[2];
                    for (index_t c = 0; c < ci; ++c)
                        acc += double(in(c, d / s[0], h / s[1], w / s[2])) *
                               double(weight[static_cast<size_t>((((c * co + o) * s[0] + a) * s[1] + b) * s[2] + e)]);
                    out(o, d, h, w) = static_cast<float>(acc);
                }
    return out;
}

/// InstanceNorm3d (affine) followed by LeakyReLU(slope) (slope < 0: no nonlinearity; slope 0: ReLU). In place.
inline void instance_norm_act(tensor& t, const std::vector<float>& gamma, const std::vector<float>& beta, double eps, double slope) {
    const index_t n = t.spatial_size();
    for (index_t c = 0; c < t.channels(); ++c) {
        float* x = t.channel(c);
        double mean = 0, var = 0;
        for (index_t i = 0; i < n; ++i) mean += x[i];
        mean /= double(n);
        for (index_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
        var /= double(n);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (index_t i = 0; i < n; ++i) {
            double y = (x[i] - mean) * inv * gamma[static_cast<size_t>(c)] + beta[static_cast<size_t>(c)];
            if (slope >= 0 && y < 0) y *= slope;
            x[i] = static_cast<float>(y);
        }
    }
}

/// AvgPool3d(kernel = stride = s).
inline tensor avg_pool3d(const tensor& in, ks3 s) {
    const index_t C = in.shape()[0], D = in.shape()[1] / s[0], H = in.shape()[2] / s[1], W = in.shape()[3] / s[2];
    tensor out({C, D, H, W});
    const double inv = 1.0 / (s[0] * s[1] * s[2]);
    for (index_t c = 0; c < C; ++c)
        for (index_t d = 0; d < D; ++d)
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    double acc = 0;
                    for (int a = 0; a < s[0]; ++a)
                        for (int b = 0; b < s[1]; ++b)
                            for (int e = 0; e < s[2]; ++e) acc += in(c, d * s[0] + a, h * s[1] + b, w * s[2] + e);
                    out(c, d, h, w) = static_cast<float>(acc * inv);
                }
    return out;
}

}  // namespace reference
}  // namespace nn
}  // namespace ctspine
