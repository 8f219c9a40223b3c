// ctspine — error reporting: one exception type with a stable code and context.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ctspine {

/// Stable error codes. Values never change meaning; new codes are appended.
enum class errc {
    io = 1,            ///< open/read/write failed (OS level)
    not_nifti,         ///< file is not NIfTI / not the expected format
    truncated,         ///< file ends before the header says it should
    corrupt,           ///< compressed stream or container is damaged
    unsupported,       ///< valid but unsupported feature (datatype, configuration, ...)
    bad_header,        ///< header field out of range or inconsistent
    invalid_argument,  ///< caller passed an unusable argument
    size_limit,        ///< a size overflows or exceeds a safety limit
    out_of_memory,     ///< allocation failed
    cancelled,         ///< a progress callback asked to stop
    model_format,      ///< model folder / checkpoint / plans problem
    shape_mismatch,    ///< tensor or volume shapes disagree
    internal           ///< a bug in ctspine
};

inline const char* errc_name(errc c) noexcept {
    switch (c) {
        case errc::io: return "io";
        case errc::not_nifti: return "not_nifti";
        case errc::truncated: return "truncated";
        case errc::corrupt: return "corrupt";
        case errc::unsupported: return "unsupported";
        case errc::bad_header: return "bad_header";
        case errc::invalid_argument: return "invalid_argument";
        case errc::size_limit: return "size_limit";
        case errc::out_of_memory: return "out_of_memory";
        case errc::cancelled: return "cancelled";
        case errc::model_format: return "model_format";
        case errc::shape_mismatch: return "shape_mismatch";
        case errc::internal: return "internal";
    }
    return "unknown";
}

/// The one exception type ctspine throws. `what()` is a complete human-readable sentence such as
/// "nifti: vox_offset 12 < 352 in 'ct.nii.gz'"; `file()`, `field()` and `value()` carry the same
/// context for programs (any may be empty).
class error : public std::runtime_error {
public:
    error(errc code, const std::string& message, std::string file = {}, std::string field = {},
          std::string value = {})
        : std::runtime_error(compose(message, file)),
          code_(code), file_(std::move(file)), field_(std::move(field)), value_(std::move(value)) {}

    errc code() const noexcept { return code_; }
    const std::string& file() const noexcept { return file_; }
    const std::string& field() const noexcept { return field_; }
    const std::string& value() const noexcept { return value_; }

private:
    static std::string compose(const std::string& message, const std::string& file) {
        if (file.empty()) return message;
        return message + " in '" + file + "'";
    }
    errc code_;
    std::string file_, field_, value_;
};

namespace detail {
/// Concatenate anything streamable into a string (for error messages).
template <class... A>
std::string cat(const A&... a) {
    std::ostringstream os;
    (os << ... << a);
    return os.str();
}
}  // namespace detail

}  // namespace ctspine
