#!/usr/bin/python3
"""Resampling fixtures from skimage/scipy (Debian python3-skimage, python3-scipy): the oracle for test_resample.

Run: /usr/bin/python3 tests/reference/make_imgproc_fixtures.py
cases.txt: name s0 s1 s2 t0 t1 t2 kind params...  (shapes in numpy order (z, y, x); data raw float32 C order, x fastest)
kinds:
  resize ORDER                  skimage.transform.resize(img, t, order, mode='edge', anti_aliasing=False) — nnU-Net's call
  nnunet ORDER ORDER_Z sp0 sp1 sp2 nsp0 nsp1 nsp2   nnU-Net resample_data_or_seg_to_shape (is_seg False), written here
                                                     from docs/nnunet-numerics.md §4.2.5 with skimage resize + map_coordinates
  nearest                       labels: output index floor((k + 0.5)·in/out), the grid-mode nearest rule
  world linear|nearest|cubic A_in(3x4) A_ref(3x4)   world-space resampling onto a reference grid: scipy
                                map_coordinates (order 1 or 3 with its B-spline prefilter, mode 'nearest') at
                                inv(A_in)·A_ref·p, floor(c + 0.5) for nearest; -1 outside [-0.5, n - 0.5]
"""
import os

import numpy as np
from scipy.ndimage import map_coordinates, zoom
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


def real_ct_checks():
    """Compact checks on ../shared/data/spine (skipped when absent): per case the output shape, float64 sum and sum of
    squares, and 400 sampled voxels (numpy (z, y, x) indices). Axis order as nnU-Net sees the file: (z, y, x)."""
    root = os.path.join(os.path.dirname(OUT), "..", "..", "..", "shared", "data", "spine")
    ct_path, seg_path = os.path.join(root, "example_ct_sm.nii.gz"), os.path.join(root, "example_seg.nii.gz")
    if not os.path.exists(ct_path):
        print("shared data absent: no real-CT checks")
        return
    import nibabel as nib
    rng = np.random.RandomState(11)
    img = nib.load(ct_path)
    ct = np.asarray(img.get_fdata(), dtype=np.float32).transpose(2, 1, 0)
    sp = tuple(float(z) for z in img.header.get_zooms()[:3][::-1])
    lines = []

    def record(name, header, out):
        idx = [rng.randint(0, n, 400) for n in out.shape]
        lines.append(f"{name} {header} {' '.join(map(str, out.shape))} {float(out.sum())!r} {float((out ** 2).sum())!r}")
        lines.append(" ".join(f"{a} {b} {c} {float(out[a, b, c])!r}" for a, b, c in zip(*idx)))

    for order, nsp in ((3, (1.5, 1.5, 1.5)), (3, (4.0, 1.2, 1.2)), (1, (2.0, 2.5, 2.5))):
        new_shape = [int(round(sp[i] / nsp[i] * ct.shape[i])) for i in range(3)]
        out = nnunet_resample(ct, new_shape, sp, nsp, order, 0)
        record("nnunet", f"{order} 0 {' '.join(map(repr, sp))} {' '.join(map(repr, nsp))}", out)
    # label map: grid-mode nearest (scipy zoom order 0, grid_mode=True) to twice the resolution
    seg = np.asarray(nib.load(seg_path).dataobj).transpose(2, 1, 0)
    out = zoom(seg, 2.0, order=0, mode="nearest", grid_mode=True)
    record("labels", "2", out.astype(np.float64))
    with open(os.path.join(OUT, "realct.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


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
    # world-space resampling (resample_like): output voxel p samples the input at inv(A_in)·A_ref·p with
    # scipy map_coordinates — order 1 mode 'nearest' (edge clamping) inside the continuous index range
    # [-0.5, n-0.5] (ITK's rule), order 0 = floor(c + 0.5); outside → the fill value. Arrays here are (z, y, x).
    vol = smooth((7, 8, 9))
    a_in = np.array([[-0.8, 0, 0, 10], [0, -0.9, 0, 5], [0, 0, 1.5, -3], [0, 0, 0, 1]])
    c, s_ = np.cos(0.35), np.sin(0.35)
    a_ref = np.array([[0.7 * c, -0.7 * s_, 0.1, 4.2], [0.7 * s_, 0.7 * c, 0, -2.1], [0.05, 0, 1.1, -4.0], [0, 0, 0, 1]])
    ref_dims = (11, 10, 12)  # (x, y, z)
    ii, jj, kk = np.meshgrid(*[np.arange(d) for d in ref_dims], indexing="ij")
    pts = np.stack([ii.ravel(), jj.ravel(), kk.ravel(), np.ones(ii.size)])
    cc = (np.linalg.inv(a_in) @ a_ref @ pts)[:3]               # continuous (i, j, k) in the input
    n_in = np.array([9, 8, 7])[:, None]
    inside = np.all((cc >= -0.5) & (cc <= n_in - 0.5), axis=0)
    for order, kind in ((1, "linear"), (0, "nearest"), (3, "cubic")):
        if order in (1, 3):  # order 3: scipy's B-spline prefilter (input pre-padded by 12 for mode 'nearest')
            val = map_coordinates(vol.astype(float), cc[::-1], order=order, mode="nearest")
            val = np.where(inside, val, -1.0)
        else:
            r = np.floor(cc + 0.5).astype(int)
            ok = np.all((r >= 0) & (r < n_in), axis=0)
            val = np.where(ok, vol[np.clip(r[2], 0, 6), np.clip(r[1], 0, 7), np.clip(r[0], 0, 8)], -1.0)
        out = val.reshape(ref_dims).transpose(2, 1, 0)           # to (z, y, x)
        save(f"world{k}", vol, out, f"world {kind} " + " ".join(repr(float(x)) for x in np.concatenate([a_in[:3].ravel(), a_ref[:3].ravel()])))
        k += 1
    real_ct_checks()
    # crop_to_nonzero: nnU-Net fills holes in (data != 0) and crops to the mask's box; the fill cannot change the box
    from scipy.ndimage import binary_fill_holes
    with open(os.path.join(OUT, "crop.txt"), "w") as f:
        for c, shape in enumerate([(9, 12, 10), (7, 5, 13), (6, 6, 6)]):
            vol = np.zeros(shape, np.float32)
            sl = tuple(slice(rng.randint(0, n // 2), rng.randint(n // 2 + 1, n + 1)) for n in shape)
            shell = np.zeros(shape, bool)
            shell[sl] = True
            inner = tuple(slice(q.start + 1, q.stop - 1) for q in sl)
            shell[inner] = False                          # a hollow box: holes for binary_fill_holes
            vol[shell] = rng.randn(int(shell.sum())).astype(np.float32) * 100 + 1000
            vol[rng.rand(*shape) < 0.002] = -5.0 if c != 2 else 0.0   # stray voxels widen the box
            if c == 2:
                vol[:] = 0                                # all zero: nnU-Net keeps the full extent
            mask = binary_fill_holes(vol != 0)
            nz = np.argwhere(mask)
            box = [(int(nz[:, a].min()), int(nz[:, a].max()) + 1) if len(nz) else (0, shape[a]) for a in range(3)]
            vol.astype("<f4").tofile(os.path.join(OUT, f"crop{c}.in"))
            f.write(f"crop{c} {' '.join(map(str, shape))} {' '.join(f'{a} {b}' for a, b in box)}\n")
    # cubic B-spline world-space resampling on a second, odd-shaped, obliquely oriented pair of grids (up-sampling,
    # anisotropic input spacing), with its own random state so the cases above are unchanged
    rng2 = np.random.RandomState(13)
    shape = (5, 11, 6)  # (z, y, x)
    z_, y_, x_ = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    vol = (800 * np.cos(2 * x_ + 0.5) * np.sin(3 * y_ + 0.2) + 200 * z_ ** 2 + 30 * rng2.randn(*shape)).astype(np.float32)
    a, b = 0.4, -0.25  # rotations about z and x
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    a_in = np.eye(4)
    a_in[:3, :3] = rz @ np.diag([1.1, 0.9, 2.5])
    a_in[:3, 3] = [-3.0, 2.0, 1.5]
    a_ref = np.eye(4)
    a_ref[:3, :3] = rx @ np.diag([0.6, 0.7, 0.8])
    a_ref[:3, 3] = [-4.5, 0.5, 0.0]
    ref_dims = (13, 15, 17)  # (x, y, z)
    ii, jj, kk = np.meshgrid(*[np.arange(d) for d in ref_dims], indexing="ij")
    pts = np.stack([ii.ravel(), jj.ravel(), kk.ravel(), np.ones(ii.size)])
    cc = (np.linalg.inv(a_in) @ a_ref @ pts)[:3]
    n_in = np.array(shape[::-1])[:, None]
    inside = np.all((cc >= -0.5) & (cc <= n_in - 0.5), axis=0)
    val = np.where(inside, map_coordinates(vol.astype(float), cc[::-1], order=3, mode="nearest"), -1.0)
    out = val.reshape(ref_dims).transpose(2, 1, 0)
    save(f"world{k}", vol, out, "world cubic " + " ".join(repr(float(x)) for x in np.concatenate([a_in[:3].ravel(), a_ref[:3].ravel()])))
    k += 1
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(len(lines), "cases")


if __name__ == "__main__":
    main()
