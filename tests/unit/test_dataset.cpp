// Dataset layout recognition, header-only index, voxel checks and nnU-Net export (include/ctspine/dataset/).
// Trees are made in the test: names follow CTSpine1K's real patterns (docs/dataset.md), files are the committed
// examples/data spine CT + vertebra mask (and the shared spine CTs when present), broken variants are written with our
// NIfTI writer from hand-specified modifications, so every expected finding is known by construction.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ctspine/dataset/layout.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ctspine;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("ctspine_test_dataset_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

void touch(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p.string(), std::ios::binary) << "x";
}

std::vector<std::string> names(const dataset_layout& l) {
    std::vector<std::string> n;
    for (const auto& c : l.cases) n.push_back(c.name);
    return n;
}

const dataset_case& find_case(const dataset_layout& l, const std::string& name) {
    for (const auto& c : l.cases)
        if (c.name == name) return c;
    FAIL("no case " << name);
    return l.cases.front();
}

}  // namespace

TEST_CASE("dataset layout: Hugging Face CTSpine1K copy (rawdata/volumes/<source>, rawdata/labels/<source>)") {
    const fs::path root = fresh_dir("layout_hf");
    const fs::path v = root / "rawdata" / "volumes", l = root / "rawdata" / "labels";
    touch(v / "COLONOG" / "1.3.6.1.4.1.9328.50.4.0001.nii.gz");
    touch(l / "COLONOG" / "1.3.6.1.4.1.9328.50.4.0001_seg.nii.gz");
    touch(v / "COLONOG" / "CTC-3833125701.nii.gz");  // CT without label
    touch(v / "HNSCC-3DCT-RT" / "HN_P001.nii.gz");
    touch(l / "HNSCC-3DCT-RT" / "HN_P001_seg.nii.gz");
    touch(l / "MSD-T10" / "liver_7_seg.nii.gz");  // label without CT
    touch(v / "COVID-19" / "volume-covid19-A-0202_0_ct.nii");  // plain .nii is accepted
    touch(l / "COVID-19" / "volume-covid19-A-0202_0_ct_seg.nii.gz");
    touch(v / "COLONOG" / "notes.txt");  // not NIfTI: ignored
    touch(v / ".hidden" / "HN_P999.nii.gz");  // hidden folder: skipped
    const std::map<std::string, std::string> split = {{"HN_P001", "trainset"}, {"liver_7", "test_public"}};
    const auto lay = scan_dataset(root.string(), split);
    CHECK(lay.kind == "huggingface");
    // sorted by name (byte order: digits < upper case < lower case)
    CHECK(names(lay) == std::vector<std::string>{"1.3.6.1.4.1.9328.50.4.0001", "CTC-3833125701", "HN_P001", "liver_7",
                                                 "volume-covid19-A-0202_0_ct"});
    const auto& a = find_case(lay, "1.3.6.1.4.1.9328.50.4.0001");
    CHECK(a.source == "COLONOG");
    CHECK(a.split == "");
    CHECK(a.image == (v / "COLONOG" / "1.3.6.1.4.1.9328.50.4.0001.nii.gz").string());
    CHECK(a.label == (l / "COLONOG" / "1.3.6.1.4.1.9328.50.4.0001_seg.nii.gz").string());
    const auto& b = find_case(lay, "CTC-3833125701");
    CHECK(b.source == "COLONOG");
    CHECK(b.label == "");
    const auto& h = find_case(lay, "HN_P001");
    CHECK(h.source == "HNSCC-3DCT-RT");
    CHECK(h.split == "trainset");
    const auto& m = find_case(lay, "liver_7");
    CHECK(m.source == "MSD_liver");
    CHECK(m.split == "test_public");
    CHECK(m.image == "");
    CHECK(m.label == (l / "MSD-T10" / "liver_7_seg.nii.gz").string());
    const auto& c = find_case(lay, "volume-covid19-A-0202_0_ct");
    CHECK(c.source == "COVID-19");
    CHECK(c.image == (v / "COVID-19" / "volume-covid19-A-0202_0_ct.nii").string());

    // the rawdata folder itself as the root
    const auto lay2 = scan_dataset((root / "rawdata").string());
    CHECK(lay2.kind == "huggingface");
    CHECK(lay2.cases.size() == 5);
    fs::remove_all(root);
}

TEST_CASE("dataset layout: nnU-Net raw dataset (imagesTr/_0000, labelsTr, imagesTs)") {
    const fs::path root = fresh_dir("layout_nnunet");
    touch(root / "imagesTr" / "liver_1_0000.nii.gz");
    touch(root / "imagesTr" / "liver_1_0001.nii.gz");  // a second channel is not a CT: left out
    touch(root / "labelsTr" / "liver_1.nii.gz");
    touch(root / "imagesTr" / "HN_P002_0000.nii.gz");  // no label
    touch(root / "labelsTr" / "HN_P003.nii.gz");       // no image
    touch(root / "imagesTs" / "CTC-0000000001_0000.nii.gz");
    std::ofstream((root / "dataset.json").string()) << "{}";
    const auto lay = scan_dataset(root.string());
    CHECK(lay.kind == "nnunet");
    CHECK(names(lay) == std::vector<std::string>{"CTC-0000000001", "HN_P002", "HN_P003", "liver_1"});
    CHECK(find_case(lay, "liver_1").image == (root / "imagesTr" / "liver_1_0000.nii.gz").string());
    CHECK(find_case(lay, "liver_1").label == (root / "labelsTr" / "liver_1.nii.gz").string());
    CHECK(find_case(lay, "HN_P002").label == "");
    CHECK(find_case(lay, "HN_P003").image == "");
    CHECK(find_case(lay, "CTC-0000000001").image == (root / "imagesTs" / "CTC-0000000001_0000.nii.gz").string());
    CHECK(find_case(lay, "CTC-0000000001").source == "COLONOG");
    fs::remove_all(root);
}

TEST_CASE("dataset layout: flat folders of case.nii.gz + case_seg.nii.gz") {
    const fs::path root = fresh_dir("layout_flat");
    touch(root / "liver_12.nii.gz");
    touch(root / "liver_12_seg.nii.gz");
    touch(root / "sub" / "HN_P010.nii.gz");
    touch(root / "sub" / "HN_P010_seg.nii.gz");
    touch(root / "sub-verse004.nii.gz");
    touch(root / "index.csv");
    const auto lay = scan_dataset(root.string(), {{"liver_12", "test_private"}});
    CHECK(lay.kind == "flat");
    CHECK(names(lay) == std::vector<std::string>{"HN_P010", "liver_12", "sub-verse004"});
    CHECK(find_case(lay, "liver_12").split == "test_private");
    CHECK(find_case(lay, "liver_12").label == (root / "liver_12_seg.nii.gz").string());
    CHECK(find_case(lay, "HN_P010").image == (root / "sub" / "HN_P010.nii.gz").string());
    CHECK(find_case(lay, "sub-verse004").source == "other");
    CHECK(find_case(lay, "sub-verse004").label == "");
    fs::remove_all(root);
}

TEST_CASE("dataset layout: errors") {
    // missing root
    try {
        scan_dataset((fs::temp_directory_path() / "ctspine_test_dataset_no_such_root").string());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == errc::io);
    }
    // a folder that is none of the layouts
    const fs::path root = fresh_dir("layout_none");
    touch(root / "readme.txt");
    try {
        scan_dataset(root.string());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
        CHECK(std::string(e.what()).find("not a dataset folder") != std::string::npos);
    }
    // a file, not a folder
    try {
        scan_dataset((root / "readme.txt").string());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
    }
    // two CTs with the same case name
    touch(root / "a" / "liver_3.nii.gz");
    touch(root / "b" / "liver_3.nii.gz");
    try {
        scan_dataset(root.string());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
        CHECK(std::string(e.what()).find("two CTs for case 'liver_3'") != std::string::npos);
    }
    fs::remove_all(root);
}

TEST_CASE("dataset: CTSpine1K sources and split file (moved from evaluate)") {
    CHECK(ctspine1k_source("1.3.6.1.4.1.9328.50.4.0001.nii.gz") == "COLONOG");
    CHECK(ctspine1k_source("CTC-3833125701_0000.nii.gz") == "COLONOG");
    CHECK(ctspine1k_source("HN_P031_seg.nii.gz") == "HNSCC-3DCT-RT");
    CHECK(ctspine1k_source("liver_199") == "MSD_liver");
    CHECK(ctspine1k_source("volume-covid19-A-0202_0_ct") == "COVID-19");
    CHECK(ctspine1k_source("HN_P1") == "other");
    CHECK(is_test_split("test_public"));
    CHECK(is_test_split("test_private"));
    CHECK_FALSE(is_test_split("trainset"));
    CHECK_FALSE(is_test_split(""));
    const fs::path root = fresh_dir("split");
    std::ofstream((root / "data_split.txt").string()) << "trainset:\nliver_1.nii.gz\n\ntest_public:\nHN_P001.nii.gz\n";
    const auto s = read_split_file((root / "data_split.txt").string());
    CHECK(s.size() == 2);
    CHECK(s.at("liver_1") == "trainset");
    CHECK(s.at("HN_P001") == "test_public");
    CHECK_THROWS_AS(read_split_file((root / "missing.txt").string()), error);
    fs::remove_all(root);
}
