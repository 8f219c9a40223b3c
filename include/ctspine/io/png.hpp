// ctspine — minimal PNG writer: 8-bit grey or RGB, no interlace, filter type 0 (None) on every row, one IDAT chunk
// compressed with zlib. Format per the PNG specification (W3C PNG 2nd edition / ISO 15948): 8-byte signature
// 89 50 4E 47 0D 0A 1A 0A; chunks = 4-byte big-endian length, 4-byte type, data, CRC-32 (ISO 3309, zlib's crc32)
// over type + data; IHDR (width, height, bit depth 8, colour type 0 grey / 2 RGB, compression 0, filter 0,
// interlace 0), IDAT (zlib stream of the scanlines, each prefixed by its filter byte), IEND.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/io/atomic_file.hpp"

namespace ctspine {

namespace detail {
inline void png_put32(std::vector<unsigned char>& o, std::uint32_t v) {
    o.push_back(static_cast<unsigned char>(v >> 24));
    o.push_back(static_cast<unsigned char>(v >> 16));
    o.push_back(static_cast<unsigned char>(v >> 8));
    o.push_back(static_cast<unsigned char>(v));
}
inline void png_chunk(std::vector<unsigned char>& o, const char type[4], const unsigned char* data, std::size_t n) {
    if (n > 0x7fffffffu) throw error(errc::size_limit, "png: chunk larger than 2^31 - 1 bytes");
    png_put32(o, static_cast<std::uint32_t>(n));
    const std::size_t at = o.size();
    o.insert(o.end(), type, type + 4);
    if (n) o.insert(o.end(), data, data + n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, o.data() + at, static_cast<uInt>(4 + n));
    png_put32(o, static_cast<std::uint32_t>(crc));
}
}  // namespace detail

/// Encode `pixels` (rows top to bottom, `channels` = 1 grey or 3 RGB bytes per pixel, no padding) as a PNG file image.
inline std::vector<unsigned char> encode_png(const std::uint8_t* pixels, index_t width, index_t height, int channels, int level = 6) {
    if (channels != 1 && channels != 3) throw error(errc::invalid_argument, detail::cat("png: channels must be 1 or 3, got ", channels));
    if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff)
        throw error(errc::invalid_argument, detail::cat("png: bad image size ", width, " x ", height));
    if (!pixels) throw error(errc::invalid_argument, "png: no pixels");
    const index_t row = detail::checked_mul(width, channels);
    const index_t raw_n = detail::checked_mul(row + 1, height);
    std::vector<unsigned char> raw(static_cast<std::size_t>(raw_n));
    for (index_t y = 0; y < height; ++y) {
        unsigned char* r = raw.data() + y * (row + 1);
        r[0] = 0;  // filter type 0 (None)
        std::copy(pixels + y * row, pixels + (y + 1) * row, r + 1);
    }
    uLongf zn = compressBound(static_cast<uLong>(raw.size()));
    std::vector<unsigned char> z(zn);
    if (compress2(z.data(), &zn, raw.data(), static_cast<uLong>(raw.size()), level) != Z_OK)
        throw error(errc::internal, "png: zlib compress2 failed");
    std::vector<unsigned char> out = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    std::vector<unsigned char> ihdr;
    detail::png_put32(ihdr, static_cast<std::uint32_t>(width));
    detail::png_put32(ihdr, static_cast<std::uint32_t>(height));
    ihdr.push_back(8);                                      // bit depth
    ihdr.push_back(static_cast<unsigned char>(channels == 1 ? 0 : 2));  // colour type
    ihdr.push_back(0);                                      // compression: deflate
    ihdr.push_back(0);                                      // filter method 0
    ihdr.push_back(0);                                      // no interlace
    detail::png_chunk(out, "IHDR", ihdr.data(), ihdr.size());
    detail::png_chunk(out, "IDAT", z.data(), zn);
    detail::png_chunk(out, "IEND", nullptr, 0);
    return out;
}

/// Write an 8-bit grey (channels 1) or RGB (channels 3) PNG file.
inline void write_png(const std::string& path, const std::uint8_t* pixels, index_t width, index_t height, int channels, int level = 6) {
    const std::vector<unsigned char> png = encode_png(pixels, width, height, channels, level);
    write_file_atomic(path, png.data(), png.size());
}

}  // namespace ctspine
