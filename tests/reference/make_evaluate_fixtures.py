#!/usr/bin/python3
"""Oracle for test_evaluate: our own numpy/scipy re-statement of the segmentation metrics ctspine's evaluate
follows (definitions as summarised in the project's evaluation notes; no code of medpy, nnU-Net or DeepMind is used).

Run: /usr/bin/python3 tests/reference/make_evaluate_fixtures.py [SPINE_DIR]
(SPINE_DIR: the shared spine folder holding example_seg.nii.gz and example_seg_fast.nii.gz, TotalSegmentator
predictions on one grid; without it real_pair_expected.txt is kept.)
Writes
  include/ctspine/evaluate/surfel_table.hpp   the marching-cubes surfel normals per 2x2x2 neighbour code
  tests/data/evaluate/<case>.ref / .pred      uint8 label maps, raw, x fastest (numpy C order of a (z, y, x) array)
  tests/data/evaluate/cases.txt               one line per case: name nx ny nz sx sy sz ox oy oz taus...
  tests/data/evaluate/expected.txt            one line per case x label: name label key=value ... (repr floats)
  tests/data/evaluate/spine_expected.txt      the same for synthetic damage of examples/data/sub-ct_seg-vert_label-22_msk
  tests/data/evaluate/real_pair_expected.txt  the same for two real TotalSegmentator label maps (SPINE_DIR)
  tests/data/evaluate/cli/...                 NIfTI folders (ref/, pred/), a split file and cli_expected.txt for the
                                              command-line tests (values computed on the files as nibabel reads them)

Conventions (those of nnU-Net v1, which reads arrays as (z, y, x) and passes the spacing reversed):
  arrays are (z, y, x); spacing is (sz, sy, sx); the world affine is diag(sx, sy, sz) + origin (ox, oy, oz).

Definitions re-stated here:
  * overlap: nnU-Net v1 metrics.py formulas and empty rules (Dice/IoU NaN when both empty, precision NaN when the
    prediction is empty, recall NaN when the reference is empty); rvd = (|P| - |G|) / |G| (medpy ravd, signed).
  * medpy 0.5.2 surface distances: border = M xor binary_erosion(M, 6-neighbour cross, border_value 0);
    distances from one border's voxel centres to the other border via scipy's EDT with sampling = spacing;
    hd = max of both directions, hd95 = np.percentile(pooled, 95) (linear), assd = mean(pooled),
    masd = mean of the two directed means; hd95_dirmax = max of the directed 95th percentiles (MetricsReloaded).
  * NSD, voxel variant (MetricsReloaded): (#{border voxels within tau} both ways) / (n_border_P + n_border_G).
  * NSD, surfel variant (DeepMind surface-distance): corner grid of 2x2x2 neighbour codes (bit 128 for the voxel at
    offset (-1,-1,-1), bit 1 for (0,0,0), array axes z, y, x), surfels = codes other than 0 and 255, each weighted by
    its marching-cubes area (scaled by the spacing), distances corner to corner; NSD = (sum of areas within tau both
    ways) / (total area). The area table is built here from skimage's Lorensen marching cubes; codes with more than
    four corners set use the triangles of their complement (this reproduces DeepMind's table for all 256 codes; the
    check was run beside, against a fetched copy of DeepMind's lookup_tables.py, not part of this project).
  * VerSe identification: centroids (voxel-index mean mapped by the affine) of labels in both maps; a predicted
    label is identified when its nearest reference centroid among those labels is its own and lies <= 20 mm away;
    reference labels missing from the prediction count as not identified.
"""
import math
import os
import sys

import numpy as np
from scipy import ndimage
from skimage import measure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "evaluate")
TABLE = os.path.join(ROOT, "include", "ctspine", "evaluate", "surfel_table.hpp")

# bit of the voxel at offset (a-1, b-1, c-1) along array axes (0, 1, 2) of a corner
KERNEL = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]])


# ---------------------------------------------------------------------------------------------- surfel table
def cube_of(code):
    c = np.zeros((2, 2, 2))
    for a in range(2):
        for b in range(2):
            for d in range(2):
                if code & int(KERNEL[a, b, d]):
                    c[a, b, d] = 1.0
    return c


def triangle_normals(code):
    """Half cross products (area vectors) of the marching-cubes triangles of a code, unit spacing, axes 0..2."""
    if code in (0, 255):
        return []
    use = code if bin(code).count("1") <= 4 else 255 - code
    verts, faces, _, _ = measure.marching_cubes(cube_of(use), 0.5, method="lorensen", allow_degenerate=True)
    v = verts.astype(np.float64)
    out = []
    for f in faces:
        n = 0.5 * np.cross(v[f[1]] - v[f[0]], v[f[2]] - v[f[0]])
        out.append(n)
    return out


NORMALS = [triangle_normals(c) for c in range(256)]


def area_table(spacing):
    s0, s1, s2 = spacing
    t = np.zeros(256)
    for code in range(256):
        acc = 0.0
        for n in NORMALS[code]:
            acc += math.sqrt((n[0] * s1 * s2) ** 2 + (n[1] * s0 * s2) ** 2 + (n[2] * s0 * s1) ** 2)
        t[code] = acc
    return t


def write_table():
    most = max(len(n) for n in NORMALS)
    lines = ["// ctspine — GENERATED by tests/reference/make_evaluate_fixtures.py; do not edit.",
             "// Marching-cubes surface elements of a 2x2x2 voxel neighbourhood, for the surfel-based surface Dice",
             "// (DeepMind surface-distance semantics). Entry [code][t] is the area vector (half cross product) of",
             "// triangle t, times 8, along array axes (0, 1, 2) = (k, j, i), for unit spacing; {0,0,0} pads. Built",
             "// with skimage.measure.marching_cubes (Lorensen); codes with more than four corners set use the",
             "// triangles of their complement. Bit (1 << (7 - (4a + 2b + c))) of a code is the voxel at offset",
             "// (a-1, b-1, c-1) from the corner along (k, j, i).",
             "#pragma once",
             "#include <cstdint>",
             "",
             "namespace ctspine::detail {",
             "",
             f"inline constexpr int surfel_max_triangles = {most};",
             f"inline constexpr std::int8_t surfel_normals_x8[256][{most}][3] = {{"]
    for code in range(256):
        tri = []
        for n in NORMALS[code]:
            q = [int(round(x * 8)) for x in n]
            assert all(abs(x * 8 - y) < 1e-9 for x, y in zip(n, q))
            tri.append("{%d, %d, %d}" % tuple(q))
        while len(tri) < most:
            tri.append("{0, 0, 0}")
        lines.append("    {" + ", ".join(tri) + "},  // " + str(code))
    lines += ["};", "", "}  // namespace ctspine::detail", ""]
    with open(TABLE, "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------------------------------------- metrics
def nnunet_overlap(g, p):
    tp = int(np.sum(g & p))
    fp = int(np.sum(p & ~g))
    fn = int(np.sum(g & ~p))
    tn = int(g.size) - tp - fp - fn
    nan = float("nan")
    p_empty, g_empty = fp + tp == 0, fn + tp == 0
    r = dict(tp=tp, fp=fp, fn=fn, tn=tn)
    r["dice"] = nan if (p_empty and g_empty) else float(2.0 * tp / (2 * tp + fp + fn))
    r["iou"] = nan if (p_empty and g_empty) else float(tp / (tp + fp + fn))
    r["precision"] = nan if p_empty else float(tp / (tp + fp))
    r["recall"] = nan if g_empty else float(tp / (tp + fn))
    r["rvd"] = nan if g_empty else float(((tp + fp) - (tp + fn)) / (tp + fn))
    return r


def medpy_border(m):
    return m ^ ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1), iterations=1)


def border_distances(src_border, dst_border, spacing):
    dt = ndimage.distance_transform_edt(~dst_border, sampling=spacing)
    return dt[src_border]


def percentile95(x):
    return float(np.percentile(x, 95))


def surfel_distances(g, p, spacing):
    """Corner-grid surfels of both masks (crop to the union box, pad one on the high side, correlate with cval 0)."""
    idx = np.argwhere(g | p)
    lo, hi = idx.min(0), idx.max(0)
    def crop(m):
        c = np.zeros(tuple(hi - lo + 2), np.uint8)
        c[:-1, :-1, :-1] = m[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1]
        return c
    cg = ndimage.correlate(crop(g), KERNEL, mode="constant", cval=0)
    cp = ndimage.correlate(crop(p), KERNEL, mode="constant", cval=0)
    bg = (cg != 0) & (cg != 255)
    bp = (cp != 0) & (cp != 255)
    table = area_table(spacing)
    dg = ndimage.distance_transform_edt(~bg, sampling=spacing) if bg.any() else np.full(bg.shape, np.inf)
    dp = ndimage.distance_transform_edt(~bp, sampling=spacing) if bp.any() else np.full(bp.shape, np.inf)
    return dp[bg], table[cg[bg]], dg[bp], table[cp[bp]]  # gt->pred distances, gt areas, pred->gt, pred areas


def label_metrics(ref, pred, label, spacing, affine, taus):
    g, p = ref == label, pred == label
    r = nnunet_overlap(g, p)
    nan = float("nan")
    n = g.size
    both = r["tp"] + r["fn"] > 0 and r["tp"] + r["fp"] > 0
    full = r["tp"] + r["fn"] == n or r["tp"] + r["fp"] == n
    keys = ["hd", "hd95", "hd95_dirmax", "asd_pred_ref", "asd_ref_pred", "assd", "masd"]
    for k in keys:
        r[k] = nan
    for t in taus:
        r["nsd@%g" % t] = nan
        r["nsdvox@%g" % t] = nan
    if both and not full:
        bg, bp = medpy_border(g), medpy_border(p)
        d_pg = border_distances(bp, bg, spacing)
        d_gp = border_distances(bg, bp, spacing)
        pooled = np.hstack((d_pg, d_gp))
        r["hd"] = float(max(d_pg.max(), d_gp.max()))
        r["hd95"] = percentile95(pooled)
        r["hd95_dirmax"] = max(percentile95(d_pg), percentile95(d_gp))
        r["asd_pred_ref"] = float(d_pg.mean())
        r["asd_ref_pred"] = float(d_gp.mean())
        r["assd"] = float(np.mean(pooled))
        r["masd"] = (float(d_pg.mean()) + float(d_gp.mean())) / 2
        for t in taus:
            r["nsdvox@%g" % t] = float((np.sum(d_pg <= t) + np.sum(d_gp <= t)) / (d_pg.size + d_gp.size))
    if g.any() or p.any():
        d_gp_s, a_g, d_pg_s, a_p = surfel_distances(g, p, spacing)
        for t in taus:
            num = np.sum(a_g[d_gp_s <= t]) + np.sum(a_p[d_pg_s <= t])
            r["nsd@%g" % t] = float(num / (np.sum(a_g) + np.sum(a_p)))
    if g.any() != p.any():  # missed or extra: voxel NSD is 0 (nothing within tau), as the surfel variant
        for t in taus:
            r["nsdvox@%g" % t] = 0.0
    r["status"] = "both" if both else ("missed" if g.any() else ("extra" if p.any() else "absent"))
    r["n_ref"], r["n_pred"] = r["tp"] + r["fn"], r["tp"] + r["fp"]
    return r


def centroid_mm(mask, affine):
    z, y, x = np.nonzero(mask)
    ijk = np.array([x.mean(), y.mean(), z.mean(), 1.0])
    return (affine @ ijk)[:3]


def identification(ref, pred, labels, affine, limit=20.0):
    present = [l for l in labels if (ref == l).any() and (pred == l).any()]
    cg = {l: centroid_mm(ref == l, affine) for l in present}
    cp = {l: centroid_mm(pred == l, affine) for l in present}
    out = {}
    for l in labels:
        if not (ref == l).any():
            out[l] = (float("nan"), float("nan"))
            continue
        if l not in present:
            out[l] = (0.0, float("nan"))
            continue
        d = [float(np.linalg.norm(cp[l] - cg[b])) for b in present]
        best = present[int(np.argmin(d))]
        own = float(np.linalg.norm(cp[l] - cg[l]))
        out[l] = (1.0 if (best == l and own <= limit) else 0.0, own)
    return out


# ---------------------------------------------------------------------------------------------- cases
def ellipsoid(shape, c, r):
    z, y, x = np.mgrid[0:shape[0], 0:shape[1], 0:shape[2]]
    return ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1.0


def blobs(shape, seed, thr):
    rng = np.random.RandomState(seed)
    a = ndimage.gaussian_filter(rng.rand(*shape), 2.0)
    return a > thr


def make_cases():
    cases = []
    # two vertebra-like labels, shifted prediction, an extra label and a missed one, anisotropic spacing
    sh = (14, 20, 22)
    ref = np.zeros(sh, np.uint8)
    ref[ellipsoid(sh, (4, 10, 11), (3, 6, 7))] = 1
    ref[ellipsoid(sh, (10, 10, 11), (3, 6, 7))] = 2
    ref[1:3, 2:4, 2:5] = 4  # missed by the prediction
    pred = np.zeros(sh, np.uint8)
    pred[ellipsoid(sh, (4, 11, 12), (3, 6, 6))] = 1
    pred[ellipsoid(sh, (10, 10, 10), (3, 5, 7))] = 2
    pred[12:14, 17:20, 18:22] = 3  # extra (touches the high borders)
    cases.append(("shifted", ref, pred, (3.0, 0.7, 0.7), (10.0, -5.0, 2.5)))
    # random smooth blobs with an anisotropic spacing, several labels
    sh = (16, 18, 17)
    a, b = blobs(sh, 1, 0.5), blobs(sh, 2, 0.5)
    ref = np.where(a, 1, 0).astype(np.uint8)
    ref[blobs(sh, 3, 0.53)] = 2
    pred = np.where(b | a & blobs(sh, 4, 0.45), 1, 0).astype(np.uint8)
    pred[blobs(sh, 5, 0.53)] = 2
    cases.append(("blobs", ref, pred, (2.5, 0.7, 0.9), (0.0, 0.0, 0.0)))
    # objects touching every border, unit spacing
    sh = (6, 7, 8)
    ref = np.zeros(sh, np.uint8)
    ref[0:4, :, 0:5] = 1
    pred = np.zeros(sh, np.uint8)
    pred[0:5, 1:, 0:6] = 1
    pred[5, 6, 7] = 2
    cases.append(("border", ref, pred, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))
    # single voxels: distance exactly 3 voxels x 0.7 mm along x, 1 voxel along z at 3 mm
    sh = (5, 5, 9)
    ref = np.zeros(sh, np.uint8)
    ref[2, 2, 2] = 1
    ref[1, 1, 1] = 2
    pred = np.zeros(sh, np.uint8)
    pred[2, 2, 5] = 1
    pred[2, 1, 1] = 2
    cases.append(("voxels", ref, pred, (3.0, 0.7, 0.7), (0.0, 0.0, 0.0)))
    return cases


def fmt(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def write_case_lines(name, ref, pred, spacing, origin, taus, labels, out_lines):
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    affine[:3, 3] = origin
    ident = identification(ref, pred, labels, affine)
    for l in labels:
        r = label_metrics(ref, pred, l, spacing, affine, taus)
        r["identified"], r["centroid_dist_mm"] = ident[l]
        out_lines.append(name + " " + str(l) + " " + " ".join(k + "=" + fmt(r[k]) for k in sorted(r)))


def main():
    write_table()
    os.makedirs(OUT, exist_ok=True)
    taus = [1.0, 2.0]
    case_lines, exp_lines = [], []
    for name, ref, pred, spacing, origin in make_cases():
        ref.tofile(os.path.join(OUT, name + ".ref"))
        pred.tofile(os.path.join(OUT, name + ".pred"))
        nz, ny, nx = ref.shape
        case_lines.append("%s %d %d %d %r %r %r %r %r %r" % (name, nx, ny, nz, spacing[2], spacing[1], spacing[0], *origin))
        labels = sorted(set(np.unique(ref)) | set(np.unique(pred)) | {7}) # 7: absent from both
        labels = [int(l) for l in labels if l != 0]
        write_case_lines(name, ref, pred, spacing, origin, taus, labels, exp_lines)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(case_lines) + "\n")
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(exp_lines) + "\n")
    spine_oracle()
    cli_fixtures({name: (ref, pred, spacing, origin) for name, ref, pred, spacing, origin in make_cases()})


def cli_fixtures(cases):
    """Folder-mode fixtures: HN_P001 = 'shifted', liver_7 = 'voxels' (prediction named with _seg), CTC-0000000001 =
    'voxels' without a prediction (a reported failure)."""
    import nibabel as nib
    base = os.path.join(OUT, "cli")
    for sub in ("ref", "pred"):
        d = os.path.join(base, sub)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    def save(arr_zyx, spacing, origin, path):
        aff = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
        aff[:3, 3] = origin
        img = nib.Nifti1Image(arr_zyx.transpose(2, 1, 0).copy(), aff)
        img.set_qform(aff, code=1)
        img.set_sform(aff, code=1)
        nib.save(img, path)
    plan = [("HN_P001", "shifted", "HN_P001.nii.gz"), ("liver_7", "voxels", "liver_7_seg.nii.gz"), ("CTC-0000000001", "voxels", None)]
    lines = []
    for case, src, pred_name in plan:
        ref, pred, spacing, origin = cases[src]
        save(ref, spacing, origin, os.path.join(base, "ref", case + ".nii.gz"))
        if pred_name is None:
            continue
        save(pred, spacing, origin, os.path.join(base, "pred", pred_name))
        r, sp, aff = load_zyx(os.path.join(base, "ref", case + ".nii.gz"))
        q, _, _ = load_zyx(os.path.join(base, "pred", pred_name))
        lines += oracle_lines(case, r.transpose(2, 1, 0).copy(), q.transpose(2, 1, 0).copy(), sp, aff, [1, 2, 3, 4], [1.0, 2.0])
    with open(os.path.join(base, "cli_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    nnunet_formats(base, [(c, p) for c, _, p in plan if p is not None], [1, 2, 3, 4])
    # the bundled TotalSegmentator map renumbered to VerSe (L2 30 -> 21, L1 31 -> 20, T12 32 -> 19, T11 33 -> 18;
    # everything else 0): a reference for --pred-scheme totalseg
    import nibabel as nib
    img = nib.load(os.path.join(ROOT, "examples", "data", "example_seg.nii.gz"))
    seg = np.asarray(img.dataobj)
    out = np.zeros(seg.shape, np.uint8)
    for total, verse in ((30, 21), (31, 20), (32, 19), (33, 18)):
        out[seg == total] = verse
    nib.save(nib.Nifti1Image(out, img.affine, img.header), os.path.join(base, "example_seg_verse.nii.gz"))
    with open(os.path.join(base, "split.txt"), "w") as f:
        f.write("trainset:\nHN_P001.nii.gz\n\ntest_public:\nliver_7.nii.gz\nCTC-0000000001.nii.gz\n\ntest_private:\n")


def nnunet_formats(base, pairs, labels):
    """summary.json of nnU-Net v1 (evaluate_folder, advanced=True) and v2 (compute_metrics_on_folder), re-stated from
    their rules: per case and label the masks pred == l and ref == l, v1's formulas and NaN rules (1 - x rates),
    means by np.nanmean, v2's foreground_mean by np.mean over the label means, json.dumps(indent=4, sort_keys=True).
    Paths as the CLI test gives them (run inside tests/data/evaluate/cli: --ref ref --pred pred). v1's id and
    timestamp are not reproducible (a hash over a dict holding the timestamp): written as "ID" / "TIMESTAMP"."""
    import json
    nan = float("nan")
    all_v1, per_label_v1, per_case_v2, per_label_v2 = [], {}, [], {}
    for case, pred_name in sorted(pairs):
        r, sp, _ = load_zyx(os.path.join(base, "ref", case + ".nii.gz"))
        q, _, _ = load_zyx(os.path.join(base, "pred", pred_name))
        r, q = r.transpose(2, 1, 0), q.transpose(2, 1, 0)
        entry, entry_v2 = {}, {}
        for l in labels:
            test, ref_m = q == l, r == l
            tp = int((test & ref_m).sum()); fp = int((test & ~ref_m).sum())
            tn = int((~test & ~ref_m).sum()); fn = int((~test & ref_m).sum())
            t_empty, t_full = not test.any(), bool(test.all())
            r_empty, r_full = not ref_m.any(), bool(ref_m.all())
            prec = nan if t_empty else float(tp / (tp + fp))
            sens = nan if r_empty else float(tp / (tp + fn))
            spec = nan if r_full else float(tn / (tn + fp))
            fomr = nan if t_full else float(fn / (fn + tn))
            m = {"Accuracy": float((tp + tn) / (tp + fp + tn + fn)),
                 "Dice": nan if (t_empty and r_empty) else float(2. * tp / (2 * tp + fp + fn)),
                 "Jaccard": nan if (t_empty and r_empty) else float(tp / (tp + fp + fn)),
                 "Precision": prec, "Recall": sens, "True Negative Rate": spec, "False Omission Rate": fomr,
                 "False Positive Rate": 1 - spec, "False Negative Rate": 1 - sens, "False Discovery Rate": 1 - prec,
                 "Negative Predictive Value": 1 - fomr,
                 "Total Positives Test": tp + fp, "Total Positives Reference": tp + fn}
            if t_empty or t_full or r_empty or r_full:
                m["Hausdorff Distance 95"] = nan
            else:
                d_pg = border_distances(medpy_border(test), medpy_border(ref_m), sp)
                d_gp = border_distances(medpy_border(ref_m), medpy_border(test), sp)
                m["Hausdorff Distance 95"] = float(np.percentile(np.hstack((d_pg, d_gp)), 95))
            entry[str(l)] = m
            for k, v in m.items():
                per_label_v1.setdefault(str(l), {}).setdefault(k, []).append(v)
            v2 = {"TP": tp, "FP": fp, "FN": fn, "TN": tn, "n_pred": fp + tp, "n_ref": fn + tp,
                  "Dice": nan if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn),
                  "IoU": nan if tp + fp + fn == 0 else tp / (tp + fp + fn)}
            entry_v2[str(l)] = v2
            for k, v in v2.items():
                per_label_v2.setdefault(l, {}).setdefault(k, []).append(v)
        entry["reference"] = os.path.join("ref", case + ".nii.gz")
        entry["test"] = os.path.join("pred", pred_name)
        all_v1.append(entry)
        per_case_v2.append({"metrics": entry_v2, "prediction_file": os.path.join("pred", pred_name),
                            "reference_file": os.path.join("ref", case + ".nii.gz")})
    mean_v1 = {l: {k: float(np.nanmean(v)) for k, v in d.items()} for l, d in per_label_v1.items()}
    v1 = {"name": "", "description": "", "timestamp": "TIMESTAMP", "task": "", "author": "Fabian",
          "results": {"all": all_v1, "mean": mean_v1}, "id": "ID"}
    with open(os.path.join(base, "nnunet_v1_expected.json"), "w") as f:
        json.dump(v1, f, indent=4, sort_keys=True)
    means = {l: {k: float(np.nanmean(v)) for k, v in d.items()} for l, d in per_label_v2.items()}
    fg = {k: float(np.mean([means[l][k] for l in sorted(means) if l != 0])) for k in means[labels[0]]}
    v2 = {"metric_per_case": per_case_v2, "mean": {str(l): means[l] for l in means}, "foreground_mean": fg}
    with open(os.path.join(base, "nnunet_v2_expected.json"), "w") as f:
        json.dump(v2, f, indent=4, sort_keys=True)


def spine_damage(seg):
    """Synthetic damage of a VerSe label map (array (x, y, z) as nibabel gives it): each vertebra eroded, L3 shifted
    by 2 voxels along the first axis, L4 removed (missed), and an extra label 25 block added."""
    out = np.zeros_like(seg)
    for l in np.unique(seg):
        if l == 0:
            continue
        m = seg == l
        if l == 21:
            m = ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1))
        if l == 22:
            m = np.roll(m, 2, axis=0)
        if l == 23:
            continue
        out[m] = l
    out[0:4, 0:4, 0:4] = 25
    return out


def oracle_lines(tag, ref, pred, spacing, affine, labels, taus):
    lines = []
    ident = identification(ref, pred, labels, affine)
    for l in labels:
        r = label_metrics(ref, pred, l, spacing, affine, taus)
        r["identified"], r["centroid_dist_mm"] = ident[l]
        lines.append(tag + " " + str(l) + " " + " ".join(k + "=" + fmt(r[k]) for k in sorted(r)))
    return lines


def load_zyx(path):
    """A label map as nnU-Net sees it: (z, y, x) array, spacing reversed, plus the file's affine."""
    import nibabel as nib
    img = nib.load(path)
    seg = np.asarray(img.dataobj).astype(np.uint8)  # (x, y, z)
    zooms = img.header.get_zooms()[:3]
    return seg, (float(zooms[2]), float(zooms[1]), float(zooms[0])), img.affine


def spine_oracle():
    taus = [1.0, 2.0]
    seg, spacing, affine = load_zyx(os.path.join(ROOT, "examples", "data", "sub-ct_seg-vert_label-22_msk.nii.gz"))
    dmg = spine_damage(seg)
    lines = oracle_lines("spine", seg.transpose(2, 1, 0).copy(), dmg.transpose(2, 1, 0).copy(), spacing, affine, [21, 22, 23, 25], taus)
    with open(os.path.join(OUT, "spine_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    spine_dir = sys.argv[1] if len(sys.argv) > 1 else ""
    if not os.path.exists(os.path.join(spine_dir, "example_seg_fast.nii.gz")):
        print("no spine folder given: real_pair_expected.txt not regenerated")
        return
    ref, spacing, affine = load_zyx(os.path.join(spine_dir, "example_seg.nii.gz"))
    pred, _, _ = load_zyx(os.path.join(spine_dir, "example_seg_fast.nii.gz"))
    lines = oracle_lines("real", ref.transpose(2, 1, 0).copy(), pred.transpose(2, 1, 0).copy(), spacing, affine, [30, 31, 32, 33], taus)
    with open(os.path.join(OUT, "real_pair_expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
