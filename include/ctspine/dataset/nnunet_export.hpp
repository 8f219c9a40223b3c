// ctspine — write a dataset as an nnU-Net v2 raw dataset (nnU-Net documentation/dataset_format.md):
//
//   OUT/DatasetNNN_NAME/dataset.json
//   OUT/DatasetNNN_NAME/imagesTr/<case>_0000.nii.gz   training CTs (cases with a label map, not in a test split)
//   OUT/DatasetNNN_NAME/labelsTr/<case>.nii.gz        their label maps
//   OUT/DatasetNNN_NAME/imagesTs/<case>_0000.nii.gz   CTs of the test splits (and CTs without a label map)
//   OUT/DatasetNNN_NAME/labelsTs/<case>.nii.gz        label maps of the test cases (nnU-Net ignores this folder;
//                                                     `ctspine evaluate` / benchmark can use it)
//
// dataset.json: channel_names {"0": "CT"} (nnU-Net's CT normalisation), labels background = 0 plus every vertebra of
// the scheme 1..max_label by name (VerSe / CTSpine1K: C1 = 1 … L6 = 25: consecutive, as nnU-Net requires), numTraining,
// file_ending ".nii.gz", name, and a description naming the source. Which case goes where depends only on the file
// names and the split, so dataset.json is known before any file is written: it is written first, and a folder whose
// dataset.json differs is refused (a different dataset), whereas the same one is resumed.
//
// Files that need no change are hard-linked (copied when the link fails, e.g. across file systems). Label maps are
// rewritten when they must change: a floating-point or scaled (scl_slope/scl_inter) label map becomes uint8, a label
// map whose affine/spacing differs from its CT's only within the tolerance gets the CT's geometry (and the log says
// so), a plain .nii is compressed. A CT in plain .nii is compressed. Label maps on a different grid (shape,
// orientation, affine beyond the tolerance), with fractional values or values outside 0..max_label are not exported:
// the case is reported as failed and the dataset stays incomplete (nnU-Net's check would reject it) until the source
// is fixed and the export run again. Every file is written atomically; a re-run skips files already in place.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/dataset/check.hpp"
#include "ctspine/dataset/ctspine1k.hpp"
#include "ctspine/dataset/index.hpp"
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/io/nifti.hpp"
#include "ctspine/label/label_schemes.hpp"

namespace ctspine {

struct nnunet_export_options {
    int dataset_id = 0;                 ///< 1..999 (nnU-Net names datasets "Dataset%03d_NAME")
    std::string dataset_name;           ///< letters, digits, '_', '-'
    int threads = 0;                    ///< 0 = hardware threads; the output is identical for any value
    int cases_in_flight = 0;            ///< cases in memory at once (0 = the thread count)
    progress_fn progress;               ///< between groups of cases; false cancels (errc::cancelled)
    label_scheme scheme = label_scheme::verse;  ///< label names in dataset.json
    std::int64_t max_label = 25;        ///< labels 1..max_label (≤ 255)
    double affine_tolerance_mm = 0.01;  ///< a label grid this close to the CT's gets the CT's geometry
    bool hard_link = true;              ///< false: always copy
    bool verify_labels = true;          ///< read every label map and refuse values outside 0..max_label or fractions
};

struct nnunet_export_result {
    std::string folder;                    ///< OUT/DatasetNNN_NAME
    std::string dataset_json;              ///< its dataset.json
    std::size_t training = 0, test = 0;    ///< cases planned for imagesTr / imagesTs
    std::size_t linked = 0, copied = 0, rewritten = 0, existing = 0;  ///< files by what was done
    std::vector<std::string> failed;       ///< "case: reason" — cases not (completely) exported
    std::vector<std::string> log;          ///< every rewrite and every skipped case, in case order
};

/// Where a case goes.
enum class nnunet_role { training, test, skipped };

/// A case's role: training when it has a CT and a label map and its split is not a test split; test for test-split
/// CTs and CTs without a label map; skipped for label maps without a CT.
inline nnunet_role nnunet_role_of(const dataset_case& c) {
    if (c.image.empty()) return nnunet_role::skipped;
    if (is_test_split(c.split) || c.label.empty()) return nnunet_role::test;
    return nnunet_role::training;
}

/// "DatasetNNN_NAME"; throws errc::invalid_argument for an id outside 1..999 or an unusable name.
inline std::string nnunet_dataset_folder_name(int id, const std::string& name) {
    if (id < 1 || id > 999) throw error(errc::invalid_argument, detail::cat("nnU-Net dataset id ", id, " is not in 1..999"));
    if (name.empty()) throw error(errc::invalid_argument, "nnU-Net dataset name is empty");
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            throw error(errc::invalid_argument, "nnU-Net dataset name '" + name + "': use letters, digits, '_' and '-'");
    char buf[16];
    std::snprintf(buf, sizeof buf, "Dataset%03d_", id);
    return buf + name;
}

/// The dataset.json of an export (4-space indentation, as nnU-Net's generate_dataset_json writes).
inline std::string nnunet_dataset_json(const std::string& name, std::size_t num_training, label_scheme scheme, std::int64_t max_label,
                                       const std::string& description) {
    using detail::dataset_json_str;
    std::string o = "{\n    \"channel_names\": {\n        \"0\": \"CT\"\n    },\n    \"labels\": {\n        \"background\": 0";
    for (std::int64_t v = 1; v <= max_label; ++v) o += ",\n        " + dataset_json_str(label_name(scheme, v)) + ": " + std::to_string(v);
    o += "\n    },\n    \"numTraining\": " + std::to_string(num_training) + ",\n    \"file_ending\": \".nii.gz\",\n    \"name\": " +
         dataset_json_str(name) + ",\n    \"description\": " + dataset_json_str(description) + "\n}\n";
    return o;
}

namespace detail {

inline bool file_exists(const std::string& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
}

inline bool starts_with_gzip(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    unsigned char m[2] = {0, 0};
    f.read(reinterpret_cast<char*>(m), 2);
    return f.gcount() == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/// Put `src` at `dst` unchanged: a hard link published by rename (atomic), else an atomic copy. Returns true when
/// linked.
inline bool place_unchanged(const std::string& src, const std::string& dst, bool link) {
    namespace fs = std::filesystem;
    if (link) {
        const std::string tmp = dst + ".tmp-link";
        std::error_code ec;
        fs::remove(tmp, ec);
        fs::create_hard_link(src, tmp, ec);
        if (!ec) {
            fs::rename(tmp, dst, ec);
            if (!ec) return true;
            fs::remove(tmp, ec);
        }
    }
    std::ifstream in(src, std::ios::binary);
    if (!in) throw error(errc::io, "cannot open the file to copy", src);
    output_file out(dst);
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        out.write(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw error(errc::io, "read error while copying", src);
    out.commit();
    return false;
}

struct export_case_result {
    std::size_t linked = 0, copied = 0, rewritten = 0, existing = 0;
    std::vector<std::string> log;
    std::string failure;
};

/// The label map of `r` written to `dst`, or the reason it cannot be.
inline void export_label(const index_record& r, const std::string& dst, const nnunet_export_options& opt, int threads, export_case_result& out) {
    if (!r.label_info.readable) {
        out.failure = "label map unreadable: " + r.label_info.error;
        return;
    }
    double diff = 0;
    const grid_relation g = compare_grids(r.image_info, r.label_info, opt.affine_tolerance_mm, &diff);
    switch (g) {
        case grid_relation::shape:
            out.failure = "label map grid " + dims_text(r.label_info) + " differs from the CT's " + dims_text(r.image_info);
            return;
        case grid_relation::orientation:
            out.failure = "label map orientation " + r.label_info.orientation + " differs from the CT's " + r.image_info.orientation;
            return;
        case grid_relation::affine:
            out.failure = cat("label map affine/spacing differs from the CT's by up to ", dataset_num(diff), " mm (tolerance ",
                              dataset_num(opt.affine_tolerance_mm), " mm)");
            return;
        case grid_relation::unknown:
            out.failure = "CT header unreadable: " + r.image_info.error;
            return;
        default: break;
    }
    std::vector<std::string> why;
    if (g == grid_relation::within_tolerance)
        why.push_back(cat("geometry copied from the CT (affine/spacing differed by up to ", dataset_num(diff), " mm)"));
    if (r.label_info.datatype == 16 || r.label_info.datatype == 64) why.push_back("datatype " + r.label_info.datatype_name + " -> uint8");
    if (r.label_info.scaled)
        why.push_back(cat("scl_slope ", dataset_num(r.label_info.scl_slope), " / scl_inter ", dataset_num(r.label_info.scl_inter), " applied"));
    if (!dataset_ends_with(r.label, ".nii.gz") || !starts_with_gzip(r.label)) why.push_back("compressed");
    if (!why.empty() || opt.verify_labels) {
        with_stored_volume(r.label, threads, [&](const auto& v, const nifti_header& h) {
            const label_statistics st = scan_label_values(v, h.slope(), h.inter(), h.has_scaling());
            if (st.fractional_voxels) {
                out.failure = cat("label map has ", st.fractional_voxels, " non-integer voxels (e.g. ", dataset_num(st.fractional_example), ")");
                return;
            }
            std::map<std::int64_t, std::int64_t> outside;
            for (const auto& [val, n] : st.voxels)
                if (val < 0 || val > opt.max_label) outside[val] = n;
            if (!outside.empty() || st.distinct_dropped) {
                out.failure = cat("label values outside 0..", opt.max_label, ": ", value_list(outside));
                return;
            }
            if (why.empty()) return;
            using S = typename std::decay_t<decltype(v)>::value_type;
            nifti_header ct = read_nifti_header(r.image);
            geometry geo = ct.geom();
            volume<std::uint8_t> lab(geo);
            const S* src = v.data();
            std::uint8_t* dstp = lab.data();
            const index_t n = geo.voxel_count();
            const bool scale = h.has_scaling();
            for (index_t i = 0; i < n; ++i) {
                const double val = scale ? double(src[i]) * h.slope() + h.inter() : double(src[i]);
                dstp[i] = static_cast<std::uint8_t>(val);
            }
            nifti_write_options wo;
            wo.threads = threads;
            wo.compress = 1;
            write_nifti(dst, lab, wo);
            ++out.rewritten;
            std::string w;
            for (const auto& s : why) w += (w.empty() ? "" : "; ") + s;
            out.log.push_back(r.name + ": label map rewritten (" + w + ")");
        });
    }
    if (!out.failure.empty() || !why.empty()) return;
    if (place_unchanged(r.label, dst, opt.hard_link)) ++out.linked;
    else ++out.copied;
}

inline void export_image(const index_record& r, const std::string& dst, const nnunet_export_options& opt, int threads, export_case_result& out) {
    if (!r.image_info.readable) {
        out.failure = "CT unreadable: " + r.image_info.error;
        return;
    }
    if (dataset_ends_with(r.image, ".nii.gz") && starts_with_gzip(r.image)) {
        if (place_unchanged(r.image, dst, opt.hard_link)) ++out.linked;
        else ++out.copied;
        return;
    }
    with_stored_volume(r.image, threads, [&](const auto& v, const nifti_header& h) {
        nifti_write_options wo;
        wo.threads = threads;
        wo.compress = 1;
        wo.scl_slope = h.scl_slope;
        wo.scl_inter = h.scl_inter;
        write_nifti(dst, v, wo);
    });
    ++out.rewritten;
    out.log.push_back(r.name + ": CT rewritten (compressed)");
}

}  // namespace detail

/// Export an indexed dataset to OUT/DatasetNNN_NAME (see the top of this file). Throws errc::invalid_argument for a
/// bad id/name or when the folder holds a different dataset, errc::io when it cannot be written, errc::cancelled.
/// Cases that cannot be exported are listed in result.failed; the others are exported.
inline nnunet_export_result export_nnunet(const dataset_index& idx, const std::string& out_dir, const nnunet_export_options& opt) {
    namespace fs = std::filesystem;
    nnunet_export_result res;
    if (opt.max_label < 1 || opt.max_label > 255) throw error(errc::invalid_argument, "to-nnunet: max_label must be 1..255");
    const std::string folder_name = nnunet_dataset_folder_name(opt.dataset_id, opt.dataset_name);
    const fs::path folder = fs::path(out_dir) / folder_name;
    res.folder = folder.string();

    std::vector<nnunet_role> roles(idx.records.size());
    for (std::size_t i = 0; i < idx.records.size(); ++i) {
        roles[i] = nnunet_role_of(idx.records[i]);
        if (roles[i] == nnunet_role::training) ++res.training;
        if (roles[i] == nnunet_role::test) ++res.test;
    }
    std::error_code ec;
    const fs::path abs_root = fs::absolute(idx.root, ec);
    res.dataset_json = nnunet_dataset_json(opt.dataset_name, res.training, opt.scheme, opt.max_label,
                                           "Converted by ctspine dataset to-nnunet from " + (ec ? idx.root : abs_root.lexically_normal().string()));
    const std::string json_path = (folder / "dataset.json").string();
    if (detail::file_exists(json_path)) {
        std::ifstream f(json_path, std::ios::binary);
        std::ostringstream ss;
        ss << f.rdbuf();
        if (ss.str() != res.dataset_json)
            throw error(errc::invalid_argument,
                        "to-nnunet: the folder holds a different dataset (its dataset.json differs); remove it or choose another --id/--name",
                        json_path);
    }
    for (const char* sub : {"imagesTr", "labelsTr", "imagesTs", "labelsTs"}) {
        fs::create_directories(folder / sub, ec);
        if (ec) throw error(errc::io, "cannot create the folder (" + ec.message() + ")", (folder / sub).string());
    }
    if (!detail::file_exists(json_path)) write_file_atomic(json_path, res.dataset_json);

    const int threads = resolve_threads(opt.threads);
    const int in_flight = opt.cases_in_flight > 0 ? opt.cases_in_flight : threads;
    const int per_case_threads = std::max(1, threads / in_flight);
    const std::size_t n = idx.records.size();
    std::vector<detail::export_case_result> per_case(n);
    detail::report(opt.progress, 0.0, "to-nnunet");
    for (std::size_t b = 0; b < n; b += static_cast<std::size_t>(in_flight)) {
        const std::size_t e = std::min(n, b + static_cast<std::size_t>(in_flight));
        parallel_for(std::min(threads, in_flight), static_cast<std::ptrdiff_t>(e - b), [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
            for (std::ptrdiff_t k = i0; k < i1; ++k) {
                const std::size_t i = b + static_cast<std::size_t>(k);
                const index_record& r = idx.records[i];
                auto& out = per_case[i];
                if (roles[i] == nnunet_role::skipped) {
                    out.log.push_back(r.name + ": not exported (label map without a CT)");
                    continue;
                }
                const bool train = roles[i] == nnunet_role::training;
                const std::string img = (folder / (train ? "imagesTr" : "imagesTs") / (r.name + "_0000.nii.gz")).string();
                const std::string lab = r.label.empty() ? std::string() : (folder / (train ? "labelsTr" : "labelsTs") / (r.name + ".nii.gz")).string();
                if (!train && r.label.empty() && !is_test_split(r.split)) out.log.push_back(r.name + ": no label map, CT exported to imagesTs");
                try {
                    // label first: a case whose label map cannot be exported gets no CT either
                    if (!lab.empty()) {
                        if (detail::file_exists(lab)) ++out.existing;
                        else detail::export_label(r, lab, opt, per_case_threads, out);
                    }
                    if (!out.failure.empty()) continue;
                    if (detail::file_exists(img)) ++out.existing;
                    else detail::export_image(r, img, opt, per_case_threads, out);
                } catch (const error& err) {
                    if (err.code() == errc::cancelled) throw;
                    out.failure = err.what();
                }
            }
        });
        detail::report(opt.progress, double(e) / double(n), "to-nnunet");
    }
    std::set<std::string> expected;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& r = idx.records[i];
        auto& c = per_case[i];
        res.linked += c.linked;
        res.copied += c.copied;
        res.rewritten += c.rewritten;
        res.existing += c.existing;
        for (auto& l : c.log) res.log.push_back(std::move(l));
        if (!c.failure.empty()) {
            res.failed.push_back(r.name + ": " + c.failure);
            res.log.push_back(r.name + ": not exported: " + c.failure);
        }
        if (roles[i] == nnunet_role::skipped) continue;
        const bool train = roles[i] == nnunet_role::training;
        expected.insert(std::string(train ? "imagesTr/" : "imagesTs/") + r.name + "_0000.nii.gz");
        if (!r.label.empty()) expected.insert(std::string(train ? "labelsTr/" : "labelsTs/") + r.name + ".nii.gz");
    }
    // Files that this export did not plan would change what nnU-Net sees (numTraining, labels): report them.
    for (const char* sub : {"imagesTr", "labelsTr", "imagesTs", "labelsTs"}) {
        for (const auto& p : detail::list_nifti(folder / sub, false)) {
            const std::string rel = std::string(sub) + "/" + p.filename().string();
            if (!expected.count(rel)) res.failed.push_back(rel + ": a file this export did not write (from another run or dataset?)");
        }
    }
    return res;
}

/// scan + index + export in one call.
inline nnunet_export_result export_nnunet(const std::string& root, const std::string& out_dir, const nnunet_export_options& opt,
                                          const std::map<std::string, std::string>& split = {}) {
    index_options io;
    io.threads = opt.threads;
    return export_nnunet(index_dataset(root, split, io), out_dir, opt);
}

}  // namespace ctspine
