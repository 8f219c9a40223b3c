#!/usr/bin/python3
"""PyTorch anchor for bench_unet: the same PlainConvUNet (dna_unet.py) and single Conv3d layers, 1 and 2 threads,
in the fastest configuration found among: default, mkldnn off, channels_last_3d. Prints key: seconds lines.
Needs Debian python3-torch; install libopenblas0-pthread first (Debian's default reference BLAS is far slower)."""
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from dna_unet import PlainConvUNet  # noqa: E402

quick = "--quick" in sys.argv
net_only = "--net-only" in sys.argv  # skip the single layers


def arg_list(flag, default):
    return [int(v) for v in sys.argv[sys.argv.index(flag) + 1].split()] if flag in sys.argv else default


patches = arg_list("--patches", [96] if quick else [96, 128])
thread_counts = arg_list("--threads", [1, 2])


def med(f, n):
    f()
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]


def configs():
    yield "default", lambda m, x: (m, x), True
    yield "mkldnn_off", lambda m, x: (m, x), False
    yield "channels_last_3d", lambda m, x: (m.to(memory_format=torch.channels_last_3d), x.to(memory_format=torch.channels_last_3d)), True


torch.set_grad_enabled(False)
print("torch", torch.__version__, "blas:", "openblas" if "openblas" in torch.__config__.show().lower() or os.path.exists(
    "/usr/lib/x86_64-linux-gnu/openblas-pthread") else "unknown")
for threads in thread_counts:
    torch.set_num_threads(threads)
    for ch, n in ((32, 128), (64, 64)):
        if (quick and n == 128) or net_only:
            continue
        conv = torch.nn.Conv3d(ch, ch, 3, 1, 1).eval()
        x = torch.randn(1, ch, n, n, n)
        best = None
        for name, prep, mk in configs():
            torch.backends.mkldnn.enabled = mk
            m, xx = prep(conv, x)
            t = med(lambda: m(xx), 3)
            best = (t, name) if best is None or t < best[0] else best
        print(f"conv{ch}_{n}_t{threads}: {best[0]} ({best[1]})")
    net = PlainConvUNet(1, [32, 64, 128, 256, 320, 320], [[3, 3, 3]] * 6, [[1, 1, 1]] + [[2, 2, 2]] * 5, [2] * 6, 26, [2] * 5).eval()
    for p in patches:
        x = torch.randn(1, 1, p, p, p)
        best = None
        for name, prep, mk in configs():
            torch.backends.mkldnn.enabled = mk
            m, xx = prep(net, x)
            t = med(lambda: m(xx), 1 if p == 128 else 2)
            best = (t, name) if best is None or t < best[0] else best
        print(f"net{p}_t{threads}: {best[0]} ({best[1]})")
print(f"torch_peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
