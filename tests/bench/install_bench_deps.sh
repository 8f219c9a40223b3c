#!/bin/sh
# Debian packages needed only by the benchmarks (tests/bench), not by the test suite.
set -e
apt-get install -y --no-install-recommends libniftiio-dev libnifti2-dev
