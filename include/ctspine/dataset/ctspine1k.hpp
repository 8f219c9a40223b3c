// ctspine — facts about the CTSpine1K dataset (Deng et al. 2021, github.com/MIRACLE-Center/CTSpine1K): case names of
// its files, the sub-dataset (source) a case name belongs to, and its split file (data_split.txt).
//
// Sources, recognised by the case name alone (the regexes classify all 1,005 names of data_split.txt, each exactly
// once; 784 COLONOG of which 34 are named CTC-*, 31 HNSCC-3DCT-RT, 150 MSD liver, 40 COVID-19): see docs/dataset.md.
// Split file: "trainset:", "test_public:", "test_private:" headers each followed by one file name a line (610 / 197 /
// 198 names), blank lines between sections.
#pragma once
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"

namespace ctspine {

/// Case name of a file: directory, ".nii.gz" / ".nii", then a trailing "_seg" or nnU-Net "_0000" dropped.
inline std::string case_name_of(const std::string& path) {
    std::string s = std::filesystem::path(path).filename().string();
    for (const char* ext : {".nii.gz", ".nii", ".mha", ".nrrd"}) {
        const std::string e(ext);
        if (s.size() > e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0) {
            s.resize(s.size() - e.size());
            break;
        }
    }
    for (const char* suf : {"_seg", "_0000"}) {
        const std::string e(suf);
        if (s.size() > e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0) {
            s.resize(s.size() - e.size());
            break;
        }
    }
    return s;
}

/// CTSpine1K sub-dataset of a case name (patterns verified against the 1,005 names of CTSpine1K's data_split.txt):
/// "COLONOG", "HNSCC-3DCT-RT", "MSD_liver", "COVID-19", or "other".
inline std::string ctspine1k_source(const std::string& case_name) {
    static const std::regex colonog(R"(^(1\.3\.6\.1\.4\.1\.9328\.50\.4\.\d{4}|CTC-\d{10})$)");
    static const std::regex hnscc(R"(^HN_P\d{3}$)");
    static const std::regex liver(R"(^liver_\d+$)");
    static const std::regex covid(R"(^volume-covid19-A-\d{4}(_\d+)?_ct$)");
    const std::string n = case_name_of(case_name);
    if (std::regex_match(n, colonog)) return "COLONOG";
    if (std::regex_match(n, hnscc)) return "HNSCC-3DCT-RT";
    if (std::regex_match(n, liver)) return "MSD_liver";
    if (std::regex_match(n, covid)) return "COVID-19";
    return "other";
}

/// The sources ctspine1k_source() can return, in the order tables list them.
inline std::vector<std::string> ctspine1k_sources() { return {"COLONOG", "HNSCC-3DCT-RT", "MSD_liver", "COVID-19", "other"}; }

/// CTSpine1K's split file: section headers "trainset:", "test_public:", "test_private:" followed by one case per
/// line (blank lines ignored). Returns case name → split (header without the colon).
inline std::map<std::string, std::string> parse_split_file(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream is(text);
    std::string line, section;
    while (std::getline(is, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        size_t b = 0;
        while (b < line.size() && (line[b] == ' ' || line[b] == '\t')) ++b;
        line = line.substr(b);
        if (line.empty()) continue;
        if (line.back() == ':') {
            section = line.substr(0, line.size() - 1);
            continue;
        }
        if (section.empty()) throw error(errc::invalid_argument, "split file: case '" + line + "' before any section header");
        out[case_name_of(line)] = section;
    }
    return out;
}

/// parse_split_file() on the contents of a file.
inline std::map<std::string, std::string> read_split_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(errc::io, "cannot open the split file", path);
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) throw error(errc::io, "cannot read the split file", path);
    try {
        return parse_split_file(ss.str());
    } catch (const error& e) {
        throw error(e.code(), e.what(), path);
    }
}

/// True for the splits whose labels a model must not train on: every split whose name begins with "test"
/// (CTSpine1K's test_public and test_private).
inline bool is_test_split(const std::string& split) { return split.compare(0, 4, "test") == 0; }

}  // namespace ctspine
