#!/usr/bin/env python3
"""Every STIX bundle csip serves, validated against the OASIS schemas.

Builds a hub with the real `csip` binary, starts `csip serve` on
127.0.0.1, submits reports (an indicator list and a STIX bundle as
application/stix+json), makes and publishes items over the HTTP API, and
fetches /api/v1/stix/bundle and /api/v1/items/{id}/stix as the hub, the
provider, a recipient and readers who may see nothing.  Every bundle is
validated with validate.js (ajv, draft 2020-12) against the OASIS STIX 2.1
JSON schemas in the shared test data; recipients' bundles must not name
the provider.

The schemas are found in ../shared/testdata/stix2.1 beside the source
tree; without them the test is skipped (exit 77).  node and npm are
required (Debian's nodejs and npm; scripts/install-deps checks them): the
test fails when they are missing.  ajv is installed with `npm ci` from
tests/stix/package-lock.json into BUILD-DIR when not there yet.

Usage: test_stix_schemas.py PATH-TO-CSIP BUILD-DIR
"""
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "testdata",
                      "stix2.1")
SCHEMAS = os.path.join(SHARED, "schemas")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
STIX_TYPE = "application/stix+json;version=2.1"

PROVIDER = "kanto-elec"
PROVIDER_DISPLAY = "Kanto Elec Display Name"
PROVIDER_DOMAIN = "kanto-power-test.jp"


def fail(msg):
    sys.stderr.write("stix-schemas: FAIL: %s\n" % msg)
    sys.exit(1)


def node_setup(build):
    """The folder holding validate.js and its node_modules."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            fail("%s is not installed: it is needed to validate STIX "
                 "bundles (Debian: apt-get install nodejs npm, or run "
                 "scripts/install-deps)" % tool)
    os.makedirs(build, exist_ok=True)
    for f in ("package.json", "package-lock.json", "validate.js"):
        shutil.copyfile(os.path.join(HERE, f), os.path.join(build, f))
    if not os.path.isdir(os.path.join(build, "node_modules", "ajv")):
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"],
                           cwd=build, capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            fail("npm ci in %s failed:\n%s%s" % (build, p.stdout, p.stderr))
    return build


class Hub:
    def __init__(self, csip):
        self.csip = csip
        self.dir = tempfile.mkdtemp(prefix="csip-stix-")
        self.conf = os.path.join(self.dir, "csip.conf")
        self.database = testdb.Database(os.path.join(self.dir, "data"))
        with open(self.conf, "w") as f:
            f.write("[data]\ndir = %s\n\n%s[server]\nrate_limit = 0\n" %
                    (os.path.join(self.dir, "data"), self.database.conf()))
        self.proc = None
        self.port = None

    def ok(self, *args):
        e = dict(os.environ)
        e.pop("CSIP_CONFIG", None)
        p = subprocess.run([self.csip, "--config", self.conf] + list(args),
                           capture_output=True, text=True, env=e,
                           cwd=self.dir, timeout=120)
        if p.returncode != 0:
            fail("csip %s failed (%d): %s" % (" ".join(args), p.returncode,
                                              p.stderr))
        return p.stdout

    def token(self, user):
        return json.loads(self.ok("token", "create", user,
                                  "--json"))["token"]

    def start(self):
        e = dict(os.environ)
        e.pop("CSIP_CONFIG", None)
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.csip, "--config", self.conf, "serve", "--listen",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=self.log,
            env=e, cwd=self.dir)
        line = b""
        r, _, _ = select.select([self.proc.stdout], [], [], 60)
        if r:
            line = self.proc.stdout.readline()
        m = re.search(rb"serving on http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            fail("csip serve did not start: %r" % line)
        self.port = int(m.group(1))

    def cleanup(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    def __init__(self, hub, token, name):
        self.hub, self.token, self.name = hub, token, name

    def call(self, method, path, body=None, ctype=None, query=None,
             expect=None):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        h = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            h["Content-Type"] = ctype or "application/json"
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (
            self.hub.port, path), data=data, headers=h, method=method)
        try:
            with OPENER.open(req, timeout=120) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        if expect is not None and status != expect:
            fail("%s %s as %s: expected %d, got %d: %s" % (
                method, path, self.name, expect, status,
                raw[:600].decode("utf-8", "replace")))
        return status, hdrs, raw

    def json(self, method, path, body=None, **kw):
        _, _, raw = self.call(method, path, body, **kw)
        return json.loads(raw.decode("utf-8"))


def build_world(hub):
    hub.ok("init")
    hub.ok("sig", "add", "energy")
    hub.ok("sig", "add", "gas")
    hub.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2024-04-01")
    hub.ok("org", "add", PROVIDER, "--display", PROVIDER_DISPLAY, "--sig",
           "energy", "--nda", "2024-04-01", "--domain", PROVIDER_DOMAIN)
    hub.ok("org", "add", "tohoku-den", "--sig", "energy", "--nda",
           "2024-05-01")
    hub.ok("org", "add", "nihon-gasu", "--sig", "gas", "--nda",
           "2024-06-01")
    hub.ok("org", "add", "natcert", "--role", "partner", "--nda",
           "2024-04-01")
    c = {}
    for user, org, role, name in [("analyst", "hubctr", "analyst", "hub"),
                                  ("kuser", PROVIDER, "member", "provider"),
                                  ("tuser", "tohoku-den", "member",
                                   "recipient"),
                                  ("nuser", "nihon-gasu", "member", "other"),
                                  ("puser", "natcert", "member",
                                   "partner")]:
        hub.ok("user", "add", user, "--org", org, "--role", role)
        c[name] = Client(hub, hub.token(user), name)
    return c


def publish(c, report, title, tlp, audience, sigs=None, tags=None):
    spec = {"title": title, "analysis": "Analysis of " + title,
            "tlp": tlp, "audience": audience, "reports": [report],
            "tags": tags or []}
    if sigs:
        spec["sigs"] = sigs
    iid = c["hub"].json("POST", "/api/v1/items", spec, expect=201)["id"]
    c["hub"].call("POST", "/api/v1/items/%d/submit" % iid, expect=200)
    c["provider"].call("POST", "/api/v1/items/%d/approval" % iid,
                       {"decision": "approve"}, expect=200)
    c["hub"].call("POST", "/api/v1/items/%d/publish" % iid, expect=200)
    return iid


def fetch(client, path, out_dir, files, expect=200):
    status, hdrs, raw = client.call("GET", path, expect=expect)
    if status != 200:
        return None
    ctype = hdrs.get("Content-Type", "")
    if ctype.replace(" ", "") != STIX_TYPE:
        fail("%s as %s: Content-Type %r, not %s" % (path, client.name,
                                                    ctype, STIX_TYPE))
    doc = json.loads(raw.decode("utf-8"))
    if client.name not in ("hub", "provider"):
        low = raw.decode("utf-8").lower()
        for secret in (PROVIDER, PROVIDER_DISPLAY, PROVIDER_DOMAIN):
            if secret.lower() in low:
                fail("%s as %s names the provider (%s)" % (
                    path, client.name, secret))
    name = "%s_%s.json" % (client.name, re.sub(r"[^a-z0-9]+", "_",
                                                path.lower()).strip("_"))
    p = os.path.join(out_dir, name)
    with open(p, "wb") as f:
        f.write(raw)
    files.append(p)
    return doc


def types(doc):
    return sorted(o["type"] for o in doc["objects"])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    csip = os.path.abspath(sys.argv[1])
    build = os.path.abspath(sys.argv[2])
    if not os.path.isdir(SCHEMAS):
        print("SKIP: the OASIS STIX 2.1 schemas are not beside the source "
              "tree (../shared/testdata/stix2.1/schemas)")
        sys.exit(77)
    node_dir = node_setup(build)
    hub = Hub(csip)
    try:
        run(hub, node_dir)
    finally:
        hub.cleanup()
    print("stix-schemas: ok")


def run(hub, node_dir):
    c = build_world(hub)
    hub.start()
    prov = c["provider"]

    # A list of indicators of every kind STIX can carry.
    values = [
        {"value": "evil-cdn.example", "type": "domain"},
        {"value": "www.evil-cdn.example", "type": "hostname"},
        {"value": "198.51.100.7"}, {"value": "2001:db8::7"},
        {"value": "203.0.113.0/24", "type": "cidr4"},
        {"value": "hxxp://evil-cdn[.]example/it's/x?a=1"},
        {"value": "attacker@evil-cdn.example"},
        {"value": "d41d8cd98f00b204e9800998ecf8427e"},
        {"value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991"
                  "b7852b855"},
        {"value": "invoice.pdf.exe", "type": "filename"},
        {"value": "AS64496", "type": "asn"},
        {"value": "Global\\evilmutex", "type": "mutex"},
        {"value": "HKEY_LOCAL_MACHINE\\Software\\Evil", "type": "regkey"},
        {"value": "請求書の件", "type": "email-subject"},
    ]
    r1 = prov.json("POST", "/api/v1/reports", {
        "indicators": values, "permission": "community",
        "attribution": "none", "tlp": "amber"}, expect=201)["id"]

    # A STIX bundle as a report.
    with open(os.path.join(SHARED, "examples",
                           "indicators-for-C2-with-COA.json"), "rb") as f:
        example = f.read()
    res = prov.json("POST", "/api/v1/reports", example,
                    ctype="application/stix+json;version=2.1",
                    query={"permission": "community", "tlp": "green"},
                    expect=201)
    if res["indicators"] < 2:
        fail("the STIX example gave %d indicators" % res["indicators"])
    r2 = res["id"]
    report = c["hub"].json("GET", "/api/v1/reports/%d" % r2, expect=200)
    if report.get("kind") != "stix":
        fail("a STIX submission is stored as kind %r" % report.get("kind"))
    # Sent again: a duplicate, 200.
    prov.call("POST", "/api/v1/reports", example,
              ctype="application/stix+json",
              query={"permission": "community"}, expect=200)
    # A bad bundle: 400, nothing stored.
    n = len(c["hub"].json("GET", "/api/v1/reports",
                          query={"limit": 1000})["reports"])
    bad = json.loads(example)
    first = [o for o in bad["objects"] if o["type"] == "indicator"][0]
    first["pattern"] = "[ipv4-addr:value = "
    prov.call("POST", "/api/v1/reports", json.dumps(bad).encode(),
              ctype="application/stix+json", expect=400)
    prov.call("POST", "/api/v1/reports", b"{not json",
              ctype="application/stix+json", expect=400)
    if len(c["hub"].json("GET", "/api/v1/reports",
                         query={"limit": 1000})["reports"]) != n:
        fail("a refused STIX bundle left a report behind")

    i1 = publish(c, r1, "Phishing wave", "amber", "sig", sigs=["energy"],
                 tags=["phishing", "malware:PlugX", "campaign:Blue Ocean"])
    i2 = publish(c, r2, "C2 servers", "clear", "community")
    c["recipient"].call("POST", "/api/v1/items/%d/feedback" % i1,
                        {"kind": "sighting", "count": 2}, expect=201)

    out = tempfile.mkdtemp(prefix="csip-stix-out-")
    files = []
    try:
        docs = {}
        for who in ("hub", "provider", "recipient", "other", "partner"):
            docs[who] = fetch(c[who], "/api/v1/stix/bundle", out, files)
        fetch(c["recipient"], "/api/v1/stix/bundle", out, files)
        for who in ("hub", "provider", "recipient"):
            fetch(c[who], "/api/v1/items/%d/stix" % i1, out, files)
        fetch(c["other"], "/api/v1/items/%d/stix" % i2, out, files)
        fetch(c["other"], "/api/v1/items/%d/stix" % i1, out, files,
              expect=404)
        fetch(c["partner"], "/api/v1/items/%d/stix" % i1, out, files,
              expect=404)
        c["recipient"].call("GET", "/api/v1/stix/bundle",
                            query={"since": "yesterday"}, expect=400)

        # What each reader gets.
        want = {"hub": 2, "provider": 2, "recipient": 2, "other": 1,
                "partner": 0}
        for who, n_reports in want.items():
            got = types(docs[who]).count("report")
            if got != n_reports:
                fail("bundle as %s has %d reports, not %d" % (who, got,
                                                              n_reports))
        if types(docs["partner"]) != ["identity"]:
            fail("a reader who may see nothing got %s" %
                 types(docs["partner"]))
        for kind in ("indicator", "malware", "campaign", "relationship",
                     "sighting", "marking-definition", "domain-name",
                     "ipv4-addr", "ipv6-addr", "url", "email-addr", "file",
                     "autonomous-system", "mutex", "windows-registry-key",
                     "email-message"):
            if kind not in types(docs["recipient"]):
                fail("the recipient's bundle has no %s" % kind)

        p = subprocess.run(["node", os.path.join(node_dir, "validate.js"),
                            SCHEMAS] + files, capture_output=True,
                           text=True, timeout=600)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            fail("bundles are not valid STIX 2.1:\n" + p.stderr)
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
