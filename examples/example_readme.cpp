// The README's usage snippet, compiled as part of the build so the documentation stays true.
// Usage: example_readme CT.nii.gz MODEL_DIR
#include <ctspine/ctspine.hpp>

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: example_readme CT.nii.gz MODEL_DIR\n";
        return 2;
    }
    try {
        // Read a CT in Hounsfield units (scl_slope/scl_inter applied), with its voxel → RAS+ mm geometry.
        ctspine::volume<float> ct = ctspine::read_nifti<float>(argv[1]);
        std::string code = ctspine::orientation_code(ct.ijk_to_ras());  // e.g. "LPS"

        // Segment with an nnU-Net v2 model folder, on the CT's own grid.
        ctspine::segmenter seg(argv[2]);
        ctspine::segment_options opt;
        opt.threads = 0;                                                       // all cores
        opt.progress = [](double, std::string_view) { return true; };          // return false to cancel
        ctspine::volume<std::uint16_t> labels = seg.segment(ct, opt);
        ctspine::write_nifti("seg.nii.gz", labels);                            // same geometry as the CT

        // Clean up and measure the vertebrae (VerSe numbering here).
        ctspine::clean_vertebrae<std::uint16_t>(labels.view());
        ctspine::volume_view<const float> ctv = ct.view();
        auto report = ctspine::measure_vertebrae<std::uint16_t>(labels.view(), ctspine::label_scheme::verse, &ctv);
        std::cout << code << "\n" << ctspine::to_json(report);
    } catch (const ctspine::error& e) {
        std::cerr << "error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    }
}
