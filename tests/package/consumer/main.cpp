// A minimal program that uses ctspine as a downstream project would. It checks that the package brought the optional
// dependencies it was built with (EXPECT_LIBDEFLATE, EXPECT_NLOHMANN_JSON: 0 or 1, set by the test), that the headers
// and the linked libraries work together (a .nii.gz round trip through zlib or libdeflate), and the version.
#include <ctspine/ctspine.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#if defined(CTSPINE_HAVE_NLOHMANN_JSON)
#include <nlohmann/json.hpp>
#endif

#if defined(EXPECT_LIBDEFLATE)
#if EXPECT_LIBDEFLATE != defined(CTSPINE_HAVE_LIBDEFLATE)
#error "CTSPINE_HAVE_LIBDEFLATE does not match the package's libdeflate option"
#endif
#endif
#if defined(EXPECT_NLOHMANN_JSON)
#if EXPECT_NLOHMANN_JSON != defined(CTSPINE_HAVE_NLOHMANN_JSON)
#error "CTSPINE_HAVE_NLOHMANN_JSON does not match the package's nnunet option"
#endif
#endif

int main(int argc, char** argv) {
    ctspine::volume<float> v(ctspine::dims3{4, 3, 2}, 1.5f);
    double sum = 0;
    for (float x : v) sum += x;
    if (v.size() != 24 || sum != 36.0) return 1;
    // the version the package manager or pkg-config announced (argv[1]), if given
    if (argc > 1 && std::strcmp(argv[1], ctspine::version_string()) != 0) {
        std::fprintf(stderr, "headers say %s, package says %s\n", ctspine::version_string(), argv[1]);
        return 2;
    }
    // a compressed NIfTI written and read back: the gzip back end (zlib, or libdeflate) is linked
    if (argc > 2) {
        ctspine::volume<std::int16_t> w(ctspine::dims3{5, 4, 3}, std::int16_t(0));
        for (ctspine::index_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::int16_t>(i * 7 - 100);
        ctspine::write_nifti(argv[2], w);
        const auto r = ctspine::read_nifti<std::int16_t>(argv[2]);
        for (ctspine::index_t i = 0; i < w.size(); ++i)
            if (r[i] != w[i]) return 3;
    }
#if defined(CTSPINE_HAVE_NLOHMANN_JSON)
    if (nlohmann::json::parse("{\"labels\": {\"L1\": 1}}")["labels"]["L1"].get<int>() != 1) return 4;
#endif
    std::printf("ctspine %s consumer ok\n", ctspine::version_string());
    return 0;
}
