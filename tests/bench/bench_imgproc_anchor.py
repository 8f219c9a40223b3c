#!/usr/bin/python3
"""Anchors for bench_imgproc on the same raw int16 CT (400, 512, 512) at 1.0 x 0.8 x 0.8 mm (z, y, x):
scipy.ndimage.zoom order 1 and 3 (grid_mode=True, mode 'nearest' — the skimage/nnU-Net convention; scipy is
single-threaded) on float32, and torch.nn.functional.interpolate(trilinear, align_corners=False) with 1 and 2
threads. Every run allocates its output (the "fresh" policy). Prints "key: seconds" (median of REPS runs for torch;
scipy runs once: it takes seconds to tens of seconds).
Usage: bench_imgproc_anchor.py RAW [REPS] [skip_scipy3] [quick]"""
import sys
import time

import numpy as np
from scipy import ndimage

shape = (400, 512, 512)
sp = (1.0, 0.8, 0.8)
ct = np.fromfile(sys.argv[1], np.int16).reshape(shape).astype(np.float32)
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
skip3 = "skip_scipy3" in sys.argv[3:]
quick = "quick" in sys.argv[3:]


def med(f, n):
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


import torch

for iso in (1.0,) if quick else (1.0, 1.5):
    out = tuple(int(round(n * s / iso)) for n, s in zip(shape, sp))  # Python round: half to even, as nnU-Net
    tag = f"{iso:g}mm"
    x = torch.from_numpy(ct)[None, None]
    for th in (1, 2):
        torch.set_num_threads(th)
        print(f"torch_linear_{tag}_t{th}:", med(lambda: torch.nn.functional.interpolate(x, size=out, mode="trilinear", align_corners=False), reps),
              flush=True)
    zf = tuple(o / n for o, n in zip(out, shape))
    print(f"scipy1_{tag}:", med(lambda: ndimage.zoom(ct, zf, order=1, mode="nearest", grid_mode=True), 1), flush=True)
    if not skip3:
        print(f"scipy3_{tag}:", med(lambda: ndimage.zoom(ct, zf, order=3, mode="nearest", grid_mode=True), 1), flush=True)
