#!/usr/bin/env python3
"""Integration tests of `csip serve`, the hub's HTTP server (issue #4).

Every test runs the real binary against a fresh SQLite database in a
temporary folder and talks to it over real HTTP on 127.0.0.1 with
urllib/http.client (no proxy).  Every response received is validated
against the OpenAPI document the server publishes at /api/v1/openapi.json,
and at the end every operation of that document must have been exercised.

Covered: the whole provide -> triage -> review -> item -> consent ->
publish -> read -> feedback cycle; who may see what as a table over
readers and audiences (reads, lists, search, feedback) with a scan of
every recipient's response for the provider's name, domains and planted
recipient address; errors and their JSON bodies with no partial writes;
/healthz, /metrics and the document; durability across kill -9; graceful
shutdown with a request in flight; TLS; the audit log of reads and writes.

Usage: test_server.py PATH-TO-CSIP
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import warnings

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
HERE = os.path.dirname(os.path.abspath(__file__))
MAILDATA = os.path.join(HERE, "..", "data", "mail")

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# The provider whose identity must never reach a recipient.
PROVIDER = "kanto-elec"
PROVIDER_DISPLAY = "Kanto Elec Display Name"
PROVIDER_DOMAIN = "kanto-power-test.jp"
PLANTED = "kei.planted@kanto-power-test.jp"
SECRETS = [PROVIDER_DOMAIN, PLANTED, "kei.planted", "taro@", "hanako@",
           "10.9.8.7", "10.1.2.3", PROVIDER_DISPLAY]

# ---- the OpenAPI document ------------------------------------------------


class OpenApi:
    """The served document: finds operations and validates responses."""

    def __init__(self, doc):
        self.doc = doc
        self.ops = {}            # (METHOD, template) -> operation
        self.regex = []          # (compiled, template)
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    self.ops[(method.upper(), path)] = op
            rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+",
                              re.escape(path)) + "$"
            self.regex.append((re.compile(rx), path))
        self.exercised = set()
        self.lock = threading.Lock()

    def template(self, path):
        for rx, tmpl in self.regex:
            if rx.match(path):
                return tmpl
        return None

    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            obj = node
        return obj

    def validate_schema(self, schema, instance, what):
        # Local "#/components/..." references resolve against the root of
        # the schema being validated: carry the components along, which
        # works the same with every jsonschema version.
        root = {"allOf": [schema], "components": self.doc["components"]}
        v = jsonschema.Draft202012Validator(root)
        errors = sorted(v.iter_errors(instance), key=lambda e: e.path)
        if errors:
            e = errors[0]
            raise AssertionError("%s: response does not match the OpenAPI "
                                 "document: %s at %s\n%s" % (
                                     what, e.message, list(e.path),
                                     json.dumps(instance)[:2000]))

    def check(self, method, path, status, ctype, body):
        """Validate one response; returns the parsed JSON or None."""
        what = "%s %s -> %d" % (method, path, status)
        data = None
        media = (ctype or "").split(";")[0].strip().lower()
        if media == "application/json":
            data = json.loads(body.decode("utf-8"))
        tmpl = self.template(path)
        op = self.ops.get((method, tmpl)) if tmpl else None
        if op is None:
            # Not an operation (unknown path, wrong method): the error
            # body is still the document's Error.
            assert status in (404, 405, 413), what
            assert media == "application/json", what
            self.validate_schema({"$ref": "#/components/schemas/Error"},
                                 data, what)
            return data
        with self.lock:
            self.exercised.add((method, tmpl))
        responses = op["responses"]
        resp = responses.get(str(status), responses.get("default"))
        if resp is None:
            raise AssertionError("%s: the OpenAPI document lists no %d "
                                 "response for %s %s" % (what, status,
                                                         method, tmpl))
        resp = self.deref(resp)
        content = resp.get("content")
        if not content:
            assert body == b"", what
            return data
        # A documented type may carry its parameters (STIX's version).
        full = (ctype or "").replace(" ", "").lower()
        key = full if full in content else media
        if key not in content:
            raise AssertionError("%s: Content-Type %s is not among the "
                                 "document's %s" % (what, ctype,
                                                    list(content)))
        schema = content[key].get("schema")
        if media == "application/json" and schema is not None:
            self.validate_schema(schema, data, what)
        return data


API = None           # OpenApi, from the first server started


# ---- the hub: configuration, CLI, server process --------------------------


class Hub(testhub.Hub):
    """testhub.Hub; the first server started gives the OpenAPI document
    every response is checked against."""

    def start(self, *extra):
        global API
        super().start(*extra)
        if API is None and self.scheme == "http":
            with OPENER.open(self.url("/api/v1/openapi.json"),
                             timeout=30) as r:
                API = OpenApi(json.loads(r.read().decode("utf-8")))
        return self


class Resp:
    def __init__(self, status, headers, body, data):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = data

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


# Every body a recipient (not the hub, not the provider) received, with
# whether the attribution setting allowed the provider's name in it.
RECIPIENT_BODIES = []


class Client:
    """One organisation's token against one server."""

    def __init__(self, hub, token=None, org=None, recipient=False):
        self.hub = hub
        self.token = token
        self.org = org
        self.recipient = recipient

    def call(self, method, path, body=None, ctype=None, query=None,
             headers=None, expect=None, token=True, validate=True):
        if query:
            path = path + "?" + urllib.parse.urlencode(query)
        h = dict(headers or {})
        if token and self.token:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                ctype = ctype or "application/json"
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = body
            if ctype:
                h["Content-Type"] = ctype
        req = urllib.request.Request(self.hub.url(path), data=data,
                                     headers=h, method=method)
        try:
            with OPENER.open(req, timeout=60) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        parsed = None
        if validate:
            parsed = API.check(method, path.split("?")[0], status,
                               hdrs.get("Content-Type"), raw)
        elif (hdrs.get("Content-Type") or "").startswith("application/json"):
            parsed = json.loads(raw.decode("utf-8"))
        if self.recipient:
            RECIPIENT_BODIES.append((self.org, method, path, raw))
        if expect is not None and status != expect:
            raise AssertionError("%s %s as %s: expected %d, got %d: %s" % (
                method, path, self.org, expect, status,
                raw[:600].decode("utf-8", "replace")))
        return Resp(status, hdrs, raw, parsed)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body=body, **kw)


def assert_error(tc, r, status, needle=None):
    tc.assertEqual(r.status, status, r)
    tc.assertIsInstance(r.json, dict, r)
    tc.assertEqual(set(r.json), {"error"}, r)
    tc.assertIsInstance(r.json["error"].get("code"), str, r)
    tc.assertIsInstance(r.json["error"].get("message"), str, r)
    tc.assertTrue(r.json["error"]["message"], r)
    if needle is not None:
        tc.assertIn(needle, r.json["error"]["message"], r)


def reported_mail():
    """fwd-attach.eml with a planted recipient in the attack's To: and
    body, and Message-IDs of its own."""
    with open(os.path.join(MAILDATA, "fwd-attach.eml"), "rb") as f:
        raw = f.read()
    raw = raw.replace(b'To: "Taro Yamada" <taro@kanto-power-test.jp>',
                      b'To: "Taro Yamada" <taro@kanto-power-test.jp>, '
                      b'"Kei Planted" <' + PLANTED.encode() + b'>')
    raw = raw.replace(b"or contact hanako@kanto-power-test.jp",
                      b"or contact hanako@kanto-power-test.jp\n"
                      b"cc " + PLANTED.encode() + b" for approval")
    raw = raw.replace(b"<attack-1@billing-test.com>",
                      b"<attack-srv-1@billing-test.com>")
    raw = raw.replace(b"<fwd-1@", b"<fwd-srv-1@")
    assert PLANTED.encode() in raw
    return raw


# ---- the shared hub of most tests ------------------------------------------

HUB = None
C = {}              # name -> Client


def start_shared():
    global HUB
    HUB = Hub("max_body_mb = 1\nrate_limit = 0\n")
    h = HUB
    h.ok("init")
    h.ok("sig", "add", "energy")
    h.ok("sig", "add", "gas")
    h.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2024-04-01",
         "--domain", "hub-test.jp")
    h.ok("org", "add", PROVIDER, "--display", PROVIDER_DISPLAY, "--sig",
         "energy", "--nda", "2024-04-01", "--domain", PROVIDER_DOMAIN,
         "--network", "10.0.0.0/8")
    h.ok("org", "add", "tohoku-den", "--sig", "energy", "--nda",
         "2024-05-01", "--domain", "tohoku-den-test.jp")
    h.ok("org", "add", "nihon-gasu", "--sig", "gas", "--nda", "2024-06-01",
         "--domain", "nihon-gasu-test.jp")
    h.ok("org", "add", "fuji-nonda", "--sig", "energy",
         "--domain", "fuji-nonda-test.jp")
    h.ok("org", "add", "natcert", "--role", "partner", "--nda",
         "2024-04-01", "--domain", "natcert-test.jp")
    h.ok("org", "add", "osaka-gasu", "--sig", "gas", "--nda", "2024-04-01",
         "--domain", "osaka-gasu-test.jp")
    for user, org, role in [("analyst", "hubctr", "analyst"),
                            ("kuser", PROVIDER, "member"),
                            ("tuser", "tohoku-den", "member"),
                            ("nuser", "nihon-gasu", "member"),
                            ("fuser", "fuji-nonda", "member"),
                            ("puser", "natcert", "member"),
                            ("ouser", "osaka-gasu", "member")]:
        h.ok("user", "add", user, "--org", org, "--role", role)
    C["hub"] = Client(h, h.token("analyst"), "hubctr")
    C["provider"] = Client(h, h.token("kuser"), PROVIDER)
    C["provider_ro"] = Client(h, h.token("kuser", "--read-only"), PROVIDER)
    C["same_sig"] = Client(h, h.token("tuser"), "tohoku-den", True)
    C["other_sig"] = Client(h, h.token("nuser"), "nihon-gasu", True)
    C["no_nda"] = Client(h, h.token("fuser"), "fuji-nonda", True)
    C["partner"] = Client(h, h.token("puser"), "natcert", True)
    C["provider2"] = Client(h, h.token("ouser"), "osaka-gasu")
    C["anon"] = Client(h, None, "anonymous", True)
    h.start()


def stop_shared():
    if HUB is not None:
        HUB.cleanup()


def report_count():
    return len(HUB.json("report", "list"))


def item_count():
    r = C["hub"].get("/api/v1/items", query={"limit": 1000}, expect=200)
    return len(r.json["items"])


def make_item(reports, audience, title, indicators=None, sigs=None,
              publish=True, approve=True):
    """Create (and by default submit, approve and publish) an item."""
    hub = C["hub"]
    spec = {"title": title, "analysis": "Analysis of " + title,
            "tlp": "green", "audience": audience, "reports": reports}
    if indicators is not None:
        spec["indicators"] = indicators
    if sigs is not None:
        spec["sigs"] = sigs
    item = hub.post("/api/v1/items", spec, expect=201).json
    iid = item["id"]
    if publish or approve:
        hub.post("/api/v1/items/%d/submit" % iid, expect=200)
        prov = C["provider"] if reports[0] in PROVIDER_REPORTS else \
            C["provider2"]
        prov.post("/api/v1/items/%d/approval" % iid,
                  {"decision": "approve"}, expect=200)
    if publish:
        hub.post("/api/v1/items/%d/publish" % iid, expect=200)
    return iid


PROVIDER_REPORTS = set()


def submit_indicators(client, values, permission, attribution="none",
                      tlp="green"):
    r = client.post("/api/v1/reports", {"indicators": values,
                                        "permission": permission,
                                        "attribution": attribution,
                                        "tlp": tlp}, expect=201)
    if client is C["provider"]:
        PROVIDER_REPORTS.add(r.json["id"])
    return r.json["id"]


# ---- 1. the whole cycle ------------------------------------------------------


class Test1Cycle(unittest.TestCase):
    def test_cycle(self):
        prov, hub = C["provider"], C["hub"]
        mail = reported_mail()
        n0 = report_count()

        # Provide: a raw mail, free text, and a list of indicators.
        r = prov.post("/api/v1/reports", mail, ctype="message/rfc822",
                      query={"permission": "sig", "attribution": "none",
                             "tlp": "amber"}, expect=201)
        mail_id = r.json["id"]
        PROVIDER_REPORTS.add(mail_id)
        self.assertEqual(r.json["outcome"], "stored")
        self.assertEqual(r.headers["Location"],
                         "/api/v1/reports/%d" % mail_id)
        self.assertTrue(r.json["shareable"], r)
        r = prov.post("/api/v1/reports", mail, ctype="message/rfc822",
                      query={"permission": "sig"}, expect=200)
        self.assertEqual(r.json["outcome"], "duplicate")
        self.assertEqual(r.json["id"], mail_id)

        text = ("Our proxy blocked hxxps://cycle-text-test[.]net/login "
                "from a phishing SMS on 2024-04-02.")
        r = prov.post("/api/v1/reports", text,
                      ctype="text/plain; charset=utf-8",
                      query={"permission": "community", "tlp": "green"},
                      expect=201)
        text_id = r.json["id"]
        PROVIDER_REPORTS.add(text_id)
        self.assertEqual(r.headers["Location"],
                         "/api/v1/reports/%d" % text_id)
        r = prov.post("/api/v1/reports", {
            "indicators": ["cycle-ind-test.org",
                           {"value": "203.0.113.77", "type": "ipv4",
                            "role": "c2"}],
            "permission": "community", "attribution": "none",
            "tlp": "green"}, expect=201)
        ind_id = r.json["id"]
        PROVIDER_REPORTS.add(ind_id)
        self.assertEqual(r.json["indicators"], 2)
        r = prov.post("/api/v1/reports", {"text": text,
                                          "permission": "community"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["outcome"], "duplicate")
        self.assertEqual(report_count(), n0 + 3)

        # The provider lists and reads its own reports.
        lst = prov.get("/api/v1/reports", expect=200).json
        ids = {x["id"] for x in lst["reports"]}
        self.assertTrue({mail_id, text_id, ind_id} <= ids)
        self.assertTrue(all(x["org"] == PROVIDER for x in lst["reports"]))
        full = prov.get("/api/v1/reports/%d" % mail_id, expect=200).json
        values = {o["value"] for o in full["observations"]}
        self.assertIn("45.76.12.34", values)
        self.assertNotIn(PLANTED, values)
        anon = prov.get("/api/v1/reports/%d/anonymised" % mail_id,
                        expect=200)
        self.assertTrue(anon.headers["Content-Type"].startswith(
            "message/rfc822"))
        self.assertNotIn(PLANTED.encode(), anon.body.lower())
        self.assertNotIn(PROVIDER_DOMAIN.encode(), anon.body.lower())
        # Nobody else reads them, not even their existence.
        for other in ("same_sig", "other_sig", "partner", "provider2"):
            c = C[other]
            c.get("/api/v1/reports/%d" % mail_id, expect=404)
            c.get("/api/v1/reports/%d/anonymised" % mail_id, expect=404)
            c.patch("/api/v1/reports/%d" % mail_id,
                    {"permission": "public"}, expect=404)
            lst = c.get("/api/v1/reports", expect=200).json
            self.assertFalse({x["id"] for x in lst["reports"]} &
                             {mail_id, text_id, ind_id})
        C["same_sig"].get("/api/v1/reports/999999", expect=404)

        # The provider changes its sharing settings.
        r = prov.patch("/api/v1/reports/%d" % mail_id,
                       {"permission": "community", "attribution": "none"},
                       expect=200)
        self.assertEqual(r.json["permission"], "community")

        # Triage: indicators, the anonymised message, what was removed.
        tri = hub.get("/api/v1/triage", query={"limit": 100},
                      expect=200).json
        by_id = {x["id"]: x for x in tri["reports"]}
        self.assertIn(mail_id, by_id)
        t = by_id[mail_id]
        self.assertTrue(t["observations"])
        self.assertIsInstance(t["anonymised"], str)
        self.assertNotIn(PLANTED, t["anonymised"].lower())
        removed = json.dumps(t["removed"]).lower()
        self.assertIn("kei.planted", removed)

        # Review: mark indicators, analysis, tags, attack type, severity.
        obs = t["observations"]
        marks = [{"type": o["type"], "value": o["value"],
                  "shareable": o["value"] != "45.76.12.34"} for o in obs]
        r = hub.patch("/api/v1/reports/%d" % mail_id, {
            "status": "reviewed", "analysis": "Invoice lure with a zip",
            "tags": ["invoice", "zip"], "attack_type": "targeted-mail",
            "severity": "high", "indicators": marks}, expect=200)
        self.assertEqual(r.json["status"], "reviewed")
        self.assertEqual(r.json["severity"], "high")
        tri = hub.get("/api/v1/triage", expect=200).json
        self.assertNotIn(mail_id, {x["id"] for x in tri["reports"]})
        self.assertIn(mail_id, {x["id"] for x in hub.get(
            "/api/v1/reports", query={"status": "reviewed"},
            expect=200).json["reports"]})

        # An item; publishing before approval is refused.
        item = hub.post("/api/v1/items", {
            "title": "Invoice lures against the energy sector",
            "analysis": "Zip attachments with a JavaScript dropper.",
            "tlp": "green", "audience": "community",
            "attack_type": "targeted-mail", "severity": "high",
            "tags": ["invoice"], "reports": [mail_id, ind_id]},
            expect=201)
        iid = item.json["id"]
        self.assertEqual(item.headers["Location"], "/api/v1/items/%d" % iid)
        self.assertEqual(item.json["status"], "draft")
        shared_values = {i["value"] for i in item.json["indicators"]}
        self.assertNotIn("45.76.12.34", shared_values)
        self.assertIn("cycle-ind-test.org", shared_values)
        # A draft is the hub's alone.
        prov.get("/api/v1/items/%d" % iid, expect=404)
        r = hub.post("/api/v1/items/%d/publish" % iid)
        assert_error(self, r, 409)
        r = hub.patch("/api/v1/items/%d" % iid,
                      {"title": "Invoice lures (energy)"}, expect=200)
        self.assertEqual(r.json["title"], "Invoice lures (energy)")
        r = hub.post("/api/v1/items/%d/submit" % iid, expect=200)
        self.assertEqual(r.json["status"], "pending")
        r = hub.post("/api/v1/items/%d/publish" % iid)
        assert_error(self, r, 409)

        # The provider sees exactly the shared view, and approves.
        pv = prov.get("/api/v1/items/%d" % iid, expect=200).json
        hv = hub.get("/api/v1/items/%d" % iid, expect=200).json
        self.assertEqual({i["value"] for i in pv["indicators"]},
                         {i["value"] for i in hv["indicators"]})
        for k in ("sources", "approvals", "created_by", "recipients"):
            self.assertNotIn(k, pv)
        self.assertEqual(sorted(pv["report_ids"]), [mail_id, ind_id])
        C["same_sig"].get("/api/v1/items/%d" % iid, expect=404)
        r = C["same_sig"].post("/api/v1/items/%d/approval" % iid,
                               {"decision": "approve"})
        assert_error(self, r, 404)
        r = prov.post("/api/v1/items/%d/approval" % iid,
                      {"decision": "approve", "comment": "fine"},
                      expect=200)
        self.assertEqual(r.json["status"], "approved")

        # Publish; the provider can no longer change its settings.
        r = hub.post("/api/v1/items/%d/publish" % iid, expect=200)
        self.assertEqual(r.json["status"], "published")
        self.assertGreaterEqual(r.json["recipients"], 3)
        r = prov.patch("/api/v1/reports/%d" % mail_id,
                       {"permission": "public"})
        assert_error(self, r, 409)
        r = hub.patch("/api/v1/items/%d" % iid, {"title": "late"})
        assert_error(self, r, 409)

        # Recipients read it; the view names nobody.
        rv = C["same_sig"].get("/api/v1/items/%d" % iid, expect=200).json
        self.assertEqual(rv["providers"], [None, None])
        self.assertNotIn("status", rv)
        self.assertNotIn("report_ids", rv)
        C["other_sig"].get("/api/v1/items/%d" % iid, expect=200)
        C["partner"].get("/api/v1/items/%d" % iid, expect=404)
        C["no_nda"].get("/api/v1/items/%d" % iid, expect=404)

        # Feedback.
        base = "/api/v1/items/%d/feedback" % iid
        r = C["same_sig"].post(base, {"kind": "sighting", "count": 3,
                                      "seen_at": "2024-04-03T09:30:00Z",
                                      "indicator": {
                                          "type": "domain",
                                          "value": "cycle-ind-test.org"}},
                               expect=201)
        self.assertEqual(r.json["item"], iid)
        C["same_sig"].post(base, {"kind": "blocked"}, expect=201)
        C["other_sig"].post(base, {"kind": "false_positive"}, expect=201)
        C["other_sig"].post(base, {"kind": "comment",
                                   "comment": "seen at our gateway"},
                            expect=201)
        r = C["other_sig"].post(base, {"kind": "comment",
                                       "comment": "long " * 5000})
        assert_error(self, r, 413, "comment")
        r = C["other_sig"].post(base, {"kind": "comment"})
        assert_error(self, r, 400, "comment")
        r = C["other_sig"].post(base, {"kind": "sighting",
                                       "seen_at": "last tuesday"})
        assert_error(self, r, 400, "seen_at")
        r = C["other_sig"].post(base, {"kind": "sighting",
                                       "seen_at": "2024-04-03T09:30:00Z",
                                       "last_seen_at": "2024-04-03T09:00:00Z"})
        assert_error(self, r, 400, "last_seen_at")
        r = C["other_sig"].post(base, {"kind": "sighting", "indicator": {
            "type": "domain", "value": "not-in-item-test.org"}})
        assert_error(self, r, 400)
        r = C["other_sig"].post(base, {"kind": "liked"})
        assert_error(self, r, 400, "liked")
        fb = hub.get(base, expect=200).json["feedback"]
        self.assertEqual(len(fb), 4)
        self.assertEqual({f["org"] for f in fb},
                         {"tohoku-den", "nihon-gasu"})
        kinds = {f["kind"] for f in fb}
        self.assertEqual(kinds, {"sighting", "blocked", "false_positive",
                                 "comment"})
        fb = prov.get(base, expect=200).json["feedback"]
        self.assertEqual(len(fb), 4)
        self.assertEqual({f["org"] for f in fb}, {None})
        fb = C["same_sig"].get(base, expect=200).json["feedback"]
        self.assertEqual({f["org"] for f in fb}, {"tohoku-den"})
        C["partner"].get(base, expect=404)
        counts = C["other_sig"].get("/api/v1/items/%d" % iid,
                                    expect=200).json["feedback"]
        self.assertGreaterEqual(counts.get("sighting", 0), 1, counts)
        self.assertGreaterEqual(counts.get("comment", 0), 1, counts)

        # Withdraw: only the hub still reads it.
        hub.post("/api/v1/items/%d/withdraw" % iid, expect=200)
        C["same_sig"].get("/api/v1/items/%d" % iid, expect=404)
        r = hub.post("/api/v1/items/%d/withdraw" % iid)
        assert_error(self, r, 409)
        self.assertEqual(hub.get("/api/v1/items/%d" % iid,
                                 expect=200).json["status"], "withdrawn")

        me = prov.get("/api/v1/me", expect=200).json
        self.assertEqual((me["user"], me["org"]), ("kuser", PROVIDER))


# ---- 2. who may see what ---------------------------------------------------

READERS = ["hub", "provider", "same_sig", "other_sig", "no_nda", "partner"]
# audience -> readers that get it (published)
VISIBLE = {
    "sig": {"hub", "provider", "same_sig"},
    "community": {"hub", "provider", "same_sig", "other_sig"},
    "partners": {"hub", "provider", "same_sig", "other_sig", "partner"},
    "public": {"hub", "provider", "same_sig", "other_sig", "partner"},
}


class Test2Visibility(unittest.TestCase):
    def test_matrix(self):
        src = submit_indicators(C["provider"], [
            "aud-sig.matrix-test.net", "aud-community.matrix-test.net",
            "aud-partners.matrix-test.net", "aud-public.matrix-test.net",
            "unpublished-matrix-test.net"], "public")
        items = {}
        for aud in ("sig", "community", "partners", "public"):
            items[aud] = make_item(
                [src], aud, "Matrix item for audience " + aud,
                indicators=[{"type": "domain",
                             "value": "aud-%s.matrix-test.net" % aud}],
                sigs=["energy"] if aud == "sig" else None)
        draft = make_item([src], "public", "Matrix draft", indicators=[
            {"type": "domain", "value": "unpublished-matrix-test.net"}],
            publish=False, approve=False)
        approved = make_item([src], "public", "Matrix approved", indicators=[
            {"type": "domain", "value": "unpublished-matrix-test.net"}],
            publish=False, approve=True)

        for reader in READERS:
            c = C[reader]
            listed = {x["id"] for x in c.get(
                "/api/v1/items", query={"limit": 1000},
                expect=200).json["items"]}
            for aud, iid in items.items():
                want = reader in VISIBLE[aud]
                case = "%s reading a %s item" % (reader, aud)
                r = c.get("/api/v1/items/%d" % iid)
                self.assertEqual(r.status, 200 if want else 404, case)
                if not want:
                    assert_error(self, r, 404)
                self.assertEqual(iid in listed, want, case + " (list)")
                found = {x["id"] for x in c.get(
                    "/api/v1/search", query={
                        "value": "AUD-%s.matrix-test[.]net" % aud},
                    expect=200).json["items"]}
                self.assertEqual(iid in found, want, case + " (search)")
                r = c.post("/api/v1/items/%d/feedback" % iid,
                           {"kind": "sighting", "count": 1})
                self.assertEqual(r.status, 201 if want else 404,
                                 case + " (feedback) %r" % r)
            # Unpublished items: the hub, and the provider once asked.
            for iid, prov_sees in ((draft, False), (approved, True)):
                want = reader == "hub" or (reader == "provider" and
                                           prov_sees)
                r = c.get("/api/v1/items/%d" % iid)
                self.assertEqual(r.status, 200 if want else 404,
                                 "%s reading unpublished %d" % (reader, iid))
                if reader != "hub":
                    self.assertNotIn(iid, listed)
                found = {x["id"] for x in c.get(
                    "/api/v1/search", query={
                        "value": "unpublished-matrix-test.net"},
                    expect=200).json["items"]}
                if reader != "hub":
                    self.assertNotIn(iid, found, reader)
                r = c.post("/api/v1/items/%d/feedback" % iid,
                           {"kind": "blocked"})
                assert_error(self, r, 404)
            # An item that does not exist answers the same.
            r = c.get("/api/v1/items/987654")
            assert_error(self, r, 404)
        # Status filters: the hub sees every item in that status; a
        # provider the items built on its reports, once asked for its
        # consent; anyone else nothing unpublished.
        def by_status(reader, status):
            return {x["id"] for x in C[reader].get(
                "/api/v1/items", query={"status": status, "limit": 1000},
                expect=200).json["items"]}

        self.assertIn(draft, by_status("hub", "draft"))
        self.assertIn(approved, by_status("hub", "approved"))
        self.assertNotIn(draft, by_status("provider", "draft"))
        self.assertIn(approved, by_status("provider", "approved"))
        self.assertNotIn(items["sig"], by_status("provider2", "published"))
        for reader in ("same_sig", "other_sig", "no_nda", "partner"):
            for status in ("draft", "pending", "approved", "published",
                           "changes_requested", "withdrawn"):
                self.assertEqual(by_status(reader, status), set(),
                                 (reader, status))
        r = C["same_sig"].get("/api/v1/items", query={"status": "bogus"})
        assert_error(self, r, 400, "bogus")

    def test_attribution(self):
        """The provider's name reaches a recipient only as allowed."""
        src = submit_indicators(C["provider2"], ["attr.matrix-test.net"],
                                "community", attribution="sig")
        iid = make_item([src], "community", "Attributed item", indicators=[
            {"type": "domain", "value": "attr.matrix-test.net"}])
        # nihon-gasu shares the gas SIG with osaka-gasu: it may know.
        v = C["other_sig"].get("/api/v1/items/%d" % iid, expect=200).json
        self.assertEqual(v["providers"], ["osaka-gasu"])
        v = C["same_sig"].get("/api/v1/items/%d" % iid, expect=200).json
        self.assertEqual(v["providers"], [None])
        self.assertNotIn(b"osaka-gasu", C["same_sig"].get(
            "/api/v1/items", query={"limit": 1000}, expect=200).body)
        v = C["hub"].get("/api/v1/items/%d" % iid, expect=200).json
        self.assertEqual(v["providers"], ["osaka-gasu"])

    def test_audience_within_permission(self):
        hub = C["hub"]
        n = item_count()
        sig_src = submit_indicators(C["provider"], [
            "narrow.matrix-test.net"], "sig")
        for aud in ("community", "partners", "public"):
            r = hub.post("/api/v1/items", {
                "title": "Too wide", "audience": aud,
                "reports": [sig_src]})
            assert_error(self, r, 403)
            self.assertIn(str(sig_src), r.json["error"]["message"])
        # A sig audience outside the provider's SIGs.
        r = hub.post("/api/v1/items", {"title": "Wrong SIG",
                                       "audience": "sig", "sigs": ["gas"],
                                       "reports": [sig_src]})
        assert_error(self, r, 403)
        self.assertEqual(item_count(), n)
        # Within: fine.
        hub.post("/api/v1/items", {"title": "Right SIG", "audience": "sig",
                                   "sigs": ["energy"],
                                   "reports": [sig_src]}, expect=201)
        # Narrowing the permission after the item was made: publish
        # refuses the item that became too wide.
        src = submit_indicators(C["provider"], ["later.matrix-test.net"],
                                "public")
        iid = make_item([src], "public", "Narrowed later", indicators=[
            {"type": "domain", "value": "later.matrix-test.net"}],
            publish=False)
        C["provider"].patch("/api/v1/reports/%d" % src,
                            {"permission": "sig"}, expect=200)
        r = hub.post("/api/v1/items/%d/publish" % iid)
        self.assertIn(r.status, (403, 409), r)
        assert_error(self, r, r.status)
        C["same_sig"].get("/api/v1/items/%d" % iid, expect=404)

    def test_coproviders_within_audience(self):
        # A provider reads the whole item it is a source of: with a
        # second provider outside the audience, that one would read the
        # first's energy-only report (and the energy members' feedback).
        hub = C["hub"]
        n = item_count()
        energy = submit_indicators(C["provider"], [
            "energy-only.coprov-test.net"], "sig")
        gas = submit_indicators(C["other_sig"], ["gas.coprov-test.net"],
                                "community")
        partner = submit_indicators(C["partner"], [
            "partner.coprov-test.net"], "public")
        wide = submit_indicators(C["provider"], [
            "community.coprov-test.net"], "community")
        for aud, sigs, mine, other in (("sig", ["energy"], energy, gas),
                                       ("sig", ["energy"], energy, partner),
                                       ("community", None, wide, partner)):
            body = {"title": "Two sectors", "audience": aud,
                    "reports": [mine, other]}
            if sigs:
                body["sigs"] = sigs
            r = hub.post("/api/v1/items", body)
            assert_error(self, r, 403)
            self.assertIn("report %d" % other, r.json["error"]["message"])
        self.assertEqual(item_count(), n)
        C["other_sig"].get("/api/v1/reports/%d" % energy, expect=404)
        # An audience that reaches both: each provider reads it.
        osaka = submit_indicators(C["provider2"], ["osaka.coprov-test.net"],
                                  "community")
        iid = make_item([wide, osaka], "community", "Two sectors", indicators=[
            {"type": "domain", "value": "community.coprov-test.net"}],
            publish=False)
        for who in ("provider", "provider2"):
            C[who].get("/api/v1/items/%d" % iid, expect=200)
        C["other_sig"].get("/api/v1/items/%d" % iid, expect=404)

    def test_hub_member_reads_as_participant(self):
        # The hub's own view (every report, the recipients taken out of
        # them, who gave feedback) is its analysts'; another user of the
        # hub's organisation reads as a participant with its NDA would.
        HUB.ok("user", "add", "hmember", "--org", "hubctr", "--role",
               "member")
        member = Client(HUB, HUB.token("hmember"), "hubctr")
        rep = submit_indicators(C["provider"], [
            "member-view.coprov-test.net"], "community")
        C["hub"].get("/api/v1/reports/%d" % rep, expect=200)
        member.get("/api/v1/reports/%d" % rep, expect=404)
        mine = member.get("/api/v1/reports", expect=200).json
        self.assertNotIn(rep, [x["id"] for x in mine["reports"]])
        member.get("/api/v1/triage", expect=403)
        iid = make_item([rep], "community", "Member view", indicators=[
            {"type": "domain", "value": "member-view.coprov-test.net"}])
        view = member.get("/api/v1/items/%d" % iid, expect=200).json
        self.assertNotIn("sources", view)
        self.assertEqual(view["providers"], [None])
        full = C["hub"].get("/api/v1/items/%d" % iid, expect=200).json
        self.assertIn("sources", full)


# ---- 3. errors ---------------------------------------------------------------


class Test3Errors(unittest.TestCase):
    def counts(self):
        return (report_count(), item_count(),
                len(HUB.json("audit", "list")))

    def assert_unchanged(self, before):
        # The batched read audit may add api.read rows: compare writes.
        rows = HUB.json("audit", "list")
        writes = [r for r in rows if r["action"] != "api.read"]
        self.assertEqual((report_count(), item_count()), before[:2])
        return writes

    def test_bad_bodies(self):
        prov, hub = C["provider"], C["hub"]
        writes0 = [r for r in HUB.json("audit", "list")
                   if r["action"] != "api.read"]
        before = self.counts()
        src = sorted(PROVIDER_REPORTS)[0] if PROVIDER_REPORTS else 1

        r = prov.post("/api/v1/reports", b'{"indicators": [',
                      ctype="application/json")
        assert_error(self, r, 400, "JSON")
        r = hub.post("/api/v1/items", b'{"title": "x",}',
                     ctype="application/json")
        assert_error(self, r, 400)
        r = hub.post("/api/v1/items", b'["a list"]',
                     ctype="application/json")
        assert_error(self, r, 400)
        r = hub.post("/api/v1/items", b'{"title": "a", "title": "b"}',
                     ctype="application/json")
        assert_error(self, r, 400)

        r = prov.post("/api/v1/reports", b"GIF89a", ctype="image/gif")
        assert_error(self, r, 415, "image/gif")
        r = prov.post("/api/v1/reports", b"no type at all", ctype=None)
        assert_error(self, r, 415)
        r = hub.post("/api/v1/items", "title=x", ctype="text/plain")
        assert_error(self, r, 415)
        r = prov.patch("/api/v1/reports/%d" % src, "permission=public",
                       ctype="application/x-www-form-urlencoded")
        assert_error(self, r, 415)

        r = prov.post("/api/v1/reports", {"indicators": ["a-test.org"],
                                          "bogus_field": 1})
        assert_error(self, r, 400, "bogus_field")
        r = hub.post("/api/v1/items", {"title": "x", "audience": "public",
                                       "reports": [src], "colour": "red"})
        assert_error(self, r, 400, "colour")
        r = prov.patch("/api/v1/reports/%d" % src, {"visibility": "all"})
        assert_error(self, r, 400, "visibility")
        r = prov.post("/api/v1/reports", {"text": 5})
        assert_error(self, r, 400, "text")
        r = prov.post("/api/v1/reports", {"indicators": "a-test.org"})
        assert_error(self, r, 400, "indicators")
        r = prov.post("/api/v1/reports", {"indicators": ["a-test.org"],
                                          "permission": 3})
        assert_error(self, r, 400, "permission")
        r = prov.post("/api/v1/reports", {"indicators": ["a-test.org"],
                                          "permission": "everyone"})
        assert_error(self, r, 400, "everyone")
        r = hub.post("/api/v1/items", {"title": ["x"], "audience": "public",
                                       "reports": [src]})
        assert_error(self, r, 400, "title")
        r = hub.post("/api/v1/items", {"title": "x", "audience": "public",
                                       "reports": ["one"]})
        assert_error(self, r, 400, "reports")
        r = prov.post("/api/v1/items/1/feedback", {"kind": "sighting",
                                                   "count": "many"})
        assert_error(self, r, 400, "count")

        r = prov.post("/api/v1/reports", {
            "indicators": ["good-one-test.org", "not an indicator at all!!",
                           "good-two-test.org"]})
        assert_error(self, r, 400, "1")
        msg = r.json["error"]["message"]
        self.assertTrue("[1]" in msg or "#1" in msg or "element 1" in msg
                        or "indicator 1" in msg or "not an indicator" in
                        msg, msg)
        r = prov.post("/api/v1/reports", {"indicators": [
            "good-one-test.org", {"type": "ipv4", "value": "999.1.1.1"}]})
        assert_error(self, r, 400)
        self.assertIn("1", r.json["error"]["message"])
        r = prov.post("/api/v1/reports", {"indicators": []})
        assert_error(self, r, 400, "indicators")
        r = prov.post("/api/v1/reports", b"", ctype="text/plain")
        assert_error(self, r, 400)
        r = prov.post("/api/v1/reports", "x", ctype="text/plain",
                      query={"tlp": "purple"})
        assert_error(self, r, 400, "purple")

        self.assert_unchanged(before)
        writes = [r for r in HUB.json("audit", "list")
                  if r["action"] != "api.read"]
        self.assertEqual(writes, writes0)

    def test_oversize(self):
        prov = C["provider"]
        before = report_count()
        big = b"x" * (2 << 20)
        # Declared with Content-Length: refused before the body is read.
        status, headers, body = raw_request(
            HUB, "POST", "/api/v1/reports?permission=sig", big,
            {"Content-Type": "text/plain", "Authorization":
             "Bearer " + prov.token})
        r = Resp(status, headers, body, API.check(
            "POST", "/api/v1/reports", status,
            headers.get("Content-Type"), body))
        assert_error(self, r, 413, "1 MiB")
        # Chunked, without a length: refused after 1 MiB.
        status, headers, body = raw_request(
            HUB, "POST", "/api/v1/reports?permission=sig", big,
            {"Content-Type": "text/plain", "Authorization":
             "Bearer " + prov.token}, chunked=True)
        r = Resp(status, headers, body, API.check(
            "POST", "/api/v1/reports", status,
            headers.get("Content-Type"), body))
        assert_error(self, r, 413)
        # The same as JSON.
        status, headers, body = raw_request(
            HUB, "POST", "/api/v1/reports", json.dumps(
                {"text": "y" * (2 << 20)}).encode(),
            {"Content-Type": "application/json", "Authorization":
             "Bearer " + prov.token}, chunked=True)
        r = Resp(status, headers, body, API.check(
            "POST", "/api/v1/reports", status,
            headers.get("Content-Type"), body))
        assert_error(self, r, 413)
        # Oversize JSON to the other routes that take a body.
        hub = C["hub"]
        for who, path in ((hub, "/api/v1/items"),
                          (hub, "/api/v1/items/1"),
                          (prov, "/api/v1/items/1/approval"),
                          (prov, "/api/v1/items/1/feedback"),
                          (prov, "/api/v1/reports/1")):
            method = "PATCH" if path.count("/") == 4 else "POST"
            status, headers, body = raw_request(
                HUB, method, path, json.dumps(
                    {"title": "z" * (2 << 20)}).encode(),
                {"Content-Type": "application/json", "Authorization":
                 "Bearer " + who.token})
            r = Resp(status, headers, body, API.check(
                method, path, status, headers.get("Content-Type"), body))
            assert_error(self, r, 413)
        # Fields over the library's caps, in a body under the server's.
        n = item_count()
        src = min(PROVIDER_REPORTS)
        r = hub.post("/api/v1/items", {"title": "t" * 5000,
                                       "audience": "sig", "sigs": ["energy"],
                                       "reports": [src]})
        assert_error(self, r, 413, "title")
        self.assertEqual(item_count(), n)
        self.assertEqual(report_count(), before)
        # The server is still fine.
        C["anon"].get("/healthz", expect=200)

    def test_auth(self):
        anon = C["anon"]
        before = report_count()
        for method, path in (("GET", "/api/v1/me"),
                             ("GET", "/api/v1/items"),
                             ("GET", "/api/v1/reports"),
                             ("POST", "/api/v1/reports")):
            r = anon.call(method, path, body={"text": "x"} if method ==
                          "POST" else None)
            assert_error(self, r, 401)
            self.assertTrue(r.headers.get("WWW-Authenticate", "")
                            .startswith("Bearer"), r.headers)
        r = anon.get("/api/v1/me", headers={"Authorization": "Basic eDp5"})
        assert_error(self, r, 401)
        r = anon.get("/api/v1/me",
                     headers={"Authorization": "Bearer csip_not-a-token"})
        assert_error(self, r, 401)
        self.assertIn("WWW-Authenticate", r.headers)

        # A revoked token.
        tok = HUB.json("token", "create", "tuser")
        c = Client(HUB, tok["token"], "tohoku-den", True)
        c.get("/api/v1/me", expect=200)
        HUB.ok("token", "revoke", str(tok["id"]))
        r = c.get("/api/v1/me")
        assert_error(self, r, 401)
        self.assertIn("WWW-Authenticate", r.headers)
        r = c.post("/api/v1/reports", {"text": "revoked-test.org"})
        assert_error(self, r, 401)

        # A member calling the hub's routes.
        for method, path, body in (
                ("GET", "/api/v1/triage", None),
                ("POST", "/api/v1/items", {"title": "x"}),
                ("PATCH", "/api/v1/items/1", {"title": "x"}),
                ("POST", "/api/v1/items/1/submit", None),
                ("POST", "/api/v1/items/1/publish", None),
                ("POST", "/api/v1/items/1/withdraw", None)):
            r = C["provider"].call(method, path, body=body)
            assert_error(self, r, 403)
        # A read-only token writing.
        ro = C["provider_ro"]
        ro.get("/api/v1/reports", expect=200)
        self.assertTrue(ro.get("/api/v1/me", expect=200).json["read_only"])
        r = ro.post("/api/v1/reports", {"indicators": ["ro-test.org"]})
        assert_error(self, r, 403, "read-only")
        r = ro.patch("/api/v1/reports/%d" % min(PROVIDER_REPORTS or {1}),
                     {"tlp": "red"})
        assert_error(self, r, 403)
        r = ro.post("/api/v1/items/1/approval", {"decision": "approve"})
        assert_error(self, r, 403)
        self.assertEqual(report_count(), before)

    def test_routes(self):
        anon, hub = C["anon"], C["hub"]
        for path in ("/nope", "/api/v1/nope", "/api/v1/items/0",
                     "/api/v1/items/-1", "/api/v1/items/abc",
                     "/api/v1/items/99999999999999999999999",
                     "/api/v1/items/1/", "/api/v2/items"):
            r = hub.get(path)
            assert_error(self, r, 404)
        r = anon.call("DELETE", "/api/v1/items/1")
        assert_error(self, r, 405, "DELETE")
        r = anon.call("PUT", "/healthz")
        assert_error(self, r, 405)
        r = hub.call("DELETE", "/api/v1/reports")
        assert_error(self, r, 405)
        r = hub.get("/api/v1/items", query={"limit": "0"})
        assert_error(self, r, 400, "limit")
        r = hub.get("/api/v1/reports", query={"limit": "lots"})
        assert_error(self, r, 400, "limit")
        r = hub.get("/api/v1/triage", query={"before": "-3"})
        assert_error(self, r, 400, "before")
        r = hub.get("/api/v1/search")
        assert_error(self, r, 400, "value")
        r = hub.get("/api/v1/search", query={"value": "x", "type": "nope"})
        assert_error(self, r, 400, "nope")
        r = hub.get("/api/v1/items", query={"since": "yesterday"})
        assert_error(self, r, 400, "since")
        r = hub.get("/api/v1/reports", query={"org": "no-such-org"})
        assert_error(self, r, 404)
        r = hub.post("/api/v1/items", {"title": "x", "audience": "public",
                                       "reports": [987654]})
        assert_error(self, r, 404)
        r = hub.post("/api/v1/items/987654/submit")
        assert_error(self, r, 404)
        r = hub.patch("/api/v1/reports/987654", {"severity": "low"})
        assert_error(self, r, 404)
        r = hub.get("/api/v1/reports/987654/anonymised")
        assert_error(self, r, 404)
        r = hub.get("/api/v1/items/987654/feedback")
        assert_error(self, r, 404)
        r = hub.post("/api/v1/items/987654/withdraw")
        assert_error(self, r, 404)
        r = hub.post("/api/v1/items/987654/publish")
        assert_error(self, r, 404)
        r = C["provider"].post("/api/v1/items/987654/approval",
                               {"decision": "approve"})
        assert_error(self, r, 404)
        r = C["provider"].post("/api/v1/items/987654/approval", {})
        assert_error(self, r, 400, "decision")

    def test_internal_errors(self):
        # A failure on the server's side (here a table gone under it) is
        # told in its own words to the hub's analysts and written to the
        # log; any other caller gets a reference to that log line, not
        # the database's words.
        h = Hub()
        try:
            h.ok("init")
            h.ok("org", "add", "hubctr", "--role", "hub", "--nda",
                 "2024-04-01")
            h.ok("org", "add", "part", "--nda", "2024-04-01")
            h.ok("user", "add", "analyst", "--org", "hubctr", "--role",
                 "analyst")
            h.ok("user", "add", "puser", "--org", "part")
            hub = Client(h, h.token("analyst"), "hubctr")
            part = Client(h, h.token("puser"), "part")
            h.start()
            part.get("/api/v1/stats", expect=200)
            db = h.database.connect()
            db.execute("ALTER TABLE feedback RENAME TO feedback_gone")
            db.commit()
            try:
                r = part.get("/api/v1/stats", validate=False)
                assert_error(self, r, 500, "reference ")
                self.assertNotIn("feedback", r.body.decode())
                ref = re.search(r"reference ([0-9a-f]{16})",
                                r.json["error"]["message"]).group(1)
                r = hub.get("/api/v1/stats", validate=False)
                assert_error(self, r, 500, "feedback")
                self.assertNotIn("reference", r.json["error"]["message"])
                log = h.server_log()
                line = [x for x in log.splitlines() if ref in x]
                self.assertEqual(len(line), 1, log)
                self.assertIn("feedback", line[0])
                # The hub's failures are logged too, with their words.
                self.assertEqual(len(re.findall(
                    r"GET /api/v1/stats 500 reference [0-9a-f]{16}: .*"
                    r"feedback", log)), 2, log)
            finally:
                db.execute("ALTER TABLE feedback_gone RENAME TO feedback")
                db.commit()
                db.close()
            part.get("/api/v1/stats", expect=200)
            self.assertEqual(h.stop(), 0)
        finally:
            h.cleanup()

    def test_rate_limit(self):
        h = Hub("rate_limit = 5\n")
        try:
            h.ok("init")
            h.ok("org", "add", "solo", "--nda", "2024-04-01")
            h.ok("user", "add", "solo-user", "--org", "solo")
            c = Client(h, h.token("solo-user"), "solo")
            h.start()
            statuses = []
            r = None
            for _ in range(60):
                r = c.get("/api/v1/me")
                statuses.append(r.status)
                if r.status == 429:
                    break
            self.assertIn(429, statuses)
            assert_error(self, r, 429)
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            self.assertEqual(set(statuses[:-1]), {200})
            # Another token is not slowed down by this one.
            h.ok("user", "add", "other-user", "--org", "solo")
            Client(h, h.token("other-user"), "solo").get("/api/v1/me",
                                                         expect=200)
            # The routes without a token are not limited.
            for _ in range(30):
                Client(h).get("/healthz", expect=200)
            self.assertEqual(h.stop(), 0)
        finally:
            h.cleanup()


def raw_request(hub, method, path, body, headers, chunked=False,
                chunk=65536, delay=0.0, on_chunk=None, context=None):
    """Send a request with http.client; a server that answers early and
    closes while the body is still being sent is fine."""
    if hub.scheme == "https":
        conn = http.client.HTTPSConnection("127.0.0.1", hub.port,
                                           timeout=120, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", hub.port,
                                          timeout=120)
    conn.putrequest(method, path)
    for k, v in headers.items():
        conn.putheader(k, v)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    try:
        for n, i in enumerate(range(0, len(body), chunk)):
            part = body[i:i + chunk]
            if chunked:
                conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
            else:
                conn.send(part)
            if on_chunk:
                on_chunk(n)
            if delay:
                time.sleep(delay)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    resp = conn.getresponse()
    data = resp.read()
    status, hdrs = resp.status, resp.headers
    conn.close()
    return status, hdrs, data


# ---- 4b. notifications on publishing ---------------------------------------


class _Smtp(threading.Thread):
    """A minimal SMTP receiver on 127.0.0.1: enough of RFC 5321 for one
    client at a time; keeps (envelope recipients, message) pairs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.mails = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as f:
                def say(line):
                    conn.sendall(line.encode() + b"\r\n")
                say("220 test ESMTP")
                rcpts, data = [], None
                for raw in f:
                    cmd = raw.decode("utf-8", "replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        say("250 test")
                    elif verb == "MAIL":
                        rcpts = []
                        say("250 ok")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                        say("250 ok")
                    elif verb == "DATA":
                        say("354 go on")
                        lines = []
                        for d in f:
                            if d.rstrip(b"\r\n") == b".":
                                break
                            lines.append(d)
                        self.mails.append((rcpts, b"".join(lines)))
                        say("250 queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        break
                    else:
                        say("250 ok")


class Hook(threading.Thread):
    """A webhook receiver on 127.0.0.1 keeping (path, headers, body) of
    each POST, in order; test_correlate and test_cluster use it too."""

    def __init__(self):
        super().__init__(daemon=True)
        import http.server
        got = self.got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                got.append((self.path, dict(self.headers),
                            self.rfile.read(n)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]

    def run(self):
        self.srv.serve_forever()


class Test4Notify(unittest.TestCase):
    def test_publish_notifies_recipients(self):
        import email
        import email.header
        import email.utils
        import hashlib
        import hmac
        smtp, hook = _Smtp(), Hook()
        smtp.start()
        hook.start()
        h = Hub("rate_limit = 0\nurl = https://hub.test.example/\n"
                "[notify]\nsmtp_url = smtp://127.0.0.1:%d\n"
                "from = hub@hub-test.jp\n" % smtp.port)
        try:
            h.ok("init")
            h.ok("sig", "add", "energy")
            h.ok("org", "add", "hubctr", "--role", "hub", "--nda",
                 "2024-04-01")
            h.ok("org", "add", "prov-org", "--sig", "energy", "--nda",
                 "2024-04-01", "--domain", "prov-org-test.jp")
            h.ok("org", "add", "recv-org", "--sig", "energy", "--nda",
                 "2024-04-01")
            h.ok("org", "add", "quiet-org", "--sig", "energy")
            h.ok("org", "update", "recv-org", "--webhook",
                 "http://127.0.0.1:%d/hook" % hook.port,
                 "--notify-email", "soc@recv-org-test.jp")
            # No NDA: receives nothing, so hears nothing either.
            h.ok("org", "update", "quiet-org", "--webhook",
                 "http://127.0.0.1:%d/quiet" % hook.port)
            h.ok("user", "add", "analyst", "--org", "hubctr", "--role",
                 "analyst")
            h.ok("user", "add", "puser", "--org", "prov-org")
            hub = Client(h, h.token("analyst"), "hubctr")
            prov = Client(h, h.token("puser"), "prov-org")
            h.start()
            rid = prov.post("/api/v1/reports", {
                "indicators": ["notify-lure.example"],
                "permission": "sig"}, expect=201).json["id"]
            iid = hub.post("/api/v1/items", {
                "title": "Lure wave seen by energy members",
                "audience": "sig", "sigs": ["energy"], "tlp": "amber",
                "reports": [rid]}, expect=201).json["id"]
            hub.post("/api/v1/items/%d/submit" % iid, expect=200)
            prov.post("/api/v1/items/%d/approval" % iid,
                      {"decision": "approve"}, expect=200)
            hub.post("/api/v1/items/%d/publish" % iid, expect=200)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and \
                    (not hook.got or not smtp.mails):
                time.sleep(0.2)
            self.assertEqual(len(hook.got), 1, "one webhook call")
            _, headers, body = hook.got[0]
            payload = json.loads(body)
            self.assertEqual(payload["id"], iid)
            self.assertEqual(payload["title"],
                             "Lure wave seen by energy members")
            self.assertEqual(payload["tlp"], "amber")
            self.assertEqual(payload["url"],
                             "https://hub.test.example/api/v1/items/%d" % iid)
            self.assertNotIn(b"prov-org", body)
            key = h.json("org", "show", "recv-org")["webhook_key"]
            want = hmac.new(bytes.fromhex(key), body,
                            hashlib.sha256).hexdigest()
            self.assertEqual(headers.get("X-Csip-Signature"),
                             "sha256=" + want)
            self.assertEqual(len(smtp.mails), 1, "one mail")
            rcpts, raw = smtp.mails[0]
            self.assertEqual(rcpts, ["soc@recv-org-test.jp"])
            msg = email.message_from_bytes(raw)
            self.assertEqual(email.utils.parseaddr(msg["To"])[1],
                             "soc@recv-org-test.jp")
            self.assertIn("Lure wave", str(email.header.make_header(
                email.header.decode_header(msg["Subject"]))))
            self.assertNotIn(b"prov-org", raw)
        finally:
            h.stop()
            h.cleanup()
            hook.srv.shutdown()
            smtp.sock.close()


# ---- 5. operations endpoints -----------------------------------------------


class Test5Operations(unittest.TestCase):
    def test_healthz_metrics_document(self):
        anon = C["anon"]
        r = anon.get("/healthz", expect=200)
        self.assertEqual(r.json["status"], "ok")
        self.assertIn(testdb.backend(), r.json["database"])
        r = anon.get("/api/v1/openapi.json", expect=200)
        self.assertEqual(r.json["openapi"][:2], "3.")
        self.assertEqual(r.json, API.doc)
        C["hub"].get("/api/v1/me", expect=200)
        # The gauges count reports, items by status (drafts and
        # withdrawn ones too) and feedback, and the counters every
        # request by route: statistics of the whole hub, for its
        # analysts only (a participant's statistics withhold small
        # counts, and anyone else gets none).
        anon.get("/metrics", expect=401)
        for who in ("same_sig", "partner", "provider"):
            C[who].get("/metrics", expect=403)
        r = C["hub"].get("/metrics", expect=200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
        text = r.body.decode()
        self.assertRegex(text, r'csip_http_requests_total\{method="GET",'
                         r'route="/api/v1/me",status="200"\} \d+')
        self.assertRegex(text, r'csip_http_requests_total\{method="GET",'
                         r'route="/healthz",status="200"\} \d+')
        les, counts = [], []
        for m in re.finditer(r'^csip_http_request_duration_seconds_bucket'
                             r'\{le="([^"]+)"\} (\d+)$', text, re.M):
            les.append(float("inf") if m.group(1) == "+Inf"
                       else float(m.group(1)))
            counts.append(int(m.group(2)))
        self.assertGreater(len(les), 3)
        self.assertEqual(les, sorted(les))
        self.assertEqual(les[-1], float("inf"))
        self.assertEqual(counts, sorted(counts), "buckets not cumulative")
        total = int(re.search(r"^csip_http_request_duration_seconds_count "
                              r"(\d+)$", text, re.M).group(1))
        self.assertEqual(counts[-1], total)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? '
                                 r'-?[0-9.e+]+$')

    def test_feeds_as_documented(self):
        # The standards' own suites check the feeds against their schemas
        # and tools; here each answers as the OpenAPI document says, to
        # the hub and to a recipient (whose bodies the leak check at the
        # end reads too).
        rep = submit_indicators(C["provider"], ["feeds-doc-test.example",
                                                "203.0.113.77"],
                                "community")
        iid = make_item([rep], "community", "Feeds as documented")
        for who in ("hub", "same_sig"):
            c = C[who]
            for fmt in ("suricata", "snort", "zeek", "rpz", "csv", "text"):
                c.get("/api/v1/export/" + fmt, expect=200)
            c.get("/api/v1/stix/bundle", expect=200)
            c.get("/api/v1/items/%d/stix" % iid, expect=200)
            c.get("/api/v1/stats", expect=200)
            c.get("/api/v1/misp/hashes.csv", expect=200)
            man = c.get("/api/v1/misp/manifest.json", expect=200).json
            self.assertTrue(man, who)
            c.get("/api/v1/misp/%s.json" % sorted(man)[0], expect=200)


# ---- 6. durability -----------------------------------------------------------


class Test6Crash(unittest.TestCase):
    def test_kill_9(self):
        h = Hub("rate_limit = 0\n")
        try:
            h.ok("init")
            h.ok("org", "add", "crashco", "--nda", "2024-04-01")
            h.ok("user", "add", "crash-user", "--org", "crashco")
            c = Client(h, h.token("crash-user"), "crashco")
            h.start()
            acked = {}
            lock = threading.Lock()
            stop = threading.Event()

            def worker(t):
                n = 0
                while not stop.is_set():
                    text = ("crash test thread %d seq %d saw "
                            "hxxp://t%d-s%d.crash-test[.]example/x" %
                            (t, n, t, n))
                    try:
                        r = c.call("POST", "/api/v1/reports", body=text,
                                   ctype="text/plain", validate=False)
                    except (OSError, http.client.HTTPException):
                        return
                    if r.status == 201:
                        with lock:
                            acked[r.json["id"]] = (t, n, text)
                    n += 1

            threads = [threading.Thread(target=worker, args=(t,))
                       for t in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            h.proc.kill()
            h.proc.wait()
            stop.set()
            for t in threads:
                t.join(60)
            h.stop()
            self.assertGreater(len(acked), 0, "no report acknowledged")
            h.start()
            for rid, (t, n, text) in sorted(acked.items()):
                r = c.get("/api/v1/reports/%d" % rid, expect=200).json
                self.assertEqual(r["kind"], "text")
                values = {o["value"] for o in r["observations"]}
                self.assertIn("t%d-s%d.crash-test.example" % (t, n), values,
                              (rid, r))
                self.assertIn("thread %d seq %d " % (t, n),
                              r.get("subject") or "", (rid, r))
            self.assertEqual(h.stop(), 0)
            h.ok("audit", "verify")
        finally:
            h.cleanup()


# ---- 7. graceful shutdown ----------------------------------------------------


def big_mail(mib):
    head = (b"From: \"Billing\" <billing@billing-test.com>\r\n"
            b"To: someone@shutdown-test.jp\r\n"
            b"Subject: Large invoice\r\n"
            b"Message-ID: <large-shutdown-1@billing-test.com>\r\n"
            b"Date: Mon, 1 Apr 2024 10:00:00 +0900\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            b"Pay at https://large-invoice-test.com/pay now.\r\n")
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"
    return head + line * (mib * (1 << 20) // len(line))


class Test7Shutdown(unittest.TestCase):
    def test_sigterm_with_request_in_flight(self):
        # A sanitizer build parses a large mail slowly: the grace must
        # outlast the request, which is what is tested.
        h = Hub("rate_limit = 0\nshutdown_grace = 600\n")
        try:
            h.ok("init")
            h.ok("org", "add", "slowco", "--nda", "2024-04-01")
            h.ok("user", "add", "slow-user", "--org", "slowco")
            tok = h.token("slow-user")
            h.start()
            body = big_mail(3)
            sent = {}

            def on_chunk(n):
                if n == 5:
                    h.proc.send_signal(signal.SIGTERM)
                    sent["at"] = time.monotonic()
                if n == 10:
                    # New connections are refused once stopping (give
                    # the signal a moment to arrive on a busy machine).
                    for _ in range(50):
                        s = socket.socket()
                        s.settimeout(5)
                        try:
                            s.connect(("127.0.0.1", h.port))
                            sent["refused"] = False
                        except ConnectionRefusedError:
                            sent["refused"] = True
                            break
                        except OSError as e:
                            sent["refused"] = repr(e)
                        finally:
                            s.close()
                        time.sleep(0.1)

            status, headers, data = raw_request(
                h, "POST", "/api/v1/reports?permission=sig", body,
                {"Content-Type": "message/rfc822",
                 "Authorization": "Bearer " + tok}, chunked=True,
                chunk=64 * 1024, delay=0.03, on_chunk=on_chunk)
            self.assertIn("at", sent)
            parsed = API.check("POST", "/api/v1/reports", status,
                               headers.get("Content-Type"), data)
            self.assertEqual(status, 201, data)
            self.assertEqual(parsed["outcome"], "stored")
            self.assertIs(sent.get("refused"), True, sent)
            rc = h.proc.wait(timeout=60)
            self.assertEqual(rc, 0, h.server_log())
            h.stop()
            reps = h.json("report", "list")
            self.assertEqual([r["id"] for r in reps], [parsed["id"]])
            self.assertEqual(reps[0]["subject"], "Large invoice")
        finally:
            h.cleanup()


# ---- 8. TLS ------------------------------------------------------------------


class Test8Tls(unittest.TestCase):
    def test_https(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl is not installed: cannot make a "
                          "certificate for the TLS test")
        h = Hub("rate_limit = 0\n")
        try:
            h.ok("init")
            cert = os.path.join(h.dir, "cert.pem")
            key = os.path.join(h.dir, "key.pem")
            p = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", key, "-out", cert, "-days", "2", "-subj",
                 "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            h.start("--tls-cert", cert, "--tls-key", key)
            self.assertEqual(h.scheme, "https")
            ctx = ssl.create_default_context(cafile=cert)
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}),
                urllib.request.HTTPSHandler(context=ctx))
            with opener.open(h.url("/healthz"), timeout=30) as r:
                body = r.read()
                API.check("GET", "/healthz", r.status,
                          r.headers.get("Content-Type"), body)
                self.assertEqual(json.loads(body)["status"], "ok")
            # An untrusting client fails: it really is TLS with that cert.
            with self.assertRaises(urllib.error.URLError):
                urllib.request.build_opener(
                    urllib.request.ProxyHandler({}),
                    urllib.request.HTTPSHandler(
                        context=ssl.create_default_context())).open(
                            h.url("/healthz"), timeout=30)
            # Plain HTTP on the TLS port gets nothing useful.
            with self.assertRaises(Exception):
                with OPENER.open("http://127.0.0.1:%d/healthz" % h.port,
                                 timeout=10) as r:
                    json.loads(r.read())
            self.tls11(h, cert)
            self.assertEqual(h.stop(), 0)
        finally:
            h.cleanup()

    def tls11(self, h, cert):
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cert)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                old.minimum_version = ssl.TLSVersion.TLSv1_1
                old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError, AttributeError) as e:
            print("test_server: TLS 1.1 sub-check skipped: %s" % e,
                  file=sys.stderr)
            return
        s = socket.create_connection(("127.0.0.1", h.port), timeout=30)
        try:
            with self.assertRaises(ssl.SSLError) as cm:
                with old.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    t.sendall(b"GET /healthz HTTP/1.1\r\n"
                              b"Host: 127.0.0.1\r\n\r\n")
                    t.recv(100)
        finally:
            s.close()
        reason = "%s %s" % (cm.exception.reason, cm.exception)
        if "NO_PROTOCOLS_AVAILABLE" in reason.upper() or \
                "NO PROTOCOLS AVAILABLE" in reason.upper():
            print("test_server: TLS 1.1 sub-check skipped: this OpenSSL "
                  "cannot offer TLS 1.1 (%s)" % reason, file=sys.stderr)
            return


# ---- 9. the audit log of reads and writes --------------------------------


class Test9Audit(unittest.TestCase):
    def test_reads_and_writes_audited(self):
        h = Hub("rate_limit = 0\n")
        try:
            h.ok("init")
            h.ok("org", "add", "audco", "--nda", "2024-04-01")
            h.ok("user", "add", "aud-user", "--org", "audco")
            c = Client(h, h.token("aud-user"), "audco")
            h.start()
            rid = c.post("/api/v1/reports", {
                "indicators": ["audited-test.org"]}, expect=201).json["id"]
            c.get("/api/v1/reports", expect=200)
            c.get("/api/v1/reports/%d" % rid, expect=200)
            c.get("/api/v1/items", expect=200)
            c.get("/api/v1/items/424242", expect=404)
            c.patch("/api/v1/reports/%d" % rid, {"tlp": "red"}, expect=200)
            self.assertEqual(h.stop(), 0)
            rows = h.json("audit", "list")
            reads = {(r["actor"], r["target"]) for r in rows
                     if r["action"] == "api.read"}
            for path in ("/api/v1/reports", "/api/v1/reports/%d" % rid,
                         "/api/v1/items", "/api/v1/items/424242"):
                self.assertIn(("user:aud-user", "GET " + path), reads,
                              rows[-12:])
            acts = [(r["actor"], r["action"]) for r in rows]
            self.assertIn(("user:aud-user", "report.submit"), acts)
            self.assertIn(("user:aud-user", "report.sharing"), acts)
            h.ok("audit", "verify")
        finally:
            h.cleanup()


# ---- the end: leaks in everything recipients got, and coverage -------------


class TestZEnd(unittest.TestCase):
    def test_no_leak_to_recipients(self):
        self.assertTrue(RECIPIENT_BODIES)
        for org, method, path, body in RECIPIENT_BODIES:
            low = body.decode("utf-8", "replace").lower()
            for secret in SECRETS + [PROVIDER]:
                self.assertNotIn(secret.lower(), low, "%s got %s in %s %s"
                                 % (org, secret, method, path))

    def test_every_operation_exercised(self):
        # TAXII's and the correlation's operations are counted by their
        # own suites (test_taxii, test_correlate), which run them against
        # hubs of their own.
        if len(sys.argv) > 1:
            self.skipTest("only some tests were asked for")
        mine = {k for k, op in API.ops.items()
                if not {"taxii", "correlation"} & set(op.get("tags", []))}
        missing = sorted(mine - API.exercised)
        self.assertEqual(missing, [], "operations never exercised")


def main():
    global CSIP
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    mod = sys.modules[__name__]
    # Classes run in the order of their names; TestZEnd looks at what all
    # the others did, so it is last.
    for name in sorted(n for n in dir(mod) if n.startswith("Test")):
        suite.addTests(loader.loadTestsFromTestCase(getattr(mod, name)))
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(
            t for t in _flatten(suite)
            if any(a in t.id() for a in sys.argv[1:]))
    start_shared()
    try:
        res = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        stop_shared()
    sys.exit(0 if res.wasSuccessful() else 1)


def _flatten(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


if __name__ == "__main__":
    main()
