"""Anchor for bench_pipeline: the Python re-statement of nnUNetv2_predict (tests/reference/nnunet_predict_reference.py,
torch network on CPU, float32) on one CT with the demo model; prints "predict: <median seconds>".
Usage: /usr/bin/python3 bench_pipeline_torch.py MODEL_DIR CT THREADS REPS"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from nnunet_predict_reference import predict_case  # noqa: E402

model, ct, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
ts = []
for _ in range(reps):
    t0 = time.perf_counter()
    predict_case(model, ct)
    ts.append(time.perf_counter() - t0)
print("predict: %.6f" % sorted(ts)[len(ts) // 2])
