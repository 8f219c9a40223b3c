// ctspine — a restricted pickle machine: reads the data.pkl of torch.save archives (protocol 2–5) into a value
// tree without executing anything.
//
// Opcode semantics from CPython Lib/pickletools.py / Lib/pickle.py (protocols 2–5) and docs/nnunet-numerics.md §2.4.
// Globals are resolved against an explicit allow-list; REDUCE/NEWOBJ/BUILD never call anything:
//   collections.OrderedDict()            -> dict        (BUILD with its _metadata state is ignored)
//   torch._utils._rebuild_tensor_v2(...) -> tensor descriptor (storage, offset, size, stride) — torch/_utils.py
//   torch._utils._rebuild_parameter(t,..)-> that tensor
//   torch.device(...)                    -> string "cpu" / "cuda:0"
//   _codecs.encode(s, 'latin1')          -> bytes (how protocol 2 pickles bytes)
//   numpy.(_)core.multiarray.scalar(dtype('f8'|'f4'|'i8'), raw bytes) -> float / integer; other scalars -> opaque
//   numpy.(_)core.multiarray._reconstruct(numpy.ndarray, …) + BUILD -> flat list of numbers (nnU-Net v1 plans)
//   torch.*Storage, builtins.set/frozenset/slice/complex, numpy.dtype/ndarray/_reconstruct -> opaque objects
// Any other global is refused (errc::unsupported) unless pickle_limits::allow_unknown_globals, in which case it
// becomes an opaque object. Values live in an arena (indices, no pointers), so hostile cyclic pickles cannot leak.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ctspine/core/error.hpp"

namespace ctspine {

enum class pickle_kind : std::uint8_t {
    none, boolean, integer, floating, string, bytes, tuple, list, dict, set, global, object, storage, tensor
};

/// One node of a pickle value tree. `items` holds children (node indices): tuple/list/set elements, dict
/// key/value pairs flattened (k0, v0, k1, v1, ...), object (callable, args, state) with state = npos if absent.
struct pickle_value {
    pickle_kind kind = pickle_kind::none;
    bool b = false;
    std::int64_t i = 0;      ///< integer; storage: numel; tensor: index into pickle_tree::tensors
    double f = 0.0;
    std::string s;           ///< string/bytes payload; global: module; storage: storage type (e.g. "FloatStorage")
    std::string s2;          ///< global: name; storage: key (record "data/<key>")
    std::string s3;          ///< storage: location ("cpu", "cuda:0")
    std::vector<std::uint32_t> items;
};

/// What _rebuild_tensor_v2 was asked to build (validated and materialised by torch_checkpoint.hpp).
struct pickle_tensor_ref {
    std::uint32_t storage = 0;  ///< node index of the storage
    std::int64_t offset = 0;
    std::vector<std::int64_t> shape, stride;
};

/// Limits of one pickle run; a limit hit is errc::size_limit, raised before the allocation it guards. The input's
/// own size is capped by its reader (checkpoint_limits::max_pickle_bytes, v1_pickle_limits::max_file_bytes).
struct pickle_limits {
    std::size_t max_nodes = 50'000'000;     ///< values created in total
    std::size_t max_stack = 1'000'000;      ///< stack + mark-stack depth (a "deep pickle" guard)
    std::size_t max_memo = 10'000'000;
    std::uint64_t max_array_elements = 1'000'000;  ///< numpy arrays inside the pickle (v1 plans hold 3-element ones)
    /// Bytes the value tree may hold: nodes (sizeof(pickle_value) each), string payloads, child lists, memo entries,
    /// tensor shapes. Memo references make copies cheap to ask for (a 3-byte opcode sequence can copy a string of
    /// any length), so this bounds the tree whatever the input's size. A checkpoint's data.pkl needs a few MB.
    std::uint64_t max_alloc_bytes = std::uint64_t(1) << 30;
    bool allow_unknown_globals = false;     ///< true: unknown globals become opaque objects instead of an error
};

struct pickle_tree {
    static constexpr std::uint32_t npos = 0xFFFFFFFFu;
    std::vector<pickle_value> nodes;
    std::vector<pickle_tensor_ref> tensors;
    std::uint32_t root = npos;

    const pickle_value& at(std::uint32_t n) const { return nodes.at(n); }
    /// Dict lookup by string key (last assignment wins); npos if `dict` is not a dict or lacks the key.
    std::uint32_t get(std::uint32_t dict, const std::string& key) const {
        if (dict >= nodes.size() || nodes[dict].kind != pickle_kind::dict) return npos;
        const auto& it = nodes[dict].items;
        for (std::size_t k = it.size(); k >= 2; k -= 2) {
            const auto& kn = nodes[it[k - 2]];
            if (kn.kind == pickle_kind::string && kn.s == key) return it[k - 1];
        }
        return npos;
    }
};

namespace detail {

class pickle_vm {
public:
    pickle_vm(const std::uint8_t* data, std::size_t n, const pickle_limits& lim, const std::string& file)
        : p_(data), n_(n), lim_(lim), file_(file) {}

    pickle_tree run() {
        while (true) {
            std::uint8_t op = byte();
            switch (op) {
                case 0x80: byte(); break;                                   // PROTO
                case 0x95: bytes(8); break;                                 // FRAME (length is advisory)
                case '.': {                                                 // STOP
                    if (stack_.size() != 1 || !marks_.empty()) fail("STOP with a malformed stack");
                    t_.root = stack_.back();
                    return std::move(t_);
                }
                case '(': check_depth(); marks_.push_back(stack_.size()); break;  // MARK
                case '0': pop(); break;                                     // POP
                case '1': pop_mark(); break;                                // POP_MARK
                case '2': push(top()); break;                               // DUP
                case 'N': push(make(pickle_kind::none)); break;
                case 0x88: case 0x89: { auto v = make(pickle_kind::boolean); t_.nodes[v].b = (op == 0x88); push(v); break; }
                case 'J': push_int(static_cast<std::int32_t>(le(4))); break;  // BININT
                case 'K': push_int(static_cast<std::int64_t>(le(1))); break;  // BININT1
                case 'M': push_int(static_cast<std::int64_t>(le(2))); break;  // BININT2
                case 0x8a: long_n(le(1)); break;                              // LONG1
                case 0x8b: long_n(le(4)); break;                              // LONG4
                case 'G': {                                                   // BINFLOAT: big-endian double
                    std::uint64_t u = 0;
                    for (int k = 0; k < 8; ++k) u = (u << 8) | byte();
                    double d;
                    std::memcpy(&d, &u, 8);
                    auto v = make(pickle_kind::floating);
                    t_.nodes[v].f = d;
                    push(v);
                    break;
                }
                case 'X': push_str(pickle_kind::string, le(4)); break;       // BINUNICODE
                case 0x8c: push_str(pickle_kind::string, le(1)); break;      // SHORT_BINUNICODE
                case 0x8d: push_str(pickle_kind::string, le(8)); break;      // BINUNICODE8
                case 'B': push_str(pickle_kind::bytes, le(4)); break;        // BINBYTES
                case 'C': push_str(pickle_kind::bytes, le(1)); break;        // SHORT_BINBYTES
                case 0x8e: push_str(pickle_kind::bytes, le(8)); break;       // BINBYTES8
                case ')': push(make(pickle_kind::tuple)); break;             // EMPTY_TUPLE
                case 't': { auto items = pop_mark(); push(make_seq(pickle_kind::tuple, std::move(items))); break; }
                case 0x85: case 0x86: case 0x87: {                           // TUPLE1/2/3
                    std::size_t k = static_cast<std::size_t>(op - 0x84);
                    if (stack_.size() < base() + k) fail("TUPLE with too few stack items");
                    std::vector<std::uint32_t> items(stack_.end() - static_cast<std::ptrdiff_t>(k), stack_.end());
                    stack_.resize(stack_.size() - k);
                    push(make_seq(pickle_kind::tuple, std::move(items)));
                    break;
                }
                case ']': push(make(pickle_kind::list)); break;              // EMPTY_LIST
                case 'l': { auto items = pop_mark(); push(make_seq(pickle_kind::list, std::move(items))); break; }
                case 'a': { auto v = pop(); append(top(), {v}, pickle_kind::list); break; }   // APPEND
                case 'e': { auto items = pop_mark(); append(top(), items, pickle_kind::list); break; }  // APPENDS
                case '}': push(make(pickle_kind::dict)); break;              // EMPTY_DICT
                case 'd': {                                                  // DICT
                    auto items = pop_mark();
                    if (items.size() % 2) fail("DICT with an odd number of items");
                    push(make_seq(pickle_kind::dict, std::move(items)));
                    break;
                }
                case 's': { auto v = pop(); auto k = pop(); append(top(), {k, v}, pickle_kind::dict); break; }  // SETITEM
                case 'u': {                                                  // SETITEMS
                    auto items = pop_mark();
                    if (items.size() % 2) fail("SETITEMS with an odd number of items");
                    append(top(), items, pickle_kind::dict);
                    break;
                }
                case 0x8f: push(make(pickle_kind::set)); break;              // EMPTY_SET
                case 0x90: { auto items = pop_mark(); append(top(), items, pickle_kind::set); break; }  // ADDITEMS
                case 0x91: { auto items = pop_mark(); push(make_seq(pickle_kind::set, std::move(items))); break; }  // FROZENSET
                case 'c': {                                                  // GLOBAL module\n name\n
                    std::string mod = line(), name = line();
                    push(make_global(mod, name));
                    break;
                }
                case 0x93: {                                                 // STACK_GLOBAL
                    auto name = pop(), mod = pop();
                    if (node(mod).kind != pickle_kind::string || node(name).kind != pickle_kind::string)
                        fail("STACK_GLOBAL operands are not strings");
                    const std::string m = node(mod).s, nm = node(name).s;  // copies: make() may reallocate nodes
                    push(make_global(m, nm));
                    break;
                }
                case 'R': { auto args = pop(); auto fn = pop(); push(reduce(fn, args)); break; }   // REDUCE
                case 0x81: { auto args = pop(); auto cls = pop(); push(reduce(cls, args)); break; } // NEWOBJ
                case 0x92: { pop(); auto args = pop(); auto cls = pop(); push(reduce(cls, args)); break; }  // NEWOBJ_EX
                case 'b': {                                                  // BUILD
                    auto state = pop();
                    if (is_ndarray_shell(top())) { build_ndarray(top(), state); break; }
                    auto& o = node(top());
                    if (o.kind == pickle_kind::object) {
                        if (o.items.size() == 2) o.items.push_back(state);
                        else if (o.items.size() == 3) o.items[2] = state;
                    }  // dict (OrderedDict _metadata), tensor (_rebuild_tensor state): ignored
                    break;
                }
                case 'Q': { auto pid = pop(); push(persistent(pid)); break; }  // BINPERSID
                case 'q': memo_put(le(1)); break;                             // BINPUT
                case 'r': memo_put(le(4)); break;                             // LONG_BINPUT
                case 0x94: memo_put(memo_.size()); break;                     // MEMOIZE
                case 'h': memo_get(le(1)); break;                             // BINGET
                case 'j': memo_get(le(4)); break;                             // LONG_BINGET
                default:
                    fail(cat("unsupported opcode ", static_cast<int>(op), " at byte ", pos_ - 1));
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& what, errc code = errc::model_format) const {
        throw error(code, "pickle: " + what, file_);
    }
    std::uint8_t byte() {
        if (pos_ >= n_) fail("unexpected end of data (no STOP)", errc::truncated);
        return p_[pos_++];
    }
    const std::uint8_t* bytes(std::uint64_t k) {
        if (k > n_ - pos_) fail(cat("operand of ", k, " bytes runs past the end of data"), errc::truncated);
        const std::uint8_t* r = p_ + pos_;
        pos_ += static_cast<std::size_t>(k);
        return r;
    }
    std::uint64_t le(int k) {
        const std::uint8_t* b = bytes(static_cast<std::uint64_t>(k));
        std::uint64_t v = 0;
        for (int j = k - 1; j >= 0; --j) v = (v << 8) | b[j];
        return v;
    }
    std::string line() {
        std::size_t start = pos_;
        while (pos_ < n_ && p_[pos_] != '\n') ++pos_;
        if (pos_ >= n_) fail("GLOBAL operand without newline", errc::truncated);
        std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
        ++pos_;
        return s;
    }
    pickle_value& node(std::uint32_t n) { return t_.nodes[n]; }
    /// Account `bytes` about to be allocated against max_alloc_bytes (before the allocation).
    void charge(std::uint64_t bytes) {
        if (bytes > lim_.max_alloc_bytes - used_)
            fail(cat("the values would take more than ", lim_.max_alloc_bytes, " bytes (pickle_limits::max_alloc_bytes)"),
                 errc::size_limit);
        used_ += bytes;
    }
    std::uint32_t make(pickle_kind k) {
        if (t_.nodes.size() >= lim_.max_nodes) fail(cat("more than ", lim_.max_nodes, " values"), errc::size_limit);
        charge(sizeof(pickle_value));
        t_.nodes.emplace_back();
        t_.nodes.back().kind = k;
        return static_cast<std::uint32_t>(t_.nodes.size() - 1);
    }
    std::uint32_t make_seq(pickle_kind k, std::vector<std::uint32_t> items) {
        charge(4 * static_cast<std::uint64_t>(items.size()));
        auto v = make(k);
        node(v).items = std::move(items);
        return v;
    }
    std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
    void check_depth() const {
        if (stack_.size() + marks_.size() >= lim_.max_stack) fail(cat("stack deeper than ", lim_.max_stack), errc::size_limit);
    }
    void push(std::uint32_t v) { check_depth(); stack_.push_back(v); }
    std::uint32_t pop() {
        if (stack_.size() <= base()) fail("pop from an empty stack (or across a MARK)");
        auto v = stack_.back();
        stack_.pop_back();
        return v;
    }
    std::uint32_t top() const {
        if (stack_.size() <= base()) fail("empty stack");
        return stack_.back();
    }
    std::vector<std::uint32_t> pop_mark() {
        if (marks_.empty()) fail("no MARK on the stack");
        std::size_t m = marks_.back();
        marks_.pop_back();
        std::vector<std::uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
        stack_.resize(m);
        return items;
    }
    void append(std::uint32_t target, const std::vector<std::uint32_t>& items, pickle_kind want) {
        auto& t = node(target);
        if (t.kind != want && !(want == pickle_kind::dict && t.kind == pickle_kind::object))
            fail("APPEND/SETITEM/ADDITEMS on a value of the wrong type");
        if (t.kind == pickle_kind::object) return;  // items set on an opaque object: dropped
        if (t_.nodes.size() + t.items.size() + items.size() > 4 * lim_.max_nodes) fail("container too large", errc::size_limit);
        charge(4 * static_cast<std::uint64_t>(items.size()));
        t.items.insert(t.items.end(), items.begin(), items.end());
    }
    void push_int(std::int64_t x) {
        auto v = make(pickle_kind::integer);
        node(v).i = x;
        push(v);
    }
    void long_n(std::uint64_t k) {
        if (k > 8) fail(cat("integer of ", k, " bytes does not fit 64 bits"), errc::unsupported);
        const std::uint8_t* b = bytes(k);
        std::uint64_t u = 0;
        for (std::uint64_t j = k; j-- > 0;) u = (u << 8) | b[j];
        if (k > 0 && k < 8 && (b[k - 1] & 0x80)) u |= ~std::uint64_t(0) << (8 * k);  // sign-extend
        push_int(static_cast<std::int64_t>(u));
    }
    void push_str(pickle_kind k, std::uint64_t len) {
        const std::uint8_t* b = bytes(len);
        charge(len);
        auto v = make(k);
        node(v).s.assign(reinterpret_cast<const char*>(b), static_cast<std::size_t>(len));
        push(v);
    }
    void memo_put(std::uint64_t key) {
        if (memo_.size() >= lim_.max_memo && !memo_.count(key)) fail("memo too large", errc::size_limit);
        if (!memo_.count(key)) charge(64);  // a hash-map node
        memo_[key] = top();
    }
    void memo_get(std::uint64_t key) {
        auto it = memo_.find(key);
        if (it == memo_.end()) fail(cat("memo key ", key, " was never stored"));
        push(it->second);
    }

    static bool is_storage_type(const std::string& mod, const std::string& name) {
        if (mod != "torch") return false;
        static const char* const names[] = {"FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage",
                                            "LongStorage", "IntStorage", "ShortStorage", "CharStorage",
                                            "ByteStorage", "BoolStorage", "UntypedStorage"};
        for (const char* n : names)
            if (name == n) return true;
        return false;
    }
    std::uint32_t make_global(const std::string& mod, const std::string& name) {
        static const char* const allowed[][2] = {
            {"collections", "OrderedDict"}, {"torch._utils", "_rebuild_tensor_v2"},
            {"torch._utils", "_rebuild_parameter"}, {"torch", "device"}, {"_codecs", "encode"},
            {"numpy.core.multiarray", "scalar"}, {"numpy._core.multiarray", "scalar"},
            {"numpy.core.multiarray", "_reconstruct"}, {"numpy._core.multiarray", "_reconstruct"},
            {"numpy", "dtype"}, {"numpy", "ndarray"}, {"builtins", "set"}, {"builtins", "frozenset"},
            {"builtins", "slice"}, {"builtins", "complex"}, {"__builtin__", "set"}, {"__builtin__", "frozenset"},
            {"__builtin__", "slice"}, {"__builtin__", "complex"}, {"torch", "Size"},
            {"torch.torch_version", "TorchVersion"}};
        bool ok = is_storage_type(mod, name);
        for (auto& a : allowed) ok = ok || (mod == a[0] && name == a[1]);
        if (!ok && !lim_.allow_unknown_globals)
            throw error(errc::unsupported, "pickle: global '" + mod + "." + name + "' is not on the allow-list", file_,
                        "global", mod + "." + name);
        charge(static_cast<std::uint64_t>(mod.size()) + name.size());
        auto v = make(pickle_kind::global);
        node(v).s = mod;
        node(v).s2 = name;
        return v;
    }
    bool is_global(std::uint32_t v, const char* mod, const char* name) {
        auto& g = node(v);
        return g.kind == pickle_kind::global && g.s == mod && g.s2 == name;
    }
    std::int64_t as_int(std::uint32_t v, const char* what) {
        if (node(v).kind != pickle_kind::integer) fail(cat(what, " is not an integer"));
        return node(v).i;
    }
    std::vector<std::int64_t> int_tuple(std::uint32_t v, const char* what) {
        if (node(v).kind != pickle_kind::tuple && node(v).kind != pickle_kind::list) fail(cat(what, " is not a tuple"));
        std::vector<std::int64_t> r;
        for (auto c : node(v).items) r.push_back(as_int(c, what));
        return r;
    }

    std::uint32_t reduce(std::uint32_t fn, std::uint32_t args) {
        if (node(fn).kind != pickle_kind::global) {
            // Calling a non-global (e.g. an opaque object) is never executed: opaque result.
            return make_seq(pickle_kind::object, {fn, args});
        }
        if (node(args).kind != pickle_kind::tuple) fail("REDUCE arguments are not a tuple");
        const std::vector<std::uint32_t> a = node(args).items;  // copy: make() may reallocate nodes
        if (is_global(fn, "collections", "OrderedDict")) {
            if (!a.empty()) fail("OrderedDict() called with arguments");
            return make(pickle_kind::dict);
        }
        if (is_global(fn, "torch._utils", "_rebuild_tensor_v2")) {
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            if (a.size() < 6 || a.size() > 7) fail(cat("_rebuild_tensor_v2 with ", a.size(), " arguments"));
            if (node(a[0]).kind != pickle_kind::storage) fail("_rebuild_tensor_v2: first argument is not a storage");
            pickle_tensor_ref r;
            r.storage = a[0];
            r.offset = as_int(a[1], "tensor storage_offset");
            r.shape = int_tuple(a[2], "tensor size");
            r.stride = int_tuple(a[3], "tensor stride");
            charge(8 * static_cast<std::uint64_t>(r.shape.size() + r.stride.size()) + sizeof(pickle_tensor_ref));
            if (r.shape.size() != r.stride.size()) fail("tensor size and stride have different lengths", errc::shape_mismatch);
            auto v = make(pickle_kind::tensor);
            node(v).i = static_cast<std::int64_t>(t_.tensors.size());
            t_.tensors.push_back(std::move(r));
            return v;
        }
        if (is_global(fn, "torch._utils", "_rebuild_parameter")) {
            if (a.empty() || node(a[0]).kind != pickle_kind::tensor) fail("_rebuild_parameter without a tensor");
            return a[0];
        }
        if (is_global(fn, "torch", "device")) {
            auto v = make(pickle_kind::string);
            std::string s;
            for (auto c : a) {
                const auto& x = node(c);
                charge(x.kind == pickle_kind::string ? x.s.size() + 1 : 21);  // memo references repeat strings for free
                if (x.kind == pickle_kind::string) s += (s.empty() ? "" : ":") + x.s;
                else if (x.kind == pickle_kind::integer) s += ":" + std::to_string(x.i);
            }
            node(v).s = s;
            return v;
        }
        if (is_global(fn, "_codecs", "encode")) {
            // _codecs.encode(str, 'latin1'): each code point < 256 becomes one byte (how protocol 2 stores bytes).
            if (a.empty() || node(a[0]).kind != pickle_kind::string) fail("_codecs.encode without a string");
            std::string out;
            const std::string& u = node(a[0]).s;
            charge(u.size());
            for (std::size_t k = 0; k < u.size(); ++k) {
                unsigned char c = static_cast<unsigned char>(u[k]);
                if (c < 0x80) out += static_cast<char>(c);
                else if ((c & 0xE0) == 0xC0 && k + 1 < u.size()) {
                    unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(u[k + 1]) & 0x3Fu);
                    if (cp > 0xFF) fail("_codecs.encode: code point beyond latin-1");
                    out += static_cast<char>(cp);
                    ++k;
                } else fail("_codecs.encode: code point beyond latin-1");
            }
            auto v = make(pickle_kind::bytes);
            node(v).s = std::move(out);
            return v;
        }
        if ((is_global(fn, "numpy.core.multiarray", "scalar") || is_global(fn, "numpy._core.multiarray", "scalar")) &&
            a.size() == 2) {
            // scalar(dtype, raw bytes): decode little-endian float64/float32/int64 scalars (numpy dtype('f8') etc.).
            const auto& dt = node(a[0]);
            const auto& raw = node(a[1]);
            if (dt.kind == pickle_kind::object && !dt.items.empty() && is_global(dt.items[0], "numpy", "dtype") &&
                raw.kind == pickle_kind::bytes) {
                const auto& dargs = node(dt.items[1]);
                if (dargs.kind == pickle_kind::tuple && !dargs.items.empty() && node(dargs.items[0]).kind == pickle_kind::string) {
                    if (node(dargs.items[0]).s.size() > 8 || raw.s.size() > 8) return make_seq(pickle_kind::object, {fn, args});
                    const std::string code = node(dargs.items[0]).s;
                    const std::string rb = raw.s;
                    if (code == "f8" && rb.size() == 8) { double d; std::memcpy(&d, rb.data(), 8); auto v = make(pickle_kind::floating); node(v).f = d; return v; }
                    if (code == "f4" && rb.size() == 4) { float d; std::memcpy(&d, rb.data(), 4); auto v = make(pickle_kind::floating); node(v).f = d; return v; }
                    if (code == "i8" && rb.size() == 8) { std::int64_t d; std::memcpy(&d, rb.data(), 8); auto v = make(pickle_kind::integer); node(v).i = d; return v; }
                }
            }
        }
        return make_seq(pickle_kind::object, {fn, args});  // allow-listed but not interpreted: opaque
    }

    // numpy arrays (nnU-Net v1 plans; nnunet-v1-spec.md §1.5): numpy.core.multiarray._reconstruct(numpy.ndarray, (0,),
    // b'b') REDUCE gives an empty shell, then BUILD (version, shape, dtype, is_fortran, raw bytes) fills it
    // (numpy/core/src/multiarray/methods.c array_setstate). The shell becomes a flat list of integer / floating nodes
    // in C order; `s` keeps the dtype code, so users can tell an array from a list. Nothing is executed.
    bool is_ndarray_shell(std::uint32_t v) {
        const auto& o = node(v);
        if (o.kind != pickle_kind::object || o.items.size() != 2) return false;
        if (!is_global(o.items[0], "numpy.core.multiarray", "_reconstruct") &&
            !is_global(o.items[0], "numpy._core.multiarray", "_reconstruct"))
            return false;
        const auto& a = node(o.items[1]);
        return a.kind == pickle_kind::tuple && !a.items.empty() && is_global(a.items[0], "numpy", "ndarray");
    }
    /// The dtype code ('f8', 'i8', …) and byte order of a numpy.dtype(code, False, True) object with its BUILD state.
    std::pair<std::string, char> dtype_of(std::uint32_t v) {
        const auto& d = node(v);
        if (d.kind != pickle_kind::object || d.items.size() < 2 || !is_global(d.items[0], "numpy", "dtype"))
            fail("ndarray: dtype is not numpy.dtype(...)");
        const auto& args = node(d.items[1]);
        if (args.kind != pickle_kind::tuple || args.items.empty() || node(args.items[0]).kind != pickle_kind::string)
            fail("ndarray: dtype without a type code");
        char order = '|';
        if (d.items.size() == 3) {
            const auto& st = node(d.items[2]);
            if (st.kind == pickle_kind::tuple && st.items.size() >= 2 && node(st.items[1]).kind == pickle_kind::string &&
                node(st.items[1]).s.size() == 1)
                order = node(st.items[1]).s[0];
        }
        return {node(args.items[0]).s, order};
    }
    void build_ndarray(std::uint32_t target, std::uint32_t state) {
        const auto& st = node(state);
        if (st.kind != pickle_kind::tuple || st.items.size() != 5) fail("ndarray: BUILD state is not (version, shape, dtype, fortran, data)");
        const std::vector<std::uint32_t> it = st.items;  // copy: make() may reallocate nodes
        const std::vector<std::int64_t> shape = int_tuple(it[1], "ndarray shape");
        std::uint64_t count = 1;
        for (auto d : shape) {
            if (d < 0) fail("ndarray: negative extent");
            if (d > 0 && count > lim_.max_array_elements / static_cast<std::uint64_t>(d))
                fail(cat("ndarray: more than ", lim_.max_array_elements, " elements"), errc::size_limit);
            count *= static_cast<std::uint64_t>(d);
        }
        if (count > lim_.max_array_elements) fail(cat("ndarray: more than ", lim_.max_array_elements, " elements"), errc::size_limit);
        const auto [code, order] = dtype_of(it[2]);
        if (order == '>') fail("ndarray: big-endian arrays are not supported", errc::unsupported);
        if (node(it[3]).kind != pickle_kind::boolean) fail("ndarray: is_fortran is not a bool");
        const bool fortran = node(it[3]).b;
        if (fortran && shape.size() > 1) fail("ndarray: Fortran-order arrays are not supported", errc::unsupported);
        if (node(it[4]).kind != pickle_kind::bytes) fail("ndarray: data is not bytes", errc::unsupported);
        std::size_t size = 0;
        if (code == "f8" || code == "i8" || code == "u8") size = 8;
        else if (code == "f4" || code == "i4" || code == "u4") size = 4;
        else if (code == "i2" || code == "u2") size = 2;
        else if (code == "i1" || code == "u1" || code == "b1") size = 1;
        else fail("ndarray: dtype '" + code + "' is not supported", errc::unsupported);
        if (node(it[4]).s.size() != count * size)
            fail(cat("ndarray: ", node(it[4]).s.size(), " data bytes for ", count, " elements of ", size, " bytes"), errc::shape_mismatch);
        charge(4 * count);
        const std::string raw = node(it[4]).s;
        if (raw.size() != count * size)
            fail(cat("ndarray: ", raw.size(), " data bytes for ", count, " elements of ", size, " bytes"), errc::shape_mismatch);
        std::vector<std::uint32_t> items;
        items.reserve(static_cast<std::size_t>(count));
        for (std::size_t k = 0; k < count; ++k) {
            const char* b = raw.data() + k * size;
            std::uint32_t v;
            if (code[0] == 'f') {
                v = make(pickle_kind::floating);
                if (size == 8) { double d; std::memcpy(&d, b, 8); node(v).f = d; }
                else { float f; std::memcpy(&f, b, 4); node(v).f = f; }
            } else {
                v = make(code == "b1" ? pickle_kind::boolean : pickle_kind::integer);
                std::uint64_t u = 0;
                for (std::size_t j = size; j-- > 0;) u = (u << 8) | static_cast<unsigned char>(b[j]);
                if (code[0] == 'i' && size < 8 && (u >> (8 * size - 1)) & 1u) u |= ~std::uint64_t(0) << (8 * size);
                node(v).i = static_cast<std::int64_t>(u);
                node(v).b = u != 0;
            }
            items.push_back(v);
        }
        auto& t = node(target);
        t.kind = pickle_kind::list;
        t.s = "ndarray:" + code;
        t.items = std::move(items);
    }

    std::uint32_t persistent(std::uint32_t pid) {
        // ('storage', torch.<T>Storage, key, location, numel) — torch/serialization.py _save.persistent_id
        const auto& t = node(pid);
        if (t.kind != pickle_kind::tuple || t.items.size() != 5 || node(t.items[0]).kind != pickle_kind::string ||
            node(t.items[0]).s != "storage")
            fail("persistent id is not ('storage', type, key, location, numel)");
        const auto& ty = node(t.items[1]);
        if (ty.kind != pickle_kind::global || !is_storage_type(ty.s, ty.s2)) fail("persistent id: unknown storage type");
        if (node(t.items[2]).kind != pickle_kind::string || node(t.items[3]).kind != pickle_kind::string)
            fail("persistent id: key/location are not strings");
        std::int64_t numel = as_int(t.items[4], "storage numel");
        if (numel < 0) fail("persistent id: negative numel");
        charge(ty.s2.size() + node(t.items[2]).s.size() + node(t.items[3]).s.size());
        std::string type = ty.s2, key = node(t.items[2]).s, loc = node(t.items[3]).s;
        auto v = make(pickle_kind::storage);
        node(v).s = type;
        node(v).s2 = key;
        node(v).s3 = loc;
        node(v).i = numel;
        return v;
    }

    template <class... A>
    static std::string cat(const A&... a) { return detail::cat(a...); }

    const std::uint8_t* p_;
    std::size_t n_, pos_ = 0;
    pickle_limits lim_;
    std::string file_;
    pickle_tree t_;
    std::vector<std::uint32_t> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, std::uint32_t> memo_;
    std::uint64_t used_ = 0;  // bytes charged against max_alloc_bytes
};

}  // namespace detail

/// Run the restricted pickle machine over `n` bytes. `file` only names the source in error messages.
inline pickle_tree parse_pickle(const std::uint8_t* data, std::size_t n, const pickle_limits& lim = {},
                                const std::string& file = {}) {
    return detail::pickle_vm(data, n, lim, file).run();
}

}  // namespace ctspine
