// ctspine — mesh decimation by quadric-error edge collapse (M. Garland, P. Heckbert, "Surface simplification using
// quadric error metrics", SIGGRAPH 1997), keeping a watertight manifold mesh one:
//  - every vertex carries the sum of the plane quadrics of its original triangles (unweighted, so √cost bounds the
//    distance of the new vertex to each of those planes); an edge collapses to the point minimising the summed
//    quadric when that 3×3 system is well conditioned, else to the best of its ends and midpoint;
//  - a collapse is allowed only if it keeps the surface manifold — the link condition (the two ends share exactly
//    the two vertices opposite the edge; Dey, Edelsbrunner, Guha, Nekhayev 1999) and every vertex keeps ≥ 3
//    neighbours (no flattened tetrahedra or pillows) — and turns no triangle over (each surviving triangle's normal
//    keeps a positive dot product with its old one) nor makes one degenerate;
//  - collapses run cheapest first (ties broken by vertex numbers) until the target triangle count is reached or the
//    next collapse would exceed the error bound. Single-threaded and deterministic.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <queue>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include "ctspine/core/error.hpp"
#include "ctspine/mesh/mesh.hpp"
#include "ctspine/mesh/mesh_check.hpp"
#include "ctspine/mesh/mesh_distance.hpp"
#include "ctspine/mesh/smoothing.hpp"

namespace ctspine {

struct decimation_options {
    double target_fraction = 0.5;       ///< keep this fraction of the triangles (used when target_triangles is 0)
    std::size_t target_triangles = 0;   ///< absolute target; 0 = use target_fraction
    double max_error_mm = std::numeric_limits<double>::infinity();  ///< stop before a collapse whose √cost exceeds this
    bool measure = true;                ///< compute the Hausdorff distance to the input
    int threads = 0;                    ///< for the measurement only
};

namespace detail {
using quadric = std::array<double, 10>;  // symmetric 4×4: a² ab ac ad b² bc bd c² cd d²

inline void add_plane(quadric& q, double a, double b, double c, double d) {
    const double p[4] = {a, b, c, d};
    int k = 0;
    for (int i = 0; i < 4; ++i)
        for (int j = i; j < 4; ++j) q[static_cast<std::size_t>(k++)] += p[i] * p[j];
}
inline double quadric_eval(const quadric& q, const mvec& v) {
    const double x = v[0], y = v[1], z = v[2];
    return q[0] * x * x + 2 * q[1] * x * y + 2 * q[2] * x * z + 2 * q[3] * x + q[4] * y * y + 2 * q[5] * y * z + 2 * q[6] * y +
           q[7] * z * z + 2 * q[8] * z + q[9];
}
}  // namespace detail

/// Decimate `m` in place (see the file comment). Returns what changed; normals are recomputed.
inline mesh_change decimate_mesh(triangle_mesh& m, const decimation_options& opt = {}) {
    mesh_change r;
    r.triangles_before = m.triangles.size();
    r.volume_before_mm3 = enclosed_volume(m);
    std::size_t target = opt.target_triangles;
    if (target == 0) {
        if (!(opt.target_fraction > 0 && opt.target_fraction <= 1))
            throw error(errc::invalid_argument, "decimate_mesh: target_fraction must be in (0, 1]");
        target = static_cast<std::size_t>(std::llround(opt.target_fraction * static_cast<double>(m.triangles.size())));
    }
    const triangle_mesh original = opt.measure ? m : triangle_mesh{};
    const std::size_t nv = m.vertices.size(), nt0 = m.triangles.size();
    std::vector<detail::quadric> Q(nv, detail::quadric{});
    std::vector<std::vector<std::uint32_t>> vt(nv);  // incident live triangles
    std::vector<bool> alive(nt0, true);
    for (std::size_t i = 0; i < nt0; ++i) {
        const auto& t = m.triangles[i];
        const auto& a = m.vertices[t[0]];
        auto n = detail::mcross(detail::msub(m.vertices[t[1]], a), detail::msub(m.vertices[t[2]], a));
        const double l = detail::mnorm(n);
        if (l > 0) {
            n = detail::mscale(n, 1.0 / l);
            for (auto v : t) detail::add_plane(Q[v], n[0], n[1], n[2], -detail::mdot(n, a));
        }
        for (auto v : t) vt[v].push_back(static_cast<std::uint32_t>(i));
    }
    std::vector<std::uint32_t> version(nv, 0);
    std::vector<bool> vdead(nv, false);

    auto neighbours = [&](std::uint32_t v, std::vector<std::uint32_t>& out) {
        out.clear();
        for (auto t : vt[v])
            for (auto w : m.triangles[t])
                if (w != v) out.push_back(w);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    };
    auto best_position = [&](std::uint32_t a, std::uint32_t b, double& cost) {
        detail::quadric q;
        for (std::size_t k = 0; k < 10; ++k) q[k] = Q[a][k] + Q[b][k];
        Eigen::Matrix3d A;
        A << q[0], q[1], q[2], q[1], q[4], q[5], q[2], q[5], q[7];
        const Eigen::Vector3d rhs(-q[3], -q[6], -q[8]);
        std::array<detail::mvec, 4> pts{m.vertices[a], m.vertices[b], detail::mscale(detail::madd(m.vertices[a], m.vertices[b]), 0.5),
                                        m.vertices[a]};
        int nc = 3;
        Eigen::FullPivLU<Eigen::Matrix3d> lu(A);
        lu.setThreshold(1e-9);
        if (lu.rank() == 3) {
            const Eigen::Vector3d x = lu.solve(rhs);
            const detail::mvec p{x[0], x[1], x[2]};
            // keep the optimum only near the edge (a far optimum means an ill-conditioned, nearly flat quadric)
            const double el = detail::mnorm(detail::msub(m.vertices[a], m.vertices[b]));
            if (detail::mnorm(detail::msub(p, pts[2])) <= 2 * el) pts[static_cast<std::size_t>(nc++)] = p;
        }
        cost = std::numeric_limits<double>::infinity();
        detail::mvec best = pts[2];
        for (int i = 0; i < nc; ++i) {
            const double c = std::max(0.0, detail::quadric_eval(q, pts[static_cast<std::size_t>(i)]));
            if (c < cost) cost = c, best = pts[static_cast<std::size_t>(i)];
        }
        return best;
    };
    struct cand {
        double cost;
        std::uint32_t a, b, va, vb;
        bool operator<(const cand& o) const {  // min-heap on (cost, a, b)
            if (cost != o.cost) return cost > o.cost;
            if (a != o.a) return a > o.a;
            return b > o.b;
        }
    };
    std::priority_queue<cand> heap;
    auto push_edge = [&](std::uint32_t a, std::uint32_t b) {
        if (a > b) std::swap(a, b);
        double c = 0;
        (void)best_position(a, b, c);
        heap.push({c, a, b, version[a], version[b]});
    };
    for (const auto& t : m.triangles)
        for (int k = 0; k < 3; ++k) {
            const auto a = t[static_cast<std::size_t>(k)], b = t[static_cast<std::size_t>((k + 1) % 3)];
            if (a < b) push_edge(a, b);  // each undirected edge once (the other triangle has b→a)
        }
    std::size_t live = nt0;
    std::vector<std::uint32_t> na, nbv, common;
    const double max_cost = opt.max_error_mm * opt.max_error_mm;
    while (live > target && !heap.empty()) {
        const cand c = heap.top();
        heap.pop();
        if (vdead[c.a] || vdead[c.b] || version[c.a] != c.va || version[c.b] != c.vb) continue;
        if (c.cost > max_cost) break;
        const std::uint32_t a = c.a, b = c.b;
        neighbours(a, na);
        neighbours(b, nbv);
        if (!std::binary_search(na.begin(), na.end(), b)) continue;
        common.clear();
        std::set_intersection(na.begin(), na.end(), nbv.begin(), nbv.end(), std::back_inserter(common));
        if (common.size() != 2) continue;                 // link condition
        if (na.size() + nbv.size() < 7) continue;            // the merged vertex keeps ≥ 3 neighbours
        {
            std::vector<std::uint32_t> nc;
            bool ok = true;
            for (auto w : common) {
                neighbours(w, nc);
                if (nc.size() < 4) ok = false;            // the opposite vertices lose one neighbour each
            }
            if (!ok) continue;
        }
        double cost = 0;
        const detail::mvec p = best_position(a, b, cost);
        // no surviving triangle may flip or degenerate
        bool ok = true;
        for (std::uint32_t v : {a, b}) {
            for (auto t : vt[v]) {
                const auto& tri = m.triangles[t];
                const bool has_a = tri[0] == a || tri[1] == a || tri[2] == a, has_b = tri[0] == b || tri[1] == b || tri[2] == b;
                if (has_a && has_b) continue;  // removed by the collapse
                std::array<detail::mvec, 3> o, q;
                for (std::size_t k = 0; k < 3; ++k) {
                    o[k] = m.vertices[tri[k]];
                    q[k] = (tri[k] == a || tri[k] == b) ? p : o[k];
                }
                const auto n0 = detail::mcross(detail::msub(o[1], o[0]), detail::msub(o[2], o[0]));
                const auto n1 = detail::mcross(detail::msub(q[1], q[0]), detail::msub(q[2], q[0]));
                const double l0 = detail::mnorm(n0), l1 = detail::mnorm(n1);
                if (!(l1 > 1e-12 * l0) || detail::mdot(n0, n1) <= 0.2 * l0 * l1) ok = false;
            }
        }
        if (!ok) continue;
        // collapse b into a
        m.vertices[a] = p;
        for (std::size_t k = 0; k < 10; ++k) Q[a][k] += Q[b][k];
        std::vector<std::uint32_t> keep;
        for (auto t : vt[a]) {
            const auto& tri = m.triangles[t];
            if (tri[0] == b || tri[1] == b || tri[2] == b) {
                alive[t] = false;
                --live;
            } else {
                keep.push_back(t);
            }
        }
        for (auto t : vt[b]) {
            if (!alive[t]) continue;
            auto& tri = m.triangles[t];
            for (auto& w : tri)
                if (w == b) w = a;
            keep.push_back(t);
        }
        for (auto w : common) {
            auto& l = vt[w];
            l.erase(std::remove_if(l.begin(), l.end(), [&](std::uint32_t t) { return !alive[t]; }), l.end());
        }
        std::sort(keep.begin(), keep.end());
        vt[a] = keep;
        vt[b].clear();
        vdead[b] = true;
        ++version[a];  // every queued edge of a is stale; those of b died with it
        neighbours(a, na);
        for (auto w : na) push_edge(a, w);
    }
    // compact, keeping the order of the surviving vertices and triangles
    std::vector<std::uint32_t> remap(nv, std::numeric_limits<std::uint32_t>::max());
    std::vector<std::array<double, 3>> verts;
    std::vector<std::array<std::uint32_t, 3>> tris;
    for (std::size_t i = 0; i < nt0; ++i) {
        if (!alive[i]) continue;
        std::array<std::uint32_t, 3> t = m.triangles[i];
        for (auto& v : t) {
            if (remap[v] == std::numeric_limits<std::uint32_t>::max()) {
                remap[v] = static_cast<std::uint32_t>(verts.size());
                verts.push_back(m.vertices[v]);
            }
            v = remap[v];
        }
        tris.push_back(t);
    }
    m.vertices.swap(verts);
    m.triangles.swap(tris);
    compute_vertex_normals(m);
    r.triangles_after = m.triangles.size();
    r.volume_after_mm3 = enclosed_volume(m);
    r.volume_change_percent = r.volume_before_mm3 != 0 ? 100.0 * (r.volume_after_mm3 - r.volume_before_mm3) / r.volume_before_mm3 : 0;
    if (opt.measure) {
        const surface_distance d = mesh_distance(original, m, opt.threads);
        r.hausdorff_mm = d.hausdorff_mm;
        r.mean_distance_mm = d.mean_mm;
    }
    return r;
}

}  // namespace ctspine
