// ctspine model-info MODEL_DIR [--folds F...] [--checkpoint NAME]
#include <iostream>

#include <ctspine/model/nnunet_model.hpp>

#include "cli.hpp"

namespace {

template <class V>
std::string join(const V& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
    return s;
}

int run_model_info(cli::args& a) {
    ctspine::model_load_options opt;
    for (auto& f : a.take_list("--folds")) opt.folds.push_back(f == "all" ? -1 : static_cast<int>(cli::to_long(f, "--folds")));
    opt.checkpoint_name = a.value("--checkpoint", opt.checkpoint_name);
    auto pos = a.positional();
    if (pos.size() != 1) throw std::invalid_argument("expected MODEL_DIR");
    auto m = ctspine::nnunet_model::load(pos[0], opt);
    const auto& c = m.configuration();
    const auto& n = c.network;
    std::cout << "model:          " << m.folder() << "\n"
              << "format:         nnU-Net v" << m.format_version()
              << (m.format_version() == 1 ? " (plans.pkl, model_*.model; stage " + std::to_string(m.v1_stage()) + ")" : " (plans.json)")
              << "\n"
              << "dataset:        " << m.plans().dataset_name << " (plans " << m.plans().plans_name << ")\n"
              << "trainer:        " << m.trainer_name() << "\n"
              << "configuration:  " << c.name << "\n"
              << "architecture:   " << (m.format_version() == 1 ? "Generic_UNet" : n.kind == ctspine::nn::unet_kind::plain ? "PlainConvUNet" : "ResidualEncoderUNet") << ", " << n.n_stages() << " stages, features "
              << join(n.features_per_stage) << "\n";
    std::cout << "kernels:       ";
    for (auto& k : n.kernel_sizes) std::cout << " [" << join(k) << "]";
    std::cout << "\nstrides:       ";
    for (auto& s : n.strides) std::cout << " [" << join(s) << "]";
    if (!n.decoder_kernel_sizes.empty()) {
        std::cout << "\ndecoder kernels:";
        for (auto& k : n.decoder_kernel_sizes) std::cout << " [" << join(k) << "]";
    }
    std::cout << "\nconvs/stage:    encoder " << join(n.n_conv_per_stage) << ", decoder " << join(n.n_conv_per_stage_decoder) << "\n"
              << "patch size:     " << join(c.patch_size) << " (D H W, transposed axis order)\n"
              << "spacing:        " << c.spacing[0] << " " << c.spacing[1] << " " << c.spacing[2] << " mm\n"
              << "transpose:      forward " << join(m.plans().transpose_forward) << ", backward "
              << join(m.plans().transpose_backward) << "\n";
    for (std::size_t ch = 0; ch < c.normalization_schemes.size(); ++ch) {
        std::cout << "channel " << ch << ":      " << m.dataset().channel_names.at(ch) << ", " << c.normalization_schemes[ch];
        if (ch < m.plans().foreground_intensity_properties.size()) {
            const auto& p = m.plans().foreground_intensity_properties[ch];
            std::cout << " (mean " << p.mean << (m.format_version() == 1 ? ", sd " : ", std ") << p.std << ", p0.5 " << p.percentile_00_5 << ", p99.5 "
                      << p.percentile_99_5 << ")";
        }
        std::cout << "\n";
    }
    std::cout << "labels:        ";
    for (auto& l : m.dataset().labels) std::cout << " " << l.first << "=" << join(l.second);
    std::cout << "\noutputs:        " << n.num_classes << (m.dataset().has_regions ? " regions" : " classes") << "\n"
              << "folds:          ";
    for (int f : m.folds()) std::cout << (f < 0 ? std::string("all") : std::to_string(f)) << " ";
    std::cout << "\nmirroring:      " << (m.mirror_axes() ? "axes " + join(*m.mirror_axes()) : std::string("none")) << "\n"
              << "parameters:     " << (m.networks().empty() ? 0 : m.networks().front().parameter_count()) << " per fold\n";
    return 0;
}

CTSPINE_CLI_COMMAND("model-info", "describe an nnU-Net v1 or v2 model folder (format, plans, dataset, folds, parameters)",
                    "ctspine model-info MODEL_DIR [--folds F...|all] [--checkpoint checkpoint_best.pth|model_best]", run_model_info);

}  // namespace
