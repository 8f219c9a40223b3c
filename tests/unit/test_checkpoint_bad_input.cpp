// Hostile / corrupt checkpoints: every case must end in a ctspine::error (never a crash, hang or huge allocation).
// Runs under ASan+UBSan in CI. Archives are built in memory by a tiny stored-zip writer below, or by mutating the
// torch-written fixture tests/data/model/misc/dtypes.pth.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "ctspine/model/nnunet_model.hpp"
#include "ctspine/model/torch_checkpoint.hpp"
#include "test_support.hpp"

using namespace ctspine;
using ctspine_test::repo_data;
namespace fs = std::filesystem;
using bytes_t = std::vector<std::uint8_t>;

namespace {

bytes_t read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return bytes_t(std::istreambuf_iterator<char>(f), {});
}

struct temp_file {
    fs::path path;
    explicit temp_file(const bytes_t& b, const std::string& name = "ctspine_bad_ckpt.pth") {
        path = fs::temp_directory_path() / name;
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    ~temp_file() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

void put16(bytes_t& b, unsigned v) { b.push_back(v & 0xFF); b.push_back((v >> 8) & 0xFF); }
void put32(bytes_t& b, std::uint32_t v) { for (int k = 0; k < 4; ++k) b.push_back((v >> (8 * k)) & 0xFF); }

/// Minimal stored zip (no zip64, CRC left 0 — ctspine does not check CRCs of stored records).
bytes_t make_zip(const std::vector<std::pair<std::string, bytes_t>>& files, unsigned method = 0) {
    bytes_t out, cd;
    for (auto& [name, data] : files) {
        std::uint32_t ofs = static_cast<std::uint32_t>(out.size());
        put32(out, 0x04034b50u); put16(out, 20); put16(out, 0); put16(out, method); put16(out, 0); put16(out, 0);
        put32(out, 0); put32(out, static_cast<std::uint32_t>(data.size())); put32(out, static_cast<std::uint32_t>(data.size()));
        put16(out, static_cast<unsigned>(name.size())); put16(out, 0);
        out.insert(out.end(), name.begin(), name.end());
        out.insert(out.end(), data.begin(), data.end());
        put32(cd, 0x02014b50u); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, method); put16(cd, 0); put16(cd, 0);
        put32(cd, 0); put32(cd, static_cast<std::uint32_t>(data.size())); put32(cd, static_cast<std::uint32_t>(data.size()));
        put16(cd, static_cast<unsigned>(name.size())); put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0);
        put32(cd, 0); put32(cd, ofs);
        cd.insert(cd.end(), name.begin(), name.end());
    }
    std::uint32_t cd_ofs = static_cast<std::uint32_t>(out.size());
    out.insert(out.end(), cd.begin(), cd.end());
    put32(out, 0x06054b50u); put16(out, 0); put16(out, 0);
    put16(out, static_cast<unsigned>(files.size())); put16(out, static_cast<unsigned>(files.size()));
    put32(out, static_cast<std::uint32_t>(cd.size())); put32(out, cd_ofs); put16(out, 0);
    return out;
}

bytes_t str(const std::string& s) { return bytes_t(s.begin(), s.end()); }

std::string le32(std::uint32_t v) {
    std::string r;
    for (int k = 0; k < 4; ++k) r += static_cast<char>((v >> (8 * k)) & 0xFF);
    return r;
}
/// BINUNICODE opcode for `s`.
std::string U(const std::string& s) { return "X" + le32(static_cast<std::uint32_t>(s.size())) + s; }

/// Pickle (protocol 2) of {'network_weights': {'w': tensor}} with a `storage` of `numel` elements, key '0'.
std::string tensor_pickle(int numel, const std::string& size_tuple, const std::string& stride_tuple,
                          const std::string& storage = "FloatStorage", int offset = 0) {
    std::string p = "\x80\x02}" + U("network_weights") + "}" + U("w");
    p += "ctorch._utils\n_rebuild_tensor_v2\n(";
    p += "(" + U("storage") + "ctorch\n" + storage + "\n" + U("0") + U("cpu") + "K" + std::string(1, static_cast<char>(numel)) + "tQ";
    p += "K" + std::string(1, static_cast<char>(offset)) + size_tuple + stride_tuple + "\x89" + "ccollections\nOrderedDict\n)R";
    p += "tR" "s" "s.";
    return p;
}

template <class F>
errc code_of(F&& f) {
    try {
        f();
    } catch (const ctspine::error& e) {
        return e.code();
    }
    FAIL("no ctspine::error thrown");
    return errc::internal;
}

errc load_code(const bytes_t& file) {
    temp_file t(file);
    return code_of([&] {
        auto c = read_torch_checkpoint(t.path.string());
        (void)network_weights(c);
    });
}

}  // namespace

TEST_CASE("bad checkpoint: the hand-built archive itself is valid (control)") {
    auto z = make_zip({{"a/data.pkl", str(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86"))}, {"a/data/0", bytes_t(24, 0)}});
    temp_file t(z);
    auto sd = network_weights(read_torch_checkpoint(t.path.string()));
    REQUIRE(sd.count("w") == 1);
    CHECK(sd["w"].shape == std::vector<index_t>{2, 3});
}

TEST_CASE("bad checkpoint: truncated files at many lengths") {
    auto good = read_all(repo_data("model/misc/dtypes.pth"));
    REQUIRE(good.size() > 1000);
    for (size_t n = 0; n < good.size(); n += good.size() / 37 + 1) {
        CAPTURE(n);
        load_code(bytes_t(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
    }
}

TEST_CASE("bad checkpoint: lying sizes, offsets and a zip-bomb size claim") {
    auto base = make_zip({{"a/data.pkl", str(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86"))}, {"a/data/0", bytes_t(24, 0)}});
    // locate the second central directory header
    size_t cd2 = 0;
    for (size_t k = base.size() - 22; k-- > 0;)
        if (base[k] == 'P' && base[k + 1] == 'K' && base[k + 2] == 1 && base[k + 3] == 2) { cd2 = k; break; }
    REQUIRE(cd2 > 0);
    auto patch32 = [](bytes_t b, size_t at, std::uint32_t v) { for (int k = 0; k < 4; ++k) b[at + k] = (v >> (8 * k)) & 0xFF; return b; };
    // sizes larger than the file (compressed == uncompressed, "zip bomb" claim of ~4 GiB)
    CHECK(load_code(patch32(patch32(base, cd2 + 20, 0xFFFFFFF0u), cd2 + 24, 0xFFFFFFF0u)) == errc::model_format);
    // compressed != uncompressed for a stored record
    CHECK(load_code(patch32(base, cd2 + 24, 25)) == errc::model_format);
    // local header offset past the end / pointing at garbage
    CHECK(load_code(patch32(base, cd2 + 42, 0x7FFFFFFFu)) == errc::model_format);
    CHECK(load_code(patch32(base, cd2 + 42, 3)) == errc::model_format);
    // central directory offset / size beyond the file
    CHECK(load_code(patch32(base, base.size() - 6, 0xFFFFFF00u)) == errc::model_format);
    CHECK(load_code(patch32(base, base.size() - 10, 0x10000000u)) == errc::model_format);
    // entry count far larger than the directory can hold
    {
        auto b = base;
        b[b.size() - 12] = 0xFF; b[b.size() - 11] = 0xFE;
        CHECK(load_code(b) == errc::model_format);
    }
    // zip64 locator pointing to a zip64 EOCD that claims 2^60 entries / a directory beyond the file
    {
        auto b = base;
        bytes_t eocd(b.end() - 22, b.end());
        b.resize(b.size() - 22);
        std::uint64_t z64 = b.size();
        bytes_t z;
        put32(z, 0x06064b50u);
        for (int k = 0; k < 52; ++k) z.push_back(0);
        for (int k = 0; k < 8; ++k) z[32 + k] = (k == 7) ? 0x10 : 0;  // entries = 2^60
        b.insert(b.end(), z.begin(), z.end());
        put32(b, 0x07064b50u); put32(b, 0);
        for (int k = 0; k < 8; ++k) b.push_back((z64 >> (8 * k)) & 0xFF);
        put32(b, 1);
        for (int k = 0; k < 4; ++k) eocd[8 + k] = 0xFF;  // saturated counts
        b.insert(b.end(), eocd.begin(), eocd.end());
        CHECK(load_code(b) == errc::model_format);
    }
    // compressed (deflate) records are refused
    CHECK(load_code(make_zip({{"a/data.pkl", str(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86"))}}, 8)) == errc::unsupported);
    // not a zip at all / empty file
    CHECK(load_code(str("\x80\x02}q\x00.")) == errc::unsupported);
    CHECK(load_code(bytes_t{}) != errc::internal);
    // no data.pkl, no top folder
    CHECK(load_code(make_zip({{"a/other", bytes_t(4, 0)}})) == errc::model_format);
    CHECK(load_code(make_zip({{"data.pkl", bytes_t(4, 0)}})) == errc::model_format);
    // big-endian archive
    CHECK(load_code(make_zip({{"a/data.pkl", str("\x80\x02}.")}, {"a/byteorder", str("big")}})) == errc::unsupported);
}

TEST_CASE("bad checkpoint: tensors that do not fit their storage, wrong dtypes, missing records") {
    auto zip = [](const std::string& pk, size_t storage_bytes) {
        return make_zip({{"a/data.pkl", str(pk)}, {"a/data/0", bytes_t(storage_bytes, 0)}});
    };
    // shape 2x3 in a storage of 5 elements
    CHECK(load_code(zip(tensor_pickle(5, "K\x02K\x03\x86", "K\x03K\x01\x86"), 20)) == errc::model_format);
    // stride walks past the end
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x09K\x01\x86"), 24)) == errc::model_format);
    // offset past the end
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86", "FloatStorage", 3), 24)) == errc::model_format);
    // storage claims more elements than the record holds
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86"), 12)) == errc::model_format);
    // size and stride of different rank
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x01\x85"), 24)) == errc::shape_mismatch);
    // integer storage as a network weight
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86", "LongStorage"), 48)) == errc::unsupported);
    // unknown storage type
    CHECK(load_code(zip(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86", "EvilStorage"), 48)) != errc::internal);
    // storage record missing
    CHECK(load_code(make_zip({{"a/data.pkl", str(tensor_pickle(6, "K\x02K\x03\x86", "K\x03K\x01\x86"))}})) == errc::model_format);
    // the torch-written fixture's int64 tensor
    auto c = read_torch_checkpoint(repo_data("model/misc/dtypes.pth").string());
    CHECK(code_of([&] { (void)network_weights(c, "tensors"); }) == errc::unsupported);
    CHECK(code_of([&] { (void)network_weights(c, "no_such_key"); }) == errc::model_format);
}

TEST_CASE("bad pickle: unknown globals, deep stacks, malformed opcodes") {
    auto code = [](const std::string& s, pickle_limits lim = {}) {
        return code_of([&] { (void)parse_pickle(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), lim); });
    };
    CHECK(code("\x80\x02" "cos\nsystem\n" + U("ls") + "\x85R.") == errc::unsupported);
    CHECK(code("\x80\x02" "cbuiltins\neval\n.") == errc::unsupported);
    CHECK(code("\x80\x04\x8c\x02os\x8c\x06system\x93.") == errc::unsupported);  // STACK_GLOBAL
    pickle_limits small;
    small.max_stack = 1000;
    CHECK(code("\x80\x02" + std::string(5000, '('), small) == errc::size_limit);
    CHECK(code("\x80\x02" + std::string(5000, ']'), small) == errc::size_limit);
    CHECK(code("\x80\x02" + std::string(2'000'000, '(')) == errc::size_limit);  // default limit
    small.max_nodes = 100;
    CHECK(code("\x80\x02" + std::string(500, 'N'), small) == errc::size_limit);
    CHECK(code("\x80\x02h\x05.") == errc::model_format);         // memo key never stored
    CHECK(code("\x80\x02s.") == errc::model_format);             // SETITEM on empty stack
    CHECK(code("\x80\x02N]s.") == errc::model_format);           // SETITEM on a list
    CHECK(code("\x80\x02NN.") == errc::model_format);            // STOP with two items
    CHECK(code("\x80\x02X\xff\xff\xff\x7f" "abc") == errc::truncated);  // string longer than the data
    CHECK(code("\x80\x02\x8a\x09" + std::string(9, '\x01') + ".") == errc::unsupported);  // 72-bit integer
    CHECK(code("\x80\x02\xff.") == errc::model_format);          // unknown opcode
    CHECK(code("\x80\x02N") == errc::truncated);                 // no STOP
    CHECK(code("\x80\x02(N.") == errc::model_format);            // dangling MARK
    CHECK(code("\x80\x02NQ.") == errc::model_format);            // persistent id not a storage tuple
    // opaque mode: unknown globals become inert objects
    pickle_limits lax;
    lax.allow_unknown_globals = true;
    std::string s = "\x80\x02" "cos\nsystem\n" + U("ls") + "\x85R.";
    auto t = parse_pickle(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), lax);
    CHECK(t.at(t.root).kind == pickle_kind::object);
}

TEST_CASE("bad pickle: random byte flips of a torch-written data.pkl never crash") {
    auto c = zip_reader(repo_data("model/misc/dtypes.pth").string());
    auto pk = c.read(*c.find("dtypes/data.pkl"), 1 << 20);
    std::mt19937 rng(42);
    int errors = 0;
    for (int it = 0; it < 3000; ++it) {
        auto b = pk;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        try {
            (void)parse_pickle(b.data(), b.size());
        } catch (const ctspine::error&) {
            ++errors;
        }
    }
    CHECK(errors > 0);
}

TEST_CASE("bad model: weights that do not match the plans name the key") {
    auto src = repo_data("model/plain_v23");
    auto tmp = fs::temp_directory_path() / "ctspine_bad_model_test";
    fs::remove_all(tmp);
    fs::create_directories(tmp / "fold_0");
    fs::copy_file(src / "dataset.json", tmp / "dataset.json");
    fs::copy_file(src / "fold_0/checkpoint_final.pth", tmp / "fold_0/checkpoint_final.pth");
    std::ifstream pf(src / "plans.json");
    std::string plans((std::istreambuf_iterator<char>(pf)), {});
    auto k = plans.find("\"features_per_stage\": [");
    REQUIRE(k != std::string::npos);
    auto e = plans.find(']', k);
    plans.replace(k, e - k + 1, "\"features_per_stage\": [4, 8, 16]");
    std::ofstream(tmp / "plans.json") << plans;
    try {
        nnunet_model::load(tmp.string());
        FAIL("no error");
    } catch (const ctspine::error& err) {
        CHECK(err.code() == errc::model_format);
        CHECK(!err.field().empty());  // the offending key
    }
    // corrupt JSON
    std::ofstream(tmp / "plans.json") << "{\"configurations\": ";
    CHECK(code_of([&] { nnunet_model::load(tmp.string()); }) == errc::model_format);
    fs::remove_all(tmp);
}
