// libFuzzer target: the NIfTI reader on arbitrary bytes, through the memory entry point (the same code as the file
// readers, io/nifti.hpp + io/gzip.hpp): header parsing, extensions, every datatype conversion, plain and gzip data,
// both decompression back ends. The first input byte chooses the form (single file or .hdr/.img pair split at a
// position taken from the input), the stored-type or float read, and the back end; the rest is the file.
// Any outcome but a value or a ctspine::error (a crash, a sanitizer report, a hang, a runaway allocation) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <ctspine/io/nifti.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t mode = data[0];
    ++data;
    --size;
    ctspine::nifti_memory m;
    m.data = data;
    m.size = size;
    if ((mode & 1) && size >= 2) {  // a pair: header | image, split at a point the input chooses
        std::size_t split = (std::size_t(data[0]) << 8 | data[1]) % (size - 1) + 2;
        m.data = data + 2;
        m.size = split - 2;
        m.image = data + split;
        m.image_size = size - split;
    }
    ctspine::nifti_read_options opt;
    opt.use_libdeflate = (mode & 2) != 0;
    opt.threads = 1;
    opt.apply_scaling = (mode & 4) != 0;
    try {
        const ctspine::nifti_header h = ctspine::read_nifti_header(m);
        opt.frame = (mode >> 3) & 1 ? h.frames() - 1 : 0;
        if (mode & 0x10) (void)ctspine::read_nifti<std::int16_t>(m, opt);
        else if (mode & 0x20) (void)ctspine::read_nifti<std::uint8_t>(m, opt);
        else (void)ctspine::read_nifti<float>(m, opt);
    } catch (const ctspine::error&) {
    }
    return 0;
}
