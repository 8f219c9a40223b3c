// ctspine info FILE [--json] — header, geometry and intensity summary of a NIfTI file.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include <ctspine/core/orientation.hpp>
#include <ctspine/io/nifti.hpp>

#include "cli.hpp"

namespace {

std::string num(double x) {
    if (!std::isfinite(x)) return "null";
    std::ostringstream os;
    os << std::setprecision(10) << x;
    return os.str();
}

int run_info(cli::args& a) {
    bool json = a.flag("--json");
    auto pos = a.positional();
    if (pos.size() != 1) throw std::invalid_argument("expected one FILE");
    const std::string& path = pos[0];
    ctspine::nifti_header h = ctspine::read_nifti_header(path);
    ctspine::volume<float> v = ctspine::read_nifti<float>(path);
    double mn = std::numeric_limits<double>::infinity(), mx = -mn, sum = 0;
    std::size_t finite = 0;
    for (float x : v) {
        if (!std::isfinite(x)) continue;
        mn = std::min(mn, double(x));
        mx = std::max(mx, double(x));
        sum += x;
        ++finite;
    }
    double mean = finite ? sum / double(finite) : std::nan("");
    std::string orient = ctspine::orientation_code(h.ijk_to_ras);
    auto sp = h.geom().spacing_mm;
    if (json) {
        std::ostringstream o;
        o << "{\n  \"file\": \"" << path << "\",\n  \"dims\": [";
        for (int i = 1; i <= h.dim[0]; ++i) o << (i > 1 ? ", " : "") << h.dim[static_cast<size_t>(i)];
        o << "],\n  \"datatype\": \"" << ctspine::nifti_datatype_name(h.datatype) << "\",\n  \"spacing_mm\": [" << num(sp[0]) << ", "
          << num(sp[1]) << ", " << num(sp[2]) << "],\n  \"orientation\": \"" << orient << "\",\n  \"qform_code\": " << h.qform_code
          << ",\n  \"sform_code\": " << h.sform_code << ",\n  \"ijk_to_ras\": [";
        for (int r = 0; r < 4; ++r) {
            o << (r ? ", " : "") << "[";
            for (int c = 0; c < 4; ++c) o << (c ? ", " : "") << num(h.ijk_to_ras(r, c));
            o << "]";
        }
        o << "],\n  \"scl_slope\": " << num(h.scl_slope) << ",\n  \"scl_inter\": " << num(h.scl_inter) << ",\n  \"min\": " << num(mn)
          << ",\n  \"max\": " << num(mx) << ",\n  \"mean\": " << num(mean) << "\n}\n";
        std::cout << o.str();
        return 0;
    }
    std::cout << "file         " << path << "\n"
              << "format       NIfTI-" << h.version << (h.big_endian ? ", big-endian" : ", little-endian") << "\n"
              << "dims         ";
    for (int i = 1; i <= h.dim[0]; ++i) std::cout << (i > 1 ? " x " : "") << h.dim[static_cast<size_t>(i)];
    std::cout << "\ndatatype     " << ctspine::nifti_datatype_name(h.datatype) << "\n"
              << "spacing_mm   " << num(sp[0]) << " " << num(sp[1]) << " " << num(sp[2]) << "\n"
              << "orientation  " << orient << "\n"
              << "qform_code   " << h.qform_code << "\nsform_code   " << h.sform_code << "\n"
              << "scl_slope    " << num(h.scl_slope) << "\nscl_inter    " << num(h.scl_inter) << "\n"
              << "ijk_to_ras\n";
    for (int r = 0; r < 4; ++r) {
        std::cout << "  ";
        for (int c = 0; c < 4; ++c) std::cout << " " << std::setw(13) << num(h.ijk_to_ras(r, c));
        std::cout << "\n";
    }
    std::cout << "min/max/mean " << num(mn) << " / " << num(mx) << " / " << num(mean) << (h.frames() > 1 ? "  (frame 0)" : "") << "\n";
    return 0;
}

CTSPINE_CLI_COMMAND("info", "print header, geometry and intensity summary of a NIfTI file", "ctspine info FILE [--json]", run_info);

}  // namespace
