// ctspine — byte sources for the readers: plain files and gzip streams. The only file that includes
// <zlib.h> (and <libdeflate.h> when CTSPINE_HAVE_LIBDEFLATE is defined).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CTSPINE_DETAIL_HAVE_MMAP 1
#endif
#ifdef CTSPINE_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/io/atomic_file.hpp"

namespace ctspine {
namespace detail {

/// RAII FILE*. Opens exactly the path given (no suffix substitution).
class file_handle {
public:
    file_handle(const std::string& path, const char* mode) : path_(path), f_(std::fopen(path.c_str(), mode)) {
        if (!f_) throw error(errc::io, cat("cannot open file (", std::strerror(errno), ")"), path);
    }
    ~file_handle() {
        if (f_) std::fclose(f_);
    }
    file_handle(const file_handle&) = delete;
    file_handle& operator=(const file_handle&) = delete;
    std::FILE* get() const noexcept { return f_; }
    const std::string& path() const noexcept { return path_; }
    /// Size in bytes (seeks to the end and back to the start).
    std::uint64_t size() const {
        if (std::fseek(f_, 0, SEEK_END) != 0) throw error(errc::io, "cannot seek", path_);
        long long s = ftello(f_);
        if (s < 0 || std::fseek(f_, 0, SEEK_SET) != 0) throw error(errc::io, "cannot seek", path_);
        return static_cast<std::uint64_t>(s);
    }

private:
    std::string path_;
    std::FILE* f_;
};

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Where a reader's bytes come from: the file `path`, or — when `data` is set — the caller's memory
/// [data, data + size), with `path` only naming it in messages. The readers take both through the same code, so the
/// memory form (used by the fuzz targets, and by hosts that hold files in memory) exercises the shipped paths.
struct input_ref {
    std::string path;
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    input_ref(std::string p) : path(std::move(p)) {}  // NOLINT: a path converts implicitly
    input_ref(const char* p) : path(p) {}             // NOLINT
    input_ref(const void* d, std::size_t n, std::string name) : path(std::move(name)), data(static_cast<const unsigned char*>(d)), size(n) {
        if (!data) data = reinterpret_cast<const unsigned char*>("");  // an empty buffer is still memory
    }
    bool in_memory() const noexcept { return data != nullptr; }
};

/// Sequential reader of a file's (decompressed) bytes. A file is treated as gzip when it starts with the
/// gzip magic 1f 8b (RFC 1952 §2.3.1), whatever its name; concatenated gzip members are read as one stream.
class byte_source {
public:
    explicit byte_source(const input_ref& in) : path_(in.path), mem_(in.data) {
        unsigned char magic[2] = {0, 0};
        std::size_t got;
        if (mem_) {
            file_size_ = in.size;
            got = std::min<std::size_t>(2, in.size);
            std::memcpy(magic, mem_, got);
        } else {
            file_.reset(new file_handle(in.path, "rb"));
            file_size_ = file_->size();
            got = std::fread(magic, 1, 2, file_->get());
            std::rewind(file_->get());
        }
        gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (gzip_) {
            if (!mem_) in_.resize(1 << 18);
            std::memset(&zs_, 0, sizeof(zs_));
            // 15 + 16: gzip wrapper only (RFC 1952), maximum window.
            if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw error(errc::out_of_memory, "gzip: inflateInit2 failed", path_);
            z_open_ = true;
        }
    }
    ~byte_source() {
        if (z_open_) inflateEnd(&zs_);
    }
    byte_source(const byte_source&) = delete;
    byte_source& operator=(const byte_source&) = delete;

    bool is_gzip() const noexcept { return gzip_; }
    std::uint64_t file_size() const noexcept { return file_size_; }
    std::uint64_t position() const noexcept { return pos_; }
    const std::string& path() const noexcept { return path_; }

    /// Read up to n bytes into dst; returns the count (< n only at end of data).
    std::size_t read_some(void* dst, std::size_t n) {
        if (!gzip_) {
            std::size_t got = raw_read(static_cast<unsigned char*>(dst), n);
            pos_ += got;
            return got;
        }
        return inflate_into(static_cast<unsigned char*>(dst), n);
    }
    /// Read exactly n bytes or throw errc::truncated naming `what`.
    void read_exact(void* dst, std::size_t n, const char* what) {
        std::size_t got = read_some(dst, n);
        if (got != n)
            throw error(errc::truncated, cat("file ends after ", pos_, " bytes while reading ", what, " (", n - got, " bytes missing)"),
                        path(), what);
    }
    /// Skip n bytes (decompressing if needed).
    void skip(std::uint64_t n, const char* what) {
        if (!gzip_) {
            if (pos_ + n > file_size_)
                throw error(errc::truncated, cat("file is ", file_size_, " bytes, cannot skip to ", pos_ + n, " for ", what), path(), what);
            if (mem_) raw_pos_ = static_cast<std::size_t>(pos_ + n);
            else if (fseeko(file_->get(), static_cast<off_t>(pos_ + n), SEEK_SET) != 0) throw error(errc::io, "cannot seek", path());
            pos_ += n;
            return;
        }
        std::vector<unsigned char> scratch(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
        while (n > 0) {
            std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(n, scratch.size()));
            read_exact(scratch.data(), step, what);
            n -= step;
        }
    }
private:
    /// Up to n raw (undecompressed) bytes from the file or the memory buffer.
    std::size_t raw_read(unsigned char* dst, std::size_t n) {
        if (mem_) {
            const std::size_t got = std::min<std::size_t>(n, file_size_ - raw_pos_);
            if (got) std::memcpy(dst, mem_ + raw_pos_, got);
            raw_pos_ += got;
            return got;
        }
        std::size_t got = std::fread(dst, 1, n, file_->get());
        if (got < n && std::ferror(file_->get())) throw error(errc::io, "read error", path());
        return got;
    }
    /// Point zlib at the next raw input: the rest of the memory buffer, or the next block of the file. False at the end.
    bool refill() {
        if (mem_) {
            const std::size_t left = file_size_ - raw_pos_;
            if (left == 0) return false;
            const std::size_t step = std::min<std::size_t>(left, std::size_t(1) << 30);  // zlib counts in uInt
            zs_.next_in = const_cast<unsigned char*>(mem_ + raw_pos_);
            zs_.avail_in = static_cast<uInt>(step);
            raw_pos_ += step;
            return true;
        }
        const std::size_t got = raw_read(in_.data(), in_.size());
        if (got == 0) return false;
        zs_.next_in = in_.data();
        zs_.avail_in = static_cast<uInt>(got);
        return true;
    }
    bool raw_at_end() const { return mem_ ? raw_pos_ == file_size_ : std::feof(file_->get()) != 0; }

    std::size_t inflate_into(unsigned char* dst, std::size_t n) {
        std::size_t produced = 0;
        while (produced < n && !z_done_) {
            if (zs_.avail_in == 0) {
                if (!refill()) {
                    // End of file inside a member: the stream is truncated.
                    if (member_open_) throw error(errc::truncated, cat("gzip stream ends early after ", pos_ + produced, " decompressed bytes"), path());
                    z_done_ = true;
                    break;
                }
            }
            // zlib counts in uInt: feed at most 1 GiB of output per call.
            std::size_t want = std::min<std::size_t>(n - produced, std::size_t(1) << 30);
            zs_.next_out = dst + produced;
            zs_.avail_out = static_cast<uInt>(want);
            member_open_ = true;
            int rc = inflate(&zs_, Z_NO_FLUSH);
            produced += want - zs_.avail_out;
            if (rc == Z_STREAM_END) {
                member_open_ = false;
                // Another gzip member may follow (RFC 1952 §2.2); trailing zero padding is tolerated.
                skip_zero_padding();
                if (zs_.avail_in == 0 && raw_at_end()) {
                    z_done_ = true;
                } else if (inflateReset(&zs_) != Z_OK) {
                    throw error(errc::corrupt, "gzip: cannot start next member", path());
                }
            } else if (rc == Z_BUF_ERROR) {
                if (zs_.avail_out != 0 && zs_.avail_in != 0) throw error(errc::corrupt, "gzip: stream error", path());
            } else if (rc != Z_OK) {
                throw error(errc::corrupt, cat("gzip: corrupt data (", zs_.msg ? zs_.msg : "zlib error", ")"), path());
            }
        }
        pos_ += produced;
        return produced;
    }
    void skip_zero_padding() {
        for (;;) {
            while (zs_.avail_in > 0 && *zs_.next_in == 0) {
                ++zs_.next_in;
                --zs_.avail_in;
            }
            if (zs_.avail_in > 0 || !refill()) return;
        }
    }

    std::string path_;
    const unsigned char* mem_ = nullptr;     // memory input, or null for a file
    std::unique_ptr<file_handle> file_;      // file input
    std::size_t raw_pos_ = 0;                // memory input: raw bytes consumed
    std::uint64_t file_size_ = 0;
    std::uint64_t pos_ = 0;
    bool gzip_ = false;
    bool z_open_ = false, z_done_ = false, member_open_ = false;
    z_stream zs_{};
    std::vector<unsigned char> in_;
};

/// Read-only view of a whole file: mmap where available (no anonymous zero-filled pages, no copy), else read
/// into memory; or the caller's buffer itself. Used for the compressed input of the libdeflate back end.
class mapped_file {
public:
    explicit mapped_file(const input_ref& in) {
        if (in.in_memory()) {  // the caller's buffer, not copied
            data_ = in.data;
            size_ = in.size;
            return;
        }
        const std::string& path = in.path;
#ifdef CTSPINE_DETAIL_HAVE_MMAP
        int fd = ::open(path.c_str(), O_RDONLY);
        if (fd >= 0) {
            struct stat st {};
            if (::fstat(fd, &st) == 0 && st.st_size > 0) {
                int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
                flags |= MAP_POPULATE;
#endif
                void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, flags, fd, 0);
                if (p != MAP_FAILED) {
                    map_ = p;
                    size_ = static_cast<std::size_t>(st.st_size);
                    data_ = static_cast<const unsigned char*>(p);
                }
            }
            ::close(fd);
            if (map_) return;
        }
#endif
        file_handle f(path, "rb");
        copy_.resize(static_cast<std::size_t>(f.size()));
        if (std::fread(copy_.data(), 1, copy_.size(), f.get()) != copy_.size()) throw error(errc::io, "read error", path);
        data_ = copy_.data();
        size_ = copy_.size();
    }
    ~mapped_file() {
#ifdef CTSPINE_DETAIL_HAVE_MMAP
        if (map_) ::munmap(map_, size_);
#endif
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    const unsigned char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    void* map_ = nullptr;
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    std::vector<unsigned char> copy_;
};

// ---- Indexed gzip members --------------------------------------------------------------------------------------
// ctspine writes a .nii.gz as a series of gzip members (RFC 1952 §2.2: every gzip reader — zlib, libdeflate, GNU
// gzip, Python's gzip/nibabel, nifticlib, ITK — reads them as one stream): the NIfTI header alone, then the voxels in
// chunks of a few MiB. Each member's header carries an extra subfield (RFC 1952 §2.3.1.1, FLG.FEXTRA: SI1 SI2 LEN
// data) 'c' 't', LEN 4, holding the member's total compressed length (uint32 LE) — the idea of BGZF's 'B' 'C' BSIZE
// (SAM/BAM format specification §4.1). A reader can then locate every member without decompressing, decompress them
// in parallel, and skip the ones outside the bytes it needs. Readers that do not know the subfield ignore it.
inline constexpr unsigned char member_si1 = 'c', member_si2 = 't';
inline constexpr std::size_t member_header_bytes = 10 + 2 + 8;  // fixed header, XLEN, one 8-byte subfield

inline void put_le32(unsigned char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_le32(const unsigned char* p) noexcept {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

/// Compress n bytes (n < 4 GiB) as one gzip member with the length subfield; returns the member's bytes.
inline std::vector<unsigned char> gzip_member(const unsigned char* src, std::size_t n, int level, const std::string& path) {
    if (n > 0xffffffffu) throw error(errc::internal, "gzip: member too large", path);
    z_stream zs{};
    if (level < 0 || level > 9) level = 6;
    // windowBits -15: raw deflate (RFC 1951); the gzip header and trailer are written here.
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw error(errc::out_of_memory, "gzip: deflateInit2 failed", path);
    std::vector<unsigned char> out(member_header_bytes + deflateBound(&zs, static_cast<uLong>(n)) + 8);
    zs.next_in = const_cast<unsigned char*>(src);
    zs.avail_in = static_cast<uInt>(n);
    zs.next_out = out.data() + member_header_bytes;
    zs.avail_out = static_cast<uInt>(out.size() - member_header_bytes - 8);
    int rc = deflate(&zs, Z_FINISH);
    std::size_t body = out.size() - member_header_bytes - 8 - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw error(errc::internal, "gzip: deflate did not finish within deflateBound", path);
    const std::size_t total = member_header_bytes + body + 8;
    unsigned char* h = out.data();
    h[0] = 0x1f;  // ID1, ID2 (RFC 1952 §2.3.1)
    h[1] = 0x8b;
    h[2] = 8;     // CM = deflate
    h[3] = 4;     // FLG = FEXTRA
    put_le32(h + 4, 0);  // MTIME unknown
    h[8] = 0;            // XFL
    h[9] = 255;          // OS unknown
    h[10] = 8;           // XLEN = 8 (one subfield: SI1 SI2 LEN(2) + 4 bytes)
    h[11] = 0;
    h[12] = member_si1;
    h[13] = member_si2;
    h[14] = 4;
    h[15] = 0;
    put_le32(h + 16, static_cast<std::uint32_t>(total));
    unsigned char* t = out.data() + member_header_bytes + body;
    put_le32(t, static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), src, static_cast<uInt>(n))));  // CRC32, ISIZE
    put_le32(t + 4, static_cast<std::uint32_t>(n));
    out.resize(total);
    return out;
}

/// Write `n` bytes to `f` as indexed gzip members of `member_bytes` each (the last one shorter), compressed in
/// parallel batches of `threads` members and written in order. Same output for any thread count.
inline void write_gzip_members(output_file& f, const unsigned char* data, std::size_t n, int level, int threads,
                               std::size_t member_bytes = std::size_t(4) << 20) {
    if (member_bytes == 0) member_bytes = std::size_t(4) << 20;
    const std::size_t count = n == 0 ? 1 : (n + member_bytes - 1) / member_bytes;
    const int t = resolve_threads(threads);
    std::vector<std::vector<unsigned char>> batch(static_cast<std::size_t>(t));
    for (std::size_t first = 0; first < count; first += static_cast<std::size_t>(t)) {
        const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(t), count - first);
        parallel_for(t, static_cast<std::ptrdiff_t>(k), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
            for (std::ptrdiff_t i = b; i < e; ++i) {
                std::size_t at = (first + static_cast<std::size_t>(i)) * member_bytes;
                batch[static_cast<std::size_t>(i)] = gzip_member(data + at, std::min(member_bytes, n - at), level, f.path());
            }
        });
        for (std::size_t i = 0; i < k; ++i) f.write(batch[i].data(), batch[i].size());
    }
}

/// One member located by index_gzip_members: compressed [in_off, in_off + in_len), decompressed
/// [out_off, out_off + out_len) of the whole stream.
struct gzip_member_span {
    std::size_t in_off, in_len, out_off, out_len;
};

/// Locate every member of in[0, in_size) from the length subfields. Returns false (caller decompresses
/// sequentially) unless every member carries a consistent subfield and the members decompress to exactly
/// `out_size` bytes by their ISIZE trailers. Never reads outside `in`.
inline bool index_gzip_members(const unsigned char* in, std::size_t in_size, std::size_t out_size, std::vector<gzip_member_span>& m) {
    m.clear();
    std::size_t pos = 0, out = 0;
    while (pos < in_size) {
        if (in_size - pos < member_header_bytes + 8) return false;
        const unsigned char* h = in + pos;
        if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || (h[3] & 4) == 0) return false;
        const std::size_t xlen = std::size_t(h[10]) | std::size_t(h[11]) << 8;
        if (xlen > in_size - pos - 12) return false;
        std::size_t len = 0;
        for (std::size_t x = 0; x + 4 <= xlen;) {  // walk the subfields
            const unsigned char* sf = h + 12 + x;
            const std::size_t sl = std::size_t(sf[2]) | std::size_t(sf[3]) << 8;
            if (x + 4 + sl > xlen) return false;
            if (sf[0] == member_si1 && sf[1] == member_si2 && sl == 4) len = get_le32(sf + 4);
            x += 4 + sl;
        }
        if (len < 12 + xlen + 8 || len > in_size - pos) return false;
        const std::size_t isize = get_le32(in + pos + len - 4);
        if (isize > out_size - out) return false;
        m.push_back({pos, len, out, isize});
        pos += len;
        out += isize;
        if (m.size() > (std::size_t(1) << 24)) return false;
    }
    return out == out_size && !m.empty();
}

/// True when a libdeflate back end is compiled in.
inline constexpr bool have_libdeflate() noexcept {
#ifdef CTSPINE_HAVE_LIBDEFLATE
    return true;
#else
    return false;
#endif
}

#ifdef CTSPINE_HAVE_LIBDEFLATE
/// Decompress all gzip members of `in` into exactly out_size bytes at `out` (libdeflate, one shot per member).
/// Returns false if the data decompress to a different size (caller falls back to streaming zlib for the
/// precise error); throws errc::corrupt for invalid data.
inline bool gunzip_exact_libdeflate(const unsigned char* in, std::size_t in_size, unsigned char* out, std::size_t out_size,
                                    const std::string& path, std::size_t in_pos = 0) {
    std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(libdeflate_alloc_decompressor(),
                                                                                     libdeflate_free_decompressor);
    if (!d) throw error(errc::out_of_memory, "libdeflate: cannot allocate decompressor", path);
    std::size_t out_pos = 0;
    while (in_pos < in_size) {
        if (in[in_pos] == 0) {  // zero padding after the last member
            ++in_pos;
            continue;
        }
        std::size_t used_in = 0, produced = 0;
        libdeflate_result r = libdeflate_gzip_decompress_ex(d.get(), in + in_pos, in_size - in_pos, out + out_pos,
                                                            out_size - out_pos, &used_in, &produced);
        if (r == LIBDEFLATE_INSUFFICIENT_SPACE) return false;
        if (r != LIBDEFLATE_SUCCESS) {
            if (out_pos == out_size) return true;  // trailing garbage after complete data: ignore, as zlib path does
            return false;                           // let the zlib path produce the precise error
        }
        in_pos += used_in;
        out_pos += produced;
    }
    return out_pos == out_size;
}

/// Place bytes [skip, skip + dst_size) of the decompressed stream of indexed members into dst, decompressing the
/// members that overlap that range in parallel (`threads`), each straight into dst when it lies inside the range.
/// Returns false if any member fails to decompress to its indexed size (caller falls back for the precise error).
inline bool gunzip_members_libdeflate(const unsigned char* in, const std::vector<gzip_member_span>& m, std::size_t skip,
                                      unsigned char* dst, std::size_t dst_size, int threads) {
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < m.size(); ++i)
        if (m[i].out_off < skip + dst_size && m[i].out_off + m[i].out_len > skip) todo.push_back(i);
    std::atomic<bool> ok{true};
    parallel_for(threads, static_cast<std::ptrdiff_t>(todo.size()), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
        std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(libdeflate_alloc_decompressor(),
                                                                                         libdeflate_free_decompressor);
        if (!d) {
            ok = false;
            return;
        }
        std::vector<unsigned char> tmp;
        for (std::ptrdiff_t t = b; t < e && ok; ++t) {
            const gzip_member_span& s = m[todo[static_cast<std::size_t>(t)]];
            const bool inside = s.out_off >= skip && s.out_off + s.out_len <= skip + dst_size;
            unsigned char* o = nullptr;
            if (inside) {
                o = dst + (s.out_off - skip);
            } else {  // (dst + out_off - skip would point before dst for a member that starts before the range: found by fuzz_gzip)
                tmp.resize(s.out_len);
                o = tmp.data();
            }
            std::size_t used_in = 0, produced = 0;
            if (libdeflate_gzip_decompress_ex(d.get(), in + s.in_off, s.in_len, o, s.out_len, &used_in, &produced) != LIBDEFLATE_SUCCESS ||
                used_in != s.in_len || produced != s.out_len) {
                ok = false;
                return;
            }
            if (!inside) {  // copy the part of this member that falls inside [skip, skip + dst_size)
                const std::size_t from = std::max(s.out_off, skip), to = std::min(s.out_off + s.out_len, skip + dst_size);
                std::memcpy(dst + (from - skip), tmp.data() + (from - s.out_off), to - from);
            }
        }
    }, 1);
    return ok;
}

/// If the first gzip member of `in` decompresses to exactly head_size bytes (as ctspine writes a .nii.gz: the
/// header is its own member), store them in `head` and return the compressed offset of the next member;
/// otherwise return 0 (the caller then decompresses the whole stream into one buffer).
inline std::size_t gunzip_first_member_libdeflate(const unsigned char* in, std::size_t in_size, unsigned char* head,
                                                   std::size_t head_size, const std::string& path) {
    std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(libdeflate_alloc_decompressor(),
                                                                                     libdeflate_free_decompressor);
    if (!d) throw error(errc::out_of_memory, "libdeflate: cannot allocate decompressor", path);
    std::size_t used_in = 0, produced = 0;
    // With a head_size output buffer, a larger first member stops early with LIBDEFLATE_INSUFFICIENT_SPACE.
    libdeflate_result r = libdeflate_gzip_decompress_ex(d.get(), in, in_size, head, head_size, &used_in, &produced);
    if (r != LIBDEFLATE_SUCCESS || produced != head_size || used_in >= in_size) return 0;
    return used_in;
}
#endif

/// Streaming gzip writer (or plain writer when compress == false).
class byte_sink {
public:
    /// Writes `path` atomically (see output_file): nothing appears under that name before finish().
    byte_sink(const std::string& path, bool compress, int level) : file_(path), compress_(compress) {
        if (compress_) {
            std::memset(&zs_, 0, sizeof(zs_));
            if (level < 0 || level > 9) level = 6;
            if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                throw error(errc::out_of_memory, "gzip: deflateInit2 failed", path);
            z_open_ = true;
            out_.resize(1 << 18);
        }
    }
    ~byte_sink() {
        if (z_open_) deflateEnd(&zs_);
    }
    byte_sink(const byte_sink&) = delete;
    byte_sink& operator=(const byte_sink&) = delete;

    void write(const void* src, std::size_t n) {
        if (!compress_) {
            file_.write(src, n);
            return;
        }
        const unsigned char* p = static_cast<const unsigned char*>(src);
        while (n > 0) {
            std::size_t step = std::min<std::size_t>(n, std::size_t(1) << 30);
            zs_.next_in = const_cast<unsigned char*>(p);
            zs_.avail_in = static_cast<uInt>(step);
            pump(Z_NO_FLUSH);
            p += step;
            n -= step;
        }
    }
    /// Close the current gzip member and start a new one (RFC 1952 §2.2: a gzip file is a series of members;
    /// zlib, libdeflate, Python's gzip and nibabel read them as one stream). Lets a reader find where the
    /// NIfTI header ends in the compressed data and decompress the voxels straight into their destination.
    void end_member() {
        if (!compress_) return;
        pump(Z_FINISH);
        if (deflateReset(&zs_) != Z_OK) throw error(errc::internal, "gzip: deflateReset failed", file_.path());
    }
    void finish() {
        if (compress_) pump(Z_FINISH);
        file_.commit();
    }

private:
    void pump(int flush) {
        for (;;) {
            zs_.next_out = out_.data();
            zs_.avail_out = static_cast<uInt>(out_.size());
            int rc = deflate(&zs_, flush);
            if (rc == Z_STREAM_ERROR) throw error(errc::internal, "gzip: deflate failed", file_.path());
            std::size_t have = out_.size() - zs_.avail_out;
            file_.write(out_.data(), have);
            if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) return;
        }
    }
    output_file file_;
    bool compress_;
    bool z_open_ = false;
    z_stream zs_{};
    std::vector<unsigned char> out_;
};

}  // namespace detail
}  // namespace ctspine
