// ctspine forward MODEL_DIR IN.nii.gz [IN_channel1.nii.gz ...] OUT_logits.nii.gz [--fold F] [--threads N] [--isa ...]
// Runs one fold's network on one already-preprocessed patch (a debugging aid). NIfTI (x, y, z) with x fastest is
// the tensor (D=z, H=y, W=x) without copying axes. The logits are written as one 4-D float32 NIfTI (x, y, z, channel),
// the layout of `segment --probabilities`, with the input's geometry (the network's output has the input's shape).
#include <algorithm>
#include <iostream>
#include <string>

#include <ctspine/io/nifti.hpp>
#include <ctspine/model/nnunet_model.hpp>

#include "cli.hpp"

namespace {

int run_forward(cli::args& a) {
    ctspine::model_load_options opt;
    std::string fold = a.value("--fold", "");
    if (!fold.empty()) opt.folds = {fold == "all" ? -1 : static_cast<int>(cli::to_long(fold, "--fold"))};
    int threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    const ctspine::cpu_isa isa = cli::parse_option("--isa", [&] { return ctspine::parse_isa(a.value("--isa", "auto")); });
    auto pos = a.positional();
    if (pos.size() < 3) throw std::invalid_argument("expected MODEL_DIR IN.nii.gz [IN2 ...] OUT_logits.nii.gz");
    auto m = ctspine::nnunet_model::load(pos[0], opt);
    const auto& net = m.networks().front();
    const long n_in = net.config().input_channels;
    if (static_cast<long>(pos.size()) - 2 != n_in)
        throw std::invalid_argument("the model takes " + std::to_string(n_in) + " input channel(s); give one NIfTI per channel");
    ctspine::nn::tensor x;
    ctspine::geometry g;
    for (long c = 0; c < n_in; ++c) {
        auto v = ctspine::read_nifti<float>(pos[1 + static_cast<size_t>(c)]);
        if (c == 0) {
            g = v.geometry();
            x = ctspine::nn::tensor({n_in, g.dims[2], g.dims[1], g.dims[0]});
        } else if (v.geometry().dims != g.dims) {
            throw std::invalid_argument("input channels have different dimensions");
        }
        std::copy(v.data(), v.data() + v.size(), x.channel(c));
    }
    auto y = net.forward(x, threads, isa);
    const std::string& out = pos.back();
    ctspine::geometry og = g;
    og.dims = {y.shape()[3], y.shape()[2], y.shape()[1]};
    // (C, D, H, W) with W fastest is the 4-D NIfTI's (x, y, z, channel) order: write the tensor as it is
    ctspine::write_nifti_frames<float>(out, y.data(), og, y.channels());
    std::cout << out << ": " << og.dims[0] << "x" << og.dims[1] << "x" << og.dims[2] << "x" << y.channels() << " logits\n";
    return 0;
}

CTSPINE_CLI_COMMAND("forward", "run one nnU-Net fold on one preprocessed patch, write its logits (4-D NIfTI)",
                    "ctspine forward MODEL_DIR IN.nii.gz [IN2.nii.gz ...] OUT_logits.nii.gz [--fold F] [--threads N] [--isa auto|avx512|avx2|generic]\n"
                    "  writes OUT_logits.nii.gz: one 4-D float32 NIfTI (x, y, z, channel) on the input's grid", run_forward);

}  // namespace
