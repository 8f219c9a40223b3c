// ctspine — the U-Net engine's channel-blocked, zero-haloed activation layout (used by conv3d.hpp,
// conv_transpose3d.hpp, instance_norm.hpp), plus the layout-only operations average pooling and block copy.
//
// Layout ("blocked"): channels in blocks of 16 (one AVX-512 register of float32), each block stored as
// [D + 2][H + 2][W + 2][16] with a one-voxel zero halo, so 3×3×3 convolutions with padding 1 (stride 1 or 2) need no
// boundary tests. Channel counts that are not multiples of 16 are zero-padded (weights too), so padded channels stay 0.
// Weights are packed at load time as [ob][ib][kd][kh][kw][ic 16][oc 16].
//
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "ctspine/core/cpu.hpp"
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
        if (n > 0) std::memset(buf_.get(), 0, sizeof(float) * static_cast<size_t>(n));  // an empty tensor has no buffer
    }
    /// Floats between consecutive positions along W (the convolution kernels read both layouts through this).
    static constexpr index_t position_stride = block;
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

/// A single-channel activation stored densely, [D + 2][H + 2][W + 2] floats with a one-voxel zero halo: the input of
/// a first convolution with one input channel (a CT patch). In the blocked layout that channel would take 16 times the
/// memory and bandwidth — one useful float per 64-byte block — and its three input planes per output plane would no
/// longer fit in L2 at nnU-Net's patch sizes. Same accessors as blocked_tensor, so the x86 convolution kernels take
/// either as their input; only channel block 0 exists.
class dense_channel {
public:
    static constexpr index_t position_stride = 1;
    /// (Re)shape to d × h × w and copy channel 0 of `t` (C, D, H, W) into the interior; the halo is zero.
    void assign(const tensor& t) {
        D_ = t.shape()[1];
        H_ = t.shape()[2];
        W_ = t.shape()[3];
        const index_t n = ctspine::detail::checked_mul((D_ + 2) * (H_ + 2), W_ + 2, max_voxels);
        if (n > capacity_) {
            buf_ = ctspine::detail::allocate_uninit<float>(n);
            capacity_ = n;
        }
        std::memset(buf_.get(), 0, sizeof(float) * static_cast<size_t>(n));  // the halo (1/16 of the blocked input's bytes)
        for (index_t d = 0; d < D_; ++d)
            for (index_t h = 0; h < H_; ++h) {
                float* r = buf_.get() + (d + 1) * plane_stride() + (h + 1) * row_stride() + 1;
                for (index_t w = 0; w < W_; ++w) r[w] = t(0, d, h, w);
            }
    }
    index_t channels() const { return 1; }
    index_t cblocks() const { return 1; }
    index_t D() const { return D_; }
    index_t H() const { return H_; }
    index_t W() const { return W_; }
    index_t block_stride() const { return 0; }
    index_t row_stride() const { return W_ + 2; }
    index_t plane_stride() const { return (H_ + 2) * (W_ + 2); }
    const float* at(index_t /*cb = 0*/, index_t d, index_t h, index_t w) const { return buf_.get() + d * plane_stride() + h * row_stride() + w; }
    std::size_t bytes() const { return sizeof(float) * static_cast<size_t>(capacity_); }

private:
    index_t D_ = 0, H_ = 0, W_ = 0, capacity_ = 0;
    std::unique_ptr<float[], ctspine::detail::aligned_deleter<float>> buf_{};
};

/// Row and column of TW consecutive positions p0… of a plane W wide (p = row·W + col), with one division.
template <int TW>
struct plane_positions {
    index_t row[TW], col[TW];
    CTSPINE_ALWAYS_INLINE plane_positions(index_t p0, index_t W) {
        index_t r = p0 / W, c = p0 - r * W;
        for (int t = 0; t < TW; ++t) {
            row[t] = r;
            col[t] = c;
            if (++c == W) c = 0, ++r;
        }
    }
};

/// For the output positions pos of output depth od, the input address of tap (0, 0, 0) of channel block 0 of a
/// convolution with kernel k, stride s and padding (k − 1)/2 (the micro-kernels' positions).
template <int TW, class In>
CTSPINE_ALWAYS_INLINE void first_taps(const In& in, const plane_positions<TW>& pos, const std::array<int, 3>& k,
                                      const std::array<int, 3>& s, index_t od, const float* (&xp)[TW]) {
    for (int t = 0; t < TW; ++t)
        xp[t] = in.at(0, od * s[0] + 1 - (k[0] - 1) / 2, pos.row[t] * s[1] + 1 - (k[1] - 1) / 2, pos.col[t] * s[2] + 1 - (k[2] - 1) / 2);
}

/// Input channel blocks per pass of the x86 convolution kernels over an output plane, so that the weights one pass
/// streams for `ob` output blocks (ob × blocks × taps × 16 × 16 floats) stay within conv_weight_budget — inside the
/// L2 of every current x86 core — instead of coming again from L3 for every group of positions (deep layers: 320
/// channels × 27 taps are 1.1 MB per pair of output blocks).
inline constexpr index_t conv_weight_budget = 384 * 1024;
inline index_t conv_ib_chunk(index_t taps, index_t ob) {
    const index_t per_block = ob * taps * block * block * index_t(sizeof(float));
    return std::max<index_t>(1, conv_weight_budget / per_block);
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
