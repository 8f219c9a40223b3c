// ctspine — mesh checks: watertight (closed), edge- and vertex-manifold, consistently oriented, no degenerate
// triangles; enclosed volume by the divergence theorem and surface area.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "ctspine/mesh/mesh.hpp"

namespace ctspine {

struct mesh_check_result {
    std::size_t triangles = 0, vertices = 0;
    std::size_t boundary_edges = 0;        ///< undirected edges used by one triangle (holes)
    std::size_t nonmanifold_edges = 0;     ///< undirected edges used by three or more triangles
    std::size_t misoriented_edges = 0;     ///< edges of two triangles that traverse them in the same direction
    std::size_t nonmanifold_vertices = 0;  ///< vertices whose triangles do not form one disc (a single fan cycle)
    std::size_t degenerate_triangles = 0;  ///< repeated vertex index or (relative) zero area
    std::size_t unused_vertices = 0;
    std::size_t components = 0;            ///< connected components (shells) over shared edges
    double volume_mm3 = 0;                 ///< enclosed volume, divergence theorem (positive when normals point out)
    double area_mm2 = 0;
    /// Closed, edge- and vertex-manifold, consistently oriented and free of degenerate triangles.
    bool watertight_manifold() const noexcept {
        return triangles > 0 && boundary_edges == 0 && nonmanifold_edges == 0 && misoriented_edges == 0 &&
               nonmanifold_vertices == 0 && degenerate_triangles == 0;
    }
};

/// Enclosed volume in mm³ by the divergence theorem: Σ over triangles of det(a, b, c) / 6 (each triangle's signed
/// tetrahedron with the origin). Exact for closed meshes; accumulated about the vertex centroid to limit rounding.
inline double enclosed_volume(const triangle_mesh& m) {
    if (m.vertices.empty()) return 0;
    detail::mvec o{0, 0, 0};
    for (const auto& v : m.vertices) o = detail::madd(o, v);
    o = detail::mscale(o, 1.0 / static_cast<double>(m.vertices.size()));
    double s = 0;
    for (const auto& t : m.triangles) {
        const auto a = detail::msub(m.vertices[t[0]], o), b = detail::msub(m.vertices[t[1]], o), c = detail::msub(m.vertices[t[2]], o);
        s += detail::mdot(a, detail::mcross(b, c));
    }
    return s / 6.0;
}

inline double surface_area(const triangle_mesh& m) {
    double s = 0;
    for (const auto& t : m.triangles)
        s += 0.5 * detail::mnorm(detail::mcross(detail::msub(m.vertices[t[1]], m.vertices[t[0]]), detail::msub(m.vertices[t[2]], m.vertices[t[0]])));
    return s;
}

/// Check a mesh's topology and compute its volume and area (see mesh_check_result).
inline mesh_check_result check_mesh(const triangle_mesh& m) {
    mesh_check_result r;
    r.triangles = m.triangles.size();
    r.vertices = m.vertices.size();
    const std::size_t nv = m.vertices.size();
    // degenerate triangles: an index repeated, out of range, or area ≤ 1e-12 × (longest edge)²
    std::vector<bool> ok_tri(m.triangles.size(), true);
    for (std::size_t i = 0; i < m.triangles.size(); ++i) {
        const auto& t = m.triangles[i];
        if (t[0] >= nv || t[1] >= nv || t[2] >= nv || t[0] == t[1] || t[1] == t[2] || t[0] == t[2]) {
            ++r.degenerate_triangles;
            ok_tri[i] = false;
            continue;
        }
        const auto e0 = detail::msub(m.vertices[t[1]], m.vertices[t[0]]), e1 = detail::msub(m.vertices[t[2]], m.vertices[t[0]]),
                   e2 = detail::msub(m.vertices[t[2]], m.vertices[t[1]]);
        const double l2 = std::max({detail::mdot(e0, e0), detail::mdot(e1, e1), detail::mdot(e2, e2)});
        if (!(detail::mnorm(detail::mcross(e0, e1)) > 1e-12 * l2)) ++r.degenerate_triangles;
    }
    // edges: (min, max, +1 if traversed min→max else −1, triangle)
    struct half {
        std::uint32_t a, b;
        int dir;
        std::uint32_t tri;
    };
    std::vector<half> hs;
    hs.reserve(3 * m.triangles.size());
    for (std::size_t i = 0; i < m.triangles.size(); ++i) {
        if (!ok_tri[i]) continue;
        const auto& t = m.triangles[i];
        for (int k = 0; k < 3; ++k) {
            const std::uint32_t a = t[static_cast<std::size_t>(k)], b = t[static_cast<std::size_t>((k + 1) % 3)];
            hs.push_back({std::min(a, b), std::max(a, b), a < b ? 1 : -1, static_cast<std::uint32_t>(i)});
        }
    }
    std::sort(hs.begin(), hs.end(), [](const half& x, const half& y) { return x.a != y.a ? x.a < y.a : x.b < y.b; });
    if (hs.empty()) return r;
    // union-find over triangles sharing an edge, for the shell count
    std::vector<std::uint32_t> parent(m.triangles.size());
    for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<std::uint32_t>(i);
    auto find = [&](std::uint32_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    auto same_edge = [&](std::size_t x, std::size_t y) { return hs[x].a == hs[y].a && hs[x].b == hs[y].b; };
    std::size_t group = 0;  // first half-edge of the current undirected edge
    for (std::size_t k = 1; k <= hs.size(); ++k) {
        if (k < hs.size() && same_edge(k, group)) {
            const std::uint32_t x = find(hs[k].tri), y = find(hs[group].tri);
            parent[x] = y;
            continue;
        }
        const std::size_t n = k - group;
        if (n == 1) ++r.boundary_edges;
        else if (n > 2) ++r.nonmanifold_edges;
        else if (hs[group].dir == hs[group + 1].dir) ++r.misoriented_edges;
        group = k;
    }
    for (std::size_t i = 0; i < m.triangles.size(); ++i)
        if (ok_tri[i] && find(static_cast<std::uint32_t>(i)) == i) ++r.components;
    // vertex discs: the link edges (b→c for triangle (v, b, c)) around each vertex must form exactly one cycle
    std::vector<std::uint32_t> start(nv + 1, 0);
    for (std::size_t i = 0; i < m.triangles.size(); ++i)
        if (ok_tri[i])
            for (auto v : m.triangles[i]) ++start[v + 1];
    for (std::size_t v = 0; v < nv; ++v) start[v + 1] += start[v];
    std::vector<std::pair<std::uint32_t, std::uint32_t>> link(start[nv]);
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < m.triangles.size(); ++i) {
        if (!ok_tri[i]) continue;
        const auto& t = m.triangles[i];
        for (int k = 0; k < 3; ++k)
            link[fill[t[static_cast<std::size_t>(k)]]++] = {t[static_cast<std::size_t>((k + 1) % 3)], t[static_cast<std::size_t>((k + 2) % 3)]};
    }
    for (std::size_t v = 0; v < nv; ++v) {
        const std::uint32_t b = start[v], e = start[v + 1];
        if (b == e) {
            ++r.unused_vertices;
            continue;
        }
        std::sort(link.begin() + b, link.begin() + e);
        // follow successors from the first link edge; a disc visits every link edge exactly once and returns
        bool ok = true;
        for (std::uint32_t i = b; i + 1 < e && ok; ++i) ok = link[i].first != link[i + 1].first;  // out-degree 1
        std::uint32_t steps = 0, cur = link[b].second;
        while (ok && steps < e - b) {
            ++steps;
            if (cur == link[b].first) break;
            auto it = std::lower_bound(link.begin() + b, link.begin() + e, std::make_pair(cur, std::uint32_t(0)));
            if (it == link.begin() + e || it->first != cur) { ok = false; break; }
            cur = it->second;
        }
        if (!ok || cur != link[b].first || steps != e - b) ++r.nonmanifold_vertices;
    }
    r.volume_mm3 = enclosed_volume(m);
    r.area_mm2 = surface_area(m);
    return r;
}

}  // namespace ctspine
