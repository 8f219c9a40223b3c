#!/usr/bin/python3
"""Independent check of `ctspine benchmark`'s tables (run by ctest with Debian's python3, numpy, scipy, nibabel).

Recomputes, from the prediction files the benchmark left in OUT/predictions and the label maps under ROOT, every
number of OUT/benchmark.md and the Dice / HD95 / status columns of OUT/cases.csv, from the definitions (our own
re-statement, no ctspine code):
  - Dice: nnU-Net v1 metrics.py, 2TP / (2TP + FP + FN); both masks empty -> NaN (a missed or extra label scores 0);
  - HD95: medpy 0.5.2 hd95 with connectivity 1 (nnU-Net v1's "Hausdorff Distance 95"): border = mask XOR its
    binary_erosion with the 6-neighbour cross (outside the image is background), distances from each border voxel to
    the other border by scipy's exact EDT with the voxel spacing, 95th percentile (numpy linear) of both directions
    pooled; NaN unless the label is in both maps;
  - identification: VerSe get_hits on mask centroids in world mm (nearest reference centroid among the labels present
    in both maps must be the label's own and <= 20 mm away; a missed reference label is not identified);
  - table: per split and CTSpine1K source (name patterns of the CTSpine1K split file) and overall, over every
    (case, label 1..25) pair: mean (nanmean) and population std of the defined values, counts of reference labels,
    missed and extra labels, pooled identification rate; formatted "%.4f ± %.4f" (Dice), "%.2f ± %.2f" (HD95), "%.3f".
Usage: check_benchmark.py OUT ROOT SPLIT_FILE SPLIT
"""
import csv
import math
import os
import re
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

LABELS = range(1, 26)


def source_of(name):
    if re.fullmatch(r"1\.3\.6\.1\.4\.1\.9328\.50\.4\.\d{4}|CTC-\d{10}", name):
        return "COLONOG"
    if re.fullmatch(r"HN_P\d{3}", name):
        return "HNSCC-3DCT-RT"
    if re.fullmatch(r"liver_\d+", name):
        return "MSD_liver"
    if re.fullmatch(r"volume-covid19-A-\d{4}(_\d+)?_ct", name):
        return "COVID-19"
    return "other"


def case_of(filename):
    s = os.path.basename(filename)
    for ext in (".nii.gz", ".nii"):
        if s.endswith(ext):
            s = s[: -len(ext)]
            break
    for suf in ("_seg", "_0000"):
        if s.endswith(suf):
            s = s[: -len(suf)]
            break
    return s


def read_split(path):
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        if line.endswith(":"):
            section = line[:-1]
            continue
        out[case_of(line)] = section
    return out


def border(mask):
    return mask ^ ndimage.binary_erosion(mask, structure=ndimage.generate_binary_structure(3, 1), iterations=1)


def hd95(ref, pred, spacing):
    br, bp = border(ref), border(pred)
    d_pr = ndimage.distance_transform_edt(~br, sampling=spacing)[bp]
    d_rp = ndimage.distance_transform_edt(~bp, sampling=spacing)[br]
    return float(np.percentile(np.hstack((d_pr, d_rp)), 95))


def centroid_mm(mask, affine):
    ijk = np.argwhere(mask).mean(axis=0)
    return affine[:3, :3] @ ijk + affine[:3, 3]


def evaluate_case(ref_img, pred_img):
    ref = np.asarray(ref_img.dataobj).astype(np.int64)
    pred = np.asarray(pred_img.dataobj).astype(np.int64)
    assert ref.shape == pred.shape, "grids differ"
    spacing = [float(z) for z in ref_img.header.get_zooms()[:3]]
    affine = ref_img.affine
    rows = {}
    present_both = [l for l in LABELS if (ref == l).any() and (pred == l).any()]
    cr = {l: centroid_mm(ref == l, affine) for l in present_both}
    cp = {l: centroid_mm(pred == l, affine) for l in present_both}
    for l in LABELS:
        r, p = ref == l, pred == l
        tp, fp, fn = int((r & p).sum()), int((~r & p).sum()), int((r & ~p).sum())
        nr, npred = int(r.sum()), int(p.sum())
        status = "both" if nr and npred else "missed" if nr else "extra" if npred else "absent"
        dice = float("nan") if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        h = hd95(r, p, spacing) if status == "both" else float("nan")
        if status == "both":
            dists = {g: float(np.linalg.norm(cp[l] - cr[g])) for g in present_both}
            nearest = min(dists, key=lambda g: dists[g])
            ident = 1.0 if nearest == l and dists[l] <= 20.0 else 0.0
        elif status == "missed":
            ident = 0.0
        else:
            ident = float("nan")
        rows[l] = dict(status=status, dice=dice, hd95=h, identified=ident)
    return rows


def stats(values):
    v = np.array(values, dtype=np.float64)
    d = v[~np.isnan(v)]
    if d.size == 0:
        return None
    return float(np.nanmean(v)), float(np.std(d))


def fmt(st, dec):
    return "n/a" if st is None else "%.*f ± %.*f" % (dec, st[0], dec, st[1])


def main():
    out, root, split_file, split = sys.argv[1:5]
    split_map = read_split(split_file)
    labels = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith("_seg.nii.gz"):
                labels[case_of(f)] = os.path.join(d, f)
    cases = sorted(c for c in split_map if split_map[c] == split)
    evaluated = [c for c in cases if os.path.exists(os.path.join(out, "predictions", c + ".nii.gz")) and c in labels]
    failed = [c for c in cases if c not in evaluated]
    per_case = {}
    for c in evaluated:
        per_case[c] = evaluate_case(nib.load(labels[c]), nib.load(os.path.join(out, "predictions", c + ".nii.gz")))

    # cases.csv: status, dice, hd95 per (case, label)
    n_checked = 0
    with open(os.path.join(out, "cases.csv")) as f:
        for row in csv.DictReader(f):
            e = per_case[row["case"]][int(row["label"])]
            assert row["status"] == e["status"], (row["case"], row["label"], row["status"], e["status"])
            for k in ("dice", "hd95", "identified"):
                got = float(row[k])
                assert (math.isnan(got) and math.isnan(e[k])) or abs(got - e[k]) <= 1e-9, (row["case"], row["label"], k, got, e[k])
            assert row["source"] == source_of(row["case"]) and row["split"] == split
            n_checked += 1
    assert n_checked == len(evaluated) * len(LABELS), n_checked

    # benchmark.md rows
    md = open(os.path.join(out, "benchmark.md"), encoding="utf-8").read()
    groups = {}
    for c in evaluated:
        for key in (source_of(c), "all"):
            groups.setdefault(key, []).append(c)
    order = ["COLONOG", "HNSCC-3DCT-RT", "MSD_liver", "COVID-19", "other", "all"]
    expected_rows = []
    for g in sorted(groups, key=order.index):
        rows = [per_case[c][l] for c in groups[g] for l in LABELS]
        n_ref = sum(r["status"] in ("both", "missed") for r in rows)
        ident = [r["identified"] for r in rows if not math.isnan(r["identified"])]
        idr = "%.3f" % (sum(ident) / len(ident)) if ident else "n/a"
        line = "| %s | %d | %d | %s | %s | %d | %d | %s |" % (
            "**All**" if g == "all" else g, len(groups[g]), n_ref, fmt(stats([r["dice"] for r in rows]), 4),
            fmt(stats([r["hd95"] for r in rows]), 2), sum(r["status"] == "missed" for r in rows),
            sum(r["status"] == "extra" for r in rows), idr)
        expected_rows.append(line)
    table = [l for l in md.splitlines() if l.startswith("| ") and not l.startswith("| Source")]
    for want in expected_rows:
        assert want in table, "expected row not in benchmark.md:\n%s\n---\n%s" % (want, md)
    assert len(table) == len(expected_rows), table
    assert ("## split " + split) in md
    tail = "Cases evaluated: %d; failed: %d" % (len(evaluated), len(failed))
    assert tail in md, (tail, md)
    if failed:
        assert ("reasons in failures.csv): " + " ".join(failed)) in md, (failed, md)
    print("benchmark.md: %d rows, %d (case, label) rows of cases.csv match the independent computation" % (len(expected_rows), n_checked))
    for l in expected_rows:
        print(l)


if __name__ == "__main__":
    main()
