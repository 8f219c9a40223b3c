// ctspine — the U-Net engine's weights, packed once at load time for the blocked kernels (conv3d.hpp,
// conv_transpose3d.hpp and their per-ISA forms in x86_avx2.hpp / x86_avx512.hpp). Layout: conv3d_layout.hpp.
#pragma once
#include <array>
#include <vector>

#include "ctspine/kernels/conv3d_layout.hpp"

namespace ctspine {
namespace nn {

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

/// Transposed convolution with kernel = stride, PyTorch weight [ci][co][sd][sh][sw] packed as
/// [ob][tap][ci padded to blocks][16] (padded input channels have zero weights, like the blocked tensor's padded
/// channels have zero values).
struct transpose_weights {
    index_t ci = 0, co = 0;
    std::array<int, 3> s{2, 2, 2};
    std::vector<float> packed;  // [ob][tap][blocks_of(ci)·16][16]
    std::vector<float> bias;
    static transpose_weights pack(const float* w, const float* b, index_t ci, index_t co, std::array<int, 3> s) {
        transpose_weights tw;
        tw.ci = ci;
        tw.co = co;
        tw.s = s;
        const index_t taps = s[0] * s[1] * s[2], OB = blocks_of(co), CI = blocks_of(ci) * block;
        tw.packed.assign(static_cast<size_t>(OB * taps * CI * block), 0.f);
        for (index_t c = 0; c < ci; ++c)
            for (index_t o = 0; o < co; ++o)
                for (index_t t = 0; t < taps; ++t)
                    tw.packed[static_cast<size_t>((((o / block) * taps + t) * CI + c) * block + o % block)] = w[(c * co + o) * taps + t];
        tw.bias.assign(static_cast<size_t>(OB * block), 0.f);
        if (b)
            for (index_t o = 0; o < co; ++o) tw.bias[static_cast<size_t>(o)] = b[o];
        return tw;
    }
};

}  // namespace nn
}  // namespace ctspine
