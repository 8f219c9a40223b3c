// The fuzz_nifti input format and its one run, shared by the libFuzzer target (fuzz_nifti.cpp) and the regression
// test of the ordinary suite (tests/unit/test_fuzz_regressions.cpp), which replays tests/fuzz/regressions/nifti/.
// First input byte: bit 0 pair (the next two bytes choose where the .hdr ends and the .img begins), bit 1 libdeflate,
// bit 2 apply scaling, bit 3 last frame, bit 4 read as int16, bit 5 as uint8 (else float); the rest is the file.
#pragma once
#include <cstddef>
#include <cstdint>

#include <ctspine/io/nifti.hpp>

namespace ctspine_fuzz {

/// Reads the input as fuzz_nifti does; returns normally for a value or a ctspine::error.
inline void nifti_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const std::uint8_t mode = data[0];
    ++data;
    --size;
    ctspine::nifti_memory m;
    m.data = data;
    m.size = size;
    if ((mode & 1) && size >= 2) {  // a pair: header | image, split at a point the input chooses
        std::size_t split = (std::size_t(data[0]) << 8 | data[1]) % (size - 1) + 2;
        m.data = data + 2;
        m.size = split - 2;
        m.image = data + split;
        m.image_size = size - split;
    }
    ctspine::nifti_read_options opt;
    opt.use_libdeflate = (mode & 2) != 0;
    opt.threads = 1;
    opt.apply_scaling = (mode & 4) != 0;
    try {
        const ctspine::nifti_header h = ctspine::read_nifti_header(m);
        opt.frame = (mode >> 3) & 1 ? h.frames() - 1 : 0;
        if (mode & 0x10) (void)ctspine::read_nifti<std::int16_t>(m, opt);
        else if (mode & 0x20) (void)ctspine::read_nifti<std::uint8_t>(m, opt);
        else (void)ctspine::read_nifti<float>(m, opt);
    } catch (const ctspine::error&) {
    }
}

}  // namespace ctspine_fuzz
