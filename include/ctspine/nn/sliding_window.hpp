// ctspine — nnU-Net v2 sliding-window prediction (tile steps, Gaussian importance map, centred padding, test-time
// mirroring, fp16 accumulation), independent of the network engine: the network is any callable
// `void(const nn::tensor& in, nn::tensor& out)` mapping one (C_in, P0, P1, P2) tile to (C_out, P0, P1, P2) logits.
//
// Axis convention: tensors are (C, D, H, W) with W fastest; nnU-Net's array axes (0, 1, 2) after the plans'
// transpose are (D, H, W) here, so a mirror axis a ∈ {0,1,2} (checkpoint `inference_allowed_mirroring_axes`)
// flips tensor dimension a+1 — the same numbering nnU-Net uses for (2,3,4) on (B, C, ...) tensors.
//
// Faithful to nnunetv2/inference/sliding_window_prediction.py (compute_gaussian, compute_steps_for_sliding_window)
// and predict_from_raw_data.py (_internal_maybe_mirror_and_predict, _internal_predict_sliding_window_return_logits,
// predict_logits_from_preprocessed_data), as described in docs/nnunet-numerics.md §4.3 and §7.3.
// Checked bit-for-bit (fp16 bits) against tests/reference/nnunet_predict_reference.py (torch/scipy).
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ctspine/core/numpy_sum.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/half.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {
namespace nn {

using shape3i = std::array<index_t, 3>;

/// The network as seen by the sliding window: fills `out` (already shaped (C_out, P0, P1, P2)) from `in`.
using predictor_fn = std::function<void(const tensor& in, tensor& out)>;

/// Tile start positions along one axis (compute_steps_for_sliding_window, sliding_window_prediction.py:30-54):
/// target = patch·step; n = ceil((size − patch)/target) + 1; actual = (size − patch)/(n − 1);
/// starts = int(np.round(actual·i)) (round half to even). Requires size ≥ patch (pad first) and 0 < step ≤ 1.
inline std::vector<index_t> compute_steps_for_sliding_window(index_t size, index_t patch, double step_size) {
    if (patch <= 0 || size < patch)
        throw error(errc::invalid_argument, ctspine::detail::cat("sliding window: image size ", size, " is smaller than the patch ", patch,
                                                        " (pad it first)"));
    if (!(step_size > 0.0 && step_size <= 1.0))
        throw error(errc::invalid_argument, ctspine::detail::cat("sliding window: step size must be in (0, 1], got ", step_size));
    const double target = static_cast<double>(patch) * step_size;
    const auto n = static_cast<index_t>(std::ceil(static_cast<double>(size - patch) / target)) + 1;
    std::vector<index_t> steps(static_cast<size_t>(n));
    const double actual = n > 1 ? static_cast<double>(size - patch) / static_cast<double>(n - 1) : 99999999999.0;
    for (index_t i = 0; i < n; ++i)
        steps[static_cast<size_t>(i)] = static_cast<index_t>(std::nearbyint(actual * static_cast<double>(i)));  // half-even
    return steps;
}

namespace detail {

/// scipy.ndimage._gaussian_kernel1d(sigma, 0, radius): exp(−0.5/σ²·x²) / Σ, x = −r..r, float64.
inline std::vector<double> gaussian_kernel1d(double sigma, index_t radius) {
    std::vector<double> phi(static_cast<size_t>(2 * radius + 1));
    const double k = -0.5 / (sigma * sigma);
    for (index_t x = -radius; x <= radius; ++x) phi[static_cast<size_t>(x + radius)] = std::exp(k * static_cast<double>(x * x));
    const double s = 0.0 + ctspine::detail::numpy_pairwise_sum(phi.data(), phi.size());
    for (double& v : phi) v = v / s;
    return phi;
}

}  // namespace detail

/// nnU-Net's Gaussian importance map (compute_gaussian, sliding_window_prediction.py:10-27) as fp16 bits, (P0,P1,P2)
/// with P2 fastest: gaussian_filter of a centred impulse (σ_a = P_a·sigma_scale, truncate 4 → radius int(4σ+0.5),
/// mode constant), which for an impulse is g = (φ0·φ1)·φ2 in float64 (the filter's other taps add exact zeros);
/// g /= max(g)/value_scaling; to fp16 (double → float → half); zeros → the smallest nonzero value.
inline std::vector<std::uint16_t> compute_gaussian(const shape3i& patch, double sigma_scale = 1.0 / 8.0,
                                                   double value_scaling_factor = 10.0) {
    for (index_t p : patch)
        if (p <= 0 || p > 4096) throw error(errc::invalid_argument, ctspine::detail::cat("sliding window: bad patch extent ", p));
    std::array<std::vector<double>, 3> phi;
    for (int a = 0; a < 3; ++a) {
        const double sd = static_cast<double>(patch[a]) * sigma_scale;
        const auto radius = static_cast<index_t>(4.0 * sd + 0.5);
        const std::vector<double> k = detail::gaussian_kernel1d(sd, radius);
        phi[a].resize(static_cast<size_t>(patch[a]));
        const index_t c = patch[a] / 2;
        for (index_t i = 0; i < patch[a]; ++i) phi[a][static_cast<size_t>(i)] = k[static_cast<size_t>(i - c + radius)];
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
    const double div = mx / value_scaling_factor;
    std::vector<std::uint16_t> out(n);
    std::uint16_t min_nz = 0x7c00;  // fp16 bits of positive values order like the values
    for (size_t i = 0; i < n; ++i) {
        out[i] = to_half_via_float(g[i] / div).bits;
        if (out[i] != 0 && out[i] < min_nz) min_nz = out[i];
    }
    for (auto& v : out)
        if (v == 0) v = min_nz;
    return out;
}

/// Centred padding to at least the patch (acvl_utils pad_nd_image, mode constant 0): axis a is padded only if
/// smaller than the patch, by below = diff/2, above = diff − diff/2.
struct padding3 {
    shape3i below{0, 0, 0};
    shape3i padded{0, 0, 0};
};
inline padding3 compute_padding(const shape3i& image, const shape3i& patch) {
    padding3 p;
    for (int a = 0; a < 3; ++a) {
        const index_t diff = std::max<index_t>(0, patch[a] - image[a]);
        p.below[a] = diff / 2;
        p.padded[a] = image[a] + diff;
    }
    return p;
}

/// Which mirror combinations nnU-Net evaluates (itertools.combinations of the allowed axes, r = 1..k, in order).
inline std::vector<std::vector<int>> mirror_combinations(const std::vector<int>& axes) {
    std::vector<std::vector<int>> out;
    const int k = static_cast<int>(axes.size());
    for (int r = 1; r <= k; ++r) {
        std::vector<int> idx(static_cast<size_t>(r));
        for (int i = 0; i < r; ++i) idx[static_cast<size_t>(i)] = i;
        while (true) {
            std::vector<int> c;
            for (int i : idx) c.push_back(axes[static_cast<size_t>(i)]);
            out.push_back(c);
            int i = r - 1;
            while (i >= 0 && idx[static_cast<size_t>(i)] == k - r + i) --i;
            if (i < 0) break;
            ++idx[static_cast<size_t>(i)];
            for (int j = i + 1; j < r; ++j) idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
        }
    }
    return out;
}

/// Reverse the spatial axes `axes` (nnU-Net numbering 0..2 = D, H, W) of t into out (same shape).
inline void flip_tensor(const tensor& t, const std::vector<int>& axes, tensor& out) {
    const shape4& s = t.shape();
    if (out.shape() != s) out = tensor(s);
    bool f[3] = {false, false, false};
    for (int a : axes) {
        if (a < 0 || a > 2) throw error(errc::invalid_argument, ctspine::detail::cat("sliding window: mirror axis ", a, " not in 0..2"));
        f[a] = true;
    }
    for (index_t c = 0; c < s[0]; ++c)
        for (index_t d = 0; d < s[1]; ++d)
            for (index_t h = 0; h < s[2]; ++h) {
                const index_t sd = f[0] ? s[1] - 1 - d : d, sh = f[1] ? s[2] - 1 - h : h;
                const float* src = t.data() + ((c * s[1] + sd) * s[2] + sh) * s[3];
                float* dst = &out(c, d, h, 0);
                if (f[2])
                    for (index_t w = 0; w < s[3]; ++w) dst[w] = src[s[3] - 1 - w];
                else
                    std::copy(src, src + s[3], dst);
            }
}

/// Options of predict_sliding_window (nnUNetPredictor defaults).
struct sliding_window_options {
    double step_size = 0.5;          ///< tile_step_size
    std::vector<int> mirror_axes;    ///< empty = no test-time mirroring; nnU-Net default (0, 1, 2)
    bool fp16_accumulation = true;   ///< nnU-Net's torch.half accumulators; false = float32 accumulators
    int threads = 0;                 ///< for the accumulation (the network gets its own threads)
    progress_fn progress;            ///< called after every tile; return false to cancel
};

/// nnU-Net's _internal_maybe_mirror_and_predict on one tile: p = net(x); p += flip(net(flip(x, m)), m) for each
/// mirror combination m; p /= (1 + #combinations) (float32).
inline void predict_tile_with_mirroring(const tensor& tile, index_t num_classes, const predictor_fn& net,
                                        const std::vector<int>& mirror_axes, tensor& out) {
    const shape4 os{num_classes, tile.shape()[1], tile.shape()[2], tile.shape()[3]};
    if (out.shape() != os) out = tensor(os);
    net(tile, out);
    if (out.shape() != os) throw error(errc::shape_mismatch, "sliding window: the network changed the output shape");
    if (mirror_axes.empty()) return;
    const auto combos = mirror_combinations(mirror_axes);
    tensor flipped_in, pred(os), back(os);
    for (const auto& m : combos) {
        flip_tensor(tile, m, flipped_in);
        net(flipped_in, pred);
        if (pred.shape() != os) throw error(errc::shape_mismatch, "sliding window: the network changed the output shape");
        flip_tensor(pred, m, back);
        float* o = out.data();
        const float* b = back.data();
        for (index_t i = 0; i < out.size(); ++i) o[i] += b[i];
    }
    const float div = static_cast<float>(combos.size() + 1);
    float* o = out.data();
    for (index_t i = 0; i < out.size(); ++i) o[i] /= div;
}

namespace detail {

/// Accumulators of one sliding-window pass (padded grid), before the division.
struct sw_accumulators {
    padding3 pad;
    index_t vox = 0;                       ///< voxels of the padded grid
    std::vector<std::uint16_t> acc16, n16;  ///< fp16 bits (fp16_accumulation)
    std::vector<float> acc32, n32;          ///< float32 otherwise
};

/// The tile loop of predict_sliding_window: fills `a` (padded grid). No padded copy of the input is made when the
/// image already covers the patch on every axis (tiles are then read straight from `input`).
inline void sliding_window_accumulate(const tensor& input, const shape3i& patch, index_t num_classes, const predictor_fn& net,
                                      const sliding_window_options& opt, sw_accumulators& a) {
    if (!net) throw error(errc::invalid_argument, "sliding window: no network given");
    if (num_classes <= 0) throw error(errc::invalid_argument, ctspine::detail::cat("sliding window: bad number of classes ", num_classes));
    const shape4& is = input.shape();
    const shape3i image{is[1], is[2], is[3]};
    for (index_t e : image)
        if (e <= 0) throw error(errc::invalid_argument, "sliding window: empty input");
    a.pad = compute_padding(image, patch);
    const shape3i& P = a.pad.padded;
    std::array<std::vector<index_t>, 3> steps;
    for (int ax = 0; ax < 3; ++ax) steps[ax] = compute_steps_for_sliding_window(P[ax], patch[ax], opt.step_size);
    const std::vector<std::uint16_t> g16 = compute_gaussian(patch);
    std::vector<float> g(g16.size());
    half_to_float_n(g16.data(), g.data(), g16.size());

    // padded input (zeros outside the image), only when some axis is smaller than the patch
    const bool needs_pad = P != image;
    tensor padded;
    if (needs_pad) {
        padded = tensor({is[0], P[0], P[1], P[2]}, 0.0f);
        for (index_t c = 0; c < is[0]; ++c)
            for (index_t d = 0; d < is[1]; ++d)
                for (index_t h = 0; h < is[2]; ++h)
                    std::copy(input.data() + ((c * is[1] + d) * is[2] + h) * is[3],
                              input.data() + ((c * is[1] + d) * is[2] + h) * is[3] + is[3],
                              &padded(c, d + a.pad.below[0], h + a.pad.below[1], a.pad.below[2]));
    }
    const tensor& src = needs_pad ? padded : input;

    const index_t vox = P[0] * P[1] * P[2];
    a.vox = vox;
    const bool h16 = opt.fp16_accumulation;
    a.acc16.assign(h16 ? static_cast<size_t>(num_classes * vox) : 0, 0);
    a.n16.assign(h16 ? static_cast<size_t>(vox) : 0, 0);
    a.acc32.assign(h16 ? 0 : static_cast<size_t>(num_classes * vox), 0.0f);
    a.n32.assign(h16 ? 0 : static_cast<size_t>(vox), 0.0f);

    const size_t n_tiles = steps[0].size() * steps[1].size() * steps[2].size();
    size_t done = 0;
    tensor tile({is[0], patch[0], patch[1], patch[2]}), pred;
    std::vector<float> weighted(static_cast<size_t>(num_classes * patch[0] * patch[1] * patch[2]));
    const index_t tile_vox = patch[0] * patch[1] * patch[2];
    ctspine::detail::report(opt.progress, 0.0, "sliding window");
    for (index_t s0 : steps[0])
        for (index_t s1 : steps[1])
            for (index_t s2 : steps[2]) {
                for (index_t c = 0; c < is[0]; ++c)
                    for (index_t d = 0; d < patch[0]; ++d)
                        for (index_t h = 0; h < patch[1]; ++h) {
                            const float* row = src.data() + ((c * P[0] + s0 + d) * P[1] + s1 + h) * P[2] + s2;
                            std::copy(row, row + patch[2], &tile(c, d, h, 0));
                        }
                predict_tile_with_mirroring(tile, num_classes, net, opt.mirror_axes, pred);
                // pred *= gaussian (float32), stored first so no multiply-add contraction can merge it with the sum
                parallel_for(opt.threads, num_classes, [&](std::ptrdiff_t c0, std::ptrdiff_t c1, int) {
                    for (std::ptrdiff_t c = c0; c < c1; ++c) {
                        const float* p = pred.channel(c);
                        float* w = weighted.data() + c * tile_vox;
                        for (index_t i = 0; i < tile_vox; ++i) w[i] = p[i] * g[static_cast<size_t>(i)];
                    }
                });
                // accumulate rows: element-wise, so any split over threads gives the same bits
                const index_t rows = (num_classes + 1) * patch[0] * patch[1];
                parallel_for(opt.threads, rows, [&](std::ptrdiff_t r0, std::ptrdiff_t r1, int) {
                    for (std::ptrdiff_t r = r0; r < r1; ++r) {
                        const index_t c = r / (patch[0] * patch[1]);
                        const index_t dh = r % (patch[0] * patch[1]);
                        const index_t d = dh / patch[1], h = dh % patch[1];
                        const index_t dst = ((s0 + d) * P[1] + (s1 + h)) * P[2] + s2;
                        const index_t srci = (d * patch[1] + h) * patch[2];
                        const auto len = static_cast<size_t>(patch[2]);
                        if (c < num_classes) {
                            const float* w = weighted.data() + c * tile_vox + srci;
                            if (h16)
                                accumulate_half_n(a.acc16.data() + c * vox + dst, w, len);
                            else
                                for (size_t i = 0; i < len; ++i) a.acc32[static_cast<size_t>(c * vox + dst) + i] += w[i];
                        } else {
                            const float* w = g.data() + srci;
                            if (h16)
                                accumulate_half_n(a.n16.data() + dst, w, len);
                            else
                                for (size_t i = 0; i < len; ++i) a.n32[static_cast<size_t>(dst) + i] += w[i];
                        }
                    }
                }, 4);
                ++done;
                ctspine::detail::report(opt.progress, static_cast<double>(done) / static_cast<double>(n_tiles), "sliding window");
            }
}

}  // namespace detail

/// Sliding-window logits of one preprocessed case `input` (C_in, D, H, W) in nnU-Net's (transposed) axis order.
/// Returns (num_classes, D, H, W) float32 tensor; with fp16_accumulation the values are exactly nnU-Net's fp16
/// logits (every value representable in fp16). Steps: centred zero padding to the patch, tiles in nnU-Net's order
/// (axis 0 outermost), per tile `pred = mirror_predict(tile) · g` (float32), `acc = fp16(float(acc) + pred)`,
/// `n = fp16(float(n) + float(g))`; finally `fp16(float(acc)/float(n))`, padding cropped back.
inline tensor predict_sliding_window(const tensor& input, const shape3i& patch, index_t num_classes,
                                     const predictor_fn& net, const sliding_window_options& opt = {}) {
    detail::sw_accumulators a;
    detail::sliding_window_accumulate(input, patch, num_classes, net, opt, a);
    const shape4& is = input.shape();
    const shape3i& P = a.pad.padded;
    const index_t vox = a.vox;
    const bool h16 = opt.fp16_accumulation;
    // divide and crop the padding back
    tensor out({num_classes, is[1], is[2], is[3]});
    parallel_for(opt.threads, num_classes * is[1], [&](std::ptrdiff_t r0, std::ptrdiff_t r1, int) {
        for (std::ptrdiff_t r = r0; r < r1; ++r) {
            const index_t c = r / is[1], d = r % is[1];
            for (index_t h = 0; h < is[2]; ++h) {
                const index_t base = ((d + a.pad.below[0]) * P[1] + (h + a.pad.below[1])) * P[2] + a.pad.below[2];
                float* o = &out(c, d, h, 0);
                for (index_t w = 0; w < is[3]; ++w) {
                    const auto i = static_cast<size_t>(base + w);
                    if (h16) {
                        const float q = half_bits_to_float(a.acc16[static_cast<size_t>(c * vox) + i]) / half_bits_to_float(a.n16[i]);
                        o[w] = half_bits_to_float(float_to_half_bits(q));
                    } else {
                        o[w] = a.acc32[static_cast<size_t>(c * vox) + i] / a.n32[i];
                    }
                }
            }
        }
    });
    if (h16)
        for (index_t i = 0; i < out.size(); ++i)
            if (std::isinf(out.data()[i]))
                throw error(errc::internal, "sliding window: fp16 logits overflowed (inf), as nnU-Net would raise");
    return out;
}

/// As predict_sliding_window with fp16 accumulation (opt.fp16_accumulation must be true), returning the logits as
/// fp16 bits (num_classes, D, H, W) — nnU-Net keeps them as torch.half — at half the memory of the float tensor.
/// The division happens in place in the accumulator, which is returned as is when no padding was needed.
inline std::vector<std::uint16_t> predict_sliding_window_half(const tensor& input, const shape3i& patch, index_t num_classes,
                                                              const predictor_fn& net, const sliding_window_options& opt = {}) {
    if (!opt.fp16_accumulation)
        throw error(errc::invalid_argument, "sliding window: predict_sliding_window_half needs fp16_accumulation");
    detail::sw_accumulators a;
    detail::sliding_window_accumulate(input, patch, num_classes, net, opt, a);
    const shape4& is = input.shape();
    const shape3i& P = a.pad.padded;
    const index_t vox = a.vox;
    const bool in_place = P == shape3i{is[1], is[2], is[3]};
    std::vector<std::uint16_t> out;
    if (!in_place) out.resize(static_cast<size_t>(num_classes * is[1] * is[2] * is[3]));
    std::uint16_t* o = in_place ? a.acc16.data() : out.data();
    std::atomic<bool> overflow{false};
    parallel_for(opt.threads, num_classes * is[1], [&](std::ptrdiff_t r0, std::ptrdiff_t r1, int) {
        bool of = false;
        for (std::ptrdiff_t r = r0; r < r1; ++r) {
            const index_t c = r / is[1], d = r % is[1];
            for (index_t h = 0; h < is[2]; ++h) {
                const index_t base = ((d + a.pad.below[0]) * P[1] + (h + a.pad.below[1])) * P[2] + a.pad.below[2];
                std::uint16_t* orow = o + ((c * is[1] + d) * is[2] + h) * is[3];
                for (index_t w = 0; w < is[3]; ++w) {
                    const auto i = static_cast<size_t>(base + w);
                    const float q = half_bits_to_float(a.acc16[static_cast<size_t>(c * vox) + i]) / half_bits_to_float(a.n16[i]);
                    const std::uint16_t b = float_to_half_bits(q);
                    of |= (b & 0x7fff) == 0x7c00;
                    orow[w] = b;
                }
            }
        }
        if (of) overflow.store(true);
    });
    if (overflow) throw error(errc::internal, "sliding window: fp16 logits overflowed (inf), as nnU-Net would raise");
    return in_place ? std::move(a.acc16) : out;
}

/// Fold ensembling as predict_logits_from_preprocessed_data: sum = first; sum += next (fp16 when fp16); sum /= n.
inline void accumulate_fold(tensor& sum, const tensor& next, bool fp16) {
    if (sum.shape() != next.shape()) throw error(errc::shape_mismatch, "sliding window: fold logits differ in shape");
    float* s = sum.data();
    const float* n = next.data();
    for (index_t i = 0; i < sum.size(); ++i)
        s[i] = fp16 ? half_bits_to_float(float_to_half_bits(s[i] + n[i])) : s[i] + n[i];
}
inline void finish_folds(tensor& sum, index_t n_folds, bool fp16) {
    if (n_folds <= 1) return;
    float* s = sum.data();
    const auto d = static_cast<float>(n_folds);
    for (index_t i = 0; i < sum.size(); ++i)
        s[i] = fp16 ? half_bits_to_float(float_to_half_bits(s[i] / d)) : s[i] / d;
}

/// accumulate_fold / finish_folds on fp16 bits (nnU-Net's torch.half fold sum: fp16(float(a) + float(b)), then
/// fp16(float(sum) / n)).
inline void accumulate_fold_half(std::vector<std::uint16_t>& sum, const std::vector<std::uint16_t>& next) {
    if (sum.size() != next.size()) throw error(errc::shape_mismatch, "sliding window: fold logits differ in shape");
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = float_to_half_bits(half_bits_to_float(sum[i]) + half_bits_to_float(next[i]));
}
inline void finish_folds_half(std::vector<std::uint16_t>& sum, index_t n_folds) {
    if (n_folds <= 1) return;
    const auto d = static_cast<float>(n_folds);
    for (auto& v : sum) v = float_to_half_bits(half_bits_to_float(v) / d);
}

}  // namespace nn
}  // namespace ctspine
