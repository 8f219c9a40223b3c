// Segmentation evaluation: overlap (nnU-Net v1 rules), medpy-semantics surface distances, DeepMind-semantics surface
// Dice, VerSe identification. Oracles: tests/reference/make_evaluate_fixtures.py (numpy/scipy/skimage re-statement of
// each definition; checked beside medpy 0.5.2 and DeepMind surface-distance during development) and hand-derived cases.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include <ctspine/evaluate/distance_transform.hpp>
#include <ctspine/evaluate/evaluate.hpp>
#include <ctspine/evaluate/summary.hpp>
#include <ctspine/io/nifti.hpp>

#include "test_support.hpp"

using namespace ctspine;

namespace {

const double nan_v = std::numeric_limits<double>::quiet_NaN();

bool same_or_both_nan(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void check_close(double got, double want, double tol, const std::string& what) {
    INFO(what << ": got " << got << " want " << want);
    if (std::isnan(want)) {
        CHECK(std::isnan(got));
        return;
    }
    CHECK(std::abs(got - want) <= tol);
}

volume<std::uint8_t> make_volume(const dims3& d, const std::array<double, 3>& sp, const std::array<double, 3>& origin = {0, 0, 0}) {
    geometry g;
    g.dims = d;
    g.spacing_mm = sp;
    g.ijk_to_ras = affine_from_spacing(sp);
    for (int a = 0; a < 3; ++a) g.ijk_to_ras(a, 3) = origin[static_cast<size_t>(a)];
    return volume<std::uint8_t>(g, 0);
}

using row = std::map<std::string, std::string>;

std::map<std::pair<std::string, std::int64_t>, row> read_expected(const std::string& path) {
    std::ifstream f(path);
    REQUIRE(f.good());
    std::map<std::pair<std::string, std::int64_t>, row> out;
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string name, kv;
        std::int64_t label;
        if (!(is >> name >> label)) continue;
        row r;
        while (is >> kv) {
            const auto eq = kv.find('=');
            r[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        out[{name, label}] = r;
    }
    return out;
}

double num(const row& r, const std::string& k) {
    auto it = r.find(k);
    REQUIRE_MESSAGE(it != r.end(), "missing key " << k);
    return std::strtod(it->second.c_str(), nullptr);
}

/// Compare one label's evaluation with an oracle row: overlap bit-exact, distances within 1e-9 mm, NSD within 1e-12.
void compare_row(const label_evaluation& e, const row& r, const std::vector<double>& taus) {
    CHECK(label_status_name(e.status) == r.at("status"));
    CHECK(e.counts.tp == std::int64_t(num(r, "tp")));
    CHECK(e.counts.fp == std::int64_t(num(r, "fp")));
    CHECK(e.counts.fn == std::int64_t(num(r, "fn")));
    CHECK(e.counts.tn == std::int64_t(num(r, "tn")));
    CHECK(same_or_both_nan(e.dice, num(r, "dice")));
    CHECK(same_or_both_nan(e.iou, num(r, "iou")));
    CHECK(same_or_both_nan(e.precision, num(r, "precision")));
    CHECK(same_or_both_nan(e.recall, num(r, "recall")));
    CHECK(same_or_both_nan(e.rvd, num(r, "rvd")));
    check_close(e.distance.hd, num(r, "hd"), 1e-9, "hd");
    check_close(e.distance.hd95, num(r, "hd95"), 1e-9, "hd95");
    check_close(e.distance.hd95_dirmax, num(r, "hd95_dirmax"), 1e-9, "hd95_dirmax");
    check_close(e.distance.asd_pred_ref, num(r, "asd_pred_ref"), 1e-9, "asd_pred_ref");
    check_close(e.distance.asd_ref_pred, num(r, "asd_ref_pred"), 1e-9, "asd_ref_pred");
    check_close(e.distance.assd, num(r, "assd"), 1e-9, "assd");
    check_close(e.distance.masd, num(r, "masd"), 1e-9, "masd");
    for (size_t t = 0; t < taus.size(); ++t) {
        std::ostringstream k;
        k << taus[t];
        check_close(e.nsd[t], num(r, "nsd@" + k.str()), 1e-12, "nsd@" + k.str());
        check_close(e.nsd_voxel[t], num(r, "nsdvox@" + k.str()), 1e-12, "nsdvox@" + k.str());
    }
    CHECK(same_or_both_nan(e.identified, num(r, "identified")));
    check_close(e.centroid_dist_mm, num(r, "centroid_dist_mm"), 1e-9, "centroid_dist_mm");
}

bool same_evaluation(const case_evaluation& a, const case_evaluation& b) {
    if (a.labels.size() != b.labels.size()) return false;
    for (size_t i = 0; i < a.labels.size(); ++i) {
        const auto &x = a.labels[i], &y = b.labels[i];
        const double xs[] = {x.dice, x.distance.hd, x.distance.hd95, x.distance.hd95_dirmax, x.distance.assd, x.distance.masd,
                             x.distance.asd_pred_ref, x.distance.asd_ref_pred, x.identified, x.centroid_dist_mm};
        const double ys[] = {y.dice, y.distance.hd, y.distance.hd95, y.distance.hd95_dirmax, y.distance.assd, y.distance.masd,
                             y.distance.asd_pred_ref, y.distance.asd_ref_pred, y.identified, y.centroid_dist_mm};
        for (size_t k = 0; k < sizeof(xs) / sizeof(xs[0]); ++k)
            if (!same_or_both_nan(xs[k], ys[k])) return false;
        for (size_t t = 0; t < x.nsd.size(); ++t)
            if (!same_or_both_nan(x.nsd[t], y.nsd[t]) || !same_or_both_nan(x.nsd_voxel[t], y.nsd_voxel[t])) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("exact EDT: brute force on random anisotropic grids, any thread count") {
    std::mt19937 rng(7);
    const dims3 shapes[] = {{9, 7, 5}, {1, 13, 6}, {17, 1, 1}, {6, 6, 11}};
    const std::array<double, 3> sps[] = {{0.7, 0.7, 3.0}, {1, 1, 1}, {0.9, 2.5, 0.7}};
    for (const auto& d : shapes)
        for (const auto& sp : sps)
            for (double dens : {0.02, 0.2}) {
                auto m = make_volume(d, sp);
                std::uniform_real_distribution<double> u(0, 1);
                for (auto& x : m) x = u(rng) < dens;
                const auto dist = distance_to_mask<std::uint8_t>(m.view(), 1);
                const auto dist3 = distance_to_mask<std::uint8_t>(m.view(), 3);
                bool any = false;
                for (auto x : m) any |= x != 0;
                for (index_t k = 0; k < d[2]; ++k)
                    for (index_t j = 0; j < d[1]; ++j)
                        for (index_t i = 0; i < d[0]; ++i) {
                            double best = std::numeric_limits<double>::infinity();
                            for (index_t c = 0; c < d[2]; ++c)
                                for (index_t b = 0; b < d[1]; ++b)
                                    for (index_t a = 0; a < d[0]; ++a)
                                        if (m(a, b, c)) {
                                            const double dz = double(k - c) * sp[2], dy = double(j - b) * sp[1], dx = double(i - a) * sp[0];
                                            best = std::min(best, std::sqrt((dz * dz + dy * dy) + dx * dx));
                                        }
                            const double got = dist.view()(i, j, k);
                            if (!any) CHECK(std::isinf(got));
                            // the scipy summation order; mathematically tied features can round differently in the
                            // last bit (scipy's choice among them is its own too)
                            else CHECK(std::abs(got - best) <= 4e-16 * best);
                            CHECK(same_or_both_nan(got, dist3.view()(i, j, k)));
                        }
            }
}

TEST_CASE("numpy percentile (linear) and pairwise mean: hand values") {
    std::vector<double> v{1, 2, 3, 4};
    CHECK(detail::numpy_percentile_linear(v, 95) == 3.8499999999999996);  // np.percentile([1,2,3,4], 95)
    std::vector<double> one{2.5};
    CHECK(detail::numpy_percentile_linear(one, 95) == 2.5);
    std::vector<double> w{0, 10};
    CHECK(detail::numpy_percentile_linear(w, 95) == 9.5);
}

TEST_CASE("fixture cases equal the Python oracle (overlap bit-exact, distances 1e-9 mm, NSD 1e-12)") {
    const auto expected = read_expected(ctspine_test::repo_data("evaluate/expected.txt").string());
    std::ifstream cf(ctspine_test::repo_data("evaluate/cases.txt"));
    std::string line;
    int cases = 0;
    while (std::getline(cf, line)) {
        std::istringstream is(line);
        std::string name;
        dims3 d;
        std::array<double, 3> sp, org;
        is >> name >> d[0] >> d[1] >> d[2] >> sp[0] >> sp[1] >> sp[2] >> org[0] >> org[1] >> org[2];
        INFO(name);
        auto ref = make_volume(d, sp, org), pred = make_volume(d, sp, org);
        const auto n = static_cast<size_t>(d[0] * d[1] * d[2]);
        auto r = ctspine_test::read_raw<std::uint8_t>(ctspine_test::repo_data("evaluate/" + name + ".ref").string(), n);
        auto p = ctspine_test::read_raw<std::uint8_t>(ctspine_test::repo_data("evaluate/" + name + ".pred").string(), n);
        std::copy(r.begin(), r.end(), ref.begin());
        std::copy(p.begin(), p.end(), pred.begin());
        evaluate_options opt;
        opt.tau_mm = {1.0, 2.0};
        for (const auto& [key, row] : expected)
            if (key.first == name) opt.labels.push_back(key.second);
        REQUIRE(!opt.labels.empty());
        for (int threads : {1, 2, 5}) {
            opt.threads = threads;
            const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
            REQUIRE(ev.labels.size() == opt.labels.size());
            for (const auto& e : ev.labels) {
                INFO("label " << e.label << " threads " << threads);
                compare_row(e, expected.at({name, e.label}), opt.tau_mm);
            }
        }
        ++cases;
    }
    CHECK(cases == 4);
}

TEST_CASE("hand-derived: single voxels 3 x 0.7 mm apart, and one slice of 3 mm") {
    // x spacing 0.7: voxel (2,2,2) vs (5,2,2): every distance is 3 x 0.7 = 2.0999999999999996 (scipy's rounding)
    auto ref = make_volume({9, 5, 5}, {0.7, 0.7, 3.0}), pred = make_volume({9, 5, 5}, {0.7, 0.7, 3.0});
    ref.view()(2, 2, 2) = 1;
    pred.view()(5, 2, 2) = 1;
    ref.view()(1, 1, 1) = 2;
    pred.view()(1, 1, 2) = 2;  // one slice apart along z: 3 mm
    evaluate_options opt;
    opt.tau_mm = {2.0, 2.1, 3.0};
    const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
    REQUIRE(ev.labels.size() == 2);
    const auto& a = ev.labels[0];
    CHECK(a.status == label_status::both);
    CHECK(a.dice == 0.0);
    CHECK(a.distance.hd == 3 * 0.7);
    CHECK(a.distance.hd == 2.0999999999999996);
    CHECK(a.distance.hd95 == 2.0999999999999996);
    CHECK(a.distance.assd == 2.0999999999999996);
    CHECK(a.nsd_voxel[0] == 0.0);  // 2.0999999999999996 > 2
    CHECK(a.nsd_voxel[1] == 1.0);  // ≤ 2.1
    // surfels: each voxel's 8 corners; the two cubes are 2 voxels apart (corner to corner 1.4 mm) → NSD(2) = 0.5:
    // only the facing corners (half of each cube's surfel area) lie within 2 mm... hand count: the near face's 4
    // corners are 2 x 0.7 = 1.4 mm from the other cube's near face, the far face's 4 corners 2.8 mm
    CHECK(a.nsd[0] == doctest::Approx(0.5).epsilon(1e-15));
    const auto& b = ev.labels[1];
    CHECK(b.distance.hd == 3.0);
    CHECK(b.distance.hd95 == 3.0);
    CHECK(b.nsd_voxel[2] == 1.0);
    CHECK(b.centroid_dist_mm == 3.0);
    // VerSe rule: the predicted label 2 at (0.7, 0.7, 6) mm lies 0.99 mm from the reference label 1's centroid
    // (1.4, 1.4, 6) and 3 mm from its own: not identified; label 1 (2.1 mm from its own, 4.3 mm from label 2's) is
    CHECK(b.identified == 0.0);
    CHECK(a.identified == 1.0);
}

TEST_CASE("empty masks: statuses and the nnU-Net v1 NaN rules") {
    auto ref = make_volume({6, 6, 6}, {1, 1, 1}), pred = make_volume({6, 6, 6}, {1, 1, 1});
    ref.view()(1, 1, 1) = 1;  // missed
    pred.view()(4, 4, 4) = 2;  // extra
    ref.view()(3, 3, 3) = 3;
    pred.view()(3, 3, 3) = 3;  // both, identical
    evaluate_options opt;
    opt.labels = {1, 2, 3, 4};
    opt.tau_mm = {1.0};
    const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
    REQUIRE(ev.labels.size() == 4);
    const auto &missed = ev.labels[0], &extra = ev.labels[1], &both = ev.labels[2], &absent = ev.labels[3];
    CHECK(missed.status == label_status::missed);
    CHECK(missed.dice == 0.0);
    CHECK(missed.recall == 0.0);
    CHECK(std::isnan(missed.precision));
    CHECK(std::isnan(missed.distance.hd95));
    CHECK(missed.nsd[0] == 0.0);
    CHECK(missed.identified == 0.0);
    CHECK(missed.rvd == -1.0);
    CHECK(extra.status == label_status::extra);
    CHECK(extra.dice == 0.0);
    CHECK(extra.precision == 0.0);
    CHECK(std::isnan(extra.recall));
    CHECK(std::isnan(extra.rvd));
    CHECK(std::isnan(extra.identified));
    CHECK(extra.nsd[0] == 0.0);
    CHECK(both.status == label_status::both);
    CHECK(both.dice == 1.0);
    CHECK(both.distance.hd == 0.0);
    CHECK(both.nsd[0] == 1.0);
    CHECK(both.identified == 1.0);
    CHECK(absent.status == label_status::absent);
    CHECK(std::isnan(absent.dice));
    CHECK(std::isnan(absent.iou));
    CHECK(std::isnan(absent.nsd[0]));
    CHECK(absent.counts.tn == 216);
    CHECK(ev.n_missed == 1);
    CHECK(ev.n_extra == 1);
    CHECK(ev.n_both == 1);
    CHECK(ev.n_absent == 1);
    CHECK(ev.n_ref_labels == 2);
    CHECK(ev.n_identified == 1);
    // nnU-Net v1's 1 − x rates (e.g. FDR of 5/6 precision = 0.16666666666666663, not 1/6)
    overlap_counts c;
    c.tp = 5;
    c.fp = 1;
    c.fn = 2;
    c.tn = 10;
    CHECK(overlap::false_discovery_rate(c) == 0.16666666666666663);
    CHECK(overlap::dice(c) == 10.0 / 13.0);
}

TEST_CASE("VerSe identification: exactly 20 mm counts, the nearest other centroid wins, missing GT is no candidate") {
    auto at = [](double z) { return std::optional<std::array<double, 3>>(std::array<double, 3>{0, 0, z}); };
    std::vector<label_centroids> c(3);
    c[0] = {20, at(0), at(20.0)};      // L1 predicted exactly 20 mm away, nearest GT among {L1, L3} is L1 → hit
    c[1] = {21, at(20), std::nullopt};  // L2 missed
    c[2] = {22, at(40), at(40 + 20.000001)};
    auto ids = verse_identification(c);
    CHECK(ids[0].identified == 1.0);
    CHECK(ids[0].centroid_dist_mm == 20.0);
    CHECK(ids[1].identified == 0.0);
    CHECK(ids[2].identified == 0.0);  // > 20 mm
    // the doc's quirk: GT L1/L2/L3 at 0/20/40, prediction L1 at 15 and L3 at 40, no L2: L1 identified
    c[0] = {20, at(0), at(15)};
    c[1] = {21, at(20), std::nullopt};
    c[2] = {22, at(40), at(40)};
    ids = verse_identification(c);
    CHECK(ids[0].identified == 1.0);
    CHECK(ids[2].identified == 1.0);
    // a shifted label: prediction L1 sits on GT L2 → nearest GT is L2, not identified
    c[1] = {21, at(20), at(40)};
    c[0] = {20, at(0), at(21)};
    ids = verse_identification(c);
    CHECK(ids[0].identified == 0.0);
}

TEST_CASE("grids: mismatch is an error unless resampling is asked for") {
    auto ref = make_volume({8, 8, 8}, {1, 1, 1}), pred = make_volume({8, 8, 8}, {1, 1, 1}, {0.5, 0, 0});
    for (index_t k = 2; k < 6; ++k)
        for (index_t j = 2; j < 6; ++j)
            for (index_t i = 2; i < 6; ++i) ref.view()(i, j, k) = pred.view()(i, j, k) = 1;
    CHECK_THROWS_AS((evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view())), error);
    // a prediction one voxel further along x: resampled onto the reference grid, its cube covers i = 3..6
    geometry g = pred.geometry();
    g.ijk_to_ras(0, 3) = 1.0;
    pred.set_geometry(g);
    evaluate_options opt;
    opt.resample_prediction = true;
    const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
    CHECK(ev.prediction_resampled);
    REQUIRE(ev.labels.size() == 1);
    CHECK(ev.labels[0].counts.tp == 3 * 16);
    CHECK(ev.labels[0].centroid_dist_mm == 1.0);
}

TEST_CASE("real VerSe label map with synthetic damage equals the Python oracle") {
    const auto path = ctspine_test::repo_data("../../examples/data/sub-ct_seg-vert_label-22_msk.nii.gz");
    nifti_read_options ro;
    ro.apply_scaling = false;
    const auto seg = read_nifti<std::uint8_t>(path.string(), ro);
    const dims3 d = seg.dims();
    // the damage of make_evaluate_fixtures.py spine_damage: 21 eroded (6-cross, outside = background), 22 rolled by
    // 2 voxels along i (wrapping), 23 removed, an extra 25 block at [0,4)^3
    auto dmg = volume<std::uint8_t>(seg.geometry(), 0);
    auto in = [&](index_t i, index_t j, index_t k, std::uint8_t l) {
        return i >= 0 && j >= 0 && k >= 0 && i < d[0] && j < d[1] && k < d[2] && seg.view()(i, j, k) == l;
    };
    for (index_t k = 0; k < d[2]; ++k)
        for (index_t j = 0; j < d[1]; ++j)
            for (index_t i = 0; i < d[0]; ++i) {
                const std::uint8_t l = seg.view()(i, j, k);
                if (l == 21 && in(i - 1, j, k, 21) && in(i + 1, j, k, 21) && in(i, j - 1, k, 21) && in(i, j + 1, k, 21) &&
                    in(i, j, k - 1, 21) && in(i, j, k + 1, 21))
                    dmg.view()(i, j, k) = 21;
                if (l != 0 && l != 21 && l != 22 && l != 23) dmg.view()(i, j, k) = l;
            }
    for (index_t k = 0; k < d[2]; ++k)
        for (index_t j = 0; j < d[1]; ++j)
            for (index_t i = 0; i < d[0]; ++i)
                if (seg.view()(i, j, k) == 22) dmg.view()((i + 2) % d[0], j, k) = 22;
    for (index_t k = 0; k < 4; ++k)
        for (index_t j = 0; j < 4; ++j)
            for (index_t i = 0; i < 4; ++i) dmg.view()(i, j, k) = 25;
    const auto expected = read_expected(ctspine_test::repo_data("evaluate/spine_expected.txt").string());
    evaluate_options opt;
    opt.labels = {21, 22, 23, 25};
    opt.tau_mm = {1.0, 2.0};
    opt.threads = 2;
    const auto ev = evaluate<std::uint8_t, std::uint8_t>(seg.view(), dmg.view(), opt);
    REQUIRE(ev.labels.size() == 4);
    for (const auto& e : ev.labels) {
        INFO("label " << e.label);
        compare_row(e, expected.at({"spine", e.label}), opt.tau_mm);
    }
    opt.threads = 1;
    CHECK(same_evaluation(ev, evaluate<std::uint8_t, std::uint8_t>(seg.view(), dmg.view(), opt)));
}

TEST_CASE("two real TotalSegmentator label maps: the oracle, and the values medpy / DeepMind / MetricsReloaded printed") {
    CTSPINE_REQUIRE_SHARED(dir, "spine");
    if (!std::filesystem::exists(dir / "example_seg_fast.nii.gz")) {
        MESSAGE("skipped: example_seg_fast.nii.gz not present");
        return;
    }
    nifti_read_options ro;
    ro.apply_scaling = false;
    const auto ref = read_nifti<std::uint8_t>((dir / "example_seg.nii.gz").string(), ro);
    const auto pred = read_nifti<std::uint8_t>((dir / "example_seg_fast.nii.gz").string(), ro);
    evaluate_options opt;
    opt.labels = {30, 31, 32, 33};
    opt.tau_mm = {1.0, 2.0};
    const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
    const auto expected = read_expected(ctspine_test::repo_data("evaluate/real_pair_expected.txt").string());
    for (const auto& e : ev.labels) {
        INFO("label " << e.label);
        compare_row(e, expected.at({"real", e.label}), opt.tau_mm);
    }
    // the values the evaluation notes (§1.6) measured by running medpy 0.5.2, DeepMind surface-distance and
    // MetricsReloaded on this pair, to 4 decimals: Dice, HD, HD95, ASSD, NSD@2 (DeepMind), NSD@2 (MetricsReloaded)
    const double doc[4][6] = {{0.9739, 4.2426, 3.0, 0.2400, 0.9738, 0.9202},
                              {0.9647, 3.0, 3.0, 0.3473, 0.9669, 0.8842},
                              {0.9679, 4.2426, 3.0, 0.3037, 0.9695, 0.8990},
                              {0.8889, 3.0, 3.0, 0.3617, 0.9671, 0.8794}};
    for (size_t i = 0; i < 4; ++i) {
        const auto& e = ev.labels[i];
        INFO("label " << e.label);
        CHECK(std::abs(e.dice - doc[i][0]) < 5e-5);
        CHECK(std::abs(e.distance.hd - doc[i][1]) < 5e-5);
        CHECK(std::abs(e.distance.hd95 - doc[i][2]) < 5e-5);
        CHECK(std::abs(e.distance.assd - doc[i][3]) < 5e-5);
        CHECK(std::abs(e.nsd[1] - doc[i][4]) < 5e-5);
        CHECK(std::abs(e.nsd_voxel[1] - doc[i][5]) < 5e-5);
    }
}

TEST_CASE("Python float repr (the values Python 3.11 prints)") {
    const std::pair<double, const char*> cases[] = {
        {0.1, "0.1"}, {1e-05, "1e-05"}, {0.0001, "0.0001"}, {3582.0, "3582.0"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
        {1.5e-07, "1.5e-07"}, {3 * 0.7, "2.0999999999999996"}, {1.0 / 3, "0.3333333333333333"}, {-0.0, "-0.0"},
        {1.550099206349187e-05, "1.550099206349187e-05"}, {123456789012345678.0, "1.2345678901234568e+17"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {100.0, "100.0"}, {0.5, "0.5"}};
    for (const auto& [x, s] : cases) CHECK(python_float_repr(x) == s);
    CHECK(python_float_repr(nan_v) == "nan");
    CHECK(python_float_repr(nan_v, "NaN") == "NaN");
    CHECK(tau_name(2.0) == "2");
    CHECK(tau_name(0.5) == "0.5");
}

TEST_CASE("CTSpine1K case names, sources and split file") {
    CHECK(case_name_of("dir/liver_7_seg.nii.gz") == "liver_7");
    CHECK(case_name_of("CTC-3833125701_0000.nii.gz") == "CTC-3833125701");
    CHECK(case_name_of("HN_P001.nii") == "HN_P001");
    CHECK(ctspine1k_source("1.3.6.1.4.1.9328.50.4.0001.nii.gz") == "COLONOG");
    CHECK(ctspine1k_source("CTC-3833125701") == "COLONOG");
    CHECK(ctspine1k_source("HN_P001") == "HNSCC-3DCT-RT");
    CHECK(ctspine1k_source("liver_12_seg.nii.gz") == "MSD_liver");
    CHECK(ctspine1k_source("volume-covid19-A-0202_0_ct") == "COVID-19");
    CHECK(ctspine1k_source("volume-covid19-A-0010_ct.nii.gz") == "COVID-19");
    CHECK(ctspine1k_source("sub-verse004") == "other");
    CHECK(ctspine1k_source("1.3.6.1.4.1.9328.50.4.001") == "other");
    const auto split = parse_split_file("trainset:\nliver_1.nii.gz\nHN_P002.nii.gz\n\ntest_public:\r\n  CTC-0000000001.nii.gz\n\ntest_private:\nliver_3\n");
    CHECK(split.size() == 4);
    CHECK(split.at("liver_1") == "trainset");
    CHECK(split.at("HN_P002") == "trainset");
    CHECK(split.at("CTC-0000000001") == "test_public");
    CHECK(split.at("liver_3") == "test_private");
    CHECK_THROWS_AS(parse_split_file("liver_1\n"), error);
}

TEST_CASE("case table: CSV round trip is exact, merged halves summarise as the whole") {
    // three synthetic cases from the fixture maps, two sources, two splits
    std::ifstream cf(ctspine_test::repo_data("evaluate/cases.txt"));
    std::string line;
    case_table whole, half_a, half_b;
    int n = 0;
    while (std::getline(cf, line)) {
        std::istringstream is(line);
        std::string name;
        dims3 d;
        std::array<double, 3> sp, org;
        is >> name >> d[0] >> d[1] >> d[2] >> sp[0] >> sp[1] >> sp[2] >> org[0] >> org[1] >> org[2];
        auto ref = make_volume(d, sp, org), pred = make_volume(d, sp, org);
        const auto nv = static_cast<size_t>(d[0] * d[1] * d[2]);
        auto r = ctspine_test::read_raw<std::uint8_t>(ctspine_test::repo_data("evaluate/" + name + ".ref").string(), nv);
        auto p = ctspine_test::read_raw<std::uint8_t>(ctspine_test::repo_data("evaluate/" + name + ".pred").string(), nv);
        std::copy(r.begin(), r.end(), ref.begin());
        std::copy(p.begin(), p.end(), pred.begin());
        evaluate_options opt;
        opt.labels = {1, 2, 3, 4};
        const auto ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
        const std::string cname = n % 2 ? "liver_" + std::to_string(n) : "HN_P00" + std::to_string(n);
        append_case(whole, cname, ctspine1k_source(cname), n < 2 ? "trainset" : "test_public", ev);
        append_case(n % 2 ? half_a : half_b, cname, ctspine1k_source(cname), n < 2 ? "trainset" : "test_public", ev);
        ++n;
    }
    whole.failures["liver_99"] = "no prediction";
    half_b.failures["liver_99"] = "no prediction";
    sort_rows(whole);
    const std::string csv = to_csv(whole);
    const case_table back = parse_cases_csv(csv);
    CHECK(to_csv(back) == csv);
    REQUIRE(back.rows.size() == whole.rows.size());
    for (size_t i = 0; i < back.rows.size(); ++i)
        for (size_t c = 0; c < back.rows[i].values.size(); ++c) CHECK(same_or_both_nan(back.rows[i].values[c], whole.rows[i].values[c]));
    case_table merged;
    merge_tables(merged, parse_cases_csv(to_csv(half_a)));
    merge_tables(merged, half_b);
    sort_rows(merged);
    CHECK(to_csv(merged) == csv);
    CHECK(to_json(summarize(merged)) == to_json(summarize(whole)));
    CHECK_THROWS_AS(merge_tables(merged, half_b), error);  // the same cases twice
    CHECK(to_csv(summarize(merged)) == to_csv(summarize(whole)));
    // hand check of one group: label 4 over all cases is missed once ('shifted') and absent elsewhere
    const auto s = summarize(whole);
    CHECK(s.n_failed == 1);
    for (const auto& g : s.groups)
        if (g.split == "all" && g.source == "all" && g.label == 4) {
            CHECK(g.n_missed == 1);
            CHECK(g.n_absent == 3);
            CHECK(g.n_ref_labels == 1);
            CHECK(g.n_identified == 0);
            CHECK(g.id_rate == 0.0);
        }
}

TEST_CASE("bad input and cancellation") {
    auto ref = make_volume({6, 6, 6}, {1, 1, 1}), pred = make_volume({6, 6, 6}, {1, 1, 1});
    ref.view()(1, 1, 1) = pred.view()(1, 1, 1) = 1;
    ref.view()(4, 4, 4) = pred.view()(4, 4, 3) = 2;
    evaluate_options opt;
    opt.labels = {0, 1};
    CHECK_THROWS_AS((evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt)), error);
    opt.labels = {1, 2};
    opt.tau_mm = {-1.0};
    CHECK_THROWS_AS((evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt)), error);
    opt.tau_mm = {1.0};
    opt.progress = [](double f, std::string_view) { return f < 0.5; };  // cancel once the surfaces start
    try {
        (void)evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
        CHECK(false);
    } catch (const error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    // negative label values cannot be scored
    geometry g = ref.geometry();
    volume<std::int16_t> neg(g, 0), ok(g, 0);
    neg.view()(2, 2, 2) = -3;
    try {
        (void)evaluate<std::int16_t, std::int16_t>(neg.view(), ok.view());
        CHECK(false);
    } catch (const error& e) {
        CHECK(e.code() == errc::unsupported);
    }
    // different dims without resampling: a shape error
    auto small = make_volume({5, 6, 6}, {1, 1, 1});
    CHECK_THROWS_AS((evaluate<std::uint8_t, std::uint8_t>(ref.view(), small.view())), error);
}

TEST_CASE("whole-volume entry points: medpy_border_distances and deepmind_surfel_distances on hand-derived masks") {
    // Single voxels 3 apart along x at 0.7 x 1 x 1 mm: each is its own border, so each direction is one distance of
    // 3 * 0.7 mm; an empty mask gives empty lists in both directions (medpy's rule as documented).
    ctspine::geometry g = ctspine::volume<std::uint8_t>(ctspine::dims3{9, 5, 5}).geometry();
    g.spacing_mm = {0.7, 1.0, 1.0};
    g.ijk_to_ras(0, 0) = 0.7;
    ctspine::volume<std::uint8_t> a(g, 0), b(g, 0), none(g, 0);
    a(2, 2, 2) = 1;
    b(5, 2, 2) = 1;
    const auto bd = ctspine::medpy_border_distances<std::uint8_t>(a.view(), b.view());
    REQUIRE(bd.ref_to_pred.size() == 1);
    REQUIRE(bd.pred_to_ref.size() == 1);
    CHECK(bd.ref_to_pred[0] == doctest::Approx(2.1).epsilon(1e-12));
    CHECK(bd.pred_to_ref[0] == doctest::Approx(2.1).epsilon(1e-12));
    const auto be = ctspine::medpy_border_distances<std::uint8_t>(a.view(), none.view());
    CHECK(be.ref_to_pred.empty());
    CHECK(be.pred_to_ref.empty());
    // identical masks: every surfel lies on the other surface (distance 0), with the same areas on both sides
    const auto s = ctspine::deepmind_surfel_distances<std::uint8_t>(a.view(), a.view());
    REQUIRE(!s.ref_to_pred.empty());
    CHECK(s.ref_to_pred.size() == s.pred_to_ref.size());
    for (double x : s.ref_to_pred) CHECK(x == 0.0);
    CHECK(s.area_ref == s.area_pred);
    const auto s0 = ctspine::deepmind_surfel_distances<std::uint8_t>(none.view(), none.view());
    CHECK(s0.ref_to_pred.empty());
    CHECK(s0.pred_to_ref.empty());
}
