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


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    big = rng.standard_normal((1, 9, 17, 19)).astype(np.float32)
    small = rng.standard_normal((1, 6, 10, 12)).astype(np.float32)
    net_all, patch, C = load_net("all")
    net_f0, _, _ = load_net("fold_0")
    cases = {
        "multi_tile_mirror": ("big", [net_all], True),
        "multi_tile_nomirror": ("big", [net_all], False),
        "single_tile_mirror": ("small", [net_all], True),
        "two_folds_nomirror": ("big", [net_f0, net_all], False),
    }
    big.astype("<f4").tofile(os.path.join(OUT, "big_input.f32"))
    small.astype("<f4").tofile(os.path.join(OUT, "small_input.f32"))
    for name, (xname, nets, mirror) in cases.items():
        x = big if xname == "big" else small
        softmax = predict_tiled(nets[0], x, patch, C, mirror)
        for n in nets[1:]:
            softmax += predict_tiled(n, x, patch, C, mirror)
        if len(nets) > 1:
            softmax /= len(nets)
        softmax.astype("<f4").tofile(os.path.join(OUT, name + "_softmax.f32"))
        print(name, x.shape, softmax.shape, float(softmax.sum(0).min()), float(softmax.sum(0).max()))


if __name__ == "__main__":
    main()
