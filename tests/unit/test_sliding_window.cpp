// Sliding-window prediction vs tests/reference/nnunet_predict_reference.py (numpy/scipy/torch written from
// docs/nnunet-numerics.md §4.3): tile steps, Gaussian fp16 bits, and fp16-accumulated logits of an exact synthetic
// predictor, bit for bit; plus threads/cancellation/argument checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ctspine/nn/sliding_window.hpp"
#include "test_support.hpp"

using namespace ctspine;
using namespace ctspine::nn;

namespace {
std::vector<std::uint16_t> read_u16(const std::string& rel) {
    std::ifstream f(ctspine_test::repo_data(rel), std::ios::binary);
    REQUIRE(f.good());
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::uint16_t> out(raw.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint16_t>(static_cast<unsigned char>(raw[2 * i]) |
                                            (static_cast<unsigned char>(raw[2 * i + 1]) << 8));
    return out;
}

// the reference's make_input: (hash(i) mod 2001 − 1000)/256, hash = i·2654435761 mod 2^32 (exact in float32)
tensor make_input(const shape4& s) {
    tensor t(s);
    for (index_t i = 0; i < t.size(); ++i) {
        const std::uint64_t h = (static_cast<std::uint64_t>(i) * 2654435761ull) % 4294967296ull;
        t.data()[i] = static_cast<float>(static_cast<std::int64_t>(h % 2001) - 1000) / 256.0f;
    }
    return t;
}

// the reference's synthetic_net: out[c,d,h,w] = x[0,d,h,w] + (c+1)(7d+3h−5w)/64
predictor_fn synthetic_net() {
    return [](const tensor& in, tensor& out) {
        const shape4& s = out.shape();
        for (index_t c = 0; c < s[0]; ++c)
            for (index_t d = 0; d < s[1]; ++d)
                for (index_t h = 0; h < s[2]; ++h)
                    for (index_t w = 0; w < s[3]; ++w) {
                        const float pos = static_cast<float>(7 * d + 3 * h - 5 * w);
                        out(c, d, h, w) = in(0, d, h, w) + pos * static_cast<float>(c + 1) / 64.0f;
                    }
    };
}
}  // namespace

TEST_CASE("sliding window: tile steps equal the reference") {
    std::ifstream f(ctspine_test::repo_data("pipeline/steps.txt"));
    REQUIRE(f.good());
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        index_t size, patch;
        double step;
        std::string colon;
        is >> size >> patch >> step >> colon;
        std::vector<index_t> expect;
        index_t v;
        while (is >> v) expect.push_back(v);
        CAPTURE(line);
        CHECK(compute_steps_for_sliding_window(size, patch, step) == expect);
        ++n;
    }
    CHECK(n >= 10);
    CHECK_THROWS_AS(compute_steps_for_sliding_window(10, 16, 0.5), ctspine::error);
    CHECK_THROWS_AS(compute_steps_for_sliding_window(20, 16, 0.0), ctspine::error);
}

TEST_CASE("sliding window: Gaussian importance map fp16 bits equal scipy + torch") {
    for (const shape3i p : {shape3i{7, 9, 13}, shape3i{16, 24, 20}}) {
        const auto ref = read_u16("pipeline/gaussian_" + std::to_string(p[0]) + "x" + std::to_string(p[1]) + "x" +
                                  std::to_string(p[2]) + ".u16");
        const auto g = compute_gaussian(p);
        REQUIRE(g.size() == ref.size());
        std::size_t bad = 0;
        for (std::size_t i = 0; i < g.size(); ++i) bad += g[i] != ref[i];
        CHECK(bad == 0);
    }
    std::ifstream f(ctspine_test::repo_data("pipeline/gaussian_sums.txt"));
    REQUIRE(f.good());
    index_t a, b, c;
    long long zeros;
    unsigned long long sum;
    int n = 0;
    while (f >> a >> b >> c >> zeros >> sum) {
        const auto g = compute_gaussian({a, b, c});
        unsigned long long s = 0;
        for (std::size_t i = 0; i < g.size(); ++i) s += static_cast<unsigned long long>(g[i]) * (i % 65521 + 1);
        CAPTURE(a);
        CAPTURE(b);
        CAPTURE(c);
        CHECK(s == sum);
        ++n;
    }
    CHECK(n == 4);
}

TEST_CASE("sliding window: mirror combinations in itertools order") {
    const auto m = mirror_combinations({0, 1, 2});
    const std::vector<std::vector<int>> expect{{0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
    CHECK(m == expect);
    CHECK(mirror_combinations({}).empty());
}

TEST_CASE("sliding window: fp16 logits bitwise equal the torch reference") {
    std::ifstream f(ctspine_test::repo_data("pipeline/sw_cases.txt"));
    REQUIRE(f.good());
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string name, axes_tok;
        shape4 s;
        shape3i p;
        index_t ncls;
        double step;
        is >> name >> s[0] >> s[1] >> s[2] >> s[3] >> p[0] >> p[1] >> p[2] >> ncls >> step;
        sliding_window_options o;
        o.step_size = step;
        while (is >> axes_tok)
            if (axes_tok != "-") o.mirror_axes.push_back(std::stoi(axes_tok));
        CAPTURE(line);
        const tensor x = make_input(s);
        const auto ref = read_u16("pipeline/sw_" + name + ".u16");
        for (int threads : {1, 2}) {
            o.threads = threads;
            const tensor out = predict_sliding_window(x, p, ncls, synthetic_net(), o);
            REQUIRE(out.size() == static_cast<index_t>(ref.size()));
            std::size_t bad = 0;
            for (index_t i = 0; i < out.size(); ++i) bad += float_to_half_bits(out.data()[i]) != ref[static_cast<size_t>(i)];
            CHECK(bad == 0);
        }
        // float32 accumulation: same values within fp16 rounding noise (relative)
        o.fp16_accumulation = false;
        const tensor o32 = predict_sliding_window(x, p, ncls, synthetic_net(), o);
        // (at the image corners the Gaussian weights are ~2^-24, where fp16 numerators are subnormal: big
        // relative errors there are nnU-Net's own behaviour; the bulk must agree closely)
        index_t off = 0;
        for (index_t i = 0; i < o32.size(); ++i) {
            const double r = half_bits_to_float(ref[static_cast<size_t>(i)]);
            off += std::abs(double(o32.data()[i]) - r) > 0.01 * std::max(1.0, std::abs(r));
        }
        MESSAGE("fp32 vs fp16 accumulation: " << off << " of " << o32.size() << " values differ by > 1%");
        CHECK(off * 100 < 3 * o32.size());
        ++n;
    }
    CHECK(n == 3);
}

TEST_CASE("sliding window: progress, cancellation and bad arguments") {
    const tensor x = make_input({1, 20, 30, 21});
    sliding_window_options o;
    int calls = 0;
    double last = -1;
    o.progress = [&](double fr, std::string_view) {
        CHECK(fr >= last);
        last = fr;
        ++calls;
        return true;
    };
    predict_sliding_window(x, {16, 24, 16}, 2, synthetic_net(), o);
    CHECK(last == 1.0);
    CHECK(calls > 2);
    o.progress = [&](double fr, std::string_view) { return fr < 0.3; };
    try {
        predict_sliding_window(x, {16, 24, 16}, 2, synthetic_net(), o);
        FAIL("no cancellation");
    } catch (const ctspine::error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    CHECK_THROWS_AS(predict_sliding_window(x, {16, 24, 16}, 0, synthetic_net()), ctspine::error);
    CHECK_THROWS_AS(predict_sliding_window(x, {16, 24, 16}, 2, predictor_fn{}), ctspine::error);
    sliding_window_options bad;
    bad.mirror_axes = {3};
    CHECK_THROWS_AS(predict_sliding_window(x, {16, 24, 16}, 2, synthetic_net(), bad), ctspine::error);
    const predictor_fn reshaper = [](const tensor&, tensor& out) { out = tensor({1, 1, 1, 1}); };
    CHECK_THROWS_AS(predict_sliding_window(x, {16, 24, 16}, 2, reshaper), ctspine::error);
}
