// Resample a CT to 2 mm two ways: exactly 2 mm voxels covering the field of view (resample_to_spacing), and nnU-Net's
// field-of-view-keeping zoom (zoom_to_spacing: round(n·s/2) voxels of n·s/m mm).
// Usage: example_resample CT.nii.gz
#include <ctspine/imgproc/resample.hpp>
#include <ctspine/io/nifti.hpp>

#include <iostream>

static void print(const char* what, const ctspine::volume<float>& v) {
    std::cout << what << ": " << v.dims()[0] << "x" << v.dims()[1] << "x" << v.dims()[2] << " at " << v.spacing_mm()[0] << " x "
              << v.spacing_mm()[1] << " x " << v.spacing_mm()[2] << " mm, first voxel at (" << v.ijk_to_ras()(0, 3) << ", "
              << v.ijk_to_ras()(1, 3) << ", " << v.ijk_to_ras()(2, 3) << ")\n";
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: example_resample CT.nii.gz\n";
        return 2;
    }
    try {
        const ctspine::volume<float> ct = ctspine::read_nifti<float>(argv[1]);
        ctspine::resample_options opt;
        opt.interp = ctspine::interpolation::linear;
        opt.threads = 0;  // all cores; the result is the same for any count
        print("exact", ctspine::resample_to_spacing<float>(ct.view(), {2.0, 2.0, 2.0}, opt));
        print("nnU-Net zoom", ctspine::zoom_to_spacing<float>(ct.view(), {2.0, 2.0, 2.0}, opt));
        return 0;
    } catch (const ctspine::error& e) {
        std::cerr << "error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    }
}
