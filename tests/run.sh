#!/usr/bin/env bash
# The whole test suite from a fresh machine: installs what the tests need
# (Debian packages, Python packages, the cached kube-apiserver build), then
# runs lint, type checks and pytest. The real peers (kube-apiserver + etcd,
# netconfd, the guest kernel for the VLAN tests) are started by pytest fixtures in tests/harness/.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(iproute2 kmod netconfd yangcli openssh-server etcd-server openssl libyang2-dev libyang2-tools gcc)
missing=()
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
echo "== installing Python packages"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true

# the kube-apiserver is built once from Debian sources and cached under ~/.cache (keyed by version)
if [ -x tests/harness/kube-apiserver.sh ]; then
  echo "== kube-apiserver (cached build)"
  tests/harness/kube-apiserver.sh build
fi

# the VLAN tests' guest kernel: Debian's kernel image unpacked once under ~/.cache/nwi-vm (keyed by
# its version), booted under QEMU (installs qemu-system-x86, busybox-static, cpio itself)
echo "== guest kernel for the VLAN tests (cached)"
tests/harness/vm-kernel.sh build >/dev/null

echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"
# mypy finds packages on the file system, where drivers/ is not under nwi/: show it a tree where
# it is, as Python imports it (nwi.drivers), so the drivers are type-checked with the rest
shadow=$(mktemp -d)
mkdir "$shadow/nwi" && ln -s "$PWD"/nwi/* "$shadow/nwi/" && ln -s "$PWD/drivers" "$shadow/nwi/drivers"
(cd "$shadow" && "$OLDPWD/.venv/bin/mypy" --config-file "$OLDPWD/pyproject.toml" -p nwi) || { rm -rf "$shadow"; exit 1; }
rm -rf "$shadow"
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
