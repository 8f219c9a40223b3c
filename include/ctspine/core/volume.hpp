// ctspine — 3-D volumes: owning `volume<T>` and non-owning `volume_view<T>`, x fastest.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"

namespace ctspine {

/// Non-owning view of contiguous voxels, x fastest: element (i, j, k) is data[i + dims[0]*(j + dims[1]*k)].
template <class T>
class volume_view {
public:
    using value_type = std::remove_const_t<T>;
    volume_view() = default;
    volume_view(T* data, const ctspine::geometry& g) : data_(data), geom_(g) { (void)geom_.voxel_count(); }
    /// A const view of a mutable one.
    template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
    volume_view(const volume_view<U>& o) : data_(o.data()), geom_(o.geometry()) {}

    T* data() const noexcept { return data_; }
    const ctspine::geometry& geometry() const noexcept { return geom_; }
    ctspine::geometry& geometry() noexcept { return geom_; }
    const dims3& dims() const noexcept { return geom_.dims; }
    const std::array<double, 3>& spacing_mm() const noexcept { return geom_.spacing_mm; }
    const affine4& ijk_to_ras() const noexcept { return geom_.ijk_to_ras; }
    index_t size() const noexcept { return geom_.dims[0] * geom_.dims[1] * geom_.dims[2]; }
    bool empty() const noexcept { return size() == 0; }

    index_t offset(index_t i, index_t j, index_t k) const noexcept {
        return i + geom_.dims[0] * (j + geom_.dims[1] * k);
    }
    T& operator()(index_t i, index_t j, index_t k) const noexcept { return data_[offset(i, j, k)]; }
    T& operator[](index_t n) const noexcept { return data_[n]; }
    T* begin() const noexcept { return data_; }
    T* end() const noexcept { return data_ + size(); }

private:
    T* data_ = nullptr;
    ctspine::geometry geom_{};
};

namespace detail {
inline constexpr std::size_t volume_alignment = 64;  // one cache line / one AVX-512 register

/// Allocate n default-initialised (not zeroed) Ts, 64-byte aligned. Throws errc::out_of_memory.
template <class T>
struct aligned_deleter {
    void operator()(T* p) const noexcept { ::operator delete[](static_cast<void*>(p), std::align_val_t(volume_alignment)); }
};
template <class T>
std::unique_ptr<T[], aligned_deleter<T>> allocate_uninit(index_t n) {
    static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                  "volume<T> holds trivial types only");
    if (n < 0) throw error(errc::size_limit, cat("negative allocation ", n));
    std::size_t bytes = static_cast<std::size_t>(checked_mul(n, static_cast<index_t>(sizeof(T))));
    if (bytes == 0) bytes = volume_alignment;
    void* p = ::operator new[](bytes, std::align_val_t(volume_alignment), std::nothrow);
    if (!p) throw error(errc::out_of_memory, cat("cannot allocate ", bytes, " bytes"));
    return std::unique_ptr<T[], aligned_deleter<T>>(static_cast<T*>(p));
}
}  // namespace detail

/// Owning, contiguous, 64-byte-aligned volume. Copyable (deep copy) and movable.
template <class T>
class volume {
public:
    using value_type = T;
    volume() = default;
    /// Uninitialised voxels (no page is touched: the caller writes every voxel).
    explicit volume(const ctspine::geometry& g) : geom_(g), buf_(detail::allocate_uninit<T>(g.voxel_count())) {}
    volume(const ctspine::geometry& g, T fill) : volume(g) { std::fill(begin(), end(), fill); }
    /// Convenience: dims with unit spacing and a diagonal affine.
    explicit volume(const dims3& d) : volume(make_geometry(d)) {}
    volume(const dims3& d, T fill) : volume(make_geometry(d), fill) {}

    volume(const volume& o) : volume(o.geom_) { std::copy(o.begin(), o.end(), begin()); }
    volume& operator=(const volume& o) {
        if (this != &o) *this = volume(o);
        return *this;
    }
    volume(volume&&) noexcept = default;
    volume& operator=(volume&&) noexcept = default;

    T* data() noexcept { return buf_.get(); }
    const T* data() const noexcept { return buf_.get(); }
    const ctspine::geometry& geometry() const noexcept { return geom_; }
    /// Replace the geometry; dims must stay the same (the voxel count is fixed by the buffer).
    void set_geometry(const ctspine::geometry& g) {
        if (g.dims != geom_.dims) throw error(errc::shape_mismatch, "volume::set_geometry: dims differ");
        geom_ = g;
    }
    const dims3& dims() const noexcept { return geom_.dims; }
    const std::array<double, 3>& spacing_mm() const noexcept { return geom_.spacing_mm; }
    const affine4& ijk_to_ras() const noexcept { return geom_.ijk_to_ras; }
    index_t size() const noexcept { return geom_.dims[0] * geom_.dims[1] * geom_.dims[2]; }
    bool empty() const noexcept { return size() == 0; }

    index_t offset(index_t i, index_t j, index_t k) const noexcept {
        return i + geom_.dims[0] * (j + geom_.dims[1] * k);
    }
    T& operator()(index_t i, index_t j, index_t k) noexcept { return buf_[offset(i, j, k)]; }
    const T& operator()(index_t i, index_t j, index_t k) const noexcept { return buf_[offset(i, j, k)]; }
    T& operator[](index_t n) noexcept { return buf_[n]; }
    const T& operator[](index_t n) const noexcept { return buf_[n]; }
    T* begin() noexcept { return data(); }
    T* end() noexcept { return data() + size(); }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return data() + size(); }

    volume_view<T> view() noexcept { return volume_view<T>(data(), geom_); }
    volume_view<const T> view() const noexcept { return volume_view<const T>(data(), geom_); }
    operator volume_view<T>() noexcept { return view(); }
    operator volume_view<const T>() const noexcept { return view(); }

private:
    static ctspine::geometry make_geometry(const dims3& d) {
        ctspine::geometry g;
        g.dims = d;
        return g;
    }
    ctspine::geometry geom_{};
    std::unique_ptr<T[], detail::aligned_deleter<T>> buf_{};
};

}  // namespace ctspine
