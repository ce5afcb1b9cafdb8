#!/usr/bin/env bash
# Installs what building and testing cryptonets needs on a fresh Debian 12 machine:
# Debian packages (only those missing), then the Go modules listed in go.mod; with
# --test, also the Debian packages only the tests use.
# Safe to run again: it does nothing when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt_install installs Debian packages (as root, or through sudo).
apt_install() {
  echo "setup: installing Debian packages: $*" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# command → Debian package that provides it
declare -A needed=(
  [gcc]=gcc [make]=make [cmake]=cmake [pkg-config]=pkg-config [nm]=binutils
)
missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# --test: also the Debian packages that only the tests use: PyTorch and onnx for
# Debian's /usr/bin/python3, so that bindings/python/run_tests.sh runs the
# cryptonets.from_torch tests (tests/test_torch.py).
if [ "${1:-}" = "--test" ] && ! /usr/bin/python3 -c 'import torch, onnx, numpy' >/dev/null 2>&1; then
  apt_install python3-torch python3-onnx
fi

# --test: and what the test cluster runs (scripts/test-cluster.sh): Redis, HAProxy,
# curl. (On a machine with systemd, installing them also starts Debian's own Redis
# and HAProxy services; the tests start their own on free ports and use none of them.)
if [ "${1:-}" = "--test" ]; then
  PATH=$PATH:/usr/sbin
  declare -A cluster=([redis-server]=redis-server [redis-cli]=redis-tools [haproxy]=haproxy [curl]=curl)
  missing=()
  for cmd in "${!cluster[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${cluster[$cmd]}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
fi

command -v go >/dev/null 2>&1 || { echo "setup: Go 1.26 or later is required (https://go.dev/dl)" >&2; exit 1; }
go mod download
