// Benchmark of NIfTI reading (not in CI). A 512×512×400 int16 CT-like volume (the sample CT
// examples/data/example_ct_sm.nii.gz trilinearly upsampled, plus Gaussian noise of sigma 10 HU, so gzip
// compresses it about as much as a real CT) is written as
//   <dir>/gz/ct.nii.gz    one gzip member, level 6, written by zlib's gzwrite as nifticlib/ITK (znzlib) write it —
//                         the form other tools produce; every reader, ours and the anchors, reads this file;
//   <dir>/ours/ct.nii.gz  written by ctspine::write_nifti (level 6, indexed gzip members: the header, then 4 MiB
//                         voxel chunks, each member's length in a gzip extra subfield, so they decode in parallel);
//   <dir>/nii/ct.nii      uncompressed.
// Each file sits alone in its directory: asked for x.nii.gz, nifticlib and ITK read a neighbouring x.nii instead
// when both exist (the project's anchor measurements). All readers run in one invocation, each timed as the median of
// `--reps` runs, with the files in the page cache:
//   ours      read_nifti<int16_t> (allocating, like every anchor) and read_nifti_into (a preallocated volume),
//             with the zlib and the libdeflate back ends; read_nifti<float> (int16 → float, threaded conversion);
//   limits    bare zlib inflate and bare libdeflate of the same compressed bytes, in memory, into a preallocated
//             buffer (the limits of any zlib / libdeflate reader); memcpy of the same bytes for the .nii;
//   anchors   nifticlib nifti_image_read (linked in when found), ITK ImageFileReader (bench_nifti_itk.cxx, a
//             subprocess timing itself), nibabel (bench_nifti_nibabel.py with /usr/bin/python3, timing itself).
// Targets (issue 2): zlib read <= 1.10x bare inflate; libdeflate read >= 2x faster than every zlib-based reader;
// .nii read >= 50% of memcpy bandwidth.
// Usage: ctspine_bench_nifti [--reps N] [--dir DIR] [--threads T] [--no-anchors]
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <sys/stat.h>
#include <utility>
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

/// gzip `bytes` into `path` as ONE member with zlib's gzwrite at `level` (what nifticlib's and ITK's znzlib do).
bool gzip_single_member(const std::vector<unsigned char>& bytes, const std::string& path, int level) {
    gzFile f = gzopen(path.c_str(), ("wb" + std::to_string(level)).c_str());
    if (!f) return false;
    gzbuffer(f, 1 << 20);
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < bytes.size()) {
        unsigned step = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - done, std::size_t(1) << 30));
        ok = gzwrite(f, bytes.data() + done, step) == static_cast<int>(step);
        done += step;
    }
    return gzclose(f) == Z_OK && ok;
}

/// Bare zlib: inflate an in-memory gzip stream (all members) into a preallocated buffer.
bool bare_inflate(const std::vector<unsigned char>& comp, unsigned char* out, std::size_t out_size) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = const_cast<unsigned char*>(comp.data());
    zs.avail_in = static_cast<uInt>(comp.size());
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(out_size);
    int rc;
    while ((rc = inflate(&zs, Z_FINISH)) == Z_STREAM_END && zs.avail_in > 0) inflateReset(&zs);
    inflateEnd(&zs);
    return rc == Z_STREAM_END && zs.avail_out == 0;
}

/// "name: ours X s, <anchor> Y s, ratio Z" (ratio = anchor / ours: > 1 means ours is faster).
void line(const std::string& name, double ours, const std::string& anchor_name, double anchor, double mb) {
    if (ours <= 0) return;
    if (anchor > 0)
        std::printf("%-44s ours %7.3f s (%5.0f MB/s), %-30s %7.3f s, ratio %5.2f\n", (name + ":").c_str(), ours, mb / ours,
                    anchor_name.c_str(), anchor, anchor / ours);
    else
        std::printf("%-44s ours %7.3f s (%5.0f MB/s), %-30s not measured\n", (name + ":").c_str(), ours, mb / ours, anchor_name.c_str());
    std::fflush(stdout);
}

struct itk_result {
    double gz = -1, nii = -1;
    long long gz_sum = 0, nii_sum = 0;
};

}  // namespace

int main(int argc, char** argv) {
    int reps = 3, threads = 0;
    bool anchors = true;
    std::string dir = "/tmp/ctspine_bench_nifti";
    int positional = 0;
    for (int a = 1; a < argc; ++a) {
        std::string s = argv[a];
        if (s == "--reps" && a + 1 < argc) reps = std::max(1, std::atoi(argv[++a]));
        else if (s == "--dir" && a + 1 < argc) dir = argv[++a];
        else if (s == "--threads" && a + 1 < argc) threads = std::atoi(argv[++a]);
        else if (s == "--no-anchors") anchors = false;
        else if (s == "-h" || s == "--help") {
            std::printf("usage: %s [--reps N] [--dir DIR] [--threads T] [--no-anchors]\n", argv[0]);
            return 0;
        } else if (positional == 0 && std::isdigit(static_cast<unsigned char>(s[0]))) {  // old form: [reps] [dir]
            reps = std::max(1, std::atoi(s.c_str()));
            ++positional;
        } else if (positional == 1) {
            dir = s;
            ++positional;
        } else {
            std::fprintf(stderr, "unknown argument %s (try --help)\n", s.c_str());
            return 2;
        }
    }
    for (const char* sub : {"", "/gz", "/ours", "/nii"}) ::mkdir((dir + sub).c_str(), 0755);
    const std::string gz = dir + "/gz/ct.nii.gz", ours_gz = dir + "/ours/ct.nii.gz", nii = dir + "/nii/ct.nii";
    for (const std::string& stale : {dir + "/gz/ct.nii", dir + "/ours/ct.nii", dir + "/nii/ct.nii.gz"}) std::remove(stale.c_str());

    std::printf("ctspine_bench_nifti: reps %d, threads %d (0 = hardware: %d), dir %s\n", reps, threads, resolve_threads(0), dir.c_str());
    std::printf("load: %s", bench::run("uptime").c_str());
    double t0 = bench::now();
    volume<std::int16_t> v = make_ct();
    std::printf("generated 512x512x400 int16 in %.1f s\n", bench::now() - t0);
    const std::size_t bytes = static_cast<std::size_t>(v.size()) * 2;
    const double mb = double(bytes) / 1e6;
    t0 = bench::now();
    write_nifti<std::int16_t>(nii, v);
    const double t_w_nii = bench::now() - t0;
    std::vector<unsigned char> nii_bytes = slurp(nii);
    t0 = bench::now();
    const bool gz_ok = gzip_single_member(nii_bytes, gz, 6);
    const double t_w_gzwrite = bench::now() - t0;
    nii_bytes = {};
    if (!gz_ok) {
        std::fprintf(stderr, "cannot write %s\n", gz.c_str());
        return 1;
    }
    nifti_write_options wo;
    wo.level = 6;
    wo.threads = threads;
    t0 = bench::now();
    write_nifti<std::int16_t>(ours_gz, v, wo);
    const double t_w_ours = bench::now() - t0;
    std::printf("wrote .nii in %.2f s; .nii.gz level 6: zlib gzwrite (1 member) %.1f s, write_nifti (indexed members, %d threads) %.1f s\n",
                t_w_nii, t_w_gzwrite, resolve_threads(threads), t_w_ours);
    const std::vector<unsigned char> comp = slurp(gz), comp_ours = slurp(ours_gz);
    std::printf("raw %.1f MB; gzip %.1f MB (1 member, %.2f:1), %.1f MB (ctspine, indexed members); libdeflate compiled in: %s\n", mb,
                comp.size() / 1e6, double(bytes + 352) / double(comp.size()), comp_ours.size() / 1e6,
                detail::have_libdeflate() ? "yes" : "no");

    long long want_sum = 0;
    for (std::int16_t x : v) want_sum += x;
    bool all_ok = true;
    auto check = [&](const std::int16_t* p, const char* what) {
        if (std::memcmp(p, v.data(), bytes) != 0) {
            std::printf("  MISMATCH after %s\n", what);
            all_ok = false;
        }
    };

    // --- limits: bare decompressors on the same bytes, already in memory, into a preallocated buffer ---
    std::vector<unsigned char> bare_out(bytes + 352);
    double t_bare_z = bench::median_time(reps, [&] {
        if (!bare_inflate(comp, bare_out.data(), bare_out.size())) std::printf("  bare inflate failed\n");
    });
    double t_bare_ld = -1;
#ifdef CTSPINE_HAVE_LIBDEFLATE
    t_bare_ld = bench::median_time(reps, [&] {
        if (!detail::gunzip_exact_libdeflate(comp.data(), comp.size(), bare_out.data(), bare_out.size(), gz))
            std::printf("  bare libdeflate failed\n");
    });
#endif

    // --- ours ---
    nifti_read_options ro_ld, ro_z;
    ro_ld.threads = ro_z.threads = threads;
    ro_z.use_libdeflate = false;
    const bool ld = detail::have_libdeflate();
    volume<std::int16_t> dst(v.geometry());
    std::fill(dst.begin(), dst.end(), std::int16_t(0));  // pre-faulted
    double t_z_alloc = bench::median_time(reps, [&] {
        volume<std::int16_t> r = read_nifti<std::int16_t>(gz, ro_z);
        check(r.data(), "zlib read_nifti");
    });
    double t_z_into = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(gz, dst.view(), ro_z); });
    check(dst.data(), "zlib read_nifti_into");
    double t_ld_alloc = -1, t_ld_into = -1, t_ld_alloc_ours = -1, t_ld_into_ours = -1, t_f_ld = -1, t_f_ld1 = -1, t_fi_ld = -1, t_fi_ld1 = -1;
    if (ld) {
        t_ld_alloc = bench::median_time(reps, [&] {
            volume<std::int16_t> r = read_nifti<std::int16_t>(gz, ro_ld);
            check(r.data(), "libdeflate read_nifti");
        });
        t_ld_into = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(gz, dst.view(), ro_ld); });
        check(dst.data(), "libdeflate read_nifti_into");
        t_ld_alloc_ours = bench::median_time(reps, [&] {
            volume<std::int16_t> r = read_nifti<std::int16_t>(ours_gz, ro_ld);
            check(r.data(), "libdeflate read_nifti (indexed members)");
        });
        t_ld_into_ours = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(ours_gz, dst.view(), ro_ld); });
        check(dst.data(), "libdeflate read_nifti_into (indexed members)");
        // int16 → float: decompress into the end of the float buffer, then a threaded in-place conversion. 2 threads
        // and 1 thread interleaved run by run, so both see the same memory conditions (fresh pages are costly here).
        volume<float> fv, fdst(v.geometry(), 0.f);
        nifti_read_options one = ro_ld;
        one.threads = 1;
        std::vector<double> a2, a1, i2, i1;
        for (int r = 0; r < reps; ++r) {
            fv = volume<float>();  // free the previous result first, as the int16 runs do (r goes out of scope)
            double s0 = bench::now();
            fv = read_nifti<float>(gz, ro_ld);
            a2.push_back(bench::now() - s0);
            fv = volume<float>();
            s0 = bench::now();
            fv = read_nifti<float>(gz, one);
            a1.push_back(bench::now() - s0);
            s0 = bench::now();
            read_nifti_into<float>(gz, fdst.view(), ro_ld);
            i2.push_back(bench::now() - s0);
            s0 = bench::now();
            read_nifti_into<float>(gz, fdst.view(), one);
            i1.push_back(bench::now() - s0);
        }
        auto med = [](std::vector<double> t) {
            std::sort(t.begin(), t.end());
            return t[t.size() / 2];
        };
        t_f_ld = med(a2);
        t_f_ld1 = med(a1);
        t_fi_ld = med(i2);
        t_fi_ld1 = med(i1);
        if (std::memcmp(fdst.data(), fv.data(), static_cast<std::size_t>(v.size()) * 4) != 0) {
            std::printf("  MISMATCH between read_nifti<float> and read_nifti_into<float>\n");
            all_ok = false;
        }
        for (index_t i = 0; i < v.size(); i += 9973)
            if (fv[i] != float(v[i])) {
                std::printf("  MISMATCH in read_nifti<float>\n");
                all_ok = false;
                break;
            }
    }
    double t_f_z = bench::median_time(reps, [&] { volume<float> fz = read_nifti<float>(gz, ro_z); });

    // .nii: ours vs memcpy of the same byte count.
    double t_nii_into = bench::median_time(reps, [&] { read_nifti_into<std::int16_t>(nii, dst.view()); });
    check(dst.data(), ".nii read_nifti_into");
    double t_nii_alloc = bench::median_time(reps, [&] {
        volume<std::int16_t> r = read_nifti<std::int16_t>(nii);
        check(r.data(), ".nii read_nifti");
    });
    double t_cpy = bench::median_time(reps, [&] { std::memcpy(dst.data(), v.data(), bytes); });

    // --- anchors, all on the same one-member file ---
    double t_nc = -1, t_nc_nii = -1;
    itk_result itk;
    double t_nib_gz = -1, t_nib_nii = -1;
    if (anchors) {
#ifdef CTSPINE_HAVE_NIFTICLIB
        auto nc = [&](const std::string& p) {
            return bench::median_time(reps, [&] {
                nifti_image* im = nifti_image_read(p.c_str(), 1);
                if (!im || im->nvox != static_cast<std::size_t>(v.size()) || std::memcmp(im->data, v.data(), bytes) != 0) {
                    std::printf("  nifticlib read of %s failed or gave different data\n", p.c_str());
                    all_ok = false;
                }
                if (im) nifti_image_free(im);
            });
        };
        t_nc = nc(gz);
        t_nc_nii = nc(nii);
#endif
#ifdef CTSPINE_BENCH_ITK_ANCHOR
        {
            std::string out = bench::run(std::string(CTSPINE_BENCH_ITK_ANCHOR) + " " + std::to_string(reps) + " " + gz + " " + nii + " 2>&1");
            for (const std::string& p : {gz, nii}) {
                auto pos = out.find("itk: " + p + " ");
                if (pos == std::string::npos) {
                    std::printf("ITK anchor failed on %s: %s\n", p.c_str(), out.c_str());
                    continue;
                }
                double t = -1;
                long long sum = 0;
                std::sscanf(out.c_str() + pos + 5 + p.size(), "%lf %lld", &t, &sum);
                (p == gz ? itk.gz : itk.nii) = t;
                (p == gz ? itk.gz_sum : itk.nii_sum) = sum;
                if (sum != want_sum) {
                    std::printf("  ITK read of %s gave different data (sum %lld, expected %lld)\n", p.c_str(), sum, want_sum);
                    all_ok = false;
                }
            }
        }
#endif
        const std::string py = "/usr/bin/python3 " + std::string(CTSPINE_BENCH_DIR) + "/bench_nifti_nibabel.py " + gz + " " + nii + " " +
                               std::to_string(reps) + " 2>&1";
        std::string pout = bench::run(py);
        t_nib_gz = bench::field(pout, "nibabel_gz");
        t_nib_nii = bench::field(pout, "nibabel_nii");
        if (t_nib_gz < 0) std::printf("nibabel anchor unavailable: %s\n", pout.c_str());
        double s1 = bench::field(pout, "nibabel_gz_sum"), s2 = bench::field(pout, "nibabel_nii_sum");
        if (t_nib_gz >= 0 && (s1 != double(want_sum) || s2 != double(want_sum))) {
            std::printf("  nibabel gave different data (sums %.0f %.0f, expected %lld)\n", s1, s2, want_sum);
            all_ok = false;
        }
    }

    std::printf("\n=== .nii.gz, one gzip member (as nifticlib/ITK/nibabel/gzip write), %.0f MB decompressed, medians of %d ===\n", mb, reps);
    std::printf("allocating = read_nifti (fresh volume each run, like every anchor); into = read_nifti_into a preallocated volume\n");
    line("zlib read_nifti_into", t_z_into, "bare zlib inflate (in memory)", t_bare_z, mb);
    line("zlib read_nifti (allocating)", t_z_alloc, "bare zlib inflate (in memory)", t_bare_z, mb);
    line("libdeflate read_nifti (allocating)", t_ld_alloc, "bare libdeflate (in memory)", t_bare_ld, mb);
    line("libdeflate read_nifti_into", t_ld_into, "bare libdeflate (in memory)", t_bare_ld, mb);
    for (auto [name, t] : {std::pair<const char*, double>{"nifticlib", t_nc}, {"ITK ImageFileReader", itk.gz}, {"nibabel", t_nib_gz},
                           {"bare zlib inflate (in memory)", t_bare_z}, {"our zlib read_nifti", t_z_alloc}})
        line("libdeflate read_nifti (allocating)", t_ld_alloc, name, t, mb);
    line("zlib read_nifti (allocating)", t_z_alloc, "nifticlib", t_nc, mb);
    line("zlib read_nifti (allocating)", t_z_alloc, "ITK ImageFileReader", itk.gz, mb);
    line("zlib read_nifti (allocating)", t_z_alloc, "nibabel", t_nib_gz, mb);
    std::printf("\n=== .nii.gz written by ctspine (indexed gzip members: decoded in parallel, %d threads) ===\n", resolve_threads(threads));
    line("libdeflate read_nifti (allocating)", t_ld_alloc_ours, "1-member file, same reader", t_ld_alloc, mb);
    line("libdeflate read_nifti_into", t_ld_into_ours, "1-member file, same reader", t_ld_into, mb);
    line("libdeflate read_nifti (allocating)", t_ld_alloc_ours, "bare libdeflate, 1-member file", t_bare_ld, mb);
    line("libdeflate read_nifti (allocating)", t_ld_alloc_ours, "nifticlib, 1-member file", t_nc, mb);
    line("write_nifti .nii.gz level 6", t_w_ours, "zlib gzwrite level 6 (1 run)", t_w_gzwrite, mb);
    std::printf("\n=== int16 .nii.gz -> float (threaded conversion) ===\n");
    line("libdeflate read_nifti<float> (allocating)", t_f_ld, "same, 1 thread", t_f_ld1, mb);
    line("libdeflate read_nifti_into<float>", t_fi_ld, "same, 1 thread", t_fi_ld1, mb);
    line("libdeflate read_nifti<float> (allocating)", t_f_ld, "zlib read_nifti<float>", t_f_z, mb);
    std::printf("\n=== .nii ===\n");
    line(".nii read_nifti_into", t_nii_into, "memcpy of the same bytes", t_cpy, mb);
    line(".nii read_nifti (allocating)", t_nii_alloc, "nifticlib", t_nc_nii, mb);
    line(".nii read_nifti (allocating)", t_nii_alloc, "ITK ImageFileReader", itk.nii, mb);
    line(".nii read_nifti (allocating)", t_nii_alloc, "nibabel (mmap=False)", t_nib_nii, mb);

    std::printf("\n=== targets (issue 2) ===\n");
    std::printf("zlib read / bare zlib inflate:            into %.2f, allocating %.2f  (target <= 1.10)\n", t_z_into / t_bare_z,
                t_z_alloc / t_bare_z);
    if (ld) {
        double fastest = -1;
        const char* who = "none measured";
        for (auto [name, t] : {std::pair<const char*, double>{"nifticlib", t_nc}, {"ITK", itk.gz}, {"nibabel", t_nib_gz}})
            if (t > 0 && (fastest < 0 || t < fastest)) {
                fastest = t;
                who = name;
            }
        if (fastest > 0)
            std::printf("fastest zlib-based reader (%s) / libdeflate read_nifti (allocating): %.2f  (target >= 2)\n", who, fastest / t_ld_alloc);
        std::printf("for reference: bare zlib inflate / libdeflate read_nifti %.2f, our zlib read_nifti / libdeflate read_nifti %.2f, "
                    "bare zlib inflate / bare libdeflate %.2f\n",
                    t_bare_z / t_ld_alloc, t_z_alloc / t_ld_alloc, t_bare_z / t_bare_ld);
    }
    std::printf(".nii read_nifti_into = %.0f%% of memcpy bandwidth (target >= 50%%)\n", 100.0 * t_cpy / t_nii_into);
    std::printf("data identical for every reader: %s\n", all_ok ? "yes" : "NO");
    std::printf("load: %s", bench::run("uptime").c_str());
    std::printf("peak RSS %ld MB\n", bench::peak_rss_mb());
    return all_ok ? 0 : 1;
}
