// ctspine — every file ctspine writes goes through here: it is written under a temporary name beside its target and
// renamed over the target only when complete, so a failure (full disk, file-size limit, exception, killed process)
// never leaves a truncated file under the target's name and never destroys the previous good file.
#pragma once
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <functional>

#if defined(__unix__) || defined(__APPLE__)
#include <stdlib.h>  // mkstemp
#include <sys/stat.h>
#include <unistd.h>
#define CTSPINE_DETAIL_HAVE_MKSTEMP 1
#endif

#include "ctspine/core/error.hpp"

namespace ctspine {
namespace detail {

/// An output file published atomically. The bytes go to a new, uniquely named temporary file in the target's
/// directory (`<target>.tmp-XXXXXX`); commit() closes it (checking every error) and renames it over the target, which
/// POSIX makes atomic within one file system. Destroyed without commit() — an exception on the way — the temporary
/// file is removed and the target is untouched. Data is not fsync'ed: a process crash cannot lose it, a power cut may.
class output_file {
public:
    explicit output_file(std::string target) : target_(std::move(target)) {
#ifdef CTSPINE_DETAIL_HAVE_MKSTEMP
        std::string tmpl = target_ + ".tmp-XXXXXX";
        const int fd = ::mkstemp(&tmpl[0]);
        if (fd < 0) throw error(errc::io, cat("cannot create a file beside the target (", std::strerror(errno), ")"), target_);
        // mkstemp creates 0600; give the file the permissions a plain fopen would (0666 less the umask).
        const mode_t mask = ::umask(0);
        ::umask(mask);
        (void)::fchmod(fd, static_cast<mode_t>(0666 & ~mask));
        f_ = ::fdopen(fd, "wb");
        if (!f_) {
            ::close(fd);
            std::remove(tmpl.c_str());
            throw error(errc::io, cat("cannot open a file beside the target (", std::strerror(errno), ")"), target_);
        }
        temp_ = std::move(tmpl);
#else
        // No mkstemp: a name unique to this thread and moment; "wx" (C11) refuses an existing file.
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        temp_ = cat(target_, ".tmp-", std::hash<std::thread::id>{}(std::this_thread::get_id()), "-", stamp);
        f_ = std::fopen(temp_.c_str(), "wbx");
        if (!f_) throw error(errc::io, cat("cannot create a file beside the target (", std::strerror(errno), ")"), target_);
#endif
    }
    ~output_file() {
        if (f_) std::fclose(f_);
        if (!committed_) std::remove(temp_.c_str());
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    std::FILE* get() const noexcept { return f_; }
    /// The target path (what error messages name).
    const std::string& path() const noexcept { return target_; }
    const std::string& temp_path() const noexcept { return temp_; }

    void write(const void* p, std::size_t n) {
        if (n > 0 && std::fwrite(p, 1, n, f_) != n) throw error(errc::io, cat("write failed (", std::strerror(errno), ")"), target_);
    }
    /// Close the temporary file and rename it over the target. Throws errc::io (and removes the temporary file) when
    /// any byte could not be written.
    void commit() {
        std::FILE* f = f_;
        f_ = nullptr;
        const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
        const int flush_errno = errno;
        if (std::fclose(f) != 0 || !flushed)
            throw error(errc::io, cat("write failed (", std::strerror(flushed ? errno : flush_errno), ")"), target_);
        if (std::rename(temp_.c_str(), target_.c_str()) != 0)
            throw error(errc::io, cat("cannot rename the finished file into place (", std::strerror(errno), ")"), target_);
        committed_ = true;
    }

private:
    std::string target_, temp_;
    std::FILE* f_ = nullptr;
    bool committed_ = false;
};

}  // namespace detail

/// Write `n` bytes to `path` atomically (see detail::output_file): the previous file survives any failure.
inline void write_file_atomic(const std::string& path, const void* data, std::size_t n) {
    detail::output_file f(path);
    f.write(data, n);
    f.commit();
}
inline void write_file_atomic(const std::string& path, const std::string& text) { write_file_atomic(path, text.data(), text.size()); }

}  // namespace ctspine
