// ITK anchor of bench_imgproc: see bench_imgproc_itk_anchor.hpp. Uses ITK's public API only (ITK 5.2, Debian
// libinsighttoolkit5-dev): Image with an imported (non-owned) buffer, ResampleImageFilter + LinearInterpolateImageFunction,
// IntensityWindowingImageFilter, thread counts via MultiThreaderBase::SetGlobalDefaultNumberOfThreads and
// ProcessObject::SetNumberOfWorkUnits.
#include "bench_imgproc_itk_anchor.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include <itkImage.h>
#include <itkIntensityWindowingImageFilter.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkMultiThreaderBase.h>
#include <itkResampleImageFilter.h>

namespace itk_anchor {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class T>
typename itk::Image<T, 3>::Pointer wrap(const T* data, const long dims[3], const double sp[3]) {
    using Image = itk::Image<T, 3>;
    typename Image::Pointer img = Image::New();
    typename Image::RegionType region;
    typename Image::SizeType size;
    for (int a = 0; a < 3; ++a) size[a] = static_cast<itk::SizeValueType>(dims[a]);
    region.SetSize(size);
    img->SetRegions(region);
    typename Image::SpacingType s;
    for (int a = 0; a < 3; ++a) s[a] = sp[a];
    img->SetSpacing(s);
    const size_t n = size_t(dims[0]) * size_t(dims[1]) * size_t(dims[2]);
    // the caller's buffer, not owned (ImportImageContainer::SetImportPointer with LetContainerManageMemory = false)
    img->GetPixelContainer()->SetImportPointer(const_cast<T*>(data), n, false);
    return img;
}

double median(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

void set_threads(itk::ProcessObject* f, int threads) {
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(threads);
    itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads(threads);
    f->GetMultiThreader()->SetMaximumNumberOfThreads(threads);
    f->SetNumberOfWorkUnits(threads);
}

/// Median wall time of `reps` full re-executions of the filter (Modified() forces each Update() to run again).
double time_updates(itk::ProcessObject* f, int threads, int reps) {
    set_threads(f, threads);
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        f->Modified();
        const double t0 = now();
        f->Update();
        t.push_back(now() - t0);
    }
    return median(t);
}

}  // namespace

double resample_linear(const std::int16_t* in, const long dims[3], const double sp[3], const long out_dims[3], int threads, int reps, float* out) {
    using In = itk::Image<std::int16_t, 3>;
    using Out = itk::Image<float, 3>;
    auto img = wrap(in, dims, sp);
    using Filter = itk::ResampleImageFilter<In, Out, double>;
    auto f = Filter::New();
    f->SetInput(img);
    f->SetInterpolator(itk::LinearInterpolateImageFunction<In, double>::New());
    Out::SizeType size;
    Out::SpacingType osp;
    Out::PointType origin;
    for (int a = 0; a < 3; ++a) {
        const double r = double(dims[a]) / double(out_dims[a]);
        size[a] = static_cast<itk::SizeValueType>(out_dims[a]);
        osp[a] = sp[a] * r;
        origin[a] = (0.5 * r - 0.5) * sp[a];
    }
    f->SetSize(size);
    f->SetOutputSpacing(osp);
    f->SetOutputOrigin(origin);
    f->SetDefaultPixelValue(0);
    const double seconds = time_updates(f, threads, reps);
    if (out) std::memcpy(out, f->GetOutput()->GetBufferPointer(), sizeof(float) * size[0] * size[1] * size[2]);
    return seconds;
}

double window(const float* in, const long dims[3], float lo, float hi, int threads, int reps, float* out) {
    using Img = itk::Image<float, 3>;
    const double sp[3] = {1, 1, 1};
    auto img = wrap(in, dims, sp);
    auto f = itk::IntensityWindowingImageFilter<Img, Img>::New();
    f->SetInput(img);
    f->SetWindowMinimum(lo);
    f->SetWindowMaximum(hi);
    f->SetOutputMinimum(0.f);
    f->SetOutputMaximum(1.f);
    const double seconds = time_updates(f, threads, reps);
    if (out) std::memcpy(out, f->GetOutput()->GetBufferPointer(), sizeof(float) * size_t(dims[0]) * size_t(dims[1]) * size_t(dims[2]));
    return seconds;
}

}  // namespace itk_anchor
