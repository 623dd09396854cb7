#!/bin/bash
# A real kube-apiserver v1.20.2 + etcd 3.4 from Debian packages only. Tests start them through tests/harness/kube.py;
# this script builds the apiserver once and can run one by hand:
#   kube-apiserver.sh build          -> $CACHE/kube-apiserver (cached; ~6 min cold on 2 cores)
#   kube-apiserver.sh start RUNDIR   -> etcd + apiserver on 127.0.0.1, kubeconfig at RUNDIR/kubeconfig
#   kube-apiserver.sh stop RUNDIR
# Ports: etcd 127.0.0.1:${ETCD_PORT:-23790}, apiserver https://127.0.0.1:${API_PORT:-16443}
set -euo pipefail
CACHE=${CACHE:-$HOME/.cache/k8s-1.20.2}
cmd=${1:?build|start|stop}

build() {
  command -v etcd >/dev/null && [ -x "$CACHE/kube-apiserver" ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server openssl >/dev/null
  [ -x "$CACHE/kube-apiserver" ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go rsync jq \
    golang-github-modern-go-reflect2-dev >/dev/null
  W=$(mktemp -d); mkdir -p "$W/apt/lists/partial"; cd "$W"
  # deb-src through a private apt config: the system's sources stay untouched
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)   # the machine's own Debian mirror
  echo "deb-src $uri bookworm main" > apt/sources.list
  APTO="-o Dir::Etc::SourceList=$W/apt/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$W/apt/lists"
  apt-get $APTO update -qq
  apt-get $APTO source --download-only kubernetes >/dev/null   # full Kubernetes 1.20.2 tree with vendor/
  tar xzf kubernetes_1.20.5+really1.20.2.orig.tar.gz && cd kubernetes-1.20.2
  # the vendored reflect2 v1.0.1 segfaults under Go >= 1.18 on the first custom-resource write; use Debian's 1.0.2
  rm -rf vendor/github.com/modern-go/reflect2 && mkdir vendor/github.com/modern-go/reflect2
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.{go,s} vendor/github.com/modern-go/reflect2/
  rm -f vendor/github.com/modern-go/reflect2/*_test.go
  # must go through make: it runs openapi-gen first (plain `go build` fails on GetOpenAPIDefinitions)
  KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56 \
    make WHAT=cmd/kube-apiserver >/dev/null
  mkdir -p "$CACHE"; cp _output/bin/kube-apiserver "$CACHE/"
  cd /; rm -rf "$W"
}

start() {
  R=${1:?RUNDIR}; mkdir -p "$R/certs"
  build
  openssl genrsa -out "$R/sa.key" 2048 2>/dev/null; openssl rsa -in "$R/sa.key" -pubout -out "$R/sa.pub" 2>/dev/null
  echo 'testtoken,admin,admin,system:masters' > "$R/tokens.csv"
  E=${ETCD_PORT:-23790}; A=${API_PORT:-16443}
  etcd --data-dir "$R/etcd" --listen-client-urls "http://127.0.0.1:$E" --advertise-client-urls "http://127.0.0.1:$E" \
       --listen-peer-urls "http://127.0.0.1:$((E+1))" >"$R/etcd.log" 2>&1 &
  echo $! > "$R/etcd.pid"
  "$CACHE/kube-apiserver" --etcd-servers="http://127.0.0.1:$E" --bind-address=127.0.0.1 --secure-port="$A" \
    --cert-dir="$R/certs" --token-auth-file="$R/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$R/sa.pub" \
    --service-account-signing-key-file="$R/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --advertise-address=127.0.0.1 --disable-admission-plugins=ServiceAccount >"$R/apiserver.log" 2>&1 &
  echo $! > "$R/apiserver.pid"
  cat > "$R/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:$A", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: testtoken}
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
KC
  for _ in $(seq 120); do
    KUBECONFIG="$R/kubeconfig" kubectl get --raw /readyz >/dev/null 2>&1 && return 0; sleep 0.5
  done
  echo "kube-apiserver did not become ready; see $R/apiserver.log" >&2; return 1
}

stop() {
  R=${1:?RUNDIR}
  for p in apiserver etcd; do [ -f "$R/$p.pid" ] && kill "$(cat "$R/$p.pid")" 2>/dev/null || true; done
}

"$cmd" "${@:2}"
