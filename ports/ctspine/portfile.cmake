# vcpkg overlay port for ctspine, kept in the ctspine source tree: it builds the tree it lives in.
#   vcpkg install ctspine --overlay-ports=<ctspine>/ports            (classic mode)
#   "overlay-ports": ["<ctspine>/ports"] in vcpkg-configuration.json   (manifest mode)
# For a registry, replace SOURCE_PATH with vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO ... REF ... SHA512 ...).
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
    FEATURES
        libdeflate CTSPINE_USE_LIBDEFLATE
        nnunet     CTSPINE_USE_NLOHMANN_JSON
)

set(VCPKG_BUILD_TYPE release) # header-only port

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DCTSPINE_BUILD_TESTS=OFF
        -DCTSPINE_BUILD_EXAMPLES=OFF
        -DCTSPINE_BUILD_BENCHMARKS=OFF
        -DCTSPINE_INSTALL=ON
        -DCTSPINE_REQUIRE_ENABLED_DEPENDENCIES=ON
        ${FEATURE_OPTIONS}
)

vcpkg_cmake_install()

vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/ctspine)
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug")

# ctspine has no licence file yet; vcpkg requires share/ctspine/copyright.
if(EXISTS "${SOURCE_PATH}/LICENSE")
    vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
else()
    file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "ctspine: no licence has been chosen yet; see the project's README.\n")
endif()
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
