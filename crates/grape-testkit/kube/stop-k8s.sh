#!/bin/bash
# Stops what start-k8s.sh started under $RUN, by PID: SIGTERM, up to 15 s, then SIGKILL.
RUN=${RUN:?set RUN}
pids=""
for c in watchdog fake-kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
  if [ -f $RUN/$c.pid ]; then p=$(cat $RUN/$c.pid); rm -f $RUN/$c.pid
    # the watchdog may be the one running this script: leave it be
    [ "$c" = watchdog ] && [ "$p" = "$PPID" ] && continue
    kill $p 2>/dev/null && pids="$pids $p"; fi
done
for i in $(seq 1 75); do alive=""; for p in $pids; do kill -0 $p 2>/dev/null && alive="$alive $p"; done; [ -z "$alive" ] && exit 0; sleep 0.2; done
kill -9 $alive 2>/dev/null; exit 0
