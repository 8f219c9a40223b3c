// ctspine — writing meshes: binary STL (one solid per file), binary little-endian PLY and Wavefront OBJ (one or many
// objects per file). Every file is written to a temporary name in the target folder and renamed into place, so a
// reader never sees a half-written mesh and a failed write leaves no partial file.
//
// Formats: STL — 80-byte header, uint32 triangle count, then per triangle a float32 unit normal, three float32
// vertices and a uint16 attribute (0), little-endian (the binary STL layout of the 3D Systems specification, as
// every slicer reads it). PLY — "binary_little_endian 1.0" (Turk's PLY format): float x y z nx ny nz per vertex,
// faces as "list uchar int", plus an int `label` per face when the file holds several meshes. OBJ — "o NAME" per
// mesh, "v", "vn", and "f a//a b//b c//c" with 1-based indices over the whole file.
#pragma once
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/label/label_schemes.hpp"
#include "ctspine/mesh/mesh.hpp"

namespace ctspine {

enum class mesh_format { stl, ply, obj };

inline mesh_format parse_mesh_format(const std::string& s) {
    if (s == "stl") return mesh_format::stl;
    if (s == "ply") return mesh_format::ply;
    if (s == "obj") return mesh_format::obj;
    throw error(errc::invalid_argument, "mesh format: unknown '" + s + "' (stl, ply, obj)");
}
inline const char* mesh_format_extension(mesh_format f) {
    switch (f) {
        case mesh_format::stl: return ".stl";
        case mesh_format::ply: return ".ply";
        case mesh_format::obj: return ".obj";
    }
    return "";
}

namespace detail {

/// Collects a file's bytes and publishes them atomically (io/atomic_file.hpp).
class mesh_file_bytes {
public:
    explicit mesh_file_bytes(std::string path) : path_(std::move(path)) {}
    std::string& bytes() noexcept { return buf_; }
    void append(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
    template <class T>
    void put(T x) {
        static_assert(std::is_arithmetic_v<T>, "put: arithmetic types only");
        append(&x, sizeof(T));  // little-endian hosts only (checked in commit)
    }
    void commit() {
        const std::uint16_t one = 1;
        unsigned char b0;
        std::memcpy(&b0, &one, 1);
        if (b0 != 1) throw error(errc::unsupported, "mesh: writing on big-endian hosts is not supported", path_);
        write_file_atomic(path_, buf_.data(), buf_.size());
    }

private:
    std::string path_;
    std::string buf_;
};

inline void check_mesh_indices(const triangle_mesh& m, const std::string& path) {
    for (const auto& t : m.triangles)
        for (auto i : t)
            if (i >= m.vertices.size()) throw error(errc::invalid_argument, "mesh: triangle index out of range", path);
    if (!m.normals.empty() && m.normals.size() != m.vertices.size())
        throw error(errc::invalid_argument, "mesh: normals and vertices differ in number", path);
}

inline std::string obj_number(double x) {
    char b[40];
    std::snprintf(b, sizeof b, "%.9g", x);
    return b;
}

}  // namespace detail

/// Binary STL of one mesh; facet normals are the unit right-hand normals of the triangles (outward).
inline void write_stl(const std::string& path, const triangle_mesh& m) {
    detail::check_mesh_indices(m, path);
    if (m.triangles.size() > 0xFFFFFFFFu) throw error(errc::size_limit, "stl: too many triangles", path);
    detail::mesh_file_bytes f(path);
    f.bytes().reserve(84 + 50 * m.triangles.size());
    char header[80] = {};
    const std::string h = "ctspine mesh " + (m.name.empty() ? "label " + std::to_string(m.label) : m.name) + ", RAS mm";
    std::memcpy(header, h.data(), std::min<std::size_t>(h.size(), 79));
    if (std::strncmp(header, "solid", 5) == 0) header[0] = 'S';  // a binary STL must not start with "solid"
    f.append(header, 80);
    f.put(static_cast<std::uint32_t>(m.triangles.size()));
    for (const auto& t : m.triangles) {
        const auto& a = m.vertices[t[0]];
        auto n = detail::mcross(detail::msub(m.vertices[t[1]], a), detail::msub(m.vertices[t[2]], a));
        const double l = detail::mnorm(n);
        for (std::size_t k = 0; k < 3; ++k) f.put(static_cast<float>(l > 0 ? n[k] / l : 0.0));
        for (auto i : t)
            for (std::size_t k = 0; k < 3; ++k) f.put(static_cast<float>(m.vertices[i][k]));
        f.put(std::uint16_t(0));
    }
    f.commit();
}

/// Binary PLY holding one or several meshes (with a per-face `label` property when several).
inline void write_ply(const std::string& path, const std::vector<triangle_mesh>& ms) {
    std::size_t nv = 0, nt = 0;
    bool normals = true;
    for (const auto& m : ms) {
        detail::check_mesh_indices(m, path);
        nv += m.vertices.size();
        nt += m.triangles.size();
        normals = normals && m.normals.size() == m.vertices.size();
    }
    if (nv > 0x7FFFFFFFu) throw error(errc::size_limit, "ply: too many vertices", path);
    const bool labels = ms.size() > 1;
    detail::mesh_file_bytes f(path);
    std::string h = "ply\nformat binary_little_endian 1.0\ncomment ctspine surface mesh, world RAS+ mm\n";
    for (const auto& m : ms)
        h += "comment object " + std::to_string(m.label) + " " + (m.name.empty() ? "label_" + std::to_string(m.label) : m.name) + "\n";
    h += "element vertex " + std::to_string(nv) + "\nproperty float x\nproperty float y\nproperty float z\n";
    if (normals) h += "property float nx\nproperty float ny\nproperty float nz\n";
    h += "element face " + std::to_string(nt) + "\nproperty list uchar int vertex_indices\n";
    if (labels) h += "property int label\n";
    h += "end_header\n";
    f.bytes() = h;
    for (const auto& m : ms)
        for (std::size_t i = 0; i < m.vertices.size(); ++i) {
            for (std::size_t k = 0; k < 3; ++k) f.put(static_cast<float>(m.vertices[i][k]));
            if (normals)
                for (std::size_t k = 0; k < 3; ++k) f.put(m.normals[i][k]);
        }
    std::size_t base = 0;
    for (const auto& m : ms) {
        for (const auto& t : m.triangles) {
            f.put(std::uint8_t(3));
            for (auto i : t) f.put(static_cast<std::int32_t>(base + i));
            if (labels) f.put(static_cast<std::int32_t>(m.label));
        }
        base += m.vertices.size();
    }
    f.commit();
}

/// Wavefront OBJ holding one or several meshes, one "o" object each.
inline void write_obj(const std::string& path, const std::vector<triangle_mesh>& ms) {
    detail::mesh_file_bytes f(path);
    std::string& s = f.bytes();
    s = "# ctspine surface mesh, world RAS+ mm, triangles counter-clockwise seen from outside\n";
    std::size_t base = 1;
    for (const auto& m : ms) {
        detail::check_mesh_indices(m, path);
        s += "o " + (m.name.empty() ? "label_" + std::to_string(m.label) : m.name) + "\n";
        for (const auto& v : m.vertices) s += "v " + detail::obj_number(v[0]) + " " + detail::obj_number(v[1]) + " " + detail::obj_number(v[2]) + "\n";
        const bool normals = m.normals.size() == m.vertices.size() && !m.vertices.empty();
        for (const auto& n : m.normals) s += "vn " + detail::obj_number(n[0]) + " " + detail::obj_number(n[1]) + " " + detail::obj_number(n[2]) + "\n";
        for (const auto& t : m.triangles) {
            s += "f";
            for (auto i : t) {
                const std::string k = std::to_string(base + i);
                s += " " + k + (normals ? "//" + k : std::string());
            }
            s += "\n";
        }
        base += m.vertices.size();
    }
    f.commit();
}

/// Write one mesh in the given format.
inline void write_mesh(const std::string& path, const triangle_mesh& m, mesh_format fmt) {
    switch (fmt) {
        case mesh_format::stl: write_stl(path, m); return;
        case mesh_format::ply: write_ply(path, {m}); return;
        case mesh_format::obj: write_obj(path, {m}); return;
    }
}

/// The file stem of a mesh: its name, or "label_<value>" when it has none.
inline std::string mesh_file_stem(const triangle_mesh& m) {
    return m.name.empty() ? "label_" + std::to_string(m.label) : m.name;
}

/// Name meshes by the vertebra their label denotes in `scheme` (e.g. "L1"); other labels get "label_<value>".
inline void name_vertebra_meshes(std::vector<triangle_mesh>& ms, label_scheme scheme) {
    for (auto& m : ms) {
        const auto v = vertebra_of(scheme, m.label);
        m.name = v ? vertebra_name(*v) : "label_" + std::to_string(m.label);
    }
}

/// One file per mesh in folder `dir` (created if missing), named <stem><ext>; returns the paths written.
inline std::vector<std::string> write_meshes(const std::string& dir, const std::vector<triangle_mesh>& ms, mesh_format fmt) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw error(errc::io, "mesh: cannot create folder (" + ec.message() + ")", dir);
    std::vector<std::string> paths;
    for (const auto& m : ms) {
        const std::string p = (std::filesystem::path(dir) / (mesh_file_stem(m) + mesh_format_extension(fmt))).string();
        write_mesh(p, m, fmt);
        paths.push_back(p);
    }
    return paths;
}

}  // namespace ctspine
