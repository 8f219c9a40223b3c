// ctspine — orientation codes and reorientation by axis permutation and flips (no interpolation).
//
// Conventions (NIfTI / nibabel): world is RAS+ (x → Right, y → Anterior, z → Superior). An orientation code
// names, for each voxel axis i, j, k in turn, the world direction in which the index increases, as nibabel's
// aff2axcodes prints it ("RAS", "LPS", "PIR", ...). The axis assignment follows nibabel's io_orientation:
// take the nearest orthonormal matrix to the direction cosines, then repeatedly pick the largest remaining
// |component| to pair a voxel axis with a world axis.
#pragma once
#include <array>
#include <cmath>
#include <string>

#include <Eigen/Dense>

#include "ctspine/core/compat.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

/// For each voxel axis: which world axis (0 = x/R-L, 1 = y/A-P, 2 = z/S-I) and the sign (+1 toward R/A/S).
struct axis_orientation {
    std::array<int, 3> world_axis{0, 1, 2};
    std::array<int, 3> sign{1, 1, 1};
};

/// The voxel-axis ↔ world-axis pairing of an affine (nibabel io_orientation semantics).
inline axis_orientation orientation_of(const affine4& ijk_to_ras) {
    Eigen::Matrix3d M = ijk_to_ras.topLeftCorner<3, 3>();
    Eigen::Vector3d norms = M.colwise().norm();
    for (int j = 0; j < 3; ++j) {
        if (!(norms(j) > 0)) throw error(errc::invalid_argument, "orientation: affine has a zero column");
        M.col(j) /= norms(j);
    }
    Eigen::Matrix3d R = compat::svd_u_vt(M);
    axis_orientation o;
    std::array<bool, 3> used_in{false, false, false}, used_world{false, false, false};
    for (int step = 0; step < 3; ++step) {
        int bi = -1, bj = -1;
        double best = -1;
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j)
                if (!used_world[static_cast<size_t>(i)] && !used_in[static_cast<size_t>(j)] && std::abs(R(i, j)) > best) {
                    best = std::abs(R(i, j));
                    bi = i;
                    bj = j;
                }
        used_world[static_cast<size_t>(bi)] = used_in[static_cast<size_t>(bj)] = true;
        o.world_axis[static_cast<size_t>(bj)] = bi;
        o.sign[static_cast<size_t>(bj)] = R(bi, bj) < 0 ? -1 : 1;
    }
    return o;
}

/// Three-letter orientation code of an affine, e.g. "RAS", "LPS".
inline std::string orientation_code(const affine4& ijk_to_ras) {
    static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
    axis_orientation o = orientation_of(ijk_to_ras);
    std::string s(3, '?');
    for (int j = 0; j < 3; ++j) {
        int w = o.world_axis[static_cast<size_t>(j)];
        s[static_cast<size_t>(j)] = o.sign[static_cast<size_t>(j)] > 0 ? pos[w] : neg[w];
    }
    return s;
}

/// Parse a code such as "RAS" / "lps" into an axis_orientation; throws errc::invalid_argument.
inline axis_orientation parse_orientation_code(const std::string& code) {
    axis_orientation o;
    if (code.size() != 3) throw error(errc::invalid_argument, "orientation: code must have 3 letters: '" + code + "'");
    std::array<bool, 3> seen{false, false, false};
    for (int j = 0; j < 3; ++j) {
        char c = static_cast<char>(std::toupper(static_cast<unsigned char>(code[static_cast<size_t>(j)])));
        int w, sgn;
        switch (c) {
            case 'R': w = 0; sgn = 1; break;
            case 'L': w = 0; sgn = -1; break;
            case 'A': w = 1; sgn = 1; break;
            case 'P': w = 1; sgn = -1; break;
            case 'S': w = 2; sgn = 1; break;
            case 'I': w = 2; sgn = -1; break;
            default: throw error(errc::invalid_argument, "orientation: bad letter in code '" + code + "'");
        }
        if (seen[static_cast<size_t>(w)]) throw error(errc::invalid_argument, "orientation: axis repeated in code '" + code + "'");
        seen[static_cast<size_t>(w)] = true;
        o.world_axis[static_cast<size_t>(j)] = w;
        o.sign[static_cast<size_t>(j)] = sgn;
    }
    return o;
}

/// How output axis a of the reoriented volume reads the input: input axis `src[a]`, reversed if flip[a].
struct reorientation {
    std::array<int, 3> src{0, 1, 2};
    std::array<bool, 3> flip{false, false, false};
    geometry out;  ///< the output grid: permuted dims and spacing, adjusted affine (same world positions)
};

/// Plan the permutation/flips taking grid `g` to orientation `target`.
inline reorientation plan_reorientation(const geometry& g, const std::string& target = "RAS") {
    axis_orientation in = orientation_of(g.ijk_to_ras), want = parse_orientation_code(target);
    reorientation r;
    affine4 P = affine4::Zero();  // out index → in index
    P(3, 3) = 1;
    for (int a = 0; a < 3; ++a) {
        int j = 0;
        while (in.world_axis[static_cast<size_t>(j)] != want.world_axis[static_cast<size_t>(a)]) ++j;
        r.src[static_cast<size_t>(a)] = j;
        r.flip[static_cast<size_t>(a)] = in.sign[static_cast<size_t>(j)] != want.sign[static_cast<size_t>(a)];
        r.out.dims[static_cast<size_t>(a)] = g.dims[static_cast<size_t>(j)];
        r.out.spacing_mm[static_cast<size_t>(a)] = g.spacing_mm[static_cast<size_t>(j)];
        if (r.flip[static_cast<size_t>(a)]) {
            P(j, a) = -1;
            P(j, 3) = double(g.dims[static_cast<size_t>(j)] - 1);
        } else {
            P(j, a) = 1;
        }
    }
    r.out.ijk_to_ras = g.ijk_to_ras * P;
    return r;
}

/// Reorient into a caller-supplied view whose geometry must be plan_reorientation(in.geometry(), target).out's dims.
template <class T>
void reorient_into(volume_view<const T> in, volume_view<T> out, const std::string& target = "RAS", int threads = 0) {
    reorientation r = plan_reorientation(in.geometry(), target);
    if (out.dims() != r.out.dims) throw error(errc::shape_mismatch, "reorient: output dims do not match the reoriented grid");
    out.geometry() = r.out;
    const std::array<index_t, 3> in_stride{1, in.dims()[0], in.dims()[0] * in.dims()[1]};
    std::array<index_t, 3> step{};
    index_t base = 0;
    for (int a = 0; a < 3; ++a) {
        index_t s = in_stride[static_cast<size_t>(r.src[static_cast<size_t>(a)])];
        if (r.flip[static_cast<size_t>(a)]) {
            base += s * (r.out.dims[static_cast<size_t>(a)] - 1);
            s = -s;
        }
        step[static_cast<size_t>(a)] = s;
    }
    const dims3 d = r.out.dims;
    const T* src = in.data();
    T* dst = out.data();
    parallel_for(threads, d[2], [&](index_t z0, index_t z1, int) {
        for (index_t z = z0; z < z1; ++z)
            for (index_t y = 0; y < d[1]; ++y) {
                const T* s = src + base + z * step[2] + y * step[1];
                T* o = dst + (z * d[1] + y) * d[0];
                for (index_t x = 0; x < d[0]; ++x) o[x] = s[x * step[0]];
            }
    });
}

/// Reorient a volume to `target` ("RAS" by default): every voxel keeps its world position.
template <class T>
volume<T> reorient(volume_view<const T> in, const std::string& target = "RAS", int threads = 0) {
    volume<T> out(plan_reorientation(in.geometry(), target).out);
    reorient_into<T>(in, out.view(), target, threads);
    return out;
}

}  // namespace ctspine
