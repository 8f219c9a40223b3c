// The fuzz_gzip input format and its one run, shared by the libFuzzer target (fuzz_gzip.cpp) and the regression test
// of the ordinary suite (tests/unit/test_fuzz_regressions.cpp), which replays tests/fuzz/regressions/gzip/.
//
// The gzip layer (io/gzip.hpp) on its own, both back ends, differentially: the streaming zlib reader (byte_source,
// concatenated members, zero padding) decompresses the input; then the libdeflate paths the NIfTI reader uses — the
// member index built from the 'ct' length subfields (index_gzip_members), the parallel per-member decompression into
// a sub-range (gunzip_members_libdeflate), whole-stream one-shot decompression (gunzip_exact_libdeflate) and the
// header-member split (gunzip_first_member_libdeflate) — are run with the sizes the input claims. Lying indexes
// (length subfields, ISIZE trailers, claimed sizes) may make a path decline (false) or fail (ctspine::error), but a
// path that succeeds must produce exactly the bytes zlib produced: anything else returns false (the target traps).
// First input byte: how many bytes the caller claims (bits 0–1: zlib's count, +1, −1, or the two next bytes), bits
// 2–7 with the next two bytes place the requested sub-range; the rest is the compressed stream.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ctspine/io/gzip.hpp>

namespace ctspine_fuzz {

/// Reads the input as fuzz_gzip does; false if a libdeflate path produced bytes that differ from zlib's.
inline bool gzip_one(const std::uint8_t* data, std::size_t size) {
    namespace d = ctspine::detail;
    if (size < 3) return true;
    const std::uint8_t mode = data[0];
    const std::size_t pick = std::size_t(data[1]) << 8 | data[2];
    data += 3;
    size -= 3;
    constexpr std::size_t cap = std::size_t(1) << 22;  // decompressed bytes considered (4 MiB)
    // Reference: zlib, streaming, to the end of the input.
    std::vector<unsigned char> ref;
    bool ref_ok = false;
    try {
        d::byte_source src(d::input_ref(data, size, "fuzz.gz"));
        if (!src.is_gzip()) return true;
        std::size_t got = 0;
        for (std::size_t step = 4096; got <= cap; step *= 2) {  // grown as bytes arrive (a 4 MiB buffer per run is slow)
            ref.resize(got + step);
            const std::size_t n = src.read_some(ref.data() + got, step);
            got += n;
            if (n < step) break;
        }
        ref.resize(std::min(got, cap + 1));
        ref_ok = got <= cap;
    } catch (const ctspine::error&) {
        ref.clear();
    }
#ifdef CTSPINE_HAVE_LIBDEFLATE
    // The size the caller claims (the NIfTI reader takes it from the header, bounded by the gzip ratio rule).
    std::size_t claim = ref.size();
    switch (mode & 3) {
        case 1: claim += 1; break;
        case 2: claim = claim ? claim - 1 : 0; break;
        case 3: claim = pick; break;
        default: break;
    }
    claim = std::min(claim, std::min(cap, size * 1032 + 65536));
    const bool compare = ref_ok && claim == ref.size();
    auto same = [&](const unsigned char* p, std::size_t from, std::size_t n) {
        return !compare || (from + n <= ref.size() && (n == 0 || std::memcmp(p, ref.data() + from, n) == 0));
    };
    std::vector<d::gzip_member_span> members;
    if (d::index_gzip_members(data, size, claim, members)) {
        // The index must describe `claim` bytes in order, every member inside the input.
        std::size_t out = 0;
        for (const auto& m : members) {
            if (m.out_off != out || m.in_off > size || m.in_len > size - m.in_off) return false;
            out += m.out_len;
        }
        if (out != claim) return false;
        const std::size_t skip = claim ? (std::size_t(mode >> 2) * 4099 + pick) % (claim + 1) : 0;
        const std::size_t len = claim - skip ? (pick * 31 + (mode >> 2)) % (claim - skip + 1) : 0;
        std::vector<unsigned char> dst(len + 1);
        if (d::gunzip_members_libdeflate(data, members, skip, dst.data(), len, 1) && !same(dst.data(), skip, len)) return false;
    }
    try {
        std::vector<unsigned char> all(claim + 1);
        if (d::gunzip_exact_libdeflate(data, size, all.data(), claim, "fuzz.gz") && !same(all.data(), 0, claim)) return false;
        const std::size_t head = std::min<std::size_t>(claim, 352 + (pick & 0xff));
        std::vector<unsigned char> h(head + 1);
        const std::size_t at = d::gunzip_first_member_libdeflate(data, size, h.data(), head, "fuzz.gz");
        if (at > 0) {
            if (at >= size || !same(h.data(), 0, head)) return false;
            if (d::gunzip_exact_libdeflate(data, size, all.data(), claim - head, "fuzz.gz", at) && !same(all.data(), head, claim - head))
                return false;
        }
    } catch (const ctspine::error&) {
    }
#else
    (void)mode;
    (void)pick;
    (void)ref_ok;
#endif
    return true;
}

}  // namespace ctspine_fuzz
