#!/usr/bin/env python3
"""Blocklist exports over HTTP: GET /api/v1/export/{format} (issue #6).

Runs the real `csip serve` on 127.0.0.1 against a fresh demo hub in a
temporary folder and checks, for each reader's token: what it receives in
every format (the policy: a recipient in the SIG gets what the hub gets,
anyone else an empty list), that no provider is ever named, the media
types of the OpenAPI document, bad parameters (400 with a JSON error), a
missing token (401), a withdrawn item dropping out, and that the RPZ zone
loads in BIND's named-checkzone when it is installed.

Usage: test_export.py PATH-TO-CSIP
"""
import json
import os
import shutil
import subprocess
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
FORMATS = ("suricata", "snort", "zeek", "rpz", "csv", "text")
# Names of the demo's providers and hub: never in anything exported.
SECRETS = ("kanto", "関東", "nihon-gas", "日本ガス", "csip-hub")


class Hub(testhub.Hub):
    """testhub.Hub, and GET with a token."""

    def __init__(self):
        super().__init__("rate_limit = 0\n", prefix="csip-export-")

    def get(self, path, token=None, query=None, method="GET"):
        if query:
            path += "?" + urllib.parse.urlencode(query)
        h = {"Authorization": "Bearer " + token} if token else {}
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (
            self.port, path), headers=h, method=method)
        try:
            with OPENER.open(req, timeout=60) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()


HUB = None
TOKENS = {}
DOC = None


def setUpModule():
    global HUB, DOC
    HUB = Hub()
    h = HUB
    h.ok("demo")
    # A recipient in the energy SIG that provided nothing.  Joining the
    # SIG after the demo item was published makes it a recipient.
    h.ok("org", "add", "tohoku-den", "--nda", "2024-05-01")
    h.ok("org", "update", "tohoku-den", "--add-sig", "energy")
    for user, org in (("tuser", "tohoku-den"), ("suser", "sakura-chem"),
                      ("puser", "national-cert"), ("fuser", "fuji-heavy")):
        h.ok("user", "add", user, "--org", org)
        TOKENS[org] = h.token(user)
    TOKENS["hub"] = h.token("analyst")
    TOKENS["provider"] = h.token("alice")
    h.start()
    status, _, body = h.get("/api/v1/openapi.json")
    assert status == 200
    DOC = json.loads(body.decode("utf-8"))


def tearDownModule():
    if HUB is not None:
        HUB.cleanup()


def export(fmt, who, **query):
    status, ctype, body = HUB.get("/api/v1/export/" + fmt, TOKENS.get(who),
                                  query or None)
    return status, ctype, body.decode("utf-8")


class TestExport(unittest.TestCase):
    def media(self, fmt, status, ctype):
        """The response's media type is the document's for FMT."""
        op = DOC["paths"]["/api/v1/export/" + fmt]["get"]
        resp = op["responses"][str(status)]
        if "$ref" in resp:
            resp = DOC["components"]["responses"][resp["$ref"].split("/")[-1]]
        media = (ctype or "").split(";")[0].strip()
        self.assertIn(media, resp["content"], (fmt, status, ctype))

    def test_readers(self):
        hub = {}
        for fmt in FORMATS:
            status, ctype, body = export(fmt, "hub")
            self.assertEqual(status, 200, body)
            self.media(fmt, status, ctype)
            hub[fmt] = body
        self.assertIn("invoice-help.example CNAME .\n", hub["rpz"])
        self.assertIn("tls.sni; dotprefix; content:\".invoice-help.example"
                      "\"", hub["suricata"])
        self.assertIn("198.51.100.23\tIntel::ADDR\tcsip\t", hub["zeek"])
        self.assertTrue(hub["csv"].startswith(
            "type,value,item,tlp,published_at\r\n"))
        for fmt in FORMATS:
            # In the SIG: the same as the hub; the providers get their
            # item too.
            self.assertEqual(export(fmt, "tohoku-den")[2], hub[fmt], fmt)
            self.assertEqual(export(fmt, "provider")[2], hub[fmt], fmt)
            # Outside the audience: the frame of the format only.
            for org in ("sakura-chem", "national-cert", "fuji-heavy"):
                status, ctype, body = export(fmt, org)
                self.assertEqual(status, 200)
                self.media(fmt, status, ctype)
                self.assertNotIn("example", body, (fmt, org))
            for org in TOKENS:
                body = export(fmt, org)[2]
                for s in SECRETS:
                    self.assertNotIn(s, body, (fmt, org, s))
        self.assertEqual(export("text", "hub", type="domain")[2],
                         "invoice-help.example\ninvoice-portal.example\n")
        self.assertEqual(export("text", "hub", since="2999-01-01")[2], "")

    def test_rpz_loads(self):
        tool = shutil.which("named-checkzone")
        if tool is None:
            self.skipTest("named-checkzone (Debian bind9-utils) is missing")
        for who in ("hub", "national-cert"):
            path = os.path.join(HUB.dir, "zone-%s" % who)
            with open(path, "w") as f:
                f.write(export("rpz", who)[2])
            p = subprocess.run([tool, "rpz.csip.example", path],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_errors(self):
        for fmt, query, needle in (
                ("text", {"since": "last week"}, "since"),
                ("text", {"type": "colour"}, "colour"),
                ("csv", {"type": "domain"}, "only the text format"),
                ("rpz", {"since": "2025-02-30"}, "since")):
            status, ctype, body = export(fmt, "hub", **query)
            self.assertEqual(status, 400, body)
            self.media(fmt, status, ctype)
            err = json.loads(body)["error"]
            self.assertIn(needle, err["message"])
        status, ctype, body = export("csv", None)
        self.assertEqual(status, 401, body)
        status, _, _ = HUB.get("/api/v1/export/pdf", TOKENS["hub"])
        self.assertEqual(status, 404)

    def test_withdrawn(self):
        # Last (z): withdrawing the demo item empties every list.
        status, _, body = HUB.get("/api/v1/items", TOKENS["hub"])
        self.assertEqual(status, 200)
        items = json.loads(body)["items"]
        self.assertEqual(len(items), 1)
        status, _, body = HUB.get("/api/v1/items/%d/withdraw" %
                                  items[0]["id"], TOKENS["hub"],
                                  method="POST")
        self.assertEqual(status, 200, body)
        for fmt in FORMATS:
            for who in ("hub", "tohoku-den", "provider"):
                self.assertNotIn("invoice", export(fmt, who)[2], (fmt, who))

    # unittest runs tests in name order: withdraw after the others.
    test_zz_withdrawn = test_withdrawn
    del test_withdrawn


if __name__ == "__main__":
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    unittest.main(verbosity=2)
