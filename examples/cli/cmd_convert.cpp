// ctspine convert IN OUT [--reorient CODE] — rewrite a NIfTI file (e.g. .hdr/.img → .nii.gz), optionally
// reoriented (axis permutation/flips only). The stored datatype is kept for the common types.
#include <iostream>

#include <ctspine/core/orientation.hpp>
#include <ctspine/io/nifti.hpp>

#include "cli.hpp"

namespace {

template <class T>
void convert_as(const std::string& in, const std::string& out, const std::string& orient, const ctspine::nifti_header& h) {
    ctspine::nifti_read_options ro;
    ro.apply_scaling = false;  // keep stored values; scaling is carried over in the header
    ctspine::volume<T> v = ctspine::read_nifti<T>(in, ro);
    if (!orient.empty()) v = ctspine::reorient<T>(v.view(), orient);
    ctspine::nifti_write_options wo;
    wo.scl_slope = h.scl_slope;
    wo.scl_inter = h.scl_inter;
    wo.qform_code = h.qform_code > 0 ? h.qform_code : 1;
    wo.sform_code = h.sform_code > 0 ? h.sform_code : 1;
    ctspine::write_nifti<T>(out, v.view(), wo);
}

int run_convert(cli::args& a) {
    std::string orient = a.value("--reorient");
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected IN and OUT");
    if (!orient.empty()) (void)cli::parse_option("--reorient", [&] { return ctspine::parse_orientation_code(orient); });
    ctspine::nifti_header h = ctspine::read_nifti_header(pos[0]);
    switch (h.datatype) {
        case 2: convert_as<std::uint8_t>(pos[0], pos[1], orient, h); break;
        case 256: convert_as<std::int8_t>(pos[0], pos[1], orient, h); break;
        case 4: convert_as<std::int16_t>(pos[0], pos[1], orient, h); break;
        case 512: convert_as<std::uint16_t>(pos[0], pos[1], orient, h); break;
        case 8: convert_as<std::int32_t>(pos[0], pos[1], orient, h); break;
        case 768: convert_as<std::uint32_t>(pos[0], pos[1], orient, h); break;
        case 64: convert_as<double>(pos[0], pos[1], orient, h); break;
        default: convert_as<float>(pos[0], pos[1], orient, h); break;
    }
    if (h.frames() > 1) std::cerr << "ctspine convert: note: only frame 0 of " << h.frames() << " was written\n";
    return 0;
}

CTSPINE_CLI_COMMAND("convert", "rewrite a NIfTI file (.hdr/.img → .nii.gz, reorient to RAS, ...)",
                    "ctspine convert IN OUT [--reorient RAS]", run_convert);

}  // namespace
