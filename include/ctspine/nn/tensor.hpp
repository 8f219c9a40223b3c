// ctspine — a float32 tensor for one sample, logically (C, D, H, W) with W fastest (W = x of the volume).
#pragma once
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {
namespace nn {

/// Shape of one sample: channels, depth, height, width (W fastest in memory).
using shape4 = std::array<index_t, 4>;

/// Owning, contiguous, 64-byte-aligned float32 tensor (C, D, H, W). Element (c, d, h, w) is at
/// ((c·D + d)·H + h)·W + w. This is the engine's edge format; kernels may use blocked layouts inside.
class tensor {
public:
    tensor() = default;
    explicit tensor(const shape4& s) : shape_(s), buf_(detail::allocate_uninit<float>(count(s))) {}
    tensor(const shape4& s, float fill) : tensor(s) { std::fill(data(), data() + size(), fill); }
    tensor(const tensor& o) : tensor(o.shape_) { std::memcpy(data(), o.data(), sizeof(float) * static_cast<size_t>(size())); }
    tensor& operator=(const tensor& o) {
        if (this != &o) *this = tensor(o);
        return *this;
    }
    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;

    const shape4& shape() const noexcept { return shape_; }
    index_t channels() const noexcept { return shape_[0]; }
    index_t spatial_size() const noexcept { return shape_[1] * shape_[2] * shape_[3]; }
    index_t size() const noexcept { return shape_[0] * spatial_size(); }
    float* data() noexcept { return buf_.get(); }
    const float* data() const noexcept { return buf_.get(); }
    float* channel(index_t c) noexcept { return data() + c * spatial_size(); }
    const float* channel(index_t c) const noexcept { return data() + c * spatial_size(); }
    float& operator()(index_t c, index_t d, index_t h, index_t w) noexcept {
        return buf_[((c * shape_[1] + d) * shape_[2] + h) * shape_[3] + w];
    }
    float operator()(index_t c, index_t d, index_t h, index_t w) const noexcept {
        return buf_[((c * shape_[1] + d) * shape_[2] + h) * shape_[3] + w];
    }

    static index_t count(const shape4& s) { return ctspine::detail::checked_extent_product(s); }

private:
    shape4 shape_{0, 0, 0, 0};
    std::unique_ptr<float[], detail::aligned_deleter<float>> buf_{};
};

/// A named parameter as stored in a PyTorch state_dict: shape (any rank) and float32 values, C order.
struct parameter {
    std::vector<index_t> shape;
    std::vector<float> values;
};
/// Parameters by their PyTorch / dynamic_network_architectures key (e.g. "encoder.stages.0.0.convs.0.conv.weight").
using state_dict = std::map<std::string, parameter>;

}  // namespace nn
}  // namespace ctspine
