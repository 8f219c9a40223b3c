"""Tiny nnU-Net v1 model folders for the v1 loader tests (tests/data/model_v1/), written in v1's exact formats
(nnunet-v1-spec.md §1; nnU-Net v1.7.1 nnunet/training/network_training/network_trainer.py save_checkpoint and
nnUNetTrainer.py save_checkpoint):

  tiny/plans.pkl                               pickle (protocol 4) of the plans dict, numpy arrays and scalars inside
  tiny/{fold_0,fold_1,all}/model_final_checkpoint.model  torch.save dict: epoch, state_dict, optimizer_state_dict,
                                                      lr_scheduler_state_dict, plot_stuff, best_stuff, amp_grad_scaler
  tiny/{fold_0,all}/model_final_checkpoint.model.pkl  OrderedDict(init, name, class, plans); fold_0 has the plans.pkl
                                                      target spacing (3, 0.8, 0.8) (anisotropic), all has (1.2, 1, 1),
                                                      fold_1 transposes the axes (transpose_forward [2, 0, 1])

The network is a re-statement of Generic_UNet as nnUNetTrainerV2 builds it (spec §2: module names and registration
order, transposed convs and segmentation heads without bias, decoder stage u using conv_kernel_sizes[-(u+1)]), with
fixed random weights (different per fold). For each fold the final (full-resolution) head's output on a fixed input
is recorded as raw little-endian float32 (<fold>_input.f32, <fold>_output.f32) — the oracle for the C++ forward test.

Run with Debian's python3:  /usr/bin/python3 tests/reference/make_v1_model_fixtures.py
"""
import os
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "model_v1")


class ConvDropoutNormNonlin(nn.Module):  # spec §2.1: conv -> instnorm -> lrelu, no dropout module for p = 0
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, stride, [1 if x == 3 else 0 for x in k], bias=True)
        self.instnorm = nn.InstanceNorm3d(cout, eps=1e-5, affine=True)
        self.lrelu = nn.LeakyReLU(1e-2)

    def forward(self, x):
        return self.lrelu(self.instnorm(self.conv(x)))


class StackedConvLayers(nn.Module):
    def __init__(self, cin, cout, n, k, first_stride=None):
        super().__init__()
        s0 = first_stride if first_stride is not None else [1, 1, 1]
        self.blocks = nn.Sequential(*([ConvDropoutNormNonlin(cin, cout, k, s0)] +
                                      [ConvDropoutNormNonlin(cout, cout, k, [1, 1, 1]) for _ in range(n - 1)]))

    def forward(self, x):
        return self.blocks(x)


class GenericUNetV1(nn.Module):
    """Inference re-statement of Generic_UNet (nnunet-v1-spec.md §2.1-2.3)."""

    def __init__(self, cin, base, num_classes, pool, kernels, n_conv, max_f=320):
        super().__init__()
        P = len(pool)
        F = [min(base * 2 ** d, max_f) for d in range(P + 1)]
        ctx, loc, tu, seg = [], [], [], []
        for d in range(P):
            ctx.append(StackedConvLayers(cin if d == 0 else F[d - 1], F[d], n_conv, kernels[d],
                                         None if d == 0 else pool[d - 1]))
        ctx.append(nn.Sequential(StackedConvLayers(F[P - 1], F[P], n_conv - 1, kernels[P], pool[P - 1]),
                                 StackedConvLayers(F[P], F[P], 1, kernels[P])))
        for u in range(P):
            f = F[P - 1 - u]
            tu.append(nn.ConvTranspose3d(F[P - u], f, pool[P - 1 - u], pool[P - 1 - u], bias=False))
            k = kernels[-(u + 1)]  # the quirk: one level deeper than the resolution
            loc.append(nn.Sequential(StackedConvLayers(2 * f, f, n_conv - 1, k), StackedConvLayers(f, f, 1, k)))
            seg.append(nn.Conv3d(f, num_classes, 1, 1, 0, 1, 1, bias=False))
        # registration order of Generic_UNet.__init__: localization, context, td (empty), tu, seg_outputs
        self.conv_blocks_localization = nn.ModuleList(loc)
        self.conv_blocks_context = nn.ModuleList(ctx)
        self.tu = nn.ModuleList(tu)
        self.seg_outputs = nn.ModuleList(seg)

    def forward(self, x):
        skips = []
        P = len(self.tu)
        for d in range(P):
            x = self.conv_blocks_context[d](x)
            skips.append(x)
        x = self.conv_blocks_context[P](x)
        outs = []
        for u in range(P):
            x = self.tu[u](x)
            x = torch.cat((x, skips[-(u + 1)]), dim=1)
            x = self.conv_blocks_localization[u](x)
            outs.append(self.seg_outputs[u](x))
        return outs[-1]


def randomize(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "instnorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[1] * int(np.prod(p.shape[2:]))
                p.copy_(torch.randn(p.shape, generator=g) * np.sqrt(2.0 / fan_in))


def plans_tiny():
    pool = [[1, 2, 2], [2, 2, 2]]
    kernels = [[1, 3, 3], [3, 3, 3], [3, 3, 3]]
    intensity = OrderedDict([(0, OrderedDict([
        ("local_props", OrderedDict()),
        ("median", np.float32(220.0)), ("mean", np.float32(250.53125)), ("sd", np.float32(190.25)),
        ("mn", np.float32(-1024.0)), ("mx", np.float32(3071.0)),
        ("percentile_99_5", np.float64(1300.0)), ("percentile_00_5", np.float64(-80.0))]))])
    stage0 = {"batch_size": 2, "num_pool_per_axis": [1, 2, 2], "patch_size": np.array([8, 16, 16], dtype=np.int64),
              "median_patient_size_in_voxels": np.array([30, 60, 60], dtype=np.int64),
              "current_spacing": np.array([3.0, 0.8, 0.8]), "original_spacing": np.array([3.0, 0.8, 0.8]),
              "do_dummy_2D_data_aug": False, "pool_op_kernel_sizes": pool, "conv_kernel_sizes": kernels}
    return {
        "num_stages": 1, "num_modalities": 1, "modalities": {0: "CT"},
        "normalization_schemes": OrderedDict([(0, "CT")]),
        "dataset_properties": {"all_sizes": [(30, 60, 60)], "all_spacings": [np.array([3.0, 0.8, 0.8])],
                               "all_classes": [1, 2], "modalities": {0: "CT"}, "intensityproperties": intensity,
                               "size_reductions": OrderedDict([("case_0", np.float64(0.9))])},
        "list_of_npz_files": ["/train/case_0.npz"], "original_spacings": [np.array([3.0, 0.8, 0.8])],
        "original_sizes": [(30, 60, 60)], "preprocessed_data_folder": "/train/preprocessed",
        "num_classes": 2, "all_classes": [1, 2], "base_num_features": 2,
        "use_mask_for_norm": OrderedDict([(0, False)]), "keep_only_largest_region": None,
        "min_region_size_per_class": None, "min_size_per_class": None,
        "transpose_forward": [np.int64(0), 1, 2], "transpose_backward": [np.int64(0), 1, 2],
        "data_identifier": "nnUNetData_plans_v2.1", "plans_per_stage": {0: stage0},
        "preprocessor_name": "GenericPreprocessor", "conv_per_stage": 2,
    }


def with_spacing(plans, spacing):
    """The plans with another target spacing (v1 reads the plans from each run's .model.pkl; the fixture's `all` run
    uses a near-isotropic target so that predict can be tested without separate-z resampling)."""
    import copy
    p = copy.deepcopy(plans)
    p["plans_per_stage"][0]["current_spacing"] = np.array(spacing)
    return p


def write_fold(folder, fold_dir, fold_name, plans, seed):
    st = plans["plans_per_stage"][0]
    net = GenericUNetV1(1, plans["base_num_features"], plans["num_classes"] + 1, st["pool_op_kernel_sizes"],
                        st["conv_kernel_sizes"], plans["conv_per_stage"])
    randomize(net, seed)
    d = os.path.join(folder, fold_dir)
    os.makedirs(d)
    sd = OrderedDict((k, v.detach().cpu()) for k, v in net.state_dict().items())
    ckpt = {"epoch": 1000, "state_dict": sd,
            "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 1e-5, "momentum": 0.99, "params": [0, 1]}]},
            "lr_scheduler_state_dict": None,
            "plot_stuff": ([np.float32(0.5), np.float32(0.25)], [np.float32(0.6)], [], [np.float64(0.7)]),
            "best_stuff": (900, np.float64(0.71), np.float64(0.72)), "amp_grad_scaler": {}}
    torch.save(ckpt, os.path.join(d, "model_final_checkpoint.model"))
    init = ("/train/plans.pkl", fold_name, "/train/out", "/train/preprocessed", False, 0, True, False, True)
    info = OrderedDict([("init", init), ("name", "nnUNetTrainerV2"),
                        ("class", "<class 'nnunet.training.network_training.nnUNetTrainerV2.nnUNetTrainerV2'>"),
                        ("plans", plans)])
    with open(os.path.join(d, "model_final_checkpoint.model.pkl"), "wb") as f:
        pickle.dump(info, f, protocol=4)
    g = torch.Generator().manual_seed(seed + 1000)
    x = torch.randn((1, 1, 4, 8, 12), generator=g)
    with torch.no_grad():
        y = net(x)
    x.numpy().astype("<f4").tofile(os.path.join(folder, fold_dir + "_input.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(folder, fold_dir + "_output.f32"))
    return net


def main():
    torch.set_num_threads(1)
    folder = os.path.join(OUT, "tiny")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    plans = plans_tiny()
    with open(os.path.join(folder, "plans.pkl"), "wb") as f:
        pickle.dump(plans, f, protocol=4)
    write_fold(folder, "fold_0", 0, plans, 11)
    write_fold(folder, "all", "all", with_spacing(plans, [1.2, 1.0, 1.0]), 22)
    # fold_1: plans whose axes are transposed (transpose_forward [2, 0, 1], as v1 plans a CT whose x axis is the
    # coarsest), to test v1's transposes and its export separate-z quirk
    tp = with_spacing(plans, [3.0, 0.8, 0.8])
    tp["transpose_forward"], tp["transpose_backward"] = [np.int64(2), 0, 1], [np.int64(1), 2, 0]
    write_fold(folder, "fold_1", 1, tp, 33)
    for root, _, files in os.walk(folder):
        for n in sorted(files):
            print(os.path.relpath(os.path.join(root, n), OUT), os.path.getsize(os.path.join(root, n)))


if __name__ == "__main__":
    main()
