#!/usr/bin/python3
"""Fixtures of the benchmark test (tests/cli_benchmark_check.sh): a prediction with a known, hand-derivable score.

colonog_pred_missing_L4.nii.gz = the bundled VerSe label map examples/data/sub-ct_seg-vert_label-22_msk.nii.gz
(L2 21, L3 22, L4 23; 73x47x73 at 1.5 mm) with L4 set to background, same grid and datatype. Scored against the
original: L2 and L3 Dice 1, HD95 0; L4 missed (Dice 0, no HD95). So its row of the benchmark table is
Dice (1 + 1 + 0)/3 = 0.6667 ± sqrt(2/9) = 0.4714, HD95 0.00 ± 0.00, 3 reference vertebrae, 1 missed, 0 extra,
identification 2/3 = 0.667.
Run: /usr/bin/python3 tests/reference/make_benchmark_fixtures.py   (from the repository root)
"""
import os

import nibabel as nib
import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
src = nib.load(os.path.join(root, "examples", "data", "sub-ct_seg-vert_label-22_msk.nii.gz"))
a = np.asarray(src.dataobj).copy()
assert sorted(np.unique(a).tolist()) == [0, 21, 22, 23]
a[a == 23] = 0
out = nib.Nifti1Image(a, src.affine, src.header)
out.set_data_dtype(src.get_data_dtype())
path = os.path.join(root, "tests", "data", "benchmark", "colonog_pred_missing_L4.nii.gz")
nib.save(out, path)
print(path, os.path.getsize(path), "bytes")
