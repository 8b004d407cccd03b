#!/usr/bin/env python3
"""Cross-sectional analysis over real HTTP (issue #5).

Runs `csip serve` on 127.0.0.1 against a fresh database in a temporary
folder.  Reports from organisations of two SIGs link through shared
indicators; the hub's analysts list, read, name, merge and split
campaigns, exclude a value, edit the warning lists and read the alerts;
every alert reaches the hub's webhook (a local receiver) signed with the
hub organisation's key.  Participants get 403 on every analysis route and
see on an item the count of related organisations only as the policy
allows.  Every response is validated against the OpenAPI document the
server serves, and every operation tagged "correlation" is exercised.

Usage: test_correlate.py PATH-TO-CSIP
"""
import hashlib
import hmac
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_server as ts  # noqa: E402  (Hub, Client, OpenApi)


class TestAnalysis(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hook = ts.Hook()
        cls.hook.start()
        h = cls.h = ts.Hub("rate_limit = 0\n")
        h.ok("init")
        h.ok("sig", "add", "energy")
        h.ok("sig", "add", "finance")
        h.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2024-04-01")
        for org, sig in (("acme", "energy"), ("bolt", "energy"),
                         ("coin", "finance")):
            h.ok("org", "add", org, "--sig", sig, "--nda", "2024-04-01")
            h.ok("user", "add", org + "-user", "--org", org)
        h.ok("org", "update", "hubctr", "--webhook",
             "http://127.0.0.1:%d/alerts" % cls.hook.port)
        h.ok("user", "add", "analyst", "--org", "hubctr", "--role",
             "analyst")
        cls.hub = ts.Client(h, h.token("analyst"), "hubctr")
        cls.acme = ts.Client(h, h.token("acme-user"), "acme")
        cls.bolt = ts.Client(h, h.token("bolt-user"), "bolt")
        cls.coin = ts.Client(h, h.token("coin-user"), "coin")
        h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()
        cls.hook.srv.shutdown()

    def report(self, client, values, permission="community",
               attribution="none"):
        r = client.post("/api/v1/reports", {"indicators": values,
                                             "permission": permission,
                                             "attribution": attribution},
                        expect=201)
        return r.json["id"]

    def campaign_of(self, rid):
        for c in self.hub.get("/api/v1/campaigns", expect=200).json[
                "campaigns"]:
            one = self.hub.get("/api/v1/campaigns/%d" % c["id"],
                               expect=200).json
            if rid in [m["id"] for m in one["members"]]:
                return one
        return None

    def test_1_campaigns_alerts_webhook(self):
        a = self.report(self.acme, ["spear-one.example", "198.51.100.40"])
        b = self.report(self.bolt, ["mail.spear-one.example"])
        c = self.report(self.coin, ["198.51.100.0/24", "other.example"])
        camp = self.campaign_of(a)
        self.assertIsNotNone(camp)
        self.assertEqual(sorted(m["id"] for m in camp["members"]),
                         sorted([a, b, c]))
        self.assertEqual(camp["orgs"], 3)
        kinds = {l["kind"] for l in camp["links"]}
        self.assertEqual(kinds, {"domain", "cidr"})

        alerts = self.hub.get("/api/v1/alerts", expect=200).json["alerts"]
        self.assertEqual([x["scope"] for x in alerts], ["sig", "org"])
        self.assertEqual(alerts[0]["report"], c)
        self.assertEqual(alerts[0]["campaign"], camp["id"])
        self.assertEqual([x["report"] for x in alerts[0]["linked"]], [a])
        page = self.hub.get("/api/v1/alerts", query={"limit": 1},
                            expect=200).json
        self.assertEqual(len(page["alerts"]), 1)
        self.assertEqual(self.hub.get("/api/v1/alerts", query={
            "before": page["next"]}, expect=200).json["alerts"][0]["report"],
            b)

        # The hub's webhook: one call per alert, signed, ids only.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self.hook.got) < 2:
            time.sleep(0.2)
        self.assertEqual(len(self.hook.got), 2)
        key = self.h.json("org", "show", "hubctr")["webhook_key"]
        seen = set()
        for _, headers, body in self.hook.got:
            want = hmac.new(bytes.fromhex(key), body,
                            hashlib.sha256).hexdigest()
            self.assertEqual(headers.get("X-Csip-Signature"),
                             "sha256=" + want)
            p = json.loads(body)
            self.assertEqual(p["event"], "alert")
            self.assertEqual(p["campaign"]["id"], camp["id"])
            self.assertTrue(p["url"].endswith("/api/v1/alerts"))
            for name in (b"acme", b"bolt", b"coin"):
                self.assertNotIn(name, body)
            seen.add(p["report"])
        self.assertEqual(seen, {b, c})

        # Name it; the next alert names the campaign.
        r = self.hub.patch("/api/v1/campaigns/%d" % camp["id"],
                           {"name": "Spear one"}, expect=200)
        self.assertEqual(r.json["name"], "Spear one")
        self.report(self.coin, ["spear-one.example"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self.hook.got) < 3:
            time.sleep(0.2)
        self.assertEqual(json.loads(self.hook.got[2][2])["campaign"]["name"],
                         "Spear one")
        ts.assert_error(self, self.hub.patch(
            "/api/v1/campaigns/%d" % camp["id"], {"name": 5}), 400)
        ts.assert_error(self, self.hub.patch(
            "/api/v1/campaigns/%d" % camp["id"], {"nom": "x"}), 400)
        ts.assert_error(self, self.hub.get("/api/v1/campaigns/99999"), 404)

    def test_2_merge_split_exclude(self):
        a = self.report(self.acme, ["merge-a.example", "cdn-ms.example"])
        b = self.report(self.bolt, ["merge-a.example"])
        c = self.report(self.coin, ["merge-c.example", "cdn-ms.example"])
        d = self.report(self.acme, ["merge-c.example", "pad-d.example"])
        ca = self.campaign_of(a)
        self.assertEqual(self.campaign_of(c)["id"], ca["id"])

        # Exclude the shared CDN: two campaigns.
        r = self.hub.post("/api/v1/campaigns/exclusions",
                          {"value": "cdn-ms[.]example", "reason": "CDN"},
                          expect=201)
        self.assertEqual(r.json["recomputed"], 1)
        ts.assert_error(self, self.hub.post(
            "/api/v1/campaigns/exclusions", {"value": "cdn-ms.example"}),
            409)
        ts.assert_error(self, self.hub.post(
            "/api/v1/campaigns/exclusions", {"value": ""}), 400)
        ex = self.hub.get("/api/v1/campaigns/exclusions", expect=200).json
        self.assertIn("cdn-ms.example",
                      [e["value"] for e in ex["exclusions"]])
        ca, cc = self.campaign_of(a), self.campaign_of(c)
        self.assertNotEqual(ca["id"], cc["id"])
        self.assertEqual(sorted(m["id"] for m in cc["members"]), [c, d])

        # Merge them back by hand.
        r = self.hub.post("/api/v1/campaigns/%d/merge" % ca["id"],
                          {"campaigns": [cc["id"]]}, expect=200)
        self.assertEqual(r.json["reports"], 4)
        ts.assert_error(self, self.hub.post(
            "/api/v1/campaigns/%d/merge" % ca["id"],
            {"campaigns": [cc["id"]]}), 409)
        ts.assert_error(self, self.hub.post(
            "/api/v1/campaigns/%d/merge" % ca["id"], {"campaigns": []}),
            400)

        # Split b off: it leaves; the rest stays together.
        r = self.hub.post("/api/v1/campaigns/%d/split" % ca["id"],
                          {"reports": [b]}, expect=200)
        self.assertEqual(r.json["created"], [])
        self.assertEqual(sorted(m["id"] for m in r.json["campaign"][
            "members"]), [a, c, d])
        self.assertIsNone(self.campaign_of(b))
        ts.assert_error(self, self.hub.post(
            "/api/v1/campaigns/%d/split" % ca["id"], {"reports": [b]}), 400)

        # A rebuild from the command line keeps every decision.
        self.h.ok("correlate", "--rebuild")
        self.assertIsNone(self.campaign_of(b))
        self.assertEqual(sorted(m["id"] for m in self.campaign_of(a)[
            "members"]), [a, c, d])
        audit = self.h.json("audit", "list")
        actions = {r["action"] for r in audit}
        for want in ("campaign.exclude", "campaign.merge", "campaign.split",
                     "correlate.rebuild"):
            self.assertIn(want, actions)

    def test_3_warninglist(self):
        r = self.hub.get("/api/v1/warninglist", query={"list": "free-mail"},
                         expect=200).json
        self.assertIn("gmail.com", [e["value"] for e in r["entries"]])
        e = self.hub.post("/api/v1/warninglist", {"value": "wl-http.example",
                                                  "list": "mine"},
                          expect=201).json
        self.assertEqual(e["list"], "mine")
        self.assertEqual(e["type"], "domain")
        ts.assert_error(self, self.hub.post("/api/v1/warninglist",
                                            {"value": "wl-http.example"}),
                        409)
        ts.assert_error(self, self.hub.post("/api/v1/warninglist",
                                            {"value": "no such thing"}), 400)
        a = self.report(self.acme, ["www.wl-http.example"])
        b = self.report(self.bolt, ["wl-http.example"])
        self.assertIsNone(self.campaign_of(a))
        self.hub.call("DELETE", "/api/v1/warninglist/%d" % e["id"],
                      expect=200)
        ts.assert_error(self, self.hub.call(
            "DELETE", "/api/v1/warninglist/%d" % e["id"]), 404)
        c = self.report(self.coin, ["wl-http.example", "pad-wl.example"])
        self.assertEqual(sorted(m["id"] for m in self.campaign_of(c)[
            "members"]), [a, b, c])

    def test_4_participants_and_related_count(self):
        for path in ("/api/v1/campaigns", "/api/v1/alerts",
                     "/api/v1/warninglist", "/api/v1/campaigns/exclusions",
                     "/api/v1/campaigns/1"):
            ts.assert_error(self, self.acme.get(path), 403)
        ts.assert_error(self, self.acme.post("/api/v1/warninglist",
                                             {"value": "x.example"}), 403)
        ts.assert_error(self, self.acme.post(
            "/api/v1/campaigns/1/split", {"reports": [1]}), 403)
        ts.assert_error(self, self.acme.post(
            "/api/v1/campaigns/1/merge", {"campaigns": [2]}), 403)
        ts.assert_error(self, self.acme.patch("/api/v1/campaigns/1",
                                              {"name": "x"}), 403)
        ts.assert_error(self, self.acme.post(
            "/api/v1/campaigns/exclusions", {"value": "x.example"}), 403)
        ts.assert_error(self, self.acme.call("DELETE",
                                             "/api/v1/warninglist/1"), 403)

        # An item from acme's report; bolt and coin reported the value
        # too, in reports nobody else may read.  Only providers a reader
        # may know by name are counted.
        ra = self.report(self.acme, ["related-http.example", "pad-r.example"],
                         attribution="community")
        self.report(self.bolt, ["related-http.example", "pad-r2.example"])
        self.report(self.coin, ["related-http.example", "pad-r3.example"])

        def publish(rid):
            iid = self.hub.post("/api/v1/items", {
                "title": "Related lure", "audience": "community",
                "reports": [rid], "indicators": [
                    {"type": "domain", "value": "related-http.example"}]},
                expect=201).json["id"]
            self.hub.post("/api/v1/items/%d/submit" % iid, expect=200)
            owner = {ra: self.acme, rb: self.bolt}.get(rid, self.coin)
            owner.post("/api/v1/items/%d/approval" % iid,
                       {"decision": "approve"}, expect=200)
            self.hub.post("/api/v1/items/%d/publish" % iid, expect=200)
            return iid
        rb = None
        x = publish(ra)
        got = self.bolt.get("/api/v1/items/%d" % x, expect=200).json
        self.assertNotIn("related_orgs", got)
        self.assertEqual(self.hub.get("/api/v1/items/%d" % x,
                                      expect=200).json["related_orgs"], 3)
        rc = self.report(self.coin, ["related-http.example",
                                     "pad-r4.example"],
                         attribution="community")
        publish(rc)
        # bolt now reads two items from two other organisations.
        got = self.bolt.get("/api/v1/items/%d" % x, expect=200).json
        self.assertEqual(got["related_orgs"], 2)
        # acme reads its own and coin's: one other, withheld.
        got = self.acme.get("/api/v1/items/%d" % x, expect=200).json
        self.assertNotIn("related_orgs", got)
        # bolt's anonymous item: acme may not learn whether its provider
        # is coin or another organisation, so the count stays withheld.
        rb = self.report(self.bolt, ["related-http.example",
                                     "pad-r5.example"])
        y = publish(rb)
        for iid in (x, y):
            got = self.acme.get("/api/v1/items/%d" % iid, expect=200).json
            self.assertNotIn("related_orgs", got)
        self.assertEqual(self.hub.get("/api/v1/items/%d" % y,
                                      expect=200).json["related_orgs"], 3)
        # acme and coin are named by their attribution; bolt is not.
        for client in (self.acme, self.coin):
            for iid in (x, y):
                body = client.get("/api/v1/items/%d" % iid,
                                  expect=200).body
                for name in (b"bolt", b"campaign"):
                    self.assertNotIn(name, body)

    def test_9_every_operation_exercised(self):
        mine = {k for k, op in ts.API.ops.items()
                if "correlation" in op.get("tags", [])}
        self.assertTrue(mine)
        self.assertEqual(sorted(mine - ts.API.exercised), [],
                         "operations never exercised")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ts.CSIP = ts.testhub.CSIP = os.path.abspath(sys.argv.pop(1))
    suite = unittest.TestLoader().loadTestsFromTestCase(TestAnalysis)
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
