// Surface meshes: every mesh closed, edge- and vertex-manifold, consistently oriented outward, free of degenerate
// triangles (all 256 cube configurations, random masks, diagonal-only contacts, tunnels, cavities, objects filling the
// volume, flipped and oblique affines); vertex sets identical to skimage's marching cubes at level 0.5 on the padded
// mask (tests/reference/make_mesh_fixtures.py); volumes by the divergence theorem against hand-derived values and
// skimage's mesh; identical output for 1, 2 and 3 threads; the shared spine label maps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "ctspine/io/nifti.hpp"
#include "ctspine/label/label_schemes.hpp"
#include "ctspine/mesh/decimation.hpp"
#include "ctspine/mesh/mesh_check.hpp"
#include "ctspine/mesh/mesh_distance.hpp"
#include "ctspine/mesh/mesh_io.hpp"
#include "ctspine/mesh/mesh_render.hpp"
#include "ctspine/mesh/smoothing.hpp"
#include "ctspine/mesh/surface_extraction.hpp"
#include "test_support.hpp"

using namespace ctspine;

namespace {

struct fixture_label {
    std::int64_t value = 0;
    index_t voxels = 0;
    double voxel_volume = 0, sk_volume = 0;
    std::size_t sk_vertices = 0;
    std::array<double, 3> sum{}, sumsq{};
    std::vector<std::array<double, 3>> verts;
};
struct fixture_case {
    std::string name;
    dims3 dims{};
    affine4 A = affine4::Identity();
    std::vector<fixture_label> labels;
    volume<std::uint16_t> load() const {
        geometry g;
        g.dims = dims;
        g.ijk_to_ras = A;
        volume<std::uint16_t> v(g);
        const auto raw = ctspine_test::read_raw<std::uint16_t>(ctspine_test::repo_data("mesh/" + name + ".labels.gz").string(),
                                                               static_cast<size_t>(v.size()));
        std::copy(raw.begin(), raw.end(), v.begin());
        return v;
    }
};

std::vector<fixture_case> read_cases() {
    std::ifstream f(ctspine_test::repo_data("mesh/cases.txt"));
    REQUIRE(f);
    std::vector<fixture_case> cases;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string tag;
        is >> tag;
        if (tag == "case") {
            cases.emplace_back();
            is >> cases.back().name >> cases.back().dims[0] >> cases.back().dims[1] >> cases.back().dims[2];
        } else if (tag == "affine") {
            for (int r = 0; r < 4; ++r)
                for (int c = 0; c < 4; ++c) is >> cases.back().A(r, c);
        } else if (tag == "label") {
            fixture_label l;
            std::string k;
            is >> l.value >> k >> l.voxels >> k >> l.voxel_volume >> k >> l.sk_volume >> k >> l.sk_vertices >> k >> l.sum[0] >> l.sum[1] >>
                l.sum[2] >> k >> l.sumsq[0] >> l.sumsq[1] >> l.sumsq[2];
            cases.back().labels.push_back(l);
        } else if (tag == "v") {
            std::array<double, 3> p{};
            is >> p[0] >> p[1] >> p[2];
            cases.back().labels.back().verts.push_back(p);
        }
    }
    return cases;
}

void check_watertight(const triangle_mesh& m, const std::string& what) {
    const mesh_check_result r = check_mesh(m);
    INFO(what << ": " << r.triangles << " triangles, boundary " << r.boundary_edges << ", non-manifold edges " << r.nonmanifold_edges
              << ", misoriented " << r.misoriented_edges << ", non-manifold vertices " << r.nonmanifold_vertices << ", degenerate "
              << r.degenerate_triangles << ", unused " << r.unused_vertices);
    CHECK(r.watertight_manifold());
    CHECK(r.unused_vertices == 0);
    CHECK(r.volume_mm3 > 0);
}

bool same_mesh(const triangle_mesh& a, const triangle_mesh& b) {
    return a.label == b.label && a.vertices == b.vertices && a.triangles == b.triangles && a.normals == b.normals;
}

geometry grid(dims3 d, const affine4& A = affine4::Identity()) {
    geometry g;
    g.dims = d;
    g.ijk_to_ras = A;
    return g;
}

}  // namespace

TEST_CASE("mesh: the derived case table is closed and admissible for all 256 cases") {
    const detail::mc_table t;
    CHECK(t.consistent);
    CHECK(t.fan_ok);
    CHECK(t.ntri[0] == 0);
    CHECK(t.ntri[255] == 0);
    CHECK(t.ntri[1] == 1);   // one inside corner: one triangle
    CHECK(t.ntri[3] == 2);   // an inside edge: a quad
    CHECK(t.ntri[15] == 2);  // an inside face: a quad
    CHECK(t.ntri[0x81] == 2);  // corners 0 and 7 only (vertex contact): two separate triangles
    CHECK(t.ntri[0x09] == 2);  // corners 0 and 3 (diagonal on a face: the ambiguous face) cut off separately
}

TEST_CASE("mesh: every 2x2x2 configuration gives a watertight, manifold, outward surface") {
    for (int c = 1; c < 256; ++c) {
        volume<std::uint8_t> v(grid({2, 2, 2}), 0);
        for (int i = 0; i < 8; ++i) v(i & 1, (i >> 1) & 1, (i >> 2) & 1) = static_cast<std::uint8_t>((c >> i) & 1);
        surface_options o;
        o.threads = 1;
        const auto ms = extract_surfaces<std::uint8_t>(v.view(), o);
        REQUIRE(ms.size() == 1);
        check_watertight(ms[0], "case " + std::to_string(c));
        // one vertex per (inside voxel, outside 6-neighbour) pair: the 3 neighbours beyond the volume border always
        // count, the 3 inside the volume when they are outside the mask
        std::size_t expected = 0;
        for (int i = 0; i < 8; ++i)
            if ((c >> i) & 1) {
                expected += 3;
                for (int a = 0; a < 3; ++a) expected += ((c >> (i ^ (1 << a))) & 1) ? 0 : 1;
            }
        CHECK(ms[0].vertices.size() == expected);
    }
}

TEST_CASE("mesh: random masks with many diagonal contacts are watertight and manifold") {
    std::mt19937 rng(18);
    for (int trial = 0; trial < 60; ++trial) {
        const dims3 d{static_cast<index_t>(1 + rng() % 7), static_cast<index_t>(1 + rng() % 7), static_cast<index_t>(1 + rng() % 7)};
        affine4 A = affine4::Identity();
        A(0, 0) = (trial % 2) ? -0.7 : 1.3;  // half of them with a flipped axis
        A(1, 1) = 0.9;
        A(2, 2) = 2.5;
        A(0, 1) = 0.2;
        volume<std::uint16_t> v(grid(d, A), 0);
        const double p = 0.2 + 0.6 * (trial % 5) / 4.0;
        for (auto& x : v) x = static_cast<std::uint16_t>(std::uniform_real_distribution<double>(0, 1)(rng) < p ? 1 + rng() % 3 : 0);
        const auto ms = extract_surfaces<std::uint16_t>(v.view());
        for (const auto& m : ms) check_watertight(m, "trial " + std::to_string(trial) + " label " + std::to_string(m.label));
    }
}

TEST_CASE("mesh: vertices equal skimage's marching cubes vertices; volumes match the hand-derived values") {
    const auto cases = read_cases();
    REQUIRE(cases.size() == 11);
    for (const auto& fc : cases) {
        const auto lab = fc.load();
        const auto ms = extract_surfaces<std::uint16_t>(lab.view());
        REQUIRE(ms.size() == fc.labels.size());
        for (std::size_t i = 0; i < ms.size(); ++i) {
            const auto& m = ms[i];
            const auto& ref = fc.labels[i];
            INFO(fc.name << " label " << ref.value);
            CHECK(m.label == ref.value);
            check_watertight(m, fc.name);
            if (ref.verts.empty()) {
                // large case: the same number of vertices and the same coordinate sums and sums of squares
                REQUIRE(m.vertices.size() == ref.sk_vertices);
                std::array<double, 3> s{}, q{};
                for (const auto& p : m.vertices)
                    for (std::size_t k = 0; k < 3; ++k) s[k] += p[k], q[k] += p[k] * p[k];
                for (std::size_t k = 0; k < 3; ++k) {
                    CHECK(s[k] == doctest::Approx(ref.sum[k]).epsilon(1e-9));
                    CHECK(q[k] == doctest::Approx(ref.sumsq[k]).epsilon(1e-9));
                }
            } else {
                // the exact sets: ours are exactly skimage's edge-midpoint vertices. skimage (Lewiner's marching cubes
                // 33) also adds a vertex inside the cube for some ambiguous configurations; those are the only ones
                // of its vertices that are not edge midpoints, and the only ones we do not have.
                const Eigen::Matrix3d Ainv = fc.A.topLeftCorner<3, 3>().inverse();
                std::vector<std::array<double, 3>> theirs;
                std::size_t interior = 0;
                for (const auto& p : ref.verts) {
                    const Eigen::Vector3d ijk = Ainv * (Eigen::Vector3d(p[0], p[1], p[2]) - fc.A.topRightCorner<3, 1>());
                    int halves = 0, integers = 0;
                    for (int k = 0; k < 3; ++k) {
                        const double f = ijk[k] - std::floor(ijk[k]);
                        halves += std::abs(f - 0.5) < 1e-6;
                        integers += f < 1e-6 || f > 1 - 1e-6;
                    }
                    if (halves == 1 && integers == 2) theirs.push_back(p);
                    else ++interior;
                }
                MESSAGE(fc.name << " label " << ref.value << ": skimage " << ref.verts.size() << " vertices (" << interior
                                << " cube-interior), ours " << m.vertices.size());
                // a one-to-one match within 1e-7 mm (the fixture holds 9 decimals)
                REQUIRE(theirs.size() == m.vertices.size());
                std::vector<bool> used(theirs.size(), false);
                std::size_t matched = 0;
                for (const auto& p : m.vertices)
                    for (std::size_t k = 0; k < theirs.size(); ++k)
                        if (!used[k] && std::abs(p[0] - theirs[k][0]) < 1e-7 && std::abs(p[1] - theirs[k][1]) < 1e-7 &&
                            std::abs(p[2] - theirs[k][2]) < 1e-7) {
                            used[k] = true;
                            ++matched;
                            break;
                        }
                CHECK(matched == m.vertices.size());
            }
            const double vol = enclosed_volume(m), det = std::abs(fc.A.topLeftCorner<3, 3>().determinant());
            if (fc.name == "single_voxel" || fc.name == "single_voxel_whole_volume") {
                CHECK(vol == doctest::Approx(det / 6.0).epsilon(1e-12));  // the octahedron |x|+|y|+|z| ≤ 1/2
            } else if (fc.name == "edge_contact" || fc.name == "vertex_contact") {
                CHECK(vol == doctest::Approx(2 * det / 6.0).epsilon(1e-12));  // two separate octahedra
                CHECK(check_mesh(m).components == 2);
            } else if (fc.name == "checkerboard_border") {
                CHECK(vol == doctest::Approx(63 * det / 6.0).epsilon(1e-12));  // 63 voxels meeting only diagonally
                CHECK(check_mesh(m).components == 63);
            } else if (fc.name == "full_volume" || fc.name == "ring_tunnel") {
                // no ambiguous face: the same vertices and loops as skimage; only non-planar loops may be split into
                // triangles along other diagonals, which changes the volume a little on such small objects
                CHECK(std::abs(vol / ref.sk_volume - 1) < 0.05);
                CHECK(check_mesh(m).components == 1);
            } else if (fc.name == "hollow_box") {
                // outer shell, inward-facing cavity shell (negative volume), the island inside: three shells
                CHECK(check_mesh(m).components == 3);
                CHECK(std::abs(vol / ref.sk_volume - 1) < 0.05);
            } else if (fc.name == "two_vertebrae") {
                // vertebra-sized: within 2% of the voxel volume, within 0.2% of skimage's mesh
                CHECK(std::abs(vol / ref.voxel_volume - 1) < 0.02);
                CHECK(std::abs(vol / ref.sk_volume - 1) < 0.002);
            } else {
                // random masks: ours cuts diagonal contacts apart where skimage may join them (a sanity range only)
                CHECK(vol < 1.05 * ref.sk_volume);
                CHECK(vol > 0.5 * ref.sk_volume);
            }
        }
    }
}

TEST_CASE("mesh: normals point outward in world space, also when the affine flips an axis") {
    for (double sx : {1.0, -1.0}) {
        affine4 A = affine4::Identity();
        A(0, 0) = 0.8 * sx;
        A(1, 1) = 1.1;
        A(2, 2) = -1.7;  // with sx = -1 two flips (det > 0), with sx = 1 one flip (det < 0)
        A(0, 3) = 5;
        volume<std::uint8_t> v(grid({3, 3, 3}, A), 0);
        v(1, 1, 1) = 1;
        const auto ms = extract_surfaces<std::uint8_t>(v.view());
        REQUIRE(ms.size() == 1);
        const vec3 c = v.geometry().index_to_world(vec3(1, 1, 1));
        REQUIRE(ms[0].normals.size() == 6);
        for (std::size_t i = 0; i < 6; ++i) {
            const auto& p = ms[0].vertices[i];
            const auto& n = ms[0].normals[i];
            const double d = (p[0] - c[0]) * n[0] + (p[1] - c[1]) * n[1] + (p[2] - c[2]) * n[2];
            CHECK(d > 0);
        }
        for (const auto& t : ms[0].triangles) {  // face normals point away from the voxel centre
            const auto& a = ms[0].vertices[t[0]];
            const auto n = detail::mcross(detail::msub(ms[0].vertices[t[1]], a), detail::msub(ms[0].vertices[t[2]], a));
            CHECK(detail::mdot(n, detail::msub(a, {c[0], c[1], c[2]})) > 0);
        }
        CHECK(enclosed_volume(ms[0]) == doctest::Approx(0.8 * 1.1 * 1.7 / 6));
    }
}

TEST_CASE("mesh: identical output for 1, 2 and 3 threads; label selection; errors") {
    const auto cases = read_cases();
    const auto lab = cases.back().load();  // two_vertebrae
    surface_options o1, o2, o3;
    o1.threads = 1;
    o2.threads = 2;
    o3.threads = 3;
    const auto a = extract_surfaces<std::uint16_t>(lab.view(), o1), b = extract_surfaces<std::uint16_t>(lab.view(), o2),
               c = extract_surfaces<std::uint16_t>(lab.view(), o3);
    REQUIRE(a.size() == 2);
    REQUIRE(b.size() == 2);
    REQUIRE(c.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(same_mesh(a[i], b[i]));
        CHECK(same_mesh(a[i], c[i]));
    }
    surface_options only;
    only.labels = {21, 99};
    const auto s = extract_surfaces<std::uint16_t>(lab.view(), only);
    REQUIRE(s.size() == 1);
    CHECK(same_mesh(s[0], a[1]));
    // the same labels as int32 (binary-searched label slots) give the same meshes
    volume<std::int32_t> l32(lab.geometry());
    std::copy(lab.begin(), lab.end(), l32.begin());
    const auto d = extract_surfaces<std::int32_t>(l32.view());
    REQUIRE(d.size() == 2);
    CHECK(same_mesh(a[0], d[0]));
    // singular affine
    geometry g = lab.geometry();
    g.ijk_to_ras(2, 2) = 0;
    g.ijk_to_ras(2, 0) = 0;
    g.ijk_to_ras(2, 1) = 0;
    CHECK_THROWS_AS(extract_surfaces<std::uint16_t>(volume_view<const std::uint16_t>(lab.data(), g)), ctspine::error);
    // cancellation
    surface_options cancel;
    cancel.progress = [](double f, std::string_view) { return f < 0.5; };
    CHECK_THROWS_AS(extract_surfaces<std::uint16_t>(lab.view(), cancel), ctspine::error);
    // empty label map
    volume<std::uint8_t> z(grid({4, 4, 4}), 0);
    CHECK(extract_surfaces<std::uint8_t>(z.view()).empty());
}

TEST_CASE("mesh: shared spine label maps give watertight manifold vertebrae within 2% of their voxel volume") {
    struct shared_file {
        const char* rel;
        label_scheme scheme;
        int whole_vertebrae;  // labels of ≥ 1000 voxels that are vertebrae in the scheme
    };
    // TotalSegmentator maps (all organs meshed too), VerSe vertebrae, and the vertebra sub-regions (41–50, many
    // touching labels, none a vertebra in VerSe numbering)
    const shared_file files[] = {{"spine/example_seg.nii.gz", label_scheme::totalseg_v2, 3},
                                 {"spine/example_seg_fast.nii.gz", label_scheme::totalseg_v2, 3},
                                 {"spine/sub-ct_seg-vert_label-22_msk.nii.gz", label_scheme::verse, 3},
                                 {"spine/sub-ct_seg-subreg_label-22_msk.nii.gz", label_scheme::verse, 0}};
    for (const auto& file : files) {
        const std::string rel = file.rel;
        const label_scheme scheme = file.scheme;
        CTSPINE_REQUIRE_SHARED(path, rel);
        nifti_read_options ro;
        ro.apply_scaling = false;
        const auto seg = read_nifti<std::uint16_t>(path.string(), ro);
        const double vox = std::abs(seg.ijk_to_ras().topLeftCorner<3, 3>().determinant());
        std::map<std::int64_t, index_t> count;
        for (auto x : seg)
            if (x) ++count[x];
        surface_options o1, o2;
        o1.threads = 1;
        o2.threads = 2;
        const auto ms = extract_surfaces<std::uint16_t>(seg.view(), o1);
        const auto ms2 = extract_surfaces<std::uint16_t>(seg.view(), o2);
        REQUIRE(ms.size() == count.size());
        REQUIRE(ms2.size() == ms.size());
        int big = 0;
        for (std::size_t i = 0; i < ms.size(); ++i) {
            INFO(rel << " label " << ms[i].label);
            check_watertight(ms[i], rel);
            CHECK(same_mesh(ms[i], ms2[i]));
            const double voxel_volume = static_cast<double>(count[ms[i].label]) * vox;
            const double rel_volume = enclosed_volume(ms[i]) / voxel_volume - 1;
            if (vertebra_of(scheme, ms[i].label) && count[ms[i].label] >= 1000) {  // a whole vertebra (T11 is cut off)
                ++big;
                MESSAGE(rel << " " << label_name(scheme, ms[i].label) << ": " << count[ms[i].label] << " voxels, mesh volume "
                            << 100 * rel_volume << "% vs voxels");
                CHECK(std::abs(rel_volume) < 0.02);
            }
        }
        CHECK(big == file.whole_vertebrae);
    }
}

namespace {
/// A voxelised ball of radius r voxels (centre off the grid so no voxel centre lies on the sphere), 1 mm voxels.
volume<std::uint8_t> ball(double r, dims3 d = {24, 24, 24}) {
    volume<std::uint8_t> v(grid(d), 0);
    const double c = (static_cast<double>(d[0]) - 1) / 2 + 0.137;
    for (index_t k = 0; k < d[2]; ++k)
        for (index_t j = 0; j < d[1]; ++j)
            for (index_t i = 0; i < d[0]; ++i) {
                const double x = static_cast<double>(i) - c, y = static_cast<double>(j) - c + 0.071, z = static_cast<double>(k) - c - 0.043;
                v(i, j, k) = x * x + y * y + z * z < r * r ? 1 : 0;
            }
    return v;
}
double rms_sphere_error(const triangle_mesh& m, double r, double c, const std::array<double, 3>& off) {
    double s = 0;
    for (const auto& p : m.vertices) {
        const double x = p[0] - c - off[0], y = p[1] - c - off[1], z = p[2] - c - off[2];
        const double e = std::sqrt(x * x + y * y + z * z) - r;
        s += e * e;
    }
    return std::sqrt(s / static_cast<double>(m.vertices.size()));
}
std::vector<unsigned char> slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
template <class T>
T get_le(const std::vector<unsigned char>& b, std::size_t off) {
    T x;
    std::memcpy(&x, b.data() + off, sizeof(T));
    return x;
}
}  // namespace

TEST_CASE("mesh io: binary STL re-read byte by byte; PLY and OBJ headers and counts; atomic (no temporary left)") {
    const auto cases = read_cases();
    auto lab = cases[1].load();  // single_voxel, label 7, anisotropic affine
    auto ms = extract_surfaces<std::uint16_t>(lab.view());
    REQUIRE(ms.size() == 1);
    ms[0].name = "L1";
    const auto dir = std::filesystem::temp_directory_path() / "ctspine_test_mesh_io";
    std::filesystem::remove_all(dir);
    const auto paths = write_meshes(dir.string(), ms, mesh_format::stl);
    REQUIRE(paths.size() == 1);
    CHECK(std::filesystem::path(paths[0]).filename() == "L1.stl");
    const auto b = slurp(paths[0]);
    // binary STL: 80-byte header, uint32 count, 50 bytes per facet (normal, 3 vertices, uint16 attribute)
    REQUIRE(b.size() == 84 + 50 * 8);
    CHECK(get_le<std::uint32_t>(b, 80) == 8);
    CHECK(std::string(b.begin(), b.begin() + 5) != "solid");
    const double det = lab.ijk_to_ras().topLeftCorner<3, 3>().determinant();
    double vol = 0;
    for (std::size_t t = 0; t < 8; ++t) {
        const std::size_t o = 84 + 50 * t;
        std::array<double, 3> n{}, v[3];
        for (std::size_t k = 0; k < 3; ++k) n[k] = get_le<float>(b, o + 4 * k);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t k = 0; k < 3; ++k) v[c][k] = get_le<float>(b, o + 12 + 12 * c + 4 * k);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t k = 0; k < 3; ++k)
                CHECK(v[c][k] == doctest::Approx(ms[0].vertices[ms[0].triangles[t][c]][k]).epsilon(1e-6));
        const auto cr = detail::mcross(detail::msub(v[1], v[0]), detail::msub(v[2], v[0]));
        CHECK(detail::mdot(cr, n) / detail::mnorm(cr) == doctest::Approx(1.0).epsilon(1e-5));
        vol += detail::mdot(v[0], detail::mcross(v[1], v[2])) / 6.0;
        CHECK(get_le<std::uint16_t>(b, o + 48) == 0);
    }
    CHECK(vol == doctest::Approx(std::abs(det) / 6.0).epsilon(1e-5));  // the octahedron, from the file's own floats
    // PLY: header then 6 × (3 + 3) floats and 8 × (1 + 3 × 4) face bytes; OBJ: 6 v, 6 vn, 8 f
    const std::string ply = (dir / "x.ply").string(), obj = (dir / "x.obj").string();
    write_mesh(ply, ms[0], mesh_format::ply);
    write_mesh(obj, ms[0], mesh_format::obj);
    const auto pb = slurp(ply);
    const std::string ps(pb.begin(), pb.end());
    const std::size_t hend = ps.find("end_header\n");
    REQUIRE(hend != std::string::npos);
    CHECK(ps.find("element vertex 6\n") < hend);
    CHECK(ps.find("element face 8\n") < hend);
    CHECK(pb.size() == hend + 11 + 6 * 24 + 8 * 13);
    std::ifstream of(obj);
    int nvl = 0, nvn = 0, nf = 0;
    for (std::string line; std::getline(of, line);) {
        nvl += line.rfind("v ", 0) == 0;
        nvn += line.rfind("vn ", 0) == 0;
        nf += line.rfind("f ", 0) == 0;
    }
    CHECK(nvl == 6);
    CHECK(nvn == 6);
    CHECK(nf == 8);
    for (const auto& e : std::filesystem::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
    CHECK_THROWS_AS(write_stl((dir / "no_such_dir" / "a.stl").string(), ms[0]), ctspine::error);
    std::filesystem::remove_all(dir);
}

TEST_CASE("mesh distance: a translated surface is exactly the translation away") {
    volume<std::uint8_t> v(grid({5, 5, 5}), 0);
    for (index_t k = 1; k < 4; ++k)
        for (index_t j = 1; j < 4; ++j)
            for (index_t i = 1; i < 4; ++i) v(i, j, k) = 1;
    const auto a = extract_surfaces<std::uint8_t>(v.view())[0];
    auto b = a;
    for (auto& p : b.vertices) p[2] += 0.3;
    const auto d = mesh_distance(a, b, 2);
    CHECK(d.hausdorff_mm == doctest::Approx(0.3).epsilon(1e-9));  // the flat top and bottom faces
    CHECK(d.mean_mm > 0);
    CHECK(d.mean_mm <= 0.3 + 1e-12);
    CHECK(mesh_distance(a, a).hausdorff_mm == 0);
    CHECK(detail::point_triangle_dist2({0, 0, 2}, {0, 0, 0}, {1, 0, 0}, {0, 1, 0}) == doctest::Approx(4));
    CHECK(detail::point_triangle_dist2({2, 2, 0}, {0, 0, 0}, {1, 0, 0}, {0, 1, 0}) == doctest::Approx(2 * 1.5 * 1.5));
    CHECK(detail::point_triangle_dist2({-1, -1, 1}, {0, 0, 0}, {1, 0, 0}, {0, 1, 0}) == doctest::Approx(3));
}

TEST_CASE("smoothing: closer to the true sphere, volume kept, still watertight, effect reported, thread-independent") {
    const double r = 8.3;
    const auto v = ball(r);
    const double c = (24.0 - 1) / 2 + 0.137;
    const std::array<double, 3> off{0, -0.071, 0.043};
    const auto m0 = extract_surfaces<std::uint8_t>(v.view())[0];
    auto m1 = m0, m2 = m0;
    smoothing_options o;
    o.iterations = 20;
    o.threads = 1;
    const mesh_change r1 = smooth_mesh(m1, o);
    o.threads = 2;
    const mesh_change r2 = smooth_mesh(m2, o);
    CHECK(m1.vertices == m2.vertices);
    CHECK(r1.hausdorff_mm == r2.hausdorff_mm);
    check_watertight(m1, "smoothed ball");
    CHECK(std::abs(r1.volume_change_percent) < 0.01);
    CHECK(r1.volume_before_mm3 == doctest::Approx(enclosed_volume(m0)));
    CHECK(r1.volume_after_mm3 == doctest::Approx(enclosed_volume(m1)));
    // the staircase is gone: the vertices are much closer to the analytic sphere than the marching-cubes ones
    const double e0 = rms_sphere_error(m0, r, c, off), e1 = rms_sphere_error(m1, r, c, off);
    MESSAGE("RMS distance to the sphere: marching cubes " << e0 << " mm, smoothed " << e1 << " mm; Hausdorff to input "
                                                          << r1.hausdorff_mm << " mm; volume " << r1.volume_change_percent << "%");
    CHECK(e1 < 0.6 * e0);
    CHECK(r1.hausdorff_mm > 0);
    CHECK(r1.hausdorff_mm < 0.75);
    // the reported Hausdorff distance is bounded by the largest vertex displacement (same vertex, barycentric argument)
    double maxdisp = 0;
    for (std::size_t i = 0; i < m0.vertices.size(); ++i) maxdisp = std::max(maxdisp, detail::mnorm(detail::msub(m0.vertices[i], m1.vertices[i])));
    CHECK(r1.hausdorff_mm <= maxdisp + 1e-12);
}

TEST_CASE("decimation: target count reached, watertight and manifold, volume and distance reported, error bound stops it") {
    const auto v = ball(8.3);
    const auto m0 = extract_surfaces<std::uint8_t>(v.view())[0];
    auto m1 = m0;
    decimation_options o;
    o.target_fraction = 0.25;
    const mesh_change r = decimate_mesh(m1, o);
    MESSAGE("decimated " << r.triangles_before << " -> " << r.triangles_after << ", volume " << r.volume_change_percent
                         << "%, Hausdorff " << r.hausdorff_mm << " mm");
    CHECK(r.triangles_before == m0.triangles.size());
    CHECK(r.triangles_after == m1.triangles.size());
    CHECK(r.triangles_after <= r.triangles_before / 4 + 2);
    check_watertight(m1, "decimated ball");
    CHECK(check_mesh(m1).components == 1);
    CHECK(std::abs(r.volume_change_percent) < 2.0);
    CHECK(r.hausdorff_mm > 0);
    CHECK(r.hausdorff_mm < 1.0);
    CHECK(r.hausdorff_mm == doctest::Approx(mesh_distance(m0, m1).hausdorff_mm));
    // a tight error bound stops early
    auto m2 = m0;
    decimation_options tight;
    tight.target_fraction = 0.1;
    tight.max_error_mm = 0.05;
    const mesh_change r2 = decimate_mesh(m2, tight);
    CHECK(r2.triangles_after > r.triangles_after);
    check_watertight(m2, "error-bounded");
    // the vertebra-sized fixture decimates to 10% and stays watertight
    const auto cases = read_cases();
    auto verts = extract_surfaces<std::uint16_t>(cases.back().load().view());
    decimation_options d10;
    d10.target_fraction = 0.1;
    d10.measure = false;
    for (auto& m : verts) {
        const auto rr = decimate_mesh(m, d10);
        check_watertight(m, "decimated vertebra");
        CHECK(std::abs(rr.volume_change_percent) < 2.0);
    }
}

TEST_CASE("render: a ball lands where its world position says, lit face-on, and a flipped voxel order draws the same picture") {
    // ball of radius 6.3 voxels (1 mm) centred near voxel (11.6, 11.5, 11.5): in world mm the same
    const auto v = ball(6.3);
    auto ms = extract_surfaces<std::uint8_t>(v.view());
    ms[0].label = 3;
    const mesh_render_options o;
    const mesh_render r = render_meshes(ms, o);
    CHECK(r.image.height == 512);
    // anterior panel: the ball's front point (largest y) is lit face-on: exactly the label colour at the panel centre
    const double cx = (r.box_min[0] + r.box_max[0]) / 2, cz = (r.box_min[2] + r.box_max[2]) / 2;
    const index_t u = static_cast<index_t>(std::lround(static_cast<double>(o.margin) + (r.box_max[0] - cx) / r.pixel_mm));
    const index_t w = static_cast<index_t>(std::lround(static_cast<double>(o.margin) + (r.box_max[2] - cz) / r.pixel_mm));
    const auto col = label_colour(3);
    const std::uint8_t* p = r.image.at(u, w);
    for (int k = 0; k < 3; ++k) CHECK(std::abs(int(p[k]) - int(col[static_cast<std::size_t>(k)])) <= 12);  // facets ≈ face-on
    const std::uint8_t* bg = r.image.at(1, r.image.height - 2);
    CHECK((bg[0] == 24 && bg[1] == 24 && bg[2] == 24));
    // the same ball stored with x reversed and an affine that says so (det < 0): the same world surface, same picture
    geometry g = v.geometry();
    g.ijk_to_ras(0, 0) = -1;
    g.ijk_to_ras(0, 3) = static_cast<double>(g.dims[0] - 1);
    volume<std::uint8_t> f(g);
    for (index_t k = 0; k < g.dims[2]; ++k)
        for (index_t j = 0; j < g.dims[1]; ++j)
            for (index_t i = 0; i < g.dims[0]; ++i) f(g.dims[0] - 1 - i, j, k) = v(i, j, k);
    auto mf = extract_surfaces<std::uint8_t>(f.view());
    mf[0].label = 3;
    CHECK(enclosed_volume(mf[0]) == doctest::Approx(enclosed_volume(ms[0])));
    const mesh_render rf = render_meshes(mf, o);
    REQUIRE(rf.image.width == r.image.width);
    std::size_t same = 0;
    for (std::size_t i = 0; i < r.image.rgb.size(); ++i) same += std::abs(int(r.image.rgb[i]) - int(rf.image.rgb[i])) <= 2;
    CHECK(static_cast<double>(same) / static_cast<double>(r.image.rgb.size()) > 0.999);
    CHECK_THROWS_AS(render_meshes({}), ctspine::error);
}

TEST_CASE("mesh check: detects holes, flipped and duplicated triangles, pinched vertices, degenerate triangles") {
    // a tetrahedron, outward: volume 1/6 by hand
    triangle_mesh t;
    t.vertices = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    t.triangles = {{0, 2, 1}, {0, 1, 3}, {0, 3, 2}, {1, 2, 3}};
    auto r = check_mesh(t);
    CHECK(r.watertight_manifold());
    CHECK(r.volume_mm3 == doctest::Approx(1.0 / 6));
    CHECK(r.area_mm2 == doctest::Approx(1.5 + std::sqrt(3.0) / 2));
    auto hole = t;
    hole.triangles.pop_back();
    r = check_mesh(hole);
    CHECK(r.boundary_edges == 3);
    CHECK(!r.watertight_manifold());
    auto flip = t;
    std::swap(flip.triangles[3][0], flip.triangles[3][1]);
    r = check_mesh(flip);
    CHECK(r.misoriented_edges == 3);
    auto dup = t;
    dup.triangles.push_back({4 - 4, 2, 1});
    CHECK(check_mesh(dup).nonmanifold_edges == 3);
    // two tetrahedra sharing only vertex 0: closed and edge-manifold, but vertex 0 is pinched
    auto pinch = t;
    pinch.vertices.insert(pinch.vertices.end(), {{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}});
    for (auto tri : t.triangles) {
        for (auto& v : tri)
            if (v) v += 3;
        pinch.triangles.push_back({tri[0], tri[2], tri[1]});  // mirrored through the origin: reverse to stay outward
    }
    r = check_mesh(pinch);
    CHECK(r.boundary_edges == 0);
    CHECK(r.nonmanifold_edges == 0);
    CHECK(r.misoriented_edges == 0);
    CHECK(r.nonmanifold_vertices == 1);
    CHECK(r.components == 2);
    CHECK(r.volume_mm3 == doctest::Approx(2.0 / 6));
    auto degenerate = t;
    degenerate.vertices[3] = {0.5, 0.5, 0};  // the apex falls into the base plane, on the hypotenuse
    CHECK(check_mesh(degenerate).degenerate_triangles >= 1);
}
