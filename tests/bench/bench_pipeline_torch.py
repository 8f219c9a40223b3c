"""Anchor for bench_pipeline: the Python re-statement of nnUNetv2_predict (tests/reference/nnunet_predict_reference.py:
numpy/skimage preprocessing and export, torch network on CPU, float32, fp16 accumulation) on one CT.

Prints, for the median run: "total: <s>", the split "preprocess: <s>" (skimage resize of the normalised CT),
"predict: <s>" (sliding window incl. mirroring), "export: <s>" (resize of the logits back), "other: <s>" (model and
CT loading, crop, normalisation, argmax), and "peak_rss_mb: <MB>" of this process.
Usage: /usr/bin/python3 bench_pipeline_torch.py MODEL_DIR CT THREADS REPS [--no-tta]"""
import os
import resource
import sys
import time

import skimage.transform
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import nnunet_predict_reference as ref  # noqa: E402

model, ct, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)

# Stage timing without touching the reference: wrap the two functions predict_case calls by name at call time.
clock = {"resize": [], "predict": 0.0}
_resize, _sw = skimage.transform.resize, ref.sliding_window


def timed_resize(*a, **k):
    t0 = time.perf_counter()
    r = _resize(*a, **k)
    clock["resize"].append(time.perf_counter() - t0)
    return r


def timed_sw(x, patch, ncls, net, step=0.5, axes=None):
    t0 = time.perf_counter()
    if "--no-tta" in sys.argv:
        axes = None
    r = _sw(x, patch, ncls, net, step, axes)
    clock["predict"] += time.perf_counter() - t0
    return r


skimage.transform.resize = timed_resize
ref.sliding_window = timed_sw
runs = []
for _ in range(reps):
    clock["resize"], clock["predict"] = [], 0.0
    t0 = time.perf_counter()
    ref.predict_case(model, ct)
    total = time.perf_counter() - t0
    pre = clock["resize"][0] if clock["resize"] else 0.0  # the first resize is the CT's, the rest are the logits'
    exp = sum(clock["resize"][1:])
    runs.append({"total": total, "preprocess": pre, "predict": clock["predict"], "export": exp,
                 "other": total - pre - clock["predict"] - exp})
med = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]
for k, v in med.items():
    print("%s: %.6f" % (k, v))
print("peak_rss_mb: %d" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
