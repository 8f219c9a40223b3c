// ctspine — IEEE 754 binary16 (fp16) <-> binary32 conversion, round-to-nearest-even.
//
// Used to emulate nnU-Net v2's fp16 accumulators on CPU (docs/nnunet-numerics.md §4.3, §7.3: torch.half tensors, each
// `+=` computed in float32 and rounded to fp16). The software path is portable and bit-exact; when the host is
// compiled with F16C (`__F16C__`, e.g. -march=native on x86-64) the single-value and bulk conversions use the
// hardware instructions (VCVTPS2PH with an explicit round-to-nearest-even immediate, VCVTPH2PS), which give the
// same bits (tested on all 65536 halves and on many floats in tests/unit/test_half.cpp).
//
// NaN handling follows x86 F16C: float -> half keeps the sign and the top 10 payload bits and sets the quiet bit
// (0x0200); half -> float keeps sign and payload (shifted by 13) and sets the quiet bit. Overflow rounds to +-inf, underflow to +-0
// (ties to even at every boundary, including 2^-25 -> 0 and the largest-subnormal -> smallest-normal carry).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace ctspine {

/// An fp16 value as its bit pattern. Arithmetic is never done in fp16: convert, compute in float, round back.
struct half {
    std::uint16_t bits = 0;
};

namespace detail {

inline std::uint32_t float_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float bits_float(std::uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/// Portable float -> fp16 bits, round to nearest, ties to even (the scalar reference).
inline std::uint16_t float_to_half_bits_soft(float f) noexcept {
    const std::uint32_t x = float_bits(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t exp = (x >> 23) & 0xffu;
    const std::uint32_t mant = x & 0x7fffffu;
    if (exp == 0xffu) {  // inf / NaN
        if (mant == 0) return static_cast<std::uint16_t>(sign | 0x7c00u);
        return static_cast<std::uint16_t>(sign | 0x7c00u | 0x0200u | (mant >> 13));
    }
    const int e = static_cast<int>(exp) - 127;
    if (e > 15) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (e >= -14) {                                                 // normal half (rounding may carry to inf)
        std::uint32_t h = (static_cast<std::uint32_t>(e + 15) << 10) | (mant >> 13);
        const std::uint32_t rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
        return static_cast<std::uint16_t>(sign | h);
    }
    if (e < -25) return sign;  // below half the smallest subnormal (float subnormals included) -> +-0
    // subnormal half: value = h * 2^-24, float value = m * 2^(e-23) with the implicit bit -> h = m >> -(e+1)
    const std::uint32_t m = mant | 0x800000u;
    const int shift = -(e + 1);  // 14 .. 24
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;  // may carry into the smallest normal: correct bits
    return static_cast<std::uint16_t>(sign | h);
}

/// Portable fp16 bits -> float (exact; the scalar reference).
inline float half_bits_to_float_soft(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    if (exp == 0x1fu)  // inf / NaN (NaNs come out quiet, as VCVTPH2PS does)
        return bits_float(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
    if (exp == 0) {
        if (mant == 0) return bits_float(sign);
        int e = -14;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            --e;
        }
        mant &= 0x3ffu;
        return bits_float(sign | (static_cast<std::uint32_t>(e + 127) << 23) | (mant << 13));
    }
    return bits_float(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

}  // namespace detail

/// float -> fp16 bits, round to nearest even (F16C when available, same bits).
inline std::uint16_t float_to_half_bits(float f) noexcept {
#if defined(__F16C__)
    // _mm_cvtps_ph rather than _cvtss_sh: clang's _cvtss_sh macro expands to a compound literal (-Wpedantic)
    return static_cast<std::uint16_t>(_mm_cvtsi128_si32(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)) & 0xffff);
#else
    return detail::float_to_half_bits_soft(f);
#endif
}

/// fp16 bits -> float (exact).
inline float half_bits_to_float(std::uint16_t h) noexcept {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return detail::half_bits_to_float_soft(h);
#endif
}

inline half to_half(float f) noexcept { return half{float_to_half_bits(f)}; }
inline float to_float(half h) noexcept { return half_bits_to_float(h.bits); }

/// double -> fp16 the way PyTorch's `tensor.to(torch.float16)` on a float64 tensor reaches c10::Half:
/// double -> float -> half, two round-to-nearest-even steps (docs/nnunet-numerics.md §7.3).
inline half to_half_via_float(double d) noexcept { return to_half(static_cast<float>(d)); }

/// Bulk float -> fp16 (8 at a time with F16C).
inline void float_to_half_n(const float* in, std::uint16_t* out, std::size_t n) noexcept {
    std::size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
    }
#endif
    for (; i < n; ++i) out[i] = float_to_half_bits(in[i]);
}

/// Bulk fp16 -> float (8 at a time with F16C).
inline void half_to_float_n(const std::uint16_t* in, float* out, std::size_t n) noexcept {
    std::size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
#endif
    for (; i < n; ++i) out[i] = half_bits_to_float(in[i]);
}

/// The nnU-Net accumulation step `acc = fp16(float(acc) + v)` (torch.half `+=` with a float32 operand) on n values.
inline void accumulate_half_n(std::uint16_t* acc, const float* v, std::size_t n) noexcept {
    std::size_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        __m128i* p = reinterpret_cast<__m128i*>(acc + i);
        const __m256 s = _mm256_add_ps(_mm256_cvtph_ps(_mm_loadu_si128(p)), _mm256_loadu_ps(v + i));
        _mm_storeu_si128(p, _mm256_cvtps_ph(s, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
    for (; i < n; ++i) acc[i] = float_to_half_bits(half_bits_to_float(acc[i]) + v[i]);
}

}  // namespace ctspine
