// Read a CT, report its grid, reorient it to LPS (DICOM's convention) and check that every voxel kept its world position.
// Usage: example_read_reorient CT.nii.gz
#include <ctspine/core/orientation.hpp>
#include <ctspine/io/nifti.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: example_read_reorient CT.nii.gz\n";
        return 2;
    }
    try {
        // Hounsfield units (scl_slope / scl_inter applied) and the voxel -> RAS+ mm matrix
        const ctspine::volume<float> ct = ctspine::read_nifti<float>(argv[1]);
        const auto [lo, hi] = std::minmax_element(ct.begin(), ct.end());
        std::cout << "read " << ct.dims()[0] << "x" << ct.dims()[1] << "x" << ct.dims()[2] << ", " << ct.spacing_mm()[0] << " x "
                  << ct.spacing_mm()[1] << " x " << ct.spacing_mm()[2] << " mm, orientation " << ctspine::orientation_code(ct.ijk_to_ras())
                  << ", HU " << *lo << " .. " << *hi << "\n";

        // axis permutations and flips only: no interpolation, the geometry follows the voxels
        const ctspine::volume<float> lps = ctspine::reorient<float>(ct.view(), "LPS");
        std::cout << "reoriented to " << ctspine::orientation_code(lps.ijk_to_ras()) << ", " << lps.dims()[0] << "x" << lps.dims()[1]
                  << "x" << lps.dims()[2] << "\n";

        // every voxel of the reoriented volume is the original voxel at the same world position
        ctspine::index_t moved = 0;
        for (ctspine::index_t k = 0; k < lps.dims()[2]; ++k)
            for (ctspine::index_t j = 0; j < lps.dims()[1]; ++j)
                for (ctspine::index_t i = 0; i < lps.dims()[0]; ++i) {
                    const ctspine::vec3 w = lps.geometry().index_to_world(ctspine::vec3(double(i), double(j), double(k)));
                    const ctspine::vec3 src = ct.geometry().world_to_index(w);
                    const auto si = static_cast<ctspine::index_t>(std::lround(src.x())), sj = static_cast<ctspine::index_t>(std::lround(src.y())),
                               sk = static_cast<ctspine::index_t>(std::lround(src.z()));
                    moved += ct(si, sj, sk) != lps(i, j, k);
                }
        std::cout << "voxels whose world position changed: " << moved << "\n";
        return moved == 0 ? 0 : 1;
    } catch (const ctspine::error& e) {
        std::cerr << "error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    }
}
