// The fuzz_zip input format and its one run, shared by the libFuzzer target (fuzz_zip.cpp) and the regression test
// of the ordinary suite (tests/unit/test_fuzz_regressions.cpp), which replays tests/fuzz/regressions/zip/.
//
// First input byte, bit 0 clear: the rest is a zip archive, read by zip_reader (every record) and then as a torch
// checkpoint (read_torch_checkpoint from memory; every tensor materialised; network_weights under both nnU-Net keys).
// Bit 0 set (structure-aware): the next byte gives the sizes of four storage records, the rest is a data.pkl; a valid
// stored archive "archive/{data.pkl, byteorder, data/0..3}" is built around them (make_stored_zip), so the fuzzer
// spends its time on the pickle and the tensor descriptors (shape, stride, offset, numel against the records) rather
// than on keeping the container valid. Bit 1: leave out "byteorder". Bits 2–3: tighter zip limits (few entries).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <ctspine/model/torch_checkpoint.hpp>
#include <ctspine/model/zip_reader.hpp>

namespace ctspine_fuzz {

struct zip_record {
    std::string name, data;
};

/// A zip archive of STORED records (PKWARE APPNOTE 6.3.x §4.3.7 local header, §4.3.12 central directory header,
/// §4.3.16 end of central directory), CRC fields 0 (ctspine does not check them; neither does torch's reader).
/// `repeat` > 1 lists every record that many times in the central directory (all pointing at the same payload: the
/// overlapping-records construction of zip bombs).
inline std::string make_stored_zip(const std::vector<zip_record>& recs, int repeat = 1) {
    std::string out, cd;
    auto u16 = [](std::string& s, unsigned v) { s += char(v & 0xff); s += char((v >> 8) & 0xff); };
    auto u32 = [](std::string& s, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xff);
    };
    for (const auto& r : recs) {
        const auto ofs = static_cast<std::uint32_t>(out.size());
        u32(out, 0x04034b50u); u16(out, 20); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0);
        u32(out, 0); u32(out, static_cast<std::uint32_t>(r.data.size())); u32(out, static_cast<std::uint32_t>(r.data.size()));
        u16(out, static_cast<unsigned>(r.name.size())); u16(out, 0);
        out += r.name;
        out += r.data;
        for (int k = 0; k < repeat; ++k) {
            u32(cd, 0x02014b50u); u16(cd, 20); u16(cd, 20); u16(cd, 0); u16(cd, 0); u16(cd, 0); u16(cd, 0);
            u32(cd, 0); u32(cd, static_cast<std::uint32_t>(r.data.size())); u32(cd, static_cast<std::uint32_t>(r.data.size()));
            u16(cd, static_cast<unsigned>(r.name.size())); u16(cd, 0); u16(cd, 0); u16(cd, 0); u16(cd, 0); u32(cd, 0);
            u32(cd, ofs);
            cd += r.name;
        }
    }
    const auto cd_ofs = static_cast<std::uint32_t>(out.size());
    out += cd;
    u32(out, 0x06054b50u); u16(out, 0); u16(out, 0);
    const auto count = static_cast<unsigned>(recs.size() * static_cast<std::size_t>(repeat));
    u16(out, count); u16(out, count);
    u32(out, static_cast<std::uint32_t>(cd.size())); u32(out, cd_ofs); u16(out, 0);
    return out;
}

/// Everything a caller may ask of a checkpoint: each tensor as float, and the nnU-Net v2 / v1 weight dicts.
inline void exercise_checkpoint(const ctspine::torch_checkpoint& c) {
    const auto& nodes = c.tree().nodes;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        if (nodes[n].kind != ctspine::pickle_kind::tensor) continue;
        try {
            (void)c.tensor_as_float(static_cast<std::uint32_t>(n), "t");
            (void)c.tensor_identity(static_cast<std::uint32_t>(n));
        } catch (const ctspine::error&) {
        }
    }
    for (const char* key : {"network_weights", "state_dict"}) {
        try {
            (void)ctspine::network_weights(c, key);
        } catch (const ctspine::error&) {
        }
    }
}

/// Reads the input as fuzz_zip does; returns normally for a value or a ctspine::error.
inline void zip_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const std::uint8_t mode = data[0];
    ++data;
    --size;
    ctspine::checkpoint_limits lim;
    if (mode & 4) lim.zip.max_entries = 3;
    if (mode & 8) lim.zip.max_total_bytes = 4096;
    std::string built;
    if (mode & 1) {
        if (size < 1) return;
        const std::uint8_t sizes = data[0];
        std::vector<zip_record> recs;
        recs.push_back({"archive/data.pkl", std::string(reinterpret_cast<const char*>(data + 1), size - 1)});
        if (!(mode & 2)) recs.push_back({"archive/byteorder", "little"});
        for (int k = 0; k < 4; ++k) {  // record k holds 4 · (2-bit size code)^3 bytes: 0, 4, 32 or 108
            const int code = (sizes >> (2 * k)) & 3;
            std::string bytes(static_cast<std::size_t>(4 * code * code * code), '\0');
            for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 37 + static_cast<std::size_t>(k)) & 0xff);
            recs.push_back({"archive/data/" + std::to_string(k), bytes});
        }
        built = make_stored_zip(recs);
        data = reinterpret_cast<const std::uint8_t*>(built.data());
        size = built.size();
    } else {
        try {
            const ctspine::zip_reader z(data, size, "fuzz.zip", lim.zip);
            for (const auto& e : z.entries()) (void)z.read(e, 1u << 20);
        } catch (const ctspine::error&) {
        }
    }
    try {
        const ctspine::torch_checkpoint c = ctspine::read_torch_checkpoint(data, size, lim, "fuzz.pth");
        exercise_checkpoint(c);
    } catch (const ctspine::error&) {
    }
}

}  // namespace ctspine_fuzz
