// ctspine — the library's version. Maintained by hand so that the headers work without CMake (copy include/ and
// compile); CMakeLists.txt reads project(VERSION) from these three macros, so this file is the one place to change.
#pragma once

#define CTSPINE_VERSION_MAJOR 0
#define CTSPINE_VERSION_MINOR 1
#define CTSPINE_VERSION_PATCH 0

#define CTSPINE_VERSION_STRINGIFY2(x) #x
#define CTSPINE_VERSION_STRINGIFY(x) CTSPINE_VERSION_STRINGIFY2(x)
/// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define CTSPINE_VERSION_STRING                                                                                  \
    CTSPINE_VERSION_STRINGIFY(CTSPINE_VERSION_MAJOR) "." CTSPINE_VERSION_STRINGIFY(CTSPINE_VERSION_MINOR) "." \
        CTSPINE_VERSION_STRINGIFY(CTSPINE_VERSION_PATCH)
/// One comparable number, MAJOR·10000 + MINOR·100 + PATCH (0.1.0 → 100), for `#if CTSPINE_VERSION >= 100`.
#define CTSPINE_VERSION (CTSPINE_VERSION_MAJOR * 10000 + CTSPINE_VERSION_MINOR * 100 + CTSPINE_VERSION_PATCH)

namespace ctspine {

/// The version of the ctspine headers this translation unit was compiled with.
struct version_info {
    int major;
    int minor;
    int patch;
    const char* string;  ///< "MAJOR.MINOR.PATCH"
};

/// The version as numbers and as a string (the same values as the CTSPINE_VERSION_* macros).
constexpr version_info version() noexcept {
    return {CTSPINE_VERSION_MAJOR, CTSPINE_VERSION_MINOR, CTSPINE_VERSION_PATCH, CTSPINE_VERSION_STRING};
}

/// The version string "MAJOR.MINOR.PATCH".
constexpr const char* version_string() noexcept { return CTSPINE_VERSION_STRING; }

}  // namespace ctspine
