// The version macros and functions against the CMake project version (CTSPINE_PROJECT_VERSION, from the build), and
// the header-only guarantee: version.hpp needs no configured file.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include <ctspine/version.hpp>

TEST_CASE("version: macros, function and the CMake project version agree") {
    const std::string numbers = std::to_string(CTSPINE_VERSION_MAJOR) + "." + std::to_string(CTSPINE_VERSION_MINOR) + "." +
                                std::to_string(CTSPINE_VERSION_PATCH);
    CHECK(numbers == CTSPINE_PROJECT_VERSION);
    CHECK(std::string(CTSPINE_VERSION_STRING) == CTSPINE_PROJECT_VERSION);
    CHECK(std::string(ctspine::version_string()) == CTSPINE_PROJECT_VERSION);
    constexpr ctspine::version_info v = ctspine::version();
    static_assert(v.major == CTSPINE_VERSION_MAJOR && v.minor == CTSPINE_VERSION_MINOR && v.patch == CTSPINE_VERSION_PATCH,
                  "version() is usable in constant expressions");
    CHECK(std::strcmp(v.string, CTSPINE_PROJECT_VERSION) == 0);
    CHECK(CTSPINE_VERSION == CTSPINE_VERSION_MAJOR * 10000 + CTSPINE_VERSION_MINOR * 100 + CTSPINE_VERSION_PATCH);
}
