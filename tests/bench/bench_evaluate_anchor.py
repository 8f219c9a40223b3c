#!/usr/bin/python3
"""Anchor of bench_evaluate: the fastest Python route to the same metrics, in the same run.

Per label: crop both masks to their union bounding box (exact for medpy's definitions), medpy-style borders
(6-neighbour erosion), two scipy EDTs -> HD, HD95 (pooled), ASD both ways, ASSD, voxel NSD; DeepMind-style surfels
(2x2x2 neighbour codes by correlation, two EDTs on the corner grid) -> surfel NSD. Our own re-statement (numpy/scipy),
the same definitions as tests/reference/make_evaluate_fixtures.py. Also medpy's whole-volume route (border and EDT
on the full grid, as nnU-Net v1 calls medpy) on one label of a 128x128x48 sub-volume (whole-volume EDTs are slow: keep it small).
Usage: bench_evaluate_anchor.py REF.nii.gz PRED.nii.gz [--quick]
"""
import os
import sys
import time

import nibabel as nib
import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import make_evaluate_fixtures as ref_impl  # noqa: E402  (our own re-statement: area table, borders)


def main():
    rp, pp = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    ri, pi = nib.load(rp), nib.load(pp)
    ref = np.asarray(ri.dataobj).transpose(2, 1, 0)
    pred = np.asarray(pi.dataobj).transpose(2, 1, 0)
    t_read = time.perf_counter() - t0
    zooms = ri.header.get_zooms()[:3]
    spacing = (float(zooms[2]), float(zooms[1]), float(zooms[0]))
    t0 = time.perf_counter()
    c0 = time.process_time()
    labels = [int(l) for l in np.union1d(np.unique(ref), np.unique(pred)) if l != 0]
    objs_r = ndimage.find_objects(ref)
    objs_p = ndimage.find_objects(pred)
    table = ref_impl.area_table(spacing)
    hd95_sum = 0.0
    for l in labels:
        br = objs_r[l - 1] if l - 1 < len(objs_r) else None
        bp = objs_p[l - 1] if l - 1 < len(objs_p) else None
        if br is None or bp is None:
            continue
        sl = tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(br, bp))
        g = ref[sl] == l
        p = pred[sl] == l
        bg, bpp = ref_impl.medpy_border(g), ref_impl.medpy_border(p)
        d_pg = ndimage.distance_transform_edt(~bg, sampling=spacing)[bpp]
        d_gp = ndimage.distance_transform_edt(~bpp, sampling=spacing)[bg]
        pooled = np.hstack((d_pg, d_gp))
        hd95_sum += float(np.percentile(pooled, 95))
        _ = (max(d_pg.max(), d_gp.max()), d_pg.mean(), d_gp.mean(), pooled.mean(), [(np.sum(d_pg <= t) + np.sum(d_gp <= t)) for t in (1, 2)])
        # DeepMind surfels on the same crop
        cg = np.zeros(tuple(s + 1 for s in g.shape), np.uint8)
        cp = np.zeros_like(cg)
        cg[:-1, :-1, :-1] = g
        cp[:-1, :-1, :-1] = p
        kg = ndimage.correlate(cg, ref_impl.KERNEL, mode="constant", cval=0)
        kp = ndimage.correlate(cp, ref_impl.KERNEL, mode="constant", cval=0)
        sg, sp_ = (kg != 0) & (kg != 255), (kp != 0) & (kp != 255)
        dg = ndimage.distance_transform_edt(~sg, sampling=spacing)
        dp = ndimage.distance_transform_edt(~sp_, sampling=spacing)
        ag, ap = table[kg[sg]], table[kp[sp_]]
        for t in (1.0, 2.0):
            _ = (np.sum(ag[dp[sg] <= t]) + np.sum(ap[dg[sp_] <= t])) / (np.sum(ag) + np.sum(ap))
        # overlap
        _ = (np.sum(g & p), np.sum(g), np.sum(p))
    t_metrics = time.perf_counter() - t0
    c_metrics = time.process_time() - c0
    print("python cropped (read %.3f s + metrics %.3f s); sum of HD95 %.6f mm" % (t_read, t_metrics, hd95_sum))
    print("cropped_total: %.4f" % t_metrics)
    print("cropped_cpu: %.4f" % c_metrics)
    print("cropped_with_read: %.4f" % (t_read + t_metrics))
    if "--quick" not in sys.argv:
        # medpy's route: one label, border + EDT on the whole (sub-)volume, both directions
        sub = (slice(26, 74), slice(192, 320), slice(192, 320))
        l = 3
        g, p = ref[sub] == l, pred[sub] == l
        t0 = time.perf_counter()
        bg, bpp = ref_impl.medpy_border(g), ref_impl.medpy_border(p)
        d_pg = ndimage.distance_transform_edt(~bg, sampling=spacing)[bpp]
        d_gp = ndimage.distance_transform_edt(~bpp, sampling=spacing)[bg]
        hd95 = float(np.percentile(np.hstack((d_pg, d_gp)), 95))
        t_full = time.perf_counter() - t0
        print("medpy whole-volume route, 1 label of 128x128x48: %.4f s (hd95 %.6f)" % (t_full, hd95))
        print("fullvolume_one_label: %.4f" % t_full)


if __name__ == "__main__":
    main()
