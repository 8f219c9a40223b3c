// ctspine resample IN OUT (--spacing X Y Z | --shape X Y Z | --like REF) [--interp nearest|linear|cubic] [--nnunet]
#include <iostream>

#include <ctspine/imgproc/nnunet_resample.hpp>
#include <ctspine/imgproc/resample.hpp>
#include <ctspine/io/nifti.hpp>

#include "cli.hpp"

namespace {

int run_resample(cli::args& a) {
    auto sp = a.take("--spacing", 3), sh = a.take("--shape", 3);
    std::string like = a.value("--like"), interp = a.value("--interp", "linear");
    bool nn = a.flag("--nnunet");
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected IN and OUT");
    if (int(!sp.empty()) + int(!sh.empty()) + int(!like.empty()) != 1) throw std::invalid_argument("give exactly one of --spacing, --shape, --like");
    ctspine::interpolation ip = interp == "nearest" ? ctspine::interpolation::nearest
                                : interp == "cubic"  ? ctspine::interpolation::cubic
                                : interp == "linear" ? ctspine::interpolation::linear
                                                     : throw std::invalid_argument("--interp must be nearest, linear or cubic");
    auto in = ctspine::read_nifti<float>(pos[0]);
    ctspine::dims3 shape = in.dims();
    if (!sp.empty())
        shape = ctspine::shape_for_spacing(in.dims(), in.spacing_mm(),
                                           {cli::to_double(sp[0], "--spacing"), cli::to_double(sp[1], "--spacing"), cli::to_double(sp[2], "--spacing")});
    if (!sh.empty()) shape = {cli::to_long(sh[0], "--shape"), cli::to_long(sh[1], "--shape"), cli::to_long(sh[2], "--shape")};
    ctspine::volume<float> out;
    if (!like.empty()) {
        auto ref = ctspine::read_nifti_header(like);
        out = ctspine::resample_like<float, float>(in.view(), ref.geom(), ip);
    } else if (nn) {
        // nnU-Net's data resampling: order 3 in-plane, separate z when anisotropic (x, y, z → nnU-Net's z, y, x)
        ctspine::geometry g = ctspine::resampled_geometry(in.geometry(), shape);
        out = ctspine::volume<float>(g);
        ctspine::nnunet::spacing3 cur{in.spacing_mm()[2], in.spacing_mm()[1], in.spacing_mm()[0]}, tgt{g.spacing_mm[2], g.spacing_mm[1], g.spacing_mm[0]};
        // nnU-Net decides separate-z from the requested target spacing, not the rounded grid's exact spacing
        if (!sp.empty()) tgt = {cli::to_double(sp[2], "--spacing"), cli::to_double(sp[1], "--spacing"), cli::to_double(sp[0], "--spacing")};
        ctspine::nnunet::resample_data_or_seg_to_shape<float, float>(in.data(), {in.dims()[2], in.dims()[1], in.dims()[0]}, out.data(),
                                                                     {shape[2], shape[1], shape[0]}, cur, tgt, 3, 0);
    } else if (ip == ctspine::interpolation::nearest) {
        out = ctspine::resample_labels_to_shape<float>(in.view(), shape);
    } else {
        ctspine::resample_options o;
        o.interp = ip;
        out = ctspine::resample_to_shape<float>(in.view(), shape, o);
    }
    ctspine::write_nifti(pos[1], out);
    std::cout << pos[0] << " -> " << pos[1] << ": " << out.dims()[0] << "x" << out.dims()[1] << "x" << out.dims()[2] << " at "
              << out.spacing_mm()[0] << " x " << out.spacing_mm()[1] << " x " << out.spacing_mm()[2] << " mm\n";
    return 0;
}

CTSPINE_CLI_COMMAND("resample", "resample to a spacing, a shape or another image's grid",
                    "ctspine resample IN OUT (--spacing X Y Z | --shape X Y Z | --like REF) [--interp nearest|linear|cubic] [--nnunet]",
                    run_resample);

}  // namespace
