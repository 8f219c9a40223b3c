#!/usr/bin/env bash
# Install the Debian packages ctspine's build, tests and reference scripts need (skips what is present).
set -euo pipefail
pkgs=(cmake g++ make pkg-config libeigen3-dev libxsimd-dev zlib1g-dev libdeflate-dev nlohmann-json3-dev doctest-dev
      python3 python3-numpy python3-nibabel python3-scipy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
