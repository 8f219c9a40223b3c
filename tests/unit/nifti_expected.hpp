// Parser for tests/data/nifti/expected.txt, written by tests/reference/make_nifti_fixtures.py (nibabel's view
// of each fixture and shared file).
#pragma once
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ctspine_test {

struct nifti_expectation {
    std::string rel;          ///< "gen/x.nii", "shared/x.nii.gz", "shared/orientations/RAS.nii.gz"; "#N" = frame N
    std::string orient_code;  ///< for orientation entries: nibabel's aff2axcodes of the original
    bool ok = false;
    std::array<long long, 4> dims{};
    int dtype = 0, qcode = 0, scode = 0;
    std::array<double, 16> affine{};
    double n = 0, min = 0, max = 0, sum = 0, sumsq = 0;
    struct sample { long long i, j, k; double v; };
    std::vector<sample> samples;
};

inline std::vector<nifti_expectation> load_nifti_expectations(const std::string& path) {
    std::ifstream f(path);
    std::vector<nifti_expectation> out;
    std::string line, pending_orient;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string key;
        is >> key;
        if (key == "orient") {
            std::string name, code;
            is >> name >> code;
            nifti_expectation e;
            e.rel = "shared/orientations/" + name;
            e.orient_code = code;
            e.ok = true;
            out.push_back(e);
        } else if (key == "file") {
            nifti_expectation e;
            std::string status;
            is >> e.rel >> status;
            e.ok = status == "ok";
            out.push_back(e);
        } else if (out.empty()) {
            continue;
        } else if (key == "dims") {
            auto& d = out.back().dims;
            is >> d[0] >> d[1] >> d[2] >> d[3];
        } else if (key == "dtype") {
            is >> out.back().dtype;
        } else if (key == "codes") {
            is >> out.back().qcode >> out.back().scode;
        } else if (key == "affine") {
            for (double& a : out.back().affine) is >> a;
        } else if (key == "stats") {
            auto& e = out.back();
            is >> e.n >> e.min >> e.max >> e.sum >> e.sumsq;
        } else if (key == "samples") {
            size_t k;
            is >> k;
            for (size_t s = 0; s < k; ++s) {
                nifti_expectation::sample x;
                std::string v;  // may be "nan", which operator>> does not parse
                is >> x.i >> x.j >> x.k >> v;
                x.v = std::strtod(v.c_str(), nullptr);
                out.back().samples.push_back(x);
            }
        }
    }
    return out;
}

}  // namespace ctspine_test
