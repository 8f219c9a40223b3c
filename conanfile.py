# Conan 2 recipe for ctspine, a header-only library (package_type "header-library"), after the conventions of
# conan-center-index's header-only recipes (xsimd, nlohmann_json): no build step, headers copied, the CMake target
# and pkg-config module described in package_info for CMakeDeps / PkgConfigDeps.
#   conan create . --build=missing                       (runs test_package/)
#   conan create . -o "ctspine/*:with_libdeflate=False" -o "ctspine/*:with_nnunet=False"
# Dependency ranges: the versions tested are xsimd 8.1.0 and 14.3.0, Eigen 3.4.0 and 5.0.0, zlib 1.2.13,
# libdeflate 1.14, nlohmann_json 3.11.2 (docs/dependencies.md).
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class CtspineConan(ConanFile):
    name = "ctspine"
    description = ("Header-only C++17 library for spine CT: NIfTI I/O, resampling, vertebra labelling and "
                   "nnU-Net-compatible CPU U-Net inference")
    topics = ("medical-imaging", "ct", "nifti", "segmentation", "nnunet", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "with_libdeflate": [True, False],  # faster .nii.gz decompression (zlib otherwise)
        "with_nnunet": [True, False],      # nnU-Net model folders and the segmenter (nlohmann_json)
    }
    default_options = {
        "with_libdeflate": True,
        "with_nnunet": True,
    }
    exports_sources = "include/*", "LICENSE*"
    no_copy_source = True

    def set_version(self):
        # one source of truth: include/ctspine/version.hpp (CMakeLists.txt reads it too)
        text = load(self, os.path.join(self.recipe_folder, "include", "ctspine", "version.hpp"))
        parts = [re.search(r"#define CTSPINE_VERSION_%s +(\d+)" % p, text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        self.requires("eigen/[>=3.4.0 <6]")
        self.requires("xsimd/[>=8.1.0 <15]")
        self.requires("zlib/[>=1.2.11 <2]")
        if self.options.with_libdeflate:
            self.requires("libdeflate/[>=1.14 <2]")
        if self.options.with_nnunet:
            self.requires("nlohmann_json/[>=3.11 <4]")

    def package_id(self):
        self.info.clear()

    def validate(self):
        if self.settings.compiler.get_safe("cppstd"):
            check_min_cppstd(self, 17)

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"), dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        # the same names, dependencies and definitions as the project's own CMake package and ctspine.pc
        self.cpp_info.set_property("cmake_file_name", "ctspine")
        self.cpp_info.set_property("cmake_target_name", "ctspine::ctspine")
        self.cpp_info.set_property("pkg_config_name", "ctspine")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.requires = ["eigen::eigen", "xsimd::xsimd", "zlib::zlib"]
        self.cpp_info.defines = []
        if self.options.with_libdeflate:
            self.cpp_info.requires.append("libdeflate::libdeflate")
            self.cpp_info.defines.append("CTSPINE_HAVE_LIBDEFLATE=1")
        if self.options.with_nnunet:
            self.cpp_info.requires.append("nlohmann_json::nlohmann_json")
            self.cpp_info.defines.append("CTSPINE_HAVE_NLOHMANN_JSON=1")
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread", "m"]
