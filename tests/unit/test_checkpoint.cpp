// Checkpoint reader (zip + restricted pickle + tensors) against values recorded by PyTorch itself
// (tests/reference/make_model_fixtures.py writes the .pth files with torch.save and the expected values with torch).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ctspine/model/torch_checkpoint.hpp"
#include "test_support.hpp"

using namespace ctspine;
using ctspine_test::repo_data;

static nlohmann::json load_json(const std::string& p) {
    std::ifstream f(p);
    REQUIRE(f);
    return nlohmann::json::parse(f);
}

TEST_CASE("checkpoint: dtypes, strides, offsets and shared storages match torch") {
    auto c = read_torch_checkpoint(repo_data("model/misc/dtypes.pth").string());
    CHECK(c.archive_prefix() == "dtypes");
    auto exp = load_json(repo_data("model/misc/dtypes.json").string());
    const auto tensors = c.get("tensors");
    REQUIRE(tensors != pickle_tree::npos);
    for (auto& item : exp.items()) {  // no structured binding: CAPTURE captures it, which clang < 16 rejects
        const std::string name = item.key();
        auto& e = item.value();
        CAPTURE(name);
        auto node = c.tree().get(tensors, name);
        REQUIRE(node != pickle_tree::npos);
        if (name == "i64") {
            CHECK_THROWS_AS(c.tensor_as_float(node, name), ctspine::error);
            continue;
        }
        auto p = c.tensor_as_float(node, name);
        std::vector<index_t> shape = e["shape"].get<std::vector<index_t>>();
        CHECK(p.shape == shape);
        auto vals = e["values"].get<std::vector<double>>();
        REQUIRE(p.values.size() == vals.size());
        for (size_t i = 0; i < vals.size(); ++i) CHECK(p.values[i] == static_cast<float>(vals[i]));
    }
    // shared_a / shared_b alias one storage (same key), offset 3 for the slice
    auto a = c.tree().at(c.tree().get(tensors, "shared_a"));
    auto b = c.tree().at(c.tree().get(tensors, "shared_b"));
    CHECK(c.tree().tensors[a.i].storage != pickle_tree::npos);
    CHECK(c.tree().at(c.tree().tensors[a.i].storage).s2 == c.tree().at(c.tree().tensors[b.i].storage).s2);
    CHECK(c.tree().tensors[b.i].offset == 3);
    // plain values: ints of every width, float, bool, None, str, bytes (via _codecs.encode at protocol 2)
    const auto& nums = c.tree().at(c.get("numbers"));
    REQUIRE(nums.items.size() == 10);
    CHECK(c.tree().at(nums.items[0]).i == 1);
    CHECK(c.tree().at(nums.items[1]).i == -2);
    CHECK(c.tree().at(nums.items[2]).i == 300);
    CHECK(c.tree().at(nums.items[3]).i == 70000);
    CHECK(c.tree().at(nums.items[4]).i == -(std::int64_t(1) << 40));
    CHECK(c.tree().at(nums.items[5]).f == 1.5);
    CHECK(c.tree().at(nums.items[6]).b == true);
    CHECK(c.tree().at(nums.items[7]).kind == pickle_kind::none);
    CHECK(c.tree().at(nums.items[8]).s == "txt");
    CHECK(c.tree().at(nums.items[9]).kind == pickle_kind::bytes);
    CHECK(c.tree().at(nums.items[9]).s == "by");
}

static void check_model_checkpoint(const std::string& folder, int fold) {
    auto exp = load_json(repo_data("model/" + folder + "/expected.json").string());
    auto path = repo_data("model/" + folder + "/fold_" + std::to_string(fold) + "/checkpoint_final.pth").string();
    auto c = read_torch_checkpoint(path);
    CHECK(c.archive_prefix() == "checkpoint_final");
    // trainer dict fields (nnunet-spec §2.1)
    CHECK(c.tree().at(c.get("current_epoch")).i == 1000);
    CHECK(c.tree().at(c.get("_best_ema")).f == 0.3);  // numpy float64 scalar decoded
    auto init = c.get("init_args");
    CHECK(c.tree().at(c.tree().get(init, "configuration")).s == "3d_fullres");
    CHECK(c.tree().at(c.tree().get(init, "fold")).i == fold);
    CHECK(c.tree().at(c.tree().get(init, "device")).s == "cpu");
    auto sd = network_weights(c);
    auto& w = exp["folds"][std::to_string(fold)]["weights"];
    CHECK(sd.size() == w.size());
    std::size_t params = 0;
    for (auto& item : w.items()) {  // no structured binding: CAPTURE captures it, which clang < 16 rejects
        const std::string key = item.key();
        auto& e = item.value();
        CAPTURE(key);
        auto it = sd.find(key);
        REQUIRE(it != sd.end());
        CHECK(it->second.shape == e["shape"].get<std::vector<index_t>>());
        double sum = 0;
        for (float v : it->second.values) sum += v;
        CHECK(sum == doctest::Approx(e["sum"].get<double>()).epsilon(1e-9).scale(1.0));
        CHECK(it->second.values.front() == static_cast<float>(e["first"].get<double>()));
        CHECK(it->second.values.back() == static_cast<float>(e["last"].get<double>()));
        params += it->second.values.size();
    }
    CHECK(params == exp["folds"][std::to_string(fold)]["parameter_count"].get<std::size_t>());
}

TEST_CASE("checkpoint: nnU-Net PlainConvUNet checkpoint, every tensor matches torch") {
    check_model_checkpoint("plain_v23", 0);
    check_model_checkpoint("plain_v23", 1);
}

TEST_CASE("checkpoint: nnU-Net ResidualEncoderUNet checkpoint, every tensor matches torch") {
    check_model_checkpoint("resenc_v21", 0);
}

TEST_CASE("checkpoint: aliases share storage with their canonical keys, mirroring axes") {
    auto c = read_torch_checkpoint(repo_data("model/plain_v23/fold_0/checkpoint_final.pth").string());
    auto nw = c.get("network_weights");
    auto id = [&](const char* k) { return c.tensor_identity(c.tree().get(nw, k)); };
    CHECK(!id("encoder.stages.0.0.convs.0.conv.weight").empty());
    CHECK(id("encoder.stages.0.0.convs.0.conv.weight") == id("decoder.encoder.stages.0.0.convs.0.all_modules.0.weight"));
    CHECK(id("decoder.stages.1.convs.1.norm.bias") == id("decoder.stages.1.convs.1.all_modules.1.bias"));
    auto m = c.tree().at(c.get("inference_allowed_mirroring_axes"));
    REQUIRE(m.kind == pickle_kind::tuple);
    REQUIRE(m.items.size() == 3);
    CHECK(c.tree().at(m.items[2]).i == 2);
    auto c2 = read_torch_checkpoint(repo_data("model/resenc_v21/fold_0/checkpoint_final.pth").string());
    CHECK(c2.tree().at(c2.get("inference_allowed_mirroring_axes")).kind == pickle_kind::none);
    CHECK(c2.tree().at(c2.get("trainer_name")).s == "nnUNetTrainerNoMirroring");
}

TEST_CASE("checkpoint: half and bfloat16 conversion of special values") {
    CHECK(torch_checkpoint::half_to_float(0x3C00) == 1.0f);
    CHECK(torch_checkpoint::half_to_float(0xC000) == -2.0f);
    CHECK(torch_checkpoint::half_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(torch_checkpoint::half_to_float(0x7BFF) == 65504.0f);
    CHECK(std::isinf(torch_checkpoint::half_to_float(0x7C00)));
    CHECK(std::isnan(torch_checkpoint::half_to_float(0x7E00)));
    CHECK(torch_checkpoint::bf16_to_float(0x3F80) == 1.0f);
}
