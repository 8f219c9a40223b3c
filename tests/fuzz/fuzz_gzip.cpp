// libFuzzer target (input format: fuzz_gzip_input.hpp): the gzip layer with both back ends, differentially. Any
// outcome but a value or a ctspine::error (a crash, a sanitizer report, a hang, a runaway allocation), or a libdeflate
// path that succeeds with bytes other than zlib's, is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz_gzip_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (!ctspine_fuzz::gzip_one(data, size)) __builtin_trap();
    return 0;
}
