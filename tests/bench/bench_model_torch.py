#!/usr/bin/python3
"""Anchor for bench_model: writes (once) an nnU-Net-style checkpoint of the n=6 3d_fullres PlainConvUNet
(features 32..320, 26 classes, 31,214,914 parameters; docs/nnunet-numerics.md §2.2) with a real SGD optimizer state, as
nnUNetTrainer.save_checkpoint does, to the path given, then times torch.load(weights_only=False) of it
(median of 5). Prints "torch_load: seconds". Never committed: the file is ~250 MB and lives in /tmp."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from dna_unet import PlainConvUNet  # noqa: E402

path = sys.argv[1]
if not os.path.exists(path):
    net = PlainConvUNet(1, [32, 64, 128, 256, 320, 320], [[3, 3, 3]] * 6, [[1, 1, 1]] + [[2, 2, 2]] * 5, [2] * 6, 26, [2] * 5)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    torch.save({"network_weights": net.state_dict(), "optimizer_state": opt.state_dict(), "grad_scaler_state": None,
                "logging": {}, "_best_ema": None, "current_epoch": 1000,
                "init_args": {"plans": {}, "configuration": "3d_fullres", "fold": 0, "dataset_json": {},
                              "device": torch.device("cpu")},
                "trainer_name": "nnUNetTrainer", "inference_allowed_mirroring_axes": (0, 1, 2)}, path)
torch.set_num_threads(1)
times = []
for _ in range(5):
    t0 = time.perf_counter()
    ck = torch.load(path, map_location="cpu")
    sd = ck["network_weights"]
    times.append(time.perf_counter() - t0)
print("params:", sum(t.numel() for k, t in sd.items() if not k.startswith("decoder.encoder.") and ".all_modules." not in k))
print("torch_load:", sorted(times)[2])
