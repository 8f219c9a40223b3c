// Spine preview: geometry (a bright voxel lands at the pixel computed by hand from the affine, with anterior left in
// the sagittal panel, the patient's right left in the coronal panel, head up), the same anatomy under a flipped
// voxel order, physical aspect for anisotropic voxels, distinct label colours, names drawn near the centroid.
#include <doctest/doctest.h>

#include <set>

#include "ctspine/label/preview.hpp"

using namespace ctspine;

namespace {
bool white(const rgb_image& im, index_t x, index_t y) {
    const std::uint8_t* p = im.at(x, y);
    return p[0] == 255 && p[1] == 255 && p[2] == 255;
}
index_t count_nonblack(const rgb_image& im) {
    index_t n = 0;
    for (index_t y = 0; y < im.height; ++y)
        for (index_t x = 0; x < im.width; ++x) {
            const std::uint8_t* p = im.at(x, y);
            n += (p[0] | p[1] | p[2]) != 0;
        }
    return n;
}
/// 40 x 60 x 40 voxels of 1 mm filled with air, for the name tests
volume<float> air_40x60x40() {
    geometry g;
    g.dims = {40, 60, 40};
    g.spacing_mm = {1, 1, 1};
    return volume<float>(g, -1000.0f);
}
preview_options one_mm_no_marks() {
    preview_options o;
    o.pixel_mm = 1.0;
    o.orientation_marks = false;
    return o;
}
}  // namespace

TEST_CASE("preview: a bright voxel lands where the affine says") {
    // 20 x 30 x 10 voxels of 1 x 1 x 2 mm, identity rotation, origin 0: world x in [-0.5, 19.5], y in [-0.5, 29.5],
    // z in [-1, 19]. Bright voxel (5, 7, 3) -> world (5, 7, 6), covering y 6.5..7.5, z 5..7.
    geometry g;
    g.dims = {20, 30, 10};
    g.spacing_mm = {1, 1, 2};
    g.ijk_to_ras = affine4::Identity();
    g.ijk_to_ras(2, 2) = 2;
    volume<float> ct(g, -1000.0f);
    volume<std::uint16_t> lab(g, 0);
    ct(5, 7, 3) = 2000.0f;
    lab(5, 7, 3) = 1;  // the planes go through the labels' centroid = this voxel
    preview_options o;
    o.pixel_mm = 1.0;
    o.alpha = 0.0;
    o.names = false;
    o.orientation_marks = false;
    const spine_preview p = render_spine_preview(ct.view(), lab.view(), {}, o);
    CHECK(p.sagittal_width == 30);  // y extent 30 mm
    CHECK(p.coronal_width == 20);   // x extent 20 mm
    CHECK(p.panel_height == 20);    // z extent 20 mm (10 voxels of 2 mm: physical aspect)
    CHECK(p.image.height == 20);
    // sagittal: column u samples y = 29.5 - (u + 0.5) -> y = 7 at u = 22 (anterior = high y is on the left);
    // rows v sample z = 19 - (v + 0.5): z in 5..7 -> v = 12, 13 (head up)
    CHECK(white(p.image, p.sagittal_left + 22, 12));
    CHECK(white(p.image, p.sagittal_left + 22, 13));
    // coronal: column u samples x = 19.5 - (u + 0.5) -> x = 5 at u = 14 (patient right = high x on the left)
    CHECK(white(p.image, p.coronal_left + 14, 12));
    CHECK(white(p.image, p.coronal_left + 14, 13));
    CHECK(count_nonblack(p.image) == 4);

    // the same anatomy stored with i reversed (x axis flipped in the affine) gives the same picture
    geometry g2 = g;
    g2.ijk_to_ras(0, 0) = -1;
    g2.ijk_to_ras(0, 3) = 19;  // voxel i' = 19 - i sits at world x = 19 - i' = i
    volume<float> ct2(g2, -1000.0f);
    volume<std::uint16_t> lab2(g2, 0);
    ct2(19 - 5, 7, 3) = 2000.0f;
    lab2(19 - 5, 7, 3) = 1;
    const spine_preview p2 = render_spine_preview(ct2.view(), lab2.view(), {}, o);
    CHECK(p2.image.rgb == p.image.rgb);

    // labels blended: the bright voxel takes label 1's colour at alpha 1
    o.alpha = 1.0;
    const spine_preview p3 = render_spine_preview(ct.view(), lab.view(), {}, o);
    const auto c = label_colour(1);
    CHECK(std::equal(c.begin(), c.end(), p3.image.at(p3.sagittal_left + 22, 12)));
}

TEST_CASE("preview: label colours are distinct") {
    std::set<std::array<std::uint8_t, 3>> seen;
    int min_dist = 1 << 30;
    std::vector<std::array<std::uint8_t, 3>> cs;
    for (int k = 1; k <= 30; ++k) cs.push_back(label_colour(k));
    for (size_t a = 0; a < cs.size(); ++a)
        for (size_t b = a + 1; b < cs.size(); ++b) {
            int d = 0;
            for (int ch = 0; ch < 3; ++ch) d += std::abs(int(cs[a][size_t(ch)]) - int(cs[b][size_t(ch)]));
            min_dist = std::min(min_dist, d);
        }
    MESSAGE("smallest L1 distance between the colours of labels 1..30: " << min_dist);
    CHECK(min_dist >= 20);
    // neighbouring vertebrae (consecutive label values) are far apart
    for (int k = 1; k < 30; ++k) {
        int d = 0;
        for (int ch = 0; ch < 3; ++ch) d += std::abs(int(label_colour(k)[size_t(ch)]) - int(label_colour(k + 1)[size_t(ch)]));
        CHECK(d >= 120);
    }
}

TEST_CASE("preview: names are drawn beside the centroid, glyphs exist for vertebra names") {
    for (const char* n : {"C1", "T12", "L5", "S1", "SACRUM", "COCCYX", "T13", "L6", "A", "P", "R", "L"})
        for (const char* ch = n; *ch; ++ch) CHECK_MESSAGE(detail::glyph5x7(*ch) != nullptr, n);
    const volume<float> ct = air_40x60x40();
    volume<std::uint16_t> lab(ct.geometry(), 0);
    for (index_t k = 15; k < 25; ++k)
        for (index_t j = 25; j < 35; ++j)
            for (index_t i = 15; i < 25; ++i) lab(i, j, k) = 3;
    preview_options o = one_mm_no_marks();
    o.names = false;
    const spine_preview a = render_spine_preview(ct.view(), lab.view(), {"", "", "", "L1"}, o);
    o.names = true;
    const spine_preview b = render_spine_preview(ct.view(), lab.view(), {"", "", "", "L1"}, o);
    // text pixels in label 3's colour appear right of the centroid column in the sagittal panel
    const auto c = label_colour(3);
    index_t text = 0;
    for (index_t y = 0; y < b.image.height; ++y)
        for (index_t x = 0; x < b.sagittal_width; ++x)
            if (std::equal(c.begin(), c.end(), b.image.at(x, y))) {
                ++text;
                CHECK(x > 60 - 30 - 1);  // centroid y = 29.5 -> column 29.5 (anterior left): the name is posterior
            }
    CHECK(text > 10);
    CHECK(a.image.rgb != b.image.rgb);
}

TEST_CASE("preview: names of labels with close centroids do not overlap") {
    // two thin slabs 2 mm apart in z: their names (7 pixel rows each at this size) would overlap at the centroids
    const volume<float> ct = air_40x60x40();
    volume<std::uint16_t> lab(ct.geometry(), 0);
    for (index_t j = 25; j < 35; ++j)
        for (index_t i = 15; i < 25; ++i) lab(i, j, 20) = 1, lab(i, j, 22) = 2;
    const preview_options o = one_mm_no_marks();
    const spine_preview p = render_spine_preview(ct.view(), lab.view(), {"", "L1", "L2"}, o);
    std::set<index_t> rows[3];
    for (std::uint16_t v = 1; v <= 2; ++v) {
        const auto c = label_colour(v);
        for (index_t y = 0; y < p.image.height; ++y)
            for (index_t x = 0; x < p.image.width; ++x)
                if (std::equal(c.begin(), c.end(), p.image.at(x, y))) rows[v].insert(y);
        CHECK(rows[v].size() >= 5);  // the name is drawn
    }
    REQUIRE(!rows[1].empty());
    REQUIRE(!rows[2].empty());
    // L2 (z = 22, higher) is above L1; the glyph rows are disjoint
    CHECK(*rows[2].rbegin() < *rows[1].begin());
}

TEST_CASE("preview: bad input") {
    geometry g;
    g.dims = {4, 4, 4};
    volume<float> ct(g, 0.0f);
    geometry g2 = g;
    g2.dims = {4, 4, 5};
    volume<std::uint16_t> lab(g2, 0);
    CHECK_THROWS_AS(render_spine_preview(ct.view(), lab.view()), ctspine::error);
    preview_options o;
    o.window_width = 0;
    CHECK_THROWS_AS(render_spine_preview(ct.view(), volume_view<const std::uint16_t>(), {}, o), ctspine::error);
    o = preview_options();
    o.pixel_mm = 1e-5;
    CHECK_THROWS_AS(render_spine_preview(ct.view(), volume_view<const std::uint16_t>(), {}, o), ctspine::error);
}
