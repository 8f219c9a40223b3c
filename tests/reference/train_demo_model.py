"""Train the SMALL demo vertebra model shipped in examples/models/demo_vertebrae/ (a demo showing the pipeline
works, NOT a clinical model) and write it as an nnU-Net v2 model folder:

  examples/models/demo_vertebrae/nnUNetTrainer__nnUNetPlans__3d_fullres/
      plans.json (v2 >= 2.3 "architecture" layout), dataset.json, fold_0/checkpoint_final.pth

Data (read with nibabel, arrays transposed to nnU-Net's SimpleITK order (z,y,x), docs/nnunet-numerics.md §4.1):
  - example_ct_sm.nii.gz + example_seg.nii.gz (TotalSegmentator 'total' labels T11..L2 = 33..30)
  - sub-ct_label-22_ct.nii.gz + sub-ct_seg-vert_label-22_msk.nii.gz (VerSe labels L2..L4 = 21..23)
Both label maps are mapped to one label set in VerSe order: background, T11, T12, L1, L2, L3, L4 = 0..6.
Inputs are taken from examples/data/ when present, else from ../shared/data/spine.

Preprocessing as nnU-Net's DefaultPreprocessor would do it (docs/nnunet-numerics.md §1.4, §4.2): intensity properties from
foreground voxels (percentiles 0.5/50/99.5 with np.percentile, population std), transpose [0,1,2], crop to non-zero,
CTNormalization (clip, -mean, /max(std,1e-8)) in float32, resampling to the target spacing with
skimage.transform.resize(order=3, mode='edge', anti_aliasing=False) (order 1 on one-hot labels for the
segmentation), no separate-z (both cases are isotropic). Network: dna_unet.PlainConvUNet (nnU-Net's exact module
names), features 8,16,32,64. Training: Adam (lr 3e-3, weight decay 3e-5; nnU-Net's SGD with momentum 0.99 learns
too slowly for a budget of minutes) with nnU-Net's PolyLR decay (exponent 0.9) over the time budget, Dice + CE, random
patches with 2/3 of them centred on foreground, no mirroring augmentation (mirror axes None -> the checkpoint says
inference_allowed_mirroring_axes None, like nnUNetTrainerNoMirroring), CPU, time-limited.

Run with Debian's python3, niced:  nice -n 10 /usr/bin/python3 tests/reference/train_demo_model.py [--minutes 25] [--threads 2]
"""
import argparse
import json
import os
import time

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F
from skimage.transform import resize

from dna_unet import PlainConvUNet
from make_model_fixtures import resampling_kwargs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "examples", "models", "demo_vertebrae", "nnUNetTrainer__nnUNetPlans__3d_fullres")

LABELS = {"background": 0, "T11": 1, "T12": 2, "L1": 3, "L2": 4, "L3": 5, "L4": 6}
CASES = [  # image, labels, {source label: class}
    ("example_ct_sm.nii.gz", "example_seg.nii.gz", {33: 1, 32: 2, 31: 3, 30: 4}),
    ("sub-ct_label-22_ct.nii.gz", "sub-ct_seg-vert_label-22_msk.nii.gz", {21: 4, 22: 5, 23: 6}),
]
TARGET_SPACING = [3.0, 3.0, 3.0]
PATCH = [32, 48, 48]
FEATURES = [8, 16, 32, 64]
STRIDES = [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2]]
KERNELS = [[3, 3, 3]] * 4


def find(name):
    for d in (os.path.join(ROOT, "examples", "data"), os.path.join(ROOT, "..", "shared", "data", "spine")):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)


def load_case(img_name, seg_name, mapping):
    img = nib.load(find(img_name))
    seg = nib.load(find(seg_name))
    # SimpleITK array order (z,y,x) = nibabel's (x,y,z) reversed; spacing reversed (docs/nnunet-numerics.md §4.1)
    data = np.asarray(img.get_fdata(dtype=np.float32)).transpose(2, 1, 0).astype(np.float32)
    raw = np.asarray(seg.dataobj).astype(np.int64).transpose(2, 1, 0)
    lab = np.zeros(raw.shape, np.int64)
    for src, dst in mapping.items():
        lab[raw == src] = dst
    spacing = [abs(float(s)) for s in img.header.get_zooms()[:3]][::-1]
    return data, lab, spacing


def fg_intensity_properties(cases):
    # fingerprint_extractor: foreground voxels (label > 0), np.percentile (0.5, 50, 99.5), population std
    rs = np.random.RandomState(1234)
    vals = []
    for data, lab, _ in cases:
        fg = data[lab > 0]
        n = min(len(fg), int(10e7) // len(cases))
        vals.append(rs.choice(fg, n, replace=True) if n < len(fg) else fg)
    v = np.concatenate(vals)
    p005, med, p995 = np.percentile(v, (0.5, 50.0, 99.5))
    return {"max": float(np.max(v)), "mean": float(np.mean(v)), "median": float(med), "min": float(np.min(v)),
            "percentile_00_5": float(p005), "percentile_99_5": float(p995), "std": float(np.std(v))}


def preprocess(data, lab, spacing, props):
    mask = data != 0  # crop_to_nonzero (bbox of the non-zero mask)
    idx = np.nonzero(mask)
    if len(idx[0]):
        sl = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
        data, lab = data[sl], lab[sl]
    img = data.astype(np.float32).copy()
    np.clip(img, props["percentile_00_5"], props["percentile_99_5"], out=img)
    img -= props["mean"]
    img /= max(props["std"], 1e-8)
    new_shape = [int(round(o / n * s)) for o, n, s in zip(spacing, TARGET_SPACING, img.shape)]
    if list(new_shape) != list(img.shape):
        img = resize(img.astype(float), new_shape, order=3, mode="edge", anti_aliasing=False).astype(np.float32)
        onehot = np.stack([resize((lab == c).astype(float), new_shape, order=1, mode="edge", anti_aliasing=False)
                           for c in range(len(LABELS))])
        lab = np.argmax(onehot, 0)
    return img, lab


def plans(props):
    arch = {"n_stages": len(FEATURES), "features_per_stage": FEATURES, "conv_op": "torch.nn.modules.conv.Conv3d",
            "kernel_sizes": KERNELS, "strides": STRIDES, "n_conv_per_stage": [2] * len(FEATURES),
            "n_conv_per_stage_decoder": [2] * (len(FEATURES) - 1), "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
            "nonlin_kwargs": {"inplace": True}}
    cfg = {"data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor", "batch_size": 2,
           "patch_size": PATCH, "median_image_size_in_voxels": [34, 74, 80], "spacing": TARGET_SPACING,
           "normalization_schemes": ["CTNormalization"], "use_mask_for_norm": [False], **resampling_kwargs(),
           "batch_dice": False,
           "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
                            "arch_kwargs": arch, "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}}
    return {"dataset_name": "Dataset900_DemoVertebrae", "plans_name": "nnUNetPlans",
            "original_median_spacing_after_transp": TARGET_SPACING, "original_median_shape_after_transp": [34, 74, 80],
            "image_reader_writer": "SimpleITKIO", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
            "configurations": {"3d_fullres": cfg}, "experiment_planner_used": "ExperimentPlanner",
            "label_manager": "LabelManager", "foreground_intensity_properties_per_channel": {"0": props}}


def random_patch(img, lab, rs):
    pad = [max(0, p - s) for p, s in zip(PATCH, img.shape)]
    if any(pad):
        w = [(d // 2, d - d // 2) for d in pad]
        img = np.pad(img, w)
        lab = np.pad(lab, w)
    # 2/3 of the patches centred on foreground (nnU-Net's oversample_foreground_percent is 0.33; a demo trained for
    # minutes on two cases needs more foreground to learn the vertebra levels)
    if rs.rand() < 2.0 / 3.0 and (lab > 0).any():
        fg = np.argwhere(lab > 0)
        c = fg[rs.randint(len(fg))]
        start = [int(np.clip(ci - p // 2, 0, s - p)) for ci, p, s in zip(c, PATCH, img.shape)]
    else:
        start = [rs.randint(0, s - p + 1) for p, s in zip(PATCH, img.shape)]
    sl = tuple(slice(a, a + p) for a, p in zip(start, PATCH))
    return img[sl], lab[sl]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-iters", type=int, default=100000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rs = np.random.RandomState(0)

    raw = [load_case(*c) for c in CASES]
    props = fg_intensity_properties(raw)
    cases = [preprocess(d, l, s, props) for d, l, s in raw]
    for (img, lab), c in zip(cases, CASES):
        print(c[0], img.shape, np.unique(lab))

    n_cls = len(LABELS)
    net = PlainConvUNet(1, FEATURES, KERNELS, STRIDES, [2] * len(FEATURES), n_cls, [2] * (len(FEATURES) - 1))
    lr0 = 3e-3
    opt = torch.optim.Adam(net.parameters(), lr=lr0, weight_decay=3e-5)
    t0 = time.time()
    losses = []
    it = 0
    while it < a.max_iters and time.time() - t0 < a.minutes * 60:
        xs, ys = [], []
        for b in range(2):
            img, lab = cases[rs.randint(len(cases))]
            x, y = random_patch(img, lab, rs)
            xs.append(x[None])
            ys.append(y)
        x = torch.from_numpy(np.stack(xs)).float()
        y = torch.from_numpy(np.stack(ys)).long()
        for g in opt.param_groups:  # PolyLRScheduler, progress = elapsed fraction of the time budget
            g["lr"] = lr0 * max(0.0, 1.0 - (time.time() - t0) / (a.minutes * 60)) ** 0.9
        out = net(x)
        ce = F.cross_entropy(out, y)
        p = torch.softmax(out, 1)
        oh = F.one_hot(y, n_cls).permute(0, 4, 1, 2, 3).float()
        inter = (p * oh).sum((0, 2, 3, 4))
        den = p.sum((0, 2, 3, 4)) + oh.sum((0, 2, 3, 4))
        dice = ((2 * inter + 1e-5) / (den + 1e-5))[1:].mean()
        loss = ce + (1 - dice)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
        it += 1
        if it % 25 == 0:
            print(f"iter {it} loss {np.mean(losses[-25:]):.4f} ({time.time() - t0:.0f}s)", flush=True)

    net.eval()
    os.makedirs(os.path.join(OUT, "fold_0"), exist_ok=True)
    p = plans(props)
    ds = {"channel_names": {"0": "CT"}, "labels": LABELS, "numTraining": len(CASES), "file_ending": ".nii.gz"}
    with open(os.path.join(OUT, "plans.json"), "w") as f:
        json.dump(p, f, indent=4)
    with open(os.path.join(OUT, "dataset.json"), "w") as f:
        json.dump(ds, f, indent=4)
    ckpt = {  # nnUNetTrainer.save_checkpoint layout (docs/nnunet-numerics.md §2.1); optimizer state left empty-ish to stay small
        "network_weights": net.state_dict(),
        "optimizer_state": {"state": {}, "param_groups": []},
        "grad_scaler_state": None,
        "logging": {"train_losses": [np.float32(v) for v in losses[-50:]]},
        "_best_ema": None,
        "current_epoch": it,
        "init_args": {"plans": p, "configuration": "3d_fullres", "fold": 0, "dataset_json": ds,
                      "device": torch.device("cpu")},
        "trainer_name": "nnUNetTrainerNoMirroring",
        "inference_allowed_mirroring_axes": None,
    }
    torch.save(ckpt, os.path.join(OUT, "fold_0", "checkpoint_final.pth"))
    print("wrote", OUT, "after", it, "iterations")


if __name__ == "__main__":
    main()
