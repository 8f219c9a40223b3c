#!/usr/bin/python3
"""Anchors of bench_mesh: skimage marching cubes per label and VTK discrete flying edges on the whole label map.

    bench_mesh_anchor.py RAW nx ny nz sx sy sz     (RAW: uint8, x fastest)

skimage: for every label, the padded binary mask of its bounding box is prepared first (not timed); then
measure.marching_cubes(mask, 0.5, spacing) runs on each (timed, summed). VTK (python3-vtk9, if importable):
vtkDiscreteFlyingEdges3D with one contour value per label on the whole image (timed: the filter's Update only).
Also end to end from the label map (scipy.ndimage.find_objects for the boxes, then per label its crop mask and
marching cubes, all timed): "skimage_end_to_end: SECONDS". Prints "skimage: SECONDS", "skimage_triangles: N", "vtk: SECONDS", "vtk_triangles: N".
"""
import sys
import time

import numpy as np
from skimage import measure

raw, nx, ny, nz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sp = tuple(float(x) for x in sys.argv[5:8])
lab = np.fromfile(raw, dtype=np.uint8).reshape((nz, ny, nx)).transpose(2, 1, 0)  # (x, y, z) view
labels = [int(x) for x in np.unique(lab) if x]
crops = []
idx = np.nonzero(lab)
for L in labels:
    m = lab == L
    nzs = np.nonzero(m.any(axis=(1, 2)))[0], np.nonzero(m.any(axis=(0, 2)))[0], np.nonzero(m.any(axis=(0, 1)))[0]
    sl = tuple(slice(a[0], a[-1] + 1) for a in nzs)
    crops.append(np.pad(m[sl], 1).astype(np.uint8))
# end to end from the label map, the efficient skimage way: one find_objects pass for the bounding boxes, then per
# label its padded crop mask and marching cubes
from scipy import ndimage

t0 = time.perf_counter()
tris_e2e = 0
for L, sl in enumerate(ndimage.find_objects(lab), start=1):
    if sl is None:
        continue
    m = np.pad(lab[sl] == L, 1)
    v, f, _, _ = measure.marching_cubes(m, 0.5, spacing=sp)
    tris_e2e += len(f)
t_e2e = time.perf_counter() - t0
print(f"skimage_end_to_end: {t_e2e:.4f}")
t0 = time.perf_counter()
tris = 0
for c in crops:
    v, f, _, _ = measure.marching_cubes(c, 0.5, spacing=sp)
    tris += len(f)
t = time.perf_counter() - t0
print(f"skimage: {t:.4f}")
print(f"skimage_triangles: {tris}")
try:
    import vtk
    from vtk.util import numpy_support

    img = vtk.vtkImageData()
    img.SetDimensions(nx, ny, nz)
    img.SetSpacing(*sp)
    arr = numpy_support.numpy_to_vtk(np.ascontiguousarray(lab.transpose(2, 1, 0)).ravel(), deep=1)
    img.GetPointData().SetScalars(arr)
    fe = vtk.vtkDiscreteFlyingEdges3D()
    fe.SetInputData(img)
    for i, L in enumerate(labels):
        fe.SetValue(i, L)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOn()
    t0 = time.perf_counter()
    fe.Update()
    t = time.perf_counter() - t0
    print(f"vtk: {t:.4f}")
    print(f"vtk_triangles: {fe.GetOutput().GetNumberOfPolys()}")
except ImportError:
    print("vtk: not available")
