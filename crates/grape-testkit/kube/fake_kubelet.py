#!/usr/bin/env python3
"""Poor man's kwok (from ../../../shared/recipes/kube, with --token-file): registers a Ready fake Node and marks every pod bound to it Running+Ready.
Talks to the API server with a bearer token; stdlib only. Bounded: exits after --max-seconds."""
import argparse, json, ssl, time, urllib.request, urllib.error, datetime

p = argparse.ArgumentParser()
p.add_argument("--server", default="https://127.0.0.1:16443")
p.add_argument("--token", default="test-admin-token")
p.add_argument("--token-file", help="a token-auth CSV file: its first line's token is used (not on the command line)")
p.add_argument("--node", default="fake-node")
p.add_argument("--interval", type=float, default=1.0)
p.add_argument("--max-seconds", type=float, default=3600)
a = p.parse_args()
if a.token_file:
    a.token = open(a.token_file).readline().split(",")[0].strip()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE

def call(method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(a.server + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + a.token, "Content-Type": ctype, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")

now = lambda: datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": a.node, "labels": {"kubernetes.io/hostname": a.node, "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", "type": "fake"}}}
if call("POST", "/api/v1/nodes", node)[0] == 409:
    call("PATCH", f"/api/v1/nodes/{a.node}", {"metadata": {"labels": node["metadata"]["labels"]}}, "application/merge-patch+json")
cap = {"cpu": "32", "memory": "256Gi", "pods": "1000"}
def node_status():
    t = now()
    call("PATCH", f"/api/v1/nodes/{a.node}/status", {"status": {"capacity": cap, "allocatable": cap,
        "conditions": [{"type": "Ready", "status": "True", "reason": "FakeKubeletReady", "lastHeartbeatTime": t, "lastTransitionTime": t}],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "nodeInfo": {"kubeletVersion": "v1.20.2-fake", "kubeProxyVersion": "v1.20.2-fake", "architecture": "amd64", "operatingSystem": "linux",
                     "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "fake", "containerRuntimeVersion": "fake://0"}}},
        "application/strategic-merge-patch+json")
    # TaintNodesByCondition admission adds node.kubernetes.io/not-ready at creation; with no
    # node-lifecycle controller nobody lifts it, so drop taints ourselves.
    call("PATCH", f"/api/v1/nodes/{a.node}", {"spec": {"taints": None}}, "application/merge-patch+json")
deadline = time.time() + a.max_seconds
last_node = 0
while time.time() < deadline:
    if time.time() - last_node > 10:
        node_status(); last_node = time.time()
    code, pods = call("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{a.node}")
    for pod in pods.get("items", []):
        md, st = pod["metadata"], pod.get("status", {})
        if md.get("deletionTimestamp"):   # no real kubelet: finish graceful deletion ourselves
            call("DELETE", f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}", {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
            continue
        once = pod["spec"].get("restartPolicy", "Always") != "Always"   # Job / helm-test pods: run to completion
        if st.get("phase") in ("Succeeded",) or (st.get("phase") == "Running" and not once):
            continue
        t = now()
        if once:
            cs = [{"name": c["name"], "image": c["image"], "imageID": "fake://" + c["image"], "ready": False, "started": False,
                   "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t, "finishedAt": t}}}
                  for c in pod["spec"]["containers"]]
            conds = [{"type": "Initialized", "status": "True", "lastTransitionTime": t}, {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
                     {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": t},
                     {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": t}]
            call("PATCH", f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}/status",
                 {"status": {"phase": "Succeeded", "conditions": conds, "containerStatuses": cs, "hostIP": "127.0.0.1",
                             "podIP": "10.244.0.11", "startTime": t}}, "application/strategic-merge-patch+json")
            continue
        cs = [{"name": c["name"], "image": c["image"], "imageID": "fake://" + c["image"], "ready": True, "started": True,
               "restartCount": 0, "state": {"running": {"startedAt": t}}} for c in pod["spec"]["containers"]]
        conds = [{"type": k, "status": "True", "lastTransitionTime": t} for k in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        call("PATCH", f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}/status",
             {"status": {"phase": "Running", "conditions": conds, "containerStatuses": cs, "hostIP": "127.0.0.1",
                         "podIP": "10.244.0.10", "startTime": t}}, "application/strategic-merge-patch+json")
    time.sleep(a.interval)
