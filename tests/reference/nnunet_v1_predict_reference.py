"""Re-statement of nnU-Net v1's sliding-window prediction (nnunet-v1-spec.md §4; nnU-Net v1.7.1
nnunet/network_architecture/neural_network.py _get_gaussian, _compute_steps_for_sliding_window,
_internal_predict_3D_3Dconv_tiled, _internal_maybe_mirror_and_pred_3D; inference/predict.py predict_cases fold
ensembling), written from the spec with numpy / scipy / torch, run on the tiny v1 model folder of
make_v1_model_fixtures.py. Writes tests/data/model_v1/predict/<case>_{input,softmax}.f32 (raw little-endian float32):
the oracle for the C++ v1 sliding window (softmax probabilities, float32, preprocessed axis order).

Run with Debian's python3 after make_v1_model_fixtures.py:  /usr/bin/python3 tests/reference/nnunet_v1_predict_reference.py
"""
import os
import pickle

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from make_v1_model_fixtures import GenericUNetV1

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "data", "model_v1", "tiny")
OUT = os.path.join(HERE, "..", "data", "model_v1", "predict")


def load_net(fold_dir):
    info = pickle.load(open(os.path.join(MODEL, fold_dir, "model_final_checkpoint.model.pkl"), "rb"))
    plans = info["plans"]
    st = plans["plans_per_stage"][info["init"][5]]
    net = GenericUNetV1(plans["num_modalities"], plans["base_num_features"], plans["num_classes"] + 1,
                        st["pool_op_kernel_sizes"], st["conv_kernel_sizes"], plans["conv_per_stage"])
    ck = torch.load(os.path.join(MODEL, fold_dir, "model_final_checkpoint.model"), map_location="cpu")
    net.load_state_dict(ck["state_dict"])
    net.eval()
    return net, [int(x) for x in st["patch_size"]], plans["num_classes"] + 1


def get_gaussian(patch, sigma_scale=1. / 8):  # §4.3
    tmp = np.zeros(patch)
    tmp[tuple(i // 2 for i in patch)] = 1
    g = gaussian_filter(tmp, [i * sigma_scale for i in patch], 0, mode="constant", cval=0)
    g = g / np.max(g) * 1
    g = g.astype(np.float32)
    g[g == 0] = np.min(g[g != 0])
    return g


def steps_for(patch, image, step_size):  # §4.2
    target = [i * step_size for i in patch]
    num_steps = [int(np.ceil((i - k) / j)) + 1 for i, j, k in zip(image, target, patch)]
    steps = []
    for d in range(3):
        max_step = image[d] - patch[d]
        actual = max_step / (num_steps[d] - 1) if num_steps[d] > 1 else 99999999999
        steps.append([int(np.round(actual * i)) for i in range(num_steps[d])])
    return steps


def mirror_and_pred(net, x, mirror_axes, do_mirroring, mult):  # §4.5
    result = torch.zeros([1, 3] + list(x.shape[2:]), dtype=torch.float)
    if do_mirroring:
        mirror_idx, num_results = 8, 2 ** len(mirror_axes)
    else:
        mirror_idx, num_results = 1, 1
    flips = [None, (4,), (3,), (4, 3), (2,), (4, 2), (3, 2), (4, 3, 2)]
    needs = [(), (2,), (1,), (2, 1), (0,), (0, 2), (0, 1), (0, 1, 2)]
    for m in range(mirror_idx):
        if not all(a in mirror_axes for a in needs[m]):
            continue
        if flips[m] is None:
            pred = torch.softmax(net(x), 1)
            result += 1 / num_results * pred
        else:
            pred = torch.softmax(net(torch.flip(x, flips[m])), 1)
            result += 1 / num_results * torch.flip(pred, flips[m])
    if mult is not None:
        result[:, :] *= mult
    return result


def predict_tiled(net, data, patch, num_classes, do_mirroring, mirror_axes=(0, 1, 2), step_size=0.5):  # §4.1-4.4
    shape = data.shape[1:]
    pad_below = [max(0, p - s) // 2 for p, s in zip(patch, shape)]
    pad_above = [max(0, p - s) - b for p, s, b in zip(patch, shape, pad_below)]
    d = np.pad(data, [(0, 0)] + list(zip(pad_below, pad_above)), mode="constant", constant_values=0)
    steps = steps_for(patch, d.shape[1:], step_size)
    num_tiles = len(steps[0]) * len(steps[1]) * len(steps[2])
    if num_tiles > 1:
        g = get_gaussian(patch)
        mult = torch.from_numpy(g)
        add_for_nb = g
    else:
        mult = None
        add_for_nb = np.ones(patch, dtype=np.float32)
    agg = np.zeros([num_classes] + list(d.shape[1:]), dtype=np.float32)
    nb = np.zeros([num_classes] + list(d.shape[1:]), dtype=np.float32)
    with torch.no_grad():
        for x in steps[0]:
            for y in steps[1]:
                for z in steps[2]:
                    sl = (slice(None), slice(x, x + patch[0]), slice(y, y + patch[1]), slice(z, z + patch[2]))
                    t = torch.from_numpy(np.ascontiguousarray(d[None][(slice(None),) + sl]))
                    p = mirror_and_pred(net, t, mirror_axes, do_mirroring, mult)[0]
                    agg[sl] += p.numpy()
                    nb[sl] += add_for_nb
    crop = (slice(None),) + tuple(slice(b, b + s) for b, s in zip(pad_below, shape))
    agg = agg[crop]
    nb = nb[crop]
    agg /= nb
    return agg


# ---- full predict of one CT (spec §3 preprocessing, §4 prediction, §5 export), arrays in nnU-Net's (z, y, x) order

def do_separate_z(spacing):  # §3.5: max/min > 3
    return (np.max(spacing) / np.min(spacing)) > 3


def lowres_axis(spacing):
    return np.where(max(spacing) / np.array(spacing) == 1)[0]


def resample(data, new_shape, order, order_z, separate, axis):  # §3.6 (data: C x 3-D, float32)
    from skimage.transform import resize
    from scipy.ndimage import map_coordinates
    shape = np.array(data[0].shape)
    new_shape = np.array(new_shape)
    if np.all(shape == new_shape):
        return data
    work = data.astype(float)
    out = []
    for c in range(work.shape[0]):
        if not separate:
            out.append(resize(work[c], new_shape, order, mode="edge", anti_aliasing=False).astype(np.float32))
            continue
        in_plane = [a for a in range(3) if a != axis]
        slices = []
        for i in range(shape[axis]):
            sl = np.take(work[c], i, axis=axis)
            slices.append(resize(sl, new_shape[in_plane], order, mode="edge", anti_aliasing=False).astype(np.float32))
        stack = np.stack(slices, axis)
        if shape[axis] != new_shape[axis]:
            scale = [stack.shape[a] / new_shape[a] for a in range(3)]
            grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]].astype(float)
            coords = np.array([scale[a] * (grid[a] + 0.5) - 0.5 for a in range(3)])
            stack = map_coordinates(stack, coords, order=order_z, mode="nearest").astype(np.float32)
        out.append(stack)
    return np.stack(out).astype(np.float32)


def separate_rule(first, second):  # §3.5 / §5.1: the first spacing decides if anisotropic, else the second
    if do_separate_z(first):
        axes = lowres_axis(first)
    elif do_separate_z(second):
        axes = lowres_axis(second)
    else:
        return False, None
    return (True, int(axes[0])) if len(axes) == 1 else (False, None)


def predict_case(ct_zyx, spacing_zyx, fold_dirs, do_mirroring):
    from scipy.ndimage import binary_fill_holes
    info = pickle.load(open(os.path.join(MODEL, fold_dirs[0], "model_final_checkpoint.model.pkl"), "rb"))
    plans = info["plans"]
    st = plans["plans_per_stage"][info["init"][5]]
    tf, tb = [int(a) for a in plans["transpose_forward"]], [int(a) for a in plans["transpose_backward"]]
    target = np.array(st["current_spacing"], dtype=float)
    props = plans["dataset_properties"]["intensityproperties"][0]
    data = ct_zyx[None].astype(np.float32)
    # §3.2 crop to non-zero (bbox of the hole-filled mask)
    mask = binary_fill_holes(data[0] != 0)
    idx = np.where(mask)
    bbox = [[int(np.min(i)), int(np.max(i)) + 1] for i in idx]
    data = data[(slice(None),) + tuple(slice(b[0], b[1]) for b in bbox)]
    size_after_cropping = data[0].shape
    # §3.3 transpose, NaN
    data = data.transpose((0, *[i + 1 for i in tf]))
    sp_t = np.array(spacing_zyx)[tf]
    data[np.isnan(data)] = 0
    # §3.4-3.6 resample raw HU
    new_shape = np.round((sp_t / target).astype(float) * data[0].shape).astype(int)
    sep, axis = separate_rule(sp_t, target)
    data = resample(data, new_shape, 3, 0, sep, axis)
    # §3.7 CT normalisation (float32 with the float32 / float64 scalars as numpy 1.x computes it)
    data[0] = np.clip(data[0], props["percentile_00_5"], props["percentile_99_5"])
    data[0] = (data[0] - props["mean"]) / props["sd"]
    data = data.astype(np.float32)
    # §4 predict, §4.6 folds
    softmax = None
    for f in fold_dirs:
        net, patch, C = load_net(f)
        p = predict_tiled(net, data, patch, C, do_mirroring)
        softmax = p if softmax is None else softmax + p
    if len(fold_dirs) > 1:
        softmax /= len(fold_dirs)
    # §5: transpose back, resample probabilities (original spacing first, then current_spacing as stored), argmax, uncrop
    softmax = softmax.transpose([0] + [i + 1 for i in tb])
    if softmax.shape[1:] != size_after_cropping:
        sep, axis = separate_rule(np.array(spacing_zyx), target)
        softmax = resample(softmax, size_after_cropping, 1, 0, sep, axis)
    seg = softmax.argmax(0)
    full = np.zeros(ct_zyx.shape, dtype=np.uint8)
    full[tuple(slice(b[0], b[0] + s) for b, s in zip(bbox, seg.shape))] = seg
    return full, softmax, bbox


def synthetic_ct(shape_zyx, seed):
    """A small CT-like volume: zero (air-less) border for the crop, smooth HU structure plus noise, a NaN."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[:shape_zyx[0], :shape_zyx[1], :shape_zyx[2]].astype(float)
    v = 400 * np.sin(z / 3.0) * np.cos(y / 4.0) + 300 * np.cos(x / 5.0) + 60 * rng.standard_normal(shape_zyx) - 100
    v[:1] = 0
    v[:, :2] = 0
    v[:, :, -3:] = 0
    v[3, 5, 6] = np.nan
    return v.astype(np.float32)


def main_cases():
    """Whole-case oracles: ct_{a,b}.f32 (z, y, x float32), <case>_labels.u8 (z, y, x), <case>_softmax.f32 (exported
    probabilities of the crop, (C, z, y, x))."""
    cts = {"ct_a": synthetic_ct((10, 16, 18), 100), "ct_b": synthetic_ct((6, 16, 18), 101)}
    for n, ct in cts.items():
        ct.astype("<f4").tofile(os.path.join(OUT, n + ".f32"))
    cases = {
        # fold_0: target (3, 0.8, 0.8) anisotropic -> separate z from the target in preprocessing and export
        "case_sepz_target_mirror": ("ct_a", (2.0, 0.7, 0.75), ["fold_0"], True, True),
        # all: target (1.2, 1, 1), original (1.5, 0.9, 0.8) -> no separate z anywhere
        "case_nosepz_mirror": ("ct_a", (1.5, 0.9, 0.8), ["all"], True, False),
        "case_nosepz_nomirror": ("ct_a", (1.5, 0.9, 0.8), ["all"], False, False),
        # all: original (4, 0.8, 0.8) anisotropic -> separate z from the original spacing
        "case_sepz_original_nomirror": ("ct_b", (4.0, 0.8, 0.8), ["all"], False, True),
        # both runs (plans from the first, fold_0), float32 mean of their probabilities
        "case_two_folds_nomirror": ("ct_a", (2.0, 0.7, 0.75), ["fold_0", "all"], False, False),
        # fold_1: transpose_forward [2, 0, 1]; the original spacing is not anisotropic, the (transposed) target is:
        # export takes the separate-z axis from the transposed target and applies it to the untransposed array
        "case_transposed_mirror": ("ct_a", (0.8, 0.7, 2.0), ["fold_1"], True, True),
    }
    for name, (ct_name, spacing, folds, mirror, keep_softmax) in cases.items():
        labels, softmax, bbox = predict_case(cts[ct_name], spacing, folds, mirror)
        labels.astype(np.uint8).tofile(os.path.join(OUT, name + "_labels.u8"))
        if keep_softmax:
            softmax.astype("<f4").tofile(os.path.join(OUT, name + "_softmax.f32"))
        print(name, ct_name, spacing, "bbox", bbox, "softmax", softmax.shape, "labels", np.bincount(labels.ravel()))


# ---- postprocessing.json (spec §5.5: load_remove_save / remove_all_but_the_largest_connected_component)

PP = {
    "pp_a": {"for_which_classes": [[1, 2], 2], "min_valid_object_sizes": "None"},
    "pp_b": {"for_which_classes": [1, 2], "min_valid_object_sizes": "{1: 0.5, 2: 3.0}"},
}


def postprocess(image, spacing_xyz, pp):
    import ast
    from scipy.ndimage import label
    image = image.copy()
    vpv = float(np.prod(spacing_xyz, dtype=np.float64))
    mins = ast.literal_eval(pp["min_valid_object_sizes"])
    for c in pp["for_which_classes"]:
        key = tuple(c) if isinstance(c, list) else c
        mask = np.isin(image, c) if isinstance(c, list) else image == c
        lmap, n = label(mask.astype(int))  # default structure: 6-connectivity
        if n == 0:
            continue
        sizes = {i: (lmap == i).sum() * vpv for i in range(1, n + 1)}
        mx = max(sizes.values())
        for i in range(1, n + 1):
            if sizes[i] != mx and (mins is None or sizes[i] < mins[key]):
                image[(lmap == i) & mask] = 0
    return image


def main_pp():
    import json
    labels = np.fromfile(os.path.join(OUT, "case_two_folds_nomirror_labels.u8"), np.uint8).reshape(10, 16, 18)
    for name, pp in PP.items():
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(pp, f)
        out = postprocess(labels, (0.75, 0.7, 2.0), pp)
        out.astype(np.uint8).tofile(os.path.join(OUT, "case_two_folds_nomirror_labels_" + name + ".u8"))
        print(name, "changed voxels", int((out != labels).sum()))


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    small = rng.standard_normal((1, 6, 10, 12)).astype(np.float32)
    net_all, patch, C = load_net("all")
    # multi-tile, mirroring and fold means are covered by the whole-case oracles below; this one isolates the single
    # tile (padded to the patch, no Gaussian)
    cases = {"single_tile_mirror": ("small", [net_all], True)}
    small.astype("<f4").tofile(os.path.join(OUT, "small_input.f32"))
    for name, (xname, nets, mirror) in cases.items():
        x = small
        softmax = predict_tiled(nets[0], x, patch, C, mirror)
        for n in nets[1:]:
            softmax += predict_tiled(n, x, patch, C, mirror)
        if len(nets) > 1:
            softmax /= len(nets)
        softmax.astype("<f4").tofile(os.path.join(OUT, name + "_softmax.f32"))
        print(name, x.shape, softmax.shape, float(softmax.sum(0).min()), float(softmax.sum(0).max()))


if __name__ == "__main__":
    main()
    main_cases()
    main_pp()
