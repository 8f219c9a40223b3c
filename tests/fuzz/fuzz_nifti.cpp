// libFuzzer target (input format: fuzz_nifti_input.hpp): the NIfTI reader on arbitrary bytes, through the memory entry point (the same code as the file
// readers, io/nifti.hpp + io/gzip.hpp): header parsing, extensions, every datatype conversion, plain and gzip data,
// both decompression back ends. The first input byte chooses the form (single file or .hdr/.img pair split at a
// position taken from the input), the stored-type or float read, and the back end; the rest is the file.
// Any outcome but a value or a ctspine::error (a crash, a sanitizer report, a hang, a runaway allocation) is a bug.
#include <cstddef>
#include <cstdint>

#include "fuzz_nifti_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ctspine_fuzz::nifti_one(data, size);
    return 0;
}
