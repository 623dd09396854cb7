#!/bin/bash
# The guest kernel for the VLAN tests: Debian's own amd64 kernel image, unpacked (never installed) into
# a cache keyed by its package version, with a tiny initramfs that mounts the host's filesystem over
# virtio-9p. vm-run.sh boots it under QEMU (software emulation; KVM with NWI_VM_ACCEL=kvm).
#
# Why a VM and not User-Mode Linux: Debian's UML kernel (6.1) dies at boot on hosts whose XSAVE area
# is larger than the legacy one (AVX-512, AMX): it hands PTRACE_SETREGSET a fixed-size FP buffer and
# the host answers EFAULT ("ptrace set fp regs failed, errno = 14"). A real kernel in a VM saves its
# own FPU state, so it boots on every CPU; and the host kernel here has no 8021q or bridge VLAN
# filtering, so the VLAN tests need a kernel of their own.
#
#   vm-kernel.sh build    -> prints the cache directory ($NWI_VM_CACHE/<version>/ with vmlinuz,
#                            initrd.img and modules/lib/modules/<release>/ incl. modules.dep)
set -euo pipefail
CACHE_ROOT=${NWI_VM_CACHE:-$HOME/.cache/nwi-vm}
DEBS=(qemu-system-x86 busybox-static cpio kmod)
# the modules the initramfs needs to reach the host filesystem; everything else (8021q, bridge, veth,
# macvlan) the guest loads on demand from the cached tree through the same share
INITRD_MODULES=(virtio_pci 9pnet_virtio 9p)

need_debs() {
  local missing=() p
  for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# the image package linux-image-amd64 points at now (its version is the cache key)
image_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'
}

build() {
  need_debs
  local pkg
  pkg=$(image_package)
  if [ -z "$pkg" ]; then apt-get update -qq; pkg=$(image_package); fi
  [ -n "$pkg" ] || { echo "vm-kernel: apt knows no linux-image-amd64 package" >&2; exit 1; }
  local version
  version=$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2}')
  local dir="$CACHE_ROOT/$pkg-$version"
  if [ -s "$dir/initrd.img" ] && [ -s "$dir/vmlinuz" ]; then echo "$dir"; return 0; fi

  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && apt-get download -qq "$pkg=$version" 2>/dev/null)
  dpkg-deb -x "$work"/*.deb "$work/pkg"
  local release
  release=$(ls "$work/pkg/lib/modules")
  mkdir -p "$work/out/modules/lib"
  mv "$work/pkg/lib/modules" "$work/out/modules/lib/"
  depmod -b "$work/out/modules" "$release"
  cp "$work/pkg/boot/vmlinuz-$release" "$work/out/vmlinuz"

  # initramfs: busybox, the 9p modules with their dependencies, and an /init that mounts the host
  # root read-only and hands over to the init script named on the kernel command line
  local ird="$work/initrd" mods="$work/out/modules/lib/modules/$release"
  mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules/"$release"}
  cp /bin/busybox "$ird/bin/busybox"
  local m path
  for m in "${INITRD_MODULES[@]}"; do
    modprobe -d "$work/out/modules" -S "$release" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' > "$work/load-order"
  while read -r path; do
    cp "$path" "$ird/lib/modules/$release/"
    echo "insmod /lib/modules/$release/$(basename "$path")" >> "$work/insmods"
  done < "$work/load-order"
  {
    echo '#!/bin/busybox sh'
    echo '/bin/busybox --install -s /bin'
    echo 'mount -t devtmpfs dev /dev; mount -t proc proc /proc; mount -t sysfs sys /sys'
    cat "$work/insmods"
    # nwi.init=PATH on the kernel command line: the script to run from the host's filesystem
    echo 'for a in $(cat /proc/cmdline); do case "$a" in nwi.init=*) NWI_INIT=${a#nwi.init=};; esac; done'
    # The root is a tmpfs whose top-level directories are bind mounts of the host's (read-only 9p):
    # something mounted straight onto a 9p directory (/proc, /run) is detached again as soon as
    # 9p revalidates that dentry, so the mount points the guest uses must live on a local fs.
    echo 'mkdir -p /host; mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host || {'
    echo '  echo "vm-initrd: cannot mount the host filesystem over 9p"; echo o > /proc/sysrq-trigger; }'
    echo 'mount -t tmpfs -o mode=0755 root /newroot'
    echo 'for e in /host/* /host/.[!.]*; do'
    echo '  n=${e#/host/}; [ -e "$e" ] || [ -L "$e" ] || continue'
    echo '  case "$n" in proc|sys|dev|run) mkdir "/newroot/$n"; continue;; esac'
    echo '  if [ -L "$e" ]; then ln -s "$(readlink "$e")" "/newroot/$n"'
    echo '  elif [ -d "$e" ]; then mkdir "/newroot/$n"; mount --bind "$e" "/newroot/$n"; fi'
    echo 'done'
    echo 'umount /proc /sys /dev'
    echo 'exec switch_root /newroot "$NWI_INIT"'
  } > "$ird/init"
  chmod +x "$ird/init"
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/out/initrd.img"
  echo "$pkg $version ($release)" > "$work/out/VERSION"

  mkdir -p "$CACHE_ROOT"
  rm -rf "$dir"
  mv "$work/out" "$dir"
  echo "$dir"
}

case "${1:-}" in
  build) build ;;
  *) echo "usage: $0 build" >&2; exit 2 ;;
esac
