// Resampling against skimage.transform.resize / scipy.ndimage (fixtures: tests/reference/make_imgproc_fixtures.py),
// SIMD kernels against their scalar twins, geometry and label invariants.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <ctspine/imgproc/nnunet_resample.hpp>
#include <ctspine/imgproc/resample.hpp>
#include <ctspine/io/gzip.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/kernels/reference/resample_linear_reference.hpp>

#include "test_support.hpp"

using namespace ctspine;

using ctspine_test::read_f32;

TEST_CASE("matches skimage resize and nnU-Net's resample_data_or_seg_to_shape") {
    std::ifstream f(ctspine_test::repo_data("imgproc/cases.txt"));
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string name, kind;
        nnunet::shape3 s, t;
        is >> name >> s[0] >> s[1] >> s[2] >> t[0] >> t[1] >> t[2] >> kind;
        INFO(line);
        auto in = read_f32(ctspine_test::repo_data("imgproc/" + name + ".in").string(), size_t(s[0] * s[1] * s[2]));
        auto expect = read_f32(ctspine_test::repo_data("imgproc/" + name + ".out").string(), size_t(t[0] * t[1] * t[2]));
        const float range = *std::max_element(in.begin(), in.end()) - *std::min_element(in.begin(), in.end());
        std::vector<float> out(expect.size());
        for (int threads : {1, 2, 3}) {
            if (kind == "resize") {
                std::istringstream p(line);
                std::string skip;
                for (int w = 0; w < 8; ++w) p >> skip;  // name, 6 extents, kind
                int order;
                p >> order;
                geometry g;
                g.dims = {s[2], s[1], s[0]};
                volume_view<const float> v(in.data(), g);
                geometry go;
                go.dims = {t[2], t[1], t[0]};
                volume_view<float> o(out.data(), go);
                resample_options opt;
                opt.interp = static_cast<interpolation>(order);
                opt.threads = threads;
                resample_to_shape_into<float, float>(v, o, opt);
            } else if (kind == "nnunet") {
                std::istringstream p(line);
                std::string skip;
                for (int w = 0; w < 8; ++w) p >> skip;
                int order, order_z;
                nnunet::spacing3 sp, nsp;
                p >> order >> order_z >> sp[0] >> sp[1] >> sp[2] >> nsp[0] >> nsp[1] >> nsp[2];
                CHECK(nnunet::compute_new_shape(s, sp, nsp) == t);
                nnunet::resample_data_or_seg_to_shape<float, float>(in.data(), s, out.data(), t, sp, nsp, order, order_z, std::nullopt, threads);
            } else if (kind == "world") {  // scipy map_coordinates (order 1 or 3, mode nearest) / floor(c+0.5), fill -1
                std::istringstream p(line);
                std::string skip, interp;
                for (int w = 0; w < 8; ++w) p >> skip;
                p >> interp;
                geometry g, go;
                g.dims = {s[2], s[1], s[0]};
                go.dims = {t[2], t[1], t[0]};
                for (geometry* q : {&g, &go}) {
                    q->ijk_to_ras = affine4::Identity();
                    for (int r = 0; r < 3; ++r)
                        for (int c = 0; c < 4; ++c) p >> q->ijk_to_ras(r, c);
                }
                volume_view<const float> v(in.data(), g);
                volume_view<float> o(out.data(), go);
                resample_like_into<float, float>(v, o,
                                                 interp == "linear"  ? interpolation::linear
                                                 : interp == "cubic" ? interpolation::cubic
                                                                     : interpolation::nearest,
                                                 -1.f, threads);
                index_t filled = 0;
                for (float e : expect) filled += e == -1.f;
                CHECK(filled > 0);                       // the case covers both inside and outside points
                CHECK(filled < index_t(expect.size()));
            } else {  // nearest labels
                geometry g;
                g.dims = {s[2], s[1], s[0]};
                volume_view<const float> v(in.data(), g);
                auto r = resample_labels_to_shape<float>(v, {t[2], t[1], t[0]}, threads);
                out.assign(r.begin(), r.end());
            }
            float worst = 0;
            for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - expect[i]));
            CHECK(worst <= 1e-5f * range);  // float32 output of a float64 computation: ~1e-7 relative expected
        }
        ++n;
    }
    CHECK(n >= 31);
}

TEST_CASE("SIMD row kernels agree with their scalar twins") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> u(-1000, 1000);
    for (index_t w : {1, 3, 8, 13, 40}) {
        for (index_t n : {2, 5, 31}) {
            std::vector<double> a(static_cast<size_t>(n * w));
            for (auto& x : a) x = u(rng);
            auto b = a;
            std::vector<double> sum;
            detail::spline_filter_rows(a.data(), n, w, w, sum);
            detail::spline_filter_rows_scalar(b.data(), n, w, w);
            for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
            // rows filter = line filter on each column
            for (index_t x = 0; x < w; ++x) {
                std::vector<double> line(static_cast<size_t>(n));
                // reconstruct original column from b's inverse is not possible; re-filter fresh data instead
                (void)line;
            }
            for (int order : {0, 1, 3}) {
                auto plan = detail::make_axis_plan(n, n * 2 + 1, order);
                std::vector<double> src(static_cast<size_t>(plan.n_src * w));
                for (auto& x : src) x = u(rng);
                std::vector<double> o1(static_cast<size_t>(plan.n_out * w)), o2(o1.size());
                detail::interpolate_rows(plan, src.data(), w, o1.data(), w, w);
                detail::interpolate_rows_scalar(plan, src.data(), w, o2.data(), w, w);
                for (size_t i = 0; i < o1.size(); ++i) CHECK(o1[i] == doctest::Approx(o2[i]).epsilon(1e-12));
            }
        }
    }
    // the row filter equals the line filter applied column by column
    std::vector<double> rows(7 * 3), cols(7 * 3);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = double((i * 37) % 11) - 5;
    for (index_t x = 0; x < 3; ++x)
        for (index_t i = 0; i < 7; ++i) cols[size_t(x * 7 + i)] = rows[size_t(i * 3 + x)];
    detail::spline_filter_rows_scalar(rows.data(), 7, 3, 3);
    for (index_t x = 0; x < 3; ++x) detail::spline_filter_line_scalar(cols.data() + x * 7, 7);
    for (index_t x = 0; x < 3; ++x)
        for (index_t i = 0; i < 7; ++i) CHECK(rows[size_t(i * 3 + x)] == doctest::Approx(cols[size_t(x * 7 + i)]).epsilon(1e-14));
}

TEST_CASE("float32 linear zoom: SIMD kernels agree with the scalar twin on odd sizes, any thread count") {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> u(-1024, 3071);
    const std::vector<std::pair<dims3, dims3>> cases = {{{13, 11, 7}, {5, 17, 9}},  {{13, 11, 7}, {13, 11, 7}}, {{37, 5, 3}, {26, 3, 1}},
                                                        {{1, 9, 4}, {3, 9, 8}},    {{50, 1, 1}, {17, 2, 3}},   {{33, 19, 21}, {41, 15, 16}}};
    for (const auto& c : cases) {  // no structured binding: INFO captures it, which clang < 16 rejects
        const dims3& di = c.first;
        const dims3& dout = c.second;
        INFO(di[0] << "x" << di[1] << "x" << di[2] << " -> " << dout[0] << "x" << dout[1] << "x" << dout[2]);
        std::vector<std::int16_t> in(size_t(voxel_count(di)));
        for (auto& v : in) v = std::int16_t(u(rng));
        std::vector<float> inf(in.begin(), in.end());
        const size_t m = size_t(voxel_count(dout));
        std::vector<float> ref(m), ref_f(m);
        detail::zoom3d_linear_f32_scalar<std::int16_t, float>(in.data(), di, ref.data(), dout);
        detail::zoom3d_linear_f32_scalar<float, float>(inf.data(), di, ref_f.data(), dout);
        CHECK(ref == ref_f);  // int16 widened exactly
        for (int th : {1, 2, 3}) {
            std::vector<float> fast(m);
            detail::zoom3d_linear_f32<std::int16_t, float>(in.data(), di, fast.data(), dout, th);
            float worst = 0;
            for (size_t i = 0; i < m; ++i) worst = std::max(worst, std::abs(fast[i] - ref[i]));
#if defined(__FMA__) || defined(__AVX512F__)
            CHECK(worst == 0);  // same operations in the same order, fused multiply-adds on both sides
#else
            CHECK(worst <= 1e-6f * 4096);
#endif
            std::vector<std::int16_t> fast16(m), ref16(m);
            detail::zoom3d_linear_f32<std::int16_t, std::int16_t>(in.data(), di, fast16.data(), dout, th);
            detail::zoom3d_linear_f32_scalar<std::int16_t, std::int16_t>(in.data(), di, ref16.data(), dout);
            for (size_t i = 0; i < m; ++i) CHECK(std::abs(int(fast16[i]) - int(ref16[i])) <= 1);
        }
        // against the float64 separable path (the scipy-checked one): float32 rounding only
        std::vector<float> f64(m);
        geometry gi, go;
        gi.dims = di;
        go.dims = dout;
        resample_options o;
        o.interp = interpolation::linear;
        std::vector<double> outd(m);
        resample_to_shape_into<std::int16_t, double>(volume_view<const std::int16_t>(in.data(), gi), volume_view<double>(outd.data(), go), o);
        double worst = 0;
        for (size_t i = 0; i < m; ++i) worst = std::max(worst, std::abs(double(ref[i]) - outd[i]));
        CHECK(worst <= 1e-6 * 4096);
    }
}

TEST_CASE("float32 linear zoom: also correct when instantiated for narrower archs (AVX2+FMA, SSE4.2)") {
    const dims3 di{37, 13, 9}, dout{29, 21, 5};
    std::vector<std::uint8_t> in(size_t(voxel_count(di)));
    for (size_t i = 0; i < in.size(); ++i) in[i] = std::uint8_t((i * 7919) % 251);
    std::vector<float> ref(size_t(voxel_count(dout)));
    detail::zoom3d_linear_f32_scalar<std::uint8_t, float>(in.data(), di, ref.data(), dout);
    auto run = [&](auto arch) {
        using A = decltype(arch);
        INFO(A::name());
        std::vector<float> out(ref.size());
        detail::zoom3d_linear_f32<std::uint8_t, float, A>(in.data(), di, out.data(), dout, 2);
        for (size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == doctest::Approx(ref[i]).epsilon(1e-6).scale(255));
    };
#if XSIMD_WITH_AVX2 && XSIMD_WITH_FMA3_AVX2
    run(xsimd::fma3<xsimd::avx2>{});
#endif
#if XSIMD_WITH_SSE4_2
    run(xsimd::sse4_2{});
#endif
    run(simd::default_arch{});
}

TEST_CASE("compute_new_shape rounds half to even; separate-z rule") {
    // 0.5 * 3 = 1.5 -> 2, 2.5 -> 2 (Python round)
    CHECK(nnunet::compute_new_shape({3, 5, 7}, {1, 1, 1}, {2, 2, 2}) == nnunet::shape3{2, 2, 4});
    CHECK(nnunet::determine_separate_z({3.5, 0.9, 0.9}, {1, 1, 1}).separate);
    CHECK(nnunet::determine_separate_z({3.5, 0.9, 0.9}, {1, 1, 1}).axis == 0);
    CHECK(!nnunet::determine_separate_z({1, 1, 1}, {1, 1, 1}).separate);
    CHECK(!nnunet::determine_separate_z({0.24, 1.25, 1.25}, {1, 1, 1}).separate);  // two tied low-res axes
    CHECK(nnunet::determine_separate_z({1, 1, 1}, {0.5, 0.5, 2}).axis == 2);
}

TEST_CASE("geometry: the resampled image stays where it was in world space") {
    geometry g;
    g.dims = {20, 16, 12};
    g.spacing_mm = {0.8, 0.8, 2.5};
    g.ijk_to_ras << -0.8, 0, 0, 100, 0, -0.8, 0, 50, 0, 0, 2.5, -30, 0, 0, 0, 1;
    volume<std::uint8_t> lab(g, 0);
    for (index_t k = 3; k < 9; ++k)
        for (index_t j = 4; j < 10; ++j)
            for (index_t i = 5; i < 15; ++i) lab(i, j, k) = 7;
    auto centroid = [](const auto& v) {
        vec3 s(0, 0, 0);
        double n = 0;
        for (index_t k = 0; k < v.dims()[2]; ++k)
            for (index_t j = 0; j < v.dims()[1]; ++j)
                for (index_t i = 0; i < v.dims()[0]; ++i)
                    if (v(i, j, k)) {
                        s += v.geometry().index_to_world(vec3(double(i), double(j), double(k)));
                        n += 1;
                    }
        return vec3(s / n);
    };
    const vec3 c0 = centroid(lab);
    auto up = resample_labels_to_shape<std::uint8_t>(lab.view(), {40, 32, 24});  // integer factors: exact centroid
    CHECK((centroid(up) - c0).norm() < 0.05);
    std::set<int> values(up.begin(), up.end());
    CHECK(values == std::set<int>{0, 7});  // no invented labels
    CHECK(up.spacing_mm()[2] == doctest::Approx(1.25));
    // linear resampling of the mask keeps the intensity-weighted centroid
    auto lin = resample_to_spacing<std::uint8_t>(lab.view(), {1.0, 1.0, 1.0});
    vec3 s(0, 0, 0);
    double w = 0;
    for (index_t k = 0; k < lin.dims()[2]; ++k)
        for (index_t j = 0; j < lin.dims()[1]; ++j)
            for (index_t i = 0; i < lin.dims()[0]; ++i) {
                s += lin.geometry().index_to_world(vec3(double(i), double(j), double(k))) * double(lin(i, j, k));
                w += lin(i, j, k);
            }
    CHECK((s / w - c0).norm() < 0.3);
    // world-space resampling onto the up-sampled grid reproduces the zoom for nearest
    auto like = resample_like<std::uint8_t, std::uint8_t>(lab.view(), up.geometry(), interpolation::nearest);
    index_t differ = 0;
    for (index_t n = 0; n < like.size(); ++n) differ += like[n] != up[n];
    CHECK(double(differ) < 0.01 * double(like.size()));
    CHECK((centroid(like) - c0).norm() < 0.05);
}

TEST_CASE("world-space linear resampling matches scipy map_coordinates semantics on interior points") {
    // f(i,j,k) = 2i + 3j - k + 1 is reproduced exactly by trilinear interpolation
    geometry g;
    g.dims = {9, 8, 7};
    g.ijk_to_ras = affine4::Identity();
    volume<float> v(g);
    for (index_t k = 0; k < 7; ++k)
        for (index_t j = 0; j < 8; ++j)
            for (index_t i = 0; i < 9; ++i) v(i, j, k) = float(2 * i + 3 * j - k + 1);
    geometry r;
    r.dims = {5, 5, 5};
    double c = std::cos(0.3), s = std::sin(0.3);
    r.ijk_to_ras << 0.7 * c, -0.7 * s, 0, 3.1, 0.7 * s, 0.7 * c, 0, 2.2, 0, 0, 0.9, 1.4, 0, 0, 0, 1;
    auto o = resample_like<float, float>(v.view(), r, interpolation::linear, -1.f);
    for (index_t k = 0; k < 5; ++k)
        for (index_t j = 0; j < 5; ++j)
            for (index_t i = 0; i < 5; ++i) {
                vec3 p = r.index_to_world(vec3(double(i), double(j), double(k)));
                CHECK(o(i, j, k) == doctest::Approx(2 * p.x() + 3 * p.y() - p.z() + 1).epsilon(1e-5));
            }
    // cubic B-spline interpolation passes through the samples: onto the input's own grid it returns the input
    geometry same = g;
    same.ijk_to_ras(0, 3) = 0.0;
    for (int th : {1, 2}) {
        auto oc = resample_like<float, float>(v.view(), same, interpolation::cubic, -1.f, th);
        for (index_t n = 0; n < oc.size(); ++n) CHECK(oc[n] == doctest::Approx(v[n]).epsilon(1e-9).scale(30));
    }
}

TEST_CASE("real CT: nnU-Net-mode resampling is deterministic across threads and within the input range") {
    auto p = ctspine_test::shared_data("spine/sub-ct_label-22_ct.nii.gz");
    if (p.empty()) {
        MESSAGE("skipped: ../shared/data not present");
        return;
    }
    auto ct = read_nifti<float>(p.string());
    nnunet::shape3 s{ct.dims()[2], ct.dims()[1], ct.dims()[0]};
    nnunet::spacing3 sp{ct.spacing_mm()[2], ct.spacing_mm()[1], ct.spacing_mm()[0]}, nsp{1.0, 1.0, 1.0};
    auto t = nnunet::compute_new_shape(s, sp, nsp);
    std::vector<float> a(size_t(t[0] * t[1] * t[2])), b(a.size());
    nnunet::resample_data_or_seg_to_shape<float, float>(ct.data(), s, a.data(), t, sp, nsp, 3, 0, std::nullopt, 1);
    nnunet::resample_data_or_seg_to_shape<float, float>(ct.data(), s, b.data(), t, sp, nsp, 3, 0, std::nullopt, 2);
    CHECK(a == b);
    auto [mn, mx] = std::minmax_element(ct.begin(), ct.end());
    CHECK(*std::min_element(a.begin(), a.end()) >= *mn);
    CHECK(*std::max_element(a.begin(), a.end()) <= *mx);
}

TEST_CASE("real CT and labels: nnU-Net-mode resampling and label zoom against scipy/skimage checks") {
    CTSPINE_REQUIRE_SHARED(ct_path, "spine/example_ct_sm.nii.gz");
    const auto seg_path = ctspine_test::shared_data("spine/example_seg.nii.gz");
    std::ifstream f(ctspine_test::repo_data("imgproc/realct.txt"));
    REQUIRE(f.good());
    auto ct = read_nifti<float>(ct_path.string());
    auto seg = read_nifti<std::int16_t>(seg_path.string());
    const auto [mn, mx] = std::minmax_element(ct.begin(), ct.end());
    const double range = double(*mx) - double(*mn);
    nnunet::shape3 s{ct.dims()[2], ct.dims()[1], ct.dims()[0]};
    std::string head, samples;
    int n = 0;
    while (std::getline(f, head) && std::getline(f, samples)) {
        INFO(head);
        std::istringstream is(head);
        std::string kind;
        is >> kind;
        std::vector<float> out;
        nnunet::shape3 t;
        if (kind == "nnunet") {
            int order, order_z;
            nnunet::spacing3 sp, nsp;
            is >> order >> order_z >> sp[0] >> sp[1] >> sp[2] >> nsp[0] >> nsp[1] >> nsp[2] >> t[0] >> t[1] >> t[2];
            CHECK(nnunet::compute_new_shape(s, sp, nsp) == t);
            out.resize(size_t(t[0] * t[1] * t[2]));
            nnunet::resample_data_or_seg_to_shape<float, float>(ct.data(), s, out.data(), t, sp, nsp, order, order_z, std::nullopt, 2);
        } else {
            int factor;
            is >> factor >> t[0] >> t[1] >> t[2];
            auto r = resample_labels_to_shape<std::int16_t>(seg.view(), {seg.dims()[0] * factor, seg.dims()[1] * factor, seg.dims()[2] * factor}, 2);
            CHECK(r.dims() == dims3{t[2], t[1], t[0]});
            std::set<int> a(seg.begin(), seg.end()), b(r.begin(), r.end());
            CHECK(a == b);  // no invented labels (and none lost at this factor)
            out.assign(r.begin(), r.end());
        }
        double sum_ref, sq_ref, sum = 0, sq = 0;
        is >> sum_ref >> sq_ref;
        for (float v : out) {
            sum += v;
            sq += double(v) * v;
        }
        const double nvox = double(out.size());
        CHECK(std::abs(sum - sum_ref) <= 1e-5 * range * nvox);
        CHECK(std::abs(sq - sq_ref) <= 1e-5 * std::abs(sq_ref));
        std::istringstream ss(samples);
        index_t a, b, c;
        double v;
        double worst = 0;
        int cnt = 0;
        while (ss >> a >> b >> c >> v) {
            worst = std::max(worst, std::abs(double(out[size_t((a * t[1] + b) * t[2] + c)]) - v));
            ++cnt;
        }
        CHECK(cnt == 400);
        CHECK(worst <= (kind == "labels" ? 0.0 : 1e-5 * range));
        ++n;
    }
    CHECK(n == 4);
}

TEST_CASE("resample_to_spacing: exactly the spacing asked for, covering the field of view, centred") {
    // an oblique grid: rotation of 30 degrees about z, then the axes scaled by the spacing (columns of ijk_to_ras)
    geometry g;
    g.dims = {20, 16, 12};
    g.spacing_mm = {0.8, 0.8, 2.5};
    const double pi = std::acos(-1.0), c = std::cos(pi / 6), s = std::sin(pi / 6);
    Eigen::Matrix3d R;
    R << c, -s, 0, s, c, 0, 0, 0, 1;
    g.ijk_to_ras.setIdentity();
    for (int a = 0; a < 3; ++a) g.ijk_to_ras.block<3, 1>(0, a) = R.col(a) * g.spacing_mm[static_cast<size_t>(a)];
    g.ijk_to_ras.block<3, 1>(0, 3) = vec3(12.5, -40.0, 7.0);
    const std::array<double, 3> t{1.0, 1.3, 1.1};
    const geometry o = grid_for_spacing(g, t);
    // hand-derived: ceil(20·0.8/1) = 16, ceil(16·0.8/1.3) = ceil(9.846) = 10, ceil(12·2.5/1.1) = ceil(27.27) = 28
    CHECK(o.dims == dims3{16, 10, 28});
    for (int a = 0; a < 3; ++a) {
        const size_t ua = static_cast<size_t>(a);
        CHECK(o.spacing_mm[ua] == t[ua]);
        const vec3 col = o.ijk_to_ras.block<3, 1>(0, a);
        CHECK(col.norm() == doctest::Approx(t[ua]).epsilon(1e-12));                       // voxels of exactly that size
        CHECK((col.normalized() - vec3(R.col(a))).norm() < 1e-12);                        // along the input's axes
        const double fov = double(g.dims[ua]) * g.spacing_mm[ua], cover = double(o.dims[ua]) * t[ua];
        CHECK(cover >= fov - 1e-9);                                                        // covers the field of view
        CHECK(cover < fov + t[ua]);                                                        // with the fewest voxels
    }
    // centred: the centre of the output grid is the centre of the input's field of view (world, mm)
    auto centre = [](const geometry& q) {
        return vec3(q.ijk_to_ras.topLeftCorner<3, 3>() * vec3(0.5 * double(q.dims[0] - 1), 0.5 * double(q.dims[1] - 1), 0.5 * double(q.dims[2] - 1)) +
                    q.ijk_to_ras.topRightCorner<3, 1>());
    };
    CHECK((centre(o) - centre(g)).norm() < 1e-9);

    // values: trilinear interpolation reproduces a function affine in world position exactly, so wherever the sample
    // needs no border clamping the output equals the ramp at the output voxel's own world position
    const vec3 slope(0.7, -1.3, 2.1);
    volume<float> ramp(g);
    for (index_t k = 0; k < g.dims[2]; ++k)
        for (index_t j = 0; j < g.dims[1]; ++j)
            for (index_t i = 0; i < g.dims[0]; ++i) ramp(i, j, k) = float(slope.dot(g.index_to_world(vec3(double(i), double(j), double(k)))) + 5.0);
    for (int threads : {1, 3}) {
        resample_options opt;
        opt.interp = interpolation::linear;
        opt.threads = threads;
        const volume<float> out = resample_to_spacing<float>(ramp.view(), t, opt);
        CHECK(out.dims() == o.dims);
        CHECK((out.ijk_to_ras() - o.ijk_to_ras).norm() < 1e-12);
        index_t checked = 0, bad = 0;
        for (index_t k = 0; k < out.dims()[2]; ++k)
            for (index_t j = 0; j < out.dims()[1]; ++j)
                for (index_t i = 0; i < out.dims()[0]; ++i) {
                    const vec3 w = out.geometry().index_to_world(vec3(double(i), double(j), double(k)));
                    const vec3 in_idx = g.world_to_index(w);
                    bool inside = true;
                    for (int a = 0; a < 3; ++a) inside = inside && in_idx[a] >= 0 && in_idx[a] <= double(g.dims[static_cast<size_t>(a)] - 1);
                    if (!inside) continue;
                    ++checked;
                    bad += std::abs(double(out(i, j, k)) - (slope.dot(w) + 5.0)) > 1e-4;
                }
        CHECK(checked > out.size() / 2);
        CHECK(bad == 0);
    }
}

TEST_CASE("resample_labels_to_spacing and zoom_to_spacing") {
    geometry g;
    g.dims = {10, 8, 6};
    g.spacing_mm = {3, 3, 3};
    g.ijk_to_ras = affine_from_spacing(g.spacing_mm);
    volume<std::uint8_t> lab(g, 0);
    for (index_t k = 2; k < 4; ++k)
        for (index_t j = 2; j < 6; ++j)
            for (index_t i = 3; i < 7; ++i) lab(i, j, k) = 9;
    // 3 mm -> 2 mm: ceil(15) = 15, ceil(12) = 12, ceil(9) = 9; every input voxel keeps at least one sample
    auto up = resample_labels_to_spacing<std::uint8_t>(lab.view(), {2, 2, 2});
    CHECK(up.dims() == dims3{15, 12, 9});
    CHECK(up.spacing_mm() == std::array<double, 3>{2, 2, 2});
    CHECK(std::set<int>(up.begin(), up.end()) == std::set<int>{0, 9});
    // the label box spans world [7.5, 19.5) x [4.5, 16.5) x [4.5, 10.5) mm (voxel edges); output voxel centres at
    // -0.5 + 2k mm (x: 15·2 = 30 = 10·3, voxel 0 centred at input index (9 − 14·2/3)/2 = −1/6 → −0.5 mm)
    CHECK(up.ijk_to_ras()(0, 3) == doctest::Approx(-0.5));
    index_t inside = 0;
    for (index_t k = 0; k < 9; ++k)
        for (index_t j = 0; j < 12; ++j)
            for (index_t i = 0; i < 15; ++i) {
                const double x = -0.5 + 2.0 * double(i), y = -0.5 + 2.0 * double(j), z = -0.5 + 2.0 * double(k);
                const bool want = x >= 7.5 && x < 19.5 && y >= 4.5 && y < 16.5 && z >= 4.5 && z < 10.5;
                inside += want;
                CHECK((up(i, j, k) == 9) == want);
            }
    CHECK(inside > 0);
    // nnU-Net's zoom keeps the field of view: round(3/2.5 · 10) = 12, round(9.6) = 10, round(7.2) = 7 voxels of n·3/m mm
    auto z = zoom_to_spacing<std::uint8_t>(lab.view(), {2.5, 2.5, 2.5});
    CHECK(z.dims() == dims3{12, 10, 7});
    CHECK(z.spacing_mm()[0] == doctest::Approx(2.5));
    CHECK(z.spacing_mm()[1] == doctest::Approx(2.4));
    CHECK(z.spacing_mm()[2] == doctest::Approx(18.0 / 7.0));
}
