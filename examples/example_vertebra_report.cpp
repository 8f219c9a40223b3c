// Connected components and a per-vertebra report of a TotalSegmentator (`total` v2) label map, with mean HU from the CT.
// Usage: example_vertebra_report SEG.nii.gz CT.nii.gz
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/connected_components.hpp>
#include <ctspine/label/measurements.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: example_vertebra_report SEG.nii.gz CT.nii.gz\n";
        return 2;
    }
    try {
        const auto scheme = ctspine::label_scheme::totalseg_v2;
        ctspine::nifti_read_options ro;
        ro.apply_scaling = false;  // label values as stored
        ctspine::volume<std::uint16_t> seg = ctspine::read_nifti<std::uint16_t>(argv[1], ro);
        for (auto& v : seg)  // a multi-organ map: keep the vertebrae
            if (v && !ctspine::vertebra_of(scheme, v)) v = 0;

        // 26-connected components, one label per component, never spanning two vertebrae
        ctspine::cc_result cc;
        (void)ctspine::connected_components<std::uint32_t, std::uint16_t>(seg.view(), ctspine::cc_options{}, &cc);
        std::cout << "components: " << cc.count << "\n";

        const ctspine::volume<float> ct = ctspine::read_nifti<float>(argv[2]);
        const ctspine::volume_view<const float> ctv = ct.view();
        const auto rep = ctspine::measure_vertebrae<std::uint16_t>(seg.view(), scheme, &ctv);
        for (const auto& v : rep.vertebrae)
            std::cout << v.name << ": " << v.voxels << " voxels, " << v.volume_mm3 / 1000.0 << " ml, " << v.components
                      << " piece(s), mean " << (v.mean_hu ? *v.mean_hu : 0.0) << " HU\n";
        for (const auto& is : rep.issues) std::cout << "issue: " << is.message << "\n";
        return 0;
    } catch (const ctspine::error& e) {
        std::cerr << "error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    }
}
