// ctspine — crop to the non-zero bounding box and insert back (nnU-Net crop_to_nonzero semantics).
#pragma once
#include <algorithm>
#include <array>
#include <string>

#include "ctspine/core/error.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

/// Half-open box [lo, hi) per axis (i, j, k).
struct bbox3 {
    std::array<index_t, 3> lo{0, 0, 0}, hi{0, 0, 0};
    dims3 dims() const { return {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}; }
    bool operator==(const bbox3& o) const { return lo == o.lo && hi == o.hi; }
};

/// Bounding box of the non-zero voxels; the full extent when there are none (acvl_utils get_bbox_from_mask, as
/// nnU-Net's crop_to_nonzero uses it). nnU-Net fills holes in the mask first (binary_fill_holes), which never changes
/// the bounding box of a mask, so it is skipped here.
template <class T>
bbox3 nonzero_bbox(volume_view<const T> v) {
    bbox3 b;
    b.lo = {v.dims()[0], v.dims()[1], v.dims()[2]};
    b.hi = {0, 0, 0};
    bool any = false;
    for (index_t k = 0; k < v.dims()[2]; ++k)
        for (index_t j = 0; j < v.dims()[1]; ++j) {
            const T* row = v.data() + v.offset(0, j, k);
            index_t first = -1, last = -1;
            for (index_t i = 0; i < v.dims()[0]; ++i)
                if (row[i] != T(0)) {
                    if (first < 0) first = i;
                    last = i;
                }
            if (first < 0) continue;
            any = true;
            b.lo = {std::min(b.lo[0], first), std::min(b.lo[1], j), std::min(b.lo[2], k)};
            b.hi = {std::max(b.hi[0], last + 1), std::max(b.hi[1], j + 1), std::max(b.hi[2], k + 1)};
        }
    if (!any) {
        b.lo = {0, 0, 0};
        b.hi = {v.dims()[0], v.dims()[1], v.dims()[2]};
    }
    return b;
}

/// Geometry of box b of `g`: the cropped voxel (0,0,0) lies where g's voxel b.lo lies in world space.
inline geometry cropped_geometry(const geometry& g, const bbox3& b) {
    for (size_t a = 0; a < 3; ++a)
        if (b.lo[a] < 0 || b.hi[a] > g.dims[a] || b.lo[a] >= b.hi[a])
            throw error(errc::invalid_argument, "crop: box outside the volume or empty", {}, "axis " + std::to_string(a),
                        "[" + std::to_string(b.lo[a]) + ", " + std::to_string(b.hi[a]) + ") of " + std::to_string(g.dims[a]));
    geometry c = g;
    c.dims = b.dims();
    c.ijk_to_ras.col(3) = g.ijk_to_ras * Eigen::Vector4d(double(b.lo[0]), double(b.lo[1]), double(b.lo[2]), 1.0);
    return c;
}

/// Copy box b of `v` into the caller's buffer `out` (dims must equal the box). Its world placement is
/// cropped_geometry(v.geometry(), b).
template <class T>
void crop_into(volume_view<const T> v, const bbox3& b, volume_view<T> out) {
    const geometry g = cropped_geometry(v.geometry(), b);
    if (out.dims() != g.dims) throw error(errc::shape_mismatch, "crop_into: output dims differ from the box");
    for (index_t k = 0; k < g.dims[2]; ++k)
        for (index_t j = 0; j < g.dims[1]; ++j) {
            const T* src = v.data() + v.offset(b.lo[0], b.lo[1] + j, b.lo[2] + k);
            std::copy(src, src + g.dims[0], out.data() + out.offset(0, j, k));
        }
}

/// Copy the box out of `v`; the result's geometry places it where it was in world space.
template <class T>
volume<T> crop(volume_view<const T> v, const bbox3& b) {
    volume<T> out(cropped_geometry(v.geometry(), b));
    crop_into<T>(v, b, out.view());
    return out;
}

/// Write `part` into `full` at box b (acvl_utils insert_crop_into_image); `full` keeps its other voxels.
template <class T>
void insert_crop(volume_view<const T> part, const bbox3& b, volume_view<T> full) {
    if (part.dims() != b.dims()) throw error(errc::shape_mismatch, "insert_crop: part dims differ from the box");
    for (int a = 0; a < 3; ++a)
        if (b.lo[static_cast<size_t>(a)] < 0 || b.hi[static_cast<size_t>(a)] > full.dims()[static_cast<size_t>(a)])
            throw error(errc::invalid_argument, "insert_crop: box outside the volume");
    for (index_t k = 0; k < part.dims()[2]; ++k)
        for (index_t j = 0; j < part.dims()[1]; ++j) {
            const T* src = part.data() + part.offset(0, j, k);
            std::copy(src, src + part.dims()[0], full.data() + full.offset(b.lo[0], b.lo[1] + j, b.lo[2] + k));
        }
}

}  // namespace ctspine
