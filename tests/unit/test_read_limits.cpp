// Reading limits (docs/robustness.md "Reading limits"): each limit is hit by an input built here so that the bytes it
// needs are known by construction, is an errc::size_limit error naming the limit in field(), and comes before the
// allocation it guards (the inputs claim terabytes: any allocation attempt would fail differently); one byte more
// of allowance reads the same input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <ctspine/io/nifti.hpp>
#include <ctspine/model/nnunet_v1.hpp>
#include <ctspine/model/pickle.hpp>
#include <ctspine/model/torch_checkpoint.hpp>
#include <ctspine/model/zip_reader.hpp>
#ifdef CTSPINE_HAVE_NLOHMANN_JSON
#include <ctspine/model/nnunet_plans.hpp>
#endif

#include "../fuzz/fuzz_zip_input.hpp"
#include "test_support.hpp"

using namespace ctspine;
namespace fs = std::filesystem;

namespace {

/// The error a call throws (errc::internal with field "none" if it does not throw).
template <class F>
error error_of(F&& f) {
    try {
        f();
    } catch (const error& e) {
        return e;
    }
    return error(errc::internal, "did not throw", {}, "none");
}

std::vector<unsigned char> file_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// A NIfTI-1 .nii of int16 written by hand (nifti1.h offsets): dims x, y, z, vox_offset 352, zero voxels.
std::vector<unsigned char> nii_int16(std::int16_t x, std::int16_t y, std::int16_t z, std::size_t voxel_bytes) {
    std::vector<unsigned char> b(352 + voxel_bytes, 0);
    auto put16 = [&](std::size_t o, std::int16_t v) { std::memcpy(b.data() + o, &v, 2); };
    auto putf = [&](std::size_t o, float v) { std::memcpy(b.data() + o, &v, 4); };
    const std::int32_t hs = 348;
    std::memcpy(b.data(), &hs, 4);
    put16(40, 3);
    put16(42, x);
    put16(44, y);
    put16(46, z);
    put16(48, 1);
    put16(70, 4);   // NIFTI_TYPE_INT16
    put16(72, 16);
    for (int i = 0; i < 4; ++i) putf(76 + 4 * static_cast<std::size_t>(i), 1.0f);
    putf(108, 352.0f);
    std::memcpy(b.data() + 344, "n+1\0", 4);
    return b;
}

std::vector<unsigned char> gzip_of(const std::vector<unsigned char>& raw) {
    return detail::gzip_member(raw.data(), raw.size(), 9, "test");
}

nifti_memory mem(const std::vector<unsigned char>& b) {
    nifti_memory m;
    m.data = b.data();
    m.size = b.size();
    return m;
}

}  // namespace

TEST_CASE("read limits: NIfTI max_read_bytes, max_voxels, max_extent (10x10x10 int16: 2,000 voxel bytes, 352 + 2,000 to read)") {
    const auto b = nii_int16(10, 10, 10, 2000);
    nifti_read_options o;
    o.threads = 1;
    CHECK(read_nifti<float>(mem(b), o).size() == 1000);
    // as float: the volume is 1,000 x 4 = 4,000 bytes
    o.max_read_bytes = 3999;
    auto e = error_of([&] { (void)read_nifti<float>(mem(b), o); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_read_bytes");
    o.max_read_bytes = 4000;
    CHECK(read_nifti<float>(mem(b), o).size() == 1000);
    // as int16: the volume is 2,000 bytes, the bytes to read 352 + 2,000 = 2,352
    o.max_read_bytes = 2351;
    CHECK(error_of([&] { (void)read_nifti<std::int16_t>(mem(b), o); }).field() == "max_read_bytes");
    o.max_read_bytes = 2352;
    CHECK(read_nifti<std::int16_t>(mem(b), o).size() == 1000);
    // into a caller's buffer: only the bytes to read count
    volume<std::int16_t> dst(read_nifti_header(mem(b)).geom());
    o.max_read_bytes = 2351;
    CHECK(error_of([&] { read_nifti_into<std::int16_t>(mem(b), dst.view(), o); }).field() == "max_read_bytes");
    o = {};
    o.max_voxels = 999;
    e = error_of([&] { (void)read_nifti<float>(mem(b), o); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_voxels");
    o.max_voxels = 1000;
    CHECK(read_nifti<float>(mem(b), o).size() == 1000);
    o = {};
    o.max_extent = 9;
    e = error_of([&] { (void)read_nifti<float>(mem(b), o); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_extent");
    o.max_extent = 10;
    CHECK(read_nifti<float>(mem(b), o).size() == 1000);
}

TEST_CASE("read limits: a .nii whose voxels are not in the file is refused before allocation (30000^3 int16 = 54 TB)") {
    const auto b = nii_int16(30000, 30000, 30000, 16);
    for (bool lib : {false, true}) {
        nifti_read_options o;
        o.use_libdeflate = lib;
        const auto e = error_of([&] { (void)read_nifti<float>(mem(b), o); });
        // 2.7e13 voxels is above ctspine::max_voxels (2^40 = 1.1e12): refused with the header
        CHECK(e.code() == errc::size_limit);
    }
    const auto c = nii_int16(10000, 10000, 10000, 16);  // 1e12 voxels <= 2^40: the file-size rule refuses it
    for (bool lib : {false, true}) {
        nifti_read_options o;
        o.use_libdeflate = lib;
        const auto e = error_of([&] { (void)read_nifti<float>(mem(c), o); });
        CHECK(e.code() == errc::truncated);
        CHECK(e.field() == "dim");
    }
}

TEST_CASE("read limits: gzip bomb (a ~1 KB .nii.gz claiming 1e12 voxels) and max_gzip_ratio") {
    // 10000^3 int16 header, 16 zero bytes of data: compressed it is tiny; 2e12 bytes > 1032 x size + 64 KiB
    const auto bomb = gzip_of(nii_int16(10000, 10000, 10000, 16));
    REQUIRE(bomb.size() < 1024);
    for (bool lib : {false, true}) {
        nifti_read_options o;
        o.use_libdeflate = lib;
        const auto e = error_of([&] { (void)read_nifti<float>(mem(bomb), o); });
        CHECK(e.code() == errc::size_limit);
        CHECK(e.field() == "dim");
    }
    // 64^3 int16 zeros: 352 + 524,288 = 524,640 decompressed bytes from S compressed ones. Allowed iff
    // 524,640 <= ratio x S + 65,536.
    const auto gz = gzip_of(nii_int16(64, 64, 64, 524288));
    const double S = double(gz.size());
    const double exact = (524640.0 - 65536.0) / S;
    REQUIRE(exact > 2);
    for (bool lib : {false, true}) {
        nifti_read_options o;
        o.use_libdeflate = lib;
        CHECK(read_nifti<std::int16_t>(mem(gz), o).size() == 64 * 64 * 64);  // the default, 1032
        o.max_gzip_ratio = std::floor(exact) - 1;
        const auto e = error_of([&] { (void)read_nifti<std::int16_t>(mem(gz), o); });
        CHECK(e.code() == errc::size_limit);
        CHECK(e.field() == "dim");
        o.max_gzip_ratio = std::ceil(exact) + 1;
        CHECK(read_nifti<std::int16_t>(mem(gz), o).size() == 64 * 64 * 64);
    }
}

namespace {
std::string pickle_str(const std::string& s) {  // BINUNICODE: 'X', uint32 LE length, UTF-8 bytes
    std::string o = "X";
    for (int i = 0; i < 4; ++i) o += char((s.size() >> (8 * i)) & 0xff);
    return o + s;
}
}  // namespace

TEST_CASE("read limits: pickle stack depth, allocation budget, memo-copy bomb") {
    // 100 MARKs: the 51st finds 50 marks on the stack, which max_stack = 50 refuses
    const std::string deep = "\x80\x02" + std::string(100, '(');
    pickle_limits l;
    l.max_stack = 50;
    auto e = error_of([&] { (void)parse_pickle(reinterpret_cast<const std::uint8_t*>(deep.data()), deep.size(), l); });
    CHECK(e.code() == errc::size_limit);
    l.max_stack = 1000;  // the same input is then only truncated (no STOP)
    CHECK(error_of([&] { (void)parse_pickle(reinterpret_cast<const std::uint8_t*>(deep.data()), deep.size(), l); }).code() == errc::truncated);

    // One 1,000-byte string: the tree holds one node and 1,000 payload bytes.
    const std::string one = "\x80\x02" + pickle_str(std::string(1000, 'a')) + ".";
    pickle_limits b;
    b.max_alloc_bytes = 1000 + sizeof(pickle_value) - 1;
    e = error_of([&] { (void)parse_pickle(reinterpret_cast<const std::uint8_t*>(one.data()), one.size(), b); });
    CHECK(e.code() == errc::size_limit);
    b.max_alloc_bytes = 1000 + sizeof(pickle_value);
    CHECK(parse_pickle(reinterpret_cast<const std::uint8_t*>(one.data()), one.size(), b).at(0).s.size() == 1000);

    // A persistent id ('storage', torch.FloatStorage, <100,000-byte key>, 'cpu', 1) memoised once, then asked for
    // 200 times (4 bytes each: BINGET 0, BINPERSID, POP): 200 copies of the key = 20 MB from a 100 KB input.
    std::string bomb = "\x80\x02(" + pickle_str("storage") + "ctorch\nFloatStorage\n" + pickle_str(std::string(100000, 'k')) +
                       pickle_str("cpu") + std::string("K\x01tq\x00" "0", 6);
    for (int i = 0; i < 200; ++i) bomb += std::string("h\x00Q0", 4);
    bomb += "N.";
    pickle_limits c;
    c.max_alloc_bytes = 10'000'000;
    e = error_of([&] { (void)parse_pickle(reinterpret_cast<const std::uint8_t*>(bomb.data()), bomb.size(), c); });
    CHECK(e.code() == errc::size_limit);
    const pickle_tree t = parse_pickle(reinterpret_cast<const std::uint8_t*>(bomb.data()), bomb.size());  // default: 1 GiB
    CHECK(t.at(t.root).kind == pickle_kind::none);
}

TEST_CASE("read limits: v1 pickle size") {
    const auto plans = file_bytes(ctspine_test::repo_data("model_v1/tiny/plans.pkl"));
    REQUIRE(plans.size() > 100);
    v1_pickle_limits l;
    l.max_file_bytes = plans.size() - 1;
    const auto e = error_of([&] { (void)parse_nnunet_v1_plans(plans.data(), plans.size(), l); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_file_bytes");
    l.max_file_bytes = plans.size();
    CHECK(parse_nnunet_v1_plans(plans.data(), plans.size(), l).num_modalities >= 1);
}

namespace {
/// {'w': tensor(FloatStorage '0' of `numel`, offset 0, size (n,), stride (s,))} as torch.save pickles it (protocol 2).
std::string tensor_pickle(int numel, std::int32_t n, int stride) {
    std::string p = "\x80\x02}" + pickle_str("w") + "ctorch._utils\n_rebuild_tensor_v2\n(";
    p += "(" + pickle_str("storage") + "ctorch\nFloatStorage\n" + pickle_str("0") + pickle_str("cpu") + "K" + char(numel) + "tQ";
    p += std::string("K\x00", 2);
    p += "J";
    for (int i = 0; i < 4; ++i) p += char((static_cast<std::uint32_t>(n) >> (8 * i)) & 0xff);
    p += "\x85";
    p += "K" + std::string(1, char(stride)) + "\x85";
    p += "\x89" "ccollections\nOrderedDict\n)R";
    p += "tRs.";
    return p;
}
}  // namespace

TEST_CASE("read limits: zip entry count, total size, overlapping records, compressed records; checkpoint sizes") {
    using ctspine_fuzz::make_stored_zip;
    const std::string three = make_stored_zip({{"a/x", std::string(100, 'x')}, {"a/y", std::string(100, 'y')}, {"a/z", std::string(100, 'z')}});
    zip_limits l;
    l.max_entries = 2;
    auto e = error_of([&] { zip_reader(three.data(), three.size(), "t.zip", l); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_entries");
    l.max_entries = 3;
    CHECK(zip_reader(three.data(), three.size(), "t.zip", l).entries().size() == 3);
    l = {};
    l.max_total_bytes = 299;
    e = error_of([&] { zip_reader(three.data(), three.size(), "t.zip", l); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_total_bytes");
    l.max_total_bytes = 300;
    CHECK(zip_reader(three.data(), three.size(), "t.zip", l).entries().size() == 3);

    // 50 central-directory records of one 1,000-byte payload: 50,000 bytes claimed from a ~3.5 KB archive
    const std::string overlap = make_stored_zip({{"a/x", std::string(1000, 'x')}}, 50);
    REQUIRE(overlap.size() < 50000);
    e = error_of([&] { zip_reader(overlap.data(), overlap.size(), "t.zip"); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_total_bytes");

    // A deflated record (method 8) claiming 4 GiB - 1: refused as unsupported before anything is inflated
    std::string deflated = make_stored_zip({{"a/x", std::string(10, 'x')}});
    const std::size_t cdh = deflated.find("PK\x01\x02");
    REQUIRE(cdh != std::string::npos);
    deflated[cdh + 10] = 8;
    for (int i = 0; i < 4; ++i) deflated[cdh + 24 + static_cast<std::size_t>(i)] = '\xff';
    e = error_of([&] { zip_reader(deflated.data(), deflated.size(), "t.zip"); });
    CHECK(e.code() == errc::unsupported);

    // checkpoint: data.pkl size cap
    const std::string pk = tensor_pickle(1, 1, 1);
    const std::string ck = make_stored_zip({{"archive/data.pkl", pk}, {"archive/data/0", std::string("\x00\x00\x80\x3f", 4)}});
    checkpoint_limits cl;
    cl.max_pickle_bytes = pk.size() - 1;
    e = error_of([&] { (void)read_torch_checkpoint(ck.data(), ck.size(), cl); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_pickle_bytes");
    cl.max_pickle_bytes = pk.size();
    const torch_checkpoint c = read_torch_checkpoint(ck.data(), ck.size(), cl);
    const auto w = c.tensor_as_float(c.get("w"), "w");
    REQUIRE(w.values.size() == 1);
    CHECK(w.values[0] == 1.0f);  // 0x3f800000
    // the zip limits of checkpoint_limits reach the archive
    cl.zip.max_entries = 1;
    CHECK(error_of([&] { (void)read_torch_checkpoint(ck.data(), ck.size(), cl); }).field() == "max_entries");
}

TEST_CASE("read limits: a tensor with more elements than its storage (stride 0) is refused before allocation") {
    using ctspine_fuzz::make_stored_zip;
    const std::string one = std::string("\x00\x00\x80\x3f", 4);
    // shape (2,000,000,000,), stride (0,) over a 1-element storage: 8 GB of floats from a 4-byte record
    const std::string big = make_stored_zip({{"archive/data.pkl", tensor_pickle(1, 2000000000, 0)}, {"archive/data/0", one}});
    const torch_checkpoint c = read_torch_checkpoint(big.data(), big.size());
    const auto e = error_of([&] { (void)c.tensor_as_float(c.get("w"), "w"); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_tensor_elements");
    // shape (3,), stride (0,): 3 elements > 1 in the storage, refused the same way
    const std::string small = make_stored_zip({{"archive/data.pkl", tensor_pickle(1, 3, 0)}, {"archive/data/0", one}});
    const torch_checkpoint c3 = read_torch_checkpoint(small.data(), small.size());
    CHECK(error_of([&] { (void)c3.tensor_as_float(c3.get("w"), "w"); }).code() == errc::size_limit);
}

#ifdef CTSPINE_HAVE_NLOHMANN_JSON
TEST_CASE("read limits: JSON nesting depth and size (plans.json, dataset.json)") {
    json_limits l;
    const std::string deep65 = std::string(65, '[') + std::string(65, ']');
    auto e = error_of([&] { (void)parse_nnunet_plans(deep65, "p.json", l); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_depth");
    // 64 levels pass the limit and reach the parser: the document is valid JSON but not a plans object
    const std::string deep64 = std::string(64, '[') + std::string(64, ']');
    CHECK(error_of([&] { (void)parse_nnunet_plans(deep64, "p.json", l); }).code() == errc::model_format);
    // brackets inside strings (and escaped quotes) do not nest
    const std::string quoted = "[\"" + std::string(100, '[') + "\\\"\"]";
    CHECK(error_of([&] { (void)parse_nnunet_dataset(quoted, "d.json", l); }).code() == errc::model_format);
    l.max_bytes = quoted.size() - 1;
    e = error_of([&] { (void)parse_nnunet_dataset(quoted, "d.json", l); });
    CHECK(e.code() == errc::size_limit);
    CHECK(e.field() == "max_bytes");
    // an empty label list for "ignore" is a format error (it was read as front() of an empty list)
    CHECK(error_of([&] { (void)parse_nnunet_dataset(R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "ignore": []}})"); }).code() ==
          errc::model_format);
}
#endif
