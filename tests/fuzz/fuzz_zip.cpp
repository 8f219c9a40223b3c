// libFuzzer target (input format: fuzz_zip_input.hpp): the zip container and the torch checkpoint reader (zip_reader, read_torch_checkpoint, tensor
// materialisation, network_weights), from memory. Any outcome but a value or a ctspine::error (a crash, a
// sanitizer report, an uncaught exception, a hang, a runaway allocation) is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz_zip_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ctspine_fuzz::zip_one(data, size);
    return 0;
}
