// ctspine — nnU-Net v2 plans.json and dataset.json → network description (nn::unet_config) and preprocessing settings.
//
// Sources (docs/nnunet-numerics.md §1.1–1.3; MIC-DKFZ/nnUNet nnunetv2/utilities/plans_handling/plans_handler.py,
// nnunetv2/utilities/label_handling/label_handling.py):
//  * ≥ 2.3 layout: configurations[c]["architecture"] = {network_class_name, arch_kwargs{n_stages, features_per_stage,
//    kernel_sizes, strides, n_conv_per_stage | n_blocks_per_stage, n_conv_per_stage_decoder, conv_bias, norm_op_kwargs,
//    nonlin, nonlin_kwargs, ...}}.
//  * 2.0–2.2 flat layout (ConfigurationManager.__init__ converts it the same way): UNet_class_name,
//    UNet_base_num_features, unet_max_num_features, n_conv_per_stage_encoder, n_conv_per_stage_decoder,
//    pool_op_kernel_sizes (= strides), conv_kernel_sizes; features_per_stage[i] = min(base · 2^i, max).
//  * configurations may "inherits_from" another (PlansManager._internal_resolve_configuration_inheritance: parent
//    dict, recursively resolved, then updated by the child's keys).
//  * foreground_intensity_properties_per_channel, legacy key foreground_intensity_properties_by_modality.
//  * dataset.json labels: name → int (or list of ints for region-based training); "ignore" is not a head;
//    num_segmentation_heads = number of labels incl. background, or number of regions (LabelManager).
// Requires nlohmann_json (the only part of ctspine that does).
#pragma once
#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctspine/core/error.hpp"
#include "ctspine/nn/unet_config.hpp"

namespace ctspine {

/// resampling_fn_*_kwargs of a configuration (nnunetv2/preprocessing/resampling/default_resampling.py).
struct nnunet_resampling {
    bool is_seg = false;
    int order = 3;
    int order_z = 0;
    std::optional<bool> force_separate_z;  ///< null in plans = decide from anisotropy
};

/// foreground_intensity_properties_per_channel[c] (used by CTNormalization).
struct nnunet_intensity_properties {
    double mean = 0, median = 0, std = 0, min = 0, max = 0, percentile_00_5 = 0, percentile_99_5 = 0;
};

struct nnunet_configuration {
    std::string name;
    int dimensions = 3;                             ///< 2 for "2d" configurations (not supported by the engine)
    std::string data_identifier, preprocessor_name;
    int batch_size = 0;
    std::array<int, 3> patch_size{0, 0, 0};         ///< transposed axis order (D, H, W)
    std::array<double, 3> spacing{0, 0, 0};         ///< mm, transposed axis order
    std::vector<std::string> normalization_schemes; ///< per input channel, e.g. "CTNormalization"
    std::vector<bool> use_mask_for_norm;
    nnunet_resampling resampling_data, resampling_seg, resampling_probabilities;
    std::string previous_stage, next_stage;         ///< cascade links ("" if none)
    std::string network_class_name;                 ///< e.g. "...unet.PlainConvUNet"
    nn::unet_config network;                        ///< input_channels / num_classes filled from dataset.json by the model loader
};

struct nnunet_plans {
    std::string dataset_name, plans_name;
    std::array<int, 3> transpose_forward{0, 1, 2}, transpose_backward{0, 1, 2};
    std::vector<nnunet_intensity_properties> foreground_intensity_properties;  ///< per channel, index = channel
    std::map<std::string, nnunet_configuration> configurations;                ///< inheritance resolved
    /// Configurations that could not be parsed (name → the error); configuration(name) rethrows it. A broken
    /// configuration the model does not use must not stop the model from loading.
    std::map<std::string, error> invalid_configurations;
    const nnunet_configuration& configuration(const std::string& name) const {
        auto bad = invalid_configurations.find(name);
        if (bad != invalid_configurations.end()) throw bad->second;
        auto it = configurations.find(name);
        if (it == configurations.end())
            throw error(errc::model_format, "plans: no configuration '" + name + "'", {}, "configurations", name);
        return it->second;
    }
};

struct nnunet_dataset {
    std::vector<std::string> channel_names;             ///< channel_names["0"], ["1"], ...
    std::vector<std::pair<std::string, std::vector<int>>> labels;  ///< in file order; regions have several values
    bool has_regions = false;
    std::optional<int> ignore_label;
    std::string file_ending;
    int num_training = 0;
    /// Network output channels (LabelManager.num_segmentation_heads).
    int num_segmentation_heads() const {
        int n = 0;
        for (auto& l : labels) {
            if (l.first == "ignore") continue;
            if (has_regions && l.first == "background") continue;
            ++n;
        }
        return n;
    }
};

/// Limits of one JSON read (plans.json, dataset.json); a hit is errc::size_limit (field() names the limit), raised
/// before the document is parsed. Real plans are tens of KB and nest 7 levels deep.
struct json_limits {
    std::size_t max_bytes = std::size_t(64) << 20;
    /// Nesting of arrays and objects. The parser is iterative, but copying and comparing a document recurse once per
    /// level, so a deep document ("[[[[…" from a few KB) would exhaust the stack.
    std::size_t max_depth = 64;
};

namespace detail {

/// Refuse a document that is too large or nests too deeply, counting brackets outside strings (RFC 8259 §2, §7:
/// a string is "…" with backslash escapes). Runs before the parser, so nothing is allocated for a refused input.
inline void check_json_limits(const std::string& text, const json_limits& lim, const char* area, const std::string& file) {
    if (text.size() > lim.max_bytes)
        throw error(errc::size_limit, cat(area, ": ", text.size(), " bytes, limit ", lim.max_bytes), file, "max_bytes", cat(text.size()));
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > lim.max_depth)
                throw error(errc::size_limit, cat(area, ": nested deeper than ", lim.max_depth, " levels"), file, "max_depth");
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}

inline nlohmann::ordered_json parse_json_text(const std::string& text, const json_limits& lim, const char* area, const std::string& file) {
    check_json_limits(text, lim, area, file);
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::ordered_json::exception& e) {
        throw error(errc::model_format, std::string(area) + ": invalid JSON: " + e.what(), file);
    }
}

/// The whole of a small text file, refusing one larger than `max_bytes` before reading it.
inline std::string read_json_text(const std::string& path, std::size_t max_bytes, const char* area) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw error(errc::io, std::string(area) + ": cannot open file", path);
    const auto end = f.tellg();
    if (end < 0) throw error(errc::io, std::string(area) + ": cannot determine file size", path);
    const auto size = static_cast<std::uint64_t>(end);
    if (size > max_bytes)
        throw error(errc::size_limit, cat(area, ": ", size, " bytes, limit ", max_bytes), path, "max_bytes", cat(size));
    std::string text(static_cast<std::size_t>(size), '\0');
    f.seekg(0);
    if (size && !f.read(&text[0], static_cast<std::streamsize>(size))) throw error(errc::io, std::string(area) + ": read failed", path);
    return text;
}

/// Typed access with errors naming the file and field.
struct json_reader {
    const std::string& file;
    const char* area;
    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw error(errc::model_format, std::string(area) + ": '" + field + "' " + what, file, field);
    }
    const nlohmann::ordered_json& need(const nlohmann::ordered_json& j, const std::string& key) const {
        if (!j.is_object() || !j.contains(key)) fail(key, "missing");
        return j.at(key);
    }
    int integer(const nlohmann::ordered_json& j, const std::string& field) const {
        if (!j.is_number_integer()) fail(field, "is not an integer");
        if (j.is_number_unsigned() && j.get<unsigned long long>() > 1000000000ULL) fail(field, "is out of range");
        auto v = j.get<long long>();
        if (v < -1000000000LL || v > 1000000000LL) fail(field, "is out of range");
        return static_cast<int>(v);
    }
    double number(const nlohmann::ordered_json& j, const std::string& field) const {
        if (!j.is_number()) fail(field, "is not a number");
        return j.get<double>();
    }
    std::vector<int> ints(const nlohmann::ordered_json& j, const std::string& field) const {
        if (!j.is_array()) fail(field, "is not a list");
        std::vector<int> r;
        for (auto& e : j) r.push_back(integer(e, field));
        return r;
    }
    std::array<int, 3> int3(const nlohmann::ordered_json& j, const std::string& field) const {
        auto v = ints(j, field);
        if (v.size() != 3) fail(field, "does not have 3 entries");
        return {v[0], v[1], v[2]};
    }
    std::vector<std::array<int, 3>> int3_list(const nlohmann::ordered_json& j, const std::string& field) const {
        if (!j.is_array()) fail(field, "is not a list");
        std::vector<std::array<int, 3>> r;
        for (auto& e : j) r.push_back(int3(e, field));
        return r;
    }
};

inline nnunet_resampling parse_resampling(const nlohmann::ordered_json& cfg, const char* key) {
    nnunet_resampling r;
    if (!cfg.contains(key) || !cfg.at(key).is_object()) return r;
    const auto& k = cfg.at(key);
    if (k.contains("is_seg") && k["is_seg"].is_boolean()) r.is_seg = k["is_seg"].get<bool>();
    if (k.contains("order") && k["order"].is_number_integer()) r.order = k["order"].get<int>();
    if (k.contains("order_z") && k["order_z"].is_number_integer()) r.order_z = k["order_z"].get<int>();
    if (k.contains("force_separate_z") && k["force_separate_z"].is_boolean()) r.force_separate_z = k["force_separate_z"].get<bool>();
    return r;
}

inline nnunet_configuration parse_configuration(const std::string& name, const nlohmann::ordered_json& c, const std::string& file) {
    json_reader rd{file, "plans"};
    const std::string F = "configurations." + name + ".";
    nnunet_configuration out;
    out.name = name;
    if (c.contains("data_identifier") && c["data_identifier"].is_string()) out.data_identifier = c["data_identifier"];
    if (c.contains("preprocessor_name") && c["preprocessor_name"].is_string()) out.preprocessor_name = c["preprocessor_name"];
    if (c.contains("batch_size")) out.batch_size = rd.integer(c["batch_size"], F + "batch_size");
    if (c.contains("previous_stage") && c["previous_stage"].is_string()) out.previous_stage = c["previous_stage"];
    if (c.contains("next_stage") && c["next_stage"].is_string()) out.next_stage = c["next_stage"];
    auto patch = rd.ints(rd.need(c, "patch_size"), F + "patch_size");
    const auto& sp = rd.need(c, "spacing");
    if (!sp.is_array()) rd.fail(F + "spacing", "is not a list");
    if (patch.size() != sp.size() || (patch.size() != 2 && patch.size() != 3))
        rd.fail(F + "patch_size", "and spacing must both have 2 or 3 entries");
    out.dimensions = static_cast<int>(patch.size());
    for (std::size_t a = 0; a < patch.size(); ++a) {
        out.patch_size[a] = patch[a];
        out.spacing[a] = rd.number(sp[a], F + "spacing");
    }
    for (auto& s : rd.need(c, "normalization_schemes")) {
        if (!s.is_string()) rd.fail(F + "normalization_schemes", "holds a non-string");
        out.normalization_schemes.push_back(s.get<std::string>());
    }
    if (c.contains("use_mask_for_norm"))
        for (auto& s : c["use_mask_for_norm"]) out.use_mask_for_norm.push_back(s.is_boolean() && s.get<bool>());
    out.resampling_data = parse_resampling(c, "resampling_fn_data_kwargs");
    out.resampling_seg = parse_resampling(c, "resampling_fn_seg_kwargs");
    out.resampling_probabilities = parse_resampling(c, "resampling_fn_probabilities_kwargs");
    if (out.dimensions != 3) return out;  // 2-D networks: described but not built

    nn::unet_config& n = out.network;
    n.input_channels = static_cast<int>(out.normalization_schemes.size());
    std::string cls;
    if (c.contains("architecture")) {  // ≥ 2.3
        const auto& arch = c["architecture"];
        const std::string A = F + "architecture.";
        const auto& cn = rd.need(arch, "network_class_name");
        if (!cn.is_string()) rd.fail(A + "network_class_name", "is not a string");
        out.network_class_name = cn.get<std::string>();
        const auto& kw = rd.need(arch, "arch_kwargs");
        const std::string K = A + "arch_kwargs.";
        n.features_per_stage = rd.ints(rd.need(kw, "features_per_stage"), K + "features_per_stage");
        n.kernel_sizes = rd.int3_list(rd.need(kw, "kernel_sizes"), K + "kernel_sizes");
        n.strides = rd.int3_list(rd.need(kw, "strides"), K + "strides");
        if (kw.contains("n_blocks_per_stage")) n.n_conv_per_stage = rd.ints(kw["n_blocks_per_stage"], K + "n_blocks_per_stage");
        else n.n_conv_per_stage = rd.ints(rd.need(kw, "n_conv_per_stage"), K + "n_conv_per_stage");
        n.n_conv_per_stage_decoder = rd.ints(rd.need(kw, "n_conv_per_stage_decoder"), K + "n_conv_per_stage_decoder");
        if (kw.contains("n_stages") && rd.integer(kw["n_stages"], K + "n_stages") != n.n_stages())
            rd.fail(K + "n_stages", "disagrees with features_per_stage");
        if (kw.contains("conv_bias") && kw["conv_bias"].is_boolean()) n.conv_bias = kw["conv_bias"].get<bool>();
        if (kw.contains("norm_op") && kw["norm_op"].is_string()) {
            std::string no = kw["norm_op"];
            if (no.find("InstanceNorm") == std::string::npos)
                throw error(errc::unsupported, "plans: norm_op '" + no + "' (only InstanceNorm3d is supported)", file, K + "norm_op", no);
        }
        if (kw.contains("norm_op_kwargs") && kw["norm_op_kwargs"].is_object()) {
            const auto& nk = kw["norm_op_kwargs"];
            if (nk.contains("eps")) n.norm_eps = rd.number(nk["eps"], K + "norm_op_kwargs.eps");
            if (nk.contains("affine") && nk["affine"].is_boolean()) n.norm_affine = nk["affine"].get<bool>();
        }
        if (kw.contains("dropout_op") && !kw["dropout_op"].is_null())
            throw error(errc::unsupported, "plans: dropout_op is set (nnU-Net never configures one; not supported)", file, K + "dropout_op");
        if (kw.contains("nonlin") && kw["nonlin"].is_string()) {
            std::string nl = kw["nonlin"];
            if (nl == "torch.nn.LeakyReLU" || nl == "torch.nn.modules.activation.LeakyReLU") n.nonlin = nn::nonlinearity::leaky_relu;
            else if (nl == "torch.nn.ReLU" || nl == "torch.nn.modules.activation.ReLU") n.nonlin = nn::nonlinearity::relu;
            else throw error(errc::unsupported, "plans: nonlin '" + nl + "'", file, K + "nonlin", nl);
        }
        // LeakyReLU's negative_slope is only present if a custom planner wrote it; PyTorch's default is 0.01.
        if (kw.contains("nonlin_kwargs") && kw["nonlin_kwargs"].is_object() && kw["nonlin_kwargs"].contains("negative_slope"))
            n.negative_slope = rd.number(kw["nonlin_kwargs"]["negative_slope"], K + "nonlin_kwargs.negative_slope");
        cls = out.network_class_name.substr(out.network_class_name.rfind('.') + 1);
    } else {  // 2.0 – 2.2 flat layout
        const auto& cn = rd.need(c, "UNet_class_name");
        if (!cn.is_string()) rd.fail(F + "UNet_class_name", "is not a string");
        cls = cn.get<std::string>();
        out.network_class_name = cls;
        n.n_conv_per_stage = rd.ints(rd.need(c, "n_conv_per_stage_encoder"), F + "n_conv_per_stage_encoder");
        n.n_conv_per_stage_decoder = rd.ints(rd.need(c, "n_conv_per_stage_decoder"), F + "n_conv_per_stage_decoder");
        n.kernel_sizes = rd.int3_list(rd.need(c, "conv_kernel_sizes"), F + "conv_kernel_sizes");
        n.strides = rd.int3_list(rd.need(c, "pool_op_kernel_sizes"), F + "pool_op_kernel_sizes");
        const int base = rd.integer(rd.need(c, "UNet_base_num_features"), F + "UNet_base_num_features");
        // unet_max_num_features: absent in the very first v2 plans; 320 is UNet_max_features_3d there.
        const int mx = c.contains("unet_max_num_features") ? rd.integer(c["unet_max_num_features"], F + "unet_max_num_features") : 320;
        if (base <= 0 || mx <= 0) rd.fail(F + "UNet_base_num_features", "must be positive");
        for (std::size_t s = 0; s < n.n_conv_per_stage.size(); ++s) {
            long long f = base;
            for (std::size_t k = 0; k < s && f < mx; ++k) f *= 2;
            n.features_per_stage.push_back(static_cast<int>(std::min<long long>(f, mx)));
        }
    }
    if (cls == "PlainConvUNet") n.kind = nn::unet_kind::plain;
    else if (cls == "ResidualEncoderUNet") n.kind = nn::unet_kind::residual_encoder;
    else throw error(errc::unsupported, "plans: network class '" + out.network_class_name +
                     "' (supported: PlainConvUNet, ResidualEncoderUNet)", file, F + "network_class_name", out.network_class_name);
    const std::size_t ns = n.features_per_stage.size();
    if (ns < 1 || n.kernel_sizes.size() != ns || n.strides.size() != ns || n.n_conv_per_stage.size() != ns ||
        n.n_conv_per_stage_decoder.size() + 1 != ns)
        rd.fail(F + "architecture", "has inconsistent per-stage list lengths");
    return out;
}

}  // namespace detail

/// Parse the text of a plans.json (both layouts, inheritance resolved; configurations that are 2-D are kept with
/// dimensions = 2). `path` only names the source in messages. read_nnunet_plans runs this on the file's text.
inline nnunet_plans parse_nnunet_plans(const std::string& text, const std::string& path = "plans.json", const json_limits& lim = {}) {
    const nlohmann::ordered_json j = detail::parse_json_text(text, lim, "plans", path);
    detail::json_reader rd{path, "plans"};
    if (!j.is_object()) rd.fail("(root)", "is not an object");
    nnunet_plans p;
    if (j.contains("dataset_name") && j["dataset_name"].is_string()) p.dataset_name = j["dataset_name"];
    if (j.contains("plans_name") && j["plans_name"].is_string()) p.plans_name = j["plans_name"];
    if (j.contains("transpose_forward")) p.transpose_forward = rd.int3(j["transpose_forward"], "transpose_forward");
    if (j.contains("transpose_backward")) p.transpose_backward = rd.int3(j["transpose_backward"], "transpose_backward");
    for (auto* t : {&p.transpose_forward, &p.transpose_backward}) {
        std::array<int, 3> s = *t;
        std::sort(s.begin(), s.end());
        if (s != std::array<int, 3>{0, 1, 2}) rd.fail("transpose_forward", "is not a permutation of 0, 1, 2");
    }
    const char* fk = j.contains("foreground_intensity_properties_per_channel") ? "foreground_intensity_properties_per_channel"
                                                                                : "foreground_intensity_properties_by_modality";
    if (j.contains(fk) && j[fk].is_object()) {
        const auto& fp = j[fk];
        for (int ch = 0; fp.contains(std::to_string(ch)); ++ch) {
            const auto& e = fp[std::to_string(ch)];
            const std::string F = std::string(fk) + "." + std::to_string(ch) + ".";
            nnunet_intensity_properties ip;
            auto num = [&](const char* k, double& dst) { if (e.contains(k)) dst = rd.number(e[k], F + k); };
            num("mean", ip.mean); num("median", ip.median); num("std", ip.std); num("min", ip.min); num("max", ip.max);
            num("percentile_00_5", ip.percentile_00_5); num("percentile_99_5", ip.percentile_99_5);
            p.foreground_intensity_properties.push_back(ip);
        }
    }
    const auto& cfgs = rd.need(j, "configurations");
    if (!cfgs.is_object()) rd.fail("configurations", "is not an object");
    for (auto it = cfgs.begin(); it != cfgs.end(); ++it) {
        try {
            // Resolve inherits_from chains (parent first, child keys override), refusing cycles.
            std::vector<const nlohmann::ordered_json*> chain;
            std::set<std::string> seen;
            std::string cur = it.key();
            while (true) {
                if (!seen.insert(cur).second) rd.fail("configurations." + it.key() + ".inherits_from", "forms a cycle");
                // nnU-Net's own plans inherit at most twice; a long chain is refused (each step searches the
                // configurations, so thousands of chained configurations would take cubic time).
                if (seen.size() > 16) rd.fail("configurations." + it.key() + ".inherits_from", "chain is longer than 16");
                if (!cfgs.contains(cur) || !cfgs[cur].is_object())
                    rd.fail("configurations." + it.key() + ".inherits_from", "names missing configuration '" + cur + "'");
                chain.push_back(&cfgs[cur]);
                const auto& c = cfgs[cur];
                if (!c.contains("inherits_from") || c["inherits_from"].is_null()) break;
                if (!c["inherits_from"].is_string()) rd.fail("configurations." + cur + ".inherits_from", "is not a string");
                cur = c["inherits_from"].get<std::string>();
            }
            nlohmann::ordered_json merged = nlohmann::ordered_json::object();
            for (auto c = chain.rbegin(); c != chain.rend(); ++c)
                for (auto kv = (*c)->begin(); kv != (*c)->end(); ++kv) merged[kv.key()] = kv.value();
            p.configurations.emplace(it.key(), detail::parse_configuration(it.key(), merged, path));
        } catch (const error& e) {
            p.invalid_configurations.emplace(it.key(), e);
        }
    }
    return p;
}

/// Read plans.json (see parse_nnunet_plans).
inline nnunet_plans read_nnunet_plans(const std::string& path, const json_limits& lim = {}) {
    return parse_nnunet_plans(detail::read_json_text(path, lim.max_bytes, "plans"), path, lim);
}

/// Parse the text of a dataset.json (nnU-Net v2). `path` only names the source in messages.
inline nnunet_dataset parse_nnunet_dataset(const std::string& text, const std::string& path = "dataset.json", const json_limits& lim = {}) {
    const nlohmann::ordered_json j = detail::parse_json_text(text, lim, "dataset", path);
    detail::json_reader rd{path, "dataset"};
    nnunet_dataset d;
    // v2 key "channel_names"; v1-converted datasets use "modality".
    const char* ck = j.contains("channel_names") ? "channel_names" : "modality";
    const auto& ch = rd.need(j, ck);
    if (!ch.is_object()) rd.fail(ck, "is not an object");
    for (int c = 0; ch.contains(std::to_string(c)); ++c) {
        const auto& v = ch[std::to_string(c)];
        if (!v.is_string()) rd.fail(std::string(ck) + "." + std::to_string(c), "is not a string");
        d.channel_names.push_back(v.get<std::string>());
    }
    if (d.channel_names.empty()) rd.fail(ck, "has no channel \"0\"");
    const auto& labels = rd.need(j, "labels");
    if (!labels.is_object()) rd.fail("labels", "is not an object");
    for (auto it = labels.begin(); it != labels.end(); ++it) {
        std::vector<int> vals;
        if (it->is_array()) {
            d.has_regions = true;
            vals = rd.ints(*it, "labels." + it.key());
            if (vals.empty()) rd.fail("labels." + it.key(), "is an empty list");
        } else vals.push_back(rd.integer(*it, "labels." + it.key()));
        if (it.key() == "ignore") d.ignore_label = vals.front();
        d.labels.emplace_back(it.key(), vals);
    }
    if (!d.has_regions) {
        // Labels must be consecutive from 0 (nnunetv2 LabelManager / dataset_format.md).
        std::set<int> v;
        for (auto& l : d.labels)
            if (l.first != "ignore") v.insert(l.second.front());
        int e = 0;
        for (int x : v)
            if (x != e++) rd.fail("labels", "are not consecutive integers starting at 0");
    }
    if (j.contains("file_ending") && j["file_ending"].is_string()) d.file_ending = j["file_ending"];
    if (j.contains("numTraining") && j["numTraining"].is_number_integer()) d.num_training = j["numTraining"].get<int>();
    return d;
}

/// Read dataset.json (see parse_nnunet_dataset).
inline nnunet_dataset read_nnunet_dataset(const std::string& path, const json_limits& lim = {}) {
    return parse_nnunet_dataset(detail::read_json_text(path, lim.max_bytes, "dataset"), path, lim);
}

}  // namespace ctspine
