"""Anchor for `ctspine_bench_pipeline --v1`: the real nnU-Net v1 predict of one CT with a v1 model folder, in the
order nnUNet_predict runs it (nnunet/inference/predict.py, v1.7.1): crop_to_nonzero, GenericPreprocessor
.resample_and_normalize, Generic_UNet.predict_3D (sliding window, Gaussian, float32 softmax), then
save_segmentation_nifti_from_softmax (the softmax resampled back to the cropped CT's shape, argmax, uncrop).

nnU-Net v1 is NOT installed by this project: point NNUNET_V1_PATH at a folder from which `import nnunet` (v1.7.1) and
`import batchgenerators` work (e.g. your own checkouts, or site-packages of an environment where you installed them).
When SimpleITK is not importable, a stand-in module records the written array instead of writing a file (reading is
done with nibabel here, so only the final write is affected; every numerical step is nnU-Net v1's own code).

Prints "load/preprocess/predict/export/total: <s>" and "peak_rss_mb: <MB>"; a stage that fails (e.g. MemoryError in
v1's export, which holds the softmax of every class at the CT's full resolution in float64) prints "failed: in the <stage> stage, <error>" after the stages that finished.
Usage: NNUNET_V1_PATH=DIR /usr/bin/python3 bench_pipeline_v1_anchor.py MODEL_DIR CT THREADS TTA(0|1)"""
import os
import resource
import sys
import tempfile
import time
import types

import nibabel as nib
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.environ.get("NNUNET_V1_PATH", ""))
try:
    import SimpleITK  # noqa: F401
except ImportError:  # stand-in: only GetImageFromArray/Set*/WriteImage are used by v1's export
    class _Image:
        def __init__(self, a):
            self.a = a

        def __getattr__(self, name):
            return lambda *args: None

    stub = types.ModuleType("SimpleITK")
    stub.GetImageFromArray = _Image
    stub.WriteImage = lambda img, path: None
    sys.modules["SimpleITK"] = stub
from nnunet.inference.segmentation_export import save_segmentation_nifti_from_softmax  # noqa: E402
from nnunet.network_architecture.generic_UNet import Generic_UNet  # noqa: E402
from nnunet.network_architecture.initialization import InitWeights_He  # noqa: E402
from nnunet.preprocessing.cropping import crop_to_nonzero  # noqa: E402
from nnunet.preprocessing.preprocessing import GenericPreprocessor  # noqa: E402
from nnunet.utilities.nd_softmax import softmax_helper  # noqa: E402
import pickle  # noqa: E402

model, ct_path, threads, tta = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
torch.set_num_threads(threads)
t, stage = {}, "load"
t0 = t1 = time.perf_counter()


def done(name):
    global t1
    now = time.perf_counter()
    t[name] = now - t1
    print("%s: %.3f" % (name, t[name]), flush=True)
    t1 = now


try:
    info = pickle.load(open(os.path.join(model, "all", "model_final_checkpoint.model.pkl"), "rb"))
    plans = info["plans"]
    st = plans["plans_per_stage"][info["init"][5]]
    # nnUNetTrainerV2.initialize_network (v1.7.1), inference configuration
    net = Generic_UNet(1, plans["base_num_features"], plans["num_classes"] + 1, len(st["pool_op_kernel_sizes"]),
                       plans["conv_per_stage"], 2, nn.Conv3d, nn.InstanceNorm3d, {"eps": 1e-5, "affine": True},
                       nn.Dropout3d, {"p": 0, "inplace": True}, nn.LeakyReLU, {"negative_slope": 1e-2, "inplace": True},
                       True, False, lambda x: x, InitWeights_He(1e-2), st["pool_op_kernel_sizes"], st["conv_kernel_sizes"],
                       False, True, True)
    net.load_state_dict(torch.load(os.path.join(model, "all", "model_final_checkpoint.model"), map_location="cpu")["state_dict"])
    net.eval()
    net.do_ds = False
    net.inference_apply_nonlin = softmax_helper
    img = nib.load(ct_path)
    ct = np.asarray(img.dataobj, dtype=np.float32).transpose(2, 1, 0).copy()  # SimpleITK's array order (z, y, x)
    z = img.header.get_zooms()[:3]
    spacing = (float(z[2]), float(z[1]), float(z[0]))
    done("load")
    stage = "preprocess"
    props = {"original_size_of_raw_data": np.array(ct.shape), "original_spacing": np.array(spacing),
             "itk_spacing": spacing[::-1], "itk_origin": (0, 0, 0), "itk_direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    data, _, bbox = crop_to_nonzero(ct[None], None)
    props["crop_bbox"], props["size_after_cropping"] = bbox, data[0].shape
    data = data.transpose((0, *[i + 1 for i in plans["transpose_forward"]]))
    pp = GenericPreprocessor(plans["normalization_schemes"], plans["use_mask_for_norm"], plans["transpose_forward"],
                             plans["dataset_properties"]["intensityproperties"])
    data, _, props = pp.resample_and_normalize(data, st["current_spacing"], props, None, force_separate_z=None)
    data = data.astype(np.float32)
    done("preprocess")
    stage = "predict"
    sm = net.predict_3D(data, do_mirroring=tta, mirror_axes=(0, 1, 2), use_sliding_window=True, step_size=0.5,
                        patch_size=[int(p) for p in st["patch_size"]], regions_class_order=None, use_gaussian=True,
                        pad_border_mode="constant", pad_kwargs={"constant_values": 0}, all_in_gpu=False, verbose=False,
                        mixed_precision=False)[1]
    done("predict")
    stage = "export"
    sm = sm.transpose([0] + [i + 1 for i in plans["transpose_backward"]])
    out = os.path.join(tempfile.mkdtemp(), "seg.nii.gz")
    save_segmentation_nifti_from_softmax(sm, out, props, 1, None, None, None, None, None, None, 0)
    done("export")
    if os.path.exists(out):
        os.remove(out)
    print("total: %.3f" % (time.perf_counter() - t0))
except Exception as e:  # noqa: BLE001 -- a benchmark reports the failure and the stages that finished
    print("failed: in the %s stage, %s (%s)" % (stage, type(e).__name__, str(e).splitlines()[0] if str(e) else ""), flush=True)
print("peak_rss_mb: %d" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
