// ctspine — class probabilities of a segmentation (nnU-Net's --save_probabilities): a 4-D float32 map (x, y, z, class)
// on the CT's grid, and writing it as a 4-D NIfTI-1 file (io/nifti.hpp's write_nifti_frames).
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
    if (p.num_classes < 1 || static_cast<index_t>(p.data.size()) != detail::checked_mul(p.voxels(), p.num_classes))
        throw error(errc::shape_mismatch, "probabilities: data size differs from geometry × classes", path);
    write_nifti_frames<float>(path, p.data.data(), p.geometry, p.num_classes, opt);
}

}  // namespace ctspine
