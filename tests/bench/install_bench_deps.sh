#!/bin/sh
# Debian packages needed only by the benchmarks (tests/bench), not by the test suite.
set -e
apt-get install -y --no-install-recommends libniftiio-dev libnifti2-dev
# ITK 5 (C++): anchor of bench_imgproc (ResampleImageFilter, IntensityWindowingImageFilter) and of bench_nifti (ImageFileReader)
apt-get install -y --no-install-recommends libinsighttoolkit5-dev
# skimage marching cubes and VTK discrete flying edges (Python): anchors of bench_mesh
apt-get install -y --no-install-recommends python3-skimage python3-vtk9
# bench_evaluate's Python anchor (and tests/reference/make_evaluate_fixtures.py, whose surfel table it reuses)
apt-get install -y --no-install-recommends python3-numpy python3-scipy python3-nibabel python3-skimage
