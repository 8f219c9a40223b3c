// ctspine — voxel grid geometry: dimensions, spacing and the voxel → world (NIfTI RAS+, mm) affine.
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include <Eigen/Core>
#include <Eigen/LU>

#include "ctspine/core/error.hpp"

namespace ctspine {

using index_t = std::ptrdiff_t;
/// Array dimensions (x, y, z); x varies fastest in memory, as stored in NIfTI.
using dims3 = std::array<index_t, 3>;
/// 4×4 voxel (i, j, k, 1) → world (R, A, S, 1) matrix in mm, NIfTI RAS+ convention.
/// Unaligned on purpose: public structs must not change layout with -m flags (see design notes).
using affine4 = Eigen::Matrix<double, 4, 4, Eigen::DontAlign>;
using vec3 = Eigen::Matrix<double, 3, 1, Eigen::DontAlign>;

/// Hard safety limit on voxels per volume (2^40 ≈ 1.1e12); anything larger is treated as a corrupt size.
inline constexpr index_t max_voxels = index_t(1) << 40;

namespace detail {
/// a*b with overflow check against `limit`; throws errc::size_limit.
inline index_t checked_mul(index_t a, index_t b, index_t limit = std::numeric_limits<index_t>::max()) {
    if (a < 0 || b < 0) throw error(errc::size_limit, cat("negative size ", a, " x ", b));
    if (a != 0 && b > limit / a) throw error(errc::size_limit, cat("size ", a, " x ", b, " exceeds limit ", limit));
    return a * b;
}
}  // namespace detail

namespace detail {
/// Product of extents, checked: every extent ≥ 0 and the product ≤ max_voxels (errc::size_limit otherwise).
template <class Extents>
index_t checked_extent_product(const Extents& extents) {
    index_t n = 1;
    for (index_t e : extents) {
        if (e < 0) throw error(errc::size_limit, cat("negative extent ", e));
        n = checked_mul(n, e, max_voxels);
    }
    return n;
}
}  // namespace detail

/// Number of voxels of `d`, checked: every extent ≥ 0 and the product ≤ max_voxels.
inline index_t voxel_count(const dims3& d) { return detail::checked_extent_product(d); }

/// Where a grid of voxels lies in the world.
struct geometry {
    dims3 dims{0, 0, 0};
    /// Voxel size in mm along i, j, k. For NIfTI this is pixdim[1..3] (as nibabel's get_zooms()).
    std::array<double, 3> spacing_mm{1.0, 1.0, 1.0};
    affine4 ijk_to_ras = affine4::Identity();

    index_t voxel_count() const { return ctspine::voxel_count(dims); }

    /// World position (mm, RAS+) of a (possibly fractional) voxel index.
    vec3 index_to_world(const vec3& ijk) const {
        return ijk_to_ras.topLeftCorner<3, 3>() * ijk + ijk_to_ras.topRightCorner<3, 1>();
    }
    /// Fractional voxel index of a world position (throws if the affine is singular).
    vec3 world_to_index(const vec3& ras) const {
        Eigen::Matrix3d m = ijk_to_ras.topLeftCorner<3, 3>();
        if (!(std::abs(m.determinant()) > 0))
            throw error(errc::invalid_argument, "geometry: ijk_to_ras is singular");
        return m.inverse() * (ras - vec3(ijk_to_ras.topRightCorner<3, 1>()));
    }
};

/// A diagonal affine for the given spacing (origin 0), the convention of an image with no orientation info.
inline affine4 affine_from_spacing(const std::array<double, 3>& spacing_mm) {
    affine4 a = affine4::Identity();
    for (int i = 0; i < 3; ++i) a(i, i) = spacing_mm[static_cast<size_t>(i)];
    return a;
}

}  // namespace ctspine
