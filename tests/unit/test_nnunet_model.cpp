// nnU-Net model folders: plans.json / dataset.json parsing and end-to-end forward against PyTorch's output
// (tests/reference/make_model_fixtures.py runs dna_unet.py's torch networks on a fixed input and records it).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ctspine/model/nnunet_model.hpp"
#include "test_support.hpp"

using namespace ctspine;
using ctspine_test::repo_data;
namespace fs = std::filesystem;

static std::vector<float> read_f32(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE(f);
    f.seekg(0, std::ios::end);
    std::vector<float> v(static_cast<size_t>(f.tellg()) / 4);
    f.seekg(0);
    f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
    return v;
}

static void check_forward(const std::string& folder) {
    auto dir = repo_data("model/" + folder);
    auto model = nnunet_model::load(dir.string());
    std::ifstream ef(dir / "expected.json");
    auto exp = nlohmann::json::parse(ef);
    auto in_shape = exp["input_shape"].get<std::vector<index_t>>();
    auto out_shape = exp["output_shape"].get<std::vector<index_t>>();
    nn::tensor x({in_shape[0], in_shape[1], in_shape[2], in_shape[3]});
    auto xin = read_f32(dir / "input.f32");
    REQUIRE(xin.size() == static_cast<size_t>(x.size()));
    std::copy(xin.begin(), xin.end(), x.data());
    const auto ref = read_f32(dir / "output.f32");
    const size_t fi = static_cast<size_t>(std::find(model.folds().begin(), model.folds().end(),
                                                    exp["forward_fold"].get<int>()) - model.folds().begin());
    REQUIRE(fi < model.networks().size());
    for (int threads : {1, 2}) {
        nn::tensor y = model.networks()[fi].forward(x, threads);
        CHECK(y.shape() == nn::shape4{out_shape[0], out_shape[1], out_shape[2], out_shape[3]});
        REQUIRE(static_cast<size_t>(y.size()) == ref.size());
        float mx = 0, err = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            mx = std::max(mx, std::abs(ref[i]));
            err = std::max(err, std::abs(ref[i] - y.data()[i]));
        }
        CAPTURE(threads);
        CHECK(err <= 1e-4f * mx);
    }
    for (size_t k = 0; k < model.folds().size(); ++k)
        CHECK(model.networks()[k].parameter_count() ==
              exp["folds"][std::to_string(model.folds()[k])]["parameter_count"].get<size_t>());
}

TEST_CASE("model: PlainConvUNet folder (>=2.3 plans, anisotropic kernels, 2 folds) matches torch") {
    check_forward("plain_v23");
    auto m = nnunet_model::load(repo_data("model/plain_v23").string());
    CHECK(m.folds() == std::vector<int>{0, 1});
    CHECK(m.trainer_name() == "nnUNetTrainer");
    REQUIRE(m.mirror_axes().has_value());
    CHECK(*m.mirror_axes() == std::vector<int>{0, 1, 2});
    const auto& c = m.configuration();
    CHECK(c.name == "3d_fullres");
    CHECK(c.patch_size == std::array<int, 3>{8, 16, 16});
    CHECK(c.spacing == std::array<double, 3>{2.5, 0.8, 0.8});
    CHECK(c.normalization_schemes == std::vector<std::string>{"CTNormalization"});
    CHECK(c.network.kind == nn::unet_kind::plain);
    CHECK(c.network.features_per_stage == std::vector<int>{4, 8, 8});
    CHECK(c.network.kernel_sizes[0] == std::array<int, 3>{1, 3, 3});
    CHECK(c.network.num_classes == 3);
    CHECK(c.resampling_data.order == 3);
    CHECK(c.resampling_seg.is_seg);
    CHECK(!c.resampling_data.force_separate_z.has_value());
    REQUIRE(m.plans().foreground_intensity_properties.size() == 1);
    CHECK(m.plans().foreground_intensity_properties[0].percentile_99_5 == 1300.0);
    CHECK(m.plans().foreground_intensity_properties[0].std == 190.25);
    CHECK(m.dataset().labels.size() == 3);
    CHECK(m.dataset().labels[1].first == "vertebra");
    // a subset of folds
    model_load_options o;
    o.folds = {1};
    CHECK(nnunet_model::load(repo_data("model/plain_v23").string(), o).networks().size() == 1);
    o.folds = {3};
    CHECK_THROWS_AS(nnunet_model::load(repo_data("model/plain_v23").string(), o), ctspine::error);
}

TEST_CASE("model: ResidualEncoderUNet folder (flat v2.1 plans, 2 channels, no mirroring) matches torch") {
    check_forward("resenc_v21");
    auto m = nnunet_model::load(repo_data("model/resenc_v21").string());
    CHECK(!m.mirror_axes().has_value());
    CHECK(m.configuration().network.kind == nn::unet_kind::residual_encoder);
    CHECK(m.configuration().network.features_per_stage == std::vector<int>{4, 8, 8});  // min(4·2^i, 8)
    CHECK(m.configuration().network.input_channels == 2);
    CHECK(m.configuration().network.num_classes == 4);
}

TEST_CASE("plans: inheritance, lowres, cascade and 2d configurations") {
    auto p = read_nnunet_plans(repo_data("model/plain_v23/plans.json").string());
    const auto& lo = p.configuration("3d_lowres");
    CHECK(lo.spacing == std::array<double, 3>{5.0, 1.6, 1.6});              // overridden by the child
    CHECK(lo.patch_size == std::array<int, 3>{8, 16, 16});                  // inherited
    CHECK(lo.network.features_per_stage == std::vector<int>{4, 8, 8});
    CHECK(lo.next_stage == "3d_cascade_fullres");
    CHECK(p.configuration("3d_cascade_fullres").previous_stage == "3d_lowres");
    CHECK(p.configuration("2d").dimensions == 2);
    CHECK_THROWS_AS(p.configuration("3d_nonexistent"), ctspine::error);
}

TEST_CASE("model: 2d / cascade configurations give errc::unsupported; a broken v1 folder gives ctspine::error") {
    // Build temporary copies whose checkpoint names a different configuration is impractical (binary pickle);
    // instead rewrite plans.json so that 3d_fullres becomes a cascade stage / a 2-D configuration.
    auto src = repo_data("model/plain_v23");
    auto tmp = fs::temp_directory_path() / "ctspine_model_cfg_test";
    for (const char* what : {"cascade", "2d"}) {
        fs::remove_all(tmp);
        fs::create_directories(tmp / "fold_0");
        fs::copy_file(src / "dataset.json", tmp / "dataset.json");
        fs::copy_file(src / "fold_0/checkpoint_final.pth", tmp / "fold_0/checkpoint_final.pth");
        std::ifstream pf(src / "plans.json");
        auto j = nlohmann::json::parse(pf);
        if (std::string(what) == "cascade") j["configurations"]["3d_fullres"]["previous_stage"] = "3d_lowres";
        else j["configurations"]["3d_fullres"] = j["configurations"]["2d"];
        std::ofstream(tmp / "plans.json") << j.dump();
        try {
            nnunet_model::load(tmp.string());
            FAIL("no error for " << what);
        } catch (const ctspine::error& e) {
            std::string msg = e.what();
            CAPTURE(msg);
            CHECK(e.code() == errc::unsupported);
        }
    }
    fs::remove_all(tmp);
    fs::create_directories(tmp / "fold_0");
    std::ofstream(tmp / "fold_0" / "model_final_checkpoint.model") << "x";
    std::ofstream(tmp / "plans.pkl") << "x";
    try {
        nnunet_model::load(tmp.string());
        FAIL("no error for a v1 folder without model_final_checkpoint.model.pkl");
    } catch (const ctspine::error& e) {
        CHECK(e.code() == errc::io);  // v1 folders are loaded now (test_nnunet_v1.cpp); this one lacks its .model.pkl
    }
    fs::remove_all(tmp);
}

TEST_CASE("plans: real-world plans.json from public repositories parse (both layouts)") {
    // >= 2.3 layout (BigBooleanJohn/spine-segmentations, see tests/data/model/SOURCES.md); values read from the file.
    auto a = read_nnunet_plans(repo_data("model/real_plans/spine_segmentations_v23.json").string());
    CHECK(a.dataset_name == "Dataset100_SPINE");
    const auto& f = a.configuration("3d_fullres");
    CHECK(f.patch_size == std::array<int, 3>{128, 128, 128});
    CHECK(f.spacing == std::array<double, 3>{1.5, 1.5, 1.5});
    CHECK(f.network.features_per_stage == std::vector<int>{32, 64, 128, 256, 320, 320});
    CHECK(f.network.strides[1] == std::array<int, 3>{2, 2, 2});
    CHECK(f.network.n_conv_per_stage_decoder.size() == 5);
    CHECK(a.configuration("2d").dimensions == 2);
    CHECK(a.foreground_intensity_properties.at(0).percentile_00_5 == -77.0);
    CHECK(a.foreground_intensity_properties.at(0).std == 282.4974966371805);
    // flat v2.0–2.2 layout (MMianyong/-PedAbdSeg-): features = min(32 · 2^i, unet_max_num_features)
    auto b = read_nnunet_plans(repo_data("model/real_plans/pedabdseg_flat_v21.json").string());
    const auto& g = b.configuration("3d_fullres");
    CHECK(g.network.features_per_stage == std::vector<int>{32, 64, 128, 256, 320, 320});
    CHECK(g.network.strides[5] == std::array<int, 3>{1, 2, 2});
    CHECK(g.network.total_stride() == std::array<int, 3>{16, 32, 32});
    CHECK(g.patch_size == std::array<int, 3>{64, 192, 192});
    const auto& c = b.configuration("3d_cascade_fullres");
    CHECK(c.previous_stage == "3d_lowres");
    CHECK(c.spacing == g.spacing);  // inherited
    CHECK(b.configuration("3d_lowres").next_stage == "3d_cascade_fullres");
    CHECK(b.configuration("3d_lowres").spacing[0] == 3.5070121061542037);
}
