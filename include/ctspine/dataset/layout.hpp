// ctspine — the file layout of a spine-CT dataset on disk: which folder layout a root is, and which CT goes with which
// label map. No file is opened; only names are looked at.
//
// Layouts recognised, in this order:
//  - "huggingface": the Hugging Face copy of CTSpine1K, ROOT/rawdata/volumes/<source>/<case>.nii.gz with
//    ROOT/rawdata/labels/<source>/<case>_seg.nii.gz (ROOT may also be the rawdata folder itself).
//  - "nnunet": an nnU-Net raw dataset, ROOT/imagesTr/<case>_0000.nii.gz, ROOT/labelsTr/<case>.nii.gz and
//    ROOT/imagesTs/<case>_0000.nii.gz (nnU-Net v2 documentation/dataset_format.md; a labelsTs folder is read too).
//    Other channels (_0001, ...) are not CTs and are left out.
//  - "flat": NIfTI files anywhere below ROOT, <case>.nii.gz (the CT) beside <case>_seg.nii.gz (its label map).
// ".nii" is accepted wherever ".nii.gz" is. Files whose names start with '.' and folders starting with '.' are skipped.
#pragma once
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/dataset/ctspine1k.hpp"

namespace ctspine {

/// One case of a dataset: a CT, its label map, or both.
struct dataset_case {
    std::string name;    ///< case name without extension, "_0000" channel suffix or "_seg" suffix
    std::string source;  ///< ctspine1k_source(name) ("other" when no pattern matches)
    std::string split;   ///< from the split map when given ("" when not listed / no split file)
    std::string image;   ///< path of the CT ("" when only a label exists)
    std::string label;   ///< path of the label map ("" when no label)
};

/// The cases of a dataset root.
struct dataset_layout {
    std::string kind;                 ///< "huggingface" | "nnunet" | "flat"
    std::vector<dataset_case> cases;  ///< sorted by name; includes unpaired CTs and unpaired labels
    std::string root;                 ///< the root as given to scan_dataset
};

namespace detail {

inline bool dataset_ends_with(const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

/// ".nii.gz" or ".nii" file name (not hidden).
inline bool is_nifti_name(const std::string& file) {
    if (file.empty() || file[0] == '.') return false;
    return dataset_ends_with(file, ".nii.gz") || dataset_ends_with(file, ".nii");
}

/// File name without ".nii.gz" / ".nii".
inline std::string nifti_stem(const std::string& file) {
    if (dataset_ends_with(file, ".nii.gz")) return file.substr(0, file.size() - 7);
    if (dataset_ends_with(file, ".nii")) return file.substr(0, file.size() - 4);
    return file;
}

inline bool is_dir(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_directory(p, ec);
}

/// NIfTI files in `dir` (recursively when asked), sorted, as paths; throws errc::io when the folder cannot be listed.
inline std::vector<std::filesystem::path> list_nifti(const std::filesystem::path& dir, bool recursive) {
    namespace fs = std::filesystem;
    std::vector<fs::path> out;
    std::error_code ec;
    auto take = [&](const fs::directory_entry& e) {
        std::error_code fec;
        const std::string n = e.path().filename().string();
        if (is_nifti_name(n) && e.is_regular_file(fec)) out.push_back(e.path());
    };
    if (recursive) {
        fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
        if (ec) throw error(errc::io, "dataset: cannot list the folder (" + ec.message() + ")", dir.string());
        for (; it != end; it.increment(ec)) {
            if (ec) throw error(errc::io, "dataset: cannot list the folder (" + ec.message() + ")", dir.string());
            const std::string n = it->path().filename().string();
            std::error_code dec;
            if (!n.empty() && n[0] == '.' && it->is_directory(dec)) {
                it.disable_recursion_pending();
                continue;
            }
            take(*it);
        }
    } else {
        fs::directory_iterator it(dir, ec), end;
        if (ec) throw error(errc::io, "dataset: cannot list the folder (" + ec.message() + ")", dir.string());
        for (; it != end; it.increment(ec)) {
            if (ec) throw error(errc::io, "dataset: cannot list the folder (" + ec.message() + ")", dir.string());
            take(*it);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Collects files into cases by name; a second file for the same slot is an error naming both.
struct case_collector {
    std::map<std::string, dataset_case> cases;
    void add(const std::string& name, const std::filesystem::path& p, bool is_label) {
        dataset_case& c = cases[name];
        c.name = name;
        std::string& slot = is_label ? c.label : c.image;
        if (!slot.empty())
            throw error(errc::invalid_argument,
                        cat("dataset: two ", is_label ? "label maps" : "CTs", " for case '", name, "': '", slot, "' and '", p.string(), "'"),
                        p.string());
        slot = p.string();
    }
};

}  // namespace detail

/// Recognise the layout of `root` and pair every CT with its label map (see the top of this file). `split` maps case
/// names to split names (parse_split_file); cases it does not list get split "". Throws ctspine::error
/// (errc::io when root is not a readable folder, errc::invalid_argument when it is none of the layouts or holds two
/// files for the same CT or label of a case).
inline dataset_layout scan_dataset(const std::string& root, const std::map<std::string, std::string>& split = {}) {
    namespace fs = std::filesystem;
    const fs::path r(root);
    std::error_code ec;
    if (!fs::exists(r, ec)) throw error(errc::io, "dataset: no such folder", root);
    if (!detail::is_dir(r)) throw error(errc::invalid_argument, "dataset: not a folder", root);

    dataset_layout out;
    out.root = root;
    detail::case_collector col;

    fs::path hf;
    if (detail::is_dir(r / "rawdata" / "volumes") || detail::is_dir(r / "rawdata" / "labels")) hf = r / "rawdata";
    else if (detail::is_dir(r / "volumes") && detail::is_dir(r / "labels")) hf = r;

    if (!hf.empty()) {
        out.kind = "huggingface";
        if (detail::is_dir(hf / "volumes"))
            for (const auto& p : detail::list_nifti(hf / "volumes", true)) col.add(case_name_of(p.string()), p, false);
        if (detail::is_dir(hf / "labels"))
            for (const auto& p : detail::list_nifti(hf / "labels", true)) col.add(case_name_of(p.string()), p, true);
    } else if (detail::is_dir(r / "imagesTr") || detail::is_dir(r / "labelsTr") || detail::is_dir(r / "imagesTs")) {
        out.kind = "nnunet";
        for (const char* sub : {"imagesTr", "imagesTs"}) {
            if (!detail::is_dir(r / sub)) continue;
            for (const auto& p : detail::list_nifti(r / sub, false)) {
                const std::string stem = detail::nifti_stem(p.filename().string());
                // nnU-Net image names end in a 4-digit channel index (utilities/utils.py,
                // get_identifiers_from_splitted_dataset_folder); channel 0000 is the CT.
                if (!detail::dataset_ends_with(stem, "_0000")) continue;
                col.add(stem.substr(0, stem.size() - 5), p, false);
            }
        }
        for (const char* sub : {"labelsTr", "labelsTs"}) {
            if (!detail::is_dir(r / sub)) continue;
            for (const auto& p : detail::list_nifti(r / sub, false)) col.add(detail::nifti_stem(p.filename().string()), p, true);
        }
    } else {
        const auto files = detail::list_nifti(r, true);
        if (files.empty())
            throw error(errc::invalid_argument,
                        "dataset: not a dataset folder: no rawdata/volumes + rawdata/labels (Hugging Face CTSpine1K), no "
                        "imagesTr/labelsTr/imagesTs (nnU-Net raw dataset) and no case.nii.gz / case_seg.nii.gz files",
                        root);
        out.kind = "flat";
        for (const auto& p : files) {
            const std::string stem = detail::nifti_stem(p.filename().string());
            const bool is_label = detail::dataset_ends_with(stem, "_seg");
            col.add(case_name_of(p.string()), p, is_label);
        }
    }
    out.cases.reserve(col.cases.size());
    for (auto& [name, c] : col.cases) {  // std::map: sorted by name
        c.source = ctspine1k_source(name);
        const auto it = split.find(name);
        c.split = it == split.end() ? std::string() : it->second;
        out.cases.push_back(std::move(c));
    }
    return out;
}

}  // namespace ctspine
