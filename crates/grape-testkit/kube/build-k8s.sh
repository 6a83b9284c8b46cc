#!/bin/bash
# Builds the Kubernetes test peer: real kube-apiserver, kube-controller-manager and kube-scheduler
# v1.20.2 plus etcd 3.4.23, from Debian bookworm packages only (apt-get download / apt-get source
# with a private apt state; nothing installed system-wide, no network besides the machine's Debian
# mirror). Everything lands under $PREFIX; afterwards only $PREFIX/bin is kept (~260 MB).
# `cargo xtask peers` runs this into a cache directory keyed by a hash of this file: any edit
# here means a rebuild (~8 min of 2 cores). Adapted from ../../../../shared/recipes/kube.
# Re-runnable: a failed run can be repeated in the same $PREFIX and reuses the Go build cache.
set -euo pipefail
PREFIX=${PREFIX:?set PREFIX}
COMPONENTS=${COMPONENTS:-"kube-apiserver kube-controller-manager kube-scheduler"}
mkdir -p $PREFIX/{debs,root,src,bin,apt/parts,apt/lists/partial,apt/cache,gopath/src/k8s.io,gocache}
# 0. a private apt state (deb + deb-src) derived from the machine's own Debian sources
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources > $PREFIX/apt/parts/debian.sources
elif [ -f /etc/apt/sources.list ]; then
  grep '^deb ' /etc/apt/sources.list | sed 'p; s/^deb /deb-src /' > $PREFIX/apt/parts/debian.list
else
  echo "build-k8s.sh: no Debian apt sources found (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)" >&2; exit 1
fi
APTO="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$PREFIX/apt/parts -o Dir::State::Lists=$PREFIX/apt/lists -o Dir::Cache=$PREFIX/apt/cache"
[ "$(id -u)" = 0 ] && APTO="$APTO -o APT::Sandbox::User=root"
apt-get $APTO update -qq
# 1. toolchain + etcd + reflect2 fix, unpacked (dpkg -x)
cd $PREFIX/debs
apt-get $APTO download golang-1.19-go golang-1.19-src etcd-server golang-github-modern-go-reflect2-dev
for f in *.deb; do dpkg -x $f $PREFIX/root; done
# 2. Debian's kubernetes 1.20.2 source package (the full upstream tree incl. vendor/)
cd $PREFIX/src
[ -f kubernetes_1.20.5+really1.20.2.orig.tar.gz ] || apt-get $APTO source --download-only kubernetes=1.20.5+really1.20.2-1.1+deb12u1
[ -d kubernetes-1.20.2 ] || tar xzf kubernetes_1.20.5+really1.20.2.orig.tar.gz
SRC=$PREFIX/src/kubernetes-1.20.2
# 3. vendored reflect2 v1.0.1 crashes on Go >= 1.18 (json-iterator map iteration); swap in Debian's 1.0.2
R=$SRC/vendor/github.com/modern-go/reflect2; rm -f $R/*.go $R/*.s
cp $PREFIX/root/usr/share/gocode/src/github.com/modern-go/reflect2/*.go $PREFIX/root/usr/share/gocode/src/github.com/modern-go/reflect2/*.s $R/
# 4. GOPATH-mode build, as Debian's debian/rules does (module mode with go1.19 refuses the 1.20 go.mod)
ln -sfn $SRC $PREFIX/gopath/src/k8s.io/kubernetes
export PATH=$PREFIX/root/usr/lib/go-1.19/bin:$PATH GOPATH=$PREFIX/gopath GOCACHE=$PREFIX/gocache
export GO111MODULE=off CGO_ENABLED=0 GOPROXY=off GOFLAGS=
cd $PREFIX/gopath/src/k8s.io/kubernetes
# 5. pkg/generated/openapi/zz_generated.openapi.go is generated at build time (not in the tarball)
nice -n 19 go build -o $PREFIX/openapi-gen ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
DIRS=$(find -H . \( -not \( \( -path ./_\* -o -path ./.\* -o -path ./vendor \) -prune \) \) -type f -name '*.go' \
  | sed 's|^./staging/src|vendor|; s|/[^/]*$||; s|^./||' | LC_ALL=C sort -u \
  | while read d; do ls $d/*.go; done 2>/dev/null | xargs grep -l '^// *+k8s:' \
  | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
  | xargs grep -l '+k8s:openapi-gen=' | xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
nice -n 19 $PREFIX/openapi-gen --logtostderr -i "$DIRS" -p k8s.io/kubernetes/pkg/generated/openapi \
  -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r $PREFIX/openapi_violations.report
# 6. build (version stamped so `kubectl version` / Helm see v1.20.2)
LD="-s -w"
for P in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  LD="$LD -X $P.gitVersion=v1.20.2 -X $P.gitMajor=1 -X $P.gitMinor=20 -X $P.gitCommit=faecb196815e248d3ecfb03c680a4507229c2a56 -X $P.gitTreeState=clean -X $P.buildDate=2021-01-13T13:20:00Z"
done
for c in $COMPONENTS; do nice -n 19 go build -p 2 -ldflags "$LD" -o $PREFIX/bin/$c ./cmd/$c; done
cp $PREFIX/root/usr/bin/etcd $PREFIX/bin/etcd
$PREFIX/bin/kube-apiserver --version
$PREFIX/bin/etcd --version | head -1
# 7. keep only the binaries
chmod -R u+w $PREFIX/gocache $PREFIX/root 2>/dev/null || true
rm -rf $PREFIX/{debs,root,src,apt,gopath,gocache,openapi-gen,openapi_violations.report}
du -sh $PREFIX/bin
