// Malformed NIfTI files (made by tests/reference/make_nifti_fixtures.py from valid ones): every one must give a
// ctspine::error — never a crash, hang or huge allocation. Runs under ASan+UBSan in CI.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

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

namespace {
std::vector<unsigned char> gzip_bytes(const std::vector<unsigned char>& f) {
    std::vector<unsigned char> gz(compressBound(uLong(f.size())) + 32);
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    zs.next_in = const_cast<unsigned char*>(f.data());
    zs.avail_in = uInt(f.size());
    zs.next_out = gz.data();
    zs.avail_out = uInt(gz.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    gz.resize(zs.total_out);
    deflateEnd(&zs);
    return gz;
}
}  // namespace

TEST_CASE("a header claiming more voxels than its data can hold is refused before anything is allocated") {
    // A valid NIfTI-1 header (nifti1.h offsets) claiming 4000 x 4000 x 1000 float32 = 64 GB, followed by 16 bytes:
    // the read must stop at the size check (errc::truncated for a plain file, size_limit for gzip: deflate expands at
    // most ~1032:1) instead of trying the allocation (which would fail with errc::out_of_memory, or succeed).
    std::vector<unsigned char> f(352 + 16, 0);
    auto put16 = [&](std::size_t o, std::int16_t x) { std::memcpy(f.data() + o, &x, 2); };
    auto put32 = [&](std::size_t o, std::int32_t x) { std::memcpy(f.data() + o, &x, 4); };
    auto putf = [&](std::size_t o, float x) { std::memcpy(f.data() + o, &x, 4); };
    put32(0, 348);
    put16(40, 3);
    put16(42, 4000);
    put16(44, 4000);
    put16(46, 1000);
    put16(70, 16);  // float32
    put16(72, 32);
    for (int i = 0; i < 4; ++i) putf(76 + 4 * std::size_t(i), 1.f);
    putf(108, 352.f);
    std::memcpy(f.data() + 344, "n+1\0", 4);
    nifti_memory m;
    m.data = f.data();
    m.size = f.size();
    m.name = "claims_64GB.nii";
    for (bool libdeflate : {true, false}) {
        nifti_read_options o;
        o.use_libdeflate = libdeflate;
        try {
            (void)read_nifti<float>(m, o);
            FAIL("no error");
        } catch (const ctspine::error& e) {
            CHECK(e.code() == errc::truncated);
        }
    }
    // the same claim in a 1 KB gzip stream
    const std::vector<unsigned char> gz = gzip_bytes(f);
    m.data = gz.data();
    m.size = gz.size();
    for (bool libdeflate : {true, false}) {
        nifti_read_options o;
        o.use_libdeflate = libdeflate;
        try {
            (void)read_nifti<float>(m, o);
            FAIL("no error");
        } catch (const ctspine::error& e) {
            CHECK(e.code() == errc::size_limit);
        }
    }
}

TEST_CASE("a gzipped .hdr with header extensions keeps what is there, without sizing its buffer to the 64 MiB cap") {
    // fuzz_nifti found a .hdr.gz whose extender announced extensions taking 13 s: the reader sized its buffer to the
    // cap (64 MiB, zero-filled) before reading the few bytes present.
    std::vector<unsigned char> hdr(348 + 4 + 100, 0);
    auto put16 = [&](std::size_t o, std::int16_t x) { std::memcpy(hdr.data() + o, &x, 2); };
    std::int32_t sz = 348;
    std::memcpy(hdr.data(), &sz, 4);
    put16(40, 3);
    put16(42, 2);
    put16(44, 2);
    put16(46, 2);
    put16(70, 2);  // uint8
    put16(72, 8);
    float one = 1.f;
    for (int i = 0; i < 4; ++i) std::memcpy(hdr.data() + 76 + 4 * i, &one, 4);
    std::memcpy(hdr.data() + 344, "ni1\0", 4);
    hdr[348] = 1;  // extender: extensions follow
    for (std::size_t i = 352; i < hdr.size(); ++i) hdr[i] = static_cast<unsigned char>(i);
    const std::vector<unsigned char> gz = gzip_bytes(hdr), img(8, 7);
    nifti_memory m;
    m.data = gz.data();
    m.size = gz.size();
    m.image = img.data();
    m.image_size = img.size();
    const nifti_header h = read_nifti_header(m);
    CHECK(h.extensions.size() == 100);
    CHECK(h.extensions.capacity() < (std::size_t(1) << 20));
    CHECK(static_cast<unsigned char>(h.extensions[0]) == 352 % 256);
    const auto v = read_nifti<std::uint8_t>(m);
    CHECK(std::all_of(v.begin(), v.end(), [](std::uint8_t x) { return x == 7; }));
}
