#!/bin/bash
# A real NETCONF server: yuma123 netconfd (config-only YANG modules) behind a private OpenSSH on 127.0.0.1.
# It installs nothing (tests/run.sh installs netconfd, yangcli and
# openssh-server) and needs root (it creates the SSH account the server is reached with).
#
#   netconfd.sh start RUNDIR   NETCONF over SSH on 127.0.0.1:${NC_PORT:-8830}, user ncuser / password ncpass
#   netconfd.sh stop RUNDIR    stops exactly the two processes that start recorded in RUNDIR
#
# NC_TARGET=running starts a server with :writable-running and no :candidate (netconfd --target=running).
# Found on a fresh machine: netconfd keeps its work directory in the account's home
# (from /etc/passwd, not $HOME) and fails without one; sshd runs the subsystem through the account's login
# shell, so it needs a real shell, and ForceCommand keeps that account from getting anything but NETCONF.
set -euo pipefail
cmd=${1:?start|stop}; R=${2:?RUNDIR}; P=${NC_PORT:-8830}; TARGET=${NC_TARGET:-candidate}
USER_NAME=ncuser

# alive and not a zombie (our children are re-parented to an init that may reap them late)
alive() { [ -e "/proc/$1" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }

start() {
  for b in /usr/sbin/netconfd /usr/sbin/netconf-subsystem /usr/sbin/sshd; do
    [ -x "$b" ] || { echo "missing $b: apt-get install netconfd yangcli openssh-server" >&2; exit 3; }
  done
  # NOT netconfd-module-ietf-interfaces / -ietf-system: those plugins act on the real host and abort
  id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/sh "$USER_NAME"
  [ "$(getent passwd "$USER_NAME" | cut -d: -f7)" = /bin/sh ] || usermod -s /bin/sh "$USER_NAME"
  home=$(getent passwd "$USER_NAME" | cut -d: -f6)
  install -d -o "$USER_NAME" -g "$USER_NAME" -m 700 "$home"
  echo "$USER_NAME:ncpass" | chpasswd
  mkdir -p /run/sshd "$R"
  [ -f "$R/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$R/hostkey"
  # netconfd saves running back into --startup: start every run from an empty datastore
  echo '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"/>' > "$R/startup.xml"
  chown "$USER_NAME" "$R" "$R/startup.xml"; rm -f "$R/ncxserver.sock"
  cat > "$R/sshd_config" <<CFG
Port $P
ListenAddress 127.0.0.1
HostKey $R/hostkey
PidFile $R/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PermitRootLogin no
AllowUsers $USER_NAME
PermitTTY no
DisableForwarding yes
ForceCommand /usr/sbin/netconf-subsystem --ncxserver-sockname=$P@$R/ncxserver.sock
Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname=$P@$R/ncxserver.sock
CFG
  # setpriv (not su) so that the recorded PID is netconfd's own
  setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups /usr/sbin/netconfd \
    --ncxserver-sockname="$R/ncxserver.sock" --port="$P" --superuser="$USER_NAME" --target="$TARGET" \
    --startup="$R/startup.xml" --module=ietf-interfaces --module=ietf-ip --module=iana-if-type \
    --module=ietf-system --log="$R/netconfd.log" >"$R/netconfd.out" 2>&1 </dev/null &
  echo $! > "$R/netconfd.pid"
  /usr/sbin/sshd -D -e -f "$R/sshd_config" >"$R/sshd.log" 2>&1 </dev/null &
  echo $! > "$R/sshd-fg.pid"
  for _ in $(seq 100); do
    alive "$(cat "$R/netconfd.pid")" || break
    [ -S "$R/ncxserver.sock" ] && ss -ltn | grep -q "127.0.0.1:$P " && return 0
    sleep 0.1
  done
  echo "netconfd not ready on 127.0.0.1:$P; see $R/netconfd.log and $R/sshd.log" >&2
  tail -n 5 "$R/netconfd.log" "$R/sshd.log" >&2 || true
  stop; return 1
}

stop() {
  for p in sshd-fg netconfd; do
    [ -f "$R/$p.pid" ] || continue
    pid=$(cat "$R/$p.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    rm -f "$R/$p.pid"
  done
  rm -f "$R/ncxserver.sock"
}

"$cmd"
