// ctspine — nnU-Net's 3-D networks (dynamic_network_architectures PlainConvUNet and ResidualEncoderUNet) on CPU with
// ctspine's own kernels (kernels/conv3d.hpp, conv_transpose3d.hpp, instance_norm.hpp on the layout of conv3d_layout.hpp). Forward pass as in docs/nnunet-numerics.md §3 with deep supervision
// off: encoder stages, then per decoder stage transposed conv → concat(upsampled, skip) → convs; the last seg layer.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/kernels/conv3d.hpp"
#include "ctspine/kernels/conv_transpose3d.hpp"
#include "ctspine/kernels/instance_norm.hpp"
#include "ctspine/nn/tensor.hpp"
#include "ctspine/nn/unet_config.hpp"

namespace ctspine {
namespace nn {

class unet {
public:
    /// Build from a description and a state_dict with dynamic_network_architectures key names (canonical keys;
    /// aliases "decoder.encoder.*" and "*.all_modules.*" are ignored). Throws errc::model_format naming the key on any
    /// missing key, shape mismatch or unexpected key.
    unet(const unet_config& cfg, const state_dict& weights) : cfg_(cfg) {
        validate_config();
        std::map<std::string, bool> used;
        for (auto& [k, v] : weights)
            if (!is_alias(k)) used[k] = false;
        auto take = [&](const std::string& key, const std::vector<index_t>& shape) -> const parameter& {
            auto it = weights.find(key);
            if (it == weights.end()) throw error(errc::model_format, "unet: missing weight '" + key + "'", {}, key);
            if (it->second.shape != shape) {
                std::string want, got;
                for (auto d : shape) want += std::to_string(d) + ",";
                for (auto d : it->second.shape) got += std::to_string(d) + ",";
                throw error(errc::model_format, "unet: weight '" + key + "' has shape [" + got + "], expected [" + want + "]", {}, key, got);
            }
            if (static_cast<index_t>(it->second.values.size()) != product(shape))
                throw error(errc::model_format, "unet: weight '" + key + "' has the wrong number of values", {}, key);
            used[key] = true;
            return it->second;
        };
        const int n = cfg_.n_stages();
        const auto& F = cfg_.features_per_stage;
        auto conv = [&](const std::string& prefix, index_t ci, index_t co, std::array<int, 3> k, std::array<int, 3> s, bool bias,
                        index_t split = 0) {
            layer L;
            std::vector<index_t> wshape{co, ci, k[0], k[1], k[2]};
            const parameter& w = take(prefix + ".conv.weight", wshape);
            const parameter* b = bias ? &take(prefix + ".conv.bias", {co}) : nullptr;
            L.conv = conv_weights::pack(w.values.data(), b ? b->values.data() : nullptr, ci, co, k, s, split);
            L.gamma = take(prefix + ".norm.weight", {co}).values;
            L.beta = take(prefix + ".norm.bias", {co}).values;
            return L;
        };
        const bool bias = cfg_.conv_bias;
        int cin = cfg_.input_channels;
        if (cfg_.kind == unet_kind::plain) {
            for (int s = 0; s < n; ++s) {
                std::vector<layer> st;
                for (int j = 0; j < cfg_.n_conv_per_stage[static_cast<size_t>(s)]; ++j) {
                    st.push_back(conv("encoder.stages." + std::to_string(s) + ".0.convs." + std::to_string(j), j == 0 ? cin : F[static_cast<size_t>(s)],
                                      F[static_cast<size_t>(s)], cfg_.kernel_sizes[static_cast<size_t>(s)],
                                      j == 0 ? cfg_.strides[static_cast<size_t>(s)] : std::array<int, 3>{1, 1, 1}, bias));
                }
                plain_stages_.push_back(std::move(st));
                cin = F[static_cast<size_t>(s)];
            }
        } else {
            stem_ = conv("encoder.stem.convs.0", cin, F[0], cfg_.kernel_sizes[0], {1, 1, 1}, bias);
            cin = F[0];
            for (int s = 0; s < n; ++s) {
                std::vector<res_block> st;
                for (int b = 0; b < cfg_.n_conv_per_stage[static_cast<size_t>(s)]; ++b) {
                    const std::string p = "encoder.stages." + std::to_string(s) + ".blocks." + std::to_string(b);
                    res_block rb;
                    const int ci = b == 0 ? cin : F[static_cast<size_t>(s)];
                    const int co = F[static_cast<size_t>(s)];
                    rb.stride = b == 0 ? cfg_.strides[static_cast<size_t>(s)] : std::array<int, 3>{1, 1, 1};
                    rb.conv1 = conv(p + ".conv1", ci, co, cfg_.kernel_sizes[static_cast<size_t>(s)], rb.stride, bias);
                    rb.conv2 = conv(p + ".conv2", co, co, cfg_.kernel_sizes[static_cast<size_t>(s)], {1, 1, 1}, bias);
                    rb.pooled = rb.stride != std::array<int, 3>{1, 1, 1};
                    rb.projected = ci != co;
                    if (rb.projected)  // skip.1 after the pool, or skip.0 alone; 1×1×1 conv without bias + norm
                        rb.proj = conv(p + ".skip." + std::string(rb.pooled ? "1" : "0"), ci, co, {1, 1, 1}, {1, 1, 1}, false);
                    st.push_back(std::move(rb));
                }
                res_stages_.push_back(std::move(st));
                cin = F[static_cast<size_t>(s)];
            }
        }
        for (int s = 0; s < n - 1; ++s) {
            const int below = F[static_cast<size_t>(n - 1 - s)], skip = F[static_cast<size_t>(n - 2 - s)];
            const auto st = cfg_.strides[static_cast<size_t>(n - 1 - s)];
            const std::string p = "decoder.transpconvs." + std::to_string(s);
            const parameter& w = take(p + ".weight", {below, skip, st[0], st[1], st[2]});
            const parameter* b = bias && cfg_.transpconv_bias ? &take(p + ".bias", {skip}) : nullptr;
            up_.push_back(transpose_weights::pack(w.values.data(), b ? b->values.data() : nullptr, below, skip, st));
            std::vector<layer> ds;
            for (int j = 0; j < cfg_.n_conv_per_stage_decoder[static_cast<size_t>(s)]; ++j)
                ds.push_back(conv("decoder.stages." + std::to_string(s) + ".convs." + std::to_string(j), j == 0 ? 2 * skip : skip, skip,
                                  decoder_kernel(s), {1, 1, 1}, bias, j == 0 ? skip : 0));
            dec_.push_back(std::move(ds));
            // every seg layer exists in the checkpoint; only the last is used (deep supervision off)
            const std::string sp = "decoder.seg_layers." + std::to_string(s);
            const parameter& sw = take(sp + ".weight", {cfg_.num_classes, skip, 1, 1, 1});
            const parameter* sb = cfg_.seg_head_bias ? &take(sp + ".bias", {cfg_.num_classes}) : nullptr;
            if (s == n - 2)
                head_ = conv_weights::pack(sw.values.data(), sb ? sb->values.data() : nullptr, skip, cfg_.num_classes, {1, 1, 1}, {1, 1, 1});
        }
        for (auto& [k, u] : used)
            if (!u) throw error(errc::model_format, "unet: unexpected weight '" + k + "' for this architecture", {}, k);
        for (auto& [k, v] : weights) params_ += is_alias(k) ? 0 : v.values.size();
    }

    const unet_config& config() const { return cfg_; }
    std::size_t parameter_count() const { return params_; }

    /// Logits (num_classes, D, H, W) for input (input_channels, D, H, W); D, H, W divisible by the total stride.
    /// `isa` picks the kernels (automatic: the best this CPU has; core/cpu.hpp); the logits are bit-identical for
    /// every ISA with fused multiply-add and any thread count.
    void forward(const tensor& input, tensor& output, int threads = 0, cpu_isa isa = cpu_isa::automatic) const {
        std::lock_guard<std::mutex> lock(*mutex_);  // the workspace is reused between calls
        check_input(input);
        isa = resolve_isa(isa);
        workspace& ws = *ws_;
        const int n = cfg_.n_stages();
        ws.skips.resize(static_cast<size_t>(n));
        // One input channel (a CT): the first convolution reads it densely (dense_channel); otherwise blocked.
        const bool dense_first = cfg_.input_channels == 1;  // check_input: the input has that many channels
        if (dense_first) ws.in_dense.assign(input);
        else ws.in.from_tensor(input);
        const blocked_tensor* x = &ws.in;
        std::array<index_t, 3> size{input.shape()[1], input.shape()[2], input.shape()[3]};
        if (cfg_.kind == unet_kind::residual_encoder) {
            if (dense_first) run_conv(stem_, ws.in_dense, ws.stem, size, threads, true, isa);
            else run_conv(stem_, *x, ws.stem, size, threads, true, isa);
            x = &ws.stem;
        }
        for (int s = 0; s < n; ++s) {
            const auto st = cfg_.strides[static_cast<size_t>(s)];
            for (int a = 0; a < 3; ++a) size[static_cast<size_t>(a)] /= st[static_cast<size_t>(a)];
            blocked_tensor& out = ws.skips[static_cast<size_t>(s)];
            if (cfg_.kind == unet_kind::plain) {
                const auto& convs = plain_stages_[static_cast<size_t>(s)];
                for (size_t j = 0; j < convs.size(); ++j) {
                    blocked_tensor& dst = j + 1 == convs.size() ? out : ws.tmp[j % 2];
                    if (dense_first && s == 0 && j == 0) run_conv(convs[j], ws.in_dense, dst, size, threads, true, isa);
                    else run_conv(convs[j], *x, dst, size, threads, true, isa);
                    x = &dst;
                }
            } else {
                const auto& blocks = res_stages_[static_cast<size_t>(s)];
                for (size_t b = 0; b < blocks.size(); ++b) {
                    blocked_tensor& dst = b + 1 == blocks.size() ? out : ws.tmp[b % 2];
                    run_res_block(blocks[b], *x, dst, size, threads, isa);
                    x = &dst;
                }
            }
        }
        // decoder
        const blocked_tensor* lres = &ws.skips[static_cast<size_t>(n - 1)];
        for (int s = 0; s < n - 1; ++s) {
            const blocked_tensor& skip = ws.skips[static_cast<size_t>(n - 2 - s)];
            const index_t F = skip.channels();
            ws.cat.reset(blocks_of(F) * block + F, skip.D(), skip.H(), skip.W());
            conv_transpose3d(*lres, ws.cat, up_[static_cast<size_t>(s)], 0, threads, isa);
            copy_blocks(skip, ws.cat, blocks_of(F), threads);
            const blocked_tensor* y = &ws.cat;
            const auto& convs = dec_[static_cast<size_t>(s)];
            size = {skip.D(), skip.H(), skip.W()};
            for (size_t j = 0; j < convs.size(); ++j) {
                blocked_tensor& dst = ws.dec[j % 2];
                run_conv(convs[j], *y, dst, size, threads, true, isa);
                y = &dst;
            }
            if (y != &ws.dec[0]) std::swap(ws.dec[0], ws.dec[1]);  // keep the stage output in dec[0]
            ws.lres.reset(0, 0, 0, 0);
            std::swap(ws.lres, ws.dec[0]);
            lres = &ws.lres;
        }
        ws.head.reset(cfg_.num_classes, lres->D(), lres->H(), lres->W());
        conv3d(*lres, ws.head, head_, threads, isa);
        ws.head.to_tensor(output);
    }
    tensor forward(const tensor& input, int threads = 0, cpu_isa isa = cpu_isa::automatic) const {
        tensor out;
        forward(input, out, threads, isa);
        return out;
    }

    /// Frees the forward workspace; the next forward() allocates it again. The segmenter calls this when a fold is
    /// done, so that one workspace is alive at a time (not one per fold) and none during the export.
    void release_workspace() const {
        std::lock_guard<std::mutex> lock(*mutex_);
        *ws_ = workspace{};
    }

    /// Working memory forward() needs for a patch (bytes), before running it.
    std::size_t peak_working_bytes(const std::array<index_t, 3>& patch) const {
        auto blk = [](index_t c, std::array<index_t, 3> s) {
            return std::size_t(blocks_of(c) * block) * std::size_t((s[0] + 2) * (s[1] + 2) * (s[2] + 2)) * sizeof(float);
        };
        // the input: dense for one channel (forward's dense_channel), else blocked
        std::size_t total = cfg_.input_channels == 1 ? blk(1, patch) / std::size_t(block) : blk(cfg_.input_channels, patch);
        std::array<index_t, 3> s = patch;
        std::size_t largest_tmp = 0;
        for (int st = 0; st < cfg_.n_stages(); ++st) {
            for (int a = 0; a < 3; ++a) s[static_cast<size_t>(a)] /= cfg_.strides[static_cast<size_t>(st)][static_cast<size_t>(a)];
            total += blk(cfg_.features_per_stage[static_cast<size_t>(st)], s);  // skip
            largest_tmp = std::max(largest_tmp, blk(cfg_.features_per_stage[static_cast<size_t>(st)], s));
        }
        // two temporaries, the concat (2F), two decoder buffers + lres at the finest level, the head
        const auto f0 = cfg_.features_per_stage[0];
        return total + 2 * largest_tmp + blk(2 * f0, patch) + 3 * blk(f0, patch) + blk(cfg_.num_classes, patch);
    }

private:
    struct layer {
        conv_weights conv;
        std::vector<float> gamma, beta;
    };
    struct res_block {
        layer conv1, conv2, proj;
        std::array<int, 3> stride{1, 1, 1};
        bool pooled = false, projected = false;
    };
    struct workspace {
        blocked_tensor in, stem, tmp[2], cat, dec[2], lres, head, r1, r2, pool;
        dense_channel in_dense;
        std::vector<blocked_tensor> skips;
    };

    std::array<int, 3> decoder_kernel(int s) const {
        return cfg_.decoder_kernel_sizes.empty() ? cfg_.kernel_sizes[static_cast<size_t>(cfg_.n_stages() - 2 - s)]
                                                 : cfg_.decoder_kernel_sizes[static_cast<size_t>(s)];
    }
    static bool is_alias(const std::string& k) {
        return k.rfind("decoder.encoder.", 0) == 0 || k.find(".all_modules.") != std::string::npos;
    }
    static index_t product(const std::vector<index_t>& s) {
        index_t p = 1;
        for (auto d : s) p *= d;
        return p;
    }
    void validate_config() const {
        const size_t n = cfg_.features_per_stage.size();
        if (n < 2) throw error(errc::model_format, "unet: at least 2 stages are needed");
        if (cfg_.kernel_sizes.size() != n || cfg_.strides.size() != n || cfg_.n_conv_per_stage.size() != n ||
            cfg_.n_conv_per_stage_decoder.size() != n - 1)
            throw error(errc::model_format, "unet: per-stage lists have inconsistent lengths");
        if (!cfg_.decoder_kernel_sizes.empty() && cfg_.decoder_kernel_sizes.size() != n - 1)
            throw error(errc::model_format, "unet: decoder_kernel_sizes needs one entry per decoder stage");
        for (auto& k : cfg_.decoder_kernel_sizes)
            for (int v : k)
                if (v != 1 && v != 3) throw error(errc::unsupported, "unet: kernel sizes must be 1 or 3");
        for (auto& k : cfg_.kernel_sizes)
            for (int v : k)
                if (v != 1 && v != 3) throw error(errc::unsupported, "unet: kernel sizes must be 1 or 3");
        for (auto& s : cfg_.strides)
            for (int v : s)
                if (v != 1 && v != 2) throw error(errc::unsupported, "unet: strides must be 1 or 2");
        if (cfg_.input_channels < 1 || cfg_.num_classes < 1) throw error(errc::model_format, "unet: channel counts must be >= 1");
    }
    void check_input(const tensor& in) const {
        if (in.shape()[0] != cfg_.input_channels)
            throw error(errc::shape_mismatch, ctspine::detail::cat("unet: input has ", in.shape()[0], " channels, the network takes ", cfg_.input_channels));
        auto t = cfg_.total_stride();
        for (int a = 0; a < 3; ++a)
            if (in.shape()[static_cast<size_t>(a + 1)] % t[static_cast<size_t>(a)] != 0 || in.shape()[static_cast<size_t>(a + 1)] == 0)
                throw error(errc::shape_mismatch, ctspine::detail::cat("unet: input extent ", in.shape()[static_cast<size_t>(a + 1)], " on axis ", a,
                                                              " is not a multiple of the total stride ", t[static_cast<size_t>(a)]));
    }
    double slope() const { return cfg_.nonlin == nonlinearity::relu ? 0.0 : cfg_.negative_slope; }
    template <class In>
    void run_conv(const layer& L, const In& in, blocked_tensor& out, const std::array<index_t, 3>& size, int threads, bool act,
                  cpu_isa isa) const {
        out.reset(L.conv.co, size[0], size[1], size[2]);
        conv3d(in, out, L.conv, threads, isa);
        instance_norm_act(out, L.gamma, L.beta, cfg_.norm_eps, act ? slope() : -1.0, threads, nullptr, nullptr, nullptr, isa);
    }
    void run_res_block(const res_block& b, const blocked_tensor& in, blocked_tensor& out, const std::array<index_t, 3>& size, int threads,
                       cpu_isa isa) const {
        workspace& ws = *ws_;
        run_conv(b.conv1, in, ws.r1, size, threads, true, isa);
        out.reset(b.conv2.conv.co, size[0], size[1], size[2]);
        conv3d(ws.r1, out, b.conv2.conv, threads, isa);
        const blocked_tensor* skip = &in;
        if (b.pooled) {
            ws.pool.reset(in.channels(), size[0], size[1], size[2]);
            avg_pool3d(in, ws.pool, b.stride, threads);
            skip = &ws.pool;
        }
        if (b.projected) {
            ws.r2.reset(b.proj.conv.co, size[0], size[1], size[2]);
            conv3d(*skip, ws.r2, b.proj.conv, threads, isa);
            instance_norm_act(out, b.conv2.gamma, b.conv2.beta, cfg_.norm_eps, slope(), threads, &ws.r2, &b.proj.gamma, &b.proj.beta, isa);
        } else {
            instance_norm_act(out, b.conv2.gamma, b.conv2.beta, cfg_.norm_eps, slope(), threads, skip, nullptr, nullptr, isa);
        }
    }

    unet_config cfg_;
    std::vector<std::vector<layer>> plain_stages_;
    layer stem_;
    std::vector<std::vector<res_block>> res_stages_;
    std::vector<transpose_weights> up_;
    std::vector<std::vector<layer>> dec_;
    conv_weights head_;
    std::size_t params_ = 0;
    std::unique_ptr<workspace> ws_ = std::make_unique<workspace>();
    std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace nn
}  // namespace ctspine
