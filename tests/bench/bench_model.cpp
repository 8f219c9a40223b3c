// Loading an nnU-Net checkpoint of the CTSpine1K 3d_fullres size (n=6 PlainConvUNet, 31.2 M parameters + SGD
// momentum buffers, ~250 MB; written once to /tmp by bench_model_torch.py) vs torch.load in the same run.
// Acceptance (issue 6): read + network_weights < 1 s. Usage: ctspine_bench_model [--no-anchor]
#include <cstdio>
#include <cstring>
#include <string>

#include <ctspine/model/torch_checkpoint.hpp>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    bool anchor = !(argc > 1 && std::strcmp(argv[1], "--no-anchor") == 0);
    const std::string path = "/tmp/ctspine_bench_checkpoint_final.pth";
    const std::string script = std::string(CTSPINE_BENCH_DIR) + "/bench_model_torch.py";
    // The anchor also creates the checkpoint if missing, so run it first.
    std::string out = bench::run("/usr/bin/python3 " + script + " " + path + (anchor ? "" : " --create-only") + " 2>&1");
    std::size_t params = 0;
    double t = bench::median_time(5, [&] {
        auto c = ctspine::read_torch_checkpoint(path);
        auto sd = ctspine::network_weights(c);
        params = 0;
        for (auto& kv : sd) params += kv.second.values.size();
    });
    std::printf("parameters: %zu (torch says %.0f)\n", params, bench::field(out, "params"));
    bench::report("load 3d_fullres checkpoint (network_weights)", t, anchor ? bench::field(out, "torch_load") : -1, "torch.load");
    return 0;
}
