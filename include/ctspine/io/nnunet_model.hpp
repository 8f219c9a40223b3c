// ctspine — a trained nnU-Net v2 model folder: plans.json, dataset.json, fold_N/checkpoint_*.pth → ready networks.
//
// Behaviour follows nnUNetPredictor.initialize_from_trained_model_folder (nnunetv2/inference/predict_from_raw_data.py;
// docs/nnunet-numerics.md §1): the configuration name comes from the first fold's checkpoint init_args['configuration'], the
// trainer from checkpoint['trainer_name'], mirroring from checkpoint['inference_allowed_mirroring_axes'] (absent or
// None → no mirroring), folds default to every fold_* folder (except fold_all) holding the checkpoint
// (utilities/file_path_utilities.py auto_detect_available_folds). If none is found, fold_all is used when present
// (a convenience nnU-Net does not have). Supported: 3-D non-cascade configurations (3d_fullres, 3d_lowres);
// 2-D configurations and cascade stages (previous_stage set) are refused with errc::unsupported.
// nnU-Net v1 folders (model_final_checkpoint.model + .pkl plans) are detected and refused with errc::unsupported.
#pragma once
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/io/nnunet_plans.hpp"
#include "ctspine/io/torch_checkpoint.hpp"
#include "ctspine/nn/unet.hpp"

namespace ctspine {

struct model_load_options {
    std::vector<int> folds;                             ///< empty = all found; -1 = fold_all
    std::string checkpoint_name = "checkpoint_final.pth";  ///< or "checkpoint_best.pth"
    checkpoint_limits limits{};
};

class nnunet_model {
public:
    /// Load a model folder (…/Dataset123_X/nnUNetTrainer__nnUNetPlans__3d_fullres). Builds one nn::unet per fold.
    static nnunet_model load(const std::string& folder, const model_load_options& opt = {}) {
        namespace fs = std::filesystem;
        nnunet_model m;
        m.folder_ = folder;
        const fs::path dir(folder);
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) throw error(errc::io, "model: not a directory", folder);
        const bool has_plans = fs::exists(dir / "plans.json", ec);
        if (!has_plans) {
            bool v1 = fs::exists(dir / "plans.pkl", ec);
            for (auto& e : fs::directory_iterator(dir, ec))
                if (fs::exists(e.path() / "model_final_checkpoint.model", ec)) v1 = true;
            if (v1)
                throw error(errc::unsupported,
                            "model: this is an nnU-Net v1 model folder (plans.pkl / model_final_checkpoint.model); v1 "
                            "models are not supported yet (their plans are a pickle of numpy arrays and the network uses "
                            "Generic_UNet key names) — convert it with nnUNetv2_convert_old_nnUNet_dataset and retrain, or "
                            "use a v2 model", folder);
            throw error(errc::model_format, "model: no plans.json", folder, "plans.json");
        }
        m.plans_ = read_nnunet_plans((dir / "plans.json").string());
        m.dataset_ = read_nnunet_dataset((dir / "dataset.json").string());

        std::vector<int> folds = opt.folds;
        if (folds.empty()) {
            for (auto& e : fs::directory_iterator(dir, ec)) {
                const std::string n = e.path().filename().string();
                if (n.rfind("fold_", 0) != 0 || n == "fold_all") continue;
                const std::string num = n.substr(5);
                if (num.empty() || num.size() > 6 || !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
                    continue;
                if (fs::exists(e.path() / opt.checkpoint_name, ec)) folds.push_back(std::stoi(num));
            }
            std::sort(folds.begin(), folds.end());
            if (folds.empty() && fs::exists(dir / "fold_all" / opt.checkpoint_name, ec)) folds.push_back(-1);
            if (folds.empty())
                throw error(errc::model_format, "model: no fold_*/" + opt.checkpoint_name + " found", folder);
        }
        m.folds_ = folds;
        for (std::size_t k = 0; k < folds.size(); ++k) {
            const fs::path ck = dir / (folds[k] < 0 ? std::string("fold_all") : "fold_" + std::to_string(folds[k])) / opt.checkpoint_name;
            if (!fs::exists(ck, ec)) throw error(errc::io, "model: checkpoint not found", ck.string());
            torch_checkpoint c = read_torch_checkpoint(ck.string(), opt.limits);
            if (k == 0) m.init_from_checkpoint(c);
            nn::state_dict sd = network_weights(c);
            try {
                m.networks_.emplace_back(m.config_.network, sd);
            } catch (const error& e) {
                throw error(e.code(), std::string(e.what()) + " (checkpoint " + ck.string() + ")", {}, e.field(), e.value());
            }
        }
        return m;
    }

    const std::string& folder() const noexcept { return folder_; }
    const nnunet_plans& plans() const noexcept { return plans_; }
    /// The configuration the model was trained with, network input_channels/num_classes filled from dataset.json.
    const nnunet_configuration& configuration() const noexcept { return config_; }
    const nnunet_dataset& dataset() const noexcept { return dataset_; }
    const std::vector<int>& folds() const noexcept { return folds_; }
    /// Axes (of the network input, i.e. D, H, W = 0, 1, 2) test-time mirroring may flip; nullopt = no mirroring.
    const std::optional<std::vector<int>>& mirror_axes() const noexcept { return mirror_axes_; }
    const std::vector<nn::unet>& networks() const noexcept { return networks_; }
    const std::string& trainer_name() const noexcept { return trainer_; }

private:
    void init_from_checkpoint(const torch_checkpoint& c) {
        const auto& t = c.tree();
        auto str = [&](std::uint32_t n) -> std::string {
            return (n != pickle_tree::npos && t.at(n).kind == pickle_kind::string) ? t.at(n).s : std::string();
        };
        trainer_ = str(c.get("trainer_name"));
        const std::string cfg = str(t.get(c.get("init_args"), "configuration"));
        if (cfg.empty())
            throw error(errc::model_format, "model: checkpoint has no init_args['configuration']", c.path(), "init_args.configuration");
        const auto mir = c.get("inference_allowed_mirroring_axes");
        if (mir != pickle_tree::npos && (t.at(mir).kind == pickle_kind::tuple || t.at(mir).kind == pickle_kind::list)) {
            std::vector<int> ax;
            for (auto a : t.at(mir).items) {
                if (t.at(a).kind != pickle_kind::integer || t.at(a).i < 0 || t.at(a).i > 2)
                    throw error(errc::model_format, "model: bad inference_allowed_mirroring_axes", c.path());
                ax.push_back(static_cast<int>(t.at(a).i));
            }
            mirror_axes_ = ax;
        }
        config_ = plans_.configuration(cfg);
        if (config_.dimensions != 3)
            throw error(errc::unsupported, "model: configuration '" + cfg + "' is 2-D; only 3-D configurations are supported",
                        folder_, "configuration", cfg);
        if (!config_.previous_stage.empty())
            throw error(errc::unsupported, "model: configuration '" + cfg + "' is a cascade stage (previous_stage '" +
                        config_.previous_stage + "'); cascades are not supported", folder_, "configuration", cfg);
        const int n_in = static_cast<int>(dataset_.channel_names.size());
        if (static_cast<int>(config_.normalization_schemes.size()) != n_in)
            throw error(errc::model_format, detail::cat("model: plans have ", config_.normalization_schemes.size(),
                                                        " normalization schemes but dataset.json has ", n_in, " channels"), folder_);
        config_.network.input_channels = n_in;
        config_.network.num_classes = dataset_.num_segmentation_heads();
    }

    std::string folder_, trainer_;
    nnunet_plans plans_;
    nnunet_configuration config_;
    nnunet_dataset dataset_;
    std::vector<int> folds_;
    std::optional<std::vector<int>> mirror_axes_;
    std::vector<nn::unet> networks_;
};

}  // namespace ctspine
