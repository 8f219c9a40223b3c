// Conan test_package: the headers compile, the dependencies link, a little of each capability runs.
#include <ctspine/ctspine.hpp>

#include <cstdio>

int main() {
    // a 3x3x3 volume with one bright voxel: one connected component, resampled to 2 mm
    ctspine::geometry g;
    g.dims = {3, 3, 3};
    g.spacing_mm = {1.0, 1.0, 1.0};
    g.ijk_to_ras = ctspine::affine_from_spacing(g.spacing_mm);
    ctspine::volume<std::uint8_t> v(g, std::uint8_t(0));
    v(1, 1, 1) = 1;
    ctspine::cc_result r;
    (void)ctspine::connected_components<std::uint32_t, std::uint8_t>(v.view(), ctspine::cc_options{}, &r);
    const auto z = ctspine::resample_to_spacing<std::uint8_t>(v.view(), {2.0, 2.0, 2.0});
    std::printf("ctspine %s: %d component(s), resampled to %lldx%lldx%lld\n", ctspine::version_string(), static_cast<int>(r.count),
                static_cast<long long>(z.dims()[0]), static_cast<long long>(z.dims()[1]), static_cast<long long>(z.dims()[2]));
    return r.count == 1 ? 0 : 1;
}
