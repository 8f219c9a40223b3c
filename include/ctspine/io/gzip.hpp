// ctspine — byte sources for the readers: plain files and gzip streams. The only file that includes
// <zlib.h> (and <libdeflate.h> when CTSPINE_HAVE_LIBDEFLATE is defined).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
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
    void close_checked() {
        std::FILE* f = f_;
        f_ = nullptr;
        if (std::fclose(f) != 0) throw error(errc::io, cat("cannot close file (", std::strerror(errno), ")"), path_);
    }

private:
    std::string path_;
    std::FILE* f_;
};

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Sequential reader of a file's (decompressed) bytes. A file is treated as gzip when it starts with the
/// gzip magic 1f 8b (RFC 1952 §2.3.1), whatever its name; concatenated gzip members are read as one stream.
class byte_source {
public:
    explicit byte_source(const std::string& path) : file_(path, "rb") {
        file_size_ = file_.size();
        unsigned char magic[2] = {0, 0};
        std::size_t got = std::fread(magic, 1, 2, file_.get());
        std::rewind(file_.get());
        gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (gzip_) {
            in_.resize(1 << 18);
            std::memset(&zs_, 0, sizeof(zs_));
            // 15 + 16: gzip wrapper only (RFC 1952), maximum window.
            if (inflateInit2(&zs_, 15 + 16) != Z_OK) throw error(errc::out_of_memory, "gzip: inflateInit2 failed", path);
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
    const std::string& path() const noexcept { return file_.path(); }

    /// Read up to n bytes into dst; returns the count (< n only at end of data).
    std::size_t read_some(void* dst, std::size_t n) {
        if (!gzip_) {
            std::size_t got = std::fread(dst, 1, n, file_.get());
            if (got < n && std::ferror(file_.get())) throw error(errc::io, "read error", path());
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
            if (fseeko(file_.get(), static_cast<off_t>(pos_ + n), SEEK_SET) != 0) throw error(errc::io, "cannot seek", path());
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
    /// Whole raw (compressed) file content; used by the libdeflate fast path.
    std::vector<unsigned char> read_raw_file() {
        std::vector<unsigned char> all(static_cast<std::size_t>(file_size_));
        std::rewind(file_.get());
        if (std::fread(all.data(), 1, all.size(), file_.get()) != all.size()) throw error(errc::io, "read error", path());
        std::rewind(file_.get());
        return all;
    }

private:
    std::size_t inflate_into(unsigned char* dst, std::size_t n) {
        std::size_t produced = 0;
        while (produced < n && !z_done_) {
            if (zs_.avail_in == 0) {
                std::size_t got = std::fread(in_.data(), 1, in_.size(), file_.get());
                if (got == 0) {
                    if (std::ferror(file_.get())) throw error(errc::io, "read error", path());
                    // End of file inside a member: the stream is truncated.
                    if (member_open_) throw error(errc::truncated, cat("gzip stream ends early after ", pos_ + produced, " decompressed bytes"), path());
                    z_done_ = true;
                    break;
                }
                zs_.next_in = in_.data();
                zs_.avail_in = static_cast<uInt>(got);
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
                if (zs_.avail_in == 0 && std::feof(file_.get())) {
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
            if (zs_.avail_in > 0) return;
            std::size_t got = std::fread(in_.data(), 1, in_.size(), file_.get());
            if (got == 0) return;
            zs_.next_in = in_.data();
            zs_.avail_in = static_cast<uInt>(got);
        }
    }

    file_handle file_;
    std::uint64_t file_size_ = 0;
    std::uint64_t pos_ = 0;
    bool gzip_ = false;
    bool z_open_ = false, z_done_ = false, member_open_ = false;
    z_stream zs_{};
    std::vector<unsigned char> in_;
};

/// Read-only view of a whole file: mmap where available (no anonymous zero-filled pages, no copy), else read
/// into memory. Used for the compressed input of the libdeflate back end.
class mapped_file {
public:
    explicit mapped_file(const std::string& path) {
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
    byte_sink(const std::string& path, bool compress, int level) : file_(path, "wb"), compress_(compress) {
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
            if (std::fwrite(src, 1, n, file_.get()) != n) throw error(errc::io, "write error", file_.path());
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
        file_.close_checked();
    }

private:
    void pump(int flush) {
        for (;;) {
            zs_.next_out = out_.data();
            zs_.avail_out = static_cast<uInt>(out_.size());
            int rc = deflate(&zs_, flush);
            if (rc == Z_STREAM_ERROR) throw error(errc::internal, "gzip: deflate failed", file_.path());
            std::size_t have = out_.size() - zs_.avail_out;
            if (have && std::fwrite(out_.data(), 1, have, file_.get()) != have) throw error(errc::io, "write error", file_.path());
            if (flush == Z_FINISH ? rc == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) return;
        }
    }
    file_handle file_;
    bool compress_;
    bool z_open_ = false;
    z_stream zs_{};
    std::vector<unsigned char> out_;
};

}  // namespace detail
}  // namespace ctspine
