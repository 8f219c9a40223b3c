// Segment the vertebrae of a CT with an nnU-Net v2 model folder, clean up, and list what was found.
// Usage: example_segment CT.nii.gz MODEL_DIR OUT_seg.nii.gz
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/vertebrae.hpp>
#include <ctspine/pipeline/segment.hpp>

#include <iostream>
#include <map>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: example_segment CT.nii.gz MODEL_DIR OUT_seg.nii.gz\n";
        return 2;
    }
    try {
        const ctspine::volume<float> ct = ctspine::read_nifti<float>(argv[1]);
        const ctspine::segmenter seg(argv[2]);  // loads plans.json, dataset.json and every fold
        ctspine::segment_options opt;
        opt.threads = 0;
        opt.progress = [](double, std::string_view) { return true; };  // return false to cancel
        std::cout << "estimated peak memory: " << (seg.estimate_memory(ct, opt).peak_bytes >> 20) << " MiB\n";
        ctspine::volume<std::uint16_t> labels = seg.segment(ct, opt);  // on the CT's own grid
        ctspine::clean_vertebrae<std::uint16_t>(labels.view());
        ctspine::write_nifti(argv[3], labels);

        std::map<std::uint16_t, ctspine::index_t> count;
        for (auto v : labels)
            if (v) ++count[v];
        const auto names = seg.class_names();
        std::cout << "labels on a " << labels.dims()[0] << "x" << labels.dims()[1] << "x" << labels.dims()[2] << " grid:";
        for (const auto& [v, n] : count) std::cout << " " << names.at(v) << " (" << n << ")";
        std::cout << "\n";
        return 0;
    } catch (const ctspine::error& e) {
        std::cerr << "error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    }
}
