// ctspine — a header-only index of a dataset: for every case its source, split, files, and what each file's NIfTI
// header says (dims, spacing, orientation, datatype, scaling, affine, file size). No voxel is read, so 1,005 cases
// index in well under a second from a warm cache; dataset/check.hpp adds the voxel checks.
//
// Output: index.csv (one row per case) and index.json (the same plus the affines), written atomically, and a
// per-source × split count table. Threaded over cases; the records are in case order whatever the thread count.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/orientation.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/dataset/ctspine1k.hpp"
#include "ctspine/dataset/layout.hpp"
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/io/nifti.hpp"

namespace ctspine {

/// What the NIfTI header of one file says (no voxel data read).
struct nifti_file_info {
    bool present = false;                      ///< the case has this file
    bool readable = false;                     ///< its header was read
    std::string error;                         ///< why not (the ctspine::error message), when present && !readable
    std::array<std::int64_t, 3> dims{};        ///< dim[1..3]
    std::int64_t frames = 1;                   ///< product of dim[4..] (1 for a 3-D image)
    std::array<double, 3> pixdim{};            ///< pixdim[1..3] as stored (signed)
    std::array<double, 3> spacing_mm{};        ///< |pixdim[1..3]| (nibabel get_zooms)
    affine4 ijk_to_ras = affine4::Identity();  ///< nibabel's best affine (sform, else qform, else base)
    std::string orientation;                   ///< e.g. "LPS" ("" when the affine has a zero column)
    int datatype = 0;                          ///< NIfTI datatype code
    std::string datatype_name;                 ///< "int16", "float32", ...
    double scl_slope = 0, scl_inter = 0;       ///< as stored
    bool scaled = false;                       ///< nibabel applies a scaling (slope not 0/1 or intercept not 0)
    std::uint64_t bytes = 0;                   ///< file size on disk
};

/// Read the header of `path` into a nifti_file_info (an empty path: present = false). Never throws: the reason an
/// existing file cannot be read goes to `error`.
inline nifti_file_info read_file_info(const std::string& path) {
    nifti_file_info f;
    if (path.empty()) return f;
    f.present = true;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    f.bytes = ec ? 0 : static_cast<std::uint64_t>(size);
    try {
        const nifti_header h = read_nifti_header(path);
        for (int i = 0; i < 3; ++i) {
            const auto k = static_cast<size_t>(i);
            f.dims[k] = i < h.dim[0] ? h.dim[k + 1] : 1;
            f.pixdim[k] = h.pixdim[k + 1];
            f.spacing_mm[k] = i < h.dim[0] ? std::abs(h.pixdim[k + 1]) : 1.0;
        }
        f.frames = h.frames();
        f.ijk_to_ras = h.ijk_to_ras;
        try {
            f.orientation = orientation_code(h.ijk_to_ras);
        } catch (const error&) {
            f.orientation.clear();  // a zero column: no orientation (dataset/check.hpp reports it)
        }
        f.datatype = h.datatype;
        f.datatype_name = nifti_datatype_name(h.datatype);
        f.scl_slope = h.scl_slope;
        f.scl_inter = h.scl_inter;
        f.scaled = h.has_scaling();
        f.readable = true;
    } catch (const error& e) {
        f.error = e.what();
    } catch (const std::exception& e) {  // e.g. std::bad_alloc
        f.error = e.what();
    }
    return f;
}

/// One case of the index: the case (name, source, split, paths) and its two headers.
struct index_record : dataset_case {
    nifti_file_info image_info;  ///< the CT's header (present == false when the case has no CT)
    nifti_file_info label_info;  ///< the label map's header
};

/// The index of a dataset.
struct dataset_index {
    std::string root;                   ///< as given to scan_dataset
    std::string kind;                   ///< layout kind ("huggingface", "nnunet", "flat")
    std::vector<index_record> records;  ///< in case-name order
};

struct index_options {
    int threads = 0;        ///< 0 = hardware threads; the index is identical for any value
    progress_fn progress;   ///< called between batches of cases with the fraction done; false cancels
};

/// Read every case's headers. Unreadable files do not stop the index (their nifti_file_info has an error).
/// Throws errc::cancelled when progress returns false.
inline dataset_index index_dataset(const dataset_layout& layout, const index_options& opt = {}) {
    dataset_index idx;
    idx.root = layout.root;
    idx.kind = layout.kind;
    idx.records.resize(layout.cases.size());
    const int threads = resolve_threads(opt.threads);
    const std::size_t n = layout.cases.size();
    const std::size_t batch = static_cast<std::size_t>(threads) * 32;
    detail::report(opt.progress, 0.0, "index");
    for (std::size_t b = 0; b < n; b += batch) {
        const std::size_t e = std::min(n, b + batch);
        parallel_for(threads, static_cast<std::ptrdiff_t>(e - b), [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
            for (std::ptrdiff_t i = i0; i < i1; ++i) {
                const dataset_case& c = layout.cases[b + static_cast<std::size_t>(i)];
                index_record& r = idx.records[b + static_cast<std::size_t>(i)];
                static_cast<dataset_case&>(r) = c;
                r.image_info = read_file_info(c.image);
                r.label_info = read_file_info(c.label);
            }
        });
        detail::report(opt.progress, double(e) / double(n), "index");
    }
    return idx;
}

/// scan_dataset + index_dataset.
inline dataset_index index_dataset(const std::string& root, const std::map<std::string, std::string>& split = {},
                                   const index_options& opt = {}) {
    return index_dataset(scan_dataset(root, split), opt);
}

namespace detail {

/// Shortest decimal that reads back as the same double, in fixed notation for magnitudes 1e-5 .. 1e16 ("-300",
/// "0.75", "-34.199981689453125"), integral values without ".0".
inline std::string dataset_num(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    int p = 1;
    for (; p <= 17; ++p) {
        std::snprintf(buf, sizeof buf, "%.*g", p, x);
        if (std::strtod(buf, nullptr) == x) break;
    }
    const double ax = std::abs(x);
    if (std::strchr(buf, 'e') && ax >= 1e-5 && ax < 1e16) {
        const int exp10 = static_cast<int>(std::floor(std::log10(ax)));
        std::snprintf(buf, sizeof buf, "%.*f", std::max(0, p - 1 - exp10), x);
    }
    return buf;
}
/// A JSON number, or null for NaN / infinity (JSON has neither).
inline std::string dataset_json_num(double x) { return std::isfinite(x) ? dataset_num(x) : "null"; }

inline std::string dataset_csv(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) {
        if (c == '"') o += '"';
        o += c;
    }
    return o + "\"";
}

inline std::string dataset_json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (u < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", u);
            o += b;
        } else {
            o += c;
        }
    }
    return o + "\"";
}

inline std::string dims_text(const nifti_file_info& f) {
    if (!f.readable) return "";
    std::string s = std::to_string(f.dims[0]) + "x" + std::to_string(f.dims[1]) + "x" + std::to_string(f.dims[2]);
    if (f.frames > 1) s += "x" + std::to_string(f.frames);
    return s;
}
inline std::string spacing_text(const nifti_file_info& f) {
    if (!f.readable) return "";
    return dataset_num(f.spacing_mm[0]) + "x" + dataset_num(f.spacing_mm[1]) + "x" + dataset_num(f.spacing_mm[2]);
}

inline std::string file_info_json(const std::string& path, const nifti_file_info& f) {
    if (!f.present) return "null";
    std::string o = "{\"path\": " + dataset_json_str(path) + ", \"bytes\": " + std::to_string(f.bytes);
    if (!f.readable) return o + ", \"error\": " + dataset_json_str(f.error) + "}";
    o += ", \"dims\": [" + std::to_string(f.dims[0]) + ", " + std::to_string(f.dims[1]) + ", " + std::to_string(f.dims[2]) + "]";
    o += ", \"frames\": " + std::to_string(f.frames);
    o += ", \"spacing_mm\": [" + dataset_json_num(f.spacing_mm[0]) + ", " + dataset_json_num(f.spacing_mm[1]) + ", " +
         dataset_json_num(f.spacing_mm[2]) + "]";
    o += ", \"orientation\": " + dataset_json_str(f.orientation) + ", \"datatype\": " + dataset_json_str(f.datatype_name);
    o += ", \"scl_slope\": " + dataset_json_num(f.scl_slope) + ", \"scl_inter\": " + dataset_json_num(f.scl_inter);
    o += ", \"ijk_to_ras\": [";
    for (int r = 0; r < 4; ++r) {
        o += r ? ", [" : "[";
        for (int c = 0; c < 4; ++c) o += (c ? ", " : "") + dataset_json_num(f.ijk_to_ras(r, c));
        o += "]";
    }
    return o + "]}";
}

}  // namespace detail

/// index.csv: case,source,split,image,label, then for the CT and the label map dims ("512x512x300"), spacing in mm
/// ("0.78x0.78x1.25"), orientation, datatype, file bytes, and last the header errors (empty when both read).
inline std::string index_csv(const dataset_index& idx) {
    using detail::dataset_csv;
    std::string o =
        "case,source,split,image,label,image_dims,image_spacing_mm,image_orientation,image_datatype,image_bytes,"
        "label_dims,label_spacing_mm,label_orientation,label_datatype,label_bytes,error\n";
    for (const auto& r : idx.records) {
        o += dataset_csv(r.name) + "," + dataset_csv(r.source) + "," + dataset_csv(r.split) + "," + dataset_csv(r.image) + "," +
             dataset_csv(r.label);
        for (const nifti_file_info* f : {&r.image_info, &r.label_info}) {
            o += "," + detail::dims_text(*f) + "," + detail::spacing_text(*f) + "," + dataset_csv(f->readable ? f->orientation : "") + "," +
                 (f->readable ? f->datatype_name : std::string()) + "," + (f->present ? std::to_string(f->bytes) : std::string());
        }
        std::string err;
        if (!r.image_info.error.empty()) err = "image: " + r.image_info.error;
        if (!r.label_info.error.empty()) err += (err.empty() ? "" : "; ") + std::string("label: ") + r.label_info.error;
        o += "," + dataset_csv(err) + "\n";
    }
    return o;
}

/// index.json: {"root", "kind", "n_cases", "cases": [{"case", "source", "split", "image": {...} | null,
/// "label": {...} | null}]}; each file object has path, bytes, dims, frames, spacing_mm, orientation, datatype,
/// scl_slope, scl_inter (null when NaN), ijk_to_ras (4 rows) — or path, bytes and error when unreadable.
inline std::string index_json(const dataset_index& idx) {
    using detail::dataset_json_str;
    std::string o = "{\n  \"root\": " + dataset_json_str(idx.root) + ",\n  \"kind\": " + dataset_json_str(idx.kind) +
                    ",\n  \"n_cases\": " + std::to_string(idx.records.size()) + ",\n  \"cases\": [";
    for (std::size_t i = 0; i < idx.records.size(); ++i) {
        const auto& r = idx.records[i];
        o += std::string(i ? "," : "") + "\n    {\"case\": " + dataset_json_str(r.name) + ", \"source\": " + dataset_json_str(r.source) +
             ", \"split\": " + dataset_json_str(r.split) + ",\n     \"image\": " + detail::file_info_json(r.image, r.image_info) +
             ",\n     \"label\": " + detail::file_info_json(r.label, r.label_info) + "}";
    }
    return o + "\n  ]\n}\n";
}

/// Write index.csv and index.json into `dir` (created if needed), each atomically.
inline void write_index(const std::string& dir, const dataset_index& idx) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw error(errc::io, "cannot create the output folder (" + ec.message() + ")", dir);
    write_file_atomic((std::filesystem::path(dir) / "index.csv").string(), index_csv(idx));
    write_file_atomic((std::filesystem::path(dir) / "index.json").string(), index_json(idx));
}

/// Cases per source × split. Rows: the CTSpine1K sources in their usual order (only those present; any other source
/// names after them in name order), columns:
/// trainset, test_public, test_private, then other split names in name order, then "" (not in the split map) when
/// present. cases[r][c] counts cases; paired[r][c] those with both a CT and a label map.
struct case_counts {
    std::vector<std::string> sources;
    std::vector<std::string> splits;
    std::vector<std::vector<std::size_t>> cases, paired;
    std::size_t images_without_label = 0, labels_without_image = 0, total = 0;
};

template <class Case>
case_counts count_cases(const std::vector<Case>& cases) {
    case_counts t;
    std::vector<std::string> other_splits, other_sources;
    bool unlisted = false;
    std::vector<bool> source_seen(ctspine1k_sources().size(), false);
    const auto all_sources = ctspine1k_sources();
    for (const auto& c : cases) {
        const dataset_case& d = c;
        auto s = std::find(all_sources.begin(), all_sources.end(), d.source);
        if (s != all_sources.end()) source_seen[static_cast<size_t>(s - all_sources.begin())] = true;
        else if (std::find(other_sources.begin(), other_sources.end(), d.source) == other_sources.end()) other_sources.push_back(d.source);
        if (d.split.empty()) unlisted = true;
        else if (d.split != "trainset" && d.split != "test_public" && d.split != "test_private" &&
                 std::find(other_splits.begin(), other_splits.end(), d.split) == other_splits.end())
            other_splits.push_back(d.split);
    }
    for (std::size_t i = 0; i < all_sources.size(); ++i)
        if (source_seen[i]) t.sources.push_back(all_sources[i]);
    std::sort(other_sources.begin(), other_sources.end());
    t.sources.insert(t.sources.end(), other_sources.begin(), other_sources.end());
    for (const char* s : {"trainset", "test_public", "test_private"}) {
        for (const auto& c : cases)
            if (static_cast<const dataset_case&>(c).split == s) {
                t.splits.push_back(s);
                break;
            }
    }
    std::sort(other_splits.begin(), other_splits.end());
    t.splits.insert(t.splits.end(), other_splits.begin(), other_splits.end());
    if (unlisted) t.splits.push_back("");
    t.cases.assign(t.sources.size(), std::vector<std::size_t>(t.splits.size(), 0));
    t.paired = t.cases;
    for (const auto& c : cases) {
        const dataset_case& d = c;
        const auto r = static_cast<size_t>(std::find(t.sources.begin(), t.sources.end(), d.source) - t.sources.begin());
        const auto k = static_cast<size_t>(std::find(t.splits.begin(), t.splits.end(), d.split) - t.splits.begin());
        ++t.cases[r][k];
        if (!d.image.empty() && !d.label.empty()) ++t.paired[r][k];
        if (!d.image.empty() && d.label.empty()) ++t.images_without_label;
        if (d.image.empty() && !d.label.empty()) ++t.labels_without_image;
        ++t.total;
    }
    return t;
}

/// The counts as an aligned text table (one row per source plus "total", one column per split plus "total"; a cell
/// reads "N" when every case is paired, else "N (P paired)"), then the unpaired counts.
inline std::string format_case_counts(const case_counts& t) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> head{"source"};
    for (const auto& s : t.splits) head.push_back(s.empty() ? "(no split)" : s);
    head.push_back("total");
    cells.push_back(head);
    auto cell = [](std::size_t n, std::size_t p) { return n == p ? std::to_string(n) : std::to_string(n) + " (" + std::to_string(p) + " paired)"; };
    std::vector<std::size_t> col_n(t.splits.size() + 1, 0), col_p(t.splits.size() + 1, 0);
    for (std::size_t r = 0; r < t.sources.size(); ++r) {
        std::vector<std::string> row{t.sources[r]};
        std::size_t rn = 0, rp = 0;
        for (std::size_t k = 0; k < t.splits.size(); ++k) {
            row.push_back(cell(t.cases[r][k], t.paired[r][k]));
            rn += t.cases[r][k];
            rp += t.paired[r][k];
            col_n[k] += t.cases[r][k];
            col_p[k] += t.paired[r][k];
        }
        row.push_back(cell(rn, rp));
        col_n.back() += rn;
        col_p.back() += rp;
        cells.push_back(row);
    }
    std::vector<std::string> tot{"total"};
    for (std::size_t k = 0; k <= t.splits.size(); ++k) tot.push_back(cell(col_n[k], col_p[k]));
    cells.push_back(tot);
    std::vector<std::size_t> w(head.size(), 0);
    for (const auto& row : cells)
        for (std::size_t k = 0; k < row.size(); ++k) w[k] = std::max(w[k], row[k].size());
    std::string o;
    for (const auto& row : cells) {
        for (std::size_t k = 0; k < row.size(); ++k) {
            if (k == 0) o += row[k] + std::string(w[k] - row[k].size(), ' ');
            else o += "  " + std::string(w[k] - row[k].size(), ' ') + row[k];
        }
        o += "\n";
    }
    o += "CTs without a label map: " + std::to_string(t.images_without_label) +
         ", label maps without a CT: " + std::to_string(t.labels_without_image) + "\n";
    return o;
}

}  // namespace ctspine
