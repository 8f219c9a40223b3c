// PNG writer against PNG files written independently by tests/reference/make_png_fixtures.py (zlib + struct from the
// PNG specification; also readable by skimage): identical IHDR, identical scanlines after inflating IDAT, valid CRCs,
// chunk order. Plus bad arguments.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ctspine/io/png.hpp"
#include "test_support.hpp"

using namespace ctspine;

namespace {
struct png_chunk {
    std::string type;
    std::vector<unsigned char> data;
};

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

/// Tiny independent PNG chunk reader: checks the signature and every CRC (zlib crc32 over type + data).
std::vector<png_chunk> read_chunks(const std::vector<unsigned char>& f) {
    const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    REQUIRE(f.size() >= 8);
    REQUIRE(std::equal(sig, sig + 8, f.begin()));
    std::vector<png_chunk> out;
    size_t at = 8;
    while (at + 12 <= f.size()) {
        const std::uint32_t n = be32(&f[at]);
        REQUIRE(at + 12 + n <= f.size());
        png_chunk c;
        c.type.assign(reinterpret_cast<const char*>(&f[at + 4]), 4);
        c.data.assign(f.begin() + long(at + 8), f.begin() + long(at + 8 + n));
        const uLong crc = crc32(crc32(0L, Z_NULL, 0), &f[at + 4], uInt(4 + n));
        CHECK(be32(&f[at + 8 + n]) == std::uint32_t(crc));
        out.push_back(c);
        at += 12 + n;
    }
    CHECK(at == f.size());
    return out;
}

std::vector<unsigned char> inflate_all(const std::vector<unsigned char>& z, size_t expected) {
    std::vector<unsigned char> out(expected + 16);
    uLongf n = uLongf(out.size());
    REQUIRE(uncompress(out.data(), &n, z.data(), uLong(z.size())) == Z_OK);
    out.resize(n);
    return out;
}

std::vector<unsigned char> slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

void compare_with_fixture(const std::string& fixture, index_t w, index_t h, int ch, const std::vector<std::uint8_t>& px) {
    const auto ours = read_chunks(encode_png(px.data(), w, h, ch));
    const auto ref = read_chunks(slurp(ctspine_test::repo_data("png/" + fixture).string()));
    REQUIRE(ours.size() == 3);
    REQUIRE(ref.size() == 3);
    CHECK(ours[0].type == "IHDR");
    CHECK(ours[1].type == "IDAT");
    CHECK(ours[2].type == "IEND");
    CHECK(ours[0].data == ref[0].data);  // width, height, depth 8, colour type, 0, 0, 0
    CHECK(ours[2].data.empty());
    const size_t raw = size_t(h) * size_t(w * ch + 1);
    const auto a = inflate_all(ours[1].data, raw), b = inflate_all(ref[1].data, raw);
    CHECK(a.size() == raw);
    CHECK(a == b);
}
}  // namespace

TEST_CASE("png: grey and RGB match independently written files") {
    std::vector<std::uint8_t> g(13 * 3), c(7 * 5 * 3);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 13; ++x) g[size_t(y * 13 + x)] = std::uint8_t((7 * x + 13 * y) % 256);
    for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 7; ++x) {
            std::uint8_t* p = &c[size_t(3 * (y * 7 + x))];
            p[0] = std::uint8_t(x * 37 % 256), p[1] = std::uint8_t(y * 91 % 256), p[2] = std::uint8_t((x + y) * 53 % 256);
        }
    compare_with_fixture("gray_13x3.png", 13, 3, 1, g);
    compare_with_fixture("rgb_7x5.png", 7, 5, 3, c);

    // write_png writes exactly encode_png's bytes
    const std::string path = (std::filesystem::temp_directory_path() / "ctspine_test_png.png").string();
    write_png(path, c.data(), 7, 5, 3);
    CHECK(slurp(path) == encode_png(c.data(), 7, 5, 3));
    std::remove(path.c_str());
}

TEST_CASE("png: bad arguments") {
    std::vector<std::uint8_t> p(12, 0);
    CHECK_THROWS_AS(encode_png(p.data(), 2, 2, 2), ctspine::error);
    CHECK_THROWS_AS(encode_png(p.data(), 0, 2, 1), ctspine::error);
    CHECK_THROWS_AS(encode_png(nullptr, 2, 2, 1), ctspine::error);
    CHECK_THROWS_AS(write_png("/nonexistent-dir/x.png", p.data(), 2, 2, 3), ctspine::error);
}
