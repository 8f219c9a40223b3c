// ctspine — NIfTI-1 / NIfTI-2 reading and NIfTI-1 writing.
//
// Formats: single file (.nii, .nii.gz) and pairs (.hdr/.img, .hdr.gz/.img.gz); both byte orders; datatypes
// uint8 int8 int16 uint16 int32 uint32 int64 uint64 float32 float64. Geometry resolved exactly as nibabel does
// (Nifti1Header.get_best_affine): sform if sform_code > 0, else qform if qform_code > 0, else the pixdim-only
// "base affine" (x flipped, centred). Facts relied on are from the NIfTI-1 header definition (nifti1.h,
// NIfTI DFWG 2004), the NIfTI-2 header (nifti2.h, 2011), and nibabel's nifti1.py / analyze.py behaviour.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Dense>

#include "ctspine/core/compat.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/io/gzip.hpp"

namespace ctspine {

/// NIfTI datatype codes (nifti1.h, NIFTI_TYPE_*).
enum class nifti_datatype : int {
    uint8 = 2, int16 = 4, int32 = 8, float32 = 16, complex64 = 32, float64 = 64, rgb24 = 128,
    int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280, float128 = 1536,
    complex128 = 1792, complex256 = 2048, rgba32 = 2304
};

inline const char* nifti_datatype_name(int code) noexcept {
    switch (code) {
        case 2: return "uint8";
        case 4: return "int16";
        case 8: return "int32";
        case 16: return "float32";
        case 32: return "complex64";
        case 64: return "float64";
        case 128: return "rgb24";
        case 256: return "int8";
        case 512: return "uint16";
        case 768: return "uint32";
        case 1024: return "int64";
        case 1280: return "uint64";
        case 1536: return "float128";
        case 1792: return "complex128";
        case 2048: return "complex256";
        case 2304: return "rgba32";
        default: return "unknown";
    }
}

/// Bytes per voxel of the datatypes ctspine reads, 0 for the others.
inline int nifti_datatype_size(int code) noexcept {
    switch (code) {
        case 2: case 256: return 1;
        case 4: case 512: return 2;
        case 8: case 768: case 16: return 4;
        case 64: case 1024: case 1280: return 8;
        default: return 0;
    }
}

/// The datatype code ctspine writes for T.
template <class T>
constexpr int nifti_datatype_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>) return 2;
    else if constexpr (std::is_same_v<T, std::int8_t>) return 256;
    else if constexpr (std::is_same_v<T, std::int16_t>) return 4;
    else if constexpr (std::is_same_v<T, std::uint16_t>) return 512;
    else if constexpr (std::is_same_v<T, std::int32_t>) return 8;
    else if constexpr (std::is_same_v<T, std::uint32_t>) return 768;
    else if constexpr (std::is_same_v<T, std::int64_t>) return 1024;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return 1280;
    else if constexpr (std::is_same_v<T, float>) return 16;
    else if constexpr (std::is_same_v<T, double>) return 64;
    else return 0;
}

/// Everything ctspine reads from a NIfTI header, with the geometry resolved as nibabel resolves it.
struct nifti_header {
    int version = 1;                       ///< 1 or 2
    bool big_endian = false;               ///< byte order of the file
    std::array<std::int64_t, 8> dim{};     ///< dim[0] = rank, dim[1..] extents
    int datatype = 0;
    int bitpix = 0;
    std::int64_t vox_offset = 0;           ///< byte offset of the data in the data file
    std::array<double, 8> pixdim{};
    double scl_slope = 0, scl_inter = 0;   ///< as stored
    int qform_code = 0, sform_code = 0;
    affine4 qform = affine4::Identity();   ///< from quaternion, pixdim and qfac (meaningful when qform_code > 0)
    affine4 sform = affine4::Identity();   ///< srow_x/y/z (meaningful when sform_code > 0)
    affine4 ijk_to_ras = affine4::Identity();  ///< sform, else qform, else the pixdim base affine
    int xyzt_units = 0, intent_code = 0;
    std::string descrip;
    std::vector<char> extensions;          ///< raw bytes of the header extensions (after the 4-byte extender)
    std::string header_file, data_file;    ///< the two files (equal for single-file NIfTI)

    /// Extents beyond the third multiplied: the number of 3-D frames (4-D/5-D files).
    std::int64_t frames() const noexcept {
        std::int64_t n = 1;
        for (int i = 4; i <= dim[0] && i <= 7; ++i) n *= std::max<std::int64_t>(dim[static_cast<size_t>(i)], 1);
        return n;
    }
    dims3 dims() const noexcept {
        return {index_t(dim[1]), index_t(dim[0] >= 2 ? dim[2] : 1), index_t(dim[0] >= 3 ? dim[3] : 1)};
    }
    /// nibabel's effective scaling: slope 0 or non-finite means "no scaling" (slope 1, intercept 0).
    bool has_scaling() const noexcept {
        return std::isfinite(scl_slope) && scl_slope != 0 && !(scl_slope == 1 && (scl_inter == 0 || !std::isfinite(scl_inter)));
    }
    double slope() const noexcept { return (std::isfinite(scl_slope) && scl_slope != 0) ? scl_slope : 1.0; }
    double inter() const noexcept {
        return (std::isfinite(scl_slope) && scl_slope != 0 && std::isfinite(scl_inter)) ? scl_inter : 0.0;
    }
    /// Grid of one 3-D frame: dims, spacing = |pixdim[1..3]| (nibabel get_zooms), ijk_to_ras.
    ctspine::geometry geom() const {
        ctspine::geometry g;
        g.dims = dims();
        for (int i = 0; i < 3; ++i) g.spacing_mm[static_cast<size_t>(i)] = i < dim[0] ? std::abs(pixdim[static_cast<size_t>(i + 1)]) : 1.0;
        g.ijk_to_ras = ijk_to_ras;
        return g;
    }
};

struct nifti_read_options {
    std::int64_t frame = 0;     ///< which 3-D frame of a 4-D/5-D file
    bool apply_scaling = true;  ///< apply scl_slope/scl_inter (see read_nifti for integral T)
    int threads = 0;            ///< conversion threads (0 = hardware)
    bool use_libdeflate = true; ///< use the libdeflate back end for .gz when compiled in
    // Reading limits (docs/robustness.md). Each is checked against the header before anything is allocated and a
    // hit is errc::size_limit with field() naming the limit. Whatever they say, the data a header claims must also
    // fit the file: a plain file's size, or max_gzip_ratio × a gzip file's size + 64 KiB (errc::truncated /
    // errc::size_limit, field "dim").
    /// Bytes one read may allocate: the volume returned (voxels × sizeof(T)) and the decompressed bytes the read must
    /// produce (vox_offset + the frames up to the requested one); each must stay within this.
    std::uint64_t max_read_bytes = std::numeric_limits<std::uint64_t>::max();
    index_t max_voxels = ctspine::max_voxels;  ///< voxels of the 3-D frame read (the header itself is refused above ctspine::max_voxels)
    index_t max_extent = ctspine::max_voxels;  ///< each of dim[1], dim[2], dim[3]
    /// The most a gzip file is believed to expand: deflate's own bound is 1032:1 (RFC 1951: a 258-byte match costs at
    /// least 2 bits); CT volumes compress 2–20:1, so a host may lower it (values below 1 are treated as 1).
    double max_gzip_ratio = 1032.0;
};

struct nifti_write_options {
    int compress = -1;          ///< 1 gzip, 0 plain, -1 from the file name (".gz" suffix)
    int level = 6;              ///< gzip level
    int qform_code = 1;         ///< NIFTI_XFORM_SCANNER_ANAT, as ITK/SimpleITK write
    int sform_code = 1;
    double scl_slope = 0, scl_inter = 0;  ///< stored as given (0 = no scaling)
    int xyzt_units = 2;         ///< NIFTI_UNITS_MM
    std::string descrip = "ctspine";
    int threads = 0;            ///< compression threads for .gz (0 = hardware); the file is identical for any count
    std::size_t gzip_member_bytes = std::size_t(4) << 20;  ///< voxel bytes per indexed gzip member (.gz)
};

namespace detail {

inline void byteswap_inplace(void* p, int size, std::size_t count) {
    auto* b = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < count; ++i, b += size) std::reverse(b, b + size);
}

template <class T>
T load_le_or_be(const unsigned char* p, bool swap) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    if (swap) byteswap_inplace(&v, sizeof(T), 1);
    return v;
}

inline bool host_is_big_endian() noexcept {
    const std::uint16_t one = 1;
    unsigned char b;
    std::memcpy(&b, &one, 1);
    return b == 0;
}

/// Quaternion (b, c, d) + pixdim + qfac + offsets → 4×4, as nibabel's Nifti1Header.get_qform:
/// a = sqrt(1 − b² − c² − d²) (0 when slightly negative), R = quat2mat (normalised), zooms[2] *= qfac.
inline affine4 quatern_to_affine(double b, double c, double d, double qx, double qy, double qz, double dx, double dy, double dz,
                                 double qfac) {
    double w2 = 1.0 - (b * b + c * c + d * d);
    double a = w2 > 0 ? std::sqrt(w2) : 0.0;
    double n = a * a + b * b + c * c + d * d;
    Eigen::Matrix3d R = Eigen::Matrix3d::Identity();
    if (n > 1e-300) {
        double s = 2.0 / n;
        double X = b * s, Y = c * s, Z = d * s;
        double wX = a * X, wY = a * Y, wZ = a * Z, xX = b * X, xY = b * Y, xZ = b * Z, yY = c * Y, yZ = c * Z, zZ = d * Z;
        R << 1 - (yY + zZ), xY - wZ, xZ + wY, xY + wZ, 1 - (xX + zZ), yZ - wX, xZ - wY, yZ + wX, 1 - (xX + yY);
    }
    affine4 A = affine4::Identity();
    Eigen::Vector3d zooms(std::abs(dx), std::abs(dy), std::abs(dz) * (qfac < 0 ? -1.0 : 1.0));
    A.topLeftCorner<3, 3>() = R * zooms.asDiagonal();
    A(0, 3) = qx;
    A(1, 3) = qy;
    A(2, 3) = qz;
    return A;
}

/// nibabel's base affine when neither form is set: diag(−zx, zy, zz), centred on the middle voxel.
inline affine4 base_affine(const std::array<std::int64_t, 8>& dim, const std::array<double, 8>& pixdim) {
    affine4 A = affine4::Identity();
    for (int i = 0; i < 3; ++i) {
        double z = i < dim[0] ? std::abs(pixdim[static_cast<size_t>(i + 1)]) : 1.0;
        double n = i < dim[0] ? double(dim[static_cast<size_t>(i + 1)]) : 1.0;
        double zs = i == 0 ? -z : z;
        A(i, i) = zs;
        A(i, 3) = -(n - 1) / 2.0 * zs;
    }
    return A;
}

/// Rotation + zooms + qfac from an affine, as NIfTI-1 stores a qform (polar decomposition handles shear).
struct quatern_params {
    double b, c, d, qfac;
    std::array<double, 3> zooms;
};
inline quatern_params affine_to_quatern(const affine4& A) {
    Eigen::Matrix3d M = A.topLeftCorner<3, 3>();
    Eigen::Vector3d zooms = M.colwise().norm();
    for (int i = 0; i < 3; ++i)
        if (zooms(i) == 0) zooms(i) = 1;
    Eigen::Matrix3d R = M * zooms.cwiseInverse().asDiagonal();
    double qfac = 1;
    if (R.determinant() < 0) {
        qfac = -1;
        R.col(2) *= -1;
    }
    // Nearest proper rotation (polar decomposition via SVD): exact for orthogonal input.
    R = compat::svd_u_vt(R);
    // Rotation matrix → unit quaternion (a ≥ 0), the usual trace-based branches.
    double a, b, c, d;
    double tr = R.trace();
    if (tr > 0) {
        double s = std::sqrt(tr + 1.0) * 2;
        a = 0.25 * s;
        b = (R(2, 1) - R(1, 2)) / s;
        c = (R(0, 2) - R(2, 0)) / s;
        d = (R(1, 0) - R(0, 1)) / s;
    } else if (R(0, 0) > R(1, 1) && R(0, 0) > R(2, 2)) {
        double s = std::sqrt(1.0 + R(0, 0) - R(1, 1) - R(2, 2)) * 2;
        a = (R(2, 1) - R(1, 2)) / s;
        b = 0.25 * s;
        c = (R(0, 1) + R(1, 0)) / s;
        d = (R(0, 2) + R(2, 0)) / s;
    } else if (R(1, 1) > R(2, 2)) {
        double s = std::sqrt(1.0 + R(1, 1) - R(0, 0) - R(2, 2)) * 2;
        a = (R(0, 2) - R(2, 0)) / s;
        b = (R(0, 1) + R(1, 0)) / s;
        c = 0.25 * s;
        d = (R(1, 2) + R(2, 1)) / s;
    } else {
        double s = std::sqrt(1.0 + R(2, 2) - R(0, 0) - R(1, 1)) * 2;
        a = (R(1, 0) - R(0, 1)) / s;
        b = (R(0, 2) + R(2, 0)) / s;
        c = (R(1, 2) + R(2, 1)) / s;
        d = 0.25 * s;
    }
    if (a < 0) {
        b = -b;
        c = -c;
        d = -d;
    }
    return {b, c, d, qfac, {zooms(0), zooms(1), zooms(2)}};
}

inline std::string trim_c_string(const unsigned char* p, std::size_t n) {
    std::size_t len = 0;
    while (len < n && p[len] != 0) ++len;
    return std::string(reinterpret_cast<const char*>(p), len);
}

/// Parse a NIfTI-1 (348-byte) or NIfTI-2 (540-byte) header from `buf` (at least 540 bytes available
/// or `avail` bytes). Throws errc::not_nifti / bad_header naming the field.
inline nifti_header parse_nifti_header(const unsigned char* buf, std::size_t avail, const std::string& path, bool pair) {
    if (avail < 348) throw error(errc::truncated, cat("nifti: file has ", avail, " bytes, a header needs 348"), path, "sizeof_hdr");
    std::int32_t sz;
    std::memcpy(&sz, buf, 4);
    std::int32_t sz_swapped = sz;
    byteswap_inplace(&sz_swapped, 4, 1);
    nifti_header h;
    bool swap;
    if (sz == 348 || sz == 540) {
        swap = false;
    } else if (sz_swapped == 348 || sz_swapped == 540) {
        swap = true;
        sz = sz_swapped;
    } else {
        throw error(errc::not_nifti, cat("nifti: not a NIfTI file (sizeof_hdr = ", sz, ", expected 348 or 540)"), path, "sizeof_hdr",
                    std::to_string(sz));
    }
    h.big_endian = host_is_big_endian() != swap;
    auto i16 = [&](std::size_t o) { return load_le_or_be<std::int16_t>(buf + o, swap); };
    auto i32 = [&](std::size_t o) { return load_le_or_be<std::int32_t>(buf + o, swap); };
    auto i64 = [&](std::size_t o) { return load_le_or_be<std::int64_t>(buf + o, swap); };
    auto f32 = [&](std::size_t o) { return double(load_le_or_be<float>(buf + o, swap)); };
    auto f64 = [&](std::size_t o) { return load_le_or_be<double>(buf + o, swap); };
    double qb, qc, qd, qx, qy, qz;
    std::array<std::array<double, 4>, 3> srow{};
    if (sz == 348) {
        const char* magic = reinterpret_cast<const char*>(buf + 344);
        bool single = std::memcmp(magic, "n+1\0", 4) == 0, dual = std::memcmp(magic, "ni1\0", 4) == 0;
        if (!single && !dual)
            throw error(errc::not_nifti, "nifti: no NIfTI-1 magic (an Analyze 7.5 header is not supported)", path, "magic");
        (void)pair;
        h.version = 1;
        for (int i = 0; i < 8; ++i) h.dim[static_cast<size_t>(i)] = i16(40 + 2 * static_cast<size_t>(i));
        h.datatype = i16(70);
        h.bitpix = i16(72);
        for (int i = 0; i < 8; ++i) h.pixdim[static_cast<size_t>(i)] = f32(76 + 4 * static_cast<size_t>(i));
        double vo = f32(108);
        if (!std::isfinite(vo) || vo < 0 || vo > 9.0e15)
            throw error(errc::bad_header, cat("nifti: invalid vox_offset ", vo), path, "vox_offset", cat(vo));
        h.vox_offset = static_cast<std::int64_t>(vo);  // nibabel: int(vox_offset)
        h.scl_slope = f32(112);
        h.scl_inter = f32(116);
        h.xyzt_units = buf[123];
        h.intent_code = i16(68);
        h.descrip = trim_c_string(buf + 148, 80);
        h.qform_code = i16(252);
        h.sform_code = i16(254);
        qb = f32(256); qc = f32(260); qd = f32(264); qx = f32(268); qy = f32(272); qz = f32(276);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c) srow[static_cast<size_t>(r)][static_cast<size_t>(c)] = f32(280 + 16 * static_cast<size_t>(r) + 4 * static_cast<size_t>(c));
    } else {
        if (avail < 540) throw error(errc::truncated, cat("nifti: file has ", avail, " bytes, a NIfTI-2 header needs 540"), path, "sizeof_hdr");
        const char* magic = reinterpret_cast<const char*>(buf + 4);
        if (!(std::memcmp(magic, "n+2\0", 4) == 0 || std::memcmp(magic, "ni2\0", 4) == 0))
            throw error(errc::not_nifti, "nifti: no NIfTI-2 magic", path, "magic");
        h.version = 2;
        h.datatype = i16(12);
        h.bitpix = i16(14);
        for (int i = 0; i < 8; ++i) h.dim[static_cast<size_t>(i)] = i64(16 + 8 * static_cast<size_t>(i));
        for (int i = 0; i < 8; ++i) h.pixdim[static_cast<size_t>(i)] = f64(104 + 8 * static_cast<size_t>(i));
        h.vox_offset = i64(168);
        h.scl_slope = f64(176);
        h.scl_inter = f64(184);
        h.descrip = trim_c_string(buf + 240, 80);
        h.qform_code = i32(344);
        h.sform_code = i32(348);
        qb = f64(352); qc = f64(360); qd = f64(368); qx = f64(376); qy = f64(384); qz = f64(392);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 4; ++c) srow[static_cast<size_t>(r)][static_cast<size_t>(c)] = f64(400 + 32 * static_cast<size_t>(r) + 8 * static_cast<size_t>(c));
        h.xyzt_units = i32(500);
        h.intent_code = i32(504);
    }
    // Dimensions: rank 1..7, every used extent ≥ 1.
    if (h.dim[0] < 1 || h.dim[0] > 7)
        throw error(errc::bad_header, cat("nifti: dim[0] = ", h.dim[0], " (rank must be 1..7)"), path, "dim[0]", cat(h.dim[0]));
    for (int i = 1; i <= h.dim[0]; ++i)
        if (h.dim[static_cast<size_t>(i)] < 1)
            throw error(errc::bad_header, cat("nifti: dim[", i, "] = ", h.dim[static_cast<size_t>(i)], " (must be >= 1)"), path,
                        cat("dim[", i, "]"), cat(h.dim[static_cast<size_t>(i)]));
    for (int i = h.dim[0] + 1; i < 8; ++i) h.dim[static_cast<size_t>(i)] = 1;
    {
        // Every extent fits index_t and the total stays below the library's voxel limit.
        double total = 1;
        for (int i = 1; i <= h.dim[0]; ++i) total *= double(h.dim[static_cast<size_t>(i)]);
        if (total > double(max_voxels))
            throw error(errc::size_limit, cat("nifti: dims multiply to ", total, " voxels, above the limit ", max_voxels), path, "dim",
                        cat(h.dim[1], "x", h.dim[2], "x", h.dim[3]));
    }
    if (nifti_datatype_size(h.datatype) == 0)
        throw error(errc::unsupported, cat("nifti: unsupported datatype ", h.datatype, " (", nifti_datatype_name(h.datatype), ")"), path,
                    "datatype", cat(h.datatype));
    if (h.version == 1 && !pair && h.vox_offset < 352)
        throw error(errc::bad_header, cat("nifti: vox_offset ", h.vox_offset, " < 352"), path, "vox_offset", cat(h.vox_offset));
    if (h.version == 2 && !pair && h.vox_offset < 544)
        throw error(errc::bad_header, cat("nifti: vox_offset ", h.vox_offset, " < 544"), path, "vox_offset", cat(h.vox_offset));
    if (h.scl_slope != 0 && std::isfinite(h.scl_slope) && std::isinf(h.scl_inter))
        throw error(errc::bad_header, "nifti: valid scl_slope but infinite scl_inter", path, "scl_inter", cat(h.scl_inter));

    // Geometry (nibabel get_best_affine).
    h.sform = affine4::Identity();
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) h.sform(r, c) = srow[static_cast<size_t>(r)][static_cast<size_t>(c)];
    h.qform = quatern_to_affine(qb, qc, qd, qx, qy, qz, h.pixdim[1], h.pixdim[2], h.pixdim[3], h.pixdim[0]);
    if (h.sform_code > 0) h.ijk_to_ras = h.sform;
    else if (h.qform_code > 0) h.ijk_to_ras = h.qform;
    else h.ijk_to_ras = base_affine(h.dim, h.pixdim);
    if (!h.ijk_to_ras.allFinite()) throw error(errc::bad_header, "nifti: non-finite affine", path, h.sform_code > 0 ? "srow" : "quatern");
    return h;
}

inline std::string strip_gz(const std::string& p) { return ends_with(p, ".gz") ? p.substr(0, p.size() - 3) : p; }

/// For a .hdr/.img pair, the data file that belongs to header `path` (same compression suffix).
inline std::string pair_image_path(const std::string& path) {
    std::string base = strip_gz(path);
    bool gz = ends_with(path, ".gz");
    std::string img = base.substr(0, base.size() - 4) + ".img";
    return gz ? img + ".gz" : img;
}

/// Read header bytes and (for single files) the extensions; leaves `src` positioned at the end of what it read.
inline nifti_header read_header_from(byte_source& src, bool pair) {
    unsigned char buf[540];
    std::size_t got = src.read_some(buf, 348);
    if (got < 348) throw error(errc::truncated, cat("nifti: file has ", got, " bytes, a header needs 348"), src.path(), "sizeof_hdr");
    std::int32_t sz;
    std::memcpy(&sz, buf, 4);
    if (sz == 540 || sz == 0x1c020000) {  // NIfTI-2, either byte order
        src.read_exact(buf + 348, 540 - 348, "NIfTI-2 header");
        got = 540;
    }
    nifti_header h = parse_nifti_header(buf, got, src.path(), pair);
    h.header_file = src.path();
    // Extensions: a 4-byte extender follows the header; extender[0] != 0 means extensions up to vox_offset
    // (single file) or to the end of the .hdr (pair). Kept as raw bytes.
    std::size_t hsize = h.version == 1 ? 348 : 540;
    std::uint64_t ext_end = pair ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(h.vox_offset);
    if (ext_end >= hsize + 4) {
        unsigned char ext[4] = {0, 0, 0, 0};
        std::size_t eg = src.read_some(ext, 4);
        if (eg == 4 && ext[0] != 0) {
            std::uint64_t limit = pair ? std::min<std::uint64_t>(src.is_gzip() ? (1u << 26) : src.file_size(), 1u << 26)
                                       : ext_end - hsize - 4;
            if (limit > (1u << 26)) limit = 1u << 26;  // 64 MiB cap on kept extension bytes
            if (!src.is_gzip()) limit = std::min<std::uint64_t>(limit, src.file_size());
            // Grown as the bytes arrive, never sized to the cap up front: a gzipped .hdr does not say how long it
            // is, and a few bytes must not cost a 64 MiB allocation (found by fuzz_nifti).
            std::size_t n = 0;
            while (n < limit) {
                const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(limit - n, std::max<std::size_t>(n, 1 << 16)));
                h.extensions.resize(n + step);
                const std::size_t got = src.read_some(h.extensions.data() + n, step);
                n += got;
                if (got < step) break;
            }
            h.extensions.resize(n);
            if (!pair && n < limit) throw error(errc::truncated, "nifti: file ends inside the header extensions", src.path(), "extension");
        }
    }
    return h;
}

inline bool is_pair_header_name(const std::string& path) { return ends_with(strip_gz(path), ".hdr"); }

/// Convert `count` stored values at `raw` (file byte order) to T, with optional scaling, in parallel.
template <class S, class T>
void convert_block(const unsigned char* raw, T* out, std::size_t count, bool swap, bool scale, double slope, double inter, int threads) {
    parallel_for(threads, static_cast<index_t>(count), [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i) {
            S s;
            std::memcpy(&s, raw + static_cast<std::size_t>(i) * sizeof(S), sizeof(S));
            if constexpr (sizeof(S) > 1)
                if (swap) byteswap_inplace(&s, sizeof(S), 1);
            if constexpr (std::is_floating_point_v<T>) {
                if (scale) out[i] = static_cast<T>(static_cast<double>(s) * slope + inter);
                else out[i] = static_cast<T>(s);
            } else {
                out[i] = static_cast<T>(s);
            }
        }
    }, 1 << 16);
}

/// Check every stored value fits T (integral T only). Throws errc::unsupported naming the value.
template <class S, class T>
void check_range(const unsigned char* raw, std::size_t count, bool swap, const std::string& path) {
    if constexpr (std::is_integral_v<T>) {
        for (std::size_t i = 0; i < count; ++i) {
            S s;
            std::memcpy(&s, raw + i * sizeof(S), sizeof(S));
            if constexpr (sizeof(S) > 1)
                if (swap) byteswap_inplace(&s, sizeof(S), 1);
            bool ok;
            if constexpr (std::is_floating_point_v<S>) {
                ok = std::isfinite(s) && s == std::floor(s) && double(s) >= double(std::numeric_limits<T>::lowest()) &&
                     double(s) <= double(std::numeric_limits<T>::max());
            } else if constexpr (std::is_signed_v<S> == std::is_signed_v<T>) {
                ok = s >= std::numeric_limits<T>::lowest() && s <= std::numeric_limits<T>::max();
            } else if constexpr (std::is_signed_v<S>) {
                ok = s >= 0 && static_cast<std::make_unsigned_t<S>>(s) <= std::numeric_limits<T>::max();
            } else {
                ok = s <= static_cast<std::make_unsigned_t<T>>(std::numeric_limits<T>::max());
            }
            if (!ok)
                throw error(errc::unsupported, cat("nifti: stored value ", +s, " does not fit the requested integer type"), path, "data");
        }
    } else {
        (void)raw; (void)count; (void)swap; (void)path;
    }
}

/// Convert n stored values S to T in place: the stored values occupy the END of the destination buffer, bytes
/// [D, D + n·sizeof(S)) with D = n·(sizeof(T) − sizeof(S)), and T value i goes to bytes [i·sizeof(T), (i+1)·sizeof(T)).
/// Lets a reader decompress into the destination itself instead of a staging buffer as large as the data.
/// Safety: values are moved block by block through a small local buffer; a block of [a, c) writes bytes below
/// sizeof(T)·c, and while sizeof(T)·c ≤ D + sizeof(S)·a every input at index ≥ a is still intact — so each phase
/// [a, c) runs in parallel, the phases shrink geometrically, and a short tail runs in order (in-order block
/// conversion never overwrites a later input because sizeof(T) ≥ sizeof(S)). Results do not depend on `threads`.
template <class S, class T>
void convert_in_place(unsigned char* buf, std::size_t n, bool swap, bool scale, double slope, double inter, int threads) {
    static_assert(sizeof(T) >= sizeof(S), "convert_in_place widens or keeps the size");
    const std::size_t D = n * (sizeof(T) - sizeof(S));
    T* out = reinterpret_cast<T*>(buf);
    auto run = [&](std::size_t a, std::size_t c, int th) {
        parallel_for(th, static_cast<index_t>(c - a), [&](index_t b, index_t e, int) {
            constexpr std::size_t K = 4096;
            unsigned char local[K * sizeof(S)];
            for (std::size_t i = a + static_cast<std::size_t>(b); i < a + static_cast<std::size_t>(e); i += K) {
                const std::size_t k = std::min(K, a + static_cast<std::size_t>(e) - i);
                std::memcpy(local, buf + D + i * sizeof(S), k * sizeof(S));
                convert_block<S, T>(local, out + i, k, swap, scale, slope, inter, 1);
            }
        }, 1 << 16);
    };
    if (sizeof(T) == sizeof(S)) {  // each block overwrites only its own inputs
        run(0, n, threads);
        return;
    }
    std::size_t a = 0;
    while (n - a > (std::size_t(1) << 18)) {
        const std::size_t c = std::min(n, (D + sizeof(S) * a) / sizeof(T));
        if (c <= a) break;
        run(a, c, threads);
        a = c;
    }
    run(a, n, 1);
}

template <class T, class F>
void dispatch_stored(int datatype, F&& f) {
    switch (datatype) {
        case 2: f(std::uint8_t{}); break;
        case 256: f(std::int8_t{}); break;
        case 4: f(std::int16_t{}); break;
        case 512: f(std::uint16_t{}); break;
        case 8: f(std::int32_t{}); break;
        case 768: f(std::uint32_t{}); break;
        case 1024: f(std::int64_t{}); break;
        case 1280: f(std::uint64_t{}); break;
        case 16: f(float{}); break;
        case 64: f(double{}); break;
        default: throw error(errc::unsupported, cat("nifti: unsupported datatype ", datatype));
    }
}

/// Never allocate or read more than the data file can back: `need` decompressed bytes must fit a plain file of
/// `file_size` bytes, or the most a gzip file of that size can expand to (`ratio` × its size + 64 KiB).
inline void check_data_fits(const nifti_header& h, std::uint64_t need, std::uint64_t file_size, bool gzip, const std::string& data_path,
                            double ratio = 1032.0) {
    if (!gzip) {
        if (need > file_size)
            throw error(errc::truncated, cat("nifti: data needs ", need, " bytes, file has ", file_size), data_path, "dim",
                        cat(h.dim[1], "x", h.dim[2], "x", h.dim[3]));
    } else {
        // deflate expands at most ~1032:1 (RFC 1951: a 258-byte match costs at least 2 bits); a larger claim is a lie.
        const double max_out = double(file_size) * std::max(1.0, std::min(ratio, 1032.0)) + 65536.0;
        if (double(need) > max_out)
            throw error(errc::size_limit, cat("nifti: header claims ", need, " bytes, more than a ", file_size, "-byte gzip file can hold at ",
                                              std::max(1.0, std::min(ratio, 1032.0)), ":1"),
                        data_path, "dim", cat(h.dim[1], "x", h.dim[2], "x", h.dim[3]));
    }
}

inline bool starts_with_gzip_magic(const unsigned char* p, std::size_t n) noexcept { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/// nifti_read_options' limits for reading one frame of `h` into elements of `out_elem` bytes (0: into the caller's
/// buffer), before anything is allocated.
inline void check_read_limits(const nifti_header& h, const nifti_read_options& opt, std::size_t out_elem) {
    const std::string& path = h.header_file;
    for (int a = 1; a <= 3; ++a)
        if (h.dim[static_cast<size_t>(a)] > opt.max_extent)
            throw error(errc::size_limit, cat("nifti: dim[", a, "] = ", h.dim[static_cast<size_t>(a)], " exceeds max_extent ", opt.max_extent),
                        path, "max_extent", cat(h.dim[static_cast<size_t>(a)]));
    const index_t n = h.geom().voxel_count();  // <= ctspine::max_voxels (checked with the header)
    if (n > opt.max_voxels)
        throw error(errc::size_limit, cat("nifti: ", n, " voxels exceed max_voxels ", opt.max_voxels), path, "max_voxels", cat(n));
    const std::uint64_t un = static_cast<std::uint64_t>(n), elem = static_cast<std::uint64_t>(nifti_datatype_size(h.datatype));
    const std::uint64_t frames = static_cast<std::uint64_t>(std::max<std::int64_t>(opt.frame, 0)) + 1;
    // n <= 2^40 and elem <= 32: no overflow; frames is a 64-bit header value, so divide instead of multiplying.
    const std::uint64_t frame_bytes = un * elem, out_bytes = un * out_elem;
    const bool need_over = frames > (opt.max_read_bytes - std::min<std::uint64_t>(opt.max_read_bytes, static_cast<std::uint64_t>(h.vox_offset))) /
                                        std::max<std::uint64_t>(frame_bytes, 1);
    if (out_bytes > opt.max_read_bytes || static_cast<std::uint64_t>(h.vox_offset) > opt.max_read_bytes || need_over)
        throw error(errc::size_limit,
                    cat("nifti: reading frame ", frames - 1, " of ", h.dim[1], "x", h.dim[2], "x", h.dim[3], " would need ",
                        std::max<double>(double(out_bytes), double(h.vox_offset) + double(frames) * double(frame_bytes)),
                        " bytes, above max_read_bytes ", opt.max_read_bytes),
                    path, "max_read_bytes");
}

}  // namespace detail

/// A NIfTI image held in memory: the bytes of a .nii or .nii.gz file, or of a .hdr(.gz) and its .img(.gz). The
/// memory readers run the same code as the file readers (and are what the fuzz targets exercise); the buffers must
/// outlive the call.
struct nifti_memory {
    const void* data = nullptr;          ///< the .nii / .nii.gz bytes, or the pair's header file
    std::size_t size = 0;
    const void* image = nullptr;         ///< the pair's image file; null for a single file
    std::size_t image_size = 0;
    std::string name = "<memory>";       ///< what error messages call it
};

namespace detail {
inline input_ref memory_header_input(const nifti_memory& m) { return input_ref(m.data, m.size, m.name); }
inline input_ref memory_data_input(const nifti_memory& m) {
    return m.image ? input_ref(m.image, m.image_size, m.name + " (image)") : memory_header_input(m);
}
}  // namespace detail

/// Read and resolve the header of a NIfTI file (.nii, .nii.gz, .hdr, .hdr.gz; an .img path reads its .hdr).
inline nifti_header read_nifti_header(const std::string& path) {
    std::string hdr_path = path;
    std::string base = detail::strip_gz(path);
    if (detail::ends_with(base, ".img")) hdr_path = base.substr(0, base.size() - 4) + ".hdr" + (detail::ends_with(path, ".gz") ? ".gz" : "");
    bool pair = detail::is_pair_header_name(hdr_path);
    detail::byte_source src(hdr_path);
    nifti_header h = detail::read_header_from(src, pair);
    h.data_file = pair ? detail::pair_image_path(hdr_path) : hdr_path;
    return h;
}

/// The header of a NIfTI image in memory (a pair when `m.image` is set).
inline nifti_header read_nifti_header(const nifti_memory& m) {
    detail::byte_source src(detail::memory_header_input(m));
    nifti_header h = detail::read_header_from(src, m.image != nullptr);
    h.data_file = detail::memory_data_input(m).path;
    return h;
}

namespace detail {
/// read_nifti_into's work once the header is known: the voxels of `h` from data_in (a file or memory).
template <class T>
void read_nifti_data(const nifti_header& h, const input_ref& data_in, volume_view<T> out, const nifti_read_options& opt) {
    static_assert(nifti_datatype_of<T>() != 0, "read_nifti: T must be a NIfTI scalar type");
    const std::string& path = h.header_file;
    const std::string& data_path = h.data_file;
    if (out.dims() != h.dims())
        throw error(errc::shape_mismatch, detail::cat("nifti: destination is ", out.dims()[0], "x", out.dims()[1], "x", out.dims()[2],
                                                      ", file is ", h.dim[1], "x", h.dim[2], "x", h.dim[3]),
                    path);
    if (opt.frame < 0 || opt.frame >= h.frames())
        throw error(errc::invalid_argument, detail::cat("nifti: frame ", opt.frame, " out of range (file has ", h.frames(), ")"), path, "frame");
    bool scale = opt.apply_scaling && h.has_scaling();
    if constexpr (std::is_integral_v<T>) {
        if (scale)
            throw error(errc::unsupported, "nifti: file has scl_slope/scl_inter; read into a floating type or set apply_scaling = false",
                        path, "scl_slope", detail::cat(h.scl_slope));
    }
    const int elem = nifti_datatype_size(h.datatype);
    const index_t n = h.geom().voxel_count();
    const std::uint64_t frame_bytes = static_cast<std::uint64_t>(detail::checked_mul(n, elem));
    const std::uint64_t skip = static_cast<std::uint64_t>(h.vox_offset) + frame_bytes * static_cast<std::uint64_t>(opt.frame);
    const bool swap = h.big_endian != detail::host_is_big_endian();

    detail::check_read_limits(h, opt, 0);
    detail::byte_source src(data_in);
    detail::check_data_fits(h, skip + frame_bytes, src.file_size(), src.is_gzip(), data_path, opt.max_gzip_ratio);
    const bool direct = nifti_datatype_of<T>() == h.datatype && !swap && !scale;

#ifdef CTSPINE_HAVE_LIBDEFLATE
    // libdeflate decompresses whole gzip members into a buffer of the exact size. Files written by ctspine carry
    // indexed members (detail::write_gzip_members): those overlapping the requested frame decompress in parallel,
    // straight into the destination. Other files: one-shot decompression of the whole stream (header + all
    // frames) into a raw buffer, when it is at most 2x the requested frame (else streaming avoids the memory).
    // Then a threaded copy / conversion pass.
    const std::uint64_t total = static_cast<std::uint64_t>(h.vox_offset) + frame_bytes * static_cast<std::uint64_t>(h.frames());
    if (src.is_gzip() && opt.use_libdeflate) {
        detail::mapped_file comp(data_in);
        std::vector<detail::gzip_member_span> members;
        const bool indexed = detail::index_gzip_members(comp.data(), comp.size(), static_cast<std::size_t>(total), members);
        if (indexed && direct &&
            detail::gunzip_members_libdeflate(comp.data(), members, static_cast<std::size_t>(skip), reinterpret_cast<unsigned char*>(out.data()),
                                              static_cast<std::size_t>(frame_bytes), opt.threads))
            return;
        // Zero-copy case for a one-frame file whose header is its own gzip member without an index (written by
        // byte_sink::end_member): the voxel member(s) decompress straight into the destination.
        if (!indexed && direct && h.frames() == 1 && h.vox_offset > 0) {
            std::vector<unsigned char> head(static_cast<std::size_t>(h.vox_offset));
            std::size_t at = detail::gunzip_first_member_libdeflate(comp.data(), comp.size(), head.data(), head.size(), data_path);
            if (at > 0 && detail::gunzip_exact_libdeflate(comp.data(), comp.size(), reinterpret_cast<unsigned char*>(out.data()),
                                                          static_cast<std::size_t>(frame_bytes), data_path, at))
                return;
        }
        // Widening or same-size conversion (e.g. int16 → float): decompress into the END of the destination
        // itself and convert in place (convert_in_place) — no staging buffer as large as the data.
        const std::uint64_t out_bytes = static_cast<std::uint64_t>(n) * sizeof(T);
        if (!direct && sizeof(T) >= static_cast<std::size_t>(elem) && (indexed || (h.frames() == 1 && out_bytes - frame_bytes >= skip))) {
            unsigned char* ob = reinterpret_cast<unsigned char*>(out.data());
            const std::size_t D = static_cast<std::size_t>(out_bytes - frame_bytes);
            const bool ok = indexed ? detail::gunzip_members_libdeflate(comp.data(), members, static_cast<std::size_t>(skip), ob + D,
                                                                        static_cast<std::size_t>(frame_bytes), opt.threads)
                                    : detail::gunzip_exact_libdeflate(comp.data(), comp.size(), ob + D - skip, static_cast<std::size_t>(total), data_path);
            if (ok) {
                detail::dispatch_stored<T>(h.datatype, [&](auto s) {
                    using S = decltype(s);
                    if constexpr (sizeof(T) >= sizeof(S)) {
                        detail::check_range<S, T>(ob + D, static_cast<std::size_t>(n), swap, data_path);
                        detail::convert_in_place<S, T>(ob, static_cast<std::size_t>(n), swap, scale, h.slope(), h.inter(), opt.threads);
                    }
                });
                return;
            }
        }
        if (indexed || total <= 2 * (skip + frame_bytes)) {
            const std::uint64_t staged = indexed ? frame_bytes : total;
            auto raw = detail::allocate_uninit<unsigned char>(static_cast<index_t>(staged));
            const bool ok = indexed ? detail::gunzip_members_libdeflate(comp.data(), members, static_cast<std::size_t>(skip), raw.get(),
                                                                        static_cast<std::size_t>(frame_bytes), opt.threads)
                                    : detail::gunzip_exact_libdeflate(comp.data(), comp.size(), raw.get(), static_cast<std::size_t>(total), data_path);
            if (ok) {
                const unsigned char* p = raw.get() + (indexed ? 0 : skip);
                if (direct) {
                    parallel_for(opt.threads, static_cast<index_t>(frame_bytes), [&](index_t b, index_t e, int) {
                        std::memcpy(reinterpret_cast<unsigned char*>(out.data()) + b, p + b, static_cast<std::size_t>(e - b));
                    }, 1 << 20);
                } else {
                    detail::dispatch_stored<T>(h.datatype, [&](auto s) {
                        using S = decltype(s);
                        detail::check_range<S, T>(p, static_cast<std::size_t>(n), swap, data_path);
                        detail::convert_block<S, T>(p, out.data(), static_cast<std::size_t>(n), swap, scale, h.slope(), h.inter(), opt.threads);
                    });
                }
                return;
            }
        }
        // Size mismatch or corrupt data: fall through to the streaming path for the precise error.
    }
#endif
    src.skip(skip, "data before the requested frame");
    if (direct) {
        src.read_exact(out.data(), static_cast<std::size_t>(frame_bytes), "voxel data");
        return;
    }
    // Stream through a staging buffer, converting as we go.
    detail::dispatch_stored<T>(h.datatype, [&](auto s) {
        using S = decltype(s);
        const std::size_t chunk = std::size_t(1) << 22;  // values per chunk
        std::vector<unsigned char> stage(std::min<std::size_t>(static_cast<std::size_t>(n), chunk) * sizeof(S));
        std::size_t done = 0;
        while (done < static_cast<std::size_t>(n)) {
            std::size_t cnt = std::min<std::size_t>(static_cast<std::size_t>(n) - done, chunk);
            src.read_exact(stage.data(), cnt * sizeof(S), "voxel data");
            detail::check_range<S, T>(stage.data(), cnt, swap, data_path);
            detail::convert_block<S, T>(stage.data(), out.data() + done, cnt, swap, scale, h.slope(), h.inter(), opt.threads);
            done += cnt;
        }
    });
}

}  // namespace detail

/// Read one 3-D frame into a caller-supplied view whose dims must equal the file's first three extents.
///
/// Value conversion: floating T receives stored·scl_slope + scl_inter when `apply_scaling` and the file has
/// scaling (nibabel semantics: slope 0 or non-finite = none). Integral T receives the stored values; a file with
/// scaling then needs `apply_scaling = false` (errc::unsupported otherwise), and every value must fit T
/// (errc::unsupported naming the value otherwise) — no silent wrap.
template <class T>
void read_nifti_into(const std::string& path, volume_view<T> out, const nifti_read_options& opt = {}) {
    const nifti_header h = read_nifti_header(path);
    detail::read_nifti_data<T>(h, h.data_file, out, opt);
}

/// read_nifti_into for an image in memory.
template <class T>
void read_nifti_into(const nifti_memory& m, volume_view<T> out, const nifti_read_options& opt = {}) {
    detail::read_nifti_data<T>(read_nifti_header(m), detail::memory_data_input(m), out, opt);
}

/// Read one 3-D frame of a NIfTI file as volume<T> (see read_nifti_into for the conversion rules).
namespace detail {
template <class T>
volume<T> read_nifti_volume(const nifti_header& h, const input_ref& data_in, const nifti_read_options& opt) {
    check_read_limits(h, opt, sizeof(T));
#ifdef CTSPINE_HAVE_LIBDEFLATE
    // .nii.gz of one frame stored as T in native byte order, no scaling: libdeflate needs one contiguous output of
    // the exact size, header included, so the volume's buffer is allocated with room for the header in front of
    // the voxels and the whole stream (any number of gzip members) decompresses into place — no staging buffer,
    // no copy, whichever tool wrote the file.
    // Other stored types no wider than T (e.g. int16 → float): the same, placing the stored values at the end of
    // the buffer and converting in place (detail::convert_in_place).
    const bool scale = opt.apply_scaling && h.has_scaling();
    const bool direct = nifti_datatype_of<T>() == h.datatype && h.big_endian == detail::host_is_big_endian() && !scale;
    const int elem = nifti_datatype_size(h.datatype);
    if (opt.use_libdeflate && opt.frame == 0 && h.frames() == 1 && sizeof(T) >= static_cast<std::size_t>(elem) &&
        !(std::is_integral_v<T> && scale)) {
        detail::mapped_file comp(data_in);
        if (detail::starts_with_gzip_magic(comp.data(), comp.size())) {
            const index_t n = h.geom().voxel_count();
            const std::uint64_t frame_bytes = static_cast<std::uint64_t>(detail::checked_mul(n, static_cast<index_t>(elem)));
            const std::uint64_t total = static_cast<std::uint64_t>(h.vox_offset) + frame_bytes;
            detail::check_data_fits(h, total, comp.size(), true, h.data_file, opt.max_gzip_ratio);
            auto buf = detail::allocate_uninit<T>(n, static_cast<std::size_t>(h.vox_offset));
            const std::size_t D = static_cast<std::size_t>(n) * (sizeof(T) - static_cast<std::size_t>(elem));  // stored values at the end
            unsigned char* start = reinterpret_cast<unsigned char*>(buf.get()) + D - h.vox_offset;
            // Indexed members (files written by ctspine): decompressed in parallel, each into place.
            std::vector<detail::gzip_member_span> members;
            const bool ok = detail::index_gzip_members(comp.data(), comp.size(), static_cast<std::size_t>(total), members)
                                ? detail::gunzip_members_libdeflate(comp.data(), members, 0, start, static_cast<std::size_t>(total), opt.threads)
                                : detail::gunzip_exact_libdeflate(comp.data(), comp.size(), start, static_cast<std::size_t>(total), h.data_file);
            if (ok) {
                if (!direct) {
                    const bool swap = h.big_endian != detail::host_is_big_endian();
                    unsigned char* base = reinterpret_cast<unsigned char*>(buf.get());
                    detail::dispatch_stored<T>(h.datatype, [&](auto s) {
                        using S = decltype(s);
                        if constexpr (sizeof(T) >= sizeof(S)) {
                            detail::check_range<S, T>(base + D, static_cast<std::size_t>(n), swap, h.data_file);
                            detail::convert_in_place<S, T>(base, static_cast<std::size_t>(n), swap, scale, h.slope(), h.inter(), opt.threads);
                        }
                    });
                }
                return volume<T>(h.geom(), std::move(buf));
            }
            // Size mismatch or corrupt data: the general path below produces the precise error.
        }
    }
#endif
    {  // refuse a header whose voxels the data could not hold before allocating them (read_nifti_data checks again)
        byte_source src(data_in);
        const std::uint64_t frame_bytes = static_cast<std::uint64_t>(checked_mul(h.geom().voxel_count(), nifti_datatype_size(h.datatype)));
        check_data_fits(h, static_cast<std::uint64_t>(h.vox_offset) + frame_bytes * static_cast<std::uint64_t>(std::max<std::int64_t>(opt.frame, 0) + 1),
                        src.file_size(), src.is_gzip(), h.data_file, opt.max_gzip_ratio);
    }
    volume<T> v(h.geom());
    read_nifti_data<T>(h, data_in, v.view(), opt);
    return v;
}
}  // namespace detail

template <class T>
volume<T> read_nifti(const std::string& path, const nifti_read_options& opt = {}) {
    const nifti_header h = read_nifti_header(path);
    return detail::read_nifti_volume<T>(h, h.data_file, opt);
}

/// read_nifti for an image in memory (see nifti_memory).
template <class T>
volume<T> read_nifti(const nifti_memory& m, const nifti_read_options& opt = {}) {
    return detail::read_nifti_volume<T>(read_nifti_header(m), detail::memory_data_input(m), opt);
}

/// Write `frames` volumes of T on the 3-D grid `g`, one after another, as NIfTI-1 (dim[0] = 3 for one frame, else 4
/// with dim[4] = frames): .nii / .nii.gz single file, or .hdr(.gz) + .img(.gz) pair by name. Both sform and qform are
/// set from ijk_to_ras (qform via the nearest rotation; exact for orthogonal affines), pixdim from spacing_mm,
/// datatype from T, little-endian. `data` holds voxels(g) × frames values, x fastest, frame slowest.
template <class T>
void write_nifti_frames(const std::string& path, const T* data, const geometry& g, index_t frames, const nifti_write_options& opt = {}) {
    constexpr int dt = nifti_datatype_of<T>();
    static_assert(dt != 0, "write_nifti: T must be a NIfTI scalar type");
    for (index_t d : g.dims)
        if (d < 1 || d > 32767)
            throw error(errc::invalid_argument, detail::cat("nifti: extent ", d, " cannot be stored in NIfTI-1 (1..32767)"), path, "dim");
    if (frames < 1 || frames > 32767)
        throw error(errc::invalid_argument, detail::cat("nifti: ", frames, " frames cannot be stored in NIfTI-1 (1..32767)"), path, "dim[4]");
    const affine4& A = g.ijk_to_ras;
    if (!A.allFinite()) throw error(errc::invalid_argument, "nifti: non-finite ijk_to_ras", path, "ijk_to_ras");
    const bool pair = detail::is_pair_header_name(path);
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
    hdr[38] = 'r';  // "regular", as nifticlib writes
    put16(40, frames > 1 ? 4 : 3);
    for (int i = 0; i < 3; ++i) put16(42 + 2 * static_cast<std::size_t>(i), static_cast<std::int16_t>(g.dims[static_cast<size_t>(i)]));
    put16(48, static_cast<std::int16_t>(frames));
    for (int i = 4; i < 7; ++i) put16(42 + 2 * static_cast<std::size_t>(i), 1);
    put16(70, static_cast<std::int16_t>(dt));
    put16(72, static_cast<std::int16_t>(8 * sizeof(T)));
    auto q = detail::affine_to_quatern(A);
    putf(76, q.qfac);
    for (int i = 0; i < 3; ++i) putf(80 + 4 * static_cast<std::size_t>(i), g.spacing_mm[static_cast<size_t>(i)]);
    for (int i = 3; i < 7; ++i) putf(80 + 4 * static_cast<std::size_t>(i), 1.0);
    putf(108, pair ? 0.0 : 352.0);
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
    std::memcpy(hdr + 344, pair ? "ni1\0" : "n+1\0", 4);
    if (detail::host_is_big_endian()) throw error(errc::unsupported, "nifti: writing on big-endian hosts is not supported", path);
    const std::size_t data_bytes = static_cast<std::size_t>(detail::checked_mul(g.voxel_count(), frames)) * sizeof(T);
    const auto* bytes = reinterpret_cast<const unsigned char*>(data);
    // Every file is written under a temporary name and renamed into place when complete (io/atomic_file.hpp); of a
    // pair, the image is published before its header, so a header never names an image that is not there yet.
    if (gz) {
        // Indexed gzip members (detail::write_gzip_members): the header alone, then the voxels in chunks,
        // compressed in parallel; libdeflate readers decompress them in parallel straight into place.
        if (pair) {
            detail::output_file img(detail::pair_image_path(path));
            detail::write_gzip_members(img, bytes, data_bytes, opt.level, opt.threads, opt.gzip_member_bytes);
            img.commit();
        }
        detail::output_file f(path);
        detail::write_gzip_members(f, hdr, pair ? 348 : 352, opt.level, 1);
        if (!pair) detail::write_gzip_members(f, bytes, data_bytes, opt.level, opt.threads, opt.gzip_member_bytes);
        f.commit();
    } else if (!pair) {
        detail::byte_sink sink(path, false, opt.level);
        sink.write(hdr, 352);  // header + 4-byte extender (no extensions)
        sink.write(data, data_bytes);
        sink.finish();
    } else {
        {
            detail::byte_sink sink(detail::pair_image_path(path), gz, opt.level);
            sink.write(data, data_bytes);
            sink.finish();
        }
        detail::byte_sink sink(path, gz, opt.level);
        sink.write(hdr, 348);
        sink.finish();
    }
}

/// Write a volume as NIfTI-1 (see write_nifti_frames; one frame).
template <class T>
void write_nifti(const std::string& path, volume_view<const T> v, const nifti_write_options& opt = {}) {
    write_nifti_frames<T>(path, v.data(), v.geometry(), 1, opt);
}

template <class T>
void write_nifti(const std::string& path, const volume<T>& v, const nifti_write_options& opt = {}) {
    write_nifti<T>(path, v.view(), opt);
}

/// Write a label map as nnU-Net writes segmentations: uint8 when every label fits (< 256), else uint16.
inline void write_labels_nifti(const std::string& path, const volume<std::uint16_t>& labels, const nifti_write_options& opt = {}) {
    const std::uint16_t mx = labels.size() ? *std::max_element(labels.begin(), labels.end()) : std::uint16_t(0);
    if (mx >= 256) return write_nifti(path, labels, opt);
    volume<std::uint8_t> l8(labels.geometry());
    std::transform(labels.begin(), labels.end(), l8.begin(), [](std::uint16_t v) { return static_cast<std::uint8_t>(v); });
    write_nifti(path, l8, opt);
}

}  // namespace ctspine
