// ctspine — indexed triangle mesh in world coordinates (mm, RAS+): the type every mesh function works on.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ctspine {

/// An indexed triangle mesh. Triangles are counter-clockwise seen from outside: for a triangle (a, b, c) the
/// right-hand normal (b − a) × (c − a) points out of the enclosed solid, whatever the handedness of the image
/// grid it came from. Vertices are world positions in mm (RAS+, through the image's ijk_to_ras).
struct triangle_mesh {
    std::int64_t label = 0;                           ///< label value the surface encloses (0 if not from a label map)
    std::string name;                                 ///< e.g. "L1" (empty if unknown)
    std::vector<std::array<double, 3>> vertices;      ///< world mm
    std::vector<std::array<std::uint32_t, 3>> triangles;
    std::vector<std::array<float, 3>> normals;        ///< unit outward per-vertex normals, one per vertex, or empty

    std::size_t vertex_count() const noexcept { return vertices.size(); }
    std::size_t triangle_count() const noexcept { return triangles.size(); }
    bool empty() const noexcept { return triangles.empty(); }
};

namespace detail {
using mvec = std::array<double, 3>;
inline mvec msub(const mvec& a, const mvec& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline mvec madd(const mvec& a, const mvec& b) { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline mvec mscale(const mvec& a, double s) { return {a[0] * s, a[1] * s, a[2] * s}; }
inline mvec mcross(const mvec& a, const mvec& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline double mdot(const mvec& a, const mvec& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline double mnorm(const mvec& a) { return std::sqrt(mdot(a, a)); }
}  // namespace detail

/// Area-weighted per-vertex normals (the sum of the unnormalised face normals around each vertex, normalised),
/// in triangle order, so the result does not depend on threads. A vertex with no area around it gets (0, 0, 0).
inline void compute_vertex_normals(triangle_mesh& m) {
    std::vector<detail::mvec> acc(m.vertices.size(), detail::mvec{0, 0, 0});
    for (const auto& t : m.triangles) {
        const auto& a = m.vertices[t[0]];
        const auto n = detail::mcross(detail::msub(m.vertices[t[1]], a), detail::msub(m.vertices[t[2]], a));
        for (int k = 0; k < 3; ++k) acc[t[static_cast<std::size_t>(k)]] = detail::madd(acc[t[static_cast<std::size_t>(k)]], n);
    }
    m.normals.resize(m.vertices.size());
    for (std::size_t i = 0; i < acc.size(); ++i) {
        const double l = detail::mnorm(acc[i]);
        for (std::size_t k = 0; k < 3; ++k) m.normals[i][k] = l > 0 ? static_cast<float>(acc[i][k] / l) : 0.0f;
    }
}

}  // namespace ctspine
