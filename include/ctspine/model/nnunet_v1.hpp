// ctspine — nnU-Net v1 model files: the pickled plans (plans.pkl / <checkpoint>.model.pkl) and Generic_UNet.
//
// nnunet-v1-spec.md §1.2–1.5 (the plans dict and .model.pkl written by nnU-Net v1.7.1
// nnunet/training/network_training/nnUNetTrainer.py save_checkpoint / process_plans) and §2 (Generic_UNet as
// nnUNetTrainerV2.initialize_network builds it, nnunet/network_architecture/generic_UNet.py Generic_UNet.__init__).
// Only what inference needs is read; the pickle is parsed by the restricted VM (model/pickle.hpp) — numpy arrays and
// scalars are decoded there, nothing is executed. Generic_UNet is mapped onto the version-agnostic nn::unet_config:
//   stages d = 0..P with F_d = min(base·2^d, 320), kernels conv_kernel_sizes[d], stride 1 then pool_op_kernel_sizes[d-1];
//   conv_per_stage convs per encoder stage and per decoder stage (the bottleneck / localization "n-1 + 1" split is the
//   same math); decoder stage u uses conv_kernel_sizes[-(u+1)] (one level deeper, generic_UNet.py :346-347);
//   transposed convs and segmentation heads without bias (seg_output_use_bias=False, ConvTranspose3d bias=False).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/model/pickle.hpp"
#include "ctspine/nn/tensor.hpp"
#include "ctspine/nn/unet_config.hpp"

namespace ctspine {

/// plans['plans_per_stage'][s] (arrays in the transposed axis order).
struct nnunet_v1_stage {
    std::array<int, 3> patch_size{0, 0, 0};
    std::array<double, 3> current_spacing{0, 0, 0};     ///< the target spacing, mm
    std::vector<std::array<int, 3>> pool_op_kernel_sizes;  ///< P entries (no leading [1,1,1])
    std::vector<std::array<int, 3>> conv_kernel_sizes;     ///< P + 1 entries
};

/// dataset_properties['intensityproperties'][c] (note the key 'sd', not 'std').
struct nnunet_v1_intensity {
    double mean = 0, sd = 0, percentile_00_5 = 0, percentile_99_5 = 0;
};

/// The plans of a v1 model (from <fold>/<checkpoint>.model.pkl['plans'], as nnU-Net v1 predict uses them).
struct nnunet_v1_plans {
    int num_classes = 0;            ///< WITHOUT background (network outputs num_classes + 1)
    int num_modalities = 0;
    int base_num_features = 0;
    int conv_per_stage = 2;         ///< absent in old plans → 2
    std::array<int, 3> transpose_forward{0, 1, 2}, transpose_backward{0, 1, 2};
    std::vector<std::string> normalization_schemes;   ///< per channel: "CT", "CT2", "noNorm", else z-score
    std::vector<bool> use_mask_for_norm;
    std::vector<nnunet_v1_intensity> intensity;        ///< per channel (may be empty if no CT channel)
    std::map<int, nnunet_v1_stage> stages;             ///< plans_per_stage
    std::vector<int> all_classes;
    /// plans['segmentation_export_params'] if present (absent by default).
    std::optional<bool> export_force_separate_z;
    int export_interpolation_order = 1, export_interpolation_order_z = 0;
};

/// The init args, trainer name and plans of a <checkpoint>.model.pkl.
struct nnunet_v1_info {
    std::string trainer_name;              ///< info['name'], e.g. "nnUNetTrainerV2"
    std::optional<int> stage;              ///< info['init'][5]; nullopt = None
    std::string fold;                      ///< info['init'][1] as text ("all", "0", …)
    nnunet_v1_plans plans;
};

namespace detail {

struct v1_reader {
    const pickle_tree& t;
    std::string file;

    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw error(errc::model_format, "v1 plans: '" + field + "' " + what, file, field);
    }
    const pickle_value& at(std::uint32_t n) const { return t.at(n); }
    /// dict lookup by string or integer key (last assignment wins); npos if absent.
    std::uint32_t get(std::uint32_t dict, const std::string& skey, std::optional<std::int64_t> ikey = std::nullopt) const {
        if (dict == pickle_tree::npos || at(dict).kind != pickle_kind::dict) return pickle_tree::npos;
        const auto& it = at(dict).items;
        for (std::size_t k = it.size(); k >= 2; k -= 2) {
            const auto& kn = at(it[k - 2]);
            if (!ikey && kn.kind == pickle_kind::string && kn.s == skey) return it[k - 1];
            if (ikey && kn.kind == pickle_kind::integer && kn.i == *ikey) return it[k - 1];
        }
        return pickle_tree::npos;
    }
    std::uint32_t need(std::uint32_t dict, const std::string& key, const std::string& field) const {
        auto v = get(dict, key);
        if (v == pickle_tree::npos) fail(field, "is missing");
        return v;
    }
    std::uint32_t need_dict(std::uint32_t v, const std::string& field) const {
        if (v == pickle_tree::npos || at(v).kind != pickle_kind::dict) fail(field, "is not a dict");
        return v;
    }
    bool is_none(std::uint32_t v) const { return v == pickle_tree::npos || at(v).kind == pickle_kind::none; }
    std::int64_t integer(std::uint32_t v, const std::string& field, std::int64_t lo, std::int64_t hi) const {
        if (v == pickle_tree::npos || (at(v).kind != pickle_kind::integer && at(v).kind != pickle_kind::boolean))
            fail(field, "is not an integer");
        const std::int64_t x = at(v).kind == pickle_kind::boolean ? (at(v).b ? 1 : 0) : at(v).i;
        if (x < lo || x > hi) fail(field, detail::cat("= ", x, " is out of range [", lo, ", ", hi, "]"));
        return x;
    }
    double number(std::uint32_t v, const std::string& field) const {
        if (v == pickle_tree::npos) fail(field, "is missing");
        if (at(v).kind == pickle_kind::floating) {
            if (!std::isfinite(at(v).f)) fail(field, "is not finite");
            return at(v).f;
        }
        if (at(v).kind == pickle_kind::integer) return static_cast<double>(at(v).i);
        fail(field, "is not a number (float, numpy float32/float64 scalar or int)");
    }
    const std::vector<std::uint32_t>& seq(std::uint32_t v, const std::string& field) const {
        if (v == pickle_tree::npos || (at(v).kind != pickle_kind::list && at(v).kind != pickle_kind::tuple))
            fail(field, "is not a list, tuple or 1-D array");
        return at(v).items;
    }
    std::array<int, 3> int3(std::uint32_t v, const std::string& field, int lo, int hi) const {
        const auto& s = seq(v, field);
        if (s.size() != 3) fail(field, "does not have 3 entries (only 3-D stages are supported)");
        std::array<int, 3> r{};
        for (int a = 0; a < 3; ++a) r[static_cast<size_t>(a)] = static_cast<int>(integer(s[static_cast<size_t>(a)], field, lo, hi));
        return r;
    }
    std::vector<std::array<int, 3>> int3_list(std::uint32_t v, const std::string& field, int lo, int hi) const {
        std::vector<std::array<int, 3>> r;
        for (auto c : seq(v, field)) r.push_back(int3(c, field, lo, hi));
        return r;
    }
    /// per-channel dict {0: x, 1: y, …} (plain dict or OrderedDict with int keys) → values in channel order.
    std::vector<std::uint32_t> per_channel(std::uint32_t d, int n, const std::string& field) const {
        need_dict(d, field);
        std::vector<std::uint32_t> r;
        for (int c = 0; c < n; ++c) {
            auto v = get(d, {}, c);
            if (v == pickle_tree::npos) fail(field, detail::cat("has no entry for channel ", c));
            r.push_back(v);
        }
        return r;
    }
};

inline nnunet_v1_plans parse_v1_plans(const pickle_tree& t, std::uint32_t root, const std::string& file) {
    const v1_reader rd{t, file};
    rd.need_dict(root, "plans");
    nnunet_v1_plans p;
    p.num_classes = static_cast<int>(rd.integer(rd.need(root, "num_classes", "num_classes"), "num_classes", 1, 10000));
    p.num_modalities = static_cast<int>(rd.integer(rd.need(root, "num_modalities", "num_modalities"), "num_modalities", 1, 64));
    p.base_num_features =
        static_cast<int>(rd.integer(rd.need(root, "base_num_features", "base_num_features"), "base_num_features", 1, 4096));
    if (auto c = rd.get(root, "conv_per_stage"); !rd.is_none(c))
        p.conv_per_stage = static_cast<int>(rd.integer(c, "conv_per_stage", 1, 16));
    for (const char* k : {"transpose_forward", "transpose_backward"}) {
        auto v = rd.get(root, k);
        if (rd.is_none(v)) continue;
        auto a = rd.int3(v, k, 0, 2);
        auto s = a;
        std::sort(s.begin(), s.end());
        if (s != std::array<int, 3>{0, 1, 2}) rd.fail(k, "is not a permutation of 0, 1, 2");
        (std::string(k) == "transpose_forward" ? p.transpose_forward : p.transpose_backward) = a;
    }
    for (int a = 0; a < 3; ++a)
        if (p.transpose_backward[static_cast<size_t>(p.transpose_forward[static_cast<size_t>(a)])] != a)
            rd.fail("transpose_backward", "is not the inverse of transpose_forward");
    for (auto v : rd.per_channel(rd.need(root, "normalization_schemes", "normalization_schemes"), p.num_modalities,
                                 "normalization_schemes")) {
        if (rd.at(v).kind != pickle_kind::string) rd.fail("normalization_schemes", "entry is not a string");
        p.normalization_schemes.push_back(rd.at(v).s);
    }
    if (auto um = rd.get(root, "use_mask_for_norm"); !rd.is_none(um))
        for (auto v : rd.per_channel(um, p.num_modalities, "use_mask_for_norm"))
            p.use_mask_for_norm.push_back(rd.integer(v, "use_mask_for_norm", 0, 1) != 0);
    else
        p.use_mask_for_norm.assign(static_cast<size_t>(p.num_modalities), false);
    const bool needs_stats = std::any_of(p.normalization_schemes.begin(), p.normalization_schemes.end(),
                                         [](const std::string& s) { return s == "CT"; });
    if (needs_stats) {
        auto dp = rd.need_dict(rd.need(root, "dataset_properties", "dataset_properties"), "dataset_properties");
        auto ip = rd.need(dp, "intensityproperties", "dataset_properties.intensityproperties");
        auto ch = rd.per_channel(ip, p.num_modalities, "intensityproperties");
        for (int c = 0; c < p.num_modalities; ++c) {
            nnunet_v1_intensity s;
            if (p.normalization_schemes[static_cast<size_t>(c)] == "CT") {
                const std::string f = detail::cat("intensityproperties[", c, "].");
                const auto d = rd.need_dict(ch[static_cast<size_t>(c)], f);
                s.mean = rd.number(rd.need(d, "mean", f + "mean"), f + "mean");
                s.sd = rd.number(rd.need(d, "sd", f + "sd"), f + "sd");
                s.percentile_00_5 = rd.number(rd.need(d, "percentile_00_5", f + "percentile_00_5"), f + "percentile_00_5");
                s.percentile_99_5 = rd.number(rd.need(d, "percentile_99_5", f + "percentile_99_5"), f + "percentile_99_5");
            }
            p.intensity.push_back(s);
        }
    }
    if (auto ac = rd.get(root, "all_classes"); !rd.is_none(ac))
        for (auto v : rd.seq(ac, "all_classes")) p.all_classes.push_back(static_cast<int>(rd.integer(v, "all_classes", -1, 100000)));
    const auto pps = rd.need_dict(rd.need(root, "plans_per_stage", "plans_per_stage"), "plans_per_stage");
    const auto& items = rd.at(pps).items;
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
        const int s = static_cast<int>(rd.integer(items[k], "plans_per_stage key", 0, 16));
        const std::string f = detail::cat("plans_per_stage[", s, "].");
        const auto sd = rd.need_dict(items[k + 1], f);
        nnunet_v1_stage st;
        st.patch_size = rd.int3(rd.need(sd, "patch_size", f + "patch_size"), f + "patch_size", 1, 4096);
        const auto& sp = rd.seq(rd.need(sd, "current_spacing", f + "current_spacing"), f + "current_spacing");
        if (sp.size() != 3) rd.fail(f + "current_spacing", "does not have 3 entries");
        for (int a = 0; a < 3; ++a) {
            st.current_spacing[static_cast<size_t>(a)] = rd.number(sp[static_cast<size_t>(a)], f + "current_spacing");
            if (!(st.current_spacing[static_cast<size_t>(a)] > 0)) rd.fail(f + "current_spacing", "is not positive");
        }
        auto pk = rd.get(sd, "pool_op_kernel_sizes"), ck = rd.get(sd, "conv_kernel_sizes");
        if (!rd.is_none(pk)) {
            st.pool_op_kernel_sizes = rd.int3_list(pk, f + "pool_op_kernel_sizes", 1, 16);
        } else {  // old plans: derive from num_pool_per_axis, pooling late (nnUNetTrainer.process_plans)
            auto npool = rd.int3(rd.need(sd, "num_pool_per_axis", f + "num_pool_per_axis"), f + "num_pool_per_axis", 0, 16);
            const int mx = *std::max_element(npool.begin(), npool.end());
            for (int i = 0; i < mx; ++i) {
                std::array<int, 3> k{};
                for (int a = 0; a < 3; ++a) k[static_cast<size_t>(a)] = mx - npool[static_cast<size_t>(a)] <= i ? 2 : 1;
                st.pool_op_kernel_sizes.push_back(k);
            }
        }
        if (!rd.is_none(ck)) st.conv_kernel_sizes = rd.int3_list(ck, f + "conv_kernel_sizes", 1, 16);
        else st.conv_kernel_sizes.assign(st.pool_op_kernel_sizes.size() + 1, std::array<int, 3>{3, 3, 3});
        if (st.conv_kernel_sizes.size() != st.pool_op_kernel_sizes.size() + 1)
            rd.fail(f + "conv_kernel_sizes", "must have one entry more than pool_op_kernel_sizes");
        if (st.pool_op_kernel_sizes.empty()) rd.fail(f + "pool_op_kernel_sizes", "is empty");
        p.stages[s] = st;
    }
    if (p.stages.empty()) rd.fail("plans_per_stage", "is empty");
    if (auto ep = rd.get(root, "segmentation_export_params"); !rd.is_none(ep)) {
        rd.need_dict(ep, "segmentation_export_params");
        if (auto v = rd.get(ep, "force_separate_z"); !rd.is_none(v))
            p.export_force_separate_z = rd.integer(v, "segmentation_export_params.force_separate_z", 0, 1) != 0;
        if (auto v = rd.get(ep, "interpolation_order"); !rd.is_none(v))
            p.export_interpolation_order = static_cast<int>(rd.integer(v, "segmentation_export_params.interpolation_order", 0, 5));
        if (auto v = rd.get(ep, "interpolation_order_z"); !rd.is_none(v))
            p.export_interpolation_order_z =
                static_cast<int>(rd.integer(v, "segmentation_export_params.interpolation_order_z", 0, 5));
    }
    return p;
}

inline std::vector<std::uint8_t> read_small_file(const std::string& path, std::size_t max_bytes) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw error(errc::io, "cannot open file", path);
    const auto size = static_cast<std::uint64_t>(f.tellg());
    if (size > max_bytes) throw error(errc::size_limit, detail::cat("file is larger than ", max_bytes, " bytes"), path, "max_file_bytes");
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(size));
    f.seekg(0);
    if (size && !f.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(size)))
        throw error(errc::io, "read failed", path);
    return buf;
}

}  // namespace detail

/// Limits for v1 pickles: pickle VM limits plus a size cap (real plans are a few hundred KB); a hit is
/// errc::size_limit, before the allocation.
struct v1_pickle_limits {
    pickle_limits pickle{};
    std::size_t max_file_bytes = 256u << 20;
};

namespace detail {
inline void check_v1_size(std::size_t n, const v1_pickle_limits& lim, const std::string& name) {
    if (n > lim.max_file_bytes)
        throw error(errc::size_limit, detail::cat("v1 pickle is ", n, " bytes, limit ", lim.max_file_bytes), name, "max_file_bytes",
                    detail::cat(n));
}
}  // namespace detail

/// The plans dict of a v1 plans.pkl held in memory, [data, data + size) (the code read_nnunet_v1_plans runs; what
/// the fuzz target exercises). `name` only names it in messages.
inline nnunet_v1_plans parse_nnunet_v1_plans(const void* data, std::size_t size, const v1_pickle_limits& lim = {},
                                             const std::string& name = "plans.pkl") {
    detail::check_v1_size(size, lim, name);
    const pickle_tree t = parse_pickle(static_cast<const std::uint8_t*>(data), size, lim.pickle, name);
    return detail::parse_v1_plans(t, t.root, name);
}

/// A v1 <checkpoint>.model.pkl held in memory: OrderedDict(init, name, class, plans) (nnunet-v1-spec.md §1.3).
inline nnunet_v1_info parse_nnunet_v1_info(const void* data, std::size_t size, const v1_pickle_limits& lim = {},
                                           const std::string& name = "model.pkl") {
    detail::check_v1_size(size, lim, name);
    const pickle_tree t = parse_pickle(static_cast<const std::uint8_t*>(data), size, lim.pickle, name);
    const detail::v1_reader rd{t, name};
    rd.need_dict(t.root, "model.pkl");
    nnunet_v1_info info;
    const auto nm = rd.need(t.root, "name", "name");
    if (rd.at(nm).kind != pickle_kind::string) rd.fail("name", "is not a string");
    info.trainer_name = rd.at(nm).s;
    const auto& init = rd.seq(rd.need(t.root, "init", "init"), "init");
    if (init.size() > 1) {
        const auto& f = rd.at(init[1]);
        info.fold = f.kind == pickle_kind::string ? f.s : f.kind == pickle_kind::integer ? std::to_string(f.i) : std::string();
    }
    if (init.size() > 5 && !rd.is_none(init[5])) info.stage = static_cast<int>(rd.integer(init[5], "init[5] (stage)", 0, 16));
    info.plans = detail::parse_v1_plans(t, rd.need(t.root, "plans", "plans"), name);
    return info;
}

/// Read a v1 plans.pkl (the plans dict itself).
inline nnunet_v1_plans read_nnunet_v1_plans(const std::string& path, const v1_pickle_limits& lim = {}) {
    const auto buf = detail::read_small_file(path, lim.max_file_bytes);
    return parse_nnunet_v1_plans(buf.data(), buf.size(), lim, path);
}

/// Read a v1 <checkpoint>.model.pkl: OrderedDict(init, name, class, plans) (nnunet-v1-spec.md §1.3).
inline nnunet_v1_info read_nnunet_v1_info(const std::string& path, const v1_pickle_limits& lim = {}) {
    const auto buf = detail::read_small_file(path, lim.max_file_bytes);
    return parse_nnunet_v1_info(buf.data(), buf.size(), lim, path);
}

/// The stage v1 predicts with (nnUNetTrainer.process_plans): the stage init arg, or the only stage if it is None.
inline const nnunet_v1_stage& nnunet_v1_select_stage(const nnunet_v1_plans& p, std::optional<int> stage, const std::string& file = {}) {
    if (!stage) {
        if (p.stages.size() != 1)
            throw error(errc::model_format, "v1 plans: stage is None but the plans have several stages", file, "init[5]");
        return p.stages.begin()->second;
    }
    auto it = p.stages.find(*stage);
    if (it == p.stages.end())
        throw error(errc::model_format, detail::cat("v1 plans: stage ", *stage, " is not in plans_per_stage"), file, "init[5]");
    return it->second;
}

/// Generic_UNet (as nnUNetTrainerV2 builds it) as an engine configuration (nnunet-v1-spec.md §2.1).
inline nn::unet_config nnunet_v1_unet_config(const nnunet_v1_plans& p, const nnunet_v1_stage& st) {
    nn::unet_config c;
    c.kind = nn::unet_kind::plain;
    c.input_channels = p.num_modalities;
    c.num_classes = p.num_classes + 1;
    const int P = static_cast<int>(st.pool_op_kernel_sizes.size());
    for (int d = 0; d <= P; ++d) {
        // generic_UNet.py: output_features = int(np.round(output_features * feat_map_mul_on_downscale)), then min(…, 320)
        double f = p.base_num_features;
        for (int k = 0; k < d; ++k) f = std::round(f * 2);
        c.features_per_stage.push_back(static_cast<int>(std::min(f, 320.0)));
        c.kernel_sizes.push_back(st.conv_kernel_sizes[static_cast<size_t>(d)]);
        c.strides.push_back(d == 0 ? std::array<int, 3>{1, 1, 1} : st.pool_op_kernel_sizes[static_cast<size_t>(d - 1)]);
        c.n_conv_per_stage.push_back(p.conv_per_stage);
    }
    for (int u = 0; u < P; ++u) {
        c.n_conv_per_stage_decoder.push_back(p.conv_per_stage);
        c.decoder_kernel_sizes.push_back(st.conv_kernel_sizes[static_cast<size_t>(P - u)]);  // conv_kernel_sizes[-(u+1)]
    }
    c.conv_bias = true;
    c.transpconv_bias = false;
    c.seg_head_bias = false;
    c.norm_eps = 1e-5;
    c.norm_affine = true;
    c.nonlin = nn::nonlinearity::leaky_relu;
    c.negative_slope = 1e-2;
    return c;
}

/// Generic_UNet state_dict keys → the engine's (PlainConvUNet-style) keys (nnunet-v1-spec.md §2.2). `n` =
/// conv_per_stage, `P` = number of pools. A key that fits no Generic_UNet pattern is kept as is (the engine then
/// reports it as unexpected).
inline std::string nnunet_v1_engine_key(const std::string& key, int n, int P) {
    auto parse = [](const std::string& s, std::size_t& pos, int& out) {
        std::size_t e = pos;
        while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
        if (e == pos || e - pos > 6) return false;
        out = std::stoi(s.substr(pos, e - pos));
        pos = e;
        return true;
    };
    auto eat = [](const std::string& s, std::size_t& pos, const std::string& lit) {
        if (s.compare(pos, lit.size(), lit) != 0) return false;
        pos += lit.size();
        return true;
    };
    // the tail of a conv block: conv.weight / conv.bias / instnorm.weight / instnorm.bias
    auto tail = [](const std::string& rest) -> std::string {
        if (rest == "conv.weight" || rest == "conv.bias") return rest;
        if (rest == "instnorm.weight") return "norm.weight";
        if (rest == "instnorm.bias") return "norm.bias";
        return {};
    };
    std::size_t pos = 0;
    int a = 0, b = 0, j = 0;
    const bool ctx = key.rfind("conv_blocks_context.", 0) == 0, loc = key.rfind("conv_blocks_localization.", 0) == 0;
    if (ctx || loc) {
        pos = ctx ? 20 : 25;
        if (!parse(key, pos, a) || !eat(key, pos, ".")) return key;
        int conv = -1;
        if (ctx && a < P) {  // conv_blocks_context.d.blocks.j.
            if (!eat(key, pos, "blocks.") || !parse(key, pos, j) || !eat(key, pos, ".")) return key;
            conv = j;
        } else {  // bottleneck (context.P) or localization.u: .0.blocks.j (j < n-1) / .1.blocks.0
            if (!parse(key, pos, b) || !eat(key, pos, ".blocks.") || !parse(key, pos, j) || !eat(key, pos, ".")) return key;
            if (b == 0) conv = j;
            else if (b == 1 && j == 0) conv = n - 1;
            else return key;
        }
        const std::string t = tail(key.substr(pos));
        if (t.empty()) return key;
        if (ctx) return detail::cat("encoder.stages.", a, ".0.convs.", conv, ".", t);
        return detail::cat("decoder.stages.", a, ".convs.", conv, ".", t);
    }
    if (key.rfind("tu.", 0) == 0) {
        pos = 3;
        if (parse(key, pos, a) && key.substr(pos) == ".weight") return detail::cat("decoder.transpconvs.", a, ".weight");
        return key;
    }
    if (key.rfind("seg_outputs.", 0) == 0) {
        pos = 12;
        if (parse(key, pos, a) && key.substr(pos) == ".weight") return detail::cat("decoder.seg_layers.", a, ".weight");
        return key;
    }
    return key;
}

/// Rename a Generic_UNet state_dict for the engine. Two keys mapping to the same engine key → errc::model_format.
inline nn::state_dict nnunet_v1_engine_weights(nn::state_dict sd, int conv_per_stage, int num_pool) {
    nn::state_dict out;
    for (auto& [k, v] : sd) {
        std::string e = nnunet_v1_engine_key(k, conv_per_stage, num_pool);
        if (out.count(e)) throw error(errc::model_format, "v1 checkpoint: two keys map to '" + e + "'", {}, k);
        out.emplace(std::move(e), std::move(v));
    }
    return out;
}

}  // namespace ctspine
