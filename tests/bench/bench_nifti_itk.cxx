// ITK anchor of ctspine_bench_nifti (a separate executable so that ITK's include paths and flags never reach our
// targets; built by tests/bench/CMakeLists.txt when find_package(ITK) succeeds, Debian libinsighttoolkit5-dev).
// Reads each given file with itk::ImageFileReader<itk::Image<short, 3>> (NiftiImageIO, registered explicitly),
// `reps` times, and prints "itk: <file> <median seconds> <sum of voxels>" per file; the sum lets the benchmark
// check that ITK read the same voxels. A fresh reader and image per run: each read allocates its buffer, as a
// caller of ITK's reader would.
// Usage: ctspine_bench_nifti_itk_anchor REPS FILE...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkNiftiImageIO.h"
#include "itkNiftiImageIOFactory.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s REPS FILE...\n", argv[0]);
        return 2;
    }
    const int reps = std::max(1, std::atoi(argv[1]));
    itk::NiftiImageIOFactory::RegisterOneFactory();
    using image_t = itk::Image<short, 3>;
    for (int a = 2; a < argc; ++a) {
        std::vector<double> t;
        long long sum = 0;
        for (int r = 0; r < reps; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            auto reader = itk::ImageFileReader<image_t>::New();
            reader->SetFileName(argv[a]);
            try {
                reader->Update();
            } catch (const itk::ExceptionObject& e) {
                std::fprintf(stderr, "itk: cannot read %s: %s\n", argv[a], e.GetDescription());
                return 1;
            }
            image_t::Pointer img = reader->GetOutput();
            t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            const short* p = img->GetBufferPointer();
            const std::size_t n = img->GetLargestPossibleRegion().GetNumberOfPixels();
            sum = 0;
            for (std::size_t i = 0; i < n; ++i) sum += p[i];
        }
        std::sort(t.begin(), t.end());
        std::printf("itk: %s %.6f %lld\n", argv[a], t[t.size() / 2], sum);
        std::fflush(stdout);
    }
    return 0;
}
