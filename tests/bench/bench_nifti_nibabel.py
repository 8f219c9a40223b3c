"""nibabel anchor for ctspine_bench_nifti: times loading the voxel array of the given .nii.gz and .nii files.

Usage: /usr/bin/python3 bench_nifti_nibabel.py FILE.nii.gz FILE.nii REPS
Prints "nibabel_gz: <median s>", "nibabel_nii: <median s>" and the voxel sums ("nibabel_gz_sum: <int>", ...) so the
benchmark can check nibabel read the same data. mmap=False so the data are really read (nibabel would otherwise
memory-map the .nii lazily); np.asanyarray(img.dataobj) returns the stored int16 without scaling.
"""
import sys
import time

import nibabel as nib
import numpy as np


def med(path, reps):
    ts = []
    total = None
    for _ in range(reps):
        t0 = time.perf_counter()
        a = np.asanyarray(nib.load(path, mmap=False).dataobj)
        ts.append(time.perf_counter() - t0)
        total = int(a.sum(dtype=np.int64))
        del a
    ts.sort()
    return ts[len(ts) // 2], total


gz, nii, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
t, s = med(gz, reps)
print(f"nibabel_gz: {t:.6f}", flush=True)
print(f"nibabel_gz_sum: {s}", flush=True)
t, s = med(nii, reps)
print(f"nibabel_nii: {t:.6f}", flush=True)
print(f"nibabel_nii_sum: {s}", flush=True)
