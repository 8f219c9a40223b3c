#!/usr/bin/python3
"""Independent check of mesh files written by `ctspine mesh` (used by the CLI tests; numpy + nibabel only).

    check_mesh_files.py SEG.nii.gz DIR NAME=LABEL [NAME=LABEL ...] [--format stl|ply|obj] [--tol 0.02]

For each NAME=LABEL, reads DIR/NAME.<format> with its own parser (binary STL: 80-byte header, uint32 count, 50 bytes
per triangle; binary little-endian PLY; OBJ), merges STL corners by identical float32 coordinates, and checks:
every undirected edge is used by exactly two triangles, in opposite directions (closed, consistently oriented); no
triangle repeats a vertex or has zero area; the divergence-theorem volume is positive (outward normals) and within
--tol of the label's voxel volume |det(affine[:3,:3])| x count from nibabel; STL facet normals agree with the
triangle winding. Also checks that no temporary file was left in DIR. Exits non-zero with a message on failure.
"""
import os
import struct
import sys

import nibabel as nib
import numpy as np


def read_stl(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack_from("<I", data, 80)
    if len(data) != 84 + 50 * n:
        raise SystemExit(f"{path}: size {len(data)} != 84 + 50*{n}")
    rec = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]), count=n, offset=84)
    corners = rec["v"].reshape(-1, 3)
    verts, idx = np.unique(corners, axis=0, return_inverse=True)
    return verts.astype(np.float64), idx.reshape(-1, 3), rec["n"].astype(np.float64)


def read_ply(path):
    data = open(path, "rb").read()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode().splitlines()
    nv = nf = 0
    vprops = []
    in_vertex = False
    for line in header:
        w = line.split()
        if w[:2] == ["element", "vertex"]:
            nv, in_vertex = int(w[2]), True
        elif w[:2] == ["element", "face"]:
            nf, in_vertex = int(w[2]), False
        elif w[0] == "property" and in_vertex:
            vprops.append(w[2])
    if "format binary_little_endian 1.0" not in header:
        raise SystemExit(f"{path}: not binary little-endian PLY")
    v = np.frombuffer(data, "<f4", count=nv * len(vprops), offset=end).reshape(nv, len(vprops))[:, :3].astype(np.float64)
    off = end + 4 * nv * len(vprops)
    labelled = "property int label" in header
    rec = np.dtype([("k", "u1"), ("i", "<i4", 3)] + ([("l", "<i4")] if labelled else []))
    f = np.frombuffer(data, rec, count=nf, offset=off)
    if (f["k"] != 3).any():
        raise SystemExit(f"{path}: non-triangle face")
    return v, f["i"].astype(np.int64), None


def read_obj(path):
    v, f = [], []
    for line in open(path):
        w = line.split()
        if not w:
            continue
        if w[0] == "v":
            v.append([float(x) for x in w[1:4]])
        elif w[0] == "f":
            f.append([int(x.split("/")[0]) - 1 for x in w[1:4]])
    return np.array(v), np.array(f, dtype=np.int64), None


def check(path, fmt, voxel_volume, tol):
    v, f, normals = {"stl": read_stl, "ply": read_ply, "obj": read_obj}[fmt](path)
    if len(f) == 0:
        raise SystemExit(f"{path}: no triangles")
    if ((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])).any():
        raise SystemExit(f"{path}: triangle with a repeated vertex")
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cr = np.cross(b - a, c - a)
    area = np.linalg.norm(cr, axis=1)
    if (area <= 1e-9 * area.max()).any():
        raise SystemExit(f"{path}: zero-area triangle")
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    und = np.sort(directed, axis=1)
    keys, counts = np.unique(und, axis=0, return_counts=True)
    if (counts != 2).any():
        raise SystemExit(f"{path}: {int((counts == 1).sum())} boundary and {int((counts > 2).sum())} non-manifold edges")
    d_keys, d_counts = np.unique(directed, axis=0, return_counts=True)
    if (d_counts != 1).any():
        raise SystemExit(f"{path}: {int((d_counts > 1).sum())} edges traversed twice in the same direction (inconsistent orientation)")
    o = v.mean(0)
    vol = np.einsum("ij,ij->i", a - o, np.cross(b - o, c - o)).sum() / 6.0
    if normals is not None:
        agree = np.einsum("ij,ij->i", normals, cr / area[:, None])
        if (agree < 0.99).any():
            raise SystemExit(f"{path}: STL facet normals disagree with the winding")
    if not (vol > 0):
        raise SystemExit(f"{path}: volume {vol} <= 0 (normals point inward)")
    if abs(vol / voxel_volume - 1) > tol:
        raise SystemExit(f"{path}: volume {vol:.3f} mm3 vs voxel volume {voxel_volume:.3f} mm3 (tolerance {tol})")
    print(f"{os.path.basename(path)}: {len(f)} triangles, {len(v)} vertices, closed, oriented, volume {vol:.1f} mm3 "
          f"= {100 * (vol / voxel_volume - 1):+.2f}% of the voxel volume")


def main(argv):
    fmt, tol, pairs = "stl", 0.02, []
    args = iter(argv[3:])
    for a in args:
        if a == "--format":
            fmt = next(args)
        elif a == "--tol":
            tol = float(next(args))
        else:
            pairs.append(a.split("="))
    img = nib.load(argv[1])
    lab = np.asarray(img.dataobj)
    vox = abs(np.linalg.det(img.affine[:3, :3]))
    for name, value in pairs:
        check(os.path.join(argv[2], name + "." + fmt), fmt, (lab == int(value)).sum() * vox, tol)
    left = [n for n in os.listdir(argv[2]) if ".tmp-" in n]
    if left:
        raise SystemExit(f"temporary files left: {left}")


if __name__ == "__main__":
    main(sys.argv)
