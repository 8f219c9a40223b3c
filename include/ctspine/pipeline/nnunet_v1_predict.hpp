// ctspine — nnU-Net v1's sliding-window prediction (what v1 aggregates differs from v2: softmax probabilities).
//
// nnunet-v1-spec.md §4 (nnU-Net v1.7.1 nnunet/network_architecture/neural_network.py: _get_gaussian :246-259,
// _compute_steps_for_sliding_window :262-285, _internal_predict_3D_3Dconv_tiled :287-427,
// _internal_maybe_mirror_and_pred_3D :501-566) and §4.6 (fold ensembling in inference/predict.py predict_cases):
//   - pad to the patch like v2 (centred, value 0), tile starts like v2, loop axis 0 outermost;
//   - Gaussian σ = p/8 normalised to max 1, float32, zeros → smallest nonzero; NOT used when there is one tile;
//   - per tile: result = Σ_m (1/num_results)·flip_m(softmax(net(flip_m(x)))) in the fixed order m = 0..7
//     (none, W, H, W+H, D, D+W, D+H, D+H+W; an m is skipped if one of its axes is not allowed), times the Gaussian;
//   - float32 accumulators for the sum and for the weights, division in float32 → probabilities.
// The network is any nn::predictor_fn producing logits; this file is the v1 counterpart of nn/sliding_window.hpp (v2)
// and reuses its steps, padding, flips and 1-D Gaussian kernel.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/nn/sliding_window.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {

/// v1's Gaussian importance map (P0, P1, P2), P2 fastest: the impulse response of gaussian_filter (σ_a = P_a/8,
/// float64, = φ0·φ1·φ2 for an impulse) divided by its maximum, rounded to float32, zeros → smallest nonzero.
inline std::vector<float> nnunet_v1_gaussian(const nn::shape3i& patch) {
    for (index_t p : patch)
        if (p <= 0 || p > 4096) throw error(errc::invalid_argument, detail::cat("v1 sliding window: bad patch extent ", p));
    std::array<std::vector<double>, 3> phi;
    for (int a = 0; a < 3; ++a) {
        const double sd = static_cast<double>(patch[static_cast<size_t>(a)]) / 8.0;  // p * (1/8): exact either way
        const auto radius = static_cast<index_t>(4.0 * sd + 0.5);
        const std::vector<double> k = nn::detail::gaussian_kernel1d(sd, radius);
        phi[static_cast<size_t>(a)].resize(static_cast<size_t>(patch[static_cast<size_t>(a)]));
        const index_t c = patch[static_cast<size_t>(a)] / 2;
        for (index_t i = 0; i < patch[static_cast<size_t>(a)]; ++i) {
            const index_t t = i - c + radius;
            phi[static_cast<size_t>(a)][static_cast<size_t>(i)] = (t >= 0 && t <= 2 * radius) ? k[static_cast<size_t>(t)] : 0.0;
        }
    }
    const size_t n = static_cast<size_t>(patch[0] * patch[1] * patch[2]);
    std::vector<double> g(n);
    double mx = 0.0;
    size_t q = 0;
    for (index_t i = 0; i < patch[0]; ++i)
        for (index_t j = 0; j < patch[1]; ++j) {
            const double a = phi[0][static_cast<size_t>(i)] * phi[1][static_cast<size_t>(j)];
            for (index_t k = 0; k < patch[2]; ++k, ++q) {
                g[q] = a * phi[2][static_cast<size_t>(k)];
                mx = std::max(mx, g[q]);
            }
        }
    std::vector<float> out(n);
    float min_nz = 0;
    for (size_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(g[i] / mx * 1.0);
        if (out[i] != 0 && (min_nz == 0 || out[i] < min_nz)) min_nz = out[i];
    }
    for (auto& v : out)
        if (v == 0) v = min_nz;
    return out;
}

struct nnunet_v1_sliding_window_options {
    double step_size = 0.5;
    std::vector<int> mirror_axes;   ///< empty = no TTA; nnU-Net v1 default (0, 1, 2)
    int threads = 0;                ///< for the accumulation
    progress_fn progress;           ///< after every tile; return false to cancel
};

namespace detail {

/// In-place float32 softmax over the channel axis (F.softmax(x, 1): subtract the max, exp, divide by the sum).
inline void softmax_channels(nn::tensor& t, int threads = 1) {
    const auto& s = t.shape();
    const index_t C = s[0], N = s[1] * s[2] * s[3];
    float* d = t.data();
    parallel_for(threads, N, [&](index_t v0, index_t v1, int) {
    for (index_t v = v0; v < v1; ++v) {
        float mx = d[v];
        for (index_t c = 1; c < C; ++c) mx = std::max(mx, d[c * N + v]);
        float sum = 0;
        for (index_t c = 0; c < C; ++c) {
            const float e = std::exp(d[c * N + v] - mx);
            d[c * N + v] = e;
            sum += e;
        }
        for (index_t c = 0; c < C; ++c) d[c * N + v] /= sum;
    }
    }, 1 << 14);
}

}  // namespace detail

/// _internal_maybe_mirror_and_pred_3D on one tile (without the Gaussian): the mean of the softmax over the mirror
/// set, accumulated in v1's fixed order.
inline void nnunet_v1_predict_tile(const nn::tensor& tile, index_t num_classes, const nn::predictor_fn& net,
                                   const std::vector<int>& mirror_axes, nn::tensor& result, int threads = 1) {
    const nn::shape4 os{num_classes, tile.shape()[1], tile.shape()[2], tile.shape()[3]};
    result = nn::tensor(os);
    std::fill(result.data(), result.data() + result.size(), 0.0f);
    bool allowed[3] = {false, false, false};
    for (int a : mirror_axes) {
        if (a < 0 || a > 2) throw error(errc::invalid_argument, detail::cat("v1 sliding window: mirror axis ", a, " not in 0..2"));
        allowed[a] = true;
    }
    const bool mirror = !mirror_axes.empty();
    const int n_mirror = mirror ? 8 : 1;
    const float scale = mirror ? 1.0f / static_cast<float>(1 << static_cast<int>(mirror_axes.size())) : 1.0f;
    // m → flipped axes (D = 0, H = 1, W = 2): bit 0 = W, bit 1 = H, bit 2 = D
    nn::tensor flipped_in, pred(os), back(os);
    for (int m = 0; m < n_mirror; ++m) {
        std::vector<int> axes;
        if (m & 1) axes.push_back(2);
        if (m & 2) axes.push_back(1);
        if (m & 4) axes.push_back(0);
        bool ok = true;
        for (int a : axes) ok = ok && allowed[a];
        if (!ok) continue;
        const nn::tensor* in = &tile;
        if (!axes.empty()) {
            nn::flip_tensor(tile, axes, flipped_in);
            in = &flipped_in;
        }
        if (pred.shape() != os) pred = nn::tensor(os);
        net(*in, pred);
        if (pred.shape() != os) throw error(errc::shape_mismatch, "v1 sliding window: the network changed the output shape");
        detail::softmax_channels(pred, threads);
        const nn::tensor* p = &pred;
        if (!axes.empty()) {
            nn::flip_tensor(pred, axes, back);
            p = &back;
        }
        float* r = result.data();
        const float* b = p->data();
        for (index_t i = 0; i < result.size(); ++i) r[i] += scale * b[i];
    }
}

/// v1's _internal_predict_3D_3Dconv_tiled: softmax probabilities (num_classes, D, H, W) of the (unpadded) input.
inline nn::tensor nnunet_v1_predict_sliding_window(const nn::tensor& input, const nn::shape3i& patch, index_t num_classes,
                                                   const nn::predictor_fn& net, const nnunet_v1_sliding_window_options& opt = {}) {
    if (!net) throw error(errc::invalid_argument, "v1 sliding window: no network given");
    const auto& is = input.shape();
    const nn::shape3i image{is[1], is[2], is[3]};
    const nn::padding3 pad = nn::compute_padding(image, patch);
    const nn::shape3i P = pad.padded;
    // padded copy (value 0)
    nn::tensor padded({is[0], P[0], P[1], P[2]});
    std::fill(padded.data(), padded.data() + padded.size(), 0.0f);
    for (index_t c = 0; c < is[0]; ++c)
        for (index_t d = 0; d < is[1]; ++d)
            for (index_t h = 0; h < is[2]; ++h)
            {
                const float* src = input.data() + ((c * is[1] + d) * is[2] + h) * is[3];
                std::copy(src, src + is[3], &padded(c, d + pad.below[0], h + pad.below[1], pad.below[2]));
            }
    std::array<std::vector<index_t>, 3> steps;
    std::size_t n_tiles = 1;
    for (int a = 0; a < 3; ++a) {
        steps[static_cast<size_t>(a)] = nn::compute_steps_for_sliding_window(P[static_cast<size_t>(a)], patch[static_cast<size_t>(a)], opt.step_size);
        n_tiles *= steps[static_cast<size_t>(a)].size();
    }
    const bool gauss = n_tiles > 1;
    const std::vector<float> g = gauss ? nnunet_v1_gaussian(patch) : std::vector<float>();
    const index_t V = P[0] * P[1] * P[2];
    std::vector<float> acc(static_cast<size_t>(num_classes * V), 0.0f), weight(static_cast<size_t>(V), 0.0f);
    nn::tensor tile({is[0], patch[0], patch[1], patch[2]}), result;
    std::size_t done = 0;
    for (index_t x : steps[0])
        for (index_t y : steps[1])
            for (index_t z : steps[2]) {
                for (index_t c = 0; c < is[0]; ++c)
                    for (index_t d = 0; d < patch[0]; ++d)
                        for (index_t h = 0; h < patch[1]; ++h)
                            std::copy(&padded(c, x + d, y + h, z), &padded(c, x + d, y + h, z) + patch[2], &tile(c, d, h, 0));
                nnunet_v1_predict_tile(tile, num_classes, net, opt.mirror_axes, result, opt.threads);
                const index_t pv = patch[0] * patch[1] * patch[2];
                if (gauss)
                    for (index_t c = 0; c < num_classes; ++c)
                        for (index_t i = 0; i < pv; ++i) result.data()[c * pv + i] *= g[static_cast<size_t>(i)];
                parallel_for(opt.threads, num_classes * patch[0], [&](std::ptrdiff_t r0, std::ptrdiff_t r1, int) {
                    for (std::ptrdiff_t r = r0; r < r1; ++r) {
                        const index_t c = r / patch[0], d = r % patch[0];
                        for (index_t h = 0; h < patch[1]; ++h) {
                            const float* src = &result(c, d, h, 0);
                            float* dst = acc.data() + c * V + ((x + d) * P[1] + (y + h)) * P[2] + z;
                            for (index_t w = 0; w < patch[2]; ++w) dst[w] += src[w];
                            if (c == 0) {
                                float* wd = weight.data() + ((x + d) * P[1] + (y + h)) * P[2] + z;
                                for (index_t w = 0; w < patch[2]; ++w) wd[w] += gauss ? g[static_cast<size_t>((d * patch[1] + h) * patch[2] + w)] : 1.0f;
                            }
                        }
                    }
                });
                ++done;
                detail::report(opt.progress, static_cast<double>(done) / static_cast<double>(n_tiles), "v1 sliding window");
            }
    nn::tensor out({num_classes, is[1], is[2], is[3]});
    parallel_for(opt.threads, num_classes * is[1], [&](std::ptrdiff_t r0, std::ptrdiff_t r1, int) {
        for (std::ptrdiff_t r = r0; r < r1; ++r) {
            const index_t c = r / is[1], d = r % is[1];
            for (index_t h = 0; h < is[2]; ++h) {
                const index_t off = ((d + pad.below[0]) * P[1] + (h + pad.below[1])) * P[2] + pad.below[2];
                float* o = &out(c, d, h, 0);
                for (index_t w = 0; w < is[3]; ++w) o[w] = acc[static_cast<size_t>(c * V + off + w)] / weight[static_cast<size_t>(off + w)];
            }
        }
    });
    return out;
}

/// predict_cases' fold ensemble: softmax = p_0; softmax += p_k (float32, in fold order); softmax /= n if n > 1.
inline void nnunet_v1_accumulate_fold(nn::tensor& sum, const nn::tensor& next) {
    if (sum.shape() != next.shape()) throw error(errc::shape_mismatch, "v1 folds: probability maps differ in shape");
    for (index_t i = 0; i < sum.size(); ++i) sum.data()[i] += next.data()[i];
}
inline void nnunet_v1_finish_folds(nn::tensor& sum, index_t n_folds) {
    if (n_folds <= 1) return;
    const float n = static_cast<float>(n_folds);
    for (index_t i = 0; i < sum.size(); ++i) sum.data()[i] /= n;
}

}  // namespace ctspine
