// ctspine resample IN OUT (--spacing X Y Z | --shape X Y Z | --like REF) [--interp nearest|linear|cubic] [--nnunet]
// --spacing writes exactly that spacing: the input's field of view covered by voxels of that size (grid_for_spacing).
// --shape, and --spacing with --nnunet, keep the field of view exactly (nnU-Net's zoom: the voxels are n·s/m mm).
// Output datatype: nearest on an integer file without scaling (a label map) keeps the input's integer datatype (no new
// values can appear); everything else (linear, cubic, --nnunet, float or scaled input) writes float32.
#include <array>
#include <cmath>
#include <iostream>
#include <type_traits>

#include <ctspine/imgproc/nnunet_resample.hpp>
#include <ctspine/imgproc/resample.hpp>
#include <ctspine/io/nifti.hpp>

#include "cli.hpp"

namespace {

struct request {
    std::vector<std::string> sp, sh;
    std::array<double, 3> spacing{};  ///< --spacing, parsed
    std::string like;
    ctspine::interpolation ip = ctspine::interpolation::linear;
    bool nnunet = false;
};

ctspine::dims3 target_shape(const request& r, const ctspine::geometry& g) {
    ctspine::dims3 shape = g.dims;
    if (!r.sp.empty()) shape = ctspine::shape_for_spacing(g.dims, g.spacing_mm, r.spacing);  // nnU-Net's compute_new_shape
    if (!r.sh.empty()) shape = {cli::to_long(r.sh[0], "--shape"), cli::to_long(r.sh[1], "--shape"), cli::to_long(r.sh[2], "--shape")};
    return shape;
}

template <class T>
void report(const std::string& in, const std::string& out, const ctspine::volume<T>& v) {
    std::cout << in << " -> " << out << ": " << v.dims()[0] << "x" << v.dims()[1] << "x" << v.dims()[2] << " at " << v.spacing_mm()[0] << " x "
              << v.spacing_mm()[1] << " x " << v.spacing_mm()[2] << " mm, " << ctspine::nifti_datatype_name(ctspine::nifti_datatype_of<T>()) << "\n";
}

/// Nearest on an integer label map: read, resample and write in the file's own type T.
template <class T>
void resample_labels(const request& r, const std::string& in_path, const std::string& out_path) {
    auto in = ctspine::read_nifti<T>(in_path);
    ctspine::volume<T> out;
    if (!r.like.empty()) out = ctspine::resample_like<T, T>(in.view(), ctspine::read_nifti_header(r.like).geom(), ctspine::interpolation::nearest);
    else if (!r.sp.empty() && !r.nnunet) out = ctspine::resample_labels_to_spacing<T>(in.view(), r.spacing);
    else out = ctspine::resample_labels_to_shape<T>(in.view(), target_shape(r, in.geometry()));
    ctspine::write_nifti(out_path, out);
    report(in_path, out_path, out);
}

/// Everything else, float32 output. InT: the file's integer type for plain linear zooms (read directly by the
/// float32 kernel), float otherwise.
template <class InT>
void resample_float(const request& r, const std::string& in_path, const std::string& out_path) {
    auto in = ctspine::read_nifti<InT>(in_path);
    const ctspine::dims3 shape = target_shape(r, in.geometry());
    ctspine::volume<float> out;
    if (!r.like.empty()) {
        out = ctspine::resample_like<float, InT>(in.view(), ctspine::read_nifti_header(r.like).geom(), r.ip);
    } else if (!r.sp.empty() && !r.nnunet) {
        ctspine::resample_options o;
        o.interp = r.ip;
        out = ctspine::resample_to_spacing<InT, float>(in.view(), r.spacing, o);
    } else if (r.nnunet) {
        if constexpr (std::is_same_v<InT, float>) {
            // nnU-Net's data resampling: order 3 in-plane, separate z when anisotropic (x, y, z → nnU-Net's z, y, x)
            ctspine::geometry g = ctspine::resampled_geometry(in.geometry(), shape);
            out = ctspine::volume<float>(g);
            ctspine::nnunet::spacing3 cur{in.spacing_mm()[2], in.spacing_mm()[1], in.spacing_mm()[0]}, tgt{g.spacing_mm[2], g.spacing_mm[1], g.spacing_mm[0]};
            // nnU-Net decides separate-z from the requested target spacing, not the rounded grid's exact spacing
            if (!r.sp.empty()) tgt = {r.spacing[2], r.spacing[1], r.spacing[0]};
            ctspine::nnunet::resample_data_or_seg_to_shape<float, float>(in.data(), {in.dims()[2], in.dims()[1], in.dims()[0]}, out.data(),
                                                                         {shape[2], shape[1], shape[0]}, cur, tgt, 3, 0);
        }
    } else if (r.ip == ctspine::interpolation::nearest) {
        out = ctspine::volume<float>(ctspine::resampled_geometry(in.geometry(), shape));
        auto lab = ctspine::resample_labels_to_shape<InT>(in.view(), shape);
        std::copy(lab.begin(), lab.end(), out.begin());
    } else {
        ctspine::resample_options o;
        o.interp = r.ip;
        out = ctspine::resample_to_shape<InT>(in.view(), shape, o);
    }
    ctspine::write_nifti(out_path, out);
    report(in_path, out_path, out);
}

int run_resample(cli::args& a) {
    request r;
    r.sp = a.take("--spacing", 3);
    r.sh = a.take("--shape", 3);
    r.like = a.value("--like");
    const std::string interp = a.value("--interp", "linear");
    r.nnunet = a.flag("--nnunet");
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected IN and OUT");
    if (int(!r.sp.empty()) + int(!r.sh.empty()) + int(!r.like.empty()) != 1)
        throw std::invalid_argument("give exactly one of --spacing, --shape, --like");
    r.ip = interp == "nearest"  ? ctspine::interpolation::nearest
           : interp == "cubic"  ? ctspine::interpolation::cubic
           : interp == "linear" ? ctspine::interpolation::linear
                                : throw std::invalid_argument("--interp must be nearest, linear or cubic");
    if (r.nnunet && !r.like.empty()) throw std::invalid_argument("--nnunet resamples to a spacing or shape, not --like");
    for (size_t i = 0; i < r.sp.size(); ++i) {
        r.spacing[i] = cli::to_double(r.sp[i], "--spacing");
        if (!(r.spacing[i] > 0) || !std::isfinite(r.spacing[i])) throw std::invalid_argument("--spacing values must be > 0");
    }
    for (const auto& v : r.sh)
        if (cli::to_long(v, "--shape") < 1) throw std::invalid_argument("--shape values must be >= 1");
    const auto h = ctspine::read_nifti_header(pos[0]);
    const bool integer = h.datatype != int(ctspine::nifti_datatype::float32) && h.datatype != int(ctspine::nifti_datatype::float64) &&
                         !h.has_scaling();
    if (integer && r.ip == ctspine::interpolation::nearest && !r.nnunet) {
        switch (h.datatype) {
            case 2: resample_labels<std::uint8_t>(r, pos[0], pos[1]); return 0;
            case 256: resample_labels<std::int8_t>(r, pos[0], pos[1]); return 0;
            case 4: resample_labels<std::int16_t>(r, pos[0], pos[1]); return 0;
            case 512: resample_labels<std::uint16_t>(r, pos[0], pos[1]); return 0;
            case 8: resample_labels<std::int32_t>(r, pos[0], pos[1]); return 0;
            case 768: resample_labels<std::uint32_t>(r, pos[0], pos[1]); return 0;
            case 1024: resample_labels<std::int64_t>(r, pos[0], pos[1]); return 0;
            case 1280: resample_labels<std::uint64_t>(r, pos[0], pos[1]); return 0;
            default: break;  // not an integer type ctspine reads: the float path reports it
        }
    }
    if (integer && !r.nnunet && r.like.empty() && r.ip == ctspine::interpolation::linear) {
        switch (h.datatype) {  // the float32 linear kernel reads these directly
            case 2: resample_float<std::uint8_t>(r, pos[0], pos[1]); return 0;
            case 4: resample_float<std::int16_t>(r, pos[0], pos[1]); return 0;
            case 512: resample_float<std::uint16_t>(r, pos[0], pos[1]); return 0;
            default: break;
        }
    }
    resample_float<float>(r, pos[0], pos[1]);
    return 0;
}

CTSPINE_CLI_COMMAND("resample", "resample to a spacing, a shape or another image's grid",
                    "ctspine resample IN OUT (--spacing X Y Z | --shape X Y Z | --like REF) [--interp nearest|linear|cubic] [--nnunet]\n"
                    "  --spacing X Y Z: voxels of exactly that size (mm) covering the input's field of view, centred on it;\n"
                    "  --shape, and --spacing with --nnunet: the field of view kept exactly, round(n*s/X) voxels (nnU-Net's zoom);\n"
                    "  --interp nearest on an integer image (a label map, no scaling) writes the input's integer datatype;\n"
                    "  linear, cubic and --nnunet (nnU-Net's order-3 data resampling, separate z) write float32.\n"
                    "  --like REF: world-space resampling onto REF's grid (nearest, linear or cubic B-spline; outside -> 0).",
                    run_resample);

}  // namespace
