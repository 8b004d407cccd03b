#!/usr/bin/env python3
"""GET /api/v1/stats over real HTTP.

Runs `csip serve` on 127.0.0.1 against a fresh database in a temporary
folder holding reports, items, recipients and feedback in FY2016 and
FY2017, and asks for the statistics with the tokens of the hub, of
participants and of a partner: the hub gets every count and breakdown, a
participant the community-wide totals (counts from fewer than three
providers withheld) and its own figures without any SIG named, a partner
only its own figures.  Checks the SVG answer's content type and that it is
an SVG document, that a bad fiscal year or format is a 400 JSON error, and
that every JSON answer matches the server's OpenAPI document.

Usage: test_stats.py PATH-TO-CSIP
"""
import json
import os
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SVG_NS = "{http://www.w3.org/2000/svg}"


class Hub(testhub.Hub):
    """testhub.Hub, and GET with a token."""

    def __init__(self):
        super().__init__("rate_limit = 0\n", prefix="csip-stats-")

    def get(self, path, token=None, query=None):
        """(status, content type, body bytes, parsed JSON or None)."""
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        h = {"Authorization": "Bearer " + token} if token else {}
        req = urllib.request.Request(url, headers=h)
        try:
            with OPENER.open(req, timeout=60) as r:
                status, ctype, body = r.status, r.headers.get(
                    "Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers.get("Content-Type"), \
                e.read()
        data = None
        if (ctype or "").startswith("application/json"):
            data = json.loads(body.decode("utf-8"))
        return status, ctype, body, data


HUB = None
TOKENS = {}
DOC = None


def setUpModule():
    global HUB, DOC
    HUB = h = Hub()
    h.ok("init")
    h.ok("sig", "add", "energy")
    h.ok("sig", "add", "gas")
    h.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2010-04-01")
    h.ok("org", "add", "kanto", "--sig", "energy", "--sig", "gas",
          "--nda", "2010-04-01")
    h.ok("org", "add", "tohoku", "--sig", "energy", "--nda", "2010-04-01")
    h.ok("org", "add", "osaka", "--sig", "gas", "--nda", "2010-04-01")
    h.ok("org", "add", "natcert", "--role", "partner", "--nda",
          "2010-04-01")
    for user, org in [("analyst", "hubctr"), ("kuser", "kanto"),
                      ("tuser", "tohoku"), ("puser", "natcert")]:
        h.ok("user", "add", user, "--org", org, "--role",
              "analyst" if org == "hubctr" else "member")
        TOKENS[org] = h.token(user)
    con = h.database.connect()
    try:
        ids = dict(con.execute("SELECT name, id FROM org"))
        # FY2016: Q1 tohoku, osaka; Q4 kanto (31 March 23:59:59 JST);
        # FY2017 Q1: kanto (1 April 00:00 JST).
        for n, (org, at) in enumerate([
                ("tohoku", "2016-03-31T15:00:00Z"),
                ("osaka", "2016-06-30T14:59:59Z"),
                ("kanto", "2017-03-31T14:59:59Z"),
                ("kanto", "2017-03-31T15:00:00Z")]):
            con.execute(
                "INSERT INTO report (org_id, kind, permission, attribution,"
                " tlp, source, received_at, raw_sha256, attack_type) VALUES"
                " (?, 'indicators', 'sig', 'none', 'amber', 'test', ?, ?, "
                "'targeted-mail')", (ids[org], at, "%064d" % n))
        cur = con.execute(
            "INSERT INTO item (title, tlp, audience, status, created_by, "
            "created_at, updated_at, published_at, attack_type) VALUES "
            "('t', 'amber', 'community', 'published', 'x', "
            "'2016-07-01T00:00:00Z', '2016-07-01T00:00:00Z', "
            "'2016-07-01T00:00:00Z', 'targeted-mail') RETURNING id")
        item = cur.fetchone()[0]
        for org in ("kanto", "tohoku", "osaka"):
            for table in ("item_recipient", "sharing_instance"):
                con.execute("INSERT INTO %s (item_id, org_id, shared_at) "
                            "VALUES (?, ?, '2016-07-01T00:00:00Z')" % table,
                            (item, ids[org]))
        con.execute("INSERT INTO feedback (item_id, org_id, kind, "
                    "created_at) VALUES (?, ?, 'sighting', "
                    "'2016-12-31T15:00:00Z')", (item, ids["tohoku"]))
        con.commit()
    finally:
        con.close()
    h.start()
    status, _, _, DOC = h.get("/api/v1/openapi.json")
    assert status == 200


def tearDownModule():
    if HUB is not None:
        HUB.cleanup()


def stats_schema(ctype):
    op = DOC["paths"]["/api/v1/stats"]["get"]
    return op["responses"]["200"]["content"][ctype].get("schema")


class TestStatsApi(unittest.TestCase):
    def stats(self, org, expect=200, **query):
        status, ctype, body, data = HUB.get("/api/v1/stats", TOKENS.get(org),
                                            query)
        self.assertEqual(status, expect, body[:600])
        if status == 200 and data is not None:
            jsonschema.Draft202012Validator(
                stats_schema("application/json")).validate(data)
        return ctype, body, data

    def assert_error(self, data, needle):
        self.assertEqual(set(data), {"error"})
        self.assertEqual(data["error"]["code"], "bad_request")
        self.assertIn(needle, data["error"]["message"])

    def test_documented(self):
        op = DOC["paths"]["/api/v1/stats"]["get"]
        self.assertEqual(op["tags"], ["analysis"])
        self.assertIn("image/svg+xml", op["responses"]["200"]["content"])

    def test_hub(self):
        _, _, data = self.stats("hubctr", fy="2016")
        self.assertEqual(data["scope"], "all")
        (y,) = data["years"]
        self.assertEqual(y["totals"], {"reports": 3, "items": 1,
                                       "sharing_instances": 3,
                                       "feedback": 1, "campaigns": 0})
        self.assertEqual([q["counts"]["reports"] for q in y["quarters"]],
                         [2, 0, 0, 1])
        self.assertEqual([q["counts"]["feedback"] for q in y["quarters"]],
                         [0, 0, 0, 1])
        by_sig = {r["label"]: r["quarters"]
                  for r in y["breakdowns"]["reports_by_sig"]}
        self.assertEqual(by_sig, {"energy": [1, 0, 0, 1],
                                  "gas": [1, 0, 0, 1]})
        sharing = {r["label"]: r["total"]
                   for r in y["breakdowns"]["sharing_by_sig"]}
        self.assertEqual(sharing, {"energy": 2, "gas": 2})
        _, _, data = self.stats("hubctr", fy="2015-2017")
        self.assertEqual([y["totals"]["reports"] for y in data["years"]],
                         [0, 3, 1])

    def test_participant(self):
        _, body, data = self.stats("tohoku", fy="2016")
        self.assertEqual(data["scope"], "community")
        (y,) = data["years"]
        # Three providers in the year: the total is shown; no quarter had
        # three, so the quarters' non-zero counts are withheld.
        self.assertEqual(y["totals"]["reports"], 3)
        self.assertEqual([q["counts"]["reports"] for q in y["quarters"]],
                         [None, 0, 0, None])
        self.assertEqual(y["totals"]["provided"], 1)
        self.assertEqual(y["totals"]["received"], 1)
        self.assertEqual(y["totals"]["sharing_instances"], 3)
        self.assertEqual(list(y["breakdowns"]), ["received_by_attack_type"])
        for leak in (b"energy", b"gas", b"kanto", b"osaka", b"by_sig"):
            self.assertNotIn(leak, body)
        # FY2017: one provider, so even the total is withheld.
        _, _, data = self.stats("tohoku", fy="2017")
        self.assertIsNone(data["years"][0]["totals"]["reports"])

    def test_partner(self):
        _, body, data = self.stats("natcert", fy="2016")
        self.assertEqual(data["scope"], "own")
        self.assertEqual(data["years"][0]["totals"],
                         {"provided": 0, "received": 0})
        for leak in (b"energy", b"kanto", b"sharing_instances"):
            self.assertNotIn(leak, body)

    def test_svg(self):
        ctype, body, _ = self.stats("hubctr", fy="2016", format="svg")
        self.assertEqual(ctype, "image/svg+xml")
        self.assertTrue(body.startswith(b"<?xml version=\"1.0\""))
        root = ET.fromstring(body)
        self.assertEqual(root.tag, SVG_NS + "svg")
        bars = [r for r in root.iter(SVG_NS + "rect")
                if r.get("class") == "bar"]
        self.assertGreater(len(bars), 20)
        titles = {b.find(SVG_NS + "title").text for b in bars}
        self.assertIn("Q1 (Apr-Jun), Reports received: 2", titles)
        # A participant's chart names no SIG either.
        ctype, body, _ = self.stats("kanto", fy="2016", format="svg")
        self.assertEqual(ctype, "image/svg+xml")
        ET.fromstring(body)
        self.assertNotIn(b"energy", body)

    def test_default_year(self):
        _, _, data = self.stats("hubctr")
        self.assertEqual(data["first_fy"], data["last_fy"])
        self.assertGreaterEqual(data["first_fy"], 2024)

    def test_bad_input(self):
        for fy in ("20x6", "16", "2017-2016", "1800", "2000-2030"):
            ctype, _, data = self.stats("hubctr", expect=400, fy=fy)
            self.assertEqual(ctype, "application/json")
            self.assert_error(data, "fiscal year")
        _, _, data = self.stats("hubctr", expect=400, fy="abc")
        self.assert_error(data, 'fiscal year "abc": give a year such as '
                          '2016')
        _, _, data = self.stats("hubctr", expect=400, format="pdf")
        self.assert_error(data, 'format "pdf": use json or svg')
        status, _, _, data = HUB.get("/api/v1/stats", None, {"fy": "2016"})
        self.assertEqual(status, 401)
        self.assertIn("error", data)


def main():
    global CSIP
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
