// ctspine — which instruction set the U-Net kernels run on, chosen at run time.
//
// The kernels exist in three forms: AVX-512 (AVX-512F + FMA) and AVX2 + FMA micro-kernels written with intrinsics in
// functions marked with a target attribute (CTSPINE_TARGET_*), and a generic form through xsimd that follows the
// host's compile flags (SSE2 in a plain -O2 x86-64 build, NEON on aarch64, AVX-512 under -march=native). A host built
// for baseline x86-64 therefore still runs the AVX2 or AVX-512 kernels when the CPU has them: header-only, no extra
// translation units. Only functions that carry a target attribute contain wider instructions, and each is reached only
// through the dispatch below, so no inline function compiled for a wider ISA can be picked by the linker for a
// baseline caller.
//
// Detection reads CPUID and XGETBV (the OS must save the YMM / ZMM state), once; the environment variable CTSPINE_ISA
// (generic | avx2 | avx512) can lower the default choice for a whole process (it is read once, at first use). A caller
// can also choose per call (segment_options::isa, unet::forward's argument). Asking for an ISA the CPU lacks is an
// errc::unsupported error, never an illegal instruction.
#pragma once
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ctspine/core/error.hpp"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define CTSPINE_X86 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#else
#define CTSPINE_X86 0
#endif

// Function attributes that let one function use wider instructions than the translation unit was compiled for.
// MSVC needs none (its intrinsics are always available).
#if CTSPINE_X86 && (defined(__GNUC__) || defined(__clang__))
#define CTSPINE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CTSPINE_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define CTSPINE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CTSPINE_TARGET_AVX2
#define CTSPINE_TARGET_AVX512
#define CTSPINE_ALWAYS_INLINE inline
#endif

// Unroll the next loop n times: `#pragma GCC unroll` for g++, the equivalent loop hint for clang, nothing elsewhere
// (MSVC would warn about an unknown pragma).
#define CTSPINE_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define CTSPINE_UNROLL(n) CTSPINE_PRAGMA(clang loop unroll_count(n))
#elif defined(__GNUC__)
#define CTSPINE_UNROLL(n) CTSPINE_PRAGMA(GCC unroll n)
#else
#define CTSPINE_UNROLL(n)
#endif

namespace ctspine {

/// Kernel instruction sets, narrowest first. `automatic` means "the process default" (see default_isa()).
enum class cpu_isa { automatic = 0, generic = 1, avx2 = 2, avx512 = 3 };

inline const char* isa_name(cpu_isa i) noexcept {
    switch (i) {
        case cpu_isa::automatic: return "automatic";
        case cpu_isa::generic: return "generic";
        case cpu_isa::avx2: return "avx2";
        case cpu_isa::avx512: return "avx512";
    }
    return "?";
}

/// "generic", "avx2", "avx512" or "auto"/"automatic"; anything else is errc::invalid_argument.
inline cpu_isa parse_isa(std::string_view s) {
    if (s == "auto" || s == "automatic") return cpu_isa::automatic;
    if (s == "generic") return cpu_isa::generic;
    if (s == "avx2") return cpu_isa::avx2;
    if (s == "avx512") return cpu_isa::avx512;
    throw error(errc::invalid_argument, "unknown instruction set '" + std::string(s) + "' (generic, avx2, avx512 or auto)", {}, "isa",
                std::string(s));
}

namespace detail {

#if CTSPINE_X86
inline void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
    int v[4];
    __cpuidex(v, static_cast<int>(leaf), static_cast<int>(sub));
    for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(v[i]);
#else
    r[0] = r[1] = r[2] = r[3] = 0;
    __get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
#endif
}
inline unsigned long long xgetbv0() noexcept {
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}
#endif

/// The widest kernel ISA this CPU and OS can run (no caching: cheap, but called once by cpu_supported_isa()).
inline cpu_isa probe_isa() noexcept {
#if CTSPINE_X86
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    if (max_leaf < 7) return cpu_isa::generic;
    cpuid(1, 0, r);
    const bool fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!(fma && osxsave && avx)) return cpu_isa::generic;
    const unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return cpu_isa::generic;  // XMM and YMM state saved by the OS
    cpuid(7, 0, r);
    const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
    if (!avx2) return cpu_isa::generic;
    if (avx512f && (xcr0 & 0xE6) == 0xE6) return cpu_isa::avx512;  // + opmask, ZMM0-15 upper halves, ZMM16-31
    return cpu_isa::avx2;
#else
    return cpu_isa::generic;
#endif
}

}  // namespace detail

/// The widest kernel ISA this CPU and OS support, detected once.
inline cpu_isa cpu_supported_isa() noexcept {
    static const cpu_isa isa = detail::probe_isa();
    return isa;
}

/// The process default: cpu_supported_isa(), lowered by the environment variable CTSPINE_ISA when it names a
/// narrower set (a wider or unknown name is ignored, so a stale setting can never select an illegal path).
inline cpu_isa default_isa() noexcept {
    static const cpu_isa isa = [] {
        const cpu_isa hw = cpu_supported_isa();
        const char* env = std::getenv("CTSPINE_ISA");
        if (!env || !*env) return hw;
        cpu_isa want = hw;
        try {
            want = parse_isa(env);
        } catch (const error&) {
            return hw;
        }
        return want == cpu_isa::automatic || static_cast<int>(want) > static_cast<int>(hw) ? hw : want;
    }();
    return isa;
}

/// `automatic` → default_isa(); an ISA the CPU lacks → errc::unsupported.
inline cpu_isa resolve_isa(cpu_isa requested) {
    if (requested == cpu_isa::automatic) return default_isa();
    if (static_cast<int>(requested) > static_cast<int>(cpu_supported_isa()))
        throw error(errc::unsupported, std::string("this CPU cannot run the ") + isa_name(requested) + " kernels (it supports up to " +
                                           isa_name(cpu_supported_isa()) + ")",
                    {}, "isa", isa_name(requested));
    return requested;
}

}  // namespace ctspine
