// ctspine — class probabilities of a segmentation (nnU-Net's --save_probabilities): a 4-D float32 map (x, y, z, class)
// on the CT's grid, and writing it as a 4-D NIfTI-1 file (io/nifti.hpp's write_nifti is 3-D only, so the header is
// written here with the same conventions: sform/qform from ijk_to_ras, pixdim from spacing_mm, little-endian).
//
// nnU-Net (inference/export_prediction.py convert_predicted_logits_to_segmentation_with_correct_shape with
// return_probabilities; utilities/label_handling.py apply_inference_nonlin, revert_cropping_on_probabilities):
// softmax over channels of the float32 logits after export resampling; outside the crop bbox the background class
// has probability 1 and every other class 0; then the transpose is reverted. nnU-Net saves a .npz of (class, z, y, x);
// the NIfTI here holds the same array with the CT's voxel order, class as the 4th (slowest) axis.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/io/nifti.hpp"

namespace ctspine {

/// Per-class probabilities on one grid: data[c · voxels + voxel], voxel index x fastest (as volume<T>).
struct probability_map {
    ctspine::geometry geometry;
    index_t num_classes = 0;
    std::vector<float> data;

    index_t voxels() const { return geometry.voxel_count(); }
    /// Allocate (uninitialised values are zero) for `classes` classes on grid `g`.
    void reset(const ctspine::geometry& g, index_t classes) {
        if (classes <= 0) throw error(errc::invalid_argument, "probabilities: need at least one class");
        geometry = g;
        num_classes = classes;
        data.assign(static_cast<size_t>(detail::checked_mul(g.voxel_count(), classes)), 0.0f);
    }
    float* channel(index_t c) { return data.data() + c * voxels(); }
    const float* channel(index_t c) const { return data.data() + c * voxels(); }
    volume_view<const float> channel_view(index_t c) const {
        if (c < 0 || c >= num_classes) throw error(errc::invalid_argument, detail::cat("probabilities: no class ", c));
        return volume_view<const float>(channel(c), geometry);
    }
};

/// Softmax over `n` values with stride `stride` in place (float32, max subtracted first, as torch.softmax).
inline void softmax_strided(float* v, index_t n, index_t stride) {
    float mx = v[0];
    for (index_t c = 1; c < n; ++c) mx = std::max(mx, v[c * stride]);
    float sum = 0.0f;
    for (index_t c = 0; c < n; ++c) {
        const float e = std::exp(v[c * stride] - mx);
        v[c * stride] = e;
        sum += e;
    }
    for (index_t c = 0; c < n; ++c) v[c * stride] /= sum;
}

/// Write a probability map as a 4-D NIfTI-1 float32 file (dim = x, y, z, class; .nii or .nii.gz by name).
inline void write_probabilities_nifti(const std::string& path, const probability_map& p, const nifti_write_options& opt = {}) {
    const dims3& d = p.geometry.dims;
    for (index_t e : d)
        if (e < 1 || e > 32767)
            throw error(errc::invalid_argument, detail::cat("probabilities: extent ", e, " cannot be stored in NIfTI-1 (1..32767)"), path, "dim");
    if (p.num_classes < 1 || p.num_classes > 32767)
        throw error(errc::invalid_argument, detail::cat("probabilities: ", p.num_classes, " classes cannot be stored in NIfTI-1"), path, "dim[4]");
    if (static_cast<index_t>(p.data.size()) != p.voxels() * p.num_classes)
        throw error(errc::shape_mismatch, "probabilities: data size differs from geometry × classes", path);
    const affine4& A = p.geometry.ijk_to_ras;
    if (!A.allFinite()) throw error(errc::invalid_argument, "probabilities: non-finite ijk_to_ras", path, "ijk_to_ras");
    if (detail::host_is_big_endian()) throw error(errc::unsupported, "probabilities: writing on big-endian hosts is not supported", path);
    const bool gz = opt.compress < 0 ? detail::ends_with(path, ".gz") : opt.compress == 1;
    // NIfTI-1 header layout (nifti1.h): sizeof_hdr 0, regular 38, dim 40, datatype 70, bitpix 72, pixdim 76,
    // vox_offset 108, scl 112/116, xyzt_units 123, descrip 148, qform/sform codes 252/254, quatern 256-276, srow 280,
    // magic 344.
    unsigned char hdr[352];
    std::memset(hdr, 0, sizeof(hdr));
    auto put16 = [&](std::size_t o, std::int16_t x) { std::memcpy(hdr + o, &x, 2); };
    auto put32 = [&](std::size_t o, std::int32_t x) { std::memcpy(hdr + o, &x, 4); };
    auto putf = [&](std::size_t o, double x) { float f = static_cast<float>(x); std::memcpy(hdr + o, &f, 4); };
    put32(0, 348);
    hdr[38] = 'r';
    put16(40, 4);
    for (int i = 0; i < 3; ++i) put16(42 + 2 * static_cast<std::size_t>(i), static_cast<std::int16_t>(d[static_cast<size_t>(i)]));
    put16(48, static_cast<std::int16_t>(p.num_classes));
    for (int i = 4; i < 7; ++i) put16(42 + 2 * static_cast<std::size_t>(i), 1);
    put16(70, static_cast<std::int16_t>(nifti_datatype_of<float>()));
    put16(72, 32);
    const auto q = detail::affine_to_quatern(A);
    putf(76, q.qfac);
    for (int i = 0; i < 3; ++i) putf(80 + 4 * static_cast<std::size_t>(i), p.geometry.spacing_mm[static_cast<size_t>(i)]);
    for (int i = 3; i < 7; ++i) putf(80 + 4 * static_cast<std::size_t>(i), 1.0);
    putf(108, 352.0);
    putf(112, opt.scl_slope);
    putf(116, opt.scl_inter);
    hdr[123] = static_cast<unsigned char>(opt.xyzt_units);
    std::memcpy(hdr + 148, opt.descrip.data(), std::min<std::size_t>(opt.descrip.size(), 79));
    put16(252, static_cast<std::int16_t>(opt.qform_code));
    put16(254, static_cast<std::int16_t>(opt.sform_code));
    putf(256, q.b);
    putf(260, q.c);
    putf(264, q.d);
    putf(268, A(0, 3));
    putf(272, A(1, 3));
    putf(276, A(2, 3));
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) putf(280 + 16 * static_cast<std::size_t>(r) + 4 * static_cast<std::size_t>(c), A(r, c));
    std::memcpy(hdr + 344, "n+1\0", 4);
    detail::byte_sink sink(path, gz, opt.level);
    sink.write(hdr, 352);
    sink.end_member();
    sink.write(p.data.data(), p.data.size() * sizeof(float));
    sink.finish();
}

}  // namespace ctspine
