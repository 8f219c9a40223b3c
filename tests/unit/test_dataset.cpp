// Dataset layout recognition, header-only index, voxel checks and nnU-Net export (include/ctspine/dataset/).
// Trees are made in the test: names follow CTSpine1K's real patterns (docs/dataset.md), files are the committed
// examples/data spine CT + vertebra mask (and the shared spine CTs when present), broken variants are written with our
// NIfTI writer from hand-specified modifications, so every expected finding is known by construction.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <ctspine/core/orientation.hpp>
#include <ctspine/dataset/check.hpp>
#include <ctspine/dataset/index.hpp>
#include <ctspine/dataset/layout.hpp>
#include <ctspine/dataset/nnunet_export.hpp>
#include <ctspine/io/gzip.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/label_schemes.hpp>

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

// ------------------------------------------------------------------------------------------------ index, check, export
namespace {

/// A NIfTI-1 header written byte by byte from nifti1.h's layout (independent of our writer): little-endian,
/// single file (vox_offset 352), sform_code 1 with the given rows, no data after the header.
std::vector<unsigned char> hand_header(std::array<std::int16_t, 3> dims, std::array<float, 3> pixdim, std::int16_t datatype,
                                       std::int16_t bitpix, const std::array<std::array<float, 4>, 3>& srow, float slope = 0,
                                       float inter = 0) {
    std::vector<unsigned char> h(352, 0);
    auto i16 = [&](std::size_t o, std::int16_t v) { std::memcpy(h.data() + o, &v, 2); };
    auto i32 = [&](std::size_t o, std::int32_t v) { std::memcpy(h.data() + o, &v, 4); };
    auto f32 = [&](std::size_t o, float v) { std::memcpy(h.data() + o, &v, 4); };
    i32(0, 348);                                       // sizeof_hdr
    i16(40, 3);                                        // dim[0]
    for (int i = 0; i < 3; ++i) i16(42 + 2 * static_cast<std::size_t>(i), dims[static_cast<size_t>(i)]);
    for (int i = 3; i < 7; ++i) i16(42 + 2 * static_cast<std::size_t>(i), 1);
    i16(70, datatype);                                 // datatype
    i16(72, bitpix);                                   // bitpix
    f32(76, 1.0f);                                     // pixdim[0] = qfac
    for (int i = 0; i < 3; ++i) f32(80 + 4 * static_cast<std::size_t>(i), pixdim[static_cast<size_t>(i)]);
    f32(108, 352.0f);                                  // vox_offset
    f32(112, slope);                                   // scl_slope
    f32(116, inter);                                   // scl_inter
    i16(254, 1);                                       // sform_code
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) f32(280 + 16 * static_cast<std::size_t>(r) + 4 * static_cast<std::size_t>(c), srow[static_cast<size_t>(r)][static_cast<size_t>(c)]);
    std::memcpy(h.data() + 344, "n+1\0", 4);           // magic
    return h;
}

void write_bytes(const fs::path& p, const std::vector<unsigned char>& b) {
    fs::create_directories(p.parent_path());
    std::ofstream f(p.string(), std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// The header alone, gzipped: a "stub" .nii.gz whose header claims a full-size CT.
void write_stub(const fs::path& p, std::array<std::int16_t, 3> dims, std::array<float, 3> pixdim, std::int16_t datatype, std::int16_t bitpix,
                const std::array<std::array<float, 4>, 3>& srow) {
    const auto h = hand_header(dims, pixdim, datatype, bitpix, srow);
    write_bytes(p, detail::gzip_member(h.data(), h.size(), 6, p.string()));
}

std::string file_text(const fs::path& p) {
    std::ifstream f(p.string(), std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

/// The 1,005 CTSpine1K case names by the counts of docs/dataset.md (784 COLONOG of which 34 CTC-*, 31 HNSCC, 150 MSD
/// liver, 40 COVID-19), each with its split: per source the first ones trainset, then test_public, then test_private
/// by the published per-source counts (COLONOG 480/152/152, HNSCC 20/5/6, liver 90/30/30, COVID-19 20/10/10).
std::vector<std::pair<std::string, std::string>> ctspine1k_like_names() {
    std::vector<std::pair<std::string, std::string>> out;
    auto add = [&](std::vector<std::string> names, int train, int pub) {
        for (std::size_t i = 0; i < names.size(); ++i)
            out.emplace_back(names[i], int(i) < train ? "trainset" : int(i) < train + pub ? "test_public" : "test_private");
    };
    char b[64];
    std::vector<std::string> colonog, hn, liver, covid;
    for (int i = 0; i < 750; ++i) {
        std::snprintf(b, sizeof b, "1.3.6.1.4.1.9328.50.4.%04d", i + 1);
        colonog.push_back(b);
    }
    for (int i = 0; i < 34; ++i) {
        std::snprintf(b, sizeof b, "CTC-%010d", 1000 + i);
        colonog.push_back(b);
    }
    for (int i = 0; i < 31; ++i) {
        std::snprintf(b, sizeof b, "HN_P%03d", i + 1);
        hn.push_back(b);
    }
    for (int i = 0; i < 150; ++i) liver.push_back("liver_" + std::to_string(i));
    for (int i = 0; i < 40; ++i) {
        std::snprintf(b, sizeof b, "volume-covid19-A-%04d_ct", i + 1);
        covid.push_back(b);
    }
    add(colonog, 480, 152);
    add(hn, 20, 5);
    add(liver, 90, 30);
    add(covid, 20, 10);
    return out;
}

}  // namespace

TEST_CASE("dataset index: 1,005 header-only stub files (CTSpine1K names), timing, values and the source x split table") {
    const fs::path root = fresh_dir("index_stubs");
    const auto names = ctspine1k_like_names();
    REQUIRE(names.size() == 1005);
    // LPS CT, 0.75 x 0.75 x 1.25 mm, int16: srow = diag(-0.75, -0.75, 1.25) with an origin; labels uint8 on the same grid
    const std::array<std::array<float, 4>, 3> srow{{{-0.75f, 0, 0, 190.5f}, {0, -0.75f, 0, 170.25f}, {0, 0, 1.25f, -300.0f}}};
    std::map<std::string, std::string> split;
    std::size_t with_label = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto& [n, s] = names[i];
        split[n] = s;
        const fs::path dir = root / "rawdata" / "volumes" / ctspine1k_source(n);
        write_stub(dir / (n + ".nii.gz"), {512, 512, std::int16_t(200 + i % 300)}, {0.75f, 0.75f, 1.25f}, 4, 16, srow);
        if (s != "test_private") {  // by construction: the private test labels are not published
            write_stub(root / "rawdata" / "labels" / ctspine1k_source(n) / (n + "_seg.nii.gz"), {512, 512, std::int16_t(200 + i % 300)},
                       {0.75f, 0.75f, 1.25f}, 2, 8, srow);
            ++with_label;
        }
    }
    index_options io;
    io.threads = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const dataset_index idx = index_dataset(root.string(), split, io);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("indexed 1,005 stub cases (" << 1005 + with_label << " header-only .nii.gz files) in " << seconds << " s");
    CHECK(idx.kind == "huggingface");
    REQUIRE(idx.records.size() == 1005);
    for (std::size_t i = 0; i < idx.records.size(); i += 97) {
        const auto& r = idx.records[i];
        const auto it = std::find_if(names.begin(), names.end(), [&](const auto& p) { return p.first == r.name; });
        REQUIRE(it != names.end());
        const auto k = static_cast<std::size_t>(it - names.begin());
        CHECK(r.split == it->second);
        CHECK(r.image_info.readable);
        CHECK(r.image_info.dims == std::array<std::int64_t, 3>{512, 512, std::int64_t(200 + k % 300)});
        CHECK(r.image_info.spacing_mm == std::array<double, 3>{0.75, 0.75, 1.25});
        CHECK(r.image_info.orientation == "LPS");
        CHECK(r.image_info.datatype_name == "int16");
        CHECK(r.image_info.bytes == fs::file_size(r.image));
        CHECK(r.image_info.ijk_to_ras(0, 3) == 190.5);
        CHECK(r.image_info.ijk_to_ras(2, 3) == -300.0);
        CHECK(r.label_info.present == (it->second != "test_private"));
        if (r.label_info.present) CHECK(r.label_info.datatype_name == "uint8");
    }
    // the published per-source x split counts (docs/dataset.md), every private test case without a label map
    const case_counts t = count_cases(idx.records);
    CHECK(t.sources == std::vector<std::string>{"COLONOG", "HNSCC-3DCT-RT", "MSD_liver", "COVID-19"});
    CHECK(t.splits == std::vector<std::string>{"trainset", "test_public", "test_private"});
    CHECK(t.cases == std::vector<std::vector<std::size_t>>{{480, 152, 152}, {20, 5, 6}, {90, 30, 30}, {20, 10, 10}});
    CHECK(t.paired == std::vector<std::vector<std::size_t>>{{480, 152, 0}, {20, 5, 0}, {90, 30, 0}, {20, 10, 0}});
    CHECK(t.images_without_label == 198);
    CHECK(t.labels_without_image == 0);
    const std::string table = format_case_counts(t);
    // rows per source, then total; a cell shows "N (P paired)" only where some case is unpaired
    CHECK(table.find("COLONOG") != std::string::npos);
    CHECK(table.find("152 (0 paired)   784 (632 paired)\n") != std::string::npos);
    CHECK(table.find("198 (0 paired)  1005 (807 paired)\n") != std::string::npos);
    CHECK(table.find("CTs without a label map: 198, label maps without a CT: 0") != std::string::npos);

    // index.csv / index.json
    const fs::path out = root / "out";
    write_index(out.string(), idx);
    const std::string csv = file_text(out / "index.csv");
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 1006);
    CHECK(csv.rfind("case,source,split,image,label,image_dims,image_spacing_mm,image_orientation,image_datatype,image_bytes,", 0) == 0);
    CHECK(csv.find("\n1.3.6.1.4.1.9328.50.4.0001,COLONOG,trainset,") != std::string::npos);
    CHECK(csv.find(",512x512x200,0.75x0.75x1.25,LPS,int16,") != std::string::npos);
    const std::string json = file_text(out / "index.json");
    CHECK(json.find("\"n_cases\": 1005") != std::string::npos);
    CHECK(json.find("\"spacing_mm\": [0.75, 0.75, 1.25], \"orientation\": \"LPS\", \"datatype\": \"int16\"") != std::string::npos);
    CHECK(json.find("\"ijk_to_ras\": [[-0.75, 0, 0, 190.5], [0, -0.75, 0, 170.25], [0, 0, 1.25, -300], [0, 0, 0, 1]]") != std::string::npos);

    // threads do not change the index
    io.threads = 1;
    const dataset_index one = index_dataset(root.string(), split, io);
    CHECK(index_csv(one) == index_csv(idx));
    // cancel
    io.progress = [](double f, std::string_view) { return f < 0.5; };
    try {
        index_dataset(root.string(), split, io);
        FAIL("not cancelled");
    } catch (const error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    fs::remove_all(root);
}

namespace {

/// The committed lumbar CT cut-out (73x47x73, 1.5 mm, PIR, int16, -1030..1961 HU) and its vertebra mask (uint8,
/// L2 = 21, L3 = 22, L4 = 23, each one 26-connected piece: scipy.ndimage.label with a 3x3x3 structure gives 1 piece
/// each, 6567 / 17698 / 12083 voxels; L3 spans j = 5..41 along the inferior axis), examples/data/SOURCES.md.
struct sample_pair {
    fs::path ct = fs::path(CTSPINE_TEST_DATA) / ".." / ".." / "examples" / "data" / "sub-ct_label-22_ct.nii.gz";
    fs::path seg = fs::path(CTSPINE_TEST_DATA) / ".." / ".." / "examples" / "data" / "sub-ct_seg-vert_label-22_msk.nii.gz";
    volume<std::int16_t> ctv = read_nifti<std::int16_t>(ct.string());
    volume<std::uint8_t> segv = read_nifti<std::uint8_t>(seg.string());
};

const sample_pair& sample() {
    static const sample_pair s;
    return s;
}

void copy_to(const fs::path& src, const fs::path& dst) {
    fs::create_directories(dst.parent_path());
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing);
}

template <class T>
void write_to(const fs::path& dst, const volume<T>& v, const nifti_write_options& o = {}) {
    fs::create_directories(dst.parent_path());
    write_nifti(dst.string(), v, o);
}

/// The label map with a geometry change.
volume<std::uint8_t> seg_with(const geometry& g) {
    volume<std::uint8_t> v = sample().segv;
    v.set_geometry(g);
    return v;
}

using finding_set = std::map<std::string, std::multiset<std::string>>;

finding_set by_case(const check_result& r) {
    finding_set out;
    for (const auto& f : r.findings) out[f.case_name].insert(f.finding);
    return out;
}

/// A flat CTSpine1K-shaped tree: good pairs (the committed files copied byte for byte) and one broken variant per
/// finding, each written from a hand-specified modification; returns the expected findings per case.
finding_set make_check_tree(const fs::path& root) {
    const auto& s = sample();
    finding_set expect;
    auto good = [&](const std::string& name) {
        copy_to(s.ct, root / (name + ".nii.gz"));
        copy_to(s.seg, root / (name + "_seg.nii.gz"));
        expect[name];  // no finding
    };
    good("liver_1");
    good("1.3.6.1.4.1.9328.50.4.0001");
    good("CTC-0123456789");
    good("volume-covid19-A-0202_0_ct");
    const geometry g0 = s.segv.geometry();
    auto ct_copy = [&](const std::string& name) { copy_to(s.ct, root / (name + ".nii.gz")); };
    auto seg_copy = [&](const std::string& name) { copy_to(s.seg, root / (name + "_seg.nii.gz")); };

    // label map one slice longer along k (zeros): different shape
    {
        geometry g = g0;
        g.dims[2] += 1;
        volume<std::uint8_t> v(g, std::uint8_t(0));
        for (index_t z = 0; z < g0.dims[2]; ++z)
            for (index_t y = 0; y < g0.dims[1]; ++y)
                for (index_t x = 0; x < g0.dims[0]; ++x) v(x, y, z) = s.segv(x, y, z);
        ct_copy("liver_2");
        write_to(root / "liver_2_seg.nii.gz", v);
        expect["liver_2"] = {"grid_shape_mismatch"};
    }
    // origin moved 0.5 mm: beyond the 0.01 mm tolerance
    {
        geometry g = g0;
        g.ijk_to_ras(0, 3) += 0.5;
        ct_copy("liver_3");
        write_to(root / "liver_3_seg.nii.gz", seg_with(g));
        expect["liver_3"] = {"grid_affine_mismatch"};
    }
    // origin moved 0.004 mm: not numpy.allclose (atol 1e-8 + rtol 1e-5 x 78 = 0.00078 mm) but within 0.01 mm
    {
        geometry g = g0;
        g.ijk_to_ras(0, 3) += 0.004;
        ct_copy("liver_4");
        write_to(root / "liver_4_seg.nii.gz", seg_with(g));
        expect["liver_4"] = {"grid_affine_rounding"};
    }
    // first axis flipped (PIR -> AIR), same shape
    {
        ct_copy("liver_5");
        write_to(root / "liver_5_seg.nii.gz", reorient<std::uint8_t>(s.segv.view(), "AIR"));
        expect["liver_5"] = {"grid_orientation_mismatch"};
    }
    // float32 label map, integral values
    volume<float> segf(g0);
    for (index_t i = 0; i < g0.voxel_count(); ++i) segf.data()[i] = float(s.segv.data()[i]);
    {
        ct_copy("liver_6");
        write_to(root / "liver_6_seg.nii.gz", segf);
        expect["liver_6"] = {"label_float_datatype"};
    }
    // float32 label map with five background voxels at 21.5
    {
        volume<float> v = segf;
        for (index_t x = 0; x < 5; ++x) {
            REQUIRE(v(x, 46, 0) == 0.0f);
            v(x, 46, 0) = 21.5f;
        }
        ct_copy("liver_7");
        write_to(root / "liver_7_seg.nii.gz", v);
        expect["liver_7"] = {"label_float_datatype", "label_non_integer"};
    }
    // stored 2 x label with scl_slope 0.5: the same labels once scaled
    {
        volume<std::uint8_t> v = s.segv;
        for (auto& x : v) x = std::uint8_t(2 * x);
        nifti_write_options o;
        o.scl_slope = 0.5;
        ct_copy("liver_8");
        write_to(root / "liver_8_seg.nii.gz", v, o);
        expect["liver_8"] = {"label_scaled"};
    }
    // a 3x3x3 block of background labelled 30
    {
        volume<std::uint8_t> v = s.segv;
        for (index_t z = 0; z < 3; ++z)
            for (index_t y = 44; y < 47; ++y)
                for (index_t x = 0; x < 3; ++x) {
                    REQUIRE(v(x, y, z) == 0);
                    v(x, y, z) = 30;
                }
        ct_copy("liver_9");
        write_to(root / "liver_9_seg.nii.gz", v);
        expect["liver_9"] = {"label_out_of_range"};
    }
    // L3 cut in two at its median j (inferior axis): every L3 voxel of that plane set to 0
    {
        volume<std::uint8_t> v = s.segv;
        std::vector<std::int64_t> per_j(static_cast<size_t>(g0.dims[1]), 0);
        std::int64_t total = 0;
        for (index_t z = 0; z < g0.dims[2]; ++z)
            for (index_t y = 0; y < g0.dims[1]; ++y)
                for (index_t x = 0; x < g0.dims[0]; ++x)
                    if (v(x, y, z) == 22) ++per_j[static_cast<size_t>(y)], ++total;
        index_t jm = 0;
        for (std::int64_t acc = 0; jm < g0.dims[1]; ++jm)
            if ((acc += per_j[static_cast<size_t>(jm)]) * 2 >= total) break;
        for (index_t z = 0; z < g0.dims[2]; ++z)
            for (index_t x = 0; x < g0.dims[0]; ++x)
                if (v(x, jm, z) == 22) v(x, jm, z) = 0;
        ct_copy("liver_10");
        write_to(root / "liver_10_seg.nii.gz", v);
        expect["liver_10"] = {"vertebra_fragmented"};
    }
    // L3 removed: L2 and L4 remain
    {
        volume<std::uint8_t> v = s.segv;
        for (auto& x : v)
            if (x == 22) x = 0;
        ct_copy("liver_11");
        write_to(root / "liver_11_seg.nii.gz", v);
        expect["liver_11"] = {"vertebra_gap"};
    }
    // labels + 2: L4, L5, L6
    {
        volume<std::uint8_t> v = s.segv;
        for (auto& x : v)
            if (x) x = std::uint8_t(x + 2);
        ct_copy("liver_12");
        write_to(root / "liver_12_seg.nii.gz", v);
        expect["liver_12"] = {"transitional_l6"};
    }
    // CT stored + 1024 without a rescale intercept: minimum -1030 + 1024 = -6
    {
        volume<std::int16_t> v = s.ctv;
        for (auto& x : v) x = std::int16_t(x + 1024);
        write_to(root / "liver_13.nii.gz", v);
        seg_copy("liver_13");
        expect["liver_13"] = {"hu_range_implausible"};
    }
    // pixdim[3] = 0 in both files (affine unchanged)
    {
        geometry g = g0;
        g.spacing_mm[2] = 0;
        volume<std::int16_t> c = s.ctv;
        c.set_geometry(g);
        write_to(root / "liver_14.nii.gz", c);
        write_to(root / "liver_14_seg.nii.gz", seg_with(g));
        expect["liver_14"] = {"spacing_non_positive", "spacing_non_positive"};
    }
    // 12 mm along i in both files (spacing and affine column)
    {
        geometry g = g0;
        g.spacing_mm[0] = 12;
        g.ijk_to_ras.col(0) *= 12 / 1.5;
        volume<std::int16_t> c = s.ctv;
        c.set_geometry(g);
        write_to(root / "liver_15.nii.gz", c);
        write_to(root / "liver_15_seg.nii.gz", seg_with(g));
        expect["liver_15"] = {"spacing_extreme", "spacing_extreme"};
    }
    // CT truncated to half its bytes: the header reads, the voxels do not
    {
        ct_copy("liver_16");
        fs::resize_file(root / "liver_16.nii.gz", fs::file_size(s.ct) / 2);
        seg_copy("liver_16");
        expect["liver_16"] = {"image_unreadable"};
    }
    // label map truncated to 100 bytes: not even the header
    {
        ct_copy("liver_17");
        seg_copy("liver_17");
        fs::resize_file(root / "liver_17_seg.nii.gz", 100);
        expect["liver_17"] = {"label_unreadable"};
    }
    // float CT with one NaN voxel
    {
        volume<float> c(s.ctv.geometry());
        for (index_t i = 0; i < c.geometry().voxel_count(); ++i) c.data()[i] = float(s.ctv.data()[i]);
        c(10, 10, 10) = std::numeric_limits<float>::quiet_NaN();
        write_to(root / "liver_18.nii.gz", c);
        seg_copy("liver_18");
        expect["liver_18"] = {"image_nan"};
    }
    // a CT without its label map, a label map without its CT
    ct_copy("HN_P001");
    expect["HN_P001"] = {"label_missing"};
    seg_copy("HN_P002");
    expect["HN_P002"] = {"image_missing"};
    return expect;
}

}  // namespace

TEST_CASE("dataset check: every finding on a tree of broken variants of a real spine CT, and nothing on the good pairs") {
    const fs::path root = fresh_dir("check");
    const finding_set expect = make_check_tree(root / "data");
    const std::map<std::string, std::string> split = {{"CTC-0123456789", "test_public"}, {"volume-covid19-A-0202_0_ct", "test_private"},
                                                      {"HN_P001", "trainset"}};
    index_options io;
    io.threads = 2;
    const dataset_index idx = index_dataset((root / "data").string(), split, io);
    CHECK(idx.kind == "flat");
    REQUIRE(idx.records.size() == expect.size());
    // the good pair's index entry against the file facts (examples/data/SOURCES.md, nibabel)
    const auto& l1 = *std::find_if(idx.records.begin(), idx.records.end(), [](const index_record& r) { return r.name == "liver_1"; });
    CHECK(l1.image_info.dims == std::array<std::int64_t, 3>{73, 47, 73});
    CHECK(l1.image_info.spacing_mm == std::array<double, 3>{1.5, 1.5, 1.5});
    CHECK(l1.image_info.orientation == "PIR");
    CHECK(l1.image_info.datatype_name == "int16");
    CHECK(l1.label_info.datatype_name == "uint8");
    CHECK(l1.image_info.bytes == fs::file_size(sample().ct));
    CHECK(l1.source == "MSD_liver");

    check_options co;
    co.threads = 2;
    int calls = 0;
    co.progress = [&](double, std::string_view) { return ++calls > 0; };
    const check_result res = check_dataset(idx, co);
    CHECK(calls >= 2);
    const finding_set got = by_case(res);
    for (const auto& e : expect) {  // no structured bindings: doctest's INFO captures (clang < 16 rejects that)
        const std::string& name = e.first;
        INFO("case " << name);
        const auto it = got.find(name);
        CHECK((it == got.end() ? std::multiset<std::string>{} : it->second) == e.second);
    }
    for (const auto& g : got) {
        const std::string& name = g.first;
        CHECK_MESSAGE(expect.count(name), "unexpected case " << name);
    }
    // severities as documented
    std::map<std::string, std::string> sev;
    for (const auto& f : res.findings) sev[f.finding] = severity_name(f.severity);
    CHECK(sev["grid_shape_mismatch"] == "error");
    CHECK(sev["grid_affine_mismatch"] == "error");
    CHECK(sev["grid_orientation_mismatch"] == "error");
    CHECK(sev["grid_affine_rounding"] == "info");
    CHECK(sev["label_non_integer"] == "error");
    CHECK(sev["label_out_of_range"] == "error");
    CHECK(sev["label_scaled"] == "warning");
    CHECK(sev["vertebra_fragmented"] == "warning");
    CHECK(sev["vertebra_gap"] == "warning");
    CHECK(sev["transitional_l6"] == "info");
    CHECK(sev["hu_range_implausible"] == "warning");
    CHECK(sev["spacing_non_positive"] == "error");
    CHECK(sev["spacing_extreme"] == "warning");
    CHECK(sev["image_unreadable"] == "error");
    CHECK(sev["label_unreadable"] == "error");
    CHECK(sev["image_nan"] == "error");
    CHECK(sev["image_missing"] == "error");
    CHECK(sev["label_missing"] == "warning");
    // details name what is wrong
    for (const auto& f : res.findings) {
        if (f.finding == "vertebra_gap") CHECK(f.details == "absent: L3 (present: L2, L4)");
        if (f.finding == "label_out_of_range") CHECK(f.details == "values outside 0..25: 30 (27 voxels)");
        if (f.finding == "grid_shape_mismatch") CHECK(f.details == "CT 73x47x73, label map 73x47x74");
        if (f.finding == "grid_orientation_mismatch") CHECK(f.details == "CT PIR, label map AIR");
        if (f.finding == "vertebra_fragmented") CHECK(f.details.rfind("L3 (22) is in 2 large pieces", 0) == 0);
        if (f.finding == "hu_range_implausible") CHECK(f.details.rfind("CT values -6 to 2985", 0) == 0);
        if (f.finding == "label_non_integer") CHECK(f.details == "5 voxels are not integers (e.g. 21.5)");
    }
    // per source: 19 MSD_liver cases (liver_1..18 and none else), errors in liver_2,3,5,7,9,14,16,17,18
    const auto liver = std::find_if(res.by_source.begin(), res.by_source.end(), [](const source_findings& s) { return s.source == "MSD_liver"; });
    REQUIRE(liver != res.by_source.end());
    CHECK(liver->cases == 18);
    CHECK(liver->cases_with_error == 9);
    CHECK(liver->cases_per_finding.at("spacing_non_positive") == 1);
    CHECK(res.cases == expect.size());

    // same findings for any thread count and number of cases in flight
    check_options c1 = co;
    c1.threads = 1;
    c1.progress = {};
    CHECK(findings_csv(check_dataset(idx, c1)) == findings_csv(res));
    c1.threads = 3;
    c1.cases_in_flight = 5;
    CHECK(findings_csv(check_dataset(idx, c1)) == findings_csv(res));

    // findings.csv beside index.csv
    write_index((root / "out").string(), idx);
    write_findings((root / "out").string(), res);
    const std::string csv = file_text(root / "out" / "findings.csv");
    CHECK(csv.rfind("case,severity,finding,details\n", 0) == 0);
    CHECK(csv.find("\nliver_11,warning,vertebra_gap,\"absent: L3 (present: L2, L4)\"\n") != std::string::npos);
    CHECK(fs::exists(root / "out" / "findings_summary.csv"));

    // the check beside reading every file once with the NIfTI reader, one thread (informational: no timed assertion)
    {
        check_options c2;
        c2.threads = 1;
        const auto t0 = std::chrono::steady_clock::now();
        (void)check_dataset(idx, c2);
        const double t_check = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto t1 = std::chrono::steady_clock::now();
        std::size_t files = 0;
        for (const auto& r : idx.records)
            for (const std::string* p : {&r.image, &r.label}) {
                if (p->empty()) continue;
                try {
                    nifti_read_options ro;
                    ro.threads = 1;
                    (void)read_nifti<float>(*p, ro);
                    ++files;
                } catch (const error&) {
                }
            }
        const double t_read = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        MESSAGE("check of " << idx.records.size() << " cases: " << t_check << " s; read_nifti<float> of the " << files
                            << " readable files: " << t_read << " s (1 thread)");
    }
    // cancel
    c1.progress = [](double f, std::string_view) { return f == 0; };
    try {
        check_dataset(idx, c1);
        FAIL("not cancelled");
    } catch (const error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    fs::remove_all(root);
}

TEST_CASE("dataset check: the shared spine CT (TotalSegmentator labels converted to VerSe) has no finding") {
    CTSPINE_REQUIRE_SHARED(ct, "spine/example_ct_sm.nii.gz");
    CTSPINE_REQUIRE_SHARED(seg, "spine/example_seg.nii.gz");
    const fs::path root = fresh_dir("check_shared");
    // example_seg is TotalSegmentator v2 `total` (L2 = 30, L1 = 31, T12 = 32, T11 = 33): VerSe 21, 20, 19, 18; the
    // organs become 0. Each vertebra is one piece (scipy.ndimage.label 3x3x3, the example_vertebra_report ctest).
    auto s = read_nifti<std::uint8_t>(seg.string());
    convert_label_scheme<std::uint8_t>(s.view(), label_scheme::totalseg_v2, label_scheme::verse);
    copy_to(ct, root / "HN_P010.nii.gz");
    write_to(root / "HN_P010_seg.nii.gz", s);
    const dataset_index idx = index_dataset(root.string());
    REQUIRE(idx.records.size() == 1);
    CHECK(idx.records[0].image_info.dims == std::array<std::int64_t, 3>{122, 101, 30});
    CHECK(idx.records[0].image_info.orientation == "RAS");
    CHECK(idx.records[0].image_info.spacing_mm == std::array<double, 3>{3, 3, 3});
    const check_result res = check_dataset(idx);
    CHECK(res.findings.empty());
    for (const auto& f : res.findings) MESSAGE(f.finding << ": " << f.details);
    fs::remove_all(root);
}

// ------------------------------------------------------------------------------------------------ nnU-Net export
namespace {

/// nnU-Net v2's rules for a raw dataset, restated from its source (MIC-DKFZ/nnUNet @ 0e49508): violations as text.
/// verify_dataset_integrity.py = nnunetv2/experiment_planning/verify_dataset_integrity.py, utils.py =
/// nnunetv2/utilities/utils.py, label_handling.py = nnunetv2/utilities/label_handling/label_handling.py,
/// nibabel_reader_writer.py = nnunetv2/imageio/nibabel_reader_writer.py.
std::vector<std::string> nnunet_violations(const fs::path& folder) {
    std::vector<std::string> v;
    // verify_dataset_integrity.py:134 dataset.json must exist; :138-139 imagesTr and labelsTr must be folders
    const fs::path dj = folder / "dataset.json";
    if (!fs::is_regular_file(dj)) return {"no dataset.json"};
    if (!fs::is_directory(folder / "imagesTr")) v.push_back("no imagesTr");
    if (!fs::is_directory(folder / "labelsTr")) v.push_back("no labelsTr");
    const std::string text = file_text(dj);
    // :143-150 required keys labels, channel_names, numTraining, file_ending
    for (const char* key : {"\"labels\"", "\"channel_names\"", "\"numTraining\"", "\"file_ending\""})
        if (text.find(key) == std::string::npos) v.push_back(std::string("dataset.json lacks ") + key);
    // label names -> values; label_handling.py:51-57 background must be 0; verify_dataset_integrity.py:197-203 the
    // values sorted must be consecutive (np.ediff1d == 1)
    std::vector<long> values;
    {
        const auto a = text.find("\"labels\": {"), b = text.find('}', a);
        std::istringstream is(text.substr(a, b - a));
        std::string line;
        bool bg = false;
        while (std::getline(is, line)) {
            const auto colon = line.rfind(':');
            if (colon == std::string::npos || line.find('"') == std::string::npos || line.find("\"labels\"") != std::string::npos) continue;
            const long val = std::stol(line.substr(colon + 1));
            values.push_back(val);
            if (line.find("\"background\"") != std::string::npos) bg = val == 0;
        }
        if (!bg) v.push_back("background is not 0");
        std::sort(values.begin(), values.end());
        for (std::size_t i = 1; i < values.size(); ++i)
            if (values[i] - values[i - 1] != 1) v.push_back("labels not consecutive");
    }
    const auto nt = text.find("\"numTraining\": ");
    const long num_training = std::stol(text.substr(nt + 15));
    const std::string ending = ".nii.gz";
    if (text.find("\"file_ending\": \".nii.gz\"") == std::string::npos) v.push_back("file_ending is not .nii.gz");
    // channel_names: one channel (verify_dataset_integrity.py:153-155, :80 number of channels of each case), CT
    if (text.find("\"channel_names\": {\n        \"0\": \"CT\"\n    }") == std::string::npos) v.push_back("channel_names is not {0: CT}");
    // utils.py:25-32 identifiers: imagesTr files ending in file_ending, minus the 4-digit channel suffix; :35-37 each
    // identifier's images are <id>_dddd<ending>
    std::map<std::string, std::vector<std::string>> ids;
    for (const auto& e : fs::directory_iterator(folder / "imagesTr")) {
        const std::string n = e.path().filename().string();
        if (n.size() <= ending.size() + 5 || n.compare(n.size() - ending.size(), ending.size(), ending) != 0) continue;
        const std::string id = n.substr(0, n.size() - ending.size() - 5);
        const std::string ch = n.substr(n.size() - ending.size() - 5, 5);
        if (ch[0] != '_' || !std::all_of(ch.begin() + 1, ch.end(), ::isdigit)) v.push_back("image without a channel suffix: " + n);
        ids[id].push_back(e.path().string());
    }
    // verify_dataset_integrity.py:161 as many training cases as numTraining
    if (static_cast<long>(ids.size()) != num_training) v.push_back("numTraining " + std::to_string(num_training) + " but " +
                                                                 std::to_string(ids.size()) + " cases in imagesTr");
    for (const auto& [id, images] : ids) {
        // :186-190 each identifier has labelsTr/<id><ending>
        const fs::path lab = folder / "labelsTr" / (id + ending);
        if (!fs::is_regular_file(lab)) {
            v.push_back("no label for " + id);
            continue;
        }
        // :80 one image per case (one channel)
        if (images.size() != 1) v.push_back(id + ": " + std::to_string(images.size()) + " channels");
        // nibabel_reader_writer.py:43-55 read as float (get_fdata: scaling applied), spacing = zooms, affine
        const auto img = read_nifti<float>(images[0]);
        const auto seg = read_nifti<float>(lab.string());
        // verify_dataset_integrity.py:53-59 no NaN in image or segmentation
        if (std::any_of(img.begin(), img.end(), [](float x) { return std::isnan(x); })) v.push_back(id + ": NaN in the image");
        // :29-41 every value of the segmentation is an expected label
        std::set<float> found(seg.begin(), seg.end());
        for (float x : found)
            if (std::isnan(x) || x != std::floor(x) || !std::binary_search(values.begin(), values.end(), long(x)))
                v.push_back(id + ": unexpected label " + std::to_string(x));
        // :64 shapes equal
        if (img.dims() != seg.dims()) v.push_back(id + ": shape mismatch");
        // :73 spacings np.allclose; :90 affines np.allclose (a warning in nnU-Net, asserted here)
        const auto close = [](double a, double b) { return std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b); };
        for (int i = 0; i < 3; ++i)
            if (!close(seg.spacing_mm()[static_cast<size_t>(i)], img.spacing_mm()[static_cast<size_t>(i)])) v.push_back(id + ": spacing mismatch");
        for (int r = 0; r < 4; ++r)
            for (int c = 0; c < 4; ++c)
                if (!close(seg.ijk_to_ras()(r, c), img.ijk_to_ras()(r, c))) v.push_back(id + ": affine mismatch");
    }
    return v;
}

/// Hugging Face layout tree for the export: training pairs needing no change / a label rewrite of each kind / a CT
/// rewrite, a test pair, a CT without a label map, a label map without a CT.
void make_export_tree(const fs::path& root, bool with_bad_case) {
    const auto& s = sample();
    const fs::path v = root / "rawdata" / "volumes", l = root / "rawdata" / "labels";
    copy_to(s.ct, v / "MSD_liver" / "liver_1.nii.gz");
    copy_to(s.seg, l / "MSD_liver" / "liver_1_seg.nii.gz");
    const geometry g0 = s.segv.geometry();
    // liver_4: label origin off by 0.004 mm (within tolerance): rewritten with the CT's geometry
    {
        geometry g = g0;
        g.ijk_to_ras(0, 3) += 0.004;
        copy_to(s.ct, v / "MSD_liver" / "liver_4.nii.gz");
        write_to(l / "MSD_liver" / "liver_4_seg.nii.gz", seg_with(g));
    }
    // liver_6: float32 label map: rewritten as uint8
    {
        volume<float> f(g0);
        for (index_t i = 0; i < g0.voxel_count(); ++i) f.data()[i] = float(s.segv.data()[i]);
        copy_to(s.ct, v / "MSD_liver" / "liver_6.nii.gz");
        write_to(l / "MSD_liver" / "liver_6_seg.nii.gz", f);
    }
    // liver_8: 2 x label with scl_slope 0.5: rewritten unscaled
    {
        volume<std::uint8_t> x = s.segv;
        for (auto& e : x) e = std::uint8_t(2 * e);
        nifti_write_options o;
        o.scl_slope = 0.5;
        copy_to(s.ct, v / "MSD_liver" / "liver_8.nii.gz");
        write_to(l / "MSD_liver" / "liver_8_seg.nii.gz", x, o);
    }
    // HN_P003: uncompressed CT (.nii): rewritten as .nii.gz
    write_to(v / "HNSCC" / "HN_P003.nii", s.ctv);
    copy_to(s.seg, l / "HNSCC" / "HN_P003_seg.nii.gz");
    // CTC-0123456789: test_public pair: imagesTs + labelsTs
    copy_to(s.ct, v / "COLONOG" / "CTC-0123456789.nii.gz");
    copy_to(s.seg, l / "COLONOG" / "CTC-0123456789_seg.nii.gz");
    // HN_P001: trainset CT without a label map -> imagesTs; HN_P002: label map without a CT -> not exported
    copy_to(s.ct, v / "HNSCC" / "HN_P001.nii.gz");
    copy_to(s.seg, l / "HNSCC" / "HN_P002_seg.nii.gz");
    if (with_bad_case) {  // liver_2: label map one slice longer: not exportable
        geometry g = g0;
        g.dims[2] += 1;
        copy_to(s.ct, v / "MSD_liver" / "liver_2.nii.gz");
        write_to(l / "MSD_liver" / "liver_2_seg.nii.gz", volume<std::uint8_t>(g, std::uint8_t(0)));
    }
}

}  // namespace

TEST_CASE("dataset to-nnunet: nnU-Net v2's verify rules hold, links vs rewrites, idempotent, resumable, refuses another dataset") {
    const fs::path root = fresh_dir("export");
    make_export_tree(root / "src", false);
    const std::map<std::string, std::string> split = {{"liver_1", "trainset"}, {"liver_4", "trainset"}, {"liver_6", "trainset"},
                                                      {"liver_8", "trainset"}, {"HN_P001", "trainset"}, {"HN_P003", "trainset"},
                                                      {"CTC-0123456789", "test_public"}};
    nnunet_export_options eo;
    eo.dataset_id = 42;
    eo.dataset_name = "CTSpine1Ktest";
    eo.threads = 2;
    const fs::path out = root / "nnUNet_raw";
    const nnunet_export_result r = export_nnunet((root / "src").string(), out.string(), eo, split);
    const fs::path ds = out / "Dataset042_CTSpine1Ktest";
    CHECK(r.folder == ds.string());
    CHECK(r.failed.empty());
    for (const auto& f : r.failed) MESSAGE(f);
    CHECK(r.training == 5);
    CHECK(r.test == 2);  // CTC-0123456789 and HN_P001
    // linked: liver_1 CT + label, liver_4/6/8 CTs, HN_P003 label, CTC CT + label, HN_P001 CT = 9; rewritten: 3 labels + 1 CT
    CHECK(r.linked + r.copied == 9);
    CHECK(r.rewritten == 4);
    CHECK(r.existing == 0);
    const auto violations = nnunet_violations(ds);
    CHECK(violations.empty());
    for (const auto& x : violations) MESSAGE(x);
    // what went where
    CHECK(fs::is_regular_file(ds / "imagesTr" / "HN_P003_0000.nii.gz"));
    CHECK(fs::is_regular_file(ds / "imagesTs" / "CTC-0123456789_0000.nii.gz"));
    CHECK(fs::is_regular_file(ds / "labelsTs" / "CTC-0123456789.nii.gz"));
    CHECK(fs::is_regular_file(ds / "imagesTs" / "HN_P001_0000.nii.gz"));
    CHECK_FALSE(fs::exists(ds / "labelsTr" / "HN_P002.nii.gz"));
    // unchanged files are hard links of the source (same file), rewritten ones are new files
    CHECK(fs::equivalent(ds / "imagesTr" / "liver_1_0000.nii.gz", root / "src" / "rawdata" / "volumes" / "MSD_liver" / "liver_1.nii.gz"));
    CHECK(fs::equivalent(ds / "labelsTr" / "liver_1.nii.gz", root / "src" / "rawdata" / "labels" / "MSD_liver" / "liver_1_seg.nii.gz"));
    CHECK_FALSE(fs::equivalent(ds / "labelsTr" / "liver_6.nii.gz", root / "src" / "rawdata" / "labels" / "MSD_liver" / "liver_6_seg.nii.gz"));
    // rewritten label maps: uint8, unscaled, the CT's geometry, the same labels
    for (const char* c : {"liver_4", "liver_6", "liver_8"}) {
        INFO(c);
        const nifti_header h = read_nifti_header((ds / "labelsTr" / (std::string(c) + ".nii.gz")).string());
        CHECK(h.datatype == 2);
        CHECK_FALSE(h.has_scaling());
        CHECK(h.ijk_to_ras == read_nifti_header(sample().ct.string()).ijk_to_ras);
        const auto lab = read_nifti<std::uint8_t>((ds / "labelsTr" / (std::string(c) + ".nii.gz")).string());
        CHECK(std::equal(lab.begin(), lab.end(), sample().segv.begin()));
    }
    // the rewritten CT holds the same voxels
    {
        const auto ct = read_nifti<std::int16_t>((ds / "imagesTr" / "HN_P003_0000.nii.gz").string());
        CHECK(std::equal(ct.begin(), ct.end(), sample().ctv.begin()));
    }
    // the log says what was rewritten and why
    const auto has = [&](const std::string& s) {
        return std::any_of(r.log.begin(), r.log.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
    };
    CHECK(has("liver_4: label map rewritten (geometry copied from the CT (affine/spacing differed by up to 0.00"));
    CHECK(has("liver_6: label map rewritten (datatype float32 -> uint8)"));
    CHECK(has("liver_8: label map rewritten (scl_slope 0.5 / scl_inter 0 applied)"));
    CHECK(has("HN_P003: CT rewritten (compressed)"));
    CHECK(has("HN_P001: no label map, CT exported to imagesTs"));
    CHECK(has("HN_P002: not exported (label map without a CT)"));
    // dataset.json: as nnU-Net's documentation/dataset_format.md shows it; VerSe names C1..L6
    const std::string json = file_text(ds / "dataset.json");
    CHECK(json.find("\"background\": 0,\n        \"C1\": 1,") != std::string::npos);
    CHECK(json.find("\"L5\": 24,\n        \"L6\": 25\n    }") != std::string::npos);
    CHECK(json.find("\"numTraining\": 5,") != std::string::npos);

    // idempotent: a second run changes nothing
    const auto mtime = fs::last_write_time(ds / "labelsTr" / "liver_6.nii.gz");
    const nnunet_export_result r2 = export_nnunet((root / "src").string(), out.string(), eo, split);
    CHECK(r2.failed.empty());
    CHECK(r2.existing == 13);
    CHECK(r2.linked + r2.copied + r2.rewritten == 0);
    CHECK(fs::last_write_time(ds / "labelsTr" / "liver_6.nii.gz") == mtime);
    CHECK(file_text(ds / "dataset.json") == json);
    // resumable: lost files come back, the others stay
    fs::remove(ds / "labelsTr" / "liver_8.nii.gz");
    fs::remove(ds / "imagesTr" / "liver_1_0000.nii.gz");
    const nnunet_export_result r3 = export_nnunet((root / "src").string(), out.string(), eo, split);
    CHECK(r3.rewritten == 1);
    CHECK(r3.linked + r3.copied == 1);
    CHECK(r3.existing == 11);
    CHECK(nnunet_violations(ds).empty());
    // a different dataset (another split: 6 training cases) into the same folder is refused
    auto split2 = split;
    split2["CTC-0123456789"] = "trainset";
    try {
        export_nnunet((root / "src").string(), out.string(), eo, split2);
        FAIL("not refused");
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
        CHECK(std::string(e.what()).find("different dataset") != std::string::npos);
    }
    // --copy: copies instead of links
    eo.dataset_id = 43;
    eo.hard_link = false;
    const nnunet_export_result rc = export_nnunet((root / "src").string(), out.string(), eo, split);
    CHECK(rc.copied == 9);
    CHECK(rc.linked == 0);
    CHECK_FALSE(fs::equivalent(out / "Dataset043_CTSpine1Ktest" / "imagesTr" / "liver_1_0000.nii.gz",
                               root / "src" / "rawdata" / "volumes" / "MSD_liver" / "liver_1.nii.gz"));
    CHECK(nnunet_violations(out / "Dataset043_CTSpine1Ktest").empty());
    // bad id / name
    eo.dataset_id = 1000;
    CHECK_THROWS_AS(export_nnunet((root / "src").string(), out.string(), eo, split), error);
    eo.dataset_id = 44;
    eo.dataset_name = "a/b";
    CHECK_THROWS_AS(export_nnunet((root / "src").string(), out.string(), eo, split), error);
    fs::remove_all(root);
}

TEST_CASE("dataset to-nnunet: a label map on another grid is not exported, and nnU-Net's rules then fail") {
    const fs::path root = fresh_dir("export_bad");
    make_export_tree(root / "src", true);
    nnunet_export_options eo;
    eo.dataset_id = 7;
    eo.dataset_name = "Bad";
    eo.threads = 1;
    const nnunet_export_result r = export_nnunet((root / "src").string(), (root / "out").string(), eo);
    REQUIRE(r.failed.size() == 1);
    CHECK(r.failed[0] == "liver_2: label map grid 73x47x74 differs from the CT's 73x47x73");
    CHECK(r.training == 7);  // no split: liver_1,2,4,6,8, HN_P003, CTC-0123456789; HN_P001 (no label) -> imagesTs
    CHECK_FALSE(fs::exists(root / "out" / "Dataset007_Bad" / "imagesTr" / "liver_2_0000.nii.gz"));
    const auto v = nnunet_violations(root / "out" / "Dataset007_Bad");
    REQUIRE(v.size() == 1);
    CHECK(v[0] == "numTraining 7 but 6 cases in imagesTr");
    fs::remove_all(root);
}
