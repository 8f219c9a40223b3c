#!/usr/bin/python3
"""Export the network that ctspine_bench_unet runs to ONNX (fp32), one static-shape model per patch, and write a
seeded input plus PyTorch's output for it (so bench_onnx.js can check that ONNX Runtime / OpenVINO compute the same
function). Optionally times PyTorch's forward pass on the same module, 1 and 2 threads, default configuration only
(the full 3-configuration anchor is ../bench_unet_torch.py).

The network is PlainConvUNet from ../../reference/dna_unet.py with the arguments bench_unet_torch.py uses: features
32,64,128,256,320,320; 6 stages; 3x3x3 kernels; strides 1,2,2,2,2,2; 2 convs per stage (encoder and decoder);
1 input channel; 26 classes; conv bias; InstanceNorm3d(affine, eps 1e-5) + LeakyReLU(0.01); only the last seg
layer's output. Weights: dna_unet.randomize_(net, seed=0).

Usage: export_unet_onnx.py OUTDIR [--patches 96 128] [--threads 1 2] [--no-torch-timing] [--opset 13]
Writes OUTDIR/unet_p{P}.onnx (kept if present), OUTDIR/input_p{P}.f32, OUTDIR/ref_p{P}.f32 (raw little-endian
float32, C order, shapes 1x1xPxPxP and 1x26xPxPxP) and OUTDIR/torch.json.
Run with Debian's /usr/bin/python3 (python3-torch). torch.onnx.export writes the protobuf itself; the Python
`onnx` package is not needed.
"""
import argparse
import json
import os
import sys
import time
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))
from dna_unet import PlainConvUNet, randomize_  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("outdir")
ap.add_argument("--patches", type=int, nargs="+", default=[96, 128])
ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
ap.add_argument("--no-torch-timing", action="store_true")
ap.add_argument("--opset", type=int, default=13)
args = ap.parse_args()
os.makedirs(args.outdir, exist_ok=True)

torch.set_grad_enabled(False)
net = PlainConvUNet(1, [32, 64, 128, 256, 320, 320], [[3, 3, 3]] * 6, [[1, 1, 1]] + [[2, 2, 2]] * 5, [2] * 6, 26,
                    [2] * 5).eval()
randomize_(net, seed=0)
n_params = sum(p.numel() for p in net.parameters())
assert n_params == 31214914, n_params  # same count as ctspine_bench_unet prints
info = {"torch": torch.__version__, "parameters": n_params, "opset": args.opset, "timing": {}, "config": "default"}
print(f"torch {torch.__version__}; PlainConvUNet {n_params} parameters", flush=True)


def med(f, n):
    # same protocol as bench_unet_torch.py: one untimed call, then the median of n
    out = f()
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2], out


for p in args.patches:
    onnx_path = os.path.join(args.outdir, f"unet_p{p}.onnx")
    if not os.path.exists(onnx_path):
        t0 = time.perf_counter()
        torch.set_num_threads(max(args.threads))
        with warnings.catch_warnings():
            # InstanceNorm3d without running stats is exported as ONNX InstanceNormalization either way; torch warns
            # that it exports instance_norm with train=True, which is what inference does for this layer.
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(net, torch.zeros(1, 1, p, p, p), onnx_path + ".tmp", opset_version=args.opset,
                              input_names=["input"], output_names=["logits"], do_constant_folding=True)
        os.replace(onnx_path + ".tmp", onnx_path)
        print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s",
              flush=True)
    g = torch.Generator().manual_seed(1000 + p)
    x = torch.randn(1, 1, p, p, p, generator=g)
    x.numpy().tofile(os.path.join(args.outdir, f"input_p{p}.f32"))
    y = None
    if not args.no_torch_timing:
        info["timing"][str(p)] = {}
        for t in args.threads:
            torch.set_num_threads(t)
            s, y = med(lambda: net(x), 1 if p >= 128 else 2)
            info["timing"][str(p)][str(t)] = s
            print(f"torch {p}^3 {t} thr: {s:.3f} s", flush=True)
    if y is None:
        torch.set_num_threads(max(args.threads))
        y = net(x)
    y.contiguous().numpy().tofile(os.path.join(args.outdir, f"ref_p{p}.f32"))

with open(os.path.join(args.outdir, "torch.json"), "w") as f:
    json.dump(info, f, indent=1)
