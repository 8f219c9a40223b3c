// ctspine — a trained nnU-Net v2 model folder: plans.json, dataset.json, fold_N/checkpoint_*.pth → ready networks.
//
// Behaviour follows nnUNetPredictor.initialize_from_trained_model_folder (nnunetv2/inference/predict_from_raw_data.py;
// docs/nnunet-numerics.md §1): the configuration name comes from the first fold's checkpoint init_args['configuration'], the
// trainer from checkpoint['trainer_name'], mirroring from checkpoint['inference_allowed_mirroring_axes'] (absent or
// None → no mirroring), folds default to every fold_* folder (except fold_all) holding the checkpoint
// (utilities/file_path_utilities.py auto_detect_available_folds). If none is found, fold_all is used when present
// (a convenience nnU-Net does not have). Supported: 3-D non-cascade configurations (3d_fullres, 3d_lowres);
// 2-D configurations and cascade stages (previous_stage set) are refused with errc::unsupported.
// nnU-Net v1 folders (plans.pkl, fold_N/ or all/ with model_final_checkpoint.model + .model.pkl) are loaded as v1
// loads them (nnunet-v1-spec.md §1.1, nnunet/training/model_restore.py load_model_and_checkpoint_files): plans and
// stage from the first fold's .model.pkl, default folds = every fold* folder holding the checkpoint (never `all`;
// `all` if there is none, a convenience), Generic_UNet weights from checkpoint['state_dict'], mirroring axes (0, 1, 2)
// (default_3D_augmentation_params). format_version() tells which nnU-Net wrote the folder.
#pragma once
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/model/nnunet_plans.hpp"
#include "ctspine/model/nnunet_v1.hpp"
#include "ctspine/model/torch_checkpoint.hpp"
#include "ctspine/nn/unet.hpp"

namespace ctspine {

struct model_load_options {
    std::vector<int> folds;                             ///< empty = all found; -1 = fold_all (v1: all)
    /// or "checkpoint_best.pth". v1 folders: the default means model_final_checkpoint.model, "checkpoint_best.pth"
    /// means model_best.model; any other name is used as given ("model_best" or "model_best.model").
    std::string checkpoint_name = "checkpoint_final.pth";
    checkpoint_limits limits{};
    json_limits json{};  ///< plans.json / dataset.json
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
                if (fs::exists(e.path() / "model_final_checkpoint.model", ec) || fs::exists(e.path() / "model_best.model", ec))
                    v1 = true;
            if (v1) {
                m.load_v1(opt);
                return m;
            }
            throw error(errc::model_format, "model: no plans.json (nnU-Net v2) or plans.pkl (nnU-Net v1)", folder, "plans.json");
        }
        m.plans_ = read_nnunet_plans((dir / "plans.json").string(), opt.json);
        m.dataset_ = read_nnunet_dataset((dir / "dataset.json").string(), opt.json);

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
    /// 2 = nnU-Net v2 folder (plans.json), 1 = nnU-Net v1 folder (plans.pkl, .model.pkl).
    int format_version() const noexcept { return version_; }
    /// v1 folders only: the plans as read from the first fold's .model.pkl, and the stage used.
    const std::optional<nnunet_v1_plans>& v1_plans() const noexcept { return v1_plans_; }
    int v1_stage() const noexcept { return v1_stage_; }

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

    static std::string v1_checkpoint_file(const std::string& name) {
        if (name == "checkpoint_final.pth") return "model_final_checkpoint.model";
        if (name == "checkpoint_best.pth") return "model_best.model";
        if (name.size() >= 6 && name.compare(name.size() - 6, 6, ".model") == 0) return name;
        return name + ".model";
    }
    void load_v1(const model_load_options& opt) {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path dir(folder_);
        const std::string ckname = v1_checkpoint_file(opt.checkpoint_name);
        version_ = 1;
        std::vector<int> folds = opt.folds;
        if (folds.empty()) {  // subfolders(folder, prefix="fold") — only those that hold the checkpoint
            for (auto& e : fs::directory_iterator(dir, ec)) {
                const std::string n = e.path().filename().string();
                if (n.rfind("fold_", 0) != 0) continue;
                const std::string num = n.substr(5);
                if (num.empty() || num.size() > 6 || !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
                    continue;
                if (fs::exists(e.path() / ckname, ec)) folds.push_back(std::stoi(num));
            }
            std::sort(folds.begin(), folds.end());
            if (folds.empty() && fs::exists(dir / "all" / ckname, ec)) folds.push_back(-1);
            if (folds.empty()) throw error(errc::model_format, "model: no fold_*/" + ckname + " or all/" + ckname + " found", folder_);
        }
        folds_ = folds;
        for (std::size_t k = 0; k < folds.size(); ++k) {
            const fs::path fd = dir / (folds[k] < 0 ? std::string("all") : "fold_" + std::to_string(folds[k]));
            const fs::path ck = fd / ckname;
            if (!fs::exists(ck, ec)) throw error(errc::io, "model: checkpoint not found", ck.string());
            if (k == 0) {
                v1_pickle_limits pl;
                pl.pickle = opt.limits.pickle;
                nnunet_v1_info info = read_nnunet_v1_info(ck.string() + ".pkl", pl);
                trainer_ = info.trainer_name;
                if (trainer_.find("Cascade") != std::string::npos)  // 3d_cascade_fullres needs the lowres segmentation
                    throw error(errc::unsupported, "model: nnU-Net v1 cascade trainers ('" + trainer_ + "') are not supported",
                                ck.string() + ".pkl", "name", trainer_);
                const nnunet_v1_stage& st = nnunet_v1_select_stage(info.plans, info.stage, ck.string() + ".pkl");
                v1_stage_ = info.stage ? *info.stage : info.plans.stages.begin()->first;
                init_from_v1_plans(info.plans, st);
                v1_plans_ = std::move(info.plans);
            }
            torch_checkpoint c = read_torch_checkpoint(ck.string(), opt.limits);
            try {
                nn::state_dict sd = nnunet_v1_engine_weights(network_weights(c, "state_dict"), v1_plans_->conv_per_stage,
                                                             static_cast<int>(config_.network.strides.size()) - 1);
                networks_.emplace_back(config_.network, sd);
            } catch (const error& e) {
                throw error(e.code(), std::string(e.what()) + " (checkpoint " + ck.string() + ")", {}, e.field(), e.value());
            }
        }
    }
    void init_from_v1_plans(const nnunet_v1_plans& p, const nnunet_v1_stage& st) {
        // The v2-shaped descriptions are filled so that callers (model-info, memory estimates) see one interface;
        // the v1-specific numerics (normalisation 'CT' with 'sd', export rules) stay in v1_plans().
        plans_ = nnunet_plans{};
        plans_.plans_name = "nnU-Net v1 plans";
        // v1 keeps no dataset name in the plans; the folder layout is …/<network>/<Task>/<Trainer>__<plans>/
        plans_.dataset_name = std::filesystem::path(folder_).lexically_normal().parent_path().filename().string();
        if (plans_.dataset_name.empty())
            plans_.dataset_name = std::filesystem::path(folder_).lexically_normal().parent_path().parent_path().filename().string();
        plans_.transpose_forward = p.transpose_forward;
        plans_.transpose_backward = p.transpose_backward;
        for (std::size_t c = 0; c < p.intensity.size(); ++c) {
            nnunet_intensity_properties ip;
            ip.mean = p.intensity[c].mean;
            ip.std = p.intensity[c].sd;
            ip.percentile_00_5 = p.intensity[c].percentile_00_5;
            ip.percentile_99_5 = p.intensity[c].percentile_99_5;
            plans_.foreground_intensity_properties.push_back(ip);
        }
        config_ = nnunet_configuration{};
        config_.name = "3d_fullres";
        config_.dimensions = 3;
        config_.patch_size = st.patch_size;
        config_.spacing = st.current_spacing;
        config_.normalization_schemes = p.normalization_schemes;
        config_.use_mask_for_norm = p.use_mask_for_norm;
        config_.network_class_name = "nnunet.network_architecture.generic_UNet.Generic_UNet";
        config_.network = nnunet_v1_unet_config(p, st);
        dataset_ = nnunet_dataset{};
        for (int c = 0; c < p.num_modalities; ++c) dataset_.channel_names.push_back(c == 0 && p.normalization_schemes[0] == "CT" ? "CT" : std::to_string(c));
        dataset_.labels.push_back({"background", {0}});
        for (int c = 1; c <= p.num_classes; ++c) dataset_.labels.push_back({std::to_string(c), {c}});
        mirror_axes_ = std::vector<int>{0, 1, 2};
    }

    int version_ = 2, v1_stage_ = 0;
    std::optional<nnunet_v1_plans> v1_plans_;
    std::string folder_, trainer_;
    nnunet_plans plans_;
    nnunet_configuration config_;
    nnunet_dataset dataset_;
    std::vector<int> folds_;
    std::optional<std::vector<int>> mirror_axes_;
    std::vector<nn::unet> networks_;
};

}  // namespace ctspine
