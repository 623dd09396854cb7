#!/bin/bash
# uml-run.sh CMD [ARGS...]   (needs: apt-get install user-mode-linux kmod)
# Boot the Debian user-mode-linux kernel (apt: user-mode-linux, kmod) with the
# host's own filesystem as a READ-ONLY hostfs root, run CMD as root inside it
# (cwd = caller's cwd), power off, and exit with CMD's exit status.
# Adapted from ../shared/recipes/uml-run.sh for nwi's test harness (tests/harness/uml.py):
# UML_OUT=DIR makes DIR (on the host) the guest's writable /run/out, so the guest can
# hand results (e.g. a JUnit XML report) back to pytest; otherwise a private temp dir.
# Env: UML_MEM (default 512M), UML_TIMEOUT seconds (default 300), UML_VERBOSE=1,
#      UML_ROOT_MODE=rw (DANGER: guest root can then write the host fs),
#      UML_TMPDIR (default /dev/shm; must be tmpfs-like and NOT noexec).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/uml-run.XXXXXX")   # must be on an exec-capable fs
trap 'rm -rf "$WORK"' EXIT
OUT="${UML_OUT:-$WORK/out}"
mkdir -p "$OUT"
rm -f "$OUT/rc"

# guest command line, shell-quoted
CMD=$(printf '%q ' "$@")
cat > "$WORK/init" <<INIT
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/run/home TMPDIR=/run/tmp PYTHONDONTWRITEBYTECODE=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run            # writable scratch; also holds /run/netns
mkdir -p /run/home /run/tmp /run/netns /run/out /run/modroot/lib/modules
mount -t hostfs -o $OUT hostfs /run/out              # rw channel back to host
mount -t hostfs -o /usr/lib/uml/modules hostfs /run/modroot/lib/modules
# make kernel module auto-loading (request_module) find the UML modules
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/modroot "\$@"\n' > /run/modprobe
chmod +x /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
cd $(printf '%q' "$PWD") 2>/dev/null || cd /
$CMD
echo \$? > /run/out/rc
sync
echo o > /proc/sysrq-trigger         # power off (UML process exits)
sleep 60
INIT
chmod +x "$WORK/init"

ARGS=(mem="${UML_MEM:-512M}" rootfstype=hostfs "${UML_ROOT_MODE:-ro}" init="$WORK/init"
      uml_dir="$WORK" umid=run con=null con0=null,fd:1 ssl=null)
[ "${UML_VERBOSE:-0}" = 1 ] || ARGS+=(quiet loglevel=0)
# stdin from /dev/null; UML's console writes to our stdout
TMPDIR="${UML_TMPDIR:-/dev/shm}" timeout -k 5 "${UML_TIMEOUT:-300}" linux.uml "${ARGS[@]}" </dev/null || true

if [ -s "$OUT/rc" ]; then exit "$(cat "$OUT/rc")"; fi
echo "uml-run: guest did not report an exit status (boot failure/timeout)" >&2
exit 125
