#!/usr/bin/python3
"""Fixtures for tests/unit/test_mesh.cpp: label maps and what skimage's marching cubes makes of them.

For every case this writes (plus two_vertebrae.nii.gz, the vertebra-sized case as NIfTI, for the CLI tests) <name>.labels.gz (raw little-endian uint16 labels, x fastest, gzip) and appends one
block to cases.txt:

    case <name> <nx> <ny> <nz>
    affine <16 numbers, row-major ijk_to_ras>
    label <value> voxels <n> voxel_volume <mm3> sk_volume <mm3> sk_vertices <n> sum <sx sy sz> sumsq <qx qy qz>
    v <x y z>          (every skimage vertex in world mm, only for small cases)
    end

The oracle is skimage.measure.marching_cubes (Debian python3-skimage, Lewiner method) at level 0.5 on the label's
binary mask padded by one background voxel on every side; vertices are mapped to world with the affine after
removing the padding. skimage's triangles are not used (its face disambiguation differs from ours, its vertices do
not: on a 0/1 mask every vertex is the midpoint of an edge whose ends differ). sk_volume is the divergence-theorem
volume of skimage's mesh, computed here independently (|sum of det(a,b,c)|/6), for the volume comparison.

Run: /usr/bin/python3 tests/reference/make_mesh_fixtures.py   (writes tests/data/mesh/)
"""
import gzip
import os

import numpy as np
from skimage import measure

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mesh")


def rot(axis, deg):
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def affine(lin, origin):
    a = np.eye(4)
    a[:3, :3] = lin
    a[:3, 3] = origin
    return a


IDENT = np.eye(4)
ANISO = affine(np.diag([0.8, 0.9, 1.5]), [-10.0, 20.0, 5.0])
FLIP = affine(np.diag([-0.8, -0.9, 1.5]), [100.0, 50.0, -30.0])          # LPS storage (two flips: det > 0)
FLIP1 = affine(np.diag([-0.7, 1.1, 1.3]), [12.0, -3.0, 40.0])            # one flipped axis: det < 0
OBLIQUE_FLIP = affine(rot(2, 30) @ rot(0, 12) @ np.diag([1.2, -0.75, 2.0]), [3.0, -7.0, 11.0])  # det < 0, rotated


def mc_stats(mask, A):
    p = np.pad(mask.astype(np.uint8), 1)
    v, f, _, _ = measure.marching_cubes(p.astype(np.float64), 0.5, method="lewiner")
    v = v - 1.0
    w = v @ A[:3, :3].T + A[:3, 3]
    a, b, c = w[f[:, 0]], w[f[:, 1]], w[f[:, 2]]
    vol = abs(np.einsum("ij,ij->i", a - w.mean(0), np.cross(b - w.mean(0), c - w.mean(0))).sum() / 6.0)
    u = np.unique(np.round(w, 9), axis=0)
    return u, vol


def write_case(fh, name, lab, A, list_vertices=True):
    lab = np.asarray(lab, dtype=np.uint16)
    nx, ny, nz = lab.shape
    with open(os.path.join(OUT, name + ".labels.gz"), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as g:
        g.write(lab.tobytes(order="F"))
    fh.write(f"case {name} {nx} {ny} {nz}\n")
    fh.write("affine " + " ".join(repr(float(x)) for x in A.reshape(-1)) + "\n")
    vox = abs(np.linalg.det(A[:3, :3]))
    for L in sorted(int(x) for x in np.unique(lab) if x != 0):
        m = lab == L
        u, vol = mc_stats(m, A)
        s, q = u.sum(0), (u * u).sum(0)
        fh.write(f"label {L} voxels {int(m.sum())} voxel_volume {m.sum() * vox!r} sk_volume {vol!r} sk_vertices {len(u)} "
                 f"sum {s[0]!r} {s[1]!r} {s[2]!r} sumsq {q[0]!r} {q[1]!r} {q[2]!r}\n")
        if list_vertices:
            for x in u:
                fh.write(f"v {x[0]!r} {x[1]!r} {x[2]!r}\n")
    fh.write("end\n")


def vertebra_like(shape, centre, scale):
    """A synthetic vertebra: elliptic body, a ring-shaped arch behind it, a spinous and two transverse processes
    (voxel-centre inequalities in mm, chosen so that no voxel centre lies on a boundary)."""
    x, y, z = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    X, Y, Z = (x - centre[0]) * scale[0], (y - centre[1]) * scale[1], (z - centre[2]) * scale[2]
    body = (X / 21.3) ** 2 + ((Y - 14.1) / 16.7) ** 2 + (Z / 12.9) ** 2 < 1
    r = np.hypot(X, Y + 11.3)
    arch = (r > 8.1) & (r < 13.7) & (np.abs(Z) < 6.3) & (Y < 4.2)
    spinous = (np.abs(X) < 2.9) & (Y < -20.1) & (Y > -41.3) & (np.abs(Z + 0.2 * (Y + 20)) < 5.1)
    transverse = (np.abs(X) > 9.2) & (np.abs(X) < 33.7) & (np.abs(Y + 9.7) < 3.3) & (np.abs(Z) < 3.9)
    return body | arch | spinous | transverse


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(18)
    with open(os.path.join(OUT, "cases.txt"), "w") as fh:
        one = np.zeros((1, 1, 1), np.uint16)
        one[0, 0, 0] = 1
        write_case(fh, "single_voxel_whole_volume", one, IDENT)
        s = np.zeros((3, 3, 3), np.uint16)
        s[1, 1, 1] = 7
        write_case(fh, "single_voxel", s, ANISO)
        e = np.zeros((4, 4, 3), np.uint16)
        e[1, 1, 1] = e[2, 2, 1] = 1
        write_case(fh, "edge_contact", e, IDENT)
        c = np.zeros((4, 4, 4), np.uint16)
        c[1, 1, 1] = c[2, 2, 2] = 1
        write_case(fh, "vertex_contact", c, FLIP1)
        cb = np.zeros((5, 5, 5), np.uint16)
        i, j, k = np.indices(cb.shape)
        cb[(i + j + k) % 2 == 0] = 3
        write_case(fh, "checkerboard_border", cb, OBLIQUE_FLIP)
        full = np.full((5, 4, 3), 2, np.uint16)
        write_case(fh, "full_volume", full, FLIP)
        # a ring (tunnel) and a hollow box (cavity: the inner shell must face inward)
        ring = np.zeros((7, 7, 3), np.uint16)
        ring[1:6, 1:6, 1] = 1
        ring[3, 3, 1] = 0
        write_case(fh, "ring_tunnel", ring, ANISO)
        hollow = np.zeros((7, 7, 7), np.uint16)
        hollow[1:6, 1:6, 1:6] = 4
        hollow[2:5, 2:5, 2:5] = 0
        hollow[3, 3, 3] = 4  # an island inside the cavity
        write_case(fh, "hollow_box", hollow, FLIP1)
        write_case(fh, "random_binary", (rng.random((9, 8, 7)) < 0.5).astype(np.uint16), OBLIQUE_FLIP)
        write_case(fh, "random_multilabel", rng.integers(0, 4, size=(10, 9, 8)).astype(np.uint16), ANISO)
        # vertebra-sized: two synthetic vertebrae touching a third label, 0.8 × 0.8 × 1.0 mm, flipped x (LAS-like)
        shape = (96, 80, 72)
        v1 = vertebra_like(shape, (47.6, 52.3, 17.4), (0.8, 0.8, 1.0))
        v2 = vertebra_like(shape, (48.2, 51.7, 50.6), (0.8, 0.8, 1.0))
        lab = np.zeros(shape, np.uint16)
        lab[v1] = 20
        lab[v2] = 21
        va = affine(np.diag([-0.8, 0.8, 1.0]), [40.0, -60.0, 200.0])
        write_case(fh, "two_vertebrae", lab, va, list_vertices=False)
    # the same label map as NIfTI for the command-line tests (VerSe numbering: 20 = L1, 21 = L2)
    import nibabel as nib
    img = nib.Nifti1Image(lab.astype(np.uint8), va)
    img.set_qform(va, code=1)
    img.set_sform(va, code=1)
    nib.save(img, os.path.join(OUT, "two_vertebrae.nii.gz"))


if __name__ == "__main__":
    main()
