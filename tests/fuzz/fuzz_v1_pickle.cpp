// libFuzzer target (input format: fuzz_v1_pickle_input.hpp): nnU-Net v1 plans.pkl / .model.pkl through the v1
// interpretation, from memory. Any outcome but a value or a ctspine::error (a crash, a
// sanitizer report, an uncaught exception, a hang, a runaway allocation) is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz_v1_pickle_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ctspine_fuzz::v1_pickle_one(data, size);
    return 0;
}
