#!/usr/bin/env python3
"""Consistency of the package recipes with the project (no vcpkg or Conan registry is reachable from CI):

- the version of ports/ctspine/vcpkg.json, vcpkg.json and conanfile.py's set_version() is include/ctspine/version.hpp's;
- every vcpkg feature maps to a CMake option that exists in CMakeLists.txt and brings the dependency that option needs;
- conanfile.py, run against a minimal stand-in of the conan API, asks for the same dependencies and publishes the same
  compile definitions as the CMake package and ctspine.pc for each option combination.
Usage: check_recipes.py SOURCE_DIR
"""
import json
import os
import re
import sys
import types

src = sys.argv[1]


def read(*p):
    with open(os.path.join(src, *p), encoding="utf-8") as f:
        return f.read()


version_h = read("include", "ctspine", "version.hpp")
version = ".".join(re.search(r"#define CTSPINE_VERSION_%s +(\d+)" % p, version_h).group(1) for p in ("MAJOR", "MINOR", "PATCH"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# --- vcpkg -------------------------------------------------------------------------------------------------------
port = json.loads(read("ports", "ctspine", "vcpkg.json"))
manifest = json.loads(read("vcpkg.json"))
check(port["version"] == version, "ports/ctspine/vcpkg.json version %s != %s" % (port["version"], version))
check(manifest["version"] == version, "vcpkg.json version %s != %s" % (manifest["version"], version))
cmakelists = read("CMakeLists.txt")
portfile = read("ports", "ctspine", "portfile.cmake")
feature_block = re.search(r"FEATURES\s+(.*?)\)", portfile, re.S).group(1)
feature_map = dict(re.findall(r"(\S+)\s+(CTSPINE_\w+)", feature_block))
want_features = {"libdeflate": ("CTSPINE_USE_LIBDEFLATE", "libdeflate"), "nnunet": ("CTSPINE_USE_NLOHMANN_JSON", "nlohmann-json")}
for feat, (option, dep) in want_features.items():
    check(feat in port["features"], "port lacks feature %s" % feat)
    check(feature_map.get(feat) == option, "portfile maps feature %s to %s, expected %s" % (feat, feature_map.get(feat), option))
    check(re.search(r"option\(%s\b" % option, cmakelists) is not None, "CMakeLists.txt has no option %s" % option)
    check(dep in port["features"].get(feat, {}).get("dependencies", []), "feature %s does not depend on %s" % (feat, dep))
for opt in re.findall(r"-D(CTSPINE_\w+)=", portfile):
    check(re.search(r"option\(%s\b" % opt, cmakelists) is not None, "portfile sets %s, not an option of CMakeLists.txt" % opt)
check("share/cmake/ctspine" in portfile and "${CMAKE_INSTALL_DATADIR}/cmake/ctspine" in cmakelists,
      "portfile's vcpkg_cmake_config_fixup path differs from the install destination")
for dep in ("eigen3", "xsimd", "zlib"):
    check(dep in port["dependencies"], "port lacks dependency %s" % dep)

# --- Conan: import the recipe against a stand-in of the few conan APIs it uses --------------------------------------
class _Opts(dict):
    __getattr__ = dict.get


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class _ConanFile:
    pass


_module("conan", ConanFile=_ConanFile)
_module("conan.tools")
_module("conan.tools.build", check_min_cppstd=lambda *a, **k: None, can_run=lambda *a: True)
_module("conan.tools.files", copy=lambda *a, **k: None, load=lambda self, path: open(path, encoding="utf-8").read())
_module("conan.tools.layout", basic_layout=lambda *a, **k: None)
ns = {"__file__": os.path.join(src, "conanfile.py")}
exec(compile(read("conanfile.py"), "conanfile.py", "exec"), ns)
recipe_cls = ns["CtspineConan"]
check(recipe_cls.package_type == "header-library", "conanfile package_type is not header-library")


class _CppInfo:
    def __init__(self):
        self.props = {}

    def set_property(self, k, v):
        self.props[k] = v


for deflate in (True, False):
    for nnunet in (True, False):
        r = recipe_cls()
        r.recipe_folder = src
        r.options = _Opts(with_libdeflate=deflate, with_nnunet=nnunet)
        r.settings = types.SimpleNamespace(os="Linux", compiler=types.SimpleNamespace(get_safe=lambda k: None))
        r.set_version()
        check(r.version == version, "conanfile version %s != %s" % (r.version, version))
        reqs = []
        r.requires = lambda ref: reqs.append(ref)
        r.requirements()
        names = sorted(ref.split("/")[0] for ref in reqs)
        want = sorted(["eigen", "xsimd", "zlib"] + (["libdeflate"] if deflate else []) + (["nlohmann_json"] if nnunet else []))
        check(names == want, "conan requirements %s for deflate=%s nnunet=%s, expected %s" % (names, deflate, nnunet, want))
        for ref in reqs:
            check(re.match(r"^[a-z_]+/\[>=[0-9.]+ <[0-9.]+\]$", ref) is not None, "not a bounded version range: %s" % ref)
        r.cpp_info = _CppInfo()
        r.package_info()
        want_defs = (["CTSPINE_HAVE_LIBDEFLATE=1"] if deflate else []) + (["CTSPINE_HAVE_NLOHMANN_JSON=1"] if nnunet else [])
        check(sorted(r.cpp_info.defines) == sorted(want_defs), "conan defines %s, expected %s" % (r.cpp_info.defines, want_defs))
        check(r.cpp_info.props.get("cmake_target_name") == "ctspine::ctspine", "conan cmake_target_name")
        check(r.cpp_info.props.get("cmake_file_name") == "ctspine", "conan cmake_file_name")
        check(r.cpp_info.props.get("pkg_config_name") == "ctspine", "conan pkg_config_name")
        comps = sorted(x.split("::")[0] for x in r.cpp_info.requires)
        check(comps == want, "conan cpp_info.requires %s, expected %s" % (comps, want))

# the CMake package's definitions are the ones conan publishes (same macro names in CMake and ctspine.pc)
for d in ("CTSPINE_HAVE_LIBDEFLATE=1", "CTSPINE_HAVE_NLOHMANN_JSON=1"):
    check(d in cmakelists or d in read("cmake", "ctspineDependencies.cmake"), "CMake does not define %s" % d)

if failures:
    print("\n".join("FAIL: " + f for f in failures))
    sys.exit(1)
print("recipes consistent with version %s: vcpkg port (%d features), root manifest, conanfile (4 option combinations)"
      % (version, len(port["features"])))
