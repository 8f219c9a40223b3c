// ctspine forward MODEL_DIR IN.nii.gz [IN_channel1.nii.gz ...] OUT_logits.nii.gz [--fold F] [--threads N] [--isa ...]
// Runs one fold's network on one already-preprocessed patch (a debugging aid). NIfTI (x, y, z) with x fastest is
// the tensor (D=z, H=y, W=x) without copying axes. Logits are written one 3-D volume per output channel:
// OUT_logits_c0.nii.gz, OUT_logits_c1.nii.gz, ... (the NIfTI writer writes 3-D volumes), with the input's geometry.
#include <algorithm>
#include <iostream>

#include <ctspine/io/nifti.hpp>
#include <ctspine/model/nnunet_model.hpp>

#include "cli.hpp"

namespace {

std::string channel_path(const std::string& out, long c) {
    std::string stem = out, ext;
    for (const char* e : {".nii.gz", ".nii"})
        if (stem.size() > std::string(e).size() && stem.compare(stem.size() - std::string(e).size(), std::string::npos, e) == 0) {
            ext = e;
            stem.resize(stem.size() - ext.size());
            break;
        }
    if (ext.empty()) ext = ".nii.gz";
    return stem + "_c" + std::to_string(c) + ext;
}

int run_forward(cli::args& a) {
    ctspine::model_load_options opt;
    std::string fold = a.value("--fold", "");
    if (!fold.empty()) opt.folds = {fold == "all" ? -1 : static_cast<int>(cli::to_long(fold, "--fold"))};
    int threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    const ctspine::cpu_isa isa = ctspine::parse_isa(a.value("--isa", "auto"));
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
    for (long c = 0; c < y.channels(); ++c) {
        ctspine::write_nifti(channel_path(out, c), ctspine::volume_view<const float>(y.channel(c), og));
        std::cout << channel_path(out, c) << "\n";
    }
    return 0;
}

CTSPINE_CLI_COMMAND("forward", "run one nnU-Net fold on one preprocessed patch, write logits per class",
                    "ctspine forward MODEL_DIR IN.nii.gz [IN2.nii.gz ...] OUT_logits.nii.gz [--fold F] [--threads N] [--isa auto|avx512|avx2|generic]\n"
                    "  writes OUT_logits_c<k>.nii.gz for every output channel k", run_forward);

}  // namespace
