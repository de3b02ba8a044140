#!/bin/sh
# Installs the Debian packages ckeras needs, only those that are missing.
# Called by `make test` and `make demo` so that a fresh machine works.
# zlib1g-dev reads gzip'd IDX files; dataset-fashion-mnist is the real data
# the demo trains on (read in place from /usr/share/datasets/fashion-mnist).
set -e
PKGS="build-essential cmake pkg-config libopenblas-dev libjansson-dev libhdf5-dev libzip-dev libcriterion-dev zlib1g-dev dataset-fashion-mnist"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "ckeras: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
