// ctspine — which classes of a segmentation model are vertebrae, from their dataset.json names, and the post-step the
// `ctspine segment` tool applies by default to vertebra models: the vertebra clean-up of label/vertebrae.hpp.
// segmenter::segment() itself stays nnU-Net-faithful; the clean-up is a separate, composable step:
//
//     auto labels = seg.segment(ct);
//     if (is_vertebra_model(seg.class_names())) clean_vertebrae<std::uint16_t>(labels.view());
//
// Accepted names: the bare vertebra name ("L1", "T13", "S1", "sacrum", "coccyx") or any prefix ending in '_'
// ("vertebrae_L1" as TotalSegmentator's class maps, totalsegmentator/map_to_binary.py).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/label/label_schemes.hpp"
#include "ctspine/label/vertebrae.hpp"

namespace ctspine {

/// The vertebra a model class name denotes, or nullopt.
inline std::optional<vertebra> vertebra_of_class_name(const std::string& name) {
    for (int k = static_cast<int>(vertebra::C1); k <= static_cast<int>(vertebra::T13); ++k) {
        const auto v = static_cast<vertebra>(k);
        const std::string n = vertebra_name(v);
        if (name == n) return v;
        if (name.size() > n.size() && name.compare(name.size() - n.size(), n.size(), n) == 0 && name[name.size() - n.size() - 1] == '_')
            return v;
    }
    return std::nullopt;
}

/// True if the model has at least one foreground class and every foreground class (label values 1..) is a vertebra.
inline bool is_vertebra_model(const std::vector<std::string>& class_names) {
    if (class_names.size() < 2) return false;
    for (size_t c = 1; c < class_names.size(); ++c)
        if (!vertebra_of_class_name(class_names[c])) return false;
    return true;
}

/// Lookup table model class -> label value in `scheme` (0 for background and non-vertebra classes).
inline std::vector<std::uint16_t> class_to_scheme_table(const std::vector<std::string>& class_names, label_scheme scheme) {
    std::vector<std::uint16_t> lut(class_names.size(), 0);
    for (size_t c = 1; c < class_names.size(); ++c)
        if (auto v = vertebra_of_class_name(class_names[c]))
            if (auto l = label_of(scheme, *v)) lut[c] = static_cast<std::uint16_t>(*l);
    return lut;
}

}  // namespace ctspine
