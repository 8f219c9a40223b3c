// ctspine — a quick-look picture of a spine segmentation: a mid-sagittal and a mid-coronal slice of the CT side by
// side (bone window), sampled in world (RAS+) coordinates so the physical aspect is correct whatever the voxel
// spacing or orientation, with the labels alpha-blended in distinct colours and named next to each label's centroid
// with a built-in 5×7 bitmap font.
//
// Layout and orientation: both panels have the head up (superior = top row). The sagittal panel shows anterior on
// the left (the usual radiological sagittal view); the coronal panel shows the patient's right on the left
// (radiological convention). Planes: x_RAS (sagittal) and y_RAS (coronal) through the centroid of all labelled
// voxels, or through the centre of the volume when there are none. Nearest-neighbour sampling.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

struct preview_options {
    double window_level = 400.0;   ///< bone window (level 400, width 1800 HU)
    double window_width = 1800.0;
    double alpha = 0.45;           ///< label colour opacity (0 = CT only)
    double pixel_mm = 0.0;         ///< output pixel size; 0 = the smallest voxel spacing, refined so the picture is ~512 px
    bool names = true;             ///< draw label names next to the centroids
    bool orientation_marks = true; ///< "A"/"P" and "R"/"L" in the panels' top corners
    int threads = 0;
};

/// RGB picture, rows top to bottom, 3 bytes per pixel.
struct rgb_image {
    index_t width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
    std::uint8_t* at(index_t x, index_t y) { return rgb.data() + 3 * (y * width + x); }
    const std::uint8_t* at(index_t x, index_t y) const { return rgb.data() + 3 * (y * width + x); }
};

/// The preview and where its panels are.
struct spine_preview {
    rgb_image image;
    index_t sagittal_left = 0, coronal_left = 0;  ///< first column of each panel (both start at row 0)
    index_t sagittal_width = 0, coronal_width = 0, panel_height = 0;
    double pixel_mm = 0;                          ///< size of one pixel
    std::array<double, 3> plane_ras{0, 0, 0};     ///< the point both planes pass through
};

/// Distinct colour of label value k ≥ 1: hue stepped by the golden ratio conjugate (0.618…), which keeps
/// successive labels far apart on the colour wheel; saturation and value alternate in three levels.
inline std::array<std::uint8_t, 3> label_colour(std::int64_t k) {
    const double h = std::fmod(0.11 + 0.6180339887498949 * static_cast<double>(k), 1.0) * 6.0;
    const double s = (k % 3 == 0) ? 0.55 : 0.9, v = (k % 2 == 0) ? 0.85 : 1.0;
    const int i = static_cast<int>(h) % 6;
    const double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r = 0, g = 0, b = 0;
    switch (i) {
        case 0: r = v, g = t, b = p; break;
        case 1: r = q, g = v, b = p; break;
        case 2: r = p, g = v, b = t; break;
        case 3: r = p, g = q, b = v; break;
        case 4: r = t, g = p, b = v; break;
        default: r = v, g = p, b = q; break;
    }
    auto u8 = [](double x) { return static_cast<std::uint8_t>(std::lround(std::min(1.0, std::max(0.0, x)) * 255.0)); };
    return {u8(r), u8(g), u8(b)};
}

namespace detail {

/// 5×7 bitmap glyphs (our own drawing): digits, the capitals of vertebra names and orientation letters, '-'.
/// Each glyph is 7 rows of 5 bits, most significant bit = leftmost column.
inline const std::uint8_t* glyph5x7(char ch) {
    struct g {
        char c;
        std::uint8_t rows[7];
    };
    static const g table[] = {
        {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
        {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
        {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
        {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
        {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
        {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
        {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
        {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
        {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
        {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
        {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
        {'Y', {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    };
    const char u = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
    for (const auto& e : table)
        if (e.c == u) return e.rows;
    return nullptr;
}

/// Draw `text` with its top-left corner at (x, y), glyph pixels scaled by `scale`, with a 1-pixel dark outline so it
/// reads on any background. Characters without a glyph advance the pen. Clipped to the image.
inline void draw_text(rgb_image& img, index_t x, index_t y, const std::string& text, int scale, std::array<std::uint8_t, 3> colour) {
    auto put = [&](index_t px, index_t py, std::array<std::uint8_t, 3> c) {
        if (px < 0 || py < 0 || px >= img.width || py >= img.height) return;
        std::uint8_t* p = img.at(px, py);
        p[0] = c[0], p[1] = c[1], p[2] = c[2];
    };
    for (int pass = 0; pass < 2; ++pass) {  // outline first, then the glyphs
        index_t pen = x;
        for (char ch : text) {
            if (const std::uint8_t* rows = glyph5x7(ch))
                for (int r = 0; r < 7; ++r)
                    for (int c = 0; c < 5; ++c)
                        if (rows[r] & (0x10 >> c))
                            for (int sy = 0; sy < scale; ++sy)
                                for (int sx = 0; sx < scale; ++sx) {
                                    const index_t px = pen + c * scale + sx, py = y + r * scale + sy;
                                    if (pass == 0) {
                                        for (int dy = -1; dy <= 1; ++dy)
                                            for (int dx = -1; dx <= 1; ++dx) put(px + dx, py + dy, {0, 0, 0});
                                    } else {
                                        put(px, py, colour);
                                    }
                                }
            pen += 6 * scale;
        }
    }
}

}  // namespace detail

/// Render the preview. `labels` may be empty (size 0) or must have the CT's dims; `label_names[v]` names label value
/// v (missing or empty = drawn unnamed).
inline spine_preview render_spine_preview(volume_view<const float> ct, volume_view<const std::uint16_t> labels,
                                          const std::vector<std::string>& label_names = {}, const preview_options& opt = {}) {
    const dims3 d = ct.dims();
    for (index_t e : d)
        if (e < 1) throw error(errc::invalid_argument, "preview: empty CT");
    const bool has_labels = labels.size() > 0;
    if (has_labels && labels.dims() != d) throw error(errc::shape_mismatch, "preview: label dims differ from the CT's");
    if (!(opt.window_width > 0)) throw error(errc::invalid_argument, "preview: window width must be positive");
    const geometry& g = ct.geometry();
    // world bounding box of the voxel corners
    vec3 lo = vec3::Constant(1e300), hi = vec3::Constant(-1e300);
    for (int c = 0; c < 8; ++c) {
        const vec3 ijk((c & 1) ? d[0] - 0.5 : -0.5, (c & 2) ? d[1] - 0.5 : -0.5, (c & 4) ? d[2] - 0.5 : -0.5);
        const vec3 w = g.index_to_world(ijk);
        lo = lo.cwiseMin(w);
        hi = hi.cwiseMax(w);
    }
    // label centroids (world) and the centroid of all labels
    std::map<std::uint16_t, std::array<double, 4>> sums;  // x, y, z, count (voxel index space)
    if (has_labels)
        for (index_t k = 0; k < d[2]; ++k)
            for (index_t j = 0; j < d[1]; ++j)
                for (index_t i = 0; i < d[0]; ++i) {
                    const std::uint16_t v = labels(i, j, k);
                    if (!v) continue;
                    auto& s = sums[v];
                    s[0] += double(i), s[1] += double(j), s[2] += double(k), s[3] += 1;
                }
    std::array<double, 4> all{0, 0, 0, 0};
    for (auto& [v, s] : sums)
        for (int a = 0; a < 4; ++a) all[static_cast<size_t>(a)] += s[static_cast<size_t>(a)];
    const vec3 centre = all[3] > 0 ? g.index_to_world(vec3(all[0] / all[3], all[1] / all[3], all[2] / all[3]))
                                   : g.index_to_world(vec3((d[0] - 1) / 2.0, (d[1] - 1) / 2.0, (d[2] - 1) / 2.0));
    const double min_sp = std::min({g.spacing_mm[0], g.spacing_mm[1], g.spacing_mm[2]});
    const double ext_x = hi[0] - lo[0], ext_y = hi[1] - lo[1], ext_z = hi[2] - lo[2];
    double px = opt.pixel_mm;
    if (!(px > 0)) {
        const double largest = std::max({ext_x, ext_y, ext_z});
        px = std::min(min_sp, largest / 512.0);
        px = std::max(px, largest / 2048.0);
    }
    spine_preview out;
    out.pixel_mm = px;
    out.plane_ras = {centre[0], centre[1], centre[2]};
    out.sagittal_width = std::max<index_t>(1, static_cast<index_t>(std::ceil(ext_y / px - 1e-9)));
    out.coronal_width = std::max<index_t>(1, static_cast<index_t>(std::ceil(ext_x / px - 1e-9)));
    out.panel_height = std::max<index_t>(1, static_cast<index_t>(std::ceil(ext_z / px - 1e-9)));
    if (double(out.sagittal_width) * double(out.coronal_width) * double(out.panel_height) > 1e12)
        throw error(errc::size_limit, "preview: picture would be too large (pixel_mm too small)");
    const index_t gap = std::max<index_t>(2, out.panel_height / 100);
    out.sagittal_left = 0;
    out.coronal_left = out.sagittal_width + gap;
    rgb_image& img = out.image;
    img.width = out.coronal_left + out.coronal_width;
    img.height = out.panel_height;
    img.rgb.assign(static_cast<size_t>(3 * img.width * img.height), 0);

    Eigen::Matrix4d inv = g.ijk_to_ras.inverse();
    const double wl = opt.window_level, ww = opt.window_width, alpha = std::min(1.0, std::max(0.0, opt.alpha));
    // pixel (u, v) of a panel -> world point; sagittal: anterior (+y) left, coronal: patient right (+x) left
    auto world_of = [&](bool sagittal, index_t u, index_t v) {
        const double z = hi[2] - (double(v) + 0.5) * px;
        if (sagittal) return vec3(centre[0], hi[1] - (double(u) + 0.5) * px, z);
        return vec3(hi[0] - (double(u) + 0.5) * px, centre[1], z);
    };
    parallel_for(opt.threads, img.height, [&](std::ptrdiff_t v0, std::ptrdiff_t v1, int) {
        for (std::ptrdiff_t v = v0; v < v1; ++v)
            for (int panel = 0; panel < 2; ++panel) {
                const bool sag = panel == 0;
                const index_t w = sag ? out.sagittal_width : out.coronal_width, left = sag ? out.sagittal_left : out.coronal_left;
                for (index_t u = 0; u < w; ++u) {
                    const vec3 p = world_of(sag, u, v);
                    const Eigen::Vector4d q = inv * Eigen::Vector4d(p[0], p[1], p[2], 1.0);
                    const auto i = static_cast<index_t>(std::floor(q[0] + 0.5)), j = static_cast<index_t>(std::floor(q[1] + 0.5)),
                               k = static_cast<index_t>(std::floor(q[2] + 0.5));
                    std::uint8_t* o = img.at(left + u, v);
                    if (i < 0 || j < 0 || k < 0 || i >= d[0] || j >= d[1] || k >= d[2]) continue;  // outside: black
                    const double hu = ct(i, j, k);
                    const double gray = std::min(1.0, std::max(0.0, (hu - (wl - ww / 2)) / ww)) * 255.0;
                    double rgb[3] = {gray, gray, gray};
                    if (has_labels && alpha > 0)
                        if (const std::uint16_t l = labels(i, j, k)) {
                            const auto c = label_colour(l);
                            for (int ch = 0; ch < 3; ++ch) rgb[ch] = (1 - alpha) * rgb[ch] + alpha * c[static_cast<size_t>(ch)];
                        }
                    for (int ch = 0; ch < 3; ++ch) o[ch] = static_cast<std::uint8_t>(std::lround(rgb[ch]));
                }
            }
    }, 1);

    const int scale = static_cast<int>(std::max<index_t>(1, (img.height + 100) / 200));  // ~1/28 of the height per line
    if (opt.names) {
        struct name_tag {
            index_t row, su, cu;
            std::uint16_t v;
        };
        std::vector<name_tag> tags;
        for (auto& [v, s] : sums) {
            if (v >= label_names.size() || label_names[v].empty()) continue;
            const vec3 c = g.index_to_world(vec3(s[0] / s[3], s[1] / s[3], s[2] / s[3]));
            tags.push_back({static_cast<index_t>(std::floor((hi[2] - c[2]) / px)) - 7 * scale / 2,
                            static_cast<index_t>(std::floor((hi[1] - c[1]) / px)), static_cast<index_t>(std::floor((hi[0] - c[0]) / px)), v});
        }
        // top to bottom; a name that would overlap the one above moves down to the next free text line (7 rows of
        // glyph + 1 of space), so that close centroids (small or fragmented labels) still give readable names
        std::stable_sort(tags.begin(), tags.end(), [](const name_tag& a, const name_tag& b) { return a.row < b.row; });
        for (size_t t = 1; t < tags.size(); ++t) tags[t].row = std::max(tags[t].row, tags[t - 1].row + 8 * scale);
        for (const name_tag& t : tags) {
            // beside the vertebra: posterior of the centroid (right) in sagittal, patient's left (right) in coronal
            detail::draw_text(img, out.sagittal_left + t.su + 6 * scale, t.row, label_names[t.v], scale, label_colour(t.v));
            detail::draw_text(img, out.coronal_left + t.cu + 6 * scale, t.row, label_names[t.v], scale, label_colour(t.v));
        }
    }
    if (opt.orientation_marks) {
        const std::array<std::uint8_t, 3> yellow{255, 230, 0};
        const index_t m = 2 * scale, right = 5 * scale + m;
        detail::draw_text(img, out.sagittal_left + m, m, "A", scale, yellow);
        detail::draw_text(img, out.sagittal_left + out.sagittal_width - right, m, "P", scale, yellow);
        detail::draw_text(img, out.coronal_left + m, m, "R", scale, yellow);
        detail::draw_text(img, out.coronal_left + out.coronal_width - right, m, "L", scale, yellow);
    }
    return out;
}

}  // namespace ctspine
