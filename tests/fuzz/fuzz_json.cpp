// libFuzzer target (input format: fuzz_json_input.hpp): plans.json, dataset.json, the CTSpine1K split file, cases.csv /
// failures.csv (evaluation shards) and v1 postprocessing.json, from memory. Any outcome but a value or a ctspine::error (a crash, a
// sanitizer report, an uncaught exception, a hang, a runaway allocation) is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz_json_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ctspine_fuzz::json_one(data, size);
    return 0;
}
