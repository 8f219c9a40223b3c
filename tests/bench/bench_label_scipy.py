#!/usr/bin/python3
"""Anchor for bench_label: scipy.ndimage.label, 26-connectivity, median of 3, on the raw uint8 volumes given.
Multi-label: scipy has no multi-label mode, so it labels each value separately (as users do)."""
import sys
import time

import numpy as np
from scipy import ndimage

shape = (400, 512, 512)
ml = np.fromfile(sys.argv[1], np.uint8).reshape(shape)
binary = np.fromfile(sys.argv[2], np.uint8).reshape(shape)
s = ndimage.generate_binary_structure(3, 3)


def med(f, n=3):
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


print("scipy_bin:", med(lambda: ndimage.label(binary, structure=s)))
print("scipy_ml:", med(lambda: [ndimage.label(ml == v, structure=s) for v in range(1, 26)], 1))
