// The fuzz_v1_pickle input format and its one run, shared by the libFuzzer target (fuzz_v1_pickle.cpp) and the
// regression test of the ordinary suite (tests/unit/test_fuzz_regressions.cpp), which replays
// tests/fuzz/regressions/v1_pickle/.
//
// nnU-Net v1's pickles through the v1 interpretation (model/nnunet_v1.hpp), from memory through the functions the
// file readers call. First input byte, bit 0: a <checkpoint>.model.pkl (parse_nnunet_v1_info, then the stage its init
// args select), else a plans.pkl (parse_nnunet_v1_plans, then stage None and the first stage); every selected stage is
// turned into the engine's network description. The rest is the pickle.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include <ctspine/model/nnunet_v1.hpp>

namespace ctspine_fuzz {

inline void v1_stage_and_network(const ctspine::nnunet_v1_plans& p, std::optional<int> stage) {
    try {
        const ctspine::nnunet_v1_stage& st = ctspine::nnunet_v1_select_stage(p, stage, "fuzz.pkl");
        (void)ctspine::nnunet_v1_unet_config(p, st);
    } catch (const ctspine::error&) {
    }
}

/// Reads the input as fuzz_v1_pickle does; returns normally for a value or a ctspine::error.
inline void v1_pickle_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const std::uint8_t mode = data[0];
    try {
        if (mode & 1) {
            const ctspine::nnunet_v1_info info = ctspine::parse_nnunet_v1_info(data + 1, size - 1, {}, "fuzz.model.pkl");
            v1_stage_and_network(info.plans, info.stage);
        } else {
            const ctspine::nnunet_v1_plans p = ctspine::parse_nnunet_v1_plans(data + 1, size - 1, {}, "fuzz/plans.pkl");
            v1_stage_and_network(p, std::nullopt);
            v1_stage_and_network(p, p.stages.begin()->first);
        }
    } catch (const ctspine::error&) {
    }
}

}  // namespace ctspine_fuzz
