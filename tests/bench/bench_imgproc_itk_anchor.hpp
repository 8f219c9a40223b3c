// ITK anchor of bench_imgproc (built only when find_package(ITK) succeeds; see tests/bench/CMakeLists.txt).
// A separate translation unit compiled without the project's -Wpedantic dev flags: ITK's headers are not ours.
#pragma once
#include <cstdint>

namespace itk_anchor {

/// itk::ResampleImageFilter<int16 image, float image> with LinearInterpolateImageFunction and the identity transform,
/// onto the grid of a zoom to out_dims over the same field of view (origin 0, spacing sp, identity direction in;
/// out: spacing sp·n/m, first voxel centre at (0.5·n/m − 0.5)·sp — the scipy grid_mode / ctspine resample_to_shape grid).
/// `threads` work units and global threads. Returns the median seconds of `reps` Update() calls (ITK allocates a new
/// output buffer each time); the last output is copied into `out` if not null.
double resample_linear(const std::int16_t* in, const long dims[3], const double sp[3], const long out_dims[3], int threads, int reps, float* out);

/// itk::IntensityWindowingImageFilter<float, float>, window [lo, hi] → [0, 1]. Median seconds of `reps` runs.
double window(const float* in, const long dims[3], float lo, float hi, int threads, int reps, float* out);

}  // namespace itk_anchor
