// ctspine — the nnU-Net v2 segmentation pipeline (nnUNetv2_predict for one 3-D CT, CPU), docs/
// nnunet-numerics.md §4: transpose to the plans' axis order, crop to non-zero, CTNormalization, resample (order 3,
// separate-z rule), sliding window with fp16 accumulation and mirroring TTA, fold averaging, export resampling of the
// fp16 logits (order 1), argmax (first max), uncrop, transpose back — onto the CT's own voxel grid.
//
// Axes: a ctspine volume (x, y, z) with x fastest is, in memory, the SimpleITK array nnU-Net reads, of shape
// (z, y, x) (docs/nnunet-numerics.md §4.1); nnU-Net axis a is our axis 2 − a, and its spacing is our spacing reversed.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/half.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/imgproc/intensity.hpp"
#include "ctspine/imgproc/nnunet_resample.hpp"
#include "ctspine/model/nnunet_model.hpp"
#include "ctspine/nn/sliding_window.hpp"
#include "ctspine/pipeline/nnunet_v1_postprocessing.hpp"
#include "ctspine/pipeline/nnunet_v1_predict.hpp"
#include "ctspine/pipeline/probabilities.hpp"

namespace ctspine {

namespace detail {

/// double -> fp16 with a single round-to-nearest-even (NumPy's float64 -> float16 assignment, docs/nnunet-numerics.md §4.4),
/// by scaling: the reference for double_to_half_bits below.
inline std::uint16_t double_to_half_bits_exact(double d) {
    if (std::isnan(d)) return 0x7e00;
    const double a = std::fabs(d);
    if (a == 0.0) return std::signbit(d) ? 0x8000 : 0;
    int e = 0;
    std::frexp(a, &e);           // a = m·2^e, m in [0.5, 1) -> unbiased exponent e − 1
    int ue = std::max(e - 1, -14);  // subnormals share the 2^-14 binade's spacing 2^-24
    if (ue > 15) return std::signbit(d) ? 0xfc00 : 0x7c00;
    const double scale = std::ldexp(1.0, ue - 10);
    const double r = std::nearbyint(a / scale) * scale;  // a/scale exact (power of two); half-even rounding
    const std::uint16_t b = float_to_half_bits(static_cast<float>(r));  // exact (or 65536 -> inf)
    return static_cast<std::uint16_t>(b | (std::signbit(d) ? 0x8000 : 0));
}

/// double -> fp16 with a single rounding, as double_to_half_bits_exact. Fast path: d -> float -> half equals the single rounding unless the float lands exactly on a midpoint between two
/// fp16 values (every fp16 midpoint is a float, and float rounding is monotonic, so d and float(d) lie on the same
/// side of every other midpoint). Midpoints of normal fp16 numbers have float mantissa low bits 0x1000 of 0x1fff;
/// inexact values in the fp16 subnormal range or near overflow take the exact path.
inline std::uint16_t double_to_half_bits(double d) {
    const float f = static_cast<float>(d);
    if (static_cast<double>(f) == d) return float_to_half_bits(f);
    const float af = std::fabs(f);
    if (af >= 6.103515625e-05f && af < 65504.0f && (float_bits(f) & 0x1fffu) != 0x1000u) return float_to_half_bits(f);
    return double_to_half_bits_exact(d);
}

}  // namespace detail

/// Options of segmenter::segment (nnUNetPredictor defaults).
struct segment_options {
    std::optional<bool> mirroring;  ///< nullopt = the checkpoint's inference_allowed_mirroring_axes (nnU-Net default on)
    double step_size = 0.5;         ///< tile_step_size
    bool fp16_accumulation = true;  ///< nnU-Net's torch.half accumulators (false: float32, not nnU-Net-identical)
    int threads = 0;                ///< 0 = all hardware threads
    cpu_isa isa = cpu_isa::automatic;  ///< network kernels (core/cpu.hpp); same labels on every ISA with FMA
    progress_fn progress;           ///< fraction over the whole case; return false to cancel (errc::cancelled)
    /// 0 = no limit. Otherwise segment() estimates its peak memory (segment_memory_estimate::peak_bytes) before any
    /// large allocation and throws errc::size_limit if the estimate exceeds this many bytes.
    std::size_t memory_limit_bytes = 0;
    /// nnU-Net v1 folders only: apply <model folder>/postprocessing.json when it exists, as nnUNet_predict does by
    /// default (nnunet-v1-spec.md §5.5); false = raw argmax (nnUNet_predict --disable_postprocessing).
    bool v1_postprocessing = true;
};

/// What one segmentation allocates, in bytes, per stage (the input CT not counted; the label map and, when asked
/// for, the probability map are counted even when the caller supplies them; the networks' weights are not, the
/// forward workspace is — one at a time: each fold's network releases its workspace when the fold is done).
struct segment_memory_estimate {
    std::size_t preprocess_bytes = 0;  ///< crop, resampled network input, resampling scratch
    std::size_t predict_bytes = 0;     ///< network input, fp16 accumulators, tile buffers, workspace, fold sum
    std::size_t export_bytes = 0;      ///< fp16 logits, one exported channel and its resampling scratch, argmax state
    std::size_t peak_bytes = 0;        ///< max of the three
    std::array<index_t, 3> cropped_shape{0, 0, 0};  ///< nnU-Net axis order (after transpose_forward)
    std::array<index_t, 3> network_shape{0, 0, 0};  ///< preprocessed shape the sliding window runs on
};

/// The sizes the estimate depends on (nnU-Net axis order after transpose_forward).
struct segment_memory_inputs {
    std::array<index_t, 3> image{0, 0, 0}, cropped{0, 0, 0}, network{0, 0, 0}, patch{0, 0, 0};
    index_t num_classes = 0, folds = 1;
    std::size_t network_workspace_bytes = 0;  ///< one fold's forward workspace (unet::peak_working_bytes)
    bool fp16_accumulation = true, mirroring = true, probabilities = false;
};

/// Peak memory of segmenter::segment for the given sizes (the formulas follow the allocations in segment.hpp,
/// nn/sliding_window.hpp and imgproc/resample.hpp's zoom3d; small per-thread buffers are left out).
inline segment_memory_estimate estimate_segment_memory(const segment_memory_inputs& in) {
    auto prod = [](const std::array<index_t, 3>& s) { return double(s[0]) * double(s[1]) * double(s[2]); };
    const double N = prod(in.image), Nc = prod(in.cropped), Nn = prod(in.network), Pv = prod(in.patch);
    std::array<index_t, 3> padded{};
    for (size_t a = 0; a < 3; ++a) padded[a] = std::max(in.network[a], in.patch[a]);
    const double Np = prod(padded), C = double(in.num_classes);
    const bool pads = padded != in.network;
    const double lb = in.fp16_accumulation ? 2.0 : 4.0;  // bytes per stored logit
    const double outputs = 2.0 * N + (in.probabilities ? 4.0 * C * N : 0.0);
    const bool resample = in.cropped != in.network;
    const double workspace = double(in.network_workspace_bytes);  // one fold's, released when the fold is done
    // zoom3d's float64 scratch: output x·y extents times the input z extent (our x = nnU-Net axis 2)
    const double pre = outputs + (resample ? 4.0 * Nc + 4.0 * Nn + 8.0 * double(in.network[2]) * double(in.network[1]) * double(in.cropped[0])
                                           : 4.0 * Nn);
    const double tiles = (2.0 + (in.mirroring ? 4.0 : 2.0) * C) * 4.0 * Pv;
    const double acc = in.fp16_accumulation ? 2.0 * C * Np + 2.0 * Np + (pads ? 2.0 * C * Nn : 0.0)
                                            : 4.0 * C * Np + 4.0 * Np + 4.0 * C * Nn;
    const double pred = outputs + 4.0 * Nn + (pads ? 4.0 * Np : 0.0) + acc + tiles + workspace + (in.folds > 1 ? lb * C * Nn : 0.0);
    const double exp = outputs + lb * C * Nn + (in.fp16_accumulation ? 4.0 * Nn : 0.0) +
                       (resample ? lb * Nc + 8.0 * double(in.cropped[2]) * double(in.cropped[1]) * double(in.network[0]) : 0.0) +
                       (in.probabilities ? 0.0 : lb * Nc);
    auto sz = [](double b) { return b >= 1.8e19 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(b); };
    segment_memory_estimate e;
    e.preprocess_bytes = sz(pre);
    e.predict_bytes = sz(pred);
    e.export_bytes = sz(exp);
    e.peak_bytes = std::max({e.preprocess_bytes, e.predict_bytes, e.export_bytes});
    e.cropped_shape = in.cropped;
    e.network_shape = in.network;
    return e;
}

namespace detail {

/// fp16 output element of the export resampling: the float64 result rounded once to fp16, as NumPy's float64 ->
/// float16 assignment into nnU-Net's fp16 array (docs/nnunet-numerics.md §4.4).
struct half_out {
    std::uint16_t bits = 0;
    half_out() = default;
    explicit half_out(double d) : bits(double_to_half_bits(d)) {}
};
inline float stored_value(const half_out& h) { return half_bits_to_float(h.bits); }
inline float stored_value(float v) { return v; }

/// One case's shapes and crop, in nnU-Net's transposed axis order.
struct case_plan {
    nnunet::shape3 sc{}, sn{};
    nnunet::spacing3 spt{}, target{};
    std::array<index_t, 3> lo{}, stride{};  ///< crop start; our linear-index stride of each transposed axis
    std::array<index_t, 3> st{};            ///< transposed full shape
    segment_memory_estimate mem;
    index_t crop_index(index_t i, index_t j, index_t k) const {  // our linear index of crop voxel (i, j, k)
        return (i + lo[0]) * stride[0] + (j + lo[1]) * stride[1] + (k + lo[2]) * stride[2];
    }
};

}  // namespace detail

/// An nnU-Net v2 3-D model ready to segment CTs. Build once (loads every fold), call segment() many times.
class segmenter {
public:
    explicit segmenter(const std::string& model_folder, const model_load_options& opt = {})
        : model_(nnunet_model::load(model_folder, opt)) {
        check_supported();
        load_v1_postprocessing();
    }
    explicit segmenter(nnunet_model model) : model_(std::move(model)) {
        check_supported();
        load_v1_postprocessing();
    }
    /// v1 folders: the postprocessing.json that segment() applies (nullopt = none in the folder, or a v2 model).
    const std::optional<nnunet_v1_postprocessing>& v1_postprocessing() const noexcept { return v1_pp_; }

    const nnunet_model& model() const noexcept { return model_; }
    /// Class names by label value (dataset.json "labels" order).
    std::vector<std::string> class_names() const {
        std::vector<std::string> n;
        for (const auto& l : model_.dataset().labels) n.push_back(l.first);
        return n;
    }
    index_t num_classes() const noexcept { return model_.configuration().network.num_classes; }

    /// Label map on the CT's own grid (same geometry), label value = argmax channel index.
    volume<std::uint16_t> segment(const volume<float>& ct, const segment_options& opt = {}) const {
        const detail::case_plan plan = make_plan(ct, opt, false);
        volume<std::uint16_t> out(ct.geometry());
        run(ct, out.view(), nullptr, plan, opt);
        return out;
    }

    /// Label map and the softmax probabilities (nnU-Net --save_probabilities); with probabilities the label is the
    /// argmax of the probabilities, as nnU-Net's convert_probabilities_to_segmentation does.
    volume<std::uint16_t> segment(const volume<float>& ct, probability_map& probabilities, const segment_options& opt = {}) const {
        const detail::case_plan plan = make_plan(ct, opt, true);
        volume<std::uint16_t> out(ct.geometry());
        probabilities.reset(ct.geometry(), num_classes());
        run(ct, out.view(), probabilities.data.data(), plan, opt);
        return out;
    }

    /// As segment(), writing into a caller-supplied view with the CT's dims; `probabilities` (optional) receives
    /// num_classes() × ct.size() floats, class slowest (probability_map layout).
    void segment_into(const volume<float>& ct, volume_view<std::uint16_t> out, const segment_options& opt = {},
                      float* probabilities = nullptr) const {
        if (out.dims() != ct.dims()) throw error(errc::shape_mismatch, "segment: output dims differ from the CT's");
        const detail::case_plan plan = make_plan(ct, opt, probabilities != nullptr);
        run(ct, out, probabilities, plan, opt);
    }

    /// Memory segment() will need for this CT (its non-zero bounding box, as the crop uses).
    segment_memory_estimate estimate_memory(const volume<float>& ct, const segment_options& opt = {}, bool probabilities = false) const {
        segment_options o = opt;
        o.memory_limit_bytes = 0;
        return make_plan(ct, o, probabilities).mem;
    }
    /// Worst case (no cropping) for a CT of `dims` voxels of `spacing_mm`, without reading one.
    segment_memory_estimate estimate_memory(const dims3& dims, const std::array<double, 3>& spacing_mm, const segment_options& opt = {},
                                            bool probabilities = false) const {
        detail::case_plan p;
        init_plan_shapes(dims, spacing_mm, {0, 0, 0}, {dims[2], dims[1], dims[0]}, p);
        return estimate_for(p, opt, probabilities);
    }

private:
    /// Non-finite voxels have no defined result: nnU-Net v2 passes NaN and ±Inf on into resampling, normalisation and
    /// the network (its output there is meaningless), and v1 replaces NaN by 0 but passes ±Inf on. So a v2 model
    /// refuses NaN and ±Inf, a v1 model ±Inf (its NaN become 0 as in v1), with the counts, instead of writing labels
    /// that silently depend on them.
    void check_finite(const volume<float>& ct, int threads) const {
        const int t = resolve_threads(threads);
        std::vector<index_t> nans(static_cast<size_t>(t), 0), infs(static_cast<size_t>(t), 0);
        parallel_for(t, ct.size(), [&](index_t b, index_t e, int w) {
            index_t n = 0, i = 0;
            for (index_t k = b; k < e; ++k) {
                const float x = ct[k];
                n += std::isnan(x);
                i += std::isinf(x);
            }
            nans[static_cast<size_t>(w)] = n;
            infs[static_cast<size_t>(w)] = i;
        }, 1 << 16);
        index_t n = 0, i = 0;
        for (int w = 0; w < t; ++w) n += nans[static_cast<size_t>(w)], i += infs[static_cast<size_t>(w)];
        const bool v1 = model_.v1_plans().has_value();
        if (i > 0 || (n > 0 && !v1))
            throw error(errc::invalid_argument,
                        detail::cat("segment: the CT has ", n, " NaN and ", i, " infinite voxels; nnU-Net ", v1 ? "v1" : "v2",
                                    " gives no meaningful labels for them: replace them first (e.g. with the air value)"),
                        {}, "ct");
    }

    /// Transpose + crop in one gather: the plan's crop of `ct` in nnU-Net's transposed (z, y, x) order into `crop`
    /// (sc[0]·sc[1]·sc[2] floats); NanToZero replaces NaN by 0 as nnU-Net v1's preprocessing does.
    template <bool NanToZero>
    static void gather_crop(const volume<float>& ct, const detail::case_plan& p, float* crop, int threads) {
        const auto& sc = p.sc;
        const float* src = ct.data();
        parallel_for(threads, sc[0], [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
            for (std::ptrdiff_t i = i0; i < i1; ++i)
                for (index_t j = 0; j < sc[1]; ++j) {
                    float* o = crop + (i * sc[1] + j) * sc[2];
                    const index_t base = p.crop_index(i, j, 0);
                    for (index_t k = 0; k < sc[2]; ++k) {
                        const float v = src[base + k * p.stride[2]];
                        o[k] = NanToZero && std::isnan(v) ? 0.0f : v;
                    }
                }
        }, 1);
    }

    /// Shapes of a case whose non-zero bbox is [lo_o, hi_o) in nnU-Net's original (z, y, x) order.
    void init_plan_shapes(const dims3& d, const std::array<double, 3>& sp, const std::array<index_t, 3>& lo_o,
                          const std::array<index_t, 3>& hi_o, detail::case_plan& p) const {
        for (index_t e : d)
            if (e <= 0) throw error(errc::invalid_argument, "segment: empty CT");
        const auto& tf = model_.plans().transpose_forward;
        const std::array<index_t, 3> s_nn{d[2], d[1], d[0]};
        const nnunet::spacing3 sp_nn{sp[2], sp[1], sp[0]};
        const std::array<index_t, 3> stride_o{d[0] * d[1], d[0], 1};
        for (size_t i = 0; i < 3; ++i) {
            const auto a = static_cast<size_t>(tf[i]);
            p.st[i] = s_nn[a];
            p.spt[i] = sp_nn[a];
            p.stride[i] = stride_o[a];
            p.lo[i] = lo_o[a];
            p.sc[i] = hi_o[a] - lo_o[a];
        }
        const auto& cfg = model_.configuration();
        p.target = {cfg.spacing[0], cfg.spacing[1], cfg.spacing[2]};
        p.sn = nnunet::compute_new_shape(p.sc, p.spt, p.target);
        for (index_t e : p.sn)
            if (e <= 0) throw error(errc::invalid_argument, "segment: the CT resamples to an empty network input");
    }

    segment_memory_estimate estimate_for(const detail::case_plan& p, const segment_options& opt, bool probabilities) const {
        const auto& cfg = model_.configuration();
        segment_memory_inputs mi;
        mi.image = p.st;
        mi.cropped = p.sc;
        mi.network = p.sn;
        mi.patch = {cfg.patch_size[0], cfg.patch_size[1], cfg.patch_size[2]};
        mi.num_classes = num_classes();
        mi.folds = static_cast<index_t>(model_.networks().size());
        mi.network_workspace_bytes = model_.networks().front().peak_working_bytes(mi.patch);
        mi.fp16_accumulation = opt.fp16_accumulation && model_.format_version() == 2;  // v1: float32 throughout
        mi.mirroring = opt.mirroring.value_or(true) && model_.mirror_axes() && !model_.mirror_axes()->empty();
        mi.probabilities = probabilities;
        return estimate_segment_memory(mi);
    }

    /// Non-zero bbox, shapes, memory estimate and the limit check — before any large allocation.
    detail::case_plan make_plan(const volume<float>& ct, const segment_options& opt, bool probabilities) const {
        const dims3 d = ct.dims();
        for (index_t e : d)
            if (e <= 0) throw error(errc::invalid_argument, "segment: empty CT");
        check_finite(ct, opt.threads);
        // crop_to_nonzero's bbox (half-open; all-zero -> full extent), per z slice, then merged (deterministic)
        std::vector<std::array<index_t, 5>> per_z(static_cast<size_t>(d[2]));
        parallel_for(opt.threads, d[2], [&](std::ptrdiff_t z0, std::ptrdiff_t z1, int) {
            for (std::ptrdiff_t z = z0; z < z1; ++z) {
                std::array<index_t, 5> b{d[0], d[1], 0, 0, 0};  // lo x, lo y, hi x, hi y, any non-zero
                const float* sl = ct.data() + z * d[0] * d[1];
                for (index_t y = 0; y < d[1]; ++y)
                    for (index_t x = 0; x < d[0]; ++x)
                        if (sl[y * d[0] + x] != 0.0f) {
                            b[0] = std::min(b[0], x), b[1] = std::min(b[1], y);
                            b[2] = std::max(b[2], x + 1), b[3] = std::max(b[3], y + 1), b[4] = 1;
                        }
                per_z[static_cast<size_t>(z)] = b;
            }
        }, 1);
        std::array<index_t, 3> lo_o{d[2], d[1], d[0]}, hi_o{0, 0, 0};  // nnU-Net (z, y, x)
        for (index_t z = 0; z < d[2]; ++z) {
            const auto& b = per_z[static_cast<size_t>(z)];
            if (!b[4]) continue;
            lo_o = {std::min(lo_o[0], z), std::min(lo_o[1], b[1]), std::min(lo_o[2], b[0])};
            hi_o = {std::max(hi_o[0], z + 1), std::max(hi_o[1], b[3]), std::max(hi_o[2], b[2])};
        }
        if (hi_o[0] == 0) lo_o = {0, 0, 0}, hi_o = {d[2], d[1], d[0]};
        detail::case_plan p;
        init_plan_shapes(d, ct.spacing_mm(), lo_o, hi_o, p);
        p.mem = estimate_for(p, opt, probabilities);
        if (opt.memory_limit_bytes && p.mem.peak_bytes > opt.memory_limit_bytes)
            throw error(errc::size_limit,
                        ctspine::detail::cat("segment: needs about ", p.mem.peak_bytes >> 20, " MiB (", p.mem.peak_bytes, " bytes: preprocess ",
                                             p.mem.preprocess_bytes, ", predict ", p.mem.predict_bytes, ", export ", p.mem.export_bytes,
                                             "), more than the memory limit of ", opt.memory_limit_bytes >> 20, " MiB (",
                                             opt.memory_limit_bytes, " bytes)"),
                        "", "memory_limit_bytes", std::to_string(opt.memory_limit_bytes));
        return p;
    }

    /// nnU-Net v1 predict (nnunet-v1-spec.md §3-5): crop → transpose → NaN→0 → resample raw HU (order 3, order_z 0)
    /// → CT normalisation (clip, − mean, / sd in float32, no epsilon) → v1 sliding window (softmax probabilities,
    /// float32) per fold, float32 fold mean → transpose back → probabilities resampled to the crop (order 1; separate-z
    /// checks the original spacing first, then the plans' spacing as given — v1's transposed-order quirk) → argmax
    /// (first maximum) → uncrop. Probabilities, if asked for, are the exported ones; outside the crop background = 1.
    void run_v1(const volume<float>& ct, volume_view<std::uint16_t> out, float* probs, const detail::case_plan& p,
                const segment_options& opt) const {
        const auto& cfg = model_.configuration();
        const nnunet_v1_plans& v1 = *model_.v1_plans();
        auto stage = [&](double f, const char* what) { ctspine::detail::report(opt.progress, f, what); };
        stage(0.0, "preprocess");
        const nnunet::shape3& sc = p.sc;
        const nnunet::shape3& sn = p.sn;
        const index_t n_cls = num_classes();
        nn::tensor input({1, sn[0], sn[1], sn[2]});
        {
            const bool resample = sc != sn;
            std::vector<float> crop_buf(resample ? static_cast<size_t>(sc[0] * sc[1] * sc[2]) : 0);
            float* crop = resample ? crop_buf.data() : input.data();
            gather_crop<true>(ct, p, crop, opt.threads);  // v1: data[np.isnan(data)] = 0
            if (resample)
                nnunet::resample_data_or_seg_to_shape<float, float>(crop, sc, input.data(), sn, p.spt, p.target, 3, 0, std::nullopt,
                                                                    opt.threads);
            const auto& ip = v1.intensity.at(0);
            const float lo = float(ip.percentile_00_5), hi = float(ip.percentile_99_5), mean = float(ip.mean), sd = float(ip.sd);
            float* d = input.data();
            parallel_for(opt.threads, input.size(), [&](index_t b, index_t e, int) {
                ctspine::detail::ct_normalize_kernel(d + b, d + b, e - b, lo, hi, mean, sd);
            }, 1 << 16);
        }
        stage(0.05, "preprocess");

        nnunet_v1_sliding_window_options so;
        so.step_size = opt.step_size;
        so.threads = opt.threads;
        if (opt.mirroring.value_or(true) && model_.mirror_axes()) so.mirror_axes = *model_.mirror_axes();
        const auto& nets = model_.networks();
        const auto n_folds = static_cast<double>(nets.size());
        const nn::shape3i patch{cfg.patch_size[0], cfg.patch_size[1], cfg.patch_size[2]};
        nn::tensor sm;
        for (size_t f = 0; f < nets.size(); ++f) {
            if (opt.progress)
                so.progress = [&, f](double fr, std::string_view) {
                    return opt.progress(0.05 + 0.85 * (static_cast<double>(f) + fr) / n_folds, "predict");
                };
            const nn::unet& net = nets[f];
            const int threads = opt.threads;
            const cpu_isa isa = opt.isa;
            auto fwd = [&net, threads, isa](const nn::tensor& in, nn::tensor& o) { net.forward(in, o, threads, isa); };
            nn::tensor pf = nnunet_v1_predict_sliding_window(input, patch, n_cls, fwd, so);
            if (f == 0) sm = std::move(pf);
            else nnunet_v1_accumulate_fold(sm, pf);
            net.release_workspace();
        }
        nnunet_v1_finish_folds(sm, static_cast<index_t>(nets.size()));
        input = nn::tensor();
        stage(0.9, "export");

        // export in nnU-Net's original (z, y, x) axis order: transposed axis i is original axis tf[i]
        const auto& tf = model_.plans().transpose_forward;
        const dims3 d = ct.dims();
        nnunet::shape3 su{}, scu{};
        std::array<index_t, 3> lou{}, strideu{}, snstride{};
        for (size_t i = 0; i < 3; ++i) {
            const auto a = static_cast<size_t>(tf[i]);
            su[a] = sn[i];
            scu[a] = sc[i];
            lou[a] = p.lo[i];
        }
        strideu = {d[0] * d[1], d[0], 1};
        snstride = {sn[1] * sn[2], sn[2], 1};  // strides of the transposed prediction
        std::array<index_t, 3> src_stride{};    // stride in the prediction of original axis a
        for (size_t i = 0; i < 3; ++i) src_stride[static_cast<size_t>(tf[i])] = snstride[i];
        const auto sp = ct.spacing_mm();
        const nnunet::spacing3 orig_sp{sp[2], sp[1], sp[0]};
        const index_t N = out.size(), nu = su[0] * su[1] * su[2], ncu = scu[0] * scu[1] * scu[2];
        const bool resample = scu != su;
        std::fill(out.begin(), out.end(), std::uint16_t(0));
        if (probs) {
            std::fill(probs, probs + N, 1.0f);
            std::fill(probs + N, probs + n_cls * N, 0.0f);
        }
        std::vector<float> chan(static_cast<size_t>(nu)), tmp(resample ? static_cast<size_t>(ncu) : 0),
            best(static_cast<size_t>(ncu));
        std::uint16_t* o = out.data();
        for (index_t c = 0; c < n_cls; ++c) {
            const float* pc = sm.channel(c);
            parallel_for(opt.threads, su[0], [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
                for (std::ptrdiff_t i = i0; i < i1; ++i)
                    for (index_t j = 0; j < su[1]; ++j)
                        for (index_t k = 0; k < su[2]; ++k)
                            chan[static_cast<size_t>((i * su[1] + j) * su[2] + k)] =
                                pc[i * src_stride[0] + j * src_stride[1] + k * src_stride[2]];
            }, 1);
            if (resample)
                nnunet::resample_data_or_seg_to_shape<float, float>(chan.data(), su, tmp.data(), scu, orig_sp, p.target,
                                                                    v1.export_interpolation_order, v1.export_interpolation_order_z,
                                                                    v1.export_force_separate_z, opt.threads);
            const float* v = resample ? tmp.data() : chan.data();
            parallel_for(opt.threads, scu[0], [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
                for (std::ptrdiff_t i = i0; i < i1; ++i)
                    for (index_t j = 0; j < scu[1]; ++j)
                        for (index_t k = 0; k < scu[2]; ++k) {
                            const auto q = static_cast<size_t>((i * scu[1] + j) * scu[2] + k);
                            const index_t m = (i + lou[0]) * strideu[0] + (j + lou[1]) * strideu[1] + (k + lou[2]) * strideu[2];
                            if (probs) probs[c * N + m] = v[q];
                            if (c == 0 || v[q] > best[q]) {  // argmax: first maximum wins
                                best[q] = v[q];
                                o[m] = static_cast<std::uint16_t>(c);
                            }
                        }
            }, 1);
            ctspine::detail::report(opt.progress, 0.9 + 0.09 * static_cast<double>(c + 1) / static_cast<double>(n_cls), "export");
        }
        if (v1_pp_ && opt.v1_postprocessing) {
            // load_remove_save: volume_per_voxel = float(np.prod(GetSpacing())) — (x·y)·z in float64
            const double vpv = sp[0] * sp[1] * sp[2];
            apply_nnunet_v1_postprocessing<std::uint16_t>(out, *v1_pp_, vpv, opt.threads);
        }
        stage(1.0, "done");
    }

    void load_v1_postprocessing() {
        if (model_.format_version() != 1) return;
        const std::filesystem::path f = std::filesystem::path(model_.folder()) / "postprocessing.json";
        std::error_code ec;
        if (std::filesystem::exists(f, ec)) v1_pp_ = read_nnunet_v1_postprocessing(f.string());
    }

    void run(const volume<float>& ct, volume_view<std::uint16_t> out, float* probs, const detail::case_plan& p,
             const segment_options& opt) const {
        if (model_.format_version() == 1) return run_v1(ct, out, probs, p, opt);
        const auto& cfg = model_.configuration();
        auto stage = [&](double f, const char* what) { ctspine::detail::report(opt.progress, f, what); };
        stage(0.0, "preprocess");
        const nnunet::shape3& sc = p.sc;
        const nnunet::shape3& sn = p.sn;
        const index_t n_cls = num_classes();

        // 1-2. transpose + crop in one gather from the CT; 3. CTNormalization (float32, in place);
        // 4. resample to the configuration spacing (order 3, order_z 0, separate-z rule)
        const auto& ip = model_.plans().foreground_intensity_properties.at(0);
        const ct_normalization norm{ip.percentile_00_5, ip.percentile_99_5, ip.mean, ip.std};
        nn::tensor input({1, sn[0], sn[1], sn[2]});
        {
            const bool resample = sc != sn;
            std::vector<float> crop_buf(resample ? static_cast<size_t>(sc[0] * sc[1] * sc[2]) : 0);
            float* crop = resample ? crop_buf.data() : input.data();
            gather_crop<false>(ct, p, crop, opt.threads);
            ct_normalize(crop, crop, sc[0] * sc[1] * sc[2], norm, opt.threads);
            if (resample)
                nnunet::resample_data_or_seg_to_shape<float, float>(crop, sc, input.data(), sn, p.spt, p.target, cfg.resampling_data.order,
                                                                    cfg.resampling_data.order_z, cfg.resampling_data.force_separate_z,
                                                                    opt.threads);
        }
        stage(0.05, "preprocess");

        // 5. sliding window per fold, fold averaging (fp16 halves as nnU-Net's torch.half, or float32)
        nn::sliding_window_options so;
        so.step_size = opt.step_size;
        so.fp16_accumulation = opt.fp16_accumulation;
        so.threads = opt.threads;
        const bool mirror = opt.mirroring.value_or(true);
        if (mirror && model_.mirror_axes()) so.mirror_axes = *model_.mirror_axes();
        const auto& nets = model_.networks();
        const auto n_folds = static_cast<double>(nets.size());
        const nn::shape3i patch{cfg.patch_size[0], cfg.patch_size[1], cfg.patch_size[2]};
        std::vector<std::uint16_t> logits16;
        nn::tensor logits32;
        for (size_t f = 0; f < nets.size(); ++f) {
            if (opt.progress)
                so.progress = [&, f](double fr, std::string_view) {
                    return opt.progress(0.05 + 0.85 * (static_cast<double>(f) + fr) / n_folds, "predict");
                };
            const nn::unet& net = nets[f];
            const int threads = opt.threads;
            const cpu_isa isa = opt.isa;
            auto fwd = [&net, threads, isa](const nn::tensor& in, nn::tensor& o) { net.forward(in, o, threads, isa); };
            if (opt.fp16_accumulation) {
                std::vector<std::uint16_t> lf = nn::predict_sliding_window_half(input, patch, n_cls, fwd, so);
                if (f == 0) logits16 = std::move(lf);
                else nn::accumulate_fold_half(logits16, lf);
            } else {
                nn::tensor lf = nn::predict_sliding_window(input, patch, n_cls, fwd, so);
                if (f == 0) logits32 = std::move(lf);
                else nn::accumulate_fold(logits32, lf, false);
            }
            net.release_workspace();  // one workspace alive at a time, none during export
        }
        if (opt.fp16_accumulation) nn::finish_folds_half(logits16, static_cast<index_t>(nets.size()));
        else nn::finish_folds(logits32, static_cast<index_t>(nets.size()), false);
        input = nn::tensor();
        stage(0.9, "export");

        // 6-7. export per channel: logits back to the cropped shape (order 1, separate-z rule; fp16 stored with one
        // rounding), argmax (first maximum) or softmax, written straight onto the CT's grid (uncrop + transpose back)
        if (opt.fp16_accumulation) export_logits<detail::half_out>(logits16.data(), nullptr, out, probs, p, opt);
        else export_logits<float>(nullptr, &logits32, out, probs, p, opt);
        stage(1.0, "done");
    }

    template <class Out>
    void export_logits(const std::uint16_t* l16, const nn::tensor* l32, volume_view<std::uint16_t> out, float* probs,
                       const detail::case_plan& p, const segment_options& opt) const {
        const auto& cfg = model_.configuration();
        const nnunet::shape3& sc = p.sc;
        const nnunet::shape3& sn = p.sn;
        const index_t n_cls = num_classes();
        const index_t N = out.size(), nn_vox = sn[0] * sn[1] * sn[2], nc_vox = sc[0] * sc[1] * sc[2];
        const bool resample = sc != sn;
        std::fill(out.begin(), out.end(), std::uint16_t(0));
        if (probs) {  // outside the crop: background probability 1 (revert_cropping_on_probabilities)
            std::fill(probs, probs + N, 1.0f);
            std::fill(probs + N, probs + n_cls * N, 0.0f);
        }
        std::vector<float> chan(l16 ? static_cast<size_t>(nn_vox) : 0);
        std::vector<Out> tmp(resample ? static_cast<size_t>(nc_vox) : 0);
        std::vector<Out> best(probs ? 0 : static_cast<size_t>(nc_vox));
        std::uint16_t* o = out.data();
        for (index_t c = 0; c < n_cls; ++c) {
            const float* src = l16 ? chan.data() : l32->channel(c);
            if (l16) half_to_float_n(l16 + c * nn_vox, chan.data(), static_cast<size_t>(nn_vox));
            if (resample)
                nnunet::resample_data_or_seg_to_shape<float, Out>(src, sn, tmp.data(), sc, p.target, p.spt, cfg.resampling_probabilities.order,
                                                                  cfg.resampling_probabilities.order_z,
                                                                  cfg.resampling_probabilities.force_separate_z, opt.threads);
            parallel_for(opt.threads, sc[0], [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
                for (std::ptrdiff_t i = i0; i < i1; ++i)
                    for (index_t j = 0; j < sc[1]; ++j) {
                        const index_t q0 = (i * sc[1] + j) * sc[2];
                        const index_t base = p.crop_index(i, j, 0);
                        for (index_t k = 0; k < sc[2]; ++k) {
                            const auto q = static_cast<size_t>(q0 + k);
                            const float v = resample ? detail::stored_value(tmp[q]) : src[q];
                            const index_t m = base + k * p.stride[2];
                            if (probs) {
                                probs[c * N + m] = v;
                            } else if (c == 0 || v > detail::stored_value(best[q])) {  // np.argmax: first maximum wins
                                best[q] = Out(static_cast<double>(v));
                                o[m] = static_cast<std::uint16_t>(c);
                            }
                        }
                    }
            }, 1);
            ctspine::detail::report(opt.progress, 0.9 + 0.09 * static_cast<double>(c + 1) / static_cast<double>(n_cls), "export");
        }
        if (!probs) return;
        // softmax over channels (torch.softmax(logits.float(), 0)); label = argmax of the probabilities (first maximum)
        parallel_for(opt.threads, sc[0], [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
            for (std::ptrdiff_t i = i0; i < i1; ++i)
                for (index_t j = 0; j < sc[1]; ++j)
                    for (index_t k = 0; k < sc[2]; ++k) {
                        const index_t m = p.crop_index(i, j, k);
                        softmax_strided(probs + m, n_cls, N);
                        index_t arg = 0;
                        for (index_t c = 1; c < n_cls; ++c)
                            if (probs[c * N + m] > probs[arg * N + m]) arg = c;
                        o[m] = static_cast<std::uint16_t>(arg);
                    }
        }, 1);
    }

private:
    void check_supported() const {
        const auto& cfg = model_.configuration();
        if (model_.format_version() == 1) {
            if (cfg.normalization_schemes.size() != 1 || cfg.normalization_schemes[0] != "CT")
                throw error(errc::unsupported, "segment: nnU-Net v1 models: only single-channel 'CT' normalisation is supported",
                            model_.folder(), "normalization_schemes", cfg.normalization_schemes.empty() ? "" : cfg.normalization_schemes[0]);
            if (model_.v1_plans()->intensity.empty() || !(model_.v1_plans()->intensity[0].sd > 0))
                throw error(errc::model_format, "segment: v1 plans have no usable intensityproperties (sd must be > 0)", model_.folder());
            return;
        }
        if (cfg.normalization_schemes.size() != 1)
            throw error(errc::unsupported, "segment: only single-channel (CT) models are supported", model_.folder());
        if (cfg.normalization_schemes[0] != "CTNormalization")
            throw error(errc::unsupported, "segment: only CTNormalization is supported", model_.folder(), "normalization_schemes",
                        cfg.normalization_schemes[0]);
        if (model_.plans().foreground_intensity_properties.empty())
            throw error(errc::model_format, "segment: plans have no foreground_intensity_properties_per_channel", model_.folder());
        if (model_.dataset().has_regions)
            throw error(errc::unsupported, "segment: region-based models are not supported", model_.folder());
        if (model_.networks().empty()) throw error(errc::model_format, "segment: no networks loaded", model_.folder());
        const auto& tf = model_.plans().transpose_forward;
        const auto& tb = model_.plans().transpose_backward;
        for (size_t i = 0; i < 3; ++i)  // both are permutations (checked by the plans reader); tf[tb[i]] == i
            if (tf[static_cast<size_t>(tb[i])] != static_cast<int>(i))
                throw error(errc::model_format, "segment: transpose_backward does not invert transpose_forward", model_.folder(),
                            "transpose_backward");
    }

    nnunet_model model_;
    std::optional<nnunet_v1_postprocessing> v1_pp_;
};

}  // namespace ctspine
