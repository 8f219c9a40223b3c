// libFuzzer target: the restricted pickle machine (model/pickle.hpp) on arbitrary bytes — the parser behind torch
// checkpoints' data.pkl and nnU-Net v1's plans.pkl / .model.pkl. Any outcome but a tree or a ctspine::error (a crash,
// a sanitizer report, a hang, a runaway allocation) is a bug. Seeds: the committed .pkl fixtures.
#include <cstddef>
#include <cstdint>

#include <ctspine/model/pickle.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        (void)ctspine::parse_pickle(data, size, {}, "fuzz.pkl");
    } catch (const ctspine::error&) {
    }
    return 0;
}
