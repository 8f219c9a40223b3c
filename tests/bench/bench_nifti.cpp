// Benchmark of NIfTI reading (not in CI). A 512×512×400 int16 CT-like volume (the sample CT
// examples/data/example_ct_sm.nii.gz trilinearly upsampled, plus Gaussian noise of sigma 10 HU, so gzip
// compresses it about as much as a real CT) is written as .nii.gz (gzip level 6) and .nii, then timed in one run
// (median of `reps` runs each; "read" = read_nifti_into a preallocated volume):
//   - read_nifti<int16_t> of the .nii.gz with the zlib back end and with the libdeflate back end,
//   - bare zlib inflate of the same compressed bytes already in memory into a preallocated buffer (target:
//     our zlib read <= 1.10x this),
//   - nibabel (tests/bench/bench_nifti_nibabel.py with /usr/bin/python3, timing itself),
//   - nifticlib's nifti_image_read (when built with CTSPINE_HAVE_NIFTICLIB, Debian libniftiio-dev),
//   - read_nifti<int16_t> of the .nii vs a memcpy of the same number of bytes (target: >= 50% of memcpy).
// Usage: ctspine_bench_nifti [reps=3] [workdir=/tmp/ctspine_bench_nifti]
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <ctspine/io/nifti.hpp>

#ifdef CTSPINE_HAVE_NIFTICLIB
#include <nifti1_io.h>
#endif

#include "bench_common.hpp"

using namespace ctspine;

namespace {

volume<std::int16_t> make_ct() {
    const std::string src = std::string(CTSPINE_BENCH_DIR) + "/../../examples/data/example_ct_sm.nii.gz";
    volume<float> s = read_nifti<float>(src);
    const auto sd = s.geometry().dims;
    geometry g;
    g.dims = {512, 512, 400};
    g.spacing_mm = {0.8, 0.8, 1.0};
    g.ijk_to_ras = affine4::Identity();
    g.ijk_to_ras(0, 0) = -0.8;
    g.ijk_to_ras(1, 1) = -0.8;
    g.ijk_to_ras(2, 2) = 1.0;
    volume<std::int16_t> v(g);
    std::mt19937 rng(12345);
    std::normal_distribution<float> noise(0.f, 10.f);
    auto at = [&](index_t i, index_t j, index_t k) { return s.data()[(k * sd[1] + j) * sd[0] + i]; };
    const double fx = double(sd[0] - 1) / 511.0, fy = double(sd[1] - 1) / 511.0, fz = double(sd[2] - 1) / 399.0;
    std::int16_t* out = v.data();
    for (index_t k = 0; k < 400; ++k) {
        double z = k * fz;
        index_t z0 = std::min<index_t>(index_t(z), sd[2] - 2);
        double wz = z - double(z0);
        for (index_t j = 0; j < 512; ++j) {
            double y = j * fy;
            index_t y0 = std::min<index_t>(index_t(y), sd[1] - 2);
            double wy = y - double(y0);
            for (index_t i = 0; i < 512; ++i) {
                double x = i * fx;
                index_t x0 = std::min<index_t>(index_t(x), sd[0] - 2);
                double wx = x - double(x0);
                double c = 0;
                for (int dz = 0; dz < 2; ++dz)
                    for (int dy = 0; dy < 2; ++dy)
                        for (int dx = 0; dx < 2; ++dx)
                            c += (dz ? wz : 1 - wz) * (dy ? wy : 1 - wy) * (dx ? wx : 1 - wx) * at(x0 + dx, y0 + dy, z0 + dz);
                double val = std::round(c + noise(rng));
                *out++ = static_cast<std::int16_t>(std::clamp(val, -1024.0, 3071.0));
            }
        }
    }
    return v;
}

std::vector<unsigned char> slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Bare zlib: inflate an in-memory gzip stream (all members: ctspine writes the header and the voxels as two)
// into a preallocated buffer.
void bare_inflate(const std::vector<unsigned char>& comp, unsigned char* out, std::size_t out_size) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = const_cast<unsigned char*>(comp.data());
    zs.avail_in = static_cast<uInt>(comp.size());
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(out_size);
    int rc;
    while ((rc = inflate(&zs, Z_FINISH)) == Z_STREAM_END && zs.avail_in > 0) inflateReset(&zs);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || zs.avail_out != 0) std::fprintf(stderr, "bare inflate failed (%d)\n", rc);
}

void line(const std::string& name, double ours, double anchor, const char* anchor_name, double mb) {
    if (anchor > 0)
        std::printf("%-40s ours %7.3f s (%6.0f MB/s), %-22s %7.3f s, ratio %5.2fx\n", name.c_str(), ours, mb / ours, anchor_name, anchor,
                    anchor / ours);
    else
        std::printf("%-40s ours %7.3f s (%6.0f MB/s), %-22s not measured\n", name.c_str(), ours, mb / ours, anchor_name);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
    const std::string dir = argc > 2 ? argv[2] : "/tmp/ctspine_bench_nifti";
    ::mkdir(dir.c_str(), 0755);
    const std::string gz = dir + "/ct.nii.gz", nii = dir + "/ct.nii";

    double t0 = bench::now();
    volume<std::int16_t> v = make_ct();
    std::printf("generated 512x512x400 int16 in %.1f s\n", bench::now() - t0);
    const std::size_t bytes = static_cast<std::size_t>(v.size()) * 2;
    const double mb = double(bytes) / 1e6;
    nifti_write_options wo;
    wo.level = 6;
    t0 = bench::now();
    write_nifti<std::int16_t>(gz, v, wo);
    std::printf("wrote .nii.gz (level 6) in %.1f s\n", bench::now() - t0);
    write_nifti<std::int16_t>(nii, v, wo);
    std::vector<unsigned char> comp = slurp(gz);
    std::printf("raw %.1f MB, gzip %.1f MB (ratio %.2f:1), libdeflate compiled in: %s, threads: hardware (%d)\n", mb, comp.size() / 1e6,
                double(bytes + 352) / double(comp.size()), detail::have_libdeflate() ? "yes" : "no", resolve_threads(0));

    volume<std::int16_t> dst(v.geometry());
    auto check = [&](const char* what) {
        if (std::memcmp(dst.data(), v.data(), bytes) != 0) std::printf("  MISMATCH after %s\n", what);
    };

    // Bare zlib inflate of the whole stream (header + data) from memory.
    std::vector<unsigned char> bare_out(bytes + 352);
    double t_bare = bench::median_time(reps, [&] { bare_inflate(comp, bare_out.data(), bare_out.size()); });

    // Bare libdeflate on the same in-memory bytes (what the libdeflate back end can at best reach).
    double t_bare_ld = -1;
#ifdef CTSPINE_HAVE_LIBDEFLATE
    t_bare_ld = bench::median_time(reps, [&] {
        if (!detail::gunzip_exact_libdeflate(comp.data(), comp.size(), bare_out.data(), bare_out.size(), gz))
            std::printf("  bare libdeflate failed\n");
    });
#endif

    nifti_read_options ro_z;
    ro_z.use_libdeflate = false;
    double t_z = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(gz, dst.view(), ro_z); });
    check("zlib read");
    double t_ld = -1, t_ld_alloc = -1;
    if (detail::have_libdeflate()) {
        t_ld = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(gz, dst.view()); });
        check("libdeflate read");
        t_ld_alloc = bench::median_time(reps, [&] { volume<std::int16_t> r = read_nifti<std::int16_t>(gz); });
    }
    // Allocating form (fresh volume each time, like the Python/nifticlib readers): includes first-touch page faults.
    double t_z_alloc = bench::median_time(reps, [&] { volume<std::int16_t> r = read_nifti<std::int16_t>(gz, ro_z); });

    // nibabel, timing itself on the same files.
    const std::string py = "/usr/bin/python3 " + std::string(CTSPINE_BENCH_DIR) + "/bench_nifti_nibabel.py " + gz + " " + nii + " " +
                           std::to_string(reps) + " 2>&1";
    std::string pout = bench::run(py);
    double t_nib_gz = bench::field(pout, "nibabel_gz"), t_nib_nii = bench::field(pout, "nibabel_nii");
    if (t_nib_gz < 0) std::printf("nibabel anchor unavailable: %s\n", pout.c_str());

    double t_nc = -1;
#ifdef CTSPINE_HAVE_NIFTICLIB
    t_nc = bench::median_time(reps, [&] {
        nifti_image* im = nifti_image_read(gz.c_str(), 1);
        if (!im || im->nvox != static_cast<std::size_t>(v.size()) || std::memcmp(im->data, v.data(), bytes) != 0)
            std::printf("  nifticlib read failed or gave different data\n");
        if (im) nifti_image_free(im);
    });
#endif

    // .nii: our read vs memcpy of the same byte count.
    double t_nii = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(nii, dst.view()); });
    check(".nii read");
    double t_cpy = bench::median_time(reps, [&] { std::memcpy(dst.data(), v.data(), bytes); });

    std::printf("\n--- .nii.gz (%.0f MB decompressed), medians of %d ---\n", mb, reps);
    line("nii.gz zlib read", t_z, t_bare, "bare zlib inflate", mb);
    if (t_ld > 0) {
        line("nii.gz libdeflate read", t_ld, t_bare, "bare zlib inflate", mb);
        line("nii.gz libdeflate read", t_ld, t_bare_ld, "bare libdeflate", mb);
        line("nii.gz libdeflate read", t_ld, t_z, "our zlib read", mb);
        line("nii.gz libdeflate read", t_ld, t_nib_gz, "nibabel", mb);
        line("nii.gz libdeflate read", t_ld, t_nc, "nifticlib", mb);
    }
    line("nii.gz zlib read", t_z, t_nib_gz, "nibabel", mb);
    line("nii.gz zlib read", t_z, t_nc, "nifticlib", mb);
    std::printf("allocating read_nifti<int16_t> (fresh volume each run): zlib %.3f s, libdeflate %.3f s\n", t_z_alloc, t_ld_alloc);
    std::printf("\n--- .nii ---\n");
    line(".nii read", t_nii, t_cpy, "memcpy same bytes", mb);
    line(".nii read", t_nii, t_nib_nii, "nibabel (mmap=False)", mb);
    std::printf("\ntargets: zlib read / bare inflate = %.2f (<= 1.10); ", t_z / t_bare);
    if (t_ld > 0) {
        double best_zlib = t_bare;
        for (double t : {t_z, t_nib_gz, t_nc})
            if (t > 0) best_zlib = std::min(best_zlib, t);
        std::printf("fastest zlib-based / libdeflate = %.2f (>= 2); ", best_zlib / t_ld);
    }
    std::printf(".nii read = %.0f%% of memcpy bandwidth (>= 50%%)\n", 100.0 * t_cpy / t_nii);
    std::printf("peak RSS %ld MB\n", bench::peak_rss_mb());
    return 0;
}
