#!/usr/bin/python3
"""Generate NIfTI test fixtures and their nibabel-read expectations (the oracle for tests/unit/test_nifti*.cpp).

Run with Debian's python3-nibabel:  /usr/bin/python3 tests/reference/make_nifti_fixtures.py
Writes tests/data/nifti/gen/* (tiny files written by nibabel), tests/data/nifti/expected.txt (what nibabel reads
from each of them and from every file of ../shared/data/nifti), and tests/data/nifti/bad/* (malformed files made
from valid ones, each of which must be rejected with ctspine::error).

expected.txt line format (whitespace separated):
  file <relpath> <ok|error>
  then for ok files:  dims d0 d1 d2 frames / dtype code / codes qform sform / affine a00..a33 (16) /
                      slope s inter i / stats n min max sum sumsq (of frame 0, scaled as get_fdata) /
                      samples k  (i j k value)*k
"""
import gzip
import os
import shutil
import sys

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "data", "nifti")
GEN = os.path.join(OUT, "gen")
BAD = os.path.join(OUT, "bad")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "..", "shared", "data", "nifti"))

DTYPES = ["u1", "i1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"]


def affine():
    # An oblique affine (rotation about z and x) with a translation: exercises qform quaternion and sform.
    t, u = np.deg2rad(20), np.deg2rad(-10)
    rz = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(u), -np.sin(u)], [0, np.sin(u), np.cos(u)]])
    a = np.eye(4)
    a[:3, :3] = rz @ rx @ np.diag([0.8, 0.9, 1.5])
    a[:3, 3] = [-12.5, 30.25, 7.0]
    return a


def make(cls, arr, order="<", qcode=1, scode=2):
    """An image of class cls holding arr, stored with byte order `order`, qform/sform from affine()."""
    hdr = cls.header_class()
    hdr.set_data_dtype(arr.dtype)
    if order != nib.volumeutils.native_code:
        hdr = hdr.as_byteswapped(order)
    img = cls(arr, affine(), header=hdr)
    img.header.set_qform(affine(), code=qcode)
    img.header.set_sform(affine(), code=scode)
    return img


def data(dt, shape=(5, 4, 3)):
    rng = np.random.RandomState(DTYPES.index(dt))
    info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
    if info is not None:
        lo, hi = max(info.min, -2**40), min(info.max, 2**40)
        arr = rng.randint(0, 200, size=shape).astype(dt)
        arr.flat[0] = lo
        arr.flat[1] = hi
    else:
        arr = (rng.randn(*shape) * 1000).astype(dt)
    return arr


def write_fixtures():
    if os.path.isdir(GEN):
        shutil.rmtree(GEN)
    os.makedirs(GEN)
    made = []
    for dt in DTYPES:
        for order in "<>":
            name = f"{dt}_{'le' if order == '<' else 'be'}.nii"
            make(nib.Nifti1Image, data(dt), order).to_filename(os.path.join(GEN, name))
            made.append(name)
    # scaling: int16 with slope/intercept, both byte orders, and slope 0 (= no scaling)
    for order in "<>":
        img = make(nib.Nifti1Image, data("i2"), order)
        img.header["scl_slope"] = 0.5
        img.header["scl_inter"] = -1024
        name = f"i2_scaled_{'le' if order == '<' else 'be'}.nii"
        img.to_filename(os.path.join(GEN, name))
        made.append(name)
    img = make(nib.Nifti1Image, data("i2"))
    img.header["scl_slope"] = 0
    img.header["scl_inter"] = 7
    nib.save(img, os.path.join(GEN, "i2_slope0.nii"))
    made.append("i2_slope0.nii")
    # file forms: .nii.gz, .hdr/.img, .hdr.gz/.img.gz; NIfTI-2 single and pair
    for name, cls in [("f4_gz.nii.gz", nib.Nifti1Image), ("f4_pair.hdr", nib.Nifti1Pair), ("f4_pairgz.hdr.gz", nib.Nifti1Pair),
                      ("f4_n2.nii", nib.Nifti2Image), ("i2_n2.nii.gz", nib.Nifti2Image), ("u2_n2pair.hdr", nib.Nifti2Pair)]:
        img = make(cls, data(name[:2]), "<", 1, 1)
        nib.save(img, os.path.join(GEN, name))
        made.append(name)
    # qform only, sform only, neither, 4-D
    for name, q, s in [("qform_only.nii", 1, 0), ("sform_only.nii", 0, 4), ("no_form.nii", 0, 0)]:
        nib.save(make(nib.Nifti1Image, data("f4"), "<", q, s), os.path.join(GEN, name))
        made.append(name)
    arr4 = np.stack([data("i2"), data("i2") * 2 + 1, data("i2") - 3], axis=-1)
    nib.save(make(nib.Nifti1Image, arr4), os.path.join(GEN, "i2_4d.nii.gz"))
    made.append("i2_4d.nii.gz")
    return made


def describe(path, rel, out, frame=0, img=None):
    try:
        if img is None:
            img = nib.load(path)
        if isinstance(img, nib.Cifti2Image):
            # CIFTI-2 is a valid NIfTI-2 container: compare as plain NIfTI-2 (header and voxel order of the file)
            nh = img.nifti_header
            arr = np.asanyarray(img.dataobj).reshape(nh.get_data_shape(), order="F")
            img = nib.Nifti2Image(arr, nh.get_best_affine(), header=nh)
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti1Pair, nib.Nifti2Image, nib.Nifti2Pair)):
            raise ValueError("not NIfTI")
        if img.get_data_dtype().kind == "c":
            raise ValueError("complex")
        arr = np.asanyarray(img.dataobj)
    except Exception:
        out.append(f"file {rel} error")
        return
    h = img.header
    shape = list(img.shape) + [1, 1, 1]
    frames = int(np.prod(img.shape[3:])) if len(img.shape) > 3 else 1
    fdata = img.get_fdata(dtype=np.float64)
    if fdata.ndim > 3:
        fdata = fdata.reshape(fdata.shape[:3] + (-1,), order="F")[..., frame]
    elif fdata.ndim < 3:
        fdata = fdata.reshape(tuple(shape[:3]), order="F")
    slope, inter = h.get_slope_inter()
    lines = [f"file {rel} ok",
             f"dims {shape[0]} {shape[1]} {shape[2]} {frames}",
             f"dtype {int(h['datatype'])}",
             f"codes {int(h['qform_code'])} {int(h['sform_code'])}",
             "affine " + " ".join(repr(float(x)) for x in img.affine.ravel()),
             f"slope {repr(float(slope)) if slope is not None else 'none'} inter {repr(float(inter)) if inter is not None else 'none'}",
             f"stats {fdata.size} {repr(float(np.nanmin(fdata)))} {repr(float(np.nanmax(fdata)))} "
             f"{repr(float(np.nansum(fdata)))} {repr(float(np.nansum(fdata * fdata)))}"]
    rng = np.random.RandomState(0)
    k = min(24, fdata.size)
    idx = [np.unravel_index(rng.randint(fdata.size), fdata.shape) for _ in range(k)]
    lines.append(f"samples {k} " + " ".join(f"{i} {j} {kk} {repr(float(fdata[i, j, kk]))}" for i, j, kk in idx))
    out.extend(lines)


def make_bad(made):
    """Malformed files: each must give ctspine::error, never a crash."""
    if os.path.isdir(BAD):
        shutil.rmtree(BAD)
    os.makedirs(BAD)
    src = open(os.path.join(GEN, "i2_le.nii"), "rb").read()
    bads = {}
    for cut in [0, 3, 4, 100, 347, 348, 351, 352, 353, len(src) - 1]:
        bads[f"trunc_{cut}.nii"] = src[:cut]
    def patch(off, fmt, val):
        b = bytearray(src)
        b[off:off + np.dtype(fmt).itemsize] = np.array([val], dtype=fmt).tobytes()
        return bytes(b)
    bads["dim0_0.nii"] = patch(40, "<i2", 0)
    bads["dim0_9.nii"] = patch(40, "<i2", 9)
    bads["dim1_neg.nii"] = patch(42, "<i2", -5)
    bads["dim1_zero.nii"] = patch(42, "<i2", 0)
    bads["dims_huge.nii"] = patch(42, "<i2", 32767)
    bads["datatype_bad.nii"] = patch(70, "<i2", 3)
    bads["datatype_complex.nii"] = patch(70, "<i2", 32)
    bads["vox_offset_small.nii"] = patch(108, "<f4", 12.0)
    bads["vox_offset_huge.nii"] = patch(108, "<f4", 1e12)
    bads["vox_offset_nan.nii"] = patch(108, "<f4", np.nan)
    bads["sizeof_hdr.nii"] = patch(0, "<i4", 349)
    bads["magic.nii"] = patch(344, "<i4", 0)
    bads["scl_inter_inf.nii"] = patch(116, "<f4", np.inf)[:112] + np.array([2.0], "<f4").tobytes() + np.array([np.inf], "<f4").tobytes() + src[120:]
    gz = gzip.compress(src, 6)
    bads["gz_trunc_half.nii.gz"] = gz[: len(gz) // 2]
    bads["gz_trunc_10.nii.gz"] = gz[:10]
    bads["gz_garbage.nii.gz"] = gz[:12] + bytes((x * 37 + 11) & 255 for x in range(len(gz) - 12))
    bads["gz_flip.nii.gz"] = gz[:20] + bytes([gz[20] ^ 0xFF]) + gz[21:]
    # a size lie inside a valid gzip: header claims 1000^3 voxels in a tiny compressed file
    lie = bytearray(src)
    lie[42:48] = np.array([1000, 1000, 1000], "<i2").tobytes()
    bads["gz_size_lie.nii.gz"] = gzip.compress(bytes(lie), 6)
    big = bytearray(src)
    big[42:48] = np.array([32767, 32767, 32767], "<i2").tobytes()
    bads["size_lie_big.nii"] = bytes(big)
    n2 = open(os.path.join(GEN, "f4_n2.nii"), "rb").read()
    b2 = bytearray(n2)
    b2[16:24] = np.array([3], "<i8").tobytes()
    b2[24:32] = np.array([2**40], "<i8").tobytes()
    bads["n2_dim_overflow.nii"] = bytes(b2)
    bads["n2_trunc_400.nii"] = n2[:400]
    bads["empty.nii"] = b""
    bads["text.nii"] = b"this is not a nifti file at all" * 20
    for name, content in bads.items():
        with open(os.path.join(BAD, name), "wb") as f:
            f.write(content)
    return sorted(bads)


def main():
    made = write_fixtures()
    out = []
    for name in made:
        describe(os.path.join(GEN, name), "gen/" + name, out)
    # every 3-D frame 1 of the 4-D file too
    describe(os.path.join(GEN, "i2_4d.nii.gz"), "gen/i2_4d.nii.gz#1", out, frame=1)
    if os.path.isdir(SHARED):
        for name in sorted(os.listdir(SHARED)):
            p = os.path.join(SHARED, name)
            if os.path.isdir(p):
                continue
            if name.endswith(".img") or name.endswith(".img.gz"):
                continue
            if name in ("nifti1.hdr", "nifti2.hdr"):  # header-only in shared/ (no .img): header checks only
                continue
            describe(p, "shared/" + name, out)
    else:
        print("warning: shared data not found; expectations for shared files not generated", file=sys.stderr)
    orient = os.path.join(SHARED, "orientations")
    if os.path.isdir(orient):
        for name in sorted(os.listdir(orient)):
            img = nib.load(os.path.join(orient, name))
            code = "".join(nib.aff2axcodes(img.affine))
            canon = nib.as_closest_canonical(img)
            out.append(f"orient {name} {code}")
            describe_canon = []
            describe(None, "shared/orientations/" + name, describe_canon, img=canon)
            out.extend(describe_canon[1:])
    bads = make_bad(made)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(OUT, "bad_files.txt"), "w") as f:
        f.write("\n".join(bads) + "\n")
    print(f"{len(made)} fixtures, {len(bads)} bad files, {sum(1 for l in out if l.startswith('file'))} expectations")


if __name__ == "__main__":
    main()
