// ctspine — distances between surfaces: point-to-triangle distance and the vertex-sampled symmetric Hausdorff
// distance between two meshes, accelerated by a uniform grid of triangle buckets.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/mesh/mesh.hpp"

namespace ctspine {
namespace detail {

/// Squared distance from p to triangle (a, b, c): the closest-point regions of Ericson, Real-Time Collision
/// Detection (2005) §5.1.5 ("ClosestPtPointTriangle").
inline double point_triangle_dist2(const mvec& p, const mvec& a, const mvec& b, const mvec& c) {
    const mvec ab = msub(b, a), ac = msub(c, a), ap = msub(p, a);
    const double d1 = mdot(ab, ap), d2 = mdot(ac, ap);
    auto d2of = [&](const mvec& q) { const mvec d = msub(p, q); return mdot(d, d); };
    if (d1 <= 0 && d2 <= 0) return d2of(a);
    const mvec bp = msub(p, b);
    const double d3 = mdot(ab, bp), d4 = mdot(ac, bp);
    if (d3 >= 0 && d4 <= d3) return d2of(b);
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) return d2of(madd(a, mscale(ab, d1 / (d1 - d3))));
    const mvec cp = msub(p, c);
    const double d5 = mdot(ab, cp), d6 = mdot(ac, cp);
    if (d6 >= 0 && d5 <= d6) return d2of(c);
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) return d2of(madd(a, mscale(ac, d2 / (d2 - d6))));
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0)
        return d2of(madd(b, mscale(msub(c, b), (d4 - d3) / ((d4 - d3) + (d5 - d6)))));
    const double den = 1.0 / (va + vb + vc);
    return d2of(madd(a, madd(mscale(ab, vb * den), mscale(ac, vc * den))));
}

/// Triangles of a mesh bucketed on a uniform grid (by bounding box), for nearest-surface queries.
class triangle_grid {
public:
    explicit triangle_grid(const triangle_mesh& m) : m_(m) {
        if (m.triangles.empty()) return;
        lo_ = hi_ = m.vertices[m.triangles[0][0]];
        double edge = 0;
        for (const auto& t : m.triangles)
            for (int k = 0; k < 3; ++k) {
                const auto& v = m.vertices[t[static_cast<std::size_t>(k)]];
                for (std::size_t d = 0; d < 3; ++d) lo_[d] = std::min(lo_[d], v[d]), hi_[d] = std::max(hi_[d], v[d]);
                edge += mnorm(msub(v, m.vertices[t[static_cast<std::size_t>((k + 1) % 3)]]));
            }
        edge /= 3.0 * static_cast<double>(m.triangles.size());
        cell_ = std::max(2.0 * edge, 1e-9);
        for (std::size_t d = 0; d < 3; ++d) {
            // at most ~2^21 cells in all
            while ((hi_[d] - lo_[d]) / cell_ > 128.0) cell_ *= 1.5;
        }
        for (std::size_t d = 0; d < 3; ++d) n_[d] = static_cast<index_t>((hi_[d] - lo_[d]) / cell_) + 1;
        std::vector<std::uint32_t> count(static_cast<std::size_t>(n_[0] * n_[1] * n_[2]) + 1, 0);
        auto each_cell = [&](std::size_t ti, auto&& f) {
            const auto& t = m.triangles[ti];
            index_t c0[3], c1[3];
            for (std::size_t d = 0; d < 3; ++d) {
                double a = std::min({m.vertices[t[0]][d], m.vertices[t[1]][d], m.vertices[t[2]][d]});
                double b = std::max({m.vertices[t[0]][d], m.vertices[t[1]][d], m.vertices[t[2]][d]});
                c0[d] = cell_of(a, d);
                c1[d] = cell_of(b, d);
            }
            for (index_t z = c0[2]; z <= c1[2]; ++z)
                for (index_t y = c0[1]; y <= c1[1]; ++y)
                    for (index_t x = c0[0]; x <= c1[0]; ++x) f(static_cast<std::size_t>((z * n_[1] + y) * n_[0] + x));
        };
        for (std::size_t i = 0; i < m.triangles.size(); ++i) each_cell(i, [&](std::size_t c) { ++count[c + 1]; });
        for (std::size_t c = 1; c < count.size(); ++c) count[c] += count[c - 1];
        start_ = count;
        items_.resize(count.back());
        for (std::size_t i = 0; i < m.triangles.size(); ++i)
            each_cell(i, [&](std::size_t c) { items_[count[c]++] = static_cast<std::uint32_t>(i); });
    }

    /// Distance from p to the nearest triangle (infinity for an empty mesh).
    double distance(const mvec& p) const {
        if (m_.triangles.empty()) return std::numeric_limits<double>::infinity();
        index_t c[3];
        for (std::size_t d = 0; d < 3; ++d) c[d] = cell_of(p[d], d);
        double best = std::numeric_limits<double>::infinity();
        const index_t rmax = std::max({n_[0], n_[1], n_[2]});
        for (index_t r = 0; r <= rmax; ++r) {
            for (index_t z = c[2] - r; z <= c[2] + r; ++z)
                for (index_t y = c[1] - r; y <= c[1] + r; ++y)
                    for (index_t x = c[0] - r; x <= c[0] + r; ++x) {
                        if (std::max({std::abs(x - c[0]), std::abs(y - c[1]), std::abs(z - c[2])}) != r) continue;  // shell only
                        if (x < 0 || y < 0 || z < 0 || x >= n_[0] || y >= n_[1] || z >= n_[2]) continue;
                        const std::size_t cell = static_cast<std::size_t>((z * n_[1] + y) * n_[0] + x);
                        for (std::uint32_t i = start_[cell]; i < start_[cell + 1]; ++i) {
                            const auto& t = m_.triangles[items_[i]];
                            best = std::min(best, point_triangle_dist2(p, m_.vertices[t[0]], m_.vertices[t[1]], m_.vertices[t[2]]));
                        }
                    }
            // every triangle not yet visited lies in cells ≥ r+1 cells away (Chebyshev) from p's clamped cell, hence
            // at least r cells' width from p (inside the grid or beyond its box)
            const double reach = static_cast<double>(r) * cell_;
            if (best <= reach * reach) break;
        }
        return std::sqrt(best);
    }

private:
    index_t cell_of(double x, std::size_t d) const {
        const index_t c = static_cast<index_t>(std::floor((x - lo_[d]) / cell_));
        return std::min(std::max(c, index_t(0)), n_[d] - 1);
    }
    const triangle_mesh& m_;
    mvec lo_{}, hi_{};
    double cell_ = 1;
    index_t n_[3] = {1, 1, 1};
    std::vector<std::uint32_t> start_, items_;
};

}  // namespace detail

struct surface_distance {
    double hausdorff_mm = 0;   ///< max over the vertices of either mesh of the distance to the other surface
    double mean_mm = 0;        ///< mean of those distances over all vertices of both meshes
};

/// Vertex-sampled symmetric Hausdorff distance between two surfaces: every vertex of each mesh is measured against
/// the other mesh's triangles (exact point-to-triangle distance). Deterministic for any thread count.
inline surface_distance mesh_distance(const triangle_mesh& a, const triangle_mesh& b, int threads = 0) {
    surface_distance r;
    if (a.triangles.empty() || b.triangles.empty()) return r;
    const detail::triangle_grid ga(a), gb(b);
    std::vector<double> da(a.vertices.size()), db(b.vertices.size());
    parallel_for(threads, static_cast<std::ptrdiff_t>(da.size()), [&](std::ptrdiff_t s, std::ptrdiff_t e, int) {
        for (std::ptrdiff_t i = s; i < e; ++i) da[static_cast<std::size_t>(i)] = gb.distance(a.vertices[static_cast<std::size_t>(i)]);
    }, 256);
    parallel_for(threads, static_cast<std::ptrdiff_t>(db.size()), [&](std::ptrdiff_t s, std::ptrdiff_t e, int) {
        for (std::ptrdiff_t i = s; i < e; ++i) db[static_cast<std::size_t>(i)] = ga.distance(b.vertices[static_cast<std::size_t>(i)]);
    }, 256);
    double sum = 0;
    for (double x : da) r.hausdorff_mm = std::max(r.hausdorff_mm, x), sum += x;
    for (double x : db) r.hausdorff_mm = std::max(r.hausdorff_mm, x), sum += x;
    r.mean_mm = sum / static_cast<double>(da.size() + db.size());
    return r;
}

}  // namespace ctspine
