// ctspine — a quick 3-D picture of surface meshes without a viewer: a software rasteriser (z-buffer, flat Lambert
// shading, orthographic projection) drawing two panels side by side — an anterior view (the patient's right on the
// left, head up, as a radiological coronal view) and a left-lateral view (anterior on the left, head up, as the
// preview's sagittal panel) — each mesh in its preview label colour, optionally named at its centroid.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/label/preview.hpp"
#include "ctspine/mesh/mesh.hpp"

namespace ctspine {

struct mesh_render_options {
    index_t height = 512;   ///< picture height in pixels (the meshes' superior–inferior extent fills it, minus margins)
    index_t margin = 12;    ///< pixels around each panel
    bool names = true;      ///< draw each mesh's name (if any) at its projected centroid
};

struct mesh_render {
    rgb_image image;
    double pixel_mm = 0;                            ///< size of one pixel in the world
    index_t anterior_left = 0, lateral_left = 0;    ///< first column of each panel
    std::array<double, 3> box_min{}, box_max{};     ///< world bounding box of all meshes
};

/// Render the meshes (see the file comment). Throws errc::invalid_argument when there is nothing to draw.
inline mesh_render render_meshes(const std::vector<triangle_mesh>& ms, const mesh_render_options& opt = {}) {
    mesh_render r;
    bool any = false;
    std::array<double, 3> lo{}, hi{};
    for (const auto& m : ms)
        for (const auto& t : m.triangles)
            for (auto i : t) {
                const auto& p = m.vertices[i];
                for (std::size_t k = 0; k < 3; ++k) {
                    lo[k] = any ? std::min(lo[k], p[k]) : p[k];
                    hi[k] = any ? std::max(hi[k], p[k]) : p[k];
                }
                any = true;
            }
    if (!any) throw error(errc::invalid_argument, "render_meshes: no triangles to draw");
    if (opt.height < 16 || opt.height > 16384 || opt.margin < 0 || 2 * opt.margin >= opt.height)
        throw error(errc::invalid_argument, "render_meshes: unusable picture height or margin");
    r.box_min = lo;
    r.box_max = hi;
    const double ext_z = std::max(hi[2] - lo[2], 1e-6);
    r.pixel_mm = ext_z / static_cast<double>(opt.height - 2 * opt.margin - 1);
    auto width_of = [&](double ext) { return static_cast<index_t>(std::ceil(ext / r.pixel_mm)) + 1 + 2 * opt.margin; };
    const index_t wa = width_of(hi[0] - lo[0]), wl = width_of(hi[1] - lo[1]);
    if (wa + wl > 65536) throw error(errc::invalid_argument, "render_meshes: the meshes are too flat to draw at this height");
    r.anterior_left = 0;
    r.lateral_left = wa;
    r.image.width = wa + wl;
    r.image.height = opt.height;
    r.image.rgb.assign(static_cast<std::size_t>(3 * r.image.width * r.image.height), 24);  // dark grey background
    std::vector<double> depth(static_cast<std::size_t>(r.image.width * r.image.height), -std::numeric_limits<double>::infinity());
    const double m = static_cast<double>(opt.margin);
    // panel 0: anterior view (viewer at +y looking toward −y): u grows toward −x, depth = y
    // panel 1: left-lateral view (viewer at −x looking toward +x): u grows toward −y, depth = −x
    auto project = [&](int panel, const std::array<double, 3>& p, double& u, double& v, double& d) {
        v = m + (hi[2] - p[2]) / r.pixel_mm;
        if (panel == 0) {
            u = static_cast<double>(r.anterior_left) + m + (hi[0] - p[0]) / r.pixel_mm;
            d = p[1];
        } else {
            u = static_cast<double>(r.lateral_left) + m + (hi[1] - p[1]) / r.pixel_mm;
            d = -p[0];
        }
    };
    for (int panel = 0; panel < 2; ++panel) {
        const std::array<double, 3> view = panel == 0 ? std::array<double, 3>{0, 1, 0} : std::array<double, 3>{-1, 0, 0};
        const index_t x0 = panel == 0 ? r.anterior_left : r.lateral_left, x1 = panel == 0 ? r.lateral_left : r.image.width;
        for (const auto& mesh : ms) {
            const auto col = label_colour(mesh.label);
            for (const auto& t : mesh.triangles) {
                const auto& a = mesh.vertices[t[0]];
                const auto n = detail::mcross(detail::msub(mesh.vertices[t[1]], a), detail::msub(mesh.vertices[t[2]], a));
                const double ln = detail::mnorm(n);
                if (!(ln > 0)) continue;
                const double facing = detail::mdot(n, view) / ln;  // > 0: front face (outward normal toward the viewer)
                const double shade = 0.25 + 0.75 * std::max(0.0, facing);
                double u[3], v[3], d[3];
                for (int k = 0; k < 3; ++k) project(panel, mesh.vertices[t[static_cast<std::size_t>(k)]], u[k], v[k], d[k]);
                const double area = (u[1] - u[0]) * (v[2] - v[0]) - (u[2] - u[0]) * (v[1] - v[0]);
                if (area == 0) continue;
                const index_t bx0 = std::max<index_t>(x0, static_cast<index_t>(std::floor(std::min({u[0], u[1], u[2]})))),
                              bx1 = std::min<index_t>(x1 - 1, static_cast<index_t>(std::ceil(std::max({u[0], u[1], u[2]})))),
                              by0 = std::max<index_t>(0, static_cast<index_t>(std::floor(std::min({v[0], v[1], v[2]})))),
                              by1 = std::min<index_t>(r.image.height - 1, static_cast<index_t>(std::ceil(std::max({v[0], v[1], v[2]}))));
                for (index_t y = by0; y <= by1; ++y)
                    for (index_t x = bx0; x <= bx1; ++x) {
                        const double px = static_cast<double>(x), py = static_cast<double>(y);  // pixel centres at integers
                        const double w0 = ((u[1] - px) * (v[2] - py) - (u[2] - px) * (v[1] - py)) / area;
                        const double w1 = ((u[2] - px) * (v[0] - py) - (u[0] - px) * (v[2] - py)) / area;
                        const double w2 = 1 - w0 - w1;
                        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
                        const double z = w0 * d[0] + w1 * d[1] + w2 * d[2];
                        double& zb = depth[static_cast<std::size_t>(y * r.image.width + x)];
                        if (z <= zb) continue;
                        zb = z;
                        std::uint8_t* p = r.image.at(x, y);
                        for (std::size_t k = 0; k < 3; ++k) p[k] = static_cast<std::uint8_t>(std::lround(col[k] * shade));
                    }
            }
        }
        if (opt.names)
            for (const auto& mesh : ms) {
                if (mesh.name.empty() || mesh.vertices.empty()) continue;
                std::array<double, 3> c{0, 0, 0};
                for (const auto& p : mesh.vertices) c = detail::madd(c, p);
                c = detail::mscale(c, 1.0 / static_cast<double>(mesh.vertices.size()));
                double u = 0, v = 0, d = 0;
                project(panel, c, u, v, d);
                detail::draw_text(r.image, static_cast<index_t>(u) - 6 * static_cast<index_t>(mesh.name.size()), static_cast<index_t>(v) - 7,
                                  mesh.name, 2, {255, 255, 255});
            }
    }
    detail::draw_text(r.image, r.anterior_left + 4, 4, "R", 2, {255, 255, 255});
    detail::draw_text(r.image, r.lateral_left - 16, 4, "L", 2, {255, 255, 255});
    detail::draw_text(r.image, r.lateral_left + 4, 4, "A", 2, {255, 255, 255});
    detail::draw_text(r.image, r.image.width - 16, 4, "P", 2, {255, 255, 255});
    return r;
}

}  // namespace ctspine
