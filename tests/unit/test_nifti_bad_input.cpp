// Malformed NIfTI files (made by tests/reference/make_nifti_fixtures.py from valid ones): every one must give a
// ctspine::error — never a crash, hang or huge allocation. Runs under ASan+UBSan in CI.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include <ctspine/io/nifti.hpp>

#include "test_support.hpp"

using namespace ctspine;

TEST_CASE("every malformed file is rejected with ctspine::error") {
    std::ifstream list(ctspine_test::repo_data("nifti/bad_files.txt"));
    std::string name;
    int n = 0;
    while (std::getline(list, name)) {
        if (name.empty()) continue;
        std::string path = ctspine_test::repo_data("nifti/bad/" + name).string();
        INFO(name);
        bool threw = false;
        try {
            (void)read_nifti<float>(path);
        } catch (const ctspine::error& e) {
            threw = true;
            CHECK(std::string(e.what()).find(name) != std::string::npos);  // the message names the file
        }
        CHECK(threw);
        ++n;
    }
    CHECK(n >= 20);
}

TEST_CASE("every malformed file is rejected when read as its stored type (zero-copy decode paths)") {
    std::ifstream list(ctspine_test::repo_data("nifti/bad_files.txt"));
    std::string name;
    int n = 0;
    while (std::getline(list, name)) {
        if (name.empty()) continue;
        std::string path = ctspine_test::repo_data("nifti/bad/" + name).string();
        INFO(name);
        int dt = 0;
        try {
            dt = read_nifti_header(path).datatype;
        } catch (const ctspine::error&) {
            continue;  // rejected by the header already
        }
        nifti_read_options raw;
        raw.apply_scaling = false;
        for (bool libdeflate : {true, false}) {
            raw.use_libdeflate = libdeflate;
            bool threw = false;
            try {
                detail::dispatch_stored<float>(dt, [&](auto s) { (void)read_nifti<decltype(s)>(path, raw); });
            } catch (const ctspine::error&) {
                threw = true;
            }
            CHECK(threw);
        }
        ++n;
    }
    MESSAGE(n << " malformed files with a readable header checked as their stored type");
}

TEST_CASE("error codes say what is wrong") {
    auto code_of = [](const std::string& name) {
        try {
            (void)read_nifti<float>(ctspine_test::repo_data("nifti/bad/" + name).string());
        } catch (const ctspine::error& e) {
            return e.code();
        }
        return errc::internal;
    };
    CHECK(code_of("text.nii") == errc::not_nifti);
    CHECK(code_of("trunc_100.nii") == errc::truncated);
    CHECK(code_of("datatype_complex.nii") == errc::unsupported);
    CHECK(code_of("vox_offset_small.nii") == errc::bad_header);
    CHECK(code_of("dim1_neg.nii") == errc::bad_header);
    CHECK(code_of("gz_size_lie.nii.gz") == errc::size_limit);
    CHECK(code_of("gz_garbage.nii.gz") == errc::corrupt);
    CHECK(code_of("size_lie_big.nii") == errc::size_limit);
    CHECK(code_of("n2_trunc_400.nii") == errc::truncated);
    try {
        (void)read_nifti<float>(ctspine_test::repo_data("nifti/bad/vox_offset_small.nii").string());
    } catch (const ctspine::error& e) {
        CHECK(e.field() == "vox_offset");
        CHECK(e.value() == "12");
    }
    CHECK_THROWS_AS(read_nifti<float>("/nonexistent/file.nii"), ctspine::error);
}
