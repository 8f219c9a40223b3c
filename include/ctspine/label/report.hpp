// ctspine — export of a vertebra report (measure_vertebrae) as JSON (with a VerSe-style centroid list) and CSV.
// JSON is written by hand: no JSON library in the label part.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>

#include "ctspine/label/label_schemes.hpp"
#include "ctspine/label/measurements.hpp"

namespace ctspine {

namespace detail {
inline std::string json_num(double x) {
    if (!std::isfinite(x)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", x);  // enough digits to reproduce centroids to ~1e-6 mm
    return buf;
}
inline std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o + "\"";
}
inline const char* issue_kind_name(vertebra_issue::kind k) {
    switch (k) {
        case vertebra_issue::kind::missing: return "missing";
        case vertebra_issue::kind::swapped: return "swapped";
        case vertebra_issue::kind::duplicated: return "duplicated";
        case vertebra_issue::kind::unknown_label: return "unknown_label";
    }
    return "unknown";
}
}  // namespace detail

/// The report as JSON: {"vertebrae": [...], "issues": [...], "verse_centroids": [...]}. The VerSe-style centroid list
/// follows the VerSe challenge's centroid files: a {"direction": [...]} entry naming the grid orientation, then
/// {"label", "X", "Y", "Z"} per vertebra with voxel coordinates and VerSe label numbers.
inline std::string to_json(const vertebra_report& rep) {
    using detail::json_num;
    std::string o = "{\n  \"orientation\": " + detail::json_str(rep.orientation) + ",\n  \"vertebrae\": [";
    for (size_t i = 0; i < rep.vertebrae.size(); ++i) {
        const auto& v = rep.vertebrae[i];
        o += std::string(i ? "," : "") + "\n    {\"label\": " + std::to_string(v.label) + ", \"name\": " + detail::json_str(v.name) +
             ", \"voxels\": " + std::to_string(v.voxels) + ", \"volume_mm3\": " + json_num(v.volume_mm3) +
             ", \"components\": " + std::to_string(v.components) + ", \"centroid_ijk\": [" + json_num(v.centroid_ijk[0]) + ", " +
             json_num(v.centroid_ijk[1]) + ", " + json_num(v.centroid_ijk[2]) + "], \"centroid_mm\": [" + json_num(v.centroid_mm[0]) +
             ", " + json_num(v.centroid_mm[1]) + ", " + json_num(v.centroid_mm[2]) + "], \"bbox_min\": [" + std::to_string(v.bbox_min[0]) +
             ", " + std::to_string(v.bbox_min[1]) + ", " + std::to_string(v.bbox_min[2]) + "], \"bbox_max\": [" +
             std::to_string(v.bbox_max[0]) + ", " + std::to_string(v.bbox_max[1]) + ", " + std::to_string(v.bbox_max[2]) + "]" +
             (v.mean_hu ? ", \"mean_hu\": " + json_num(*v.mean_hu) : std::string()) + "}";
    }
    o += "\n  ],\n  \"issues\": [";
    for (size_t i = 0; i < rep.issues.size(); ++i) {
        const auto& is = rep.issues[i];
        o += std::string(i ? "," : "") + "\n    {\"kind\": \"" + detail::issue_kind_name(is.what) + "\", \"labels\": [";
        for (size_t k = 0; k < is.labels.size(); ++k) o += (k ? ", " : "") + std::to_string(is.labels[k]);
        o += "], \"message\": " + detail::json_str(is.message) + "}";
    }
    o += "\n  ],\n  \"verse_centroids\": [\n    {\"direction\": [\"" + rep.orientation.substr(0, 1) + "\", \"" + rep.orientation.substr(1, 1) +
         "\", \"" + rep.orientation.substr(2, 1) + "\"]}";
    for (const auto& v : rep.vertebrae) {
        auto w = vertebra_of(rep.scheme, v.label);
        auto verse = w ? label_of(label_scheme::verse, *w) : std::nullopt;
        if (!verse) continue;
        o += ",\n    {\"label\": " + std::to_string(*verse) + ", \"X\": " + json_num(v.centroid_ijk[0]) + ", \"Y\": " + json_num(v.centroid_ijk[1]) +
             ", \"Z\": " + json_num(v.centroid_ijk[2]) + "}";
    }
    return o + "\n  ]\n}\n";
}

/// The measurements as CSV, one row per label.
inline std::string to_csv(const vertebra_report& rep) {
    using detail::json_num;
    std::string o = "label,name,voxels,volume_mm3,components,centroid_i,centroid_j,centroid_k,centroid_r_mm,centroid_a_mm,centroid_s_mm,"
                    "bbox_i0,bbox_j0,bbox_k0,bbox_i1,bbox_j1,bbox_k1,mean_hu\n";
    for (const auto& v : rep.vertebrae) {
        o += std::to_string(v.label) + "," + v.name + "," + std::to_string(v.voxels) + "," + json_num(v.volume_mm3) + "," +
             std::to_string(v.components);
        for (double c : v.centroid_ijk) o += "," + json_num(c);
        for (double c : v.centroid_mm) o += "," + json_num(c);
        for (index_t b : v.bbox_min) o += "," + std::to_string(b);
        for (index_t b : v.bbox_max) o += "," + std::to_string(b);
        o += "," + (v.mean_hu ? json_num(*v.mean_hu) : std::string()) + "\n";
    }
    return o;
}

}  // namespace ctspine
