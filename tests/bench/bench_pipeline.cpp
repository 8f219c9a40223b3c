// Benchmark: the whole segmentation of a shared spine CT with the demo model (read model once; per run: preprocess,
// sliding window, export), ours vs the torch re-statement of nnUNetv2_predict (tests/bench/bench_pipeline_torch.py,
// includes its model loading), same CT, same thread count, medians of several runs.
#include <cstdio>
#include <string>

#include "bench_common.hpp"
#include "ctspine/io/nifti.hpp"
#include "ctspine/pipeline/segment.hpp"

int main() {
    const std::string root = std::string(CTSPINE_BENCH_DIR) + "/../..";
    const std::string model = root + "/examples/models/demo_vertebrae/nnUNetTrainer__nnUNetPlans__3d_fullres";
    const std::string ct_path = root + "/../shared/data/spine/example_ct_sm.nii.gz";
    const ctspine::segmenter seg(model);
    const auto ct = ctspine::read_nifti<float>(ct_path);
    for (int threads : {1, 2}) {
        ctspine::segment_options o;
        o.threads = threads;
        const double ours = bench::median_time(3, [&] { seg.segment(ct, o); });
        const std::string out = bench::run("/usr/bin/python3 " + std::string(CTSPINE_BENCH_DIR) + "/bench_pipeline_torch.py " +
                                           model + " " + ct_path + " " + std::to_string(threads) + " 3");
        bench::report("segment example_ct_sm, demo model, threads " + std::to_string(threads), ours,
                      bench::field(out, "predict"), "torch");
    }
    return 0;
}
