// fp16 conversion: the portable software path vs the x86 F16C instructions (an independent hardware oracle) on all
// 65536 halves and on many floats (subnormals, ties, overflow boundary, inf, NaN), plus known IEEE values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <ios>
#include <limits>
#include <random>
#include <vector>

#include "ctspine/core/half.hpp"

using namespace ctspine;

namespace {
float fbits(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
std::uint32_t bitsf(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
}  // namespace

TEST_CASE("half: known IEEE binary16 values") {
    // values from IEEE 754-2008 binary16 layout (1 sign, 5 exponent bits bias 15, 10 mantissa bits)
    CHECK(detail::float_to_half_bits_soft(1.0f) == 0x3c00);
    CHECK(detail::float_to_half_bits_soft(-2.0f) == 0xc000);
    CHECK(detail::float_to_half_bits_soft(65504.0f) == 0x7bff);          // max finite
    CHECK(detail::float_to_half_bits_soft(65520.0f) == 0x7c00);          // tie at max+half ulp -> inf (even)
    CHECK(detail::float_to_half_bits_soft(65519.996f) == 0x7bff);
    CHECK(detail::float_to_half_bits_soft(std::ldexp(1.0f, -24)) == 0x0001);  // min subnormal
    CHECK(detail::float_to_half_bits_soft(std::ldexp(1.0f, -25)) == 0x0000);  // tie -> even (0)
    CHECK(detail::float_to_half_bits_soft(std::ldexp(1.5f, -25)) == 0x0001);
    CHECK(detail::float_to_half_bits_soft(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 ulp tie -> 2 (even)
    CHECK(detail::float_to_half_bits_soft(std::ldexp(1.0f, -14)) == 0x0400);  // min normal
    CHECK(detail::float_to_half_bits_soft(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
    CHECK(detail::float_to_half_bits_soft(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
    CHECK(detail::float_to_half_bits_soft(-0.0f) == 0x8000);
    CHECK(detail::float_to_half_bits_soft(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK(detail::float_to_half_bits_soft(std::numeric_limits<float>::denorm_min()) == 0x0000);
    CHECK((detail::float_to_half_bits_soft(std::numeric_limits<float>::quiet_NaN()) & 0x7e00) == 0x7e00);
    CHECK(detail::half_bits_to_float_soft(0x3555) == 0.333251953125f);  // 1365/4096
    CHECK(detail::half_bits_to_float_soft(0x0001) == std::ldexp(1.0f, -24));
    CHECK(detail::half_bits_to_float_soft(0x03ff) == std::ldexp(1023.0f, -24));
    CHECK(std::isinf(detail::half_bits_to_float_soft(0xfc00)));
    CHECK(std::isnan(detail::half_bits_to_float_soft(0x7e01)));
}

TEST_CASE("half: every half round-trips through float") {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const float f = detail::half_bits_to_float_soft(static_cast<std::uint16_t>(h));
        if (std::isnan(f)) continue;
        REQUIRE(detail::float_to_half_bits_soft(f) == h);
    }
}

#if defined(__F16C__)
TEST_CASE("half: software conversion equals F16C bit for bit") {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const auto hb = static_cast<std::uint16_t>(h);
        REQUIRE(bitsf(detail::half_bits_to_float_soft(hb)) == bitsf(_cvtsh_ss(hb)));
    }
    std::vector<std::uint32_t> probes;
    // every half value, the ties between neighbours and their float neighbours (±1 ulp)
    for (std::uint32_t h = 0; h < 0x7c00; ++h) {
        const std::uint32_t b = bitsf(detail::half_bits_to_float_soft(static_cast<std::uint16_t>(h)));
        const std::uint32_t n = bitsf(detail::half_bits_to_float_soft(static_cast<std::uint16_t>(h + 1)));
        const std::uint32_t mid = bitsf((fbits(b) + fbits(n)) * 0.5f);
        for (std::uint32_t x : {b, mid - 1, mid, mid + 1})
            for (std::uint32_t s : {0u, 0x80000000u}) probes.push_back(x | s);
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 2000000; ++i) probes.push_back(rng());  // includes NaNs, infs, float subnormals
    for (std::uint32_t e = 0; e < 0x100; ++e)
        for (std::uint32_t m : {0u, 1u, 0x1000u, 0x1001u, 0xfffu, 0x2000u, 0x3000u, 0x7fffffu, 0x400000u})
            probes.push_back((e << 23) | m);
    std::size_t bad = 0;
    for (std::uint32_t u : probes) {
        const float f = fbits(u);
        // the F16C instruction (vcvtps2ph) through _mm_cvtps_ph: clang's _cvtss_sh macro is a compound literal (-Wpedantic)
        const auto hw = static_cast<std::uint16_t>(
            _mm_cvtsi128_si32(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)) & 0xffff);
        if (detail::float_to_half_bits_soft(f) != hw) {
            if (++bad < 10) MESSAGE("mismatch for float bits " << std::hex << u);
        }
    }
    CHECK(bad == 0);

    // bulk forms (8-wide + odd tails) against the scalar reference
    std::vector<float> in(1003);
    for (auto& v : in) v = fbits(rng());
    std::vector<std::uint16_t> out(in.size());
    float_to_half_n(in.data(), out.data(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(out[i] == detail::float_to_half_bits_soft(in[i]));
    std::vector<float> back(in.size());
    half_to_float_n(out.data(), back.data(), out.size());
    for (std::size_t i = 0; i < in.size(); ++i)
        REQUIRE(bitsf(back[i]) == bitsf(detail::half_bits_to_float_soft(out[i])));
}
#endif

TEST_CASE("half: accumulate_half_n equals the scalar fp16(float(a) + v) on odd sizes") {
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    for (std::size_t n : {1u, 7u, 8u, 9u, 31u, 100u}) {
        std::vector<std::uint16_t> a(n), ref(n);
        std::vector<float> v(n);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = ref[i] = detail::float_to_half_bits_soft(nd(rng));
            v[i] = nd(rng);
        }
        accumulate_half_n(a.data(), v.data(), n);
        for (std::size_t i = 0; i < n; ++i)
            ref[i] = detail::float_to_half_bits_soft(detail::half_bits_to_float_soft(ref[i]) + v[i]);
        CHECK(a == ref);
    }
}
