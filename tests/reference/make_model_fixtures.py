"""Tiny nnU-Net v2 model folders for the model-loader tests (tests/data/model/), written the way nnU-Net does:
plans.json, dataset.json and fold_N/checkpoint_final.pth saved with torch.save in nnUNetTrainer.save_checkpoint's
dict layout (nnunetv2/training/nnUNetTrainer/nnUNetTrainer.py; docs/nnunet-numerics.md §1, §2.1). Networks come from
dna_unet.py (exact dynamic_network_architectures module names). For each model, fold 0's network is run on a
fixed input and input/output are recorded (raw little-endian float32) as the oracle for the C++ forward test;
per-key weight statistics (sum, first/last values, shape) are recorded as the oracle for the checkpoint reader.

Also writes misc/dtypes.pth: tensors of every float dtype, non-contiguous views, storage offsets and a shared storage.

Run with Debian's python3:  /usr/bin/python3 tests/reference/make_model_fixtures.py
"""
import json
import os
import shutil

import numpy as np
import torch

from dna_unet import PlainConvUNet, ResidualEncoderUNet, randomize_

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "model")

CONV = "torch.nn.modules.conv.Conv3d"
NORM = "torch.nn.modules.instancenorm.InstanceNorm3d"


def fg_props():
    return {"0": {"max": 3071.0, "mean": 250.5, "median": 220.0, "min": -1024.0,
                  "percentile_00_5": -80.0, "percentile_99_5": 1300.0, "std": 190.25}}


def resampling_kwargs():
    return {
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
    }


def plans_v23(name, cls, features, kernels, strides, n_conv, n_conv_dec, patch, spacing, n_in):
    arch_kwargs = {"n_stages": len(features), "features_per_stage": features, "conv_op": CONV,
                   "kernel_sizes": kernels, "strides": strides,
                   "n_conv_per_stage" if cls == "PlainConvUNet" else "n_blocks_per_stage": n_conv,
                   "n_conv_per_stage_decoder": n_conv_dec, "conv_bias": True, "norm_op": NORM,
                   "norm_op_kwargs": {"eps": 1e-05, "affine": True}, "dropout_op": None, "dropout_op_kwargs": None,
                   "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True}}
    base = {"data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 2, "patch_size": patch, "median_image_size_in_voxels": [64, 80, 80], "spacing": spacing,
            "normalization_schemes": ["CTNormalization"] + ["ZScoreNormalization"] * (n_in - 1),
            "use_mask_for_norm": [False] * n_in, **resampling_kwargs(), "batch_dice": False,
            "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet." + cls,
                             "arch_kwargs": arch_kwargs, "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}}
    return {"dataset_name": name, "plans_name": "nnUNetPlans", "original_median_spacing_after_transp": spacing,
            "original_median_shape_after_transp": [64, 80, 80], "image_reader_writer": "SimpleITKIO",
            "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
            "configurations": {
                "3d_fullres": base,
                # inherits_from: the child overrides only what differs (PlansManager resolves inheritance)
                "3d_lowres": {"inherits_from": "3d_fullres", "data_identifier": "nnUNetPlans_3d_lowres",
                              "spacing": [s * 2 for s in spacing], "next_stage": "3d_cascade_fullres"},
                "3d_cascade_fullres": {"inherits_from": "3d_fullres", "previous_stage": "3d_lowres"},
                "2d": {**base, "patch_size": patch[1:], "spacing": spacing[1:]}},
            "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
            "foreground_intensity_properties_per_channel": fg_props()}


def plans_v21(name, cls, base_features, max_features, kernels, strides, n_conv, n_conv_dec, patch, spacing, n_in):
    cfg = {"data_identifier": "nnUNetPlans_3d_fullres", "preprocessor_name": "DefaultPreprocessor",
           "batch_size": 2, "patch_size": patch, "median_image_size_in_voxels": [64, 80, 80], "spacing": spacing,
           "normalization_schemes": ["CTNormalization"] + ["ZScoreNormalization"] * (n_in - 1),
           "use_mask_for_norm": [False] * n_in, "UNet_class_name": cls, "UNet_base_num_features": base_features,
           "n_conv_per_stage_encoder": n_conv, "n_conv_per_stage_decoder": n_conv_dec,
           "num_pool_per_axis": [sum(1 for s in strides if s[a] == 2) for a in range(3)],
           "pool_op_kernel_sizes": strides, "conv_kernel_sizes": kernels, "unet_max_num_features": max_features,
           **resampling_kwargs(), "batch_dice": True}
    return {"dataset_name": name, "plans_name": "nnUNetPlans", "original_median_spacing_after_transp": spacing,
            "original_median_shape_after_transp": [64, 80, 80], "image_reader_writer": "SimpleITKIO",
            "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
            "configurations": {"3d_fullres": cfg}, "experiment_planner_used": "ExperimentPlanner",
            "label_manager": "LabelManager", "foreground_intensity_properties_per_channel": fg_props()}


def save_checkpoint(path, net, plans, dataset_json, configuration, fold, trainer, mirror):
    # nnUNetTrainer.save_checkpoint: the dict keys and value types as the trainer writes them.
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True, weight_decay=3e-5)
    x = torch.randn(1, net_in(net), *plans["configurations"][configuration]["patch_size"])
    net(x).sum().backward()
    opt.step()
    opt.zero_grad()
    ckpt = {
        "network_weights": net.state_dict(),
        "optimizer_state": opt.state_dict(),
        "grad_scaler_state": None,
        "logging": {"mean_fg_dice": [np.float64(0.25), np.float64(0.5)], "ema_fg_dice": [np.float64(0.3)],
                    "train_losses": [np.float32(-0.125)], "epoch_start_timestamps": [1700000000.5],
                    "dice_per_class_or_region": [[np.float64(0.1), np.float64(0.2)]]},
        "_best_ema": np.float64(0.3),
        "current_epoch": 1000,
        "init_args": {"plans": plans, "configuration": configuration, "fold": fold, "dataset_json": dataset_json,
                      "device": torch.device("cpu")},
        "trainer_name": trainer,
        "inference_allowed_mirroring_axes": mirror,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(ckpt, path)


_IN = {}


def net_in(net):
    return _IN[id(net)]


def weight_stats(net):
    out = {}
    for k, t in net.state_dict().items():
        if k.startswith("decoder.encoder.") or ".all_modules." in k:
            continue
        v = t.detach().double().flatten()
        out[k] = {"shape": list(t.shape), "sum": float(v.sum()), "first": float(t.flatten()[0]),
                  "last": float(t.flatten()[-1])}
    return out


def make_model(folder, plans, dataset_json, build, n_in, folds, trainer, mirror, patch, seed):
    path = os.path.join(OUT, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    with open(os.path.join(path, "plans.json"), "w") as f:
        json.dump(plans, f, indent=4)
    with open(os.path.join(path, "dataset.json"), "w") as f:
        json.dump(dataset_json, f, indent=4)
    meta = {"folds": {}}
    for fold in folds:
        torch.manual_seed(seed + fold)
        net = randomize_(build(), seed=seed + fold)
        _IN[id(net)] = n_in
        save_checkpoint(os.path.join(path, "fold_%d" % fold, "checkpoint_final.pth"), net, plans, dataset_json,
                        "3d_fullres", fold, trainer, mirror)
        # After save_checkpoint's SGD step the saved weights are net's current weights.
        net.eval()
        meta["folds"][str(fold)] = {"weights": weight_stats(net),
                                    "parameter_count": sum(p.numel() for p in net.parameters())}
        if fold == folds[0]:
            g = torch.Generator().manual_seed(1234)
            x = torch.randn(1, n_in, *patch, generator=g)
            with torch.no_grad():
                y = net(x)
            x.numpy().astype("<f4").tofile(os.path.join(path, "input.f32"))
            y.numpy().astype("<f4").tofile(os.path.join(path, "output.f32"))
            meta["input_shape"] = list(x.shape[1:])
            meta["output_shape"] = list(y.shape[1:])
            meta["forward_fold"] = fold
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    ds = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "vertebra": 1, "disc": 2},
          "numTraining": 10, "file_ending": ".nii.gz"}

    # 1) PlainConvUNet, >=2.3 "architecture" plans, anisotropic first stage, two folds, mirroring (0, 1, 2).
    f, k = [4, 8, 8], [[1, 3, 3], [3, 3, 3], [3, 3, 3]]
    s, patch = [[1, 1, 1], [1, 2, 2], [2, 2, 2]], [8, 16, 16]
    p = plans_v23("Dataset901_TinyPlain", "PlainConvUNet", f, k, s, [2, 2, 2], [2, 2], patch, [2.5, 0.8, 0.8], 1)
    make_model("plain_v23", p, ds, lambda: PlainConvUNet(1, f, k, s, [2, 2, 2], 3, [2, 2]), 1, [0, 1],
               "nnUNetTrainer", (0, 1, 2), patch, 10)

    # 2) ResidualEncoderUNet, flat v2.1 plans (features = min(base * 2^i, max)), 2 channels, no mirroring.
    ds2 = {"channel_names": {"0": "CT", "1": "mask"}, "labels": {"background": 0, "L1": 1, "L2": 2, "L3": 3},
           "numTraining": 4, "file_ending": ".nii.gz"}
    f2, k2 = [4, 8, 8], [[3, 3, 3], [3, 3, 3], [3, 3, 3]]
    s2, patch2 = [[1, 1, 1], [2, 2, 2], [2, 2, 1]], [8, 8, 8]
    p2 = plans_v21("Dataset902_TinyResEnc", "ResidualEncoderUNet", 4, 8, k2, s2, [1, 2, 2], [1, 1], patch2,
                   [1.0, 1.0, 1.0], 2)
    make_model("resenc_v21", p2, ds2, lambda: ResidualEncoderUNet(2, f2, k2, s2, [1, 2, 2], 4, [1, 1]), 2, [0],
               "nnUNetTrainerNoMirroring", None, patch2, 20)

    # 3) dtype / layout corner cases for the checkpoint reader.
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8 - 1
    shared = torch.linspace(-2, 2, 10)
    t = {"f32": base.clone(), "f16": base.half(), "bf16": base.bfloat16(), "f64": base.double(),
         "i64": torch.arange(5, dtype=torch.int64), "transposed": base.clone().transpose(0, 2),
         "shared_a": shared, "shared_b": shared[3:7], "scalar": torch.tensor(2.5)}
    misc = os.path.join(OUT, "misc")
    os.makedirs(misc, exist_ok=True)
    torch.save({"tensors": t, "numbers": [1, -2, 300, 70000, -(2 ** 40), 1.5, True, None, "txt", b"by"]},
               os.path.join(misc, "dtypes.pth"))
    exp = {k: {"shape": list(v.shape), "values": [float(x) for x in v.double().flatten()]} for k, v in t.items()}
    with open(os.path.join(misc, "dtypes.json"), "w") as f:
        json.dump(exp, f, indent=0)


if __name__ == "__main__":
    main()
