// ctspine — surface extraction from a label map: one closed, manifold, outward-oriented triangle mesh per label, in
// world mm, from a single threaded sweep over the volume.
//
// Method: marching cubes on each label's binary mask at level 0.5 (the surface skimage.measure.marching_cubes gives
// for the zero-padded mask): every vertex is the midpoint of a voxel-centre edge whose two voxels differ in
// membership, i.e. exactly the vertex skimage places there. Instead of a published 256-case table we derive the table
// from one rule, which is what makes the surface watertight and manifold on binary masks:
//
//   On every cube face, inside corners are joined only along face edges (the mask's 6-connectivity): each run of
//   consecutive inside corners around the face gets one boundary segment. A face with two diagonal inside corners —
//   the ambiguous face, where the asymptotic decider ties exactly at 0.5 on a binary mask — therefore always gets two
//   segments that cut the inside corners off, whichever of its two cubes asks.
//
// Because the rule looks only at the face's four corners, the two cubes sharing a face produce the same segments
// (in opposite directions), so every segment is an edge of exactly two triangles: the surface is closed. Each cube's
// segments chain into closed loops (checked for all 256 cases by the unit tests); a loop is triangulated as a fan
// from an apex chosen so that no diagonal joins two vertices on a common cube face — such a diagonal could also be
// produced by the neighbouring cube and would then be shared by four triangles. With that, a vertex (on a cube edge)
// is surrounded by the four cubes around that edge, each contributing one fan piece between two face segments, so
// its triangles form one disc: the surface is also vertex-manifold. Voxels touching only along an edge or at a corner
// get separate surfaces that share no vertex (foreground 6-connected, background 26-connected), and objects touching
// the volume border are closed by treating voxels outside the volume as background. The midpoints of the 12 edges
// of a cube are the vertices of a cuboctahedron (convex position: no three collinear), so no triangle is degenerate
// in index space, nor after a non-singular affine.
//
// Orientation: each face segment runs, seen from outside the cube, counter-clockwise from the edge where a run of
// inside corners begins to the edge where it ends; the loop triangles then have right-hand normals pointing from
// inside to outside voxels. When ijk_to_ras has a negative determinant (a flipped axis, e.g. LPS or LAS storage) the
// winding is reversed after mapping to world, so normals point outward in world space as well.
//
// Determinism: cube layers (z) are split into contiguous chunks per thread; each chunk lists its triangles in scan
// order and the chunks are concatenated in order, so the triangle list is the same for any thread count. Vertices are
// numbered by first appearance in that list.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/mesh/mesh.hpp"

namespace ctspine {

struct surface_options {
    std::vector<std::int64_t> labels;  ///< labels to mesh; empty = every non-zero label present
    bool normals = true;               ///< compute per-vertex normals
    int threads = 0;                   ///< 0 = all hardware threads
    progress_fn progress;              ///< may be empty; return false to cancel (errc::cancelled)
};

namespace detail {

/// The marching-cubes table derived from the face rule above. Corner c of a cube is at offset (c&1, c>>1&1, c>>2&1);
/// edge e (0..11) runs along axis e/4 from its lower corner edge_lower[e].
struct mc_table {
    std::array<std::uint8_t, 12> edge_lower{};
    std::array<std::uint8_t, 12> edge_axis{};
    std::array<std::uint8_t, 256> ntri{};                   ///< triangles per case (≤ 5)
    std::array<std::array<std::uint8_t, 15>, 256> tri{};    ///< 3 edge indices per triangle
    bool consistent = true;                                 ///< every case's segments chain into closed loops
    bool fan_ok = true;                                     ///< every loop had an admissible fan apex

    static int edge_between(int a, int b) {
        const int x = a ^ b;
        const int axis = x == 1 ? 0 : x == 2 ? 1 : 2;
        const int lo = a & ~x;
        int r = 0, i = 0;
        for (int bit = 0; bit < 3; ++bit)
            if (bit != axis) r |= ((lo >> bit) & 1) << i++;
        return axis * 4 + r;
    }
    int face_mask(int e) const {
        int m = 0;
        for (int d = 0; d < 3; ++d)
            if (d != edge_axis[static_cast<std::size_t>(e)]) m |= 1 << (d * 2 + ((edge_lower[static_cast<std::size_t>(e)] >> d) & 1));
        return m;
    }

    /// Midpoint of edge e relative to the cube centre (cube [0, 1]³).
    std::array<double, 3> edge_mid(int e) const {
        std::array<double, 3> p;
        for (int d = 0; d < 3; ++d)
            p[static_cast<std::size_t>(d)] = (d == edge_axis[static_cast<std::size_t>(e)] ? 0.5 : ((edge_lower[static_cast<std::size_t>(e)] >> d) & 1)) - 0.5;
        return p;
    }

    mc_table() {
        for (int e = 0; e < 12; ++e) {
            const int axis = e / 4, r = e % 4;
            int lo = 0, i = 0;
            for (int bit = 0; bit < 3; ++bit)
                if (bit != axis) lo |= ((r >> i++) & 1) << bit;
            edge_lower[static_cast<std::size_t>(e)] = static_cast<std::uint8_t>(lo);
            edge_axis[static_cast<std::size_t>(e)] = static_cast<std::uint8_t>(axis);
        }
        for (int c = 0; c < 256; ++c) build_case(c);
    }

    void build_case(int c) {
        std::array<int, 12> next, prev;
        next.fill(-1);
        prev.fill(-1);
        for (int d = 0; d < 3; ++d)
            for (int s = 0; s < 2; ++s) {
                // Corners of face (d, s) in counter-clockwise order seen from outside the cube (right-handed about
                // the outward normal (2s−1)·e_d); axes u, v follow d cyclically so that e_u × e_v = e_d.
                const int u = (d + 1) % 3, v = (d + 2) % 3;
                static constexpr int ccw[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
                int cor[4];
                bool in[4];
                for (int p = 0; p < 4; ++p) {
                    const int q = s == 1 ? p : (4 - p) % 4;  // reversed cycle for the face whose normal is −e_d
                    cor[p] = (s << d) | (ccw[q][0] << u) | (ccw[q][1] << v);
                    in[p] = ((c >> cor[p]) & 1) != 0;
                }
                for (int p = 0; p < 4; ++p) {
                    if (!in[p] || in[(p + 3) % 4]) continue;  // p starts a run of inside corners
                    int q = p;
                    while (in[(q + 1) % 4] && (q + 1) % 4 != p) q = (q + 1) % 4;
                    const int from = edge_between(cor[(p + 3) % 4], cor[p]);
                    const int to = edge_between(cor[q], cor[(q + 1) % 4]);
                    if (next[static_cast<std::size_t>(from)] >= 0 || prev[static_cast<std::size_t>(to)] >= 0) consistent = false;
                    next[static_cast<std::size_t>(from)] = to;
                    prev[static_cast<std::size_t>(to)] = from;
                }
            }
        std::array<bool, 12> seen{};
        int nt = 0;
        for (int e0 = 0; e0 < 12; ++e0) {
            if (next[static_cast<std::size_t>(e0)] < 0 || seen[static_cast<std::size_t>(e0)]) continue;
            int loop[12], k = 0;
            for (int e = e0; !seen[static_cast<std::size_t>(e)];) {
                if (e < 0 || k == 12) { consistent = false; return; }
                seen[static_cast<std::size_t>(e)] = true;
                loop[k++] = e;
                e = next[static_cast<std::size_t>(e)];
                if (e < 0) { consistent = false; return; }
            }
            if (k < 3) { consistent = false; return; }
            // Fan apex: no diagonal (apex, loop[j]) may join two vertices lying on a common cube face. Among the
            // admissible apices, take the fan enclosing the most volume (the one bulging outward; loops with more
            // than three vertices are not planar), which counters marching cubes' shrinkage of convex features.
            // The choice is affine-invariant (an affine map scales every volume by the same |det|).
            int apex = -1;
            double best = -1e300;
            for (int a = 0; a < k; ++a) {
                bool ok = true;
                for (int j = 0; j < k && ok; ++j) {
                    if (j == a || j == (a + 1) % k || j == (a + k - 1) % k) continue;
                    if (face_mask(loop[a]) & face_mask(loop[j])) ok = false;
                }
                if (!ok) continue;
                // signed volume of the fan's cone from the cube centre: larger = more volume on the inside
                double vol = 0;
                for (int i = 1; i + 1 < k; ++i) {
                    const auto p0 = edge_mid(loop[a]), p1 = edge_mid(loop[(a + i) % k]), p2 = edge_mid(loop[(a + i + 1) % k]);
                    vol += p0[0] * (p1[1] * p2[2] - p1[2] * p2[1]) - p0[1] * (p1[0] * p2[2] - p1[2] * p2[0]) +
                           p0[2] * (p1[0] * p2[1] - p1[1] * p2[0]);
                }
                if (vol > best + 1e-12) {
                    best = vol;
                    apex = a;
                }
            }
            if (apex < 0) { fan_ok = false; apex = 0; }
            for (int i = 1; i + 1 < k; ++i) {
                if (nt == 5) { consistent = false; return; }
                auto& t = tri[static_cast<std::size_t>(c)];
                t[static_cast<std::size_t>(3 * nt + 0)] = static_cast<std::uint8_t>(loop[apex]);
                t[static_cast<std::size_t>(3 * nt + 1)] = static_cast<std::uint8_t>(loop[(apex + i) % k]);
                t[static_cast<std::size_t>(3 * nt + 2)] = static_cast<std::uint8_t>(loop[(apex + i + 1) % k]);
                ++nt;
            }
        }
        ntri[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(nt);
    }
};

/// Open-addressing map from 64-bit edge keys to vertex numbers (first-appearance order).
class edge_vertex_map {
public:
    explicit edge_vertex_map(std::size_t expected) {
        std::size_t cap = 16;
        while (cap < 2 * expected + 16) cap *= 2;
        keys_.assign(cap, empty_key);
        vals_.resize(cap);
        mask_ = cap - 1;
    }
    /// The number of `key`, inserting it as `fresh` when absent; `inserted` tells which happened.
    std::uint32_t find_or_insert(std::uint64_t key, std::uint32_t fresh, bool& inserted) {
        std::size_t h = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 17) & mask_;
        for (;;) {
            if (keys_[h] == key) { inserted = false; return vals_[h]; }
            if (keys_[h] == empty_key) {
                keys_[h] = key;
                vals_[h] = fresh;
                inserted = true;
                return fresh;
            }
            h = (h + 1) & mask_;
        }
    }

private:
    static constexpr std::uint64_t empty_key = ~std::uint64_t(0);
    std::vector<std::uint64_t> keys_;
    std::vector<std::uint32_t> vals_;
    std::size_t mask_ = 0;
};

/// Index of the first / last element of p[0, n) with a non-zero byte, or −1: eight bytes at a time (label maps are
/// mostly background, so this pass runs at memory speed).
template <class T>
index_t first_nonzero(const T* p, index_t n) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    const std::size_t nb = static_cast<std::size_t>(n) * sizeof(T);
    std::size_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, b + i, 8);
        if (w) break;
    }
    for (; i < nb; ++i)
        if (b[i]) return static_cast<index_t>(i / sizeof(T));
    return -1;
}
template <class T>
index_t last_nonzero(const T* p, index_t n) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    std::size_t i = static_cast<std::size_t>(n) * sizeof(T);
    for (; i >= 8; i -= 8) {
        std::uint64_t w;
        std::memcpy(&w, b + i - 8, 8);
        if (w) break;
    }
    for (; i > 0; --i)
        if (b[i - 1]) return static_cast<index_t>((i - 1) / sizeof(T));
    return -1;
}

template <class T>
std::int64_t label_as_int(T v) {
    if constexpr (std::is_same_v<T, bool>) return v ? 1 : 0;
    else return static_cast<std::int64_t>(v);
}

}  // namespace detail

/// One mesh per selected label present in `labels`, ordered by label value (labels absent from the volume are
/// skipped). See the file comment for the method and its guarantees. T must be an integral type.
template <class T>
std::vector<triangle_mesh> extract_surfaces(volume_view<const T> labels, const surface_options& opt = {}) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "extract_surfaces: label maps must have an integral type");
    const dims3 d = labels.dims();
    const index_t nx = d[0], ny = d[1], nz = d[2];
    std::vector<triangle_mesh> out;
    if (labels.empty()) return out;
    if (!labels.data()) throw error(errc::invalid_argument, "extract_surfaces: null label data");
    const Eigen::Matrix3d M = labels.ijk_to_ras().template topLeftCorner<3, 3>();
    const double det = M.determinant();
    if (!labels.ijk_to_ras().allFinite() || !(std::abs(det) > 0))
        throw error(errc::invalid_argument, "extract_surfaces: ijk_to_ras is singular or not finite");
    // edge keys: the edge's lower voxel on the zero-padded grid (x+1, y+1, z+1), 21 bits each, and its axis in 2 bits
    constexpr int kx = 2, ky = 23, kz = 44;
    if (nx + 2 >= (index_t(1) << 21) || ny + 2 >= (index_t(1) << 21) || nz + 2 >= (index_t(1) << 20))
        throw error(errc::size_limit, "extract_surfaces: volume extent too large for 21-bit edge keys");
    auto pack = [&](std::uint64_t px, std::uint64_t py, std::uint64_t pz) { return (pz << kz) | (py << ky) | (px << kx); };
    const int threads = resolve_threads(opt.threads);
    detail::report(opt.progress, 0.0, "mesh: scan");

    // Pass 1: labels present and the non-zero x-range of every row (y, z).
    const std::size_t nrows = static_cast<std::size_t>(ny * nz);
    std::vector<std::int32_t> row_lo(nrows, -1), row_hi(nrows, -2);
    std::vector<std::vector<std::int64_t>> found(static_cast<std::size_t>(threads));
    parallel_for(threads, ny * nz, [&](index_t b, index_t e, int w) {
        std::unordered_set<std::int64_t> set;
        for (index_t r = b; r < e; ++r) {
            const T* row = labels.data() + r * nx;
            T last = T(0);
            const index_t lo = detail::first_nonzero(row, nx), hi = lo < 0 ? -2 : detail::last_nonzero(row, nx);
            for (index_t x = lo < 0 ? 0 : lo; x <= hi; ++x) {
                const T v = row[x];
                if (v != last) {
                    last = v;
                    if (v != T(0)) set.insert(detail::label_as_int(v));
                }
            }
            row_lo[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(lo);
            row_hi[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(hi);
        }
        found[static_cast<std::size_t>(w)].assign(set.begin(), set.end());
    }, 16);
    std::vector<std::int64_t> present;
    for (const auto& f : found) present.insert(present.end(), f.begin(), f.end());
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    std::vector<std::int64_t> sel;
    if (opt.labels.empty()) sel = present;
    else
        for (std::int64_t l : opt.labels)
            if (l != 0 && std::binary_search(present.begin(), present.end(), l)) sel.push_back(l);
    std::sort(sel.begin(), sel.end());
    sel.erase(std::unique(sel.begin(), sel.end()), sel.end());
    const int nsel = static_cast<int>(sel.size());
    if (nsel == 0) return out;
    // label → slot: a table for ≤ 16-bit types, binary search otherwise
    constexpr bool small = sizeof(T) <= 2;
    std::vector<std::int32_t> lut;
    if constexpr (small) {
        lut.assign(std::size_t(1) << (8 * sizeof(T)), -1);
        for (int s = 0; s < nsel; ++s)
            lut[static_cast<std::size_t>(static_cast<std::make_unsigned_t<T>>(static_cast<T>(sel[static_cast<std::size_t>(s)])))] = s;
    }
    auto slot_of = [&](T v) -> int {
        if constexpr (small) {
            return lut[static_cast<std::size_t>(static_cast<std::make_unsigned_t<T>>(v))];
        } else {
            auto it = std::lower_bound(sel.begin(), sel.end(), detail::label_as_int(v));
            return it != sel.end() && *it == detail::label_as_int(v) ? static_cast<int>(it - sel.begin()) : -1;
        }
    };
    detail::report(opt.progress, 0.1, "mesh: extract");

    // Pass 2: cubes (cx, cy, cz) spanning voxels cx..cx+1 etc., cx from −1 to nx−1. Triangles are stored as edge keys.
    const detail::mc_table table;
    if (!table.consistent || !table.fan_ok) throw error(errc::internal, "extract_surfaces: inconsistent case table");
    std::array<std::uint64_t, 12> edge_off{};
    for (int e = 0; e < 12; ++e) {
        const int lo = table.edge_lower[static_cast<std::size_t>(e)];
        edge_off[static_cast<std::size_t>(e)] =
            pack(static_cast<std::uint64_t>(lo & 1), static_cast<std::uint64_t>((lo >> 1) & 1), static_cast<std::uint64_t>((lo >> 2) & 1)) +
            table.edge_axis[static_cast<std::size_t>(e)];
    }
    using key_lists = std::vector<std::vector<std::uint64_t>>;
    std::vector<key_lists> chunk_keys(static_cast<std::size_t>(threads), key_lists(static_cast<std::size_t>(nsel)));
    parallel_for(threads, nz + 1, [&](index_t b, index_t e, int w) {
        key_lists& keys = chunk_keys[static_cast<std::size_t>(w)];
        const T* rows[4];
        index_t lo4[4], hi4[4];
        for (index_t cz = b - 1; cz < e - 1; ++cz) {
            for (index_t cy = -1; cy < ny; ++cy) {
                index_t xlo = std::numeric_limits<index_t>::max(), xhi = -2;
                for (int r = 0; r < 4; ++r) {
                    const index_t y = cy + (r & 1), z = cz + (r >> 1);
                    rows[r] = nullptr;
                    lo4[r] = 0;
                    hi4[r] = -1;
                    if (y < 0 || y >= ny || z < 0 || z >= nz) continue;
                    const std::size_t ri = static_cast<std::size_t>(z * ny + y);
                    if (row_lo[ri] < 0) continue;
                    rows[r] = labels.data() + (z * ny + y) * nx;
                    lo4[r] = row_lo[ri];
                    hi4[r] = row_hi[ri];
                    xlo = std::min(xlo, lo4[r]);
                    xhi = std::max(xhi, hi4[r]);
                }
                if (xhi < 0) continue;
                auto at = [&](int r, index_t x) -> T {
                    return (rows[r] && x >= lo4[r] && x <= hi4[r]) ? rows[r][x] : T(0);
                };
                const std::uint64_t row_key = pack(0, static_cast<std::uint64_t>(cy + 1), static_cast<std::uint64_t>(cz + 1));
                T a[4], c[4];
                for (int r = 0; r < 4; ++r) a[r] = at(r, xlo - 1);
                for (index_t cx = xlo - 1; cx <= xhi; ++cx) {
                    for (int r = 0; r < 4; ++r) c[r] = at(r, cx + 1);
                    const T v0 = a[0];
                    const bool uniform = a[1] == v0 && a[2] == v0 && a[3] == v0 && c[0] == v0 && c[1] == v0 && c[2] == v0 && c[3] == v0;
                    if (!uniform) {
                        // corner i = (i&1, i>>1&1, i>>2&1): x from bit 0, row (y, z) from bits 1, 2
                        const T v[8] = {a[0], c[0], a[1], c[1], a[2], c[2], a[3], c[3]};
                        const std::uint64_t base = row_key + (static_cast<std::uint64_t>(cx + 1) << kx);
                        for (int k = 0; k < 8; ++k) {
                            const T L = v[k];
                            if (L == T(0)) continue;
                            bool dup = false;
                            for (int j = 0; j < k; ++j) dup = dup || v[j] == L;
                            if (dup) continue;
                            const int s = slot_of(L);
                            if (s < 0) continue;
                            int cs = 0;
                            for (int j = 0; j < 8; ++j) cs |= (v[j] == L ? 1 : 0) << j;
                            const int n = table.ntri[static_cast<std::size_t>(cs)];
                            auto& dst = keys[static_cast<std::size_t>(s)];
                            const auto& tt = table.tri[static_cast<std::size_t>(cs)];
                            for (int t = 0; t < 3 * n; ++t) dst.push_back(base + edge_off[tt[static_cast<std::size_t>(t)]]);
                        }
                    }
                    for (int r = 0; r < 4; ++r) a[r] = c[r];
                }
            }
        }
    });
    detail::report(opt.progress, 0.7, "mesh: merge");

    // Pass 3, per label: vertices numbered by first appearance, positions in world mm, winding fixed for det < 0.
    out.resize(static_cast<std::size_t>(nsel));
    const affine4 A = labels.ijk_to_ras();
    parallel_for(threads, nsel, [&](index_t b, index_t e, int) {
        for (index_t s = b; s < e; ++s) {
            triangle_mesh& m = out[static_cast<std::size_t>(s)];
            m.label = sel[static_cast<std::size_t>(s)];
            std::size_t nkeys = 0;
            for (const auto& ck : chunk_keys) nkeys += ck[static_cast<std::size_t>(s)].size();
            if (nkeys / 3 > std::numeric_limits<std::uint32_t>::max() / 2)
                throw error(errc::size_limit, "extract_surfaces: too many triangles for 32-bit indices");
            detail::edge_vertex_map map(nkeys / 4 + 16);
            m.triangles.resize(nkeys / 3);
            m.vertices.reserve(nkeys / 6 + 16);  // a closed surface has about half as many vertices as triangles
            std::size_t t = 0;
            for (const auto& ck : chunk_keys) {
                const auto& keys = ck[static_cast<std::size_t>(s)];
                for (std::size_t i = 0; i < keys.size(); i += 3, ++t) {
                    for (std::size_t j = 0; j < 3; ++j) {
                        bool inserted = false;
                        const std::uint64_t key = keys[i + j];
                        const std::uint32_t id = map.find_or_insert(key, static_cast<std::uint32_t>(m.vertices.size()), inserted);
                        if (inserted) {
                            const std::uint64_t axis = key & 3, mask21 = (std::uint64_t(1) << 21) - 1;
                            double ijk[3] = {static_cast<double>((key >> kx) & mask21) - 1.0, static_cast<double>((key >> ky) & mask21) - 1.0,
                                             static_cast<double>(key >> kz) - 1.0};
                            ijk[axis] += 0.5;
                            std::array<double, 3> w;
                            for (int r = 0; r < 3; ++r)
                                w[static_cast<std::size_t>(r)] = A(r, 0) * ijk[0] + A(r, 1) * ijk[1] + A(r, 2) * ijk[2] + A(r, 3);
                            m.vertices.push_back(w);
                        }
                        m.triangles[t][det < 0 ? 2 - j : j] = id;
                    }
                }
            }
            if (opt.normals) compute_vertex_normals(m);
        }
    });
    detail::report(opt.progress, 1.0, "mesh: done");
    return out;
}

/// Convenience overload for an owning volume.
template <class T>
std::vector<triangle_mesh> extract_surfaces(const volume<T>& labels, const surface_options& opt = {}) {
    return extract_surfaces<T>(volume_view<const T>(labels.data(), labels.geometry()), opt);
}

}  // namespace ctspine
