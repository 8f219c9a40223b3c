// ctspine — scalar twins of the blocked U-Net kernels in their exact operation order: one std::fma per term, bias
// first, then (input block, kd, kh, kw, input channel) for convolutions and ascending input channels for transposed
// convolutions, on the same packed weights. The tests require every SIMD form (AVX-512, AVX2, and the generic form
// where it is fused) to equal these bit for bit. The instance-norm twin is detail::norm_scalar<true>
// (instance_norm.hpp). For PyTorch semantics on plain tensors see nn_reference.hpp.
#pragma once
#include <cmath>

#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/instance_norm.hpp"
#include "ctspine/kernels/packed_weights.hpp"

namespace ctspine {
namespace nn {
namespace reference {

/// Same contract as nn::conv3d (`out` already shaped).
inline void conv3d_fma(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw) {
    const index_t IB = in.cblocks(), taps = cw.k[0] * cw.k[1] * cw.k[2];
    const int pd = (cw.k[0] - 1) / 2, ph = (cw.k[1] - 1) / 2, pw = (cw.k[2] - 1) / 2;
    for (index_t ob = 0; ob < out.cblocks(); ++ob)
        for (index_t od = 0; od < out.D(); ++od)
            for (index_t oh = 0; oh < out.H(); ++oh)
                for (index_t ow = 0; ow < out.W(); ++ow)
                    for (int lane = 0; lane < 16; ++lane) {
                        float acc = cw.bias[static_cast<size_t>(ob * block + lane)];
                        const float* wt = cw.packed.data() + ob * IB * taps * block * block;
                        for (index_t ib = 0; ib < IB; ++ib)
                            for (int kd = 0; kd < cw.k[0]; ++kd)
                                for (int kh = 0; kh < cw.k[1]; ++kh)
                                    for (int kw = 0; kw < cw.k[2]; ++kw, wt += block * block) {
                                        const float* x = in.at(ib, od * cw.s[0] + kd - pd + 1, oh * cw.s[1] + kh - ph + 1, ow * cw.s[2] + kw - pw + 1);
                                        for (int ic = 0; ic < 16; ++ic) acc = std::fma(x[ic], wt[ic * block + lane], acc);
                                    }
                        out.at(ob, od + 1, oh + 1, ow + 1)[lane] = acc;
                    }
}

/// Same contract as nn::conv_transpose3d.
inline void conv_transpose3d_fma(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset) {
    const index_t IB = in.cblocks(), taps = tw.s[0] * tw.s[1] * tw.s[2];
    for (index_t ob = 0; ob < blocks_of(tw.co); ++ob)
        for (index_t d = 0; d < in.D(); ++d)
            for (index_t h = 0; h < in.H(); ++h)
                for (index_t w = 0; w < in.W(); ++w)
                    for (index_t t = 0; t < taps; ++t)
                        for (int lane = 0; lane < 16; ++lane) {
                            float acc = tw.bias[static_cast<size_t>(ob * block + lane)];
                            const float* wt = tw.packed.data() + (ob * taps + t) * IB * block * block;
                            for (index_t c = 0; c < IB * block; ++c)
                                acc = std::fma(in.at(c / block, d + 1, h + 1, w + 1)[c % block], wt[c * block + lane], acc);
                            const index_t a = t / (tw.s[1] * tw.s[2]), bb = (t / tw.s[2]) % tw.s[1], cc = t % tw.s[2];
                            out.at(ob_offset + ob, d * tw.s[0] + a + 1, h * tw.s[1] + bb + 1, w * tw.s[2] + cc + 1)[lane] = acc;
                        }
}

/// Same contract as nn::instance_norm_act, every multiply-add fused.
inline void instance_norm_act_fma(blocked_tensor& t, const std::vector<float>& gamma, const std::vector<float>& beta, double eps, double slope,
                                  const blocked_tensor* residual = nullptr, const std::vector<float>* res_gamma = nullptr,
                                  const std::vector<float>* res_beta = nullptr) {
    for (index_t cb = 0; cb < t.cblocks(); ++cb)
        nn::detail::norm_block<nn::detail::norm_scalar<true>>(t, cb, gamma, beta, eps, slope, residual, res_gamma, res_beta);
}

}  // namespace reference
}  // namespace nn
}  // namespace ctspine
