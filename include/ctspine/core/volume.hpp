// ctspine — 3-D volumes: owning `volume<T>` and non-owning `volume_view<T>`, x fastest.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#if defined(__linux__)
#include <sys/mman.h>  // madvise(MADV_HUGEPAGE) for large buffers
#endif

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
/// Buffers of at least this many bytes are aligned to 2 MiB (the x86-64 / arm64-4K huge page) and advised as
/// transparent-huge-page candidates: the first write to a fresh buffer then takes one page fault per 2 MiB
/// instead of one per 4 KiB. On the benchmark machine first-touch faults of a 210 MB volume cost 0.6 s with
/// 4 KiB pages and 0.02 s with huge pages (the project README, Performance, measures the same effect).
inline constexpr std::size_t huge_page_bytes = std::size_t(2) << 20;

/// Deleter of allocate_uninit buffers: remembers the alignment used and the bytes allocated in front of the data.
template <class T>
struct aligned_deleter {
    std::size_t alignment = volume_alignment;
    std::size_t prefix = 0;
    void operator()(T* p) const noexcept {
        ::operator delete[](static_cast<void*>(reinterpret_cast<unsigned char*>(p) - prefix), std::align_val_t(alignment));
    }
};

/// Allocate n default-initialised (not zeroed) Ts, 64-byte aligned, with `prefix_bytes` (rounded up to a multiple
/// of 64) of extra uninitialised room in front of element 0 — readers decode a file header there so the data
/// land in place. Large buffers are huge-page aligned and advised (see huge_page_bytes). Throws errc::out_of_memory.
template <class T>
std::unique_ptr<T[], aligned_deleter<T>> allocate_uninit(index_t n, std::size_t prefix_bytes = 0) {
    static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                  "volume<T> holds trivial types only");
    if (n < 0) throw error(errc::size_limit, cat("negative allocation ", n));
    if (prefix_bytes > (std::size_t(1) << 30)) throw error(errc::size_limit, cat("allocation prefix of ", prefix_bytes, " bytes"));
    const std::size_t prefix = (prefix_bytes + volume_alignment - 1) / volume_alignment * volume_alignment;
    std::size_t bytes = static_cast<std::size_t>(checked_mul(n, static_cast<index_t>(sizeof(T))));
    if (bytes > std::numeric_limits<std::size_t>::max() - prefix - huge_page_bytes)
        throw error(errc::size_limit, cat("cannot allocate ", bytes, " bytes"));
    bytes += prefix;
    if (bytes == 0) bytes = volume_alignment;
    const std::size_t align = bytes >= huge_page_bytes ? huge_page_bytes : volume_alignment;
    void* p = ::operator new[](bytes, std::align_val_t(align), std::nothrow);
    if (!p) throw error(errc::out_of_memory, cat("cannot allocate ", bytes, " bytes"));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == huge_page_bytes) (void)::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    aligned_deleter<T> d;
    d.alignment = align;
    d.prefix = prefix;
    return std::unique_ptr<T[], aligned_deleter<T>>(reinterpret_cast<T*>(static_cast<unsigned char*>(p) + prefix), d);
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
    /// Adopt a buffer from detail::allocate_uninit holding at least g.voxel_count() elements (used by readers that
    /// decode a file into a buffer they allocated themselves).
    volume(const ctspine::geometry& g, std::unique_ptr<T[], detail::aligned_deleter<T>> buf) : geom_(g), buf_(std::move(buf)) {
        (void)geom_.voxel_count();
        if (!buf_) throw error(errc::invalid_argument, "volume: null buffer");
    }
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
