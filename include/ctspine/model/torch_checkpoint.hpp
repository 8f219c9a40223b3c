// ctspine — reading PyTorch checkpoints written by torch.save (zip container, PyTorch >= 1.6) without Python.
//
// Layout (torch/serialization.py _save, caffe2/serialize/inline_container.cc; docs/nnunet-numerics.md §2.3–2.4, verified
// against fixtures written by Debian's python3-torch): records "<prefix>/data.pkl" (pickle, protocol 2) and
// "<prefix>/data/<key>" (raw little-endian storage bytes, numel × element size). The prefix is whatever precedes the
// first '/' of the first entry (PyTorchStreamReader::init does the same). "<prefix>/byteorder" is "little" or absent
// (older torch; then native order, which is little-endian on every platform ctspine supports); "big" is refused.
// Tensors are materialised lazily from the storages, so aliased state_dict entries and optimizer buffers cost
// nothing unless asked for.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/model/pickle.hpp"
#include "ctspine/model/zip_reader.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {

/// Limits of one checkpoint read; a limit hit is errc::size_limit (field() names the limit), raised before the
/// allocation. Besides these, a tensor may not have more elements than its storage holds (only a broadcast view
/// repeating elements could; nnU-Net weights never are one), so a tensor's values always come from the file.
struct checkpoint_limits {
    pickle_limits pickle{};
    zip_limits zip{};
    std::uint64_t max_pickle_bytes = std::uint64_t(1) << 30;  ///< data.pkl size limit
    std::uint64_t max_tensor_elements = std::uint64_t(1) << 32;  ///< per materialised tensor
};

class torch_checkpoint;
namespace detail {
inline torch_checkpoint open_checkpoint(std::shared_ptr<zip_reader> zip, const std::string& path, const checkpoint_limits& lim);
}

/// A loaded checkpoint: the pickled object tree plus lazy access to tensor data.
class torch_checkpoint {
public:
    torch_checkpoint() = default;
    const std::string& path() const noexcept { return path_; }
    const std::string& archive_prefix() const noexcept { return prefix_; }
    const pickle_tree& tree() const noexcept { return tree_; }
    std::uint32_t root() const noexcept { return tree_.root; }
    /// Top-level dict entry (npos if absent or the root is not a dict).
    std::uint32_t get(const std::string& key) const { return tree_.get(tree_.root, key); }

    /// Element size in bytes of a torch storage type name ("FloatStorage" → 4), 0 if unknown.
    static int element_size(const std::string& storage_type) {
        if (storage_type == "FloatStorage" || storage_type == "IntStorage") return 4;
        if (storage_type == "HalfStorage" || storage_type == "BFloat16Storage" || storage_type == "ShortStorage") return 2;
        if (storage_type == "DoubleStorage" || storage_type == "LongStorage") return 8;
        if (storage_type == "CharStorage" || storage_type == "ByteStorage" || storage_type == "BoolStorage" ||
            storage_type == "UntypedStorage") return 1;
        return 0;
    }

    /// Materialise the tensor at pickle node `n` as float32 (C order). float32/float16/bfloat16/float64 are
    /// converted; integer storages are refused with errc::unsupported (they are never network weights).
    nn::parameter tensor_as_float(std::uint32_t n, const std::string& name = {}) const {
        const pickle_value& v = tree_.at(n);
        if (v.kind != pickle_kind::tensor) throw error(errc::model_format, "checkpoint: '" + name + "' is not a tensor", path_, name);
        const pickle_tensor_ref& r = tree_.tensors.at(static_cast<std::size_t>(v.i));
        const pickle_value& st = tree_.at(r.storage);
        const int es = element_size(st.s);
        const bool is_float = st.s == "FloatStorage" || st.s == "HalfStorage" || st.s == "BFloat16Storage" || st.s == "DoubleStorage";
        if (!is_float)
            throw error(errc::unsupported, "checkpoint: tensor '" + name + "' has storage type " + st.s + ", not a float type",
                        path_, name, st.s);
        // Shape, strides and offset must address only elements inside the storage.
        std::uint64_t count = 1, max_index = 0;
        bool empty = false;
        if (r.offset < 0) throw error(errc::model_format, "checkpoint: tensor '" + name + "' has a negative storage offset", path_, name);
        for (std::size_t k = 0; k < r.shape.size(); ++k) {
            if (r.shape[k] < 0 || r.stride[k] < 0)
                throw error(errc::model_format, "checkpoint: tensor '" + name + "' has a negative size or stride", path_, name);
            if (r.shape[k] == 0) empty = true;
            const auto s = static_cast<std::uint64_t>(r.shape[k]);
            if (s != 0 && count > lim_.max_tensor_elements / s)
                throw error(errc::size_limit, "checkpoint: tensor '" + name + "' is too large", path_, "max_tensor_elements", name);
            count *= s;
        }
        if (!empty) {
            max_index = static_cast<std::uint64_t>(r.offset);
            for (std::size_t k = 0; k < r.shape.size(); ++k) {
                const auto span = static_cast<std::uint64_t>(r.shape[k] - 1);
                const auto stride = static_cast<std::uint64_t>(r.stride[k]);
                if (stride != 0 && span > (std::uint64_t(1) << 62) / stride)
                    throw error(errc::model_format, "checkpoint: tensor '" + name + "' stride overflows", path_, name);
                max_index += span * stride;
                if (max_index >= (std::uint64_t(1) << 62))
                    throw error(errc::model_format, "checkpoint: tensor '" + name + "' stride overflows", path_, name);
            }
            if (max_index >= static_cast<std::uint64_t>(st.i))
                throw error(errc::model_format,
                            detail::cat("checkpoint: tensor '", name, "' addresses element ", max_index, " of storage '", st.s2,
                                        "' holding ", st.i, " elements"), path_, name);
        }
        const zip_entry* rec = zip_->find(prefix_ + "/data/" + st.s2);
        if (!rec) throw error(errc::model_format, "checkpoint: storage record 'data/" + st.s2 + "' missing", path_, name);
        if (static_cast<std::uint64_t>(st.i) > rec->size / static_cast<std::uint64_t>(es))
            throw error(errc::model_format,
                        detail::cat("checkpoint: storage 'data/", st.s2, "' claims ", st.i, " elements of ", es,
                                    " bytes but the record has ", rec->size, " bytes"), path_, name);
        if (count > static_cast<std::uint64_t>(st.i))  // st.i <= the record's size, checked above
            throw error(errc::size_limit,
                        detail::cat("checkpoint: tensor '", name, "' has ", count, " elements but its storage only ", st.i,
                                    " (a broadcast view; its values would not come from the file)"), path_, "max_tensor_elements", name);
        nn::parameter p;
        p.shape.assign(r.shape.begin(), r.shape.end());
        p.values.resize(static_cast<std::size_t>(count));
        if (empty) return p;
        // Contiguous C order?
        bool contiguous = true;
        std::int64_t expect = 1;
        for (std::size_t k = r.shape.size(); k-- > 0;) {
            if (r.shape[k] != 1 && r.stride[k] != expect) contiguous = false;
            expect *= r.shape[k];
        }
        const auto first = static_cast<std::uint64_t>(r.offset);
        if (contiguous && es == 4) {  // fast path: straight from the file into the result
            zip_->read_into(*rec, p.values.data(), count * 4, first * 4);
            return p;
        }
        const std::uint64_t span = contiguous ? count : (max_index - first + 1);
        std::vector<std::uint8_t> raw(static_cast<std::size_t>(span * static_cast<std::uint64_t>(es)));
        zip_->read_into(*rec, raw.data(), raw.size(), first * static_cast<std::uint64_t>(es));
        auto load = [&](std::uint64_t e) -> float {
            const std::uint8_t* b = raw.data() + e * static_cast<std::uint64_t>(es);
            if (es == 4) { float f; std::memcpy(&f, b, 4); return f; }
            if (es == 8) { double d; std::memcpy(&d, b, 8); return static_cast<float>(d); }
            std::uint16_t h = static_cast<std::uint16_t>(b[0] | (b[1] << 8));
            return st.s == "BFloat16Storage" ? bf16_to_float(h) : half_to_float(h);
        };
        const std::size_t rank = r.shape.size();
        std::vector<std::int64_t> idx(rank, 0);
        for (std::uint64_t out = 0; out < count; ++out) {
            std::uint64_t e = 0;
            for (std::size_t k = 0; k < rank; ++k) e += static_cast<std::uint64_t>(idx[k] * r.stride[k]);
            p.values[static_cast<std::size_t>(out)] = load(contiguous ? out : e);
            for (std::size_t k = rank; k-- > 0;) {
                if (++idx[k] < r.shape[k]) break;
                idx[k] = 0;
            }
        }
        return p;
    }

    /// The tensor's storage identity (type, key, offset, shape, stride), to check that aliases share storage.
    std::string tensor_identity(std::uint32_t n) const {
        const pickle_value& v = tree_.at(n);
        if (v.kind != pickle_kind::tensor) return {};
        const auto& r = tree_.tensors.at(static_cast<std::size_t>(v.i));
        std::string s = tree_.at(r.storage).s2 + "@" + std::to_string(r.offset) + ":";
        for (auto x : r.shape) s += std::to_string(x) + ",";
        s += "/";
        for (auto x : r.stride) s += std::to_string(x) + ",";
        return s;
    }

    static float half_to_float(std::uint16_t h) {  // IEEE 754 binary16
        const std::uint32_t sign = (h & 0x8000u) << 16, ex = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
        std::uint32_t bits;
        if (ex == 0) {
            if (man == 0) bits = sign;
            else {  // subnormal: value = man · 2^-24
                float f = static_cast<float>(man) * 5.9604644775390625e-8f;
                return (h & 0x8000u) ? -f : f;
            }
        } else if (ex == 31) bits = sign | 0x7F800000u | (man << 13);
        else bits = sign | ((ex + 112u) << 23) | (man << 13);
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    static float bf16_to_float(std::uint16_t h) {  // bfloat16 = the top 16 bits of a float32
        std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }

private:
    friend torch_checkpoint detail::open_checkpoint(std::shared_ptr<zip_reader>, const std::string&, const checkpoint_limits&);
    std::string path_, prefix_;
    pickle_tree tree_;
    std::shared_ptr<zip_reader> zip_;
    checkpoint_limits lim_;
};

namespace detail {
/// The part of read_torch_checkpoint shared by the file and memory forms (the archive already parsed).
inline torch_checkpoint open_checkpoint(std::shared_ptr<zip_reader> zip, const std::string& path, const checkpoint_limits& lim) {
    torch_checkpoint c;
    c.path_ = path;
    c.lim_ = lim;
    c.zip_ = std::move(zip);
    const auto& ents = c.zip_->entries();
    if (ents.empty()) throw error(errc::model_format, "checkpoint: empty zip archive", path);
    const auto slash = ents.front().name.find('/');
    if (slash == std::string::npos || slash == 0)
        throw error(errc::model_format, "checkpoint: first record '" + ents.front().name + "' has no top folder", path);
    c.prefix_ = ents.front().name.substr(0, slash);
    if (const zip_entry* bo = c.zip_->find(c.prefix_ + "/byteorder")) {
        auto b = c.zip_->read(*bo, 64);
        std::string s(b.begin(), b.end());
        if (s != "little")
            throw error(errc::unsupported, "checkpoint: byteorder '" + s + "' (only little-endian is supported)", path, "byteorder", s);
    }
    const zip_entry* pk = c.zip_->find(c.prefix_ + "/data.pkl");
    if (!pk) throw error(errc::model_format, "checkpoint: record '" + c.prefix_ + "/data.pkl' missing", path);
    if (pk->size > lim.max_pickle_bytes)
        throw error(errc::size_limit, detail::cat("checkpoint: data.pkl is ", pk->size, " bytes, limit ", lim.max_pickle_bytes), path,
                    "max_pickle_bytes", detail::cat(pk->size));
    auto bytes = c.zip_->read(*pk, lim.max_pickle_bytes);
    c.tree_ = parse_pickle(bytes.data(), bytes.size(), lim.pickle, path);
    return c;
}

inline void refuse_legacy_checkpoint(const unsigned char* magic, std::size_t n, const std::string& path) {
    if (n == 4 && std::memcmp(magic, "PK\3\4", 4) != 0)
        throw error(errc::unsupported,
                    "checkpoint: not a zip archive; legacy (pre-1.6 / _use_new_zipfile_serialization=False) torch "
                    "checkpoints are not supported — re-save with a current torch.save", path);
}
}  // namespace detail

/// Open a torch.save zip checkpoint and run its pickle (nothing is executed; see pickle.hpp for the allow-list).
inline torch_checkpoint read_torch_checkpoint(const std::string& path, const checkpoint_limits& lim = {}) {
    {
        std::ifstream f(path, std::ios::binary);
        if (!f) throw error(errc::io, "checkpoint: cannot open file", path);
        char magic[4] = {0, 0, 0, 0};
        f.read(magic, 4);
        detail::refuse_legacy_checkpoint(reinterpret_cast<const unsigned char*>(magic), static_cast<std::size_t>(f.gcount()), path);
    }
    return detail::open_checkpoint(std::make_shared<zip_reader>(path, lim.zip), path, lim);
}

/// A checkpoint held in memory, [data, data + size) (the same code as the file form; what the fuzz target
/// exercises). `name` only names it in messages. The buffer must outlive the returned checkpoint: tensors are
/// materialised from it lazily.
inline torch_checkpoint read_torch_checkpoint(const void* data, std::size_t size, const checkpoint_limits& lim = {},
                                              const std::string& name = "<memory>") {
    detail::refuse_legacy_checkpoint(static_cast<const unsigned char*>(data), std::min<std::size_t>(size, 4), name);
    return detail::open_checkpoint(std::make_shared<zip_reader>(data, size, name, lim.zip), name, lim);
}

namespace detail {
inline bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
inline std::string replace_once(std::string s, const std::string& from, const std::string& to) {
    auto k = s.find(from);
    if (k != std::string::npos) s.replace(k, from.size(), to);
    return s;
}
/// The canonical key an nnU-Net alias key stands for, or "" if `k` is not an alias (docs/nnunet-numerics.md §2.2):
/// "decoder.encoder.X" → "encoder.X"; "….all_modules.0.…" → "….conv.…"; "….all_modules.1.…" → "….norm.…"
/// (ConvDropoutNormReLU registers conv, norm, nonlin and again Sequential(conv, norm, nonlin) as all_modules;
/// nnU-Net never configures dropout, so index 0 is conv and 1 is norm).
inline std::string nnunet_alias_target(const std::string& k) {
    std::string c = k;
    if (starts_with(c, "decoder.encoder.")) c = c.substr(8);
    c = replace_once(c, ".all_modules.0.", ".conv.");
    c = replace_once(c, ".all_modules.1.", ".norm.");
    return c == k ? std::string() : c;
}
}  // namespace detail

/// The network weights of an nnU-Net v2 checkpoint (`dict_key`, default "network_weights") as float32 parameters:
/// `module.` / `_orig_mod.` prefixes (DDP / torch.compile) stripped, alias keys verified to share their canonical
/// tensor's storage and dropped. Throws errc::model_format naming the key on any inconsistency.
inline nn::state_dict network_weights(const torch_checkpoint& c, const std::string& dict_key = "network_weights") {
    const std::uint32_t d = c.get(dict_key);
    if (d == pickle_tree::npos || c.tree().at(d).kind != pickle_kind::dict)
        throw error(errc::model_format, "checkpoint: no '" + dict_key + "' dict (is this an nnU-Net v2 checkpoint?)",
                    c.path(), dict_key);
    const auto& items = c.tree().at(d).items;
    std::map<std::string, std::uint32_t> keyed;
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
        const auto& kn = c.tree().at(items[k]);
        if (kn.kind != pickle_kind::string) throw error(errc::model_format, "checkpoint: non-string key in " + dict_key, c.path());
        std::string key = kn.s;
        for (bool again = true; again;) {
            again = false;
            for (const char* pre : {"module.", "_orig_mod."})
                if (detail::starts_with(key, pre)) { key = key.substr(std::strlen(pre)); again = true; }
        }
        keyed[key] = items[k + 1];
    }
    nn::state_dict out;
    for (const auto& [key, node] : keyed) {
        const std::string target = detail::nnunet_alias_target(key);
        if (!target.empty()) {
            auto it = keyed.find(target);
            if (it == keyed.end())
                throw error(errc::model_format, "checkpoint: alias '" + key + "' has no canonical key '" + target + "'",
                            c.path(), key);
            if (c.tensor_identity(node).empty() || c.tensor_identity(node) != c.tensor_identity(it->second))
                throw error(errc::model_format,
                            "checkpoint: alias '" + key + "' does not share storage with '" + target + "'", c.path(), key);
            continue;
        }
        out.emplace(key, c.tensor_as_float(node, key));
    }
    return out;
}

}  // namespace ctspine
