#!/usr/bin/python3
"""Resampling fixtures from skimage/scipy (Debian python3-skimage, python3-scipy): the oracle for test_resample.

Run: /usr/bin/python3 tests/reference/make_imgproc_fixtures.py
cases.txt: name s0 s1 s2 t0 t1 t2 kind params...  (shapes in numpy order (z, y, x); data raw float32 C order, x fastest)
kinds:
  resize ORDER                  skimage.transform.resize(img, t, order, mode='edge', anti_aliasing=False) — nnU-Net's call
  nnunet ORDER ORDER_Z sp0 sp1 sp2 nsp0 nsp1 nsp2   nnU-Net resample_data_or_seg_to_shape (is_seg False), written here
                                                     from nnunet-spec.md §4.2.5 with skimage resize + map_coordinates
  nearest                       labels: output index floor((k + 0.5)·in/out), the grid-mode nearest rule
"""
import os

import numpy as np
from scipy.ndimage import map_coordinates
from skimage.transform import resize

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "imgproc")


def nnunet_resample(data, new_shape, spacing, new_spacing, order, order_z):
    """One channel of nnunetv2 resample_data_or_seg_to_shape(is_seg=False, force_separate_z=None)."""
    def ratio(s):
        return max(s) / min(s) > 3

    def lowres(s):
        return np.where(max(s) / np.array(s) == 1)[0]

    if ratio(spacing):
        axis = lowres(spacing)
    elif ratio(new_spacing):
        axis = lowres(new_spacing)
    else:
        axis = None
    sep = axis is not None and len(axis) == 1
    data = data.astype(float)
    if tuple(data.shape) == tuple(new_shape):
        return data
    if not sep:
        return resize(data, new_shape, order, mode="edge", anti_aliasing=False)
    a = int(axis[0])
    shp2 = [s for i, s in enumerate(new_shape) if i != a]
    here = []
    for sl in range(data.shape[a]):
        here.append(resize(np.take(data, sl, axis=a), shp2, order, mode="edge", anti_aliasing=False))
    here = np.stack(here, axis=a)
    if data.shape[a] == new_shape[a]:
        return here
    scales = [here.shape[i] / new_shape[i] for i in range(3)]
    grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]].astype(float)
    coords = np.array([scales[i] * (grid[i] + 0.5) - 0.5 for i in range(3)])
    return map_coordinates(here, coords, order=order_z, mode="nearest")


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rng = np.random.RandomState(7)
    lines = []

    def save(name, arr, out, header):
        arr.astype("<f4").tofile(os.path.join(OUT, name + ".in"))
        out.astype("<f4").tofile(os.path.join(OUT, name + ".out"))
        lines.append(f"{name} {' '.join(map(str, arr.shape))} {' '.join(map(str, out.shape))} {header}")

    def smooth(shape):
        z, y, x = np.meshgrid(*[np.linspace(0, 1, s) for s in shape], indexing="ij")
        return (1000 * np.sin(3 * x + 1) * np.cos(2 * y) + 300 * z + 50 * rng.randn(*shape)).astype(np.float32)

    k = 0
    for shape, target in [((11, 13, 15), (7, 20, 9)), ((9, 8, 10), (17, 15, 21)), ((5, 6, 7), (5, 6, 7)), ((12, 1, 9), (6, 3, 9)),
                          ((3, 17, 16), (4, 9, 30))]:
        img = smooth(shape)
        for order in (0, 1, 3):
            out = resize(img.astype(float), target, order, mode="edge", anti_aliasing=False)
            save(f"resize{k}", img, out, f"resize {order}")
            k += 1
    # nnU-Net paths: isotropic (no separate z), anisotropic current spacing (separate z, axis 0), anisotropic target
    cases = [((10, 12, 11), (0.8, 0.8, 1.0), (1.0, 1.0, 1.0)),     # 3-D cubic
             ((6, 14, 13), (3.5, 0.9, 0.9), (1.5, 1.2, 1.2)),       # separate z along axis 0, z upsampled
             ((12, 9, 10), (1.0, 1.0, 1.0), (4.0, 0.7, 0.7)),       # separate z decided by the target spacing
             ((13, 11, 5), (0.7, 0.7, 3.0), (0.7, 1.0, 2.0)),       # separate along axis 2
             ((8, 9, 10), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0))]        # same shape: unchanged
    for order in (3, 1):
        for shape, sp, nsp in cases:
            img = smooth(shape)
            new_shape = [int(round(sp[i] / nsp[i] * shape[i])) for i in range(3)]
            out = nnunet_resample(img, new_shape, sp, nsp, order, 0)
            save(f"nnunet{k}", img, out, f"nnunet {order} 0 {' '.join(map(repr, sp))} {' '.join(map(repr, nsp))}")
            k += 1
    # label nearest: integer labels, output must be the grid-mode nearest pick
    lab = rng.randint(0, 5, size=(7, 9, 8)).astype(np.float32)
    for target in [(14, 5, 11), (3, 9, 16)]:
        idx = [np.minimum(np.floor((np.arange(t) + 0.5) * s / t).astype(int), s - 1) for s, t in zip(lab.shape, target)]
        out = lab[np.ix_(idx[0], idx[1], idx[2])]
        save(f"nearest{k}", lab, out, "nearest")
        k += 1
    # CTNormalization exactly as nnU-Net runs it on a float32 array (NumPy: scalars cast to float32), and percentiles
    ct = (rng.randn(4000) * 400 - 300).astype(np.float32)
    props = {"percentile_00_5": float(np.percentile(ct, 0.5)), "percentile_99_5": float(np.percentile(ct, 99.5)),
             "mean": float(ct.mean(dtype=np.float64)), "std": float(ct.std(dtype=np.float64))}
    img = ct.copy()
    np.clip(img, props["percentile_00_5"], props["percentile_99_5"], out=img)
    img -= props["mean"]
    img /= max(props["std"], 1e-8)
    ct.astype("<f4").tofile(os.path.join(OUT, "ctnorm.in"))
    img.astype("<f4").tofile(os.path.join(OUT, "ctnorm.out"))
    with open(os.path.join(OUT, "ctnorm.txt"), "w") as f:
        f.write(" ".join(repr(props[k]) for k in ("percentile_00_5", "percentile_99_5", "mean", "std")) + "\n")
        qs = [0, 0.5, 13.7, 50, 99.5, 100]
        f.write(" ".join(f"{q!r} {float(np.percentile(ct.astype(np.float64), q))!r}" for q in qs) + "\n")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(len(lines), "cases")


if __name__ == "__main__":
    main()
