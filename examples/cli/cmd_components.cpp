// ctspine components IN OUT [--connectivity 6|18|26] [--binary] [--json] — label connected components.
#include <iostream>

#include <ctspine/io/nifti.hpp>
#include <ctspine/label/connected_components.hpp>

#include "cli.hpp"

namespace {

int run_components(cli::args& a) {
    ctspine::cc_options o;
    o.connectivity = static_cast<int>(cli::to_long(a.value("--connectivity", "26"), "--connectivity"));
    if (o.connectivity != 6 && o.connectivity != 18 && o.connectivity != 26)
        throw std::invalid_argument("--connectivity must be 6, 18 or 26");
    o.binary = a.flag("--binary");
    bool json = a.flag("--json");
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected IN and OUT");
    ctspine::nifti_read_options ro;
    ro.apply_scaling = false;
    auto seg = ctspine::read_nifti<std::int64_t>(pos[0], ro);
    ctspine::cc_result r;
    auto lab = ctspine::connected_components<std::uint32_t, std::int64_t>(seg.view(), o, &r);
    if (r.count <= 65535) {
        ctspine::volume<std::uint16_t> small(lab.geometry());
        for (ctspine::index_t n = 0; n < lab.size(); ++n) small[n] = static_cast<std::uint16_t>(lab[n]);
        ctspine::write_nifti(pos[1], small);
    } else {
        ctspine::write_nifti(pos[1], lab);
    }
    if (json) {
        std::cout << "{\"count\": " << r.count << ", \"components\": [";
        for (size_t i = 0; i < r.components.size(); ++i) {
            const auto& c = r.components[i];
            std::cout << (i ? ",\n  " : "\n  ") << "{\"label\": " << i + 1 << ", \"value\": " << c.value << ", \"voxels\": " << c.voxels
                      << ", \"centroid_mm\": [" << c.centroid_mm[0] << ", " << c.centroid_mm[1] << ", " << c.centroid_mm[2] << "]}";
        }
        std::cout << "\n]}\n";
    } else {
        std::cout << r.count << " components (" << o.connectivity << "-connectivity" << (o.binary ? ", binary" : "") << ") written to "
                  << pos[1] << "\n";
    }
    return 0;
}

CTSPINE_CLI_COMMAND("components", "label 3-D connected components (binary or per label)",
                    "ctspine components IN OUT [--connectivity 6|18|26] [--binary] [--json]", run_components);

}  // namespace
