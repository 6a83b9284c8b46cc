#!/usr/bin/env python3
"""A stand-in for the aws-iam-authenticator server, for tests: a Kubernetes token webhook
(kube-apiserver --authentication-token-webhook-config-file) that accepts EKS tokens
(`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL) the way EKS does:

1. the URL must be https://sts.<region>.amazonaws.com/ (or sts.amazonaws.com), Action
   GetCallerIdentity, Version 2011-06-15, AWS4-HMAC-SHA256, X-Amz-Expires <= 60, signed at most
   15 minutes ago, with `host` and `x-k8s-aws-id` among the signed headers;
2. the SigV4 signature is verified here, independently of the signer under test, with the
   secret of the access key (from --keys: lines "ACCESS_KEY_ID SECRET"), the header
   `x-k8s-aws-id` being this webhook's --cluster (a token for another cluster fails);
3. the presigned URL is replayed to STS — moto, at --sts (with a routing hint moto needs, see
   below) — and the caller's ARN from its answer is the user name (group system:masters).

moto does not verify presigned (query-string) signatures itself (it checks only Authorization
headers), which is why step 2 is done here. Stdlib only. Prints its port to --port-file.
"""
import argparse, base64, datetime, hashlib, hmac, http.server, json, os, re, urllib.parse, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--cluster", required=True)
p.add_argument("--sts", required=True, help="where STS answers, e.g. http://127.0.0.1:5000 (moto)")
p.add_argument("--keys", required=True)
p.add_argument("--port-file", required=True)
a = p.parse_args()
KEYS = dict(line.split(None, 1) for line in open(a.keys).read().split("\n") if line.strip())
KEYS = {k: v.strip() for k, v in KEYS.items()}
HOST = re.compile(r"^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")

def enc(s):
    return urllib.parse.quote(s, safe="-_.~")

def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()

def verify(token):
    if not token.startswith("k8s-aws-v1."):
        raise ValueError("not an EKS token")
    raw = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https" or not HOST.match(u.netloc) or u.path != "/":
        raise ValueError(f"not an STS URL: {u.scheme}://{u.netloc}{u.path}")
    pairs = urllib.parse.parse_qsl(u.query, keep_blank_values=True, strict_parsing=True)
    q = dict(pairs)
    if len(q) != len(pairs):
        raise ValueError("repeated query parameter")
    for k, v in (("Action", "GetCallerIdentity"), ("Version", "2011-06-15"), ("X-Amz-Algorithm", "AWS4-HMAC-SHA256")):
        if q.get(k) != v:
            raise ValueError(f"{k} is {q.get(k)!r}")
    if int(q.get("X-Amz-Expires", "0")) > 60 or int(q.get("X-Amz-Expires", "0")) <= 0:
        raise ValueError("X-Amz-Expires must be 1..60")
    signed = q["X-Amz-SignedHeaders"].split(";")
    if "host" not in signed or "x-k8s-aws-id" not in signed or signed != sorted(signed):
        raise ValueError(f"signed headers {signed}")
    when = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
    if not -300 <= age <= 900:
        raise ValueError(f"signed {age:.0f}s ago")
    akid, date, region, service, term = q["X-Amz-Credential"].split("/")
    if service != "sts" or term != "aws4_request" or date != q["X-Amz-Date"][:8]:
        raise ValueError("bad credential scope")
    if akid.startswith("ASIA") and not q.get("X-Amz-Security-Token"):
        raise ValueError("a temporary key without its session token")
    secret = KEYS.get(akid)
    if secret is None:
        raise ValueError("unknown access key")
    headers = {"host": u.netloc, "x-k8s-aws-id": a.cluster}
    if any(h not in headers for h in signed):
        raise ValueError(f"cannot check signed header(s) {signed}")
    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs) if k != "X-Amz-Signature")
    canonical = "\n".join(["GET", "/", query, "".join(f"{h}:{headers[h]}\n" for h in signed), ";".join(signed),
                           hashlib.sha256(b"").hexdigest()])
    scope = f"{date}/{region}/sts/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", q["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = hm(hm(hm(hm(("AWS4" + secret).encode(), date), region), "sts"), "aws4_request")
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), q.get("X-Amz-Signature", "")):
        raise ValueError("signature does not match")
    # Replay the presigned URL to STS (moto), as EKS does. moto routes a request to a service by
    # its Authorization header only (it ignores Host) and reads the caller's access key from it,
    # so the replay carries one naming the URL's own credential scope: a routing hint for moto,
    # not a signature (the signature was verified above).
    hint = f"AWS4-HMAC-SHA256 Credential={q['X-Amz-Credential']}, SignedHeaders=host;x-k8s-aws-id, Signature={q['X-Amz-Signature']}"
    req = urllib.request.Request(a.sts.rstrip("/") + "/?" + u.query,
                                 headers={"Host": u.netloc, "x-k8s-aws-id": a.cluster, "Authorization": hint})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
    arn = re.search(r"<Arn>([^<]+)</Arn>", body)
    if not arn:
        raise ValueError("STS gave no Arn: " + body[:200])
    return arn.group(1)

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        status = {"authenticated": False}
        try:
            user = verify(review.get("spec", {}).get("token", ""))
            status = {"authenticated": True, "user": {"username": user, "groups": ["system:masters"]}}
            print(f"accepted {user}", flush=True)
        except Exception as e:  # every failure is a refusal, said in the log
            status["error"] = str(e)
            print(f"refused: {e}", flush=True)
        out = json.dumps({"apiVersion": review.get("apiVersion", "authentication.k8s.io/v1beta1"),
                          "kind": "TokenReview", "status": status}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def log_message(self, *args):
        pass

if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()
