"""Independent Python reference of nnU-Net v2's sliding-window prediction, written from
../../../shared/docs/nnunet-spec.md §4.3 and §7.3 with numpy / scipy / torch (not nnU-Net code), and the fixture
generator for tests/unit/test_sliding_window.cpp (tests/data/pipeline/).

Writes:
  steps.txt             lines "size patch step : s0 s1 ..." (compute_steps_for_sliding_window)
  gaussian_AxBxC.u16    fp16 bits of the Gaussian importance map (scipy gaussian_filter float64 -> torch fp16)
  gaussian_sums.txt     "A B C nzero_replaced checksum" for larger patches (checksum = sum(bits * (i % 65521 + 1)))
  sw_<name>.u16         fp16 bits of the sliding-window logits of a synthetic predictor (torch.half accumulators)
The synthetic input and predictor are exact in float32 on both sides (see make_input / synthetic_net).

  demo_seg_<ct>.nii.gz  (--pipeline) the demo model's label maps of the shared spine CTs, computed by predict_case
                        (the whole nnUNetv2_predict chain re-stated with numpy/skimage/torch)

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


def predict_case(model_dir, ct_path):
    """nnUNetv2_predict for one CT (nnunet-spec.md §4), fold 0, mirroring as the checkpoint says; returns the label
    array in nibabel's (x, y, z) order. Uses dna_unet (torch) as the network, float32 on CPU."""
    import json
    import nibabel as nib
    from skimage.transform import resize
    from dna_unet import PlainConvUNet
    plans = json.load(open(os.path.join(model_dir, "plans.json")))
    cfg = plans["configurations"]["3d_fullres"]
    ak = cfg["architecture"]["arch_kwargs"]
    ck = torch.load(os.path.join(model_dir, "fold_0", "checkpoint_final.pth"), map_location="cpu", weights_only=False)
    ncls = len(ck["init_args"]["dataset_json"]["labels"])
    net = PlainConvUNet(1, ak["features_per_stage"], ak["kernel_sizes"], ak["strides"], ak["n_conv_per_stage"], ncls,
                        ak["n_conv_per_stage_decoder"])
    net.load_state_dict(ck["network_weights"])
    net.eval()
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
    sep = max(spacing) / min(spacing) > 3 or max(target) / min(target) > 3
    assert not sep, "reference handles isotropic-enough cases only"
    if list(new_shape) != list(crop.shape):
        x = resize(crop.astype(float), new_shape, order=3, mode="edge", anti_aliasing=False).astype(np.float32)
    else:
        x = crop
    mirror = ck["inference_allowed_mirroring_axes"]
    with torch.no_grad():
        logits = sliding_window(x[None], cfg["patch_size"], ncls, lambda t: net(t), 0.5,
                                list(mirror) if mirror else None).numpy()
    if list(new_shape) != list(crop.shape):
        out = np.zeros((ncls, *crop.shape), np.float16)
        for c in range(ncls):
            out[c] = resize(logits[c].astype(float), crop.shape, order=1, mode="edge", anti_aliasing=False)
        logits = out
    seg = np.argmax(logits, 0)
    full = np.zeros(shape_before, np.uint8)
    full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = seg
    full = full.transpose(plans["transpose_backward"])
    return full.transpose(2, 1, 0), img.affine


def main_pipeline():
    import nibabel as nib
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    model = os.path.join(root, "examples", "models", "demo_vertebrae", "nnUNetTrainer__nnUNetPlans__3d_fullres")
    for name in ["example_ct_sm.nii.gz", "sub-ct_label-22_ct.nii.gz"]:
        src = os.path.join(root, "..", "shared", "data", "spine", name)
        seg, aff = predict_case(model, src)
        out = os.path.join(OUT, "demo_seg_" + name)
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
