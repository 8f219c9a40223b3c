// ctspine — volume-preserving smoothing of a surface mesh: Taubin's λ|μ filter (G. Taubin, "A signal processing
// approach to fair surface design", SIGGRAPH 1995: alternate a shrinking Laplacian step λ > 0 and an inflating step
// μ < −λ; pass-band k_PB = 1/λ + 1/μ ≈ 0.1 for λ = 0.5, μ = −0.53), with the uniform (umbrella) Laplacian over
// edge neighbours. The filter removes the voxel staircase while nearly keeping the volume; the remaining change
// is then cancelled by offsetting every vertex along its normal by (V₀ − V)/area (two passes), so the enclosed
// volume stays that of the unsmoothed mesh. The effect is measured and reported (volume change, Hausdorff distance
// to the unsmoothed surface). Topology is untouched: a watertight manifold mesh stays one.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/mesh/mesh.hpp"
#include "ctspine/mesh/mesh_check.hpp"
#include "ctspine/mesh/mesh_distance.hpp"

namespace ctspine {

/// What an operation on a mesh changed (smoothing, decimation).
struct mesh_change {
    double volume_before_mm3 = 0, volume_after_mm3 = 0;
    double volume_change_percent = 0;   ///< 100 (after − before) / before
    double hausdorff_mm = 0;            ///< vertex-sampled symmetric Hausdorff distance to the input surface
    double mean_distance_mm = 0;
    std::size_t triangles_before = 0, triangles_after = 0;
};

struct smoothing_options {
    int iterations = 10;          ///< λ|μ pairs
    double lambda = 0.5;
    double mu = -0.53;
    bool preserve_volume = true;  ///< cancel the residual volume change with a normal offset
    bool measure = true;          ///< compute the Hausdorff distance to the input (costs about one extraction)
    int threads = 0;
};

namespace detail {
/// Edge neighbours of every vertex (CSR, sorted), from the triangles.
inline void vertex_neighbours(const triangle_mesh& m, std::vector<std::uint32_t>& start, std::vector<std::uint32_t>& nb) {
    const std::size_t nv = m.vertices.size();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> e;
    e.reserve(6 * m.triangles.size());
    for (const auto& t : m.triangles)
        for (int k = 0; k < 3; ++k) {
            const auto a = t[static_cast<std::size_t>(k)], b = t[static_cast<std::size_t>((k + 1) % 3)];
            e.emplace_back(a, b);
            e.emplace_back(b, a);
        }
    std::sort(e.begin(), e.end());
    e.erase(std::unique(e.begin(), e.end()), e.end());
    start.assign(nv + 1, 0);
    nb.resize(e.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
        ++start[e[i].first + 1];
        nb[i] = e[i].second;
    }
    for (std::size_t v = 0; v < nv; ++v) start[v + 1] += start[v];
}
}  // namespace detail

/// Smooth `m` in place (see the file comment); normals are recomputed. Deterministic for any thread count.
inline mesh_change smooth_mesh(triangle_mesh& m, const smoothing_options& opt = {}) {
    if (opt.iterations < 0) throw error(errc::invalid_argument, "smooth_mesh: negative iteration count");
    mesh_change r;
    r.triangles_before = r.triangles_after = m.triangles.size();
    r.volume_before_mm3 = r.volume_after_mm3 = enclosed_volume(m);
    if (m.triangles.empty() || opt.iterations == 0) return r;
    const triangle_mesh original = opt.measure ? m : triangle_mesh{};
    std::vector<std::uint32_t> start, nb;
    detail::vertex_neighbours(m, start, nb);
    std::vector<std::array<double, 3>> next(m.vertices.size());
    auto step = [&](double f) {
        parallel_for(opt.threads, static_cast<std::ptrdiff_t>(m.vertices.size()), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
            for (std::ptrdiff_t i = b; i < e; ++i) {
                const std::size_t v = static_cast<std::size_t>(i);
                const auto& p = m.vertices[v];
                const std::uint32_t s0 = start[v], s1 = start[v + 1];
                if (s0 == s1) {
                    next[v] = p;
                    continue;
                }
                std::array<double, 3> c{0, 0, 0};
                for (std::uint32_t k = s0; k < s1; ++k) c = detail::madd(c, m.vertices[nb[k]]);
                c = detail::mscale(c, 1.0 / static_cast<double>(s1 - s0));
                next[v] = detail::madd(p, detail::mscale(detail::msub(c, p), f));
            }
        }, 1024);
        m.vertices.swap(next);
    };
    for (int it = 0; it < opt.iterations; ++it) {
        step(opt.lambda);
        step(opt.mu);
    }
    compute_vertex_normals(m);
    if (opt.preserve_volume) {
        for (int pass = 0; pass < 2; ++pass) {
            const double area = surface_area(m);
            if (!(area > 0)) break;
            const double delta = (r.volume_before_mm3 - enclosed_volume(m)) / area;
            for (std::size_t v = 0; v < m.vertices.size(); ++v)
                for (std::size_t k = 0; k < 3; ++k) m.vertices[v][k] += delta * static_cast<double>(m.normals[v][k]);
            compute_vertex_normals(m);
        }
    }
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
