// ctspine — nnU-Net v2's resampling, reproduced: compute_new_shape, the separate-z rule and
// resample_data_or_seg_to_shape for data (order 3, order_z 0) and logits (order 1). nnunetv2/preprocessing/resampling/
// default_resampling.py (see docs/nnunet-numerics.md §4.2.5, §4.4).
//
// Axis order here is nnU-Net's: shape (s0, s1, s2) with s2 varying fastest in memory — i.e. a SimpleITK array (z, y, x).
// A ctspine volume with dims (x, y, z) is the same memory with s0 = z, s1 = y, s2 = x.
#pragma once
#include <array>
#include <cmath>
#include <optional>

#include "ctspine/core/error.hpp"
#include "ctspine/imgproc/resample.hpp"

namespace ctspine {
namespace nnunet {

using shape3 = std::array<index_t, 3>;
using spacing3 = std::array<double, 3>;

/// nnunetv2.configuration.ANISO_THRESHOLD
inline constexpr double aniso_threshold = 3.0;

/// int(round(old_spacing / new_spacing · old_shape)) per axis, Python round = half to even (default_resampling.py).
inline shape3 compute_new_shape(const shape3& shape, const spacing3& spacing, const spacing3& new_spacing) {
    shape3 s{};
    for (size_t a = 0; a < 3; ++a) {
        if (!(new_spacing[a] > 0) || !(spacing[a] > 0)) throw error(errc::invalid_argument, "nnunet: spacings must be > 0");
        s[a] = static_cast<index_t>(std::nearbyint(spacing[a] / new_spacing[a] * double(shape[a])));
    }
    return s;
}

struct separate_z { bool separate = false; int axis = -1; };

/// determine_do_sep_z_and_axis: separate along the unique lowest-resolution axis of the current spacing if its
/// max/min ratio exceeds 3, else of the new spacing; two or three tied axes → no separate z.
inline separate_z determine_separate_z(const spacing3& current, const spacing3& target, std::optional<bool> force = std::nullopt) {
    auto ratio_exceeds = [](const spacing3& s) {
        return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) > aniso_threshold;
    };
    auto lowres_axes = [](const spacing3& s) {
        std::vector<int> axes;
        const double mx = *std::max_element(s.begin(), s.end());
        for (int a = 0; a < 3; ++a)
            if (mx / s[static_cast<size_t>(a)] == 1) axes.push_back(a);  // exact equality, as np.where(max/s == 1)
        return axes;
    };
    separate_z r;
    std::vector<int> axes;
    if (force) {
        r.separate = *force;
        if (*force) axes = lowres_axes(current);
    } else if (ratio_exceeds(current)) {
        r.separate = true;
        axes = lowres_axes(current);
    } else if (ratio_exceeds(target)) {
        r.separate = true;
        axes = lowres_axes(target);
    }
    if (r.separate) {
        if (axes.size() == 1) r.axis = axes[0];
        else r.separate = false;
    }
    return r;
}

/// resample_data_or_seg_to_shape for one channel of data (is_seg = False): returns `in` unchanged if shapes match;
/// otherwise skimage resize (order, mode 'edge', no anti-aliasing, clipped to the input range) in float64, or with
/// separate z: 2-D resize of every slice along the low-resolution axis, then order_z along that axis. InT/OutT:
/// float (data) or any arithmetic type. `threads` 0 = all.
template <class InT, class OutT>
void resample_data_or_seg_to_shape(const InT* in, const shape3& in_shape, OutT* out, const shape3& out_shape, const spacing3& current_spacing,
                                   const spacing3& new_spacing, int order = 3, int order_z = 0, std::optional<bool> force_separate_z = std::nullopt,
                                   int threads = 0) {
    const dims3 di{in_shape[2], in_shape[1], in_shape[0]}, dout{out_shape[2], out_shape[1], out_shape[0]};
    if (in_shape == out_shape) {
        const index_t n = voxel_count(di);
        for (index_t i = 0; i < n; ++i) out[i] = static_cast<OutT>(in[i]);
        return;
    }
    separate_z sz = determine_separate_z(current_spacing, new_spacing, force_separate_z);
    std::array<int, 3> ord{order, order, order};
    detail::zoom_clip clip;
    clip.mode = detail::zoom_clip::global;
    if (sz.separate) {
        const int our_axis = 2 - sz.axis;  // nnU-Net axis a is our axis 2 - a
        ord[static_cast<size_t>(our_axis)] = order_z;
        clip.mode = detail::zoom_clip::per_slice;
        clip.axis = our_axis;
    }
    detail::zoom3d<InT, OutT>(in, di, out, dout, ord, clip, threads);
}

}  // namespace nnunet
}  // namespace ctspine
