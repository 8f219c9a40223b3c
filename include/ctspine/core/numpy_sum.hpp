// ctspine — NumPy's summation order, for results that must equal NumPy's to the last bit (nnU-Net's Gaussian
// importance map, the evaluation metrics' means and surface sums).
#pragma once
#include <cstddef>

namespace ctspine {
namespace detail {

/// NumPy's pairwise summation of a contiguous float64 array (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum,
/// PW_BLOCKSIZE 128): a plain loop below 8 elements, 8 accumulators up to 128, recursion at a split rounded down to a
/// multiple of 8. `ndarray.sum()` starts from the add identity: 0.0 + numpy_pairwise_sum(...).
inline double numpy_pairwise_sum(const double* a, std::size_t n) {
    if (n < 8) {
        double r = 0.0;
        for (std::size_t i = 0; i < n; ++i) r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        std::size_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + static_cast<std::size_t>(j)];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    }
    std::size_t n2 = n / 2;
    n2 -= n2 % 8;
    return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

}  // namespace detail
}  // namespace ctspine
