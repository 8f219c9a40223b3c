// ctspine — the engine's fast kernels on a channel-blocked, zero-haloed activation layout.
//
// Layout ("blocked"): channels in blocks of 16 (one AVX-512 register of float32), each block stored as
// [D + 2][H + 2][W + 2][16] with a one-voxel zero halo, so 3×3×3 convolutions with padding 1 (stride 1 or 2) need no
// boundary tests. Channel counts that are not multiples of 16 are zero-padded (weights too), so padded channels stay 0.
// Weights are packed at load time as [ob][ib][kd][kh][kw][ic 16][oc 16].
//
// Direct convolution: a micro-kernel keeps OB × TW output vectors (OB output-channel blocks × TW consecutive output
// positions along W) in registers and, for every input channel, broadcasts one input value and multiplies it with the
// OB weight vectors (the register-blocking scheme of oneDNN's direct convolutions; written from the idea, not the code).
// Work is split over (output block pair, output depth) so every output value is computed by one thread in a fixed
// order: results do not depend on the thread count. Scalar twins are in kernels/reference/nn_reference.hpp.
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

namespace ctspine {
namespace nn {

inline constexpr index_t block = 16;
inline index_t blocks_of(index_t c) { return (c + block - 1) / block; }

/// Blocked, haloed activation tensor.
class blocked_tensor {
public:
    blocked_tensor() = default;
    blocked_tensor(index_t c, index_t d, index_t h, index_t w) { reset(c, d, h, w); }
    /// (Re)shape; contents become zero (halo included).
    void reset(index_t c, index_t d, index_t h, index_t w) {
        C_ = c;
        D_ = d;
        H_ = h;
        W_ = w;
        const index_t n = ctspine::detail::checked_mul(ctspine::detail::checked_mul(blocks_of(c), (d + 2) * (h + 2)), (w + 2) * block, max_voxels * 16);
        if (n > capacity_) {
            buf_ = ctspine::detail::allocate_uninit<float>(n);
            capacity_ = n;
        }
        std::memset(buf_.get(), 0, sizeof(float) * static_cast<size_t>(n));
    }
    index_t channels() const { return C_; }
    index_t cblocks() const { return blocks_of(C_); }
    index_t D() const { return D_; }
    index_t H() const { return H_; }
    index_t W() const { return W_; }
    index_t block_stride() const { return (D_ + 2) * (H_ + 2) * (W_ + 2) * block; }
    index_t row_stride() const { return (W_ + 2) * block; }
    index_t plane_stride() const { return (H_ + 2) * (W_ + 2) * block; }
    /// Pointer to channel block cb at padded coordinates (d, h, w) — (0,0,0) is the halo corner; interior starts at 1.
    float* at(index_t cb, index_t d, index_t h, index_t w) { return buf_.get() + cb * block_stride() + d * plane_stride() + h * row_stride() + w * block; }
    const float* at(index_t cb, index_t d, index_t h, index_t w) const {
        return buf_.get() + cb * block_stride() + d * plane_stride() + h * row_stride() + w * block;
    }
    std::size_t bytes() const { return sizeof(float) * static_cast<size_t>(capacity_); }

    /// From / to the plain (C, D, H, W) layout.
    void from_tensor(const tensor& t) {
        reset(t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]);
        for (index_t c = 0; c < C_; ++c)
            for (index_t d = 0; d < D_; ++d)
                for (index_t h = 0; h < H_; ++h) {
                    float* o = at(c / block, d + 1, h + 1, 1) + c % block;
                    for (index_t w = 0; w < W_; ++w) o[w * block] = t(c, d, h, w);
                }
    }
    void to_tensor(tensor& t) const {
        if (t.shape() != shape4{C_, D_, H_, W_}) t = tensor({C_, D_, H_, W_});
        for (index_t c = 0; c < C_; ++c)
            for (index_t d = 0; d < D_; ++d)
                for (index_t h = 0; h < H_; ++h) {
                    const float* s = at(c / block, d + 1, h + 1, 1) + c % block;
                    for (index_t w = 0; w < W_; ++w) t(c, d, h, w) = s[w * block];
                }
    }

private:
    index_t C_ = 0, D_ = 0, H_ = 0, W_ = 0, capacity_ = 0;
    std::unique_ptr<float[], ctspine::detail::aligned_deleter<float>> buf_{};
};

/// A convolution's packed weights and shape.
struct conv_weights {
    index_t ci = 0, co = 0;
    std::array<int, 3> k{3, 3, 3}, s{1, 1, 1};
    std::vector<float> packed;  // [ob][ib][kd][kh][kw][16][16], 64-byte multiples
    std::vector<float> bias;    // co padded to blocks (zeros)

    /// From PyTorch layout weight [co][ci][kd][kh][kw] and optional bias. `split` > 0 says the input is a
    /// concatenation whose second part (channels ≥ split) starts at the next channel block (see copy_blocks), so
    /// logical channel c ≥ split sits in slot blocks_of(split)·16 + (c − split).
    static conv_weights pack(const float* w, const float* b, index_t ci, index_t co, std::array<int, 3> k, std::array<int, 3> s, index_t split = 0) {
        conv_weights cw;
        cw.ci = split > 0 ? blocks_of(split) * block + (ci - split) : ci;  // input slots of the blocked tensor
        cw.co = co;
        cw.k = k;
        cw.s = s;
        const index_t IB = blocks_of(cw.ci), OB = blocks_of(co), taps = k[0] * k[1] * k[2];
        cw.packed.assign(static_cast<size_t>(OB * IB * taps * block * block), 0.f);
        for (index_t o = 0; o < co; ++o)
            for (index_t c = 0; c < ci; ++c) {
                const index_t slot = (split > 0 && c >= split) ? blocks_of(split) * block + (c - split) : c;
                for (index_t t = 0; t < taps; ++t)
                    cw.packed[static_cast<size_t>((((o / block) * IB + slot / block) * taps + t) * block * block + (slot % block) * block + o % block)] =
                        w[(o * ci + c) * taps + t];
            }
        cw.bias.assign(static_cast<size_t>(OB * block), 0.f);
        if (b)
            for (index_t o = 0; o < co; ++o) cw.bias[static_cast<size_t>(o)] = b[o];
        return cw;
    }
};

namespace detail {

/// Micro-kernel: OB output blocks × TW outputs along W at output row (od, oh), starting at ow0.
template <int OB, int TW, class Arch>
inline void conv_micro(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od, index_t oh, index_t ow0) {
    using B = xsimd::batch<float, Arch>;
    constexpr int V = static_cast<int>(B::size);
    constexpr int NV = 16 / V;  // vectors per channel block
    B acc[OB][NV][TW];
    for (int o = 0; o < OB; ++o)
        for (int v = 0; v < NV; ++v) {
            B b = B::load_unaligned(cw.bias.data() + (ob0 + o) * block + v * V);
            for (int t = 0; t < TW; ++t) acc[o][v][t] = b;
        }
    const index_t IB = in.cblocks();
    const int KD = cw.k[0], KH = cw.k[1], KW = cw.k[2];
    const index_t taps = KD * KH * KW;
    const int pd = (KD - 1) / 2, ph = (KH - 1) / 2, pw = (KW - 1) / 2;
    const index_t sw = cw.s[2] * block;
    for (index_t ib = 0; ib < IB; ++ib) {
        const float* wbase = cw.packed.data() + ((ob0 * IB + ib) * taps) * block * block;
        const index_t wob = IB * taps * block * block;  // stride between output blocks in packed weights
        int tap = 0;
        for (int kd = 0; kd < KD; ++kd)
            for (int kh = 0; kh < KH; ++kh) {
                const float* row = in.at(ib, od * cw.s[0] + kd - pd + 1, oh * cw.s[1] + kh - ph + 1, ow0 * cw.s[2] + 1 - pw);
                for (int kw = 0; kw < KW; ++kw, ++tap) {
                    const float* px = row + kw * block;
                    const float* wt = wbase + tap * block * block;
                    for (int ic = 0; ic < 16; ++ic) {
                        B w[OB][NV];
                        for (int o = 0; o < OB; ++o)
                            for (int v = 0; v < NV; ++v) w[o][v] = B::load_unaligned(wt + o * wob + ic * block + v * V);
                        for (int t = 0; t < TW; ++t) {
                            const B x(px[t * sw + ic]);
                            for (int o = 0; o < OB; ++o)
                                for (int v = 0; v < NV; ++v) acc[o][v][t] = xsimd::fma(x, w[o][v], acc[o][v][t]);
                        }
                    }
                }
            }
    }
    for (int o = 0; o < OB; ++o)
        for (int t = 0; t < TW; ++t) {
            float* dst = out.at(ob0 + o, od + 1, oh + 1, ow0 + t + 1);
            for (int v = 0; v < NV; ++v) acc[o][v][t].store_aligned(dst + v * V);
        }
}

template <int OB, int TW, class Arch>
inline void conv_row(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od, index_t oh) {
    const index_t OW = out.W();
    index_t ow = 0;
    for (; ow + TW <= OW; ow += TW) conv_micro<OB, TW, Arch>(in, out, cw, ob0, od, oh, ow);
    // remainder, one width at a time from the largest that fits (template dispatch)
    while (ow < OW) {
        const index_t r = OW - ow;
        if (r >= 8) { conv_micro<OB, 8, Arch>(in, out, cw, ob0, od, oh, ow); ow += 8; }
        else if (r >= 4) { conv_micro<OB, 4, Arch>(in, out, cw, ob0, od, oh, ow); ow += 4; }
        else if (r >= 2) { conv_micro<OB, 2, Arch>(in, out, cw, ob0, od, oh, ow); ow += 2; }
        else { conv_micro<OB, 1, Arch>(in, out, cw, ob0, od, oh, ow); ow += 1; }
    }
}

}  // namespace detail

/// Blocked direct convolution. `out` must already have the output shape (its halo stays zero).
template <class Arch = simd::default_arch>
void conv3d(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, int threads) {
    if (in.channels() != cw.ci || out.channels() != cw.co) throw error(errc::shape_mismatch, "conv3d: channel counts differ from the weights");
    const index_t OB = out.cblocks(), OD = out.D(), OH = out.H();
    const index_t pairs = (OB + 1) / 2;
    constexpr int TW = xsimd::batch<float, Arch>::size == 16 ? 12 : 3;
    parallel_for(threads, pairs * OD, [&](index_t b, index_t e, int) {
        for (index_t task = b; task < e; ++task) {
            const index_t pr = task / OD, od = task % OD;
            const index_t ob0 = 2 * pr;
            for (index_t oh = 0; oh < OH; ++oh) {
                if (ob0 + 1 < OB) detail::conv_row<2, TW, Arch>(in, out, cw, ob0, od, oh);
                else detail::conv_row<1, TW * 2, Arch>(in, out, cw, ob0, od, oh);
            }
        }
    });
}

/// Transposed convolution with kernel = stride, PyTorch weight [ci][co][sd][sh][sw] packed as [ob][tap][ci][16].
struct transpose_weights {
    index_t ci = 0, co = 0;
    std::array<int, 3> s{2, 2, 2};
    std::vector<float> packed;  // [ob][tap][ci][16]
    std::vector<float> bias;
    static transpose_weights pack(const float* w, const float* b, index_t ci, index_t co, std::array<int, 3> s) {
        transpose_weights tw;
        tw.ci = ci;
        tw.co = co;
        tw.s = s;
        const index_t taps = s[0] * s[1] * s[2], OB = blocks_of(co);
        tw.packed.assign(static_cast<size_t>(OB * taps * ci * block), 0.f);
        for (index_t c = 0; c < ci; ++c)
            for (index_t o = 0; o < co; ++o)
                for (index_t t = 0; t < taps; ++t)
                    tw.packed[static_cast<size_t>((((o / block) * taps + t) * ci + c) * block + o % block)] = w[(c * co + o) * taps + t];
        tw.bias.assign(static_cast<size_t>(OB * block), 0.f);
        if (b)
            for (index_t o = 0; o < co; ++o) tw.bias[static_cast<size_t>(o)] = b[o];
        return tw;
    }
};

/// out[o, i·s + a] = b[o] + Σ_c in[c, i]·W[c, o, a], writing output channel blocks [ob_offset, ...) of `out` (so the
/// decoder can write the upsampled half of a concatenation in place).
template <class Arch = simd::default_arch>
void conv_transpose3d(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset, int threads) {
    using B = xsimd::batch<float, Arch>;
    constexpr int V = static_cast<int>(B::size);
    constexpr int NV = 16 / V;
    const index_t OB = blocks_of(tw.co), taps = tw.s[0] * tw.s[1] * tw.s[2];
    const index_t D = in.D(), H = in.H(), W = in.W(), ci = tw.ci;
    parallel_for(threads, OB * D, [&](index_t b, index_t e, int) {
        std::vector<float> xin(static_cast<size_t>(ci));
        for (index_t task = b; task < e; ++task) {
            const index_t ob = task / D, d = task % D;
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    for (index_t c = 0; c < ci; ++c) xin[static_cast<size_t>(c)] = in.at(c / block, d + 1, h + 1, w + 1)[c % block];
                    for (index_t t = 0; t < taps; ++t) {
                        const int a = static_cast<int>(t / (tw.s[1] * tw.s[2])), bb = static_cast<int>((t / tw.s[2]) % tw.s[1]),
                                  cc = static_cast<int>(t % tw.s[2]);
                        const float* wt = tw.packed.data() + ((ob * taps + t) * ci) * block;
                        B acc[NV];
                        for (int v = 0; v < NV; ++v) acc[v] = B::load_unaligned(tw.bias.data() + ob * block + v * V);
                        for (index_t c = 0; c < ci; ++c) {
                            const B x(xin[static_cast<size_t>(c)]);
                            for (int v = 0; v < NV; ++v) acc[v] = xsimd::fma(x, B::load_unaligned(wt + c * block + v * V), acc[v]);
                        }
                        float* dst = out.at(ob_offset + ob, d * tw.s[0] + a + 1, h * tw.s[1] + bb + 1, w * tw.s[2] + cc + 1);
                        for (int v = 0; v < NV; ++v) acc[v].store_aligned(dst + v * V);
                    }
                }
        }
    });
}

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

/// AvgPool with kernel = stride (ResEnc's strided skip).
inline void avg_pool3d(const blocked_tensor& in, blocked_tensor& out, std::array<int, 3> s, int threads) {
    const index_t CB = in.cblocks(), D = out.D(), H = out.H(), W = out.W();
    const float inv = 1.0f / float(s[0] * s[1] * s[2]);
    parallel_for(threads, CB * D, [&](index_t b, index_t e, int) {
        for (index_t task = b; task < e; ++task) {
            const index_t cb = task / D, d = task % D;
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    float acc[16] = {0};
                    for (int a = 0; a < s[0]; ++a)
                        for (int bb = 0; bb < s[1]; ++bb)
                            for (int c = 0; c < s[2]; ++c) {
                                const float* p = in.at(cb, d * s[0] + a + 1, h * s[1] + bb + 1, w * s[2] + c + 1);
                                for (int l = 0; l < 16; ++l) acc[l] += p[l];
                            }
                    float* o = out.at(cb, d + 1, h + 1, w + 1);
                    for (int l = 0; l < 16; ++l) o[l] = acc[l] * inv;
                }
        }
    });
}

/// Copy channel blocks of `src` into `dst` starting at block `ob_offset` (the skip half of a concatenation).
inline void copy_blocks(const blocked_tensor& src, blocked_tensor& dst, index_t ob_offset, int threads) {
    const index_t n = src.block_stride();
    parallel_for(threads, src.cblocks(), [&](index_t b, index_t e, int) {
        for (index_t cb = b; cb < e; ++cb) std::memcpy(dst.at(ob_offset + cb, 0, 0, 0), src.at(cb, 0, 0, 0), sizeof(float) * static_cast<size_t>(n));
    });
}

}  // namespace nn
}  // namespace ctspine
