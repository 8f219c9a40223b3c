// ctspine — nnU-Net v1's default postprocessing: <model folder>/postprocessing.json, applied by nnUNet_predict
// whenever the file exists (nnunet-v1-spec.md §1.6, §5.5; nnU-Net v1.7.1 nnunet/inference/predict.py predict_cases
// :270-289, nnunet/postprocessing/connected_components.py load_postprocessing, load_remove_save,
// remove_all_but_the_largest_connected_component).
//
// For each entry of for_which_classes, in order (later entries see earlier removals): the mask is `label == c`, or
// the union of the listed classes for a group; its 6-connected components (scipy.ndimage.label's default structure)
// get size = voxel count × prod(spacing) (float64); every component whose size differs from the maximum is set to 0,
// unless min_valid_object_sizes is given and the component is not smaller than min_valid_object_sizes[c].
// for_which_classes = null means every label present (> 0). min_valid_object_sizes is a string: "None" or the repr
// of a dict with int or tuple keys (parsed here by a small literal reader; v1 uses ast.literal_eval).
#pragma once
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctspine/core/error.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/label/connected_components.hpp"

namespace ctspine {

struct nnunet_v1_postprocessing {
    bool all_present_classes = false;             ///< for_which_classes was null
    std::vector<std::vector<int>> for_which_classes;  ///< one class, or a group treated as one region
    /// key: the entry (a single class as {c}, a group as its list); nullopt = "None"
    std::optional<std::map<std::vector<int>, double>> min_valid_object_sizes;
};

namespace detail {

/// Reads "None" or "{1: 12.5, (1, 2): 3, 4: 7}" (Python literal dict with int / tuple-of-int keys, numeric values).
inline std::optional<std::map<std::vector<int>, double>> parse_min_sizes(const std::string& s, const std::string& file) {
    auto fail = [&](const std::string& why) -> void {
        throw error(errc::model_format, "postprocessing.json: min_valid_object_sizes " + why, file, "min_valid_object_sizes", s);
    };
    std::size_t p = 0;
    auto ws = [&] { while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p; };
    auto number = [&]() -> double {
        ws();
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(s.substr(p, 64), &used);
        } catch (...) {
            fail("has a value that is not a number");
        }
        if (used == 0) fail("has a value that is not a number");
        p += used;
        return v;
    };
    auto integer = [&]() -> int {
        const double v = number();
        // range first: converting a double outside int (or NaN) is undefined behaviour
        if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != std::trunc(v)) fail("has a non-integer class");
        return static_cast<int>(v);
    };
    ws();
    if (s.compare(p, 4, "None") == 0) return std::nullopt;
    std::map<std::vector<int>, double> out;
    if (p >= s.size() || s[p] != '{') fail("is neither None nor a dict");
    ++p;
    ws();
    while (p < s.size() && s[p] != '}') {
        std::vector<int> key;
        ws();
        if (p < s.size() && (s[p] == '(' || s[p] == '[')) {
            const char close = s[p] == '(' ? ')' : ']';
            ++p;
            ws();
            while (p < s.size() && s[p] != close) {
                key.push_back(integer());
                ws();
                if (p < s.size() && s[p] == ',') ++p;
                ws();
            }
            if (p >= s.size()) fail("is truncated");
            ++p;
        } else {
            key.push_back(integer());
        }
        ws();
        if (p >= s.size() || s[p] != ':') fail("lacks a ':'");
        ++p;
        out[key] = number();
        ws();
        if (p < s.size() && s[p] == ',') ++p;
        ws();
        if (out.size() > 100000) fail("is too large");
    }
    if (p >= s.size()) fail("is truncated");
    return out;
}

}  // namespace detail

/// Parse the text of a v1 postprocessing.json (only for_which_classes and min_valid_object_sizes matter); `path`
/// only names the source in messages. read_nnunet_v1_postprocessing runs this on the file's text.
inline nnunet_v1_postprocessing parse_nnunet_v1_postprocessing(const std::string& text, const std::string& path = "postprocessing.json") {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text.begin(), text.end());
    } catch (const std::exception& e) {
        throw error(errc::model_format, std::string("postprocessing.json: ") + e.what(), path);
    }
    nnunet_v1_postprocessing pp;
    if (!j.is_object() || !j.contains("for_which_classes"))
        throw error(errc::model_format, "postprocessing.json: no for_which_classes", path, "for_which_classes");
    const auto& w = j["for_which_classes"];
    auto cls = [&](const nlohmann::json& v) {
        if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > 65535)
            throw error(errc::model_format, "postprocessing.json: classes must be integers in 1..65535", path, "for_which_classes");
        return static_cast<int>(v.get<long long>());
    };
    if (w.is_null()) {
        pp.all_present_classes = true;
    } else if (w.is_array()) {
        for (const auto& e : w) {
            std::vector<int> g;
            if (e.is_array())
                for (const auto& c : e) g.push_back(cls(c));
            else
                g.push_back(cls(e));
            pp.for_which_classes.push_back(g);
        }
    } else {
        throw error(errc::model_format, "postprocessing.json: for_which_classes is not a list", path, "for_which_classes");
    }
    if (j.contains("min_valid_object_sizes")) {
        const auto& m = j["min_valid_object_sizes"];
        if (m.is_string()) pp.min_valid_object_sizes = detail::parse_min_sizes(m.get<std::string>(), path);
        else if (!m.is_null())
            throw error(errc::model_format, "postprocessing.json: min_valid_object_sizes is not a string", path, "min_valid_object_sizes");
    }
    return pp;
}

/// Read a v1 postprocessing.json (see parse_nnunet_v1_postprocessing).
inline nnunet_v1_postprocessing read_nnunet_v1_postprocessing(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(errc::io, "postprocessing.json: cannot open", path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return parse_nnunet_v1_postprocessing(ss.str(), path);
}

/// remove_all_but_the_largest_connected_component on a label map, in place. `voxel_volume` = prod(spacing) in mm³.
template <class T>
void apply_nnunet_v1_postprocessing(volume_view<T> seg, const nnunet_v1_postprocessing& pp, double voxel_volume, int threads = 0) {
    std::vector<std::vector<int>> entries = pp.for_which_classes;
    if (pp.all_present_classes) {  // np.unique(image) > 0, ascending
        std::vector<bool> present(65536, false);
        for (index_t i = 0; i < seg.size(); ++i)
            if (seg[i] > 0 && static_cast<std::int64_t>(seg[i]) < 65536) present[static_cast<size_t>(seg[i])] = true;
        for (int c = 1; c < 65536; ++c)
            if (present[static_cast<size_t>(c)]) entries.push_back({c});
    }
    volume<std::uint8_t> mask(seg.geometry());
    cc_options co;
    co.connectivity = 6;
    co.binary = true;
    co.threads = threads;
    for (const auto& e : entries) {
        for (index_t i = 0; i < seg.size(); ++i) {
            bool in = false;
            for (int c : e) in = in || static_cast<std::int64_t>(seg[i]) == c;
            mask.data()[i] = in ? 1 : 0;
        }
        cc_result r;
        const volume<std::uint32_t> lab = connected_components<std::uint32_t, std::uint8_t>(volume_view<const std::uint8_t>(mask.view()), co, &r);
        if (r.count == 0) continue;
        std::vector<double> size(r.components.size());
        double mx = 0;
        for (size_t k = 0; k < size.size(); ++k) {
            size[k] = static_cast<double>(r.components[k].voxels) * voxel_volume;
            mx = std::max(mx, size[k]);
        }
        std::vector<bool> keep(size.size(), true);
        for (size_t k = 0; k < size.size(); ++k) {
            if (size[k] == mx) continue;  // every component of the maximum size is kept
            bool remove = true;
            if (pp.min_valid_object_sizes) {
                auto it = pp.min_valid_object_sizes->find(e);
                if (it == pp.min_valid_object_sizes->end())
                    throw error(errc::model_format, "postprocessing.json: min_valid_object_sizes has no entry for a class it post-processes");
                remove = size[k] < it->second;
            }
            keep[k] = !remove;
        }
        apply_component_mask<T, std::uint32_t>(seg, volume_view<const std::uint32_t>(lab.view()), keep, threads);
    }
}

}  // namespace ctspine
