#!/bin/bash
# Starts the Kubernetes test peer on 127.0.0.1: etcd + kube-apiserver v1.20.2 (+ kube-controller-manager,
# kube-scheduler and the fake kubelet), all state under $RUN. Every port and name is a parameter, so
# several clusters can run side by side (grape-testkit starts one per test binary on free ports).
# Parameters (environment):
#   BIN            directory with kube-apiserver, kube-controller-manager, kube-scheduler, etcd
#                  (`cargo xtask peers` builds them into ${XDG_CACHE_HOME:-~/.cache}/vintner-core/kube-<hash>/bin)
#   RUN            state directory (etcd data, certificates, logs, pid files, kubeconfig)
#   NAME           cluster / etcd member name (k8speer)
#   ETCD_PORT, ETCD_PEER_PORT, API_PORT, KCM_PORT, SCHED_PORT   (12379, 12380, 16443, 10257, 10259)
#   TOKEN          the admin bearer token, group system:masters (test-admin-token)
#   NODE           the fake kubelet's node name (fake-node)
#   APISERVER_ARGS extra kube-apiserver flags, e.g. --authentication-token-webhook-config-file=FILE
#   WITH_KCM, WITH_SCHED, WITH_FAKE_KUBELET   1 (default) or 0
#   WATCH_PID      when set, a watchdog stops everything (stop-k8s.sh) once that process has exited;
#                  with RM_RUN=1 it also removes $RUN (and a lock file $RUN.lock) afterwards
# Exits non-zero (having stopped what it started) when the API server is not ready in 60 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:?set BIN}; RUN=${RUN:?set RUN}; ETCD=${ETCD:-$BIN/etcd}; NAME=${NAME:-k8speer}
ETCD_PORT=${ETCD_PORT:-12379}; ETCD_PEER_PORT=${ETCD_PEER_PORT:-12380}; API_PORT=${API_PORT:-16443}
KCM_PORT=${KCM_PORT:-10257}; SCHED_PORT=${SCHED_PORT:-10259}
TOKEN=${TOKEN:-test-admin-token}; NODE=${NODE:-fake-node}; APISERVER_ARGS=${APISERVER_ARGS:-}
mkdir -p $RUN/etcd $RUN/certs $RUN/logs $RUN/pki
[ -f $RUN/pki/sa.key ] || { openssl genrsa -out $RUN/pki/sa.key 2048 2>/dev/null; openssl rsa -in $RUN/pki/sa.key -pubout -out $RUN/pki/sa.pub 2>/dev/null; }
[ -f $RUN/pki/tokens.csv ] || { echo "$TOKEN,admin,1,\"system:masters\"" > $RUN/pki/tokens.csv; chmod 600 $RUN/pki/tokens.csv; }
fail() { echo "start-k8s.sh: $1; last lines of $2:" >&2; tail -20 "$2" >&2 || true; RUN=$RUN $HERE/stop-k8s.sh; exit 1; }
ETCD_UNSUPPORTED_ARCH= setsid $ETCD --name $NAME --data-dir $RUN/etcd \
  --listen-client-urls http://127.0.0.1:$ETCD_PORT --advertise-client-urls http://127.0.0.1:$ETCD_PORT \
  --listen-peer-urls http://127.0.0.1:$ETCD_PEER_PORT --initial-advertise-peer-urls http://127.0.0.1:$ETCD_PEER_PORT \
  --initial-cluster $NAME=http://127.0.0.1:$ETCD_PEER_PORT --log-level warn --quota-backend-bytes 2147483648 \
  > $RUN/logs/etcd.log 2>&1 < /dev/null &
echo $! > $RUN/etcd.pid
if [ -n "${WATCH_PID:-}" ]; then
  setsid bash -c "while kill -0 $WATCH_PID 2>/dev/null; do sleep 1; done; RUN='$RUN' '$HERE/stop-k8s.sh'; [ '${RM_RUN:-0}' = 1 ] && rm -rf '$RUN' '$RUN.lock'" \
    > /dev/null 2>&1 < /dev/null &
  echo $! > $RUN/watchdog.pid
fi
ok=""; for i in $(seq 1 100); do curl -fs http://127.0.0.1:$ETCD_PORT/health >/dev/null 2>&1 && { ok=1; break; }; kill -0 $(cat $RUN/etcd.pid) 2>/dev/null || break; sleep 0.2; done
[ -n "$ok" ] || fail "etcd did not become healthy on port $ETCD_PORT" $RUN/logs/etcd.log
setsid $BIN/kube-apiserver \
  --etcd-servers=http://127.0.0.1:$ETCD_PORT \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=$API_PORT --cert-dir=$RUN/certs \
  --token-auth-file=$RUN/pki/tokens.csv --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=$RUN/pki/sa.pub \
  --service-account-signing-key-file=$RUN/pki/sa.key --service-cluster-ip-range=10.96.0.0/16 \
  --disable-admission-plugins=ServiceAccount --allow-privileged=true \
  --enable-priority-and-fairness=false --profiling=false --v=0 $APISERVER_ARGS \
  > $RUN/logs/kube-apiserver.log 2>&1 < /dev/null &
echo $! > $RUN/kube-apiserver.pid
ok=""; for i in $(seq 1 300); do
  curl -fsk -H "Authorization: Bearer $TOKEN" https://127.0.0.1:$API_PORT/readyz >/dev/null 2>&1 && { ok=1; break; }
  kill -0 $(cat $RUN/kube-apiserver.pid) 2>/dev/null || break; sleep 0.2
done
[ -n "$ok" ] || fail "kube-apiserver was not ready on port $API_PORT" $RUN/logs/kube-apiserver.log
# kubeconfig for the secure port (token auth, self-signed cert generated in $RUN/certs)
umask 077
cat > $RUN/kubeconfig <<KC
apiVersion: v1
kind: Config
clusters:
- name: $NAME
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $RUN/certs/apiserver.crt
users:
- name: admin
  user:
    token: $TOKEN
contexts:
- name: $NAME
  context: {cluster: $NAME, user: admin, namespace: default}
current-context: $NAME
KC
if [ "${WITH_KCM:-1}" = 1 ]; then
  setsid $BIN/kube-controller-manager --kubeconfig=$RUN/kubeconfig --authentication-kubeconfig=$RUN/kubeconfig \
    --authorization-kubeconfig=$RUN/kubeconfig --bind-address=127.0.0.1 --secure-port=$KCM_PORT --port=0 \
    --leader-elect=false --service-account-private-key-file=$RUN/pki/sa.key --root-ca-file=$RUN/certs/apiserver.crt \
    --use-service-account-credentials=false --controllers='*,-nodeipam,-nodelifecycle,-ttl,-cloud-node-lifecycle' --v=0 \
    > $RUN/logs/kube-controller-manager.log 2>&1 < /dev/null &
  echo $! > $RUN/kube-controller-manager.pid
fi
if [ "${WITH_SCHED:-1}" = 1 ]; then
  setsid $BIN/kube-scheduler --kubeconfig=$RUN/kubeconfig --authentication-kubeconfig=$RUN/kubeconfig \
    --authorization-kubeconfig=$RUN/kubeconfig --bind-address=127.0.0.1 --secure-port=$SCHED_PORT --port=0 --leader-elect=false --v=0 \
    > $RUN/logs/kube-scheduler.log 2>&1 < /dev/null &
  echo $! > $RUN/kube-scheduler.pid
fi
if [ "${WITH_FAKE_KUBELET:-1}" = 1 ]; then
  setsid python3 $HERE/fake_kubelet.py --server https://127.0.0.1:$API_PORT --token-file $RUN/pki/tokens.csv --node $NODE \
    --max-seconds ${FAKE_KUBELET_MAX_SECONDS:-3600} > $RUN/logs/fake-kubelet.log 2>&1 < /dev/null &
  echo $! > $RUN/fake-kubelet.pid
fi
echo "kube-apiserver ready: https://127.0.0.1:$API_PORT (kubeconfig $RUN/kubeconfig)"
