"""Inputs of the whole-pipeline benchmark (bench_pipeline.cpp), generated on demand, never committed:

  WORKDIR/ct_512x512x400.nii.gz   a 512x512x400 int16 CT at 0.8x0.8x1.0 mm (the sample CT
                                  examples/data/example_ct_sm.nii.gz trilinearly upsampled, plus Gaussian noise of
                                  sigma 10 HU, so the content and the gzip ratio are CT-like)
  WORKDIR/fullres_<S>mm/nnUNetTrainer__nnUNetPlans__3d_fullres/
                                  an nnU-Net v2 model folder with the 3d_fullres-sized network of anchors.md
                                  (PlainConvUNet, 6 stages, 32-64-128-256-320-320 features, 26 classes), patch 128^3,
                                  target spacing S mm isotropic, random weights (timing only), mirroring axes (0, 1, 2)
                                  so nnU-Net's default test-time mirroring applies.
  WORKDIR/v1_<S>mm/               (argument "v1:S") an nnU-Net v1 model folder (plans.pkl, all/model_final_checkpoint
                                  .model + .model.pkl) with the same-sized Generic_UNet (base 32, 5 poolings 2x2x2, the
                                  320 cap, 26 classes), patch 128^3, target spacing S mm, random weights (timing only).

Usage: /usr/bin/python3 tests/bench/make_bench_pipeline_inputs.py WORKDIR SPACING|v1:SPACING [...]
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import torch
from scipy.ndimage import zoom

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from dna_unet import PlainConvUNet, randomize_  # noqa: E402
from make_model_fixtures import plans_v23  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FEATURES = [32, 64, 128, 256, 320, 320]  # anchors.md "3D convolution and the nnU-Net 3d_fullres network"
N_CLASSES = 26
PATCH = [128, 128, 128]


def make_ct(path):
    if os.path.exists(path):
        return
    src = nib.load(os.path.join(ROOT, "examples", "data", "example_ct_sm.nii.gz"))
    s = np.asarray(src.dataobj, dtype=np.float32)
    v = zoom(s, [512 / s.shape[0], 512 / s.shape[1], 400 / s.shape[2]], order=1, mode="nearest", grid_mode=False)
    v += np.random.RandomState(12345).normal(0, 10, v.shape).astype(np.float32)
    aff = np.diag([-0.8, -0.8, 1.0, 1.0])
    img = nib.Nifti1Image(np.clip(np.rint(v), -32768, 32767).astype(np.int16), aff)
    img.header.set_qform(aff, 1)
    img.header.set_sform(aff, 1)
    nib.save(img, path)  # nibabel writes gzip level 9 by default; the level does not matter here


def make_model(folder, spacing):
    out = os.path.join(folder, "nnUNetTrainer__nnUNetPlans__3d_fullres")
    if os.path.exists(os.path.join(out, "fold_0", "checkpoint_final.pth")):
        return
    os.makedirs(os.path.join(out, "fold_0"), exist_ok=True)
    n = len(FEATURES)
    kernels = [[3, 3, 3]] * n
    strides = [[1, 1, 1]] + [[2, 2, 2]] * (n - 1)
    plans = plans_v23("Dataset999_Bench", "PlainConvUNet", FEATURES, kernels, strides, [2] * n, [2] * (n - 1), PATCH,
                      [spacing] * 3, 1)
    labels = {"background": 0, **{"class_%d" % c: c for c in range(1, N_CLASSES)}}
    ds = {"channel_names": {"0": "CT"}, "labels": labels, "numTraining": 1, "file_ending": ".nii.gz"}
    with open(os.path.join(out, "plans.json"), "w") as f:
        json.dump(plans, f, indent=2)
    with open(os.path.join(out, "dataset.json"), "w") as f:
        json.dump(ds, f, indent=2)
    net = randomize_(PlainConvUNet(1, FEATURES, kernels, strides, [2] * n, N_CLASSES, [2] * (n - 1)), seed=7)
    # The keys nnUNetPredictor.initialize_from_trained_model_folder reads (docs/nnunet-numerics.md §2.1).
    ckpt = {"network_weights": net.state_dict(), "trainer_name": "nnUNetTrainer",
            "init_args": {"plans": plans, "configuration": "3d_fullres", "fold": 0, "dataset_json": ds},
            "inference_allowed_mirroring_axes": (0, 1, 2)}
    torch.save(ckpt, os.path.join(out, "fold_0", "checkpoint_final.pth"))


def make_v1_model(folder, spacing):
    import pickle
    from collections import OrderedDict
    import make_v1_model_fixtures as v1
    if os.path.exists(os.path.join(folder, "all", "model_final_checkpoint.model.pkl")):
        return
    plans = v1.plans_tiny()
    plans["base_num_features"], plans["num_classes"], plans["all_classes"] = FEATURES[0], N_CLASSES - 1, list(range(1, N_CLASSES))
    st = plans["plans_per_stage"][0]
    st["pool_op_kernel_sizes"] = [[2, 2, 2]] * (len(FEATURES) - 1)
    st["conv_kernel_sizes"] = [[3, 3, 3]] * len(FEATURES)
    st["num_pool_per_axis"] = [len(FEATURES) - 1] * 3
    st["patch_size"] = np.array(PATCH, dtype=np.int64)
    st["current_spacing"] = np.array([spacing] * 3)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "plans.pkl"), "wb") as f:
        pickle.dump(plans, f, protocol=4)
    net = v1.GenericUNetV1(1, FEATURES[0], N_CLASSES, st["pool_op_kernel_sizes"], st["conv_kernel_sizes"], 2)
    v1.randomize(net, 5)
    os.makedirs(os.path.join(folder, "all"), exist_ok=True)
    # the keys nnU-Net v1's trainer.load_checkpoint_ram reads, and the (init, name, class, plans) of the .model.pkl
    torch.save({"epoch": 1000, "state_dict": net.state_dict(), "optimizer_state_dict": {}, "lr_scheduler_state_dict": None,
                "plot_stuff": ([], [], [], []), "best_stuff": (0, np.float64(0), np.float64(0))},
               os.path.join(folder, "all", "model_final_checkpoint.model"))
    init = ("/train/plans.pkl", "all", "/train/out", "/train/preprocessed", False, 0, True, False, True)
    with open(os.path.join(folder, "all", "model_final_checkpoint.model.pkl"), "wb") as f:
        pickle.dump(OrderedDict([("init", init), ("name", "nnUNetTrainerV2"), ("class", "nnUNetTrainerV2"), ("plans", plans)]),
                    f, protocol=4)


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    make_ct(os.path.join(work, "ct_512x512x400.nii.gz"))
    for s in sys.argv[2:]:
        if s.startswith("v1:"):
            make_v1_model(os.path.join(work, "v1_%smm" % s[3:]), float(s[3:]))
        else:
            make_model(os.path.join(work, "fullres_%smm" % s), float(s))
    print("ok")


if __name__ == "__main__":
    main()
