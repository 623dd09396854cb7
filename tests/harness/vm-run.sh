#!/bin/bash
# vm-run.sh CMD [ARGS...]
# Boot the cached Debian kernel (vm-kernel.sh build) under QEMU with the host's own filesystem as a
# READ-ONLY 9p root, run CMD as root inside it (cwd = caller's cwd), power off, and exit with CMD's
# exit status. Software emulation (TCG) unless NWI_VM_ACCEL=kvm.
# Env: NWI_VM_MEM (default 1024M), NWI_VM_TIMEOUT seconds (default 300), NWI_VM_VERBOSE=1 (kernel
#      messages on the console), NWI_VM_OUT (a host directory the guest sees read-write as /run/out;
#      default a private temporary one), NWI_VM_CONSOLE (a file that receives the console),
#      NWI_VM_ACCEL=kvm|tcg (default tcg; kvm is much faster where it really works).
# Exit 125 when the guest reported no exit status (it did not boot, or timed out); the console's
# last lines are on stderr then.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL_DIR=$("$HERE/vm-kernel.sh" build)
RELEASE=$(ls "$KERNEL_DIR/modules/lib/modules")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=${NWI_VM_OUT:-$WORK/out}
mkdir -p "$OUT"
rm -f "$OUT/rc"
CONSOLE=${NWI_VM_CONSOLE:-$WORK/console}

CMD=$(printf '%q ' "$@")
# the guest's init, read through the read-only host root: /tmp is the host's too
cat > "$WORK/init" <<INIT
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/run/home TMPDIR=/run/tmp PYTHONDONTWRITEBYTECODE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm
mount -t tmpfs tmpfs /run            # writable scratch; also holds /run/netns
mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/home /run/tmp /run/netns /run/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /run/out   # rw channel back to the host
# kernel modules (8021q, bridge, veth, ...) load on demand from the cached tree
printf '#!/bin/sh\nexec /sbin/modprobe -d $(printf '%q' "$KERNEL_DIR/modules") "\$@"\n' > /run/modprobe
chmod +x /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
cd $(printf '%q' "$PWD") 2>/dev/null || cd /
$CMD
echo \$? > /run/out/rc
sync
echo o > /proc/sysrq-trigger         # power off: QEMU exits
sleep 60
INIT
chmod +x "$WORK/init"

# Software emulation by default: it boots on every machine of this kind. KVM is opt-in
# (NWI_VM_ACCEL=kvm) because a /dev/kvm that opens is no proof that it works: in nested sandboxes
# (seen here) a KVM guest hangs before its first console line.
accel=${NWI_VM_ACCEL:-tcg}
case "$accel" in
  kvm) ACCEL=(-accel kvm -cpu host) ;;
  tcg) ACCEL=(-accel tcg,thread=multi -cpu max) ;;
  *) echo "vm-run: NWI_VM_ACCEL must be kvm or tcg, not '$accel'" >&2; exit 2 ;;
esac
APPEND="console=ttyS0 panic=-1 nwi.init=$WORK/init"
[ "${NWI_VM_VERBOSE:-0}" = 1 ] || APPEND="$APPEND quiet loglevel=0"

status=0
timeout -k 5 "${NWI_VM_TIMEOUT:-300}" qemu-system-x86_64 "${ACCEL[@]}" -m "${NWI_VM_MEM:-1024M}" -smp 2 \
  -nodefaults -no-user-config -display none -no-reboot -serial "file:$CONSOLE" \
  -kernel "$KERNEL_DIR/vmlinuz" -initrd "$KERNEL_DIR/initrd.img" -append "$APPEND" \
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev local,id=out,path="$OUT",security_model=none -device virtio-9p-pci,fsdev=out,mount_tag=out \
  </dev/null >"$WORK/qemu.log" 2>&1 || status=$?

# what the guest printed is the command's output
[ -f "$CONSOLE" ] && cat "$CONSOLE"
if [ -s "$OUT/rc" ]; then exit "$(cat "$OUT/rc")"; fi
{
  echo "vm-run: the guest reported no exit status (QEMU exit $status; kernel $RELEASE, ${ACCEL[*]})."
  cat "$WORK/qemu.log"
  echo "vm-run: the console's last lines:"
  [ -f "$CONSOLE" ] && tail -n 40 "$CONSOLE"
  echo "vm-run: set NWI_VM_VERBOSE=1 to see the kernel's boot messages."
} >&2
exit 125
