// ctspine — a minimal, validating reader for STORED zip archives (the container torch.save writes).
//
// Format facts (PKWARE APPNOTE 6.3.x, §4.3; PyTorch caffe2/serialize/inline_container.cc, PyTorchStreamWriter/Reader):
//  * End of central directory (EOCD) "PK\5\6", 22 bytes + comment (<= 65535), at the end of the file.
//  * ZIP64: a locator "PK\6\7" (20 bytes) just before the EOCD points to the zip64 EOCD "PK\6\6" (56+ bytes),
//    which holds 64-bit entry count / central-directory size / offset. Per-entry 64-bit sizes/offsets live in
//    the zip64 extra field (id 0x0001) of the central-directory header, in the order uncompressed, compressed,
//    local-header offset — each present only when the 32-bit field is 0xFFFFFFFF.
//  * torch writes every record STORED (method 0) with an 'FB' extra field padding the payload to 64 bytes; the
//    payload offset is local_header_offset + 30 + name_len + local_extra_len (PyTorchStreamReader::getRecordOffset).
//    Local headers may carry zero sizes (data descriptors), so sizes are taken from the central directory.
// Every offset and length is validated against the file size before it is used. Only stored records are read:
// a compressed record is refused (errc::unsupported) before anything is inflated, so no record can expand beyond
// the archive. Records whose payloads together exceed the archive (overlapping records, the construction of
// non-recursive zip bombs) are refused (errc::size_limit), as are more than zip_limits::max_entries records.
// The same parser reads a file or the caller's memory (the fuzz target exercises the memory form).
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ctspine/core/error.hpp"

namespace ctspine {

struct zip_entry {
    std::string name;
    std::uint64_t data_offset = 0;  ///< absolute offset of the stored payload
    std::uint64_t size = 0;         ///< payload size (bytes) from the central directory
};

/// Limits of one zip read; a limit hit is errc::size_limit (field() names the limit), raised before the allocation.
struct zip_limits {
    std::uint64_t max_entries = 1u << 20;  ///< central-directory records (a torch checkpoint has one per tensor storage)
    /// Sum of all record sizes. Whatever this says, the sum may not exceed the archive's size (stored records cannot
    /// hold more than the file; a larger sum means records overlap).
    std::uint64_t max_total_bytes = ~std::uint64_t(0);
};

class zip_reader {
public:
    explicit zip_reader(const std::string& path, const zip_limits& lim = {}) : path_(path) {
        in_ = std::make_shared<std::ifstream>(path, std::ios::binary);
        if (!*in_) throw error(errc::io, "zip: cannot open file", path);
        in_->seekg(0, std::ios::end);
        auto end = in_->tellg();
        if (end < 0) throw error(errc::io, "zip: cannot determine file size", path);
        size_ = static_cast<std::uint64_t>(end);
        parse(lim);
    }
    /// An archive in memory, [data, data + size); `name` only names it in messages. The buffer must outlive the
    /// reader (and any torch_checkpoint made from it). Same parser as the file form.
    zip_reader(const void* data, std::size_t size, std::string name = "<memory>", const zip_limits& lim = {})
        : path_(std::move(name)), mem_(static_cast<const std::uint8_t*>(data)), size_(size) {
        if (!mem_) mem_ = reinterpret_cast<const std::uint8_t*>("");
        parse(lim);
    }

    const std::string& path() const noexcept { return path_; }
    std::uint64_t file_size() const noexcept { return size_; }
    const std::vector<zip_entry>& entries() const noexcept { return entries_; }

    /// Entry by exact name, or nullptr.
    const zip_entry* find(const std::string& name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : &entries_[it->second];
    }

    /// Copy `n` bytes starting at `offset` inside the entry's payload to `dst` (all bounds validated).
    void read_into(const zip_entry& e, void* dst, std::uint64_t n, std::uint64_t offset = 0) const {
        if (offset > e.size || n > e.size - offset)
            throw error(errc::model_format,
                        detail::cat("zip: read of ", n, " bytes at ", offset, " exceeds record '", e.name, "' of ",
                                    e.size, " bytes"),
                        path_, e.name);
        read_raw(e.data_offset + offset, dst, n);
    }

    /// The whole payload, refusing records larger than `max_size` bytes.
    std::vector<std::uint8_t> read(const zip_entry& e, std::uint64_t max_size) const {
        if (e.size > max_size)
            throw error(errc::size_limit, detail::cat("zip: record '", e.name, "' is ", e.size, " bytes, limit ", max_size),
                        path_, e.name);
        std::vector<std::uint8_t> out(static_cast<std::size_t>(e.size));
        if (!out.empty()) read_into(e, out.data(), e.size);
        return out;
    }

private:
    static std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
    static std::uint32_t u32(const std::uint8_t* p) {
        return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
               (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    }
    static std::uint64_t u64(const std::uint8_t* p) {
        return static_cast<std::uint64_t>(u32(p)) | (static_cast<std::uint64_t>(u32(p + 4)) << 32);
    }

    void read_raw(std::uint64_t ofs, void* dst, std::uint64_t n) const {
        if (ofs > size_ || n > size_ - ofs)
            throw error(errc::truncated, detail::cat("zip: read of ", n, " bytes at offset ", ofs, " beyond end of file (",
                                                     size_, " bytes)"), path_);
        if (n == 0) return;
        if (mem_) {
            std::memcpy(dst, mem_ + ofs, static_cast<std::size_t>(n));
            return;
        }
        in_->clear();
        in_->seekg(static_cast<std::streamoff>(ofs));
        in_->read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
        if (!*in_ || static_cast<std::uint64_t>(in_->gcount()) != n)
            throw error(errc::io, detail::cat("zip: read failed at offset ", ofs), path_);
    }

    void parse(const zip_limits& lim) {
        if (size_ < 22) throw error(errc::model_format, "zip: file too small to be a zip archive", path_);
        // Find the EOCD: scan the last 22 + 65535 bytes backwards for "PK\5\6".
        std::uint64_t tail = std::min<std::uint64_t>(size_, 22 + 65535);
        std::vector<std::uint8_t> buf(static_cast<std::size_t>(tail));
        read_raw(size_ - tail, buf.data(), tail);
        std::int64_t pos = -1;
        for (std::int64_t i = static_cast<std::int64_t>(tail) - 22; i >= 0; --i) {
            const std::uint8_t* p = buf.data() + i;
            if (u32(p) == 0x06054b50u && static_cast<std::uint64_t>(i) + 22 + u16(p + 20) <= tail) { pos = i; break; }
        }
        if (pos < 0) throw error(errc::model_format, "zip: end-of-central-directory record not found (not a zip file?)", path_);
        const std::uint64_t eocd_ofs = size_ - tail + static_cast<std::uint64_t>(pos);
        const std::uint8_t* e = buf.data() + pos;
        std::uint64_t n_entries = u16(e + 10), cd_size = u32(e + 12), cd_ofs = u32(e + 16);
        if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_ofs == 0xFFFFFFFFu || eocd_ofs >= 20) {
            // Zip64 locator directly before the EOCD (APPNOTE 4.3.15).
            std::uint8_t loc[20];
            if (eocd_ofs >= 20) {
                read_raw(eocd_ofs - 20, loc, 20);
                if (u32(loc) == 0x07064b50u) {
                    std::uint64_t z_ofs = u64(loc + 8);
                    std::uint8_t z[56];
                    read_raw(z_ofs, z, 56);  // validated against the file size
                    if (u32(z) != 0x06064b50u)
                        throw error(errc::model_format, "zip: zip64 end-of-central-directory signature missing", path_);
                    n_entries = u64(z + 32);
                    cd_size = u64(z + 40);
                    cd_ofs = u64(z + 48);
                } else if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_ofs == 0xFFFFFFFFu) {
                    throw error(errc::model_format, "zip: 32-bit EOCD saturated but no zip64 locator", path_);
                }
            }
        }
        if (cd_ofs > size_ || cd_size > size_ - cd_ofs)
            throw error(errc::model_format, detail::cat("zip: central directory (offset ", cd_ofs, ", size ", cd_size,
                                                        ") lies outside the file of ", size_, " bytes"), path_);
        if (n_entries > cd_size / 46)  // a central-directory header is at least 46 bytes: a lie, not a limit
            throw error(errc::model_format, detail::cat("zip: ", n_entries, " records cannot fit a central directory of ",
                                                        cd_size, " bytes"), path_);
        if (n_entries > lim.max_entries)
            throw error(errc::size_limit, detail::cat("zip: ", n_entries, " records, limit ", lim.max_entries), path_,
                        "max_entries", detail::cat(n_entries));
        std::vector<std::uint8_t> cd(static_cast<std::size_t>(cd_size));
        read_raw(cd_ofs, cd.data(), cd_size);
        std::uint64_t p = 0, total = 0;
        entries_.reserve(static_cast<std::size_t>(n_entries));
        for (std::uint64_t k = 0; k < n_entries; ++k) {
            if (cd_size - p < 46) throw error(errc::model_format, "zip: central directory truncated", path_);
            const std::uint8_t* h = cd.data() + p;
            if (u32(h) != 0x02014b50u) throw error(errc::model_format, "zip: bad central directory header signature", path_);
            const std::uint16_t flags = u16(h + 8), method = u16(h + 10);
            std::uint64_t csize = u32(h + 20), usize = u32(h + 24);
            const std::uint16_t nlen = u16(h + 28), xlen = u16(h + 30), clen = u16(h + 32);
            std::uint64_t lofs = u32(h + 42);
            if (cd_size - p < 46u + nlen + xlen + clen) throw error(errc::model_format, "zip: central directory entry truncated", path_);
            zip_entry ent;
            ent.name.assign(reinterpret_cast<const char*>(h + 46), nlen);
            // zip64 extra field (id 0x0001): only the saturated fields are present, in this order.
            const std::uint8_t* x = h + 46 + nlen;
            for (std::uint32_t q = 0; q + 4 <= xlen;) {
                std::uint16_t id = u16(x + q), len = u16(x + q + 2);
                if (q + 4u + len > xlen) throw error(errc::model_format, "zip: extra field overruns its header", path_, ent.name);
                if (id == 0x0001) {
                    std::uint32_t r = q + 4, rend = q + 4u + len;
                    auto take = [&](std::uint64_t& v) {
                        if (v != 0xFFFFFFFFu) return;
                        if (r + 8 > rend) throw error(errc::model_format, "zip: zip64 extra field too short", path_, ent.name);
                        v = u64(x + r);
                        r += 8;
                    };
                    take(usize);
                    take(csize);
                    take(lofs);
                }
                q += 4u + len;
            }
            if (method != 0)
                throw error(errc::unsupported, detail::cat("zip: record '", ent.name, "' uses compression method ", method,
                                                           "; only stored records (method 0) are supported"), path_, ent.name);
            if (flags & 1u) throw error(errc::unsupported, "zip: encrypted record '" + ent.name + "'", path_, ent.name);
            if (csize != usize)
                throw error(errc::model_format, detail::cat("zip: stored record '", ent.name, "' has compressed size ", csize,
                                                            " != uncompressed size ", usize), path_, ent.name);
            if (lofs > size_ || size_ - lofs < 30)
                throw error(errc::model_format, detail::cat("zip: local header offset ", lofs, " of '", ent.name,
                                                            "' outside the file"), path_, ent.name);
            std::uint8_t lh[30];
            read_raw(lofs, lh, 30);
            if (u32(lh) != 0x04034b50u) throw error(errc::model_format, "zip: bad local header signature for '" + ent.name + "'", path_, ent.name);
            std::uint64_t data = lofs + 30 + u16(lh + 26) + u16(lh + 28);
            if (data > size_ || usize > size_ - data)
                throw error(errc::model_format, detail::cat("zip: record '", ent.name, "' claims ", usize, " bytes at offset ",
                                                            data, " but the file has ", size_, " bytes"), path_, ent.name);
            total += usize;  // each usize <= size_, so no overflow
            if (total > lim.max_total_bytes)
                throw error(errc::size_limit, detail::cat("zip: records total more than ", lim.max_total_bytes, " bytes"),
                            path_, "max_total_bytes", detail::cat(total));
            if (total > size_)
                throw error(errc::size_limit, detail::cat("zip: records total ", total, " bytes, more than the archive's ",
                                                          size_, " (overlapping records)"), path_, "max_total_bytes",
                            detail::cat(total));
            ent.data_offset = data;
            ent.size = usize;
            by_name_.emplace(ent.name, entries_.size());
            entries_.push_back(std::move(ent));
            p += 46u + nlen + xlen + clen;
        }
    }

    std::string path_;
    std::shared_ptr<std::ifstream> in_;    // file form
    const std::uint8_t* mem_ = nullptr;    // memory form
    std::uint64_t size_ = 0;
    std::vector<zip_entry> entries_;
    std::map<std::string, std::size_t> by_name_;
};

}  // namespace ctspine
