// The fuzz_json input format and its one run, shared by the libFuzzer target (fuzz_json.cpp) and the regression test
// of the ordinary suite (tests/unit/test_fuzz_regressions.cpp), which replays tests/fuzz/regressions/json/.
//
// The text inputs of ctspine, from memory through the same functions the file readers call. First input byte % 6
// selects the parser, the rest is the file's text:
//   0 plans.json (parse_nnunet_plans, then every configuration)   1 dataset.json (parse_nnunet_dataset)
//   2 CTSpine1K split file (parse_split_file)                      3 cases.csv (parse_cases_csv, summarize, to_csv)
//   4 failures.csv (parse_failures_csv)                            5 v1 postprocessing.json
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include <ctspine/evaluate/summary.hpp>
#include <ctspine/model/nnunet_plans.hpp>
#include <ctspine/pipeline/nnunet_v1_postprocessing.hpp>

namespace ctspine_fuzz {

/// Reads the input as fuzz_json does; returns normally for a value or a ctspine::error.
inline void json_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return;
    const int mode = data[0] % 6;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        switch (mode) {
            case 0: {
                const ctspine::nnunet_plans p = ctspine::parse_nnunet_plans(text, "fuzz/plans.json");
                for (const auto& c : p.configurations) (void)p.configuration(c.first);
                for (const auto& c : p.invalid_configurations) {
                    try {
                        (void)p.configuration(c.first);
                    } catch (const ctspine::error&) {
                    }
                }
                break;
            }
            case 1: (void)ctspine::parse_nnunet_dataset(text, "fuzz/dataset.json").num_segmentation_heads(); break;
            case 2: (void)ctspine::parse_split_file(text); break;
            case 3: {
                ctspine::case_table t = ctspine::parse_cases_csv(text);
                (void)ctspine::to_csv(t);
                (void)ctspine::to_csv(ctspine::summarize(t));
                break;
            }
            case 4: {
                ctspine::case_table t;
                ctspine::parse_failures_csv(text, t);
                (void)ctspine::failures_csv(t);
                break;
            }
            default: (void)ctspine::parse_nnunet_v1_postprocessing(text, "fuzz/postprocessing.json"); break;
        }
    } catch (const ctspine::error&) {
    }
}

}  // namespace ctspine_fuzz
