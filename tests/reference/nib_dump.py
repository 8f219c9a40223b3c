#!/usr/bin/python3
"""Print what nibabel reads from NIfTI files (used by test_nifti's write round trip; Debian python3-nibabel).
Output per file, one line: shape d0 d1 d2 | dtype | qcode scode | 16 affine values | sum of get_fdata() | 16 qform
values | ndim | d3 | sum over the data of value * (index along axis 3 + 1) (frame order check of 4-D files)."""
import sys

import nibabel as nib
import numpy as np

for path in sys.argv[1:]:
    img = nib.load(path)
    d = img.get_fdata(dtype=np.float64)
    shape = list(img.shape) + [1, 1, 1]
    print(shape[0], shape[1], shape[2], int(img.header["datatype"]), int(img.header["qform_code"]), int(img.header["sform_code"]),
          " ".join(repr(float(x)) for x in img.affine.ravel()), repr(float(d.sum())),
          " ".join(repr(float(x)) for x in img.header.get_qform().ravel()), d.ndim, shape[3],
          repr(float((d * (np.arange(shape[3]) + 1).reshape((1, 1, 1, -1))).sum())) if d.ndim == 4 else "0")
