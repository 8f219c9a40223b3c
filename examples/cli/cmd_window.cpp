// ctspine window IN OUT --level L --width W [--uint8]
#include <iostream>

#include <ctspine/imgproc/intensity.hpp>
#include <ctspine/io/nifti.hpp>

#include "cli.hpp"

namespace {

int run_window(cli::args& a) {
    ctspine::window_hu w{cli::to_double(a.value("--level", "400"), "--level"), cli::to_double(a.value("--width", "1800"), "--width")};
    if (!(w.width > 0)) throw std::invalid_argument("--width must be > 0");
    bool u8 = a.flag("--uint8");
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected IN and OUT");
    auto in = ctspine::read_nifti<float>(pos[0]);
    if (u8) ctspine::write_nifti(pos[1], ctspine::window_uint8(in.view(), w));
    else ctspine::write_nifti(pos[1], ctspine::window(in.view(), w));
    return 0;
}

CTSPINE_CLI_COMMAND("window", "intensity window (HU level/width) to [0,1] float or uint8",
                    "ctspine window IN OUT --level L --width W [--uint8]   (default: bone, L 400 W 1800)", run_window);

}  // namespace
