// ctspine — the description of an nnU-Net 3-D network (what plans.json's arch_kwargs say), shared by the
// engine (nn/unet.hpp) and the model loader (model/nnunet_model.hpp).
#pragma once
#include <array>
#include <string>
#include <vector>

namespace ctspine {
namespace nn {

enum class unet_kind {
    plain,             ///< dynamic_network_architectures PlainConvUNet
    residual_encoder   ///< dynamic_network_architectures ResidualEncoderUNet (BasicBlockD encoder)
};
enum class nonlinearity { leaky_relu, relu };

/// All per-axis arrays are in tensor axis order (D, H, W) = plans.json's (transposed) axis order.
struct unet_config {
    unet_kind kind = unet_kind::plain;
    int input_channels = 1;
    int num_classes = 2;                              ///< segmentation heads incl. background
    std::vector<int> features_per_stage;              ///< e.g. 32, 64, 128, 256, 320, 320
    std::vector<std::array<int, 3>> kernel_sizes;     ///< per stage, each entry 1 or 3
    std::vector<std::array<int, 3>> strides;          ///< per stage, each entry 1 or 2; stage 0 is usually {1,1,1}
    std::vector<int> n_conv_per_stage;                ///< encoder: convs (plain) or residual blocks (ResEnc) per stage
    std::vector<int> n_conv_per_stage_decoder;        ///< n_stages - 1 entries
    /// Decoder stage s (s = 0 lowest resolution) kernel; empty = the matching encoder stage's kernel
    /// (kernel_sizes[n_stages - 2 - s]). Some architectures use another (e.g. one level deeper).
    std::vector<std::array<int, 3>> decoder_kernel_sizes;
    bool conv_bias = true;
    bool transpconv_bias = true;                      ///< transposed convs have a bias (only if conv_bias too)
    bool seg_head_bias = true;                        ///< 1×1×1 segmentation heads have a bias
    double norm_eps = 1e-5;                           ///< InstanceNorm3d eps
    bool norm_affine = true;
    nonlinearity nonlin = nonlinearity::leaky_relu;
    double negative_slope = 0.01;                     ///< PyTorch LeakyReLU default (plans do not store it)

    int n_stages() const noexcept { return static_cast<int>(features_per_stage.size()); }
    /// Product of strides per axis: patch sizes must be divisible by this.
    std::array<int, 3> total_stride() const noexcept {
        std::array<int, 3> t{1, 1, 1};
        for (auto& s : strides)
            for (int a = 0; a < 3; ++a) t[a] *= s[a];
        return t;
    }
};

}  // namespace nn
}  // namespace ctspine
