#!/usr/bin/python3
"""Connected-component fixtures from scipy.ndimage.label (Debian python3-scipy), the oracle for test_components.

Run: /usr/bin/python3 tests/reference/make_label_fixtures.py
Writes tests/data/label/cases.txt and, per case, <name>.in (uint8, x fastest) and <name>_c<conn>_b<binary>.out.gz (gzipped uint32 LE scipy labels).
cases.txt line: name nx ny nz connectivity binary count
Multi-label reference: each label value is labelled separately with scipy, then all components are renumbered in
raster order of first appearance (x fastest, as scipy numbers a single label).
"""
import gzip
import os

import numpy as np
from scipy import ndimage

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "label")
STRUCT = {6: ndimage.generate_binary_structure(3, 1), 18: ndimage.generate_binary_structure(3, 2),
          26: ndimage.generate_binary_structure(3, 3)}


def reference(arr, conn, binary):
    if binary:
        lab, n = ndimage.label(arr != 0, structure=STRUCT[conn])
        return lab.astype(np.uint32), n
    glob = np.zeros(arr.shape, np.int64)
    nxt = 0
    for v in np.unique(arr):
        if v == 0:
            continue
        lab, n = ndimage.label(arr == v, structure=STRUCT[conn])
        glob[lab > 0] = lab[lab > 0] + nxt
        nxt += n
    flat = glob.ravel()
    ids, first = np.unique(flat, return_index=True)
    order = np.argsort(first[ids > 0])
    remap = np.zeros(nxt + 1, np.uint32)
    remap[ids[ids > 0][order]] = np.arange(1, len(order) + 1, dtype=np.uint32)
    return remap[glob].astype(np.uint32), len(order)


def main():
    if os.path.isdir(OUT):
        for f in os.listdir(OUT):
            if f not in ("vertebrae_expected.txt", "real_components.txt"):
                os.remove(os.path.join(OUT, f))
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(42)
    cases = []
    shapes = [(13, 17, 11), (1, 9, 7), (31, 5, 3), (8, 8, 8), (40, 23, 1)]
    densities = [0.15, 0.35, 0.6]
    k = 0
    for shape in shapes:
        for dens in densities:
            for labels in (1, 3):
                arr = (rng.rand(*shape) < dens).astype(np.uint8)
                if labels > 1:
                    arr *= rng.randint(1, labels + 1, size=shape).astype(np.uint8)
                cases.append((f"rand{k}", arr))
                k += 1
    # thin diagonal structures that separate 6, 18 and 26 connectivity
    d = np.zeros((9, 9, 9), np.uint8)
    for i in range(9):
        d[i, i, i] = 1  # corner-connected line: 26 only
    for i in range(8):
        d[i, 8 - i, 0] = 2  # edge-connected in one plane: 18 and 26
    d[4, 0:9, 8] = 3  # face-connected line
    cases.append(("diagonals", d))
    # a realistic shape: two touching "vertebrae" with different labels and a speck
    z, y, x = np.mgrid[0:20, 0:16, 0:14]
    v = np.zeros((20, 16, 14), np.uint8)
    v[((z - 5) ** 2 + (y - 8) ** 2 + (x - 7) ** 2) < 20] = 21
    v[((z - 13) ** 2 + (y - 8) ** 2 + (x - 7) ** 2) < 20] = 22
    v[18, 1, 1] = 22
    cases.append(("vertebrae", v))
    lines = []
    for name, arr in cases:
        arr.tofile(os.path.join(OUT, name + ".in"))
        for conn in (6, 18, 26):
            for binary in (0, 1):
                lab, n = reference(arr, conn, binary)
                tag = f"{name}_c{conn}_b{binary}"
                with gzip.GzipFile(os.path.join(OUT, tag + ".out.gz"), "wb", 9, mtime=0) as f:  # mtime 0: reproducible bytes
                    f.write(lab.astype("<u4").tobytes())
                nz, ny, nx = arr.shape
                lines.append(f"{name} {nx} {ny} {nz} {conn} {binary} {n}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(len(lines), "cases")
    vertebra_reference()
    real_components_reference()


def vertebra_reference():
    """Per-label voxel count, centroid (voxel and world mm) and mean HU of the shared spine label maps (numpy)."""
    import nibabel as nib
    shared = os.path.normpath(os.path.join(OUT, "..", "..", "..", "..", "shared", "data", "spine"))
    pairs = [("sub-ct_seg-vert_label-22_msk.nii.gz", "sub-ct_label-22_ct.nii.gz"), ("example_seg.nii.gz", "example_ct_sm.nii.gz")]
    lines = []
    for seg_name, ct_name in pairs:
        if not os.path.exists(os.path.join(shared, seg_name)):
            print("shared data absent: vertebra reference not generated")
            return
        seg_img = nib.load(os.path.join(shared, seg_name))
        seg = np.asanyarray(seg_img.dataobj).astype(np.int64)
        ct = nib.load(os.path.join(shared, ct_name)).get_fdata()
        for v in np.unique(seg):
            if v == 0:
                continue
            idx = np.argwhere(seg == v)  # (i, j, k)
            c = idx.mean(axis=0)
            mm = seg_img.affine @ np.append(c, 1.0)
            hu = ct[seg == v].mean()
            lines.append(f"{seg_name} {int(v)} {len(idx)} {c[0]!r} {c[1]!r} {c[2]!r} {mm[0]!r} {mm[1]!r} {mm[2]!r} {hu!r} "
                         f"{' '.join(str(int(x)) for x in idx.min(axis=0))} {' '.join(str(int(x)) for x in idx.max(axis=0))}")
    with open(os.path.join(OUT, "vertebrae_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def real_components_reference():
    """scipy components of the shared spine label maps: per map, connectivity and mode, the count, then the
    (label value, voxel count) of every component in raster order of first appearance (x fastest)."""
    import nibabel as nib
    shared = os.path.normpath(os.path.join(OUT, "..", "..", "..", "..", "shared", "data", "spine"))
    lines = []
    for seg_name in ("sub-ct_seg-vert_label-22_msk.nii.gz", "example_seg.nii.gz", "sub-ct_seg-subreg_label-22_msk.nii.gz"):
        path = os.path.join(shared, seg_name)
        if not os.path.exists(path):
            print("shared data absent: real component reference not generated")
            return
        seg = np.asanyarray(nib.load(path).dataobj).astype(np.int64)
        arr = np.ascontiguousarray(seg.transpose(2, 1, 0))  # (k, j, i): last axis = i, as our x-fastest raster order
        for conn, binary in ((26, 0), (6, 0), (18, 1), (6, 1)):
            lab, n = reference(arr, conn, binary)
            flat_lab, flat_val = lab.ravel(), arr.ravel()
            sizes = np.bincount(flat_lab, minlength=n + 1)[1:]
            values = np.zeros(n + 1, np.int64)
            values[flat_lab] = np.where(binary, (flat_val != 0).astype(np.int64), flat_val)
            pairs = " ".join(f"{int(values[c + 1])}:{int(sizes[c])}" for c in range(n))
            lines.append(f"{seg_name} {conn} {binary} {n} {pairs}")
    with open(os.path.join(OUT, "real_components.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
