// ctspine — the nnU-Net v2 segmentation pipeline (nnUNetv2_predict for one 3-D CT, CPU), ../../../../shared/docs/
// nnunet-spec.md §4: transpose to the plans' axis order, crop to non-zero, CTNormalization, resample (order 3,
// separate-z rule), sliding window with fp16 accumulation and mirroring TTA, fold averaging, export resampling of the
// fp16 logits (order 1), argmax (first max), uncrop, transpose back — onto the CT's own voxel grid.
//
// Axes: a ctspine volume (x, y, z) with x fastest is, in memory, the SimpleITK array nnU-Net reads, of shape
// (z, y, x) (nnunet-spec.md §4.1); nnU-Net axis a is our axis 2 − a, and its spacing is our spacing reversed.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/half.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/imgproc/intensity.hpp"
#include "ctspine/imgproc/nnunet_resample.hpp"
#include "ctspine/io/nnunet_model.hpp"
#include "ctspine/nn/sliding_window.hpp"

namespace ctspine {

/// Options of segmenter::segment (nnUNetPredictor defaults).
struct segment_options {
    std::optional<bool> mirroring;  ///< nullopt = the checkpoint's inference_allowed_mirroring_axes (nnU-Net default on)
    double step_size = 0.5;         ///< tile_step_size
    bool fp16_accumulation = true;  ///< nnU-Net's torch.half accumulators (false: float32, not nnU-Net-identical)
    int threads = 0;                ///< 0 = all hardware threads
    progress_fn progress;           ///< fraction over the whole case; return false to cancel (errc::cancelled)
};

namespace detail {

/// double -> fp16 with a single round-to-nearest-even (NumPy's float64 -> float16 assignment, nnunet-spec.md §4.4).
inline std::uint16_t double_to_half_bits(double d) {
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

/// Permute a C-order 3-D array: out axis i = in axis perm[i].
inline std::vector<float> transpose3(const float* in, const nnunet::shape3& s, const std::array<int, 3>& perm, nnunet::shape3& out_shape) {
    for (int i = 0; i < 3; ++i) out_shape[static_cast<size_t>(i)] = s[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    std::vector<float> out(static_cast<size_t>(s[0] * s[1] * s[2]));
    const std::array<index_t, 3> stride{s[1] * s[2], s[2], 1};
    size_t q = 0;
    for (index_t i = 0; i < out_shape[0]; ++i)
        for (index_t j = 0; j < out_shape[1]; ++j)
            for (index_t k = 0; k < out_shape[2]; ++k)
                out[q++] = in[i * stride[static_cast<size_t>(perm[0])] + j * stride[static_cast<size_t>(perm[1])] +
                              k * stride[static_cast<size_t>(perm[2])]];
    return out;
}

}  // namespace detail

/// An nnU-Net v2 3-D model ready to segment CTs. Build once (loads every fold), call segment() many times.
class segmenter {
public:
    explicit segmenter(const std::string& model_folder, const model_load_options& opt = {})
        : model_(nnunet_model::load(model_folder, opt)) {
        check_supported();
    }
    explicit segmenter(nnunet_model model) : model_(std::move(model)) { check_supported(); }

    const nnunet_model& model() const noexcept { return model_; }
    /// Class names by label value (dataset.json "labels" order).
    std::vector<std::string> class_names() const {
        std::vector<std::string> n;
        for (const auto& l : model_.dataset().labels) n.push_back(l.first);
        return n;
    }

    /// Label map on the CT's own grid (same geometry), label value = argmax channel index.
    volume<std::uint16_t> segment(const volume<float>& ct, const segment_options& opt = {}) const {
        volume<std::uint16_t> out(ct.geometry());
        segment_into(ct, out.view(), opt);
        return out;
    }

    /// As segment(), writing into a caller-supplied view with the CT's dims.
    void segment_into(const volume<float>& ct, volume_view<std::uint16_t> out, const segment_options& opt = {}) const {
        if (out.dims() != ct.dims()) throw error(errc::shape_mismatch, "segment: output dims differ from the CT's");
        const auto& cfg = model_.configuration();
        const auto& plans = model_.plans();
        const dims3 d = ct.dims();
        for (index_t e : d)
            if (e <= 0) throw error(errc::invalid_argument, "segment: empty CT");
        auto stage = [&](double f, const char* what) { ctspine::detail::report(opt.progress, f, what); };
        stage(0.0, "preprocess");

        // 1. nnU-Net array (z, y, x) + transpose_forward
        const nnunet::shape3 s_nn{d[2], d[1], d[0]};
        const nnunet::spacing3 sp_nn{ct.spacing_mm()[2], ct.spacing_mm()[1], ct.spacing_mm()[0]};
        nnunet::shape3 st;
        std::vector<float> data = detail::transpose3(ct.data(), s_nn, plans.transpose_forward, st);
        nnunet::spacing3 spt;
        for (int i = 0; i < 3; ++i) spt[static_cast<size_t>(i)] = sp_nn[static_cast<size_t>(plans.transpose_forward[static_cast<size_t>(i)])];

        // 2. crop to the non-zero bbox (half-open; all-zero -> full extent)
        std::array<index_t, 3> lo{st[0], st[1], st[2]}, hi{0, 0, 0};
        {
            size_t q = 0;
            for (index_t i = 0; i < st[0]; ++i)
                for (index_t j = 0; j < st[1]; ++j)
                    for (index_t k = 0; k < st[2]; ++k, ++q)
                        if (data[q] != 0.0f) {
                            lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
                            hi = {std::max(hi[0], i + 1), std::max(hi[1], j + 1), std::max(hi[2], k + 1)};
                        }
            if (hi[0] == 0) lo = {0, 0, 0}, hi = {st[0], st[1], st[2]};
        }
        const nnunet::shape3 sc{hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
        std::vector<float> crop(static_cast<size_t>(sc[0] * sc[1] * sc[2]));
        for (index_t i = 0; i < sc[0]; ++i)
            for (index_t j = 0; j < sc[1]; ++j)
                std::copy_n(data.data() + ((i + lo[0]) * st[1] + (j + lo[1])) * st[2] + lo[2], sc[2],
                            crop.data() + (i * sc[1] + j) * sc[2]);
        data.clear();
        data.shrink_to_fit();

        // 3. CTNormalization (float32, in place)
        const auto& ip = plans.foreground_intensity_properties.at(0);
        ct_normalization norm{ip.percentile_00_5, ip.percentile_99_5, ip.mean, ip.std};
        ct_normalize(crop.data(), crop.data(), static_cast<index_t>(crop.size()), norm, opt.threads);

        // 4. resample to the configuration spacing (order 3, order_z 0, separate-z rule)
        const nnunet::spacing3 target{cfg.spacing[0], cfg.spacing[1], cfg.spacing[2]};
        const nnunet::shape3 sn = nnunet::compute_new_shape(sc, spt, target);
        nn::tensor input({1, sn[0], sn[1], sn[2]});
        nnunet::resample_data_or_seg_to_shape<float, float>(crop.data(), sc, input.data(), sn, spt, target,
                                                            cfg.resampling_data.order, cfg.resampling_data.order_z,
                                                            cfg.resampling_data.force_separate_z, opt.threads);
        crop.clear();
        crop.shrink_to_fit();
        stage(0.05, "preprocess");

        // 5. sliding window per fold, fold averaging
        nn::sliding_window_options so;
        so.step_size = opt.step_size;
        so.fp16_accumulation = opt.fp16_accumulation;
        so.threads = opt.threads;
        const bool mirror = opt.mirroring.value_or(true);
        if (mirror && model_.mirror_axes()) so.mirror_axes = *model_.mirror_axes();
        const auto& nets = model_.networks();
        const auto n_folds = static_cast<double>(nets.size());
        const index_t n_cls = cfg.network.num_classes;
        const nn::shape3i patch{cfg.patch_size[0], cfg.patch_size[1], cfg.patch_size[2]};
        nn::tensor logits;
        for (size_t f = 0; f < nets.size(); ++f) {
            if (opt.progress)
                so.progress = [&, f](double fr, std::string_view) {
                    return opt.progress(0.05 + 0.85 * (static_cast<double>(f) + fr) / n_folds, "predict");
                };
            const nn::unet& net = nets[f];
            const int threads = opt.threads;
            nn::tensor lf = nn::predict_sliding_window(
                input, patch, n_cls, [&net, threads](const nn::tensor& in, nn::tensor& o) { net.forward(in, o, threads); }, so);
            if (f == 0) logits = std::move(lf);
            else nn::accumulate_fold(logits, lf, opt.fp16_accumulation);
        }
        nn::finish_folds(logits, static_cast<index_t>(nets.size()), opt.fp16_accumulation);
        stage(0.9, "export");

        // 6. export: logits back to the cropped shape (order 1, separate-z rule), stored as fp16 (one rounding)
        const index_t nc_vox = sc[0] * sc[1] * sc[2];
        std::vector<std::uint16_t> lab(static_cast<size_t>(nc_vox), 0);
        {
            std::vector<float> best(static_cast<size_t>(nc_vox), 0.0f);
            std::vector<double> tmp(static_cast<size_t>(nc_vox));
            for (index_t c = 0; c < n_cls; ++c) {
                nnunet::resample_data_or_seg_to_shape<float, double>(logits.channel(c), sn, tmp.data(), sc, target, spt,
                                                                     cfg.resampling_probabilities.order,
                                                                     cfg.resampling_probabilities.order_z,
                                                                     cfg.resampling_probabilities.force_separate_z, opt.threads);
                for (index_t i = 0; i < nc_vox; ++i) {
                    const float v = opt.fp16_accumulation ? half_bits_to_float(detail::double_to_half_bits(tmp[static_cast<size_t>(i)]))
                                                          : static_cast<float>(tmp[static_cast<size_t>(i)]);
                    if (c == 0 || v > best[static_cast<size_t>(i)]) {  // np.argmax: first maximum wins
                        best[static_cast<size_t>(i)] = v;
                        lab[static_cast<size_t>(i)] = static_cast<std::uint16_t>(c);
                    }
                }
            }
        }

        // 7. uncrop (background outside the bbox) and transpose back
        std::vector<float> full(static_cast<size_t>(st[0] * st[1] * st[2]), 0.0f);
        for (index_t i = 0; i < sc[0]; ++i)
            for (index_t j = 0; j < sc[1]; ++j)
                for (index_t k = 0; k < sc[2]; ++k)
                    full[static_cast<size_t>(((i + lo[0]) * st[1] + (j + lo[1])) * st[2] + k + lo[2])] =
                        static_cast<float>(lab[static_cast<size_t>((i * sc[1] + j) * sc[2] + k)]);
        nnunet::shape3 sb;
        const std::vector<float> back = detail::transpose3(full.data(), st, plans.transpose_backward, sb);
        if (sb != s_nn) throw error(errc::model_format, "segment: transpose_backward does not invert transpose_forward");
        std::uint16_t* o = out.data();
        for (size_t i = 0; i < back.size(); ++i) o[i] = static_cast<std::uint16_t>(back[i]);
        out.geometry() = ct.geometry();
        stage(1.0, "done");
    }

private:
    void check_supported() const {
        const auto& cfg = model_.configuration();
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
    }

    nnunet_model model_;
};

}  // namespace ctspine
