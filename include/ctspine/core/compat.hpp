// ctspine — the one header that knows which versions of its dependencies it is compiled against, and absorbs their
// API differences. Tested: xsimd 8.1 (Debian 12) and 14.3 (vcpkg / Conan), Eigen 3.4 (Debian 12) and 5.0; see
// docs/dependencies.md and tests/compat/. Everything else in ctspine uses only what both versions have, or the
// wrappers here (core/simd.hpp builds the kernels' vocabulary on them).
#pragma once
#include <Eigen/Core>
#include <Eigen/SVD>
#include <xsimd/xsimd.hpp>

#define CTSPINE_COMPAT_STR2(x) #x
#define CTSPINE_COMPAT_STR(x) CTSPINE_COMPAT_STR2(x)

/// "MAJOR.MINOR.PATCH" of the xsimd headers in use (xsimd/config/xsimd_config.hpp defines the numbers in 8 and 14).
#define CTSPINE_XSIMD_VERSION_STRING \
    CTSPINE_COMPAT_STR(XSIMD_VERSION_MAJOR) "." CTSPINE_COMPAT_STR(XSIMD_VERSION_MINOR) "." CTSPINE_COMPAT_STR(XSIMD_VERSION_PATCH)

/// The Eigen version in use. Eigen 5 defines EIGEN_VERSION_STRING (Eigen/Version: semantic versioning, with
/// EIGEN_WORLD_VERSION frozen at 3); Eigen 3.4 spells its version WORLD.MAJOR.MINOR (Eigen/src/Core/util/Macros.h).
#if defined(EIGEN_VERSION_STRING)
#define CTSPINE_EIGEN_VERSION_STRING EIGEN_VERSION_STRING
#else
#define CTSPINE_EIGEN_VERSION_STRING \
    CTSPINE_COMPAT_STR(EIGEN_WORLD_VERSION) "." CTSPINE_COMPAT_STR(EIGEN_MAJOR_VERSION) "." CTSPINE_COMPAT_STR(EIGEN_MINOR_VERSION)
#endif

namespace ctspine {
namespace compat {

/// Horizontal sum of a batch: xsimd ≤ 8 calls it hadd, xsimd ≥ 9 reduce_add (hadd is gone in 14).
template <class T, class Arch>
inline T reduce_add(const xsimd::batch<T, Arch>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
    return xsimd::reduce_add(b);
#else
    return xsimd::hadd(b);
#endif
}

/// U · Vᵀ of the full SVD of a 3×3 matrix (the nearest rotation for a proper input). The SVD's options are a class
/// template parameter from Eigen 3.4.90 on (the constructor argument is deprecated there, and 5.x says it will warn),
/// but a constructor argument in Eigen 3.4, whose second template parameter is the QR preconditioner. Note that
/// EIGEN_VERSION_AT_LEAST compares WORLD.MAJOR.MINOR in 3.4 and MAJOR.MINOR.PATCH in 5.x: both read 3.4.90 right.
inline Eigen::Matrix3d svd_u_vt(const Eigen::Matrix3d& m) {
#if EIGEN_VERSION_AT_LEAST(3, 4, 90)
    const Eigen::JacobiSVD<Eigen::Matrix3d, Eigen::ComputeFullU | Eigen::ComputeFullV> svd(m);
#else
    const Eigen::JacobiSVD<Eigen::Matrix3d> svd(m, Eigen::ComputeFullU | Eigen::ComputeFullV);
#endif
    return svd.matrixU() * svd.matrixV().transpose();
}

/// Versions of the header-only dependencies this translation unit sees.
inline const char* xsimd_version() noexcept { return CTSPINE_XSIMD_VERSION_STRING; }
inline const char* eigen_version() noexcept { return CTSPINE_EIGEN_VERSION_STRING; }

}  // namespace compat
}  // namespace ctspine
