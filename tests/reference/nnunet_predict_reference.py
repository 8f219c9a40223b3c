"""Independent Python reference of nnU-Net v2's sliding-window prediction, written from
docs/nnunet-numerics.md §4.3 and §7.3 with numpy / scipy / torch (not nnU-Net code), and the fixture
generator for tests/unit/test_sliding_window.cpp (tests/data/pipeline/).

Writes:
  steps.txt             lines "size patch step : s0 s1 ..." (compute_steps_for_sliding_window)
  gaussian_AxBxC.u16    fp16 bits of the Gaussian importance map (scipy gaussian_filter float64 -> torch fp16)
  gaussian_sums.txt     "A B C nzero_replaced checksum" for larger patches (checksum = sum(bits * (i % 65521 + 1)))
  sw_<name>.u16         fp16 bits of the sliding-window logits of a synthetic predictor (torch.half accumulators)
The synthetic input and predictor are exact in float32 on both sides (see make_input / synthetic_net).

  demo_seg_<ct>.nii.gz  (--pipeline) the demo model's label maps of the shared spine CTs, computed by predict_case
                        (the whole nnUNetv2_predict chain re-stated with numpy/skimage/torch)
  demo_probs_sub-ct*    (--pipeline) softmax probabilities of the demo model on sub-ct_label-22_ct: per-class sums,
                        sampled voxel indices (.i32) and their values (.f32, voxel-major)
  sub-ct_crop32.nii.gz  (--pipeline) a 32^3 crop of the shared sub-ct_label-22_ct (int16, nibabel slicer)
  plain_v23_2folds_seg_crop32.nii.gz  (--pipeline) two folds of tests/data/model/plain_v23 on that crop (anisotropic
                        plans spacing: separate-z resampling in preprocessing and export, fp16 fold averaging, TTA)

Run with Debian's python3:  /usr/bin/python3 tests/reference/nnunet_predict_reference.py [--pipeline]
"""
import itertools
import os

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "pipeline")


def compute_steps(size, patch, step):
    target = patch * step
    n = int(np.ceil((size - patch) / target)) + 1
    actual = (size - patch) / (n - 1) if n > 1 else 99999999999
    return [int(np.round(actual * i)) for i in range(n)]


def compute_gaussian(patch, sigma_scale=1.0 / 8, value_scaling_factor=10):
    tmp = np.zeros(patch)
    tmp[tuple(p // 2 for p in patch)] = 1
    g = gaussian_filter(tmp, [p * sigma_scale for p in patch], 0, mode="constant", cval=0)
    g = torch.from_numpy(g)
    g /= torch.max(g) / value_scaling_factor
    g = g.to(dtype=torch.float16)
    mask = g == 0
    g[mask] = torch.min(g[~mask])
    return g


def pad_to_patch(x, patch):
    # x: (C, D, H, W) numpy; centred constant-0 padding of axes smaller than the patch
    widths = [(0, 0)]
    for s, p in zip(x.shape[1:], patch):
        d = max(0, p - s)
        widths.append((d // 2, d - d // 2))
    return np.pad(x, widths, mode="constant", constant_values=0), widths


def mirror_predict(net, x, axes):
    p = net(x)
    if axes:
        combos = [c for r in range(1, len(axes) + 1) for c in itertools.combinations([a + 2 for a in axes], r)]
        for c in combos:
            p += torch.flip(net(torch.flip(x, c)), c)
        p /= (len(combos) + 1)
    return p


def sliding_window(x, patch, ncls, net, step=0.5, axes=None):
    xp, widths = pad_to_patch(x, patch)
    data = torch.from_numpy(xp)
    shp = data.shape[1:]
    steps = [compute_steps(s, p, step) for s, p in zip(shp, patch)]
    g = compute_gaussian(patch)
    logits = torch.zeros((ncls, *shp), dtype=torch.half)
    n = torch.zeros(shp, dtype=torch.half)
    for sx in steps[0]:
        for sy in steps[1]:
            for sz in steps[2]:
                sl = (slice(sx, sx + patch[0]), slice(sy, sy + patch[1]), slice(sz, sz + patch[2]))
                pred = mirror_predict(net, data[(slice(None),) + sl][None], axes)[0]
                pred *= g
                logits[(slice(None),) + sl] += pred
                n[sl] += g
    torch.div(logits, n, out=logits)
    crop = tuple(slice(a, a + s) for (a, _), s in zip(widths[1:], x.shape[1:]))
    return logits[(slice(None),) + crop]


def make_input(shape):
    # exact float32 values: (hash(i) mod 2001 - 1000) / 256, i = flat index, hash = i * 2654435761 mod 2^32
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761)) % np.uint64(2 ** 32)
    v = ((h % np.uint64(2001)).astype(np.int64) - 1000).astype(np.float32) / np.float32(256)
    return v.reshape(shape)


def synthetic_net(ncls):
    # out[c, d, h, w] = x[0, d, h, w] + (c + 1) * (7d + 3h - 5w) / 64  (each a single exact-or-rounded float32 add)
    def net(x):
        _, _, D, H, W = x.shape
        d = torch.arange(D).view(D, 1, 1)
        h = torch.arange(H).view(1, H, 1)
        w = torch.arange(W).view(1, 1, W)
        pos = (7 * d + 3 * h - 5 * w).to(torch.float32)
        t = torch.stack([pos * (c + 1) / 64 for c in range(ncls)])[None]
        return x[:, :1] + t
    return net


def determine_separate_z_axis(current, new):
    """determine_do_sep_z_and_axis (docs/nnunet-numerics.md §4.2.5): ANISO_THRESHOLD 3, first the current spacing, then the
    new one; the axis where max/spacing == 1; ties (2 or 3 axes) -> no separate z."""
    for sp in (current, new):
        sp = np.array(sp, dtype=float)
        if max(sp) / min(sp) > 3:
            axis = np.where(max(sp) / sp == 1)[0]
            return int(axis[0]) if len(axis) == 1 else None
    return None


def resample_to_shape(data, new_shape, current_spacing, new_spacing, order, order_z, out_dtype):
    """resample_data_or_seg_to_shape (is_seg False, force_separate_z None), docs/nnunet-numerics.md §4.2.5 / §4.4.1:
    float64 work, skimage resize (mode edge, no anti-aliasing), separate z = 2-D resize per slice then
    map_coordinates(order_z, mode nearest) along the axis; result stored as out_dtype (one rounding)."""
    from scipy.ndimage import map_coordinates
    from skimage.transform import resize
    shape = data.shape[1:]
    if tuple(shape) == tuple(new_shape):
        return data
    axis = determine_separate_z_axis(current_spacing, new_spacing)
    data = data.astype(float)
    out = np.zeros((data.shape[0], *new_shape), dtype=out_dtype)
    for c in range(data.shape[0]):
        if axis is None:
            out[c] = resize(data[c], new_shape, order=order, mode="edge", anti_aliasing=False)
            continue
        tmp_shape = list(new_shape)
        tmp_shape[axis] = shape[axis]
        here = np.zeros(tmp_shape)
        plane = [n for i, n in enumerate(new_shape) if i != axis]
        for s in range(shape[axis]):
            sl = [slice(None)] * 3
            sl[axis] = s
            here[tuple(sl)] = resize(data[c][tuple(sl)], plane, order=order, mode="edge", anti_aliasing=False)
        if shape[axis] != new_shape[axis]:
            grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]].astype(float)
            coords = np.array([(tmp_shape[i] / new_shape[i]) * (grid[i] + 0.5) - 0.5 for i in range(3)])
            out[c] = map_coordinates(here, coords, order=order_z, mode="nearest")
        else:
            out[c] = here
    return out


def predict_case(model_dir, ct_path, folds=(0,), probabilities=False, mirroring=True):
    """nnUNetv2_predict for one CT (docs/nnunet-numerics.md §4): the given folds (fp16 logits summed, then / n_folds in fp16),
    mirroring as the checkpoint says (unless mirroring=False). Returns the label array in nibabel's (x, y, z) order,
    the affine, and with probabilities=True the softmax probabilities (class, x, y, z) float32 (background 1 outside
    the crop, label_handling.py revert_cropping_on_probabilities; the labels are then the argmax of the probabilities).
    Uses dna_unet (torch) as the network, float32 on CPU."""
    import json
    import nibabel as nib
    from dna_unet import PlainConvUNet
    plans = json.load(open(os.path.join(model_dir, "plans.json")))
    cfg = plans["configurations"]["3d_fullres"]
    ak = cfg["architecture"]["arch_kwargs"]
    nets = []
    for fold in folds:
        ck = torch.load(os.path.join(model_dir, "fold_%d" % fold, "checkpoint_final.pth"), map_location="cpu",
                        weights_only=False)
        ncls = len(ck["init_args"]["dataset_json"]["labels"])
        net = PlainConvUNet(1, ak["features_per_stage"], ak["kernel_sizes"], ak["strides"], ak["n_conv_per_stage"],
                            ncls, ak["n_conv_per_stage_decoder"])
        net.load_state_dict(ck["network_weights"])
        net.eval()
        nets.append(net)
        mirror = ck["inference_allowed_mirroring_axes"] if mirroring else None
    img = nib.load(ct_path)
    data = np.asarray(img.get_fdata(dtype=np.float32)).transpose(2, 1, 0)  # SimpleITK (z, y, x)
    spacing = [abs(float(z)) for z in img.header.get_zooms()[:3]][::-1]
    tf = plans["transpose_forward"]
    data = data.transpose(tf)
    spacing = [spacing[i] for i in tf]
    shape_before = data.shape
    nz = np.argwhere(data != 0)
    lo, hi = (nz.min(0), nz.max(0) + 1) if len(nz) else (np.zeros(3, int), np.array(data.shape))
    crop = data[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].astype(np.float32).copy()
    p = plans["foreground_intensity_properties_per_channel"]["0"]
    np.clip(crop, p["percentile_00_5"], p["percentile_99_5"], out=crop)
    crop -= p["mean"]
    crop /= max(p["std"], 1e-8)
    target = cfg["spacing"]
    new_shape = [int(round(o / n * s)) for o, n, s in zip(spacing, target, crop.shape)]
    x = resample_to_shape(crop[None], new_shape, spacing, target, 3, 0, np.float32)[0]
    with torch.no_grad():
        logits = None
        for net in nets:
            lf = sliding_window(x[None], cfg["patch_size"], ncls, lambda t: net(t), 0.5, list(mirror) if mirror else None)
            logits = lf if logits is None else logits + lf  # torch.half + torch.half -> torch.half
        if len(nets) > 1:
            logits /= len(nets)
    logits = logits.numpy()
    # export: current spacing = the configuration's, new = the original (transposed) spacing
    logits = resample_to_shape(logits, crop.shape, target, spacing, 1, 0, np.float16)
    probs_full = None
    if probabilities:
        probs = torch.softmax(torch.from_numpy(np.ascontiguousarray(logits)).float(), 0).numpy()
        seg = np.argmax(probs, 0)
        probs_full = np.zeros((ncls, *shape_before), np.float32)
        probs_full[0] = 1
        probs_full[:, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = probs
        probs_full = probs_full.transpose([0] + [i + 1 for i in plans["transpose_backward"]]).transpose(0, 3, 2, 1)
    else:
        seg = np.argmax(logits, 0)
    full = np.zeros(shape_before, np.uint8)
    full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = seg
    full = full.transpose(plans["transpose_backward"])
    return full.transpose(2, 1, 0), img.affine, probs_full


def main_pipeline():
    import nibabel as nib
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    spine = os.path.join(root, "..", "shared", "data", "spine")
    model = os.path.join(root, "examples", "models", "demo_vertebrae", "nnUNetTrainer__nnUNetPlans__3d_fullres")
    for name in ["example_ct_sm.nii.gz", "sub-ct_label-22_ct.nii.gz"]:
        seg, aff, _ = predict_case(model, os.path.join(spine, name))
        out = os.path.join(OUT, "demo_seg_" + name)
        nib.save(nib.Nifti1Image(seg.astype(np.uint8), aff), out)
        print(out, np.unique(seg, return_counts=True))
    # probabilities (demo model, CT at 1.5 mm -> export resampling from the 3 mm network grid):
    # per-class sums over the whole map (float64) and the values at sampled voxels (every 701st voxel and every
    # 61st voxel of the foreground), voxel index = our layout x + X*(y + Y*z)
    name = "sub-ct_label-22_ct.nii.gz"
    seg, aff, probs = predict_case(model, os.path.join(spine, name), probabilities=True)
    C = probs.shape[0]
    flat = probs.reshape(C, -1, order="F")  # (C, X*Y*Z) in x-fastest order
    fg = np.flatnonzero(seg.reshape(-1, order="F") != 0)
    idx = np.unique(np.concatenate([np.arange(0, flat.shape[1], 701), fg[::61]]))
    with open(os.path.join(OUT, "demo_probs_sub-ct.txt"), "w") as f:
        f.write("classes %d voxels %d samples %d\n" % (C, flat.shape[1], len(idx)))
        f.write("sums " + " ".join("%.17g" % v for v in flat.astype(np.float64).sum(1)) + "\n")
        f.write("labels_from_probs_foreground %d\n" % int((seg != 0).sum()))
    idx.astype("<i4").tofile(os.path.join(OUT, "demo_probs_sub-ct_index.i32"))
    np.ascontiguousarray(flat[:, idx].T).astype("<f4").tofile(os.path.join(OUT, "demo_probs_sub-ct_values.f32"))
    # the labels from the probabilities equal the logits' argmax here (the C++ test checks against demo_seg_<ct>)
    assert np.array_equal(seg, nib.load(os.path.join(OUT, "demo_seg_" + name)).get_fdata().astype(np.uint8))
    # two folds + separate-z (tests/data/model/plain_v23: plans spacing [2.5, 0.8, 0.8], ratio 3.125 > 3; the CT is
    # 1.5 mm isotropic, so preprocessing and export both take the separate-z path), fp16 fold averaging, mirroring as
    # the checkpoints say (0, 1, 2). On a 32^3 crop of sub-ct_label-22_ct (committed, int16) to keep the C++ test
    # fast under the sanitizers and independent of ../shared.
    crop_path = os.path.join(OUT, "sub-ct_crop32.nii.gz")
    nib.save(nib.load(os.path.join(spine, name)).slicer[20:52, 8:40, 20:52], crop_path)
    tiny = os.path.join(root, "tests", "data", "model", "plain_v23")
    seg, aff, _ = predict_case(tiny, crop_path, folds=(0, 1))
    out = os.path.join(OUT, "plain_v23_2folds_seg_crop32.nii.gz")
    nib.save(nib.Nifti1Image(seg.astype(np.uint8), aff), out)
    print(out, np.unique(seg, return_counts=True))


def main():
    import sys
    if "--pipeline" in sys.argv:
        return main_pipeline()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "steps.txt"), "w") as f:
        for size, patch, step in [(110, 64, 0.5), (64, 64, 0.5), (65, 64, 0.5), (200, 128, 0.5), (37, 24, 0.5),
                                  (150, 48, 0.33), (97, 16, 0.25), (300, 112, 0.7), (129, 128, 1.0), (81, 20, 0.5),
                                  (90, 20, 0.5), (250, 96, 0.5), (51, 32, 0.5), (75, 50, 0.5)]:
            f.write(f"{size} {patch} {step!r} : {' '.join(map(str, compute_steps(size, patch, step)))}\n")
    for patch in [(7, 9, 13), (16, 24, 20), (32, 48, 48)]:
        g = compute_gaussian(patch)
        name = "gaussian_%dx%dx%d.u16" % patch
        if np.prod(patch) <= 20000:
            g.numpy().view(np.uint16).astype("<u2").tofile(os.path.join(OUT, name))
    with open(os.path.join(OUT, "gaussian_sums.txt"), "w") as f:
        for patch in [(32, 48, 48), (128, 128, 128), (80, 160, 112), (64, 128, 128)]:
            tmp = np.zeros(patch)
            tmp[tuple(p // 2 for p in patch)] = 1
            raw = torch.from_numpy(gaussian_filter(tmp, [p / 8 for p in patch], 0, mode="constant", cval=0))
            raw = (raw / (torch.max(raw) / 10)).to(torch.float16)
            nz = int((raw == 0).sum())
            b = compute_gaussian(patch).numpy().view(np.uint16).ravel().astype(np.uint64)
            w = (np.arange(b.size, dtype=np.uint64) % np.uint64(65521)) + np.uint64(1)
            f.write("%d %d %d %d %d\n" % (*patch, nz, int((b * w).sum())))
    cases = [("a", (1, 20, 40, 21), (16, 24, 16), 3, 0.5, None),
             ("b", (1, 20, 30, 21), (16, 24, 16), 3, 0.5, [0, 1, 2]),
             ("c", (1, 37, 26, 11), (16, 16, 16), 2, 0.33, [2, 0])]
    with open(os.path.join(OUT, "sw_cases.txt"), "w") as f:
        for name, shape, patch, ncls, step, axes in cases:
            x = make_input(shape)
            out = sliding_window(x, patch, ncls, synthetic_net(ncls), step, axes)
            assert out.shape == (ncls, *shape[1:])
            out.contiguous().numpy().view(np.uint16).astype("<u2").tofile(os.path.join(OUT, "sw_%s.u16" % name))
            f.write("%s %s %s %d %r %s\n" % (name, " ".join(map(str, shape)), " ".join(map(str, patch)), ncls, step,
                                             " ".join(map(str, axes)) if axes else "-"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
