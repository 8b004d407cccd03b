#!/usr/bin/env python3
"""Two `csip serve` processes on one PostgreSQL database (issue #8).

Runs only under scripts/pg-test (CSIP_TEST_PG set); skips otherwise, as
SQLite is one machine's database.  Two servers share the database and the
data folder's key, as servers behind a load balancer would.  While one
takes a stream of submissions from two organisations whose reports share
indicators, the other lists them, builds items, has them approved and
publishes them; every published item is read at once from the first
server.  Then: every acknowledged report is there exactly once; every
report is correlated once and alerts are raised once per report however
both servers' background sweeps raced for it; every webhook (items to
their recipients, alerts to the hub) is delivered exactly once.

Usage: test_cluster.py PATH-TO-CSIP
"""
import copy
import json
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import test_server as ts  # noqa: E402  (Hub, Client, OpenApi)
import testdb  # noqa: E402


REPORTS = 40         # per submitting organisation
PENDING = 30         # stored uncorrelated, for the sweeps


def wait_for(what, pred, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class TestTwoServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hook = ts.Hook()
        cls.hook.start()
        h = cls.h = ts.Hub("rate_limit = 0\n")
        base = "http://127.0.0.1:%d/" % cls.hook.port
        h.ok("init")
        h.ok("sig", "add", "energy")
        h.ok("sig", "add", "gas")
        h.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2024-04-01")
        h.ok("org", "update", "hubctr", "--webhook", base + "hubctr")
        for org, sig in (("acme", "energy"), ("bolt", "energy"),
                         ("coin", "gas"), ("dyna", "gas")):
            h.ok("org", "add", org, "--sig", sig, "--nda", "2024-04-01")
            h.ok("org", "update", org, "--webhook", base + org)
            h.ok("user", "add", org + "-user", "--org", org)
        h.ok("user", "add", "analyst", "--org", "hubctr", "--role",
             "analyst")
        tokens = {o: h.token(o + "-user")
                  for o in ("acme", "bolt", "coin", "dyna")}
        tokens["hubctr"] = h.token("analyst")
        # Server A, then server B: the same configuration, database and
        # key file, another process and port.
        cls.a = h.start()
        cls.b = copy.copy(h)
        cls.b.proc = None
        cls.b.start()
        cls.on_a = {o: ts.Client(cls.a, t, o) for o, t in tokens.items()}
        cls.on_b = {o: ts.Client(cls.b, t, o) for o, t in tokens.items()}

    @classmethod
    def tearDownClass(cls):
        for s in (cls.b, cls.a):
            if s.proc is not None:
                s.stop()
        cls.h.cleanup()
        cls.hook.srv.shutdown()

    def submit_all(self, acked, errors):
        """Server A: REPORTS reports from acme and from coin; every
        third pair shares a value across the two SIGs."""
        try:
            for n in range(REPORTS):
                for org in ("acme", "coin"):
                    # (No organisation's name in a value: the leak
                    # check would refuse to share it.)
                    tag = "alpha" if org == "acme" else "gamma"
                    values = ["%s-%d-cluster.example" % (tag, n),
                              "198.51.100.%d" % (n % 250 + 1)
                              if org == "acme" else
                              "203.0.113.%d" % (n % 250 + 1)]
                    if n % 3 == 0:
                        values.append("shared-%d-cluster.example" % n)
                    r = self.on_a[org].post("/api/v1/reports", {
                        "indicators": values, "permission": "community",
                        "attribution": "none", "tlp": "green"}, expect=201)
                    acked.append((org, r.json["id"]))
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def publish_some(self, acked, published, errors):
        """Server B, meanwhile: items from acknowledged reports,
        approved by their provider and published; each read at once
        from server A by a recipient in the audience."""
        try:
            done = set()
            while len(published) < 6:
                ready = [(o, i) for o, i in list(acked) if i not in done]
                if not ready:
                    time.sleep(0.05)
                    continue
                org, rid = ready[0]
                done.add(rid)
                hub = self.on_b["hubctr"]
                iid = hub.post("/api/v1/items", {
                    "title": "Cluster item %d" % rid,
                    "analysis": "Seen by two servers", "tlp": "green",
                    "audience": "community", "reports": [rid]},
                    expect=201).json["id"]
                hub.post("/api/v1/items/%d/submit" % iid, expect=200)
                self.on_b[org].post("/api/v1/items/%d/approval" % iid,
                                    {"decision": "approve"}, expect=200)
                hub.post("/api/v1/items/%d/publish" % iid, expect=200)
                reader = "bolt" if org == "acme" else "dyna"
                r = self.on_a[reader].get("/api/v1/items/%d" % iid,
                                          expect=200)
                self.assertEqual(r.json["id"], iid)
                published.append((iid, org))
        except Exception as e:
            errors.append(e)

    def test_two_servers(self):
        acked, published, errors = [], [], []
        t1 = threading.Thread(target=self.submit_all, args=(acked, errors))
        t2 = threading.Thread(target=self.publish_some,
                              args=(acked, published, errors))
        t1.start()
        t2.start()
        t1.join(300)
        t2.join(300)
        self.assertEqual(errors, [])
        self.assertFalse(t1.is_alive() or t2.is_alive())

        # Nothing lost, nothing twice: server B lists exactly the
        # reports server A acknowledged.
        ids = [i for _, i in acked]
        self.assertEqual(len(ids), 2 * REPORTS)
        self.assertEqual(len(set(ids)), len(ids))
        listed = self.on_b["hubctr"].get(
            "/api/v1/reports", query={"limit": 1000}, expect=200).json
        listed = listed["reports"] if isinstance(listed, dict) else listed
        self.assertEqual(sorted(r["id"] for r in listed), sorted(ids))

        # Background work ran once per event, whichever server took it.
        # Reports stored but not correlated (as when a server dies
        # between the commit and the correlation) appear all at once, for
        # both servers' sweeps to race for.
        con = self.h.database.connect()
        kind = con.execute("SELECT type FROM observation WHERE value = "
                           "'shared-0-cluster.example'").fetchone()[0]
        script = []
        for n in range(PENDING):
            script.append(
                "INSERT INTO report (org_id, kind, permission, "
                "attribution, tlp, source, received_at, raw_sha256) "
                "SELECT id, 'indicators', 'community', 'none', 'green', "
                "'test', '2026-01-01T00:00:00Z', '%064d' FROM org WHERE "
                "name = '%s';" % (n, "acme" if n % 2 else "coin"))
            script.append(
                "INSERT INTO observation (report_id, type, value, found_in) "
                "SELECT MAX(id), '%s', 'pending-%d-cluster.example', "
                "'body' FROM report;" % (kind, n // 2))
        con.executescript("".join(script))
        wait_for("every report correlated", lambda: con.execute(
            "SELECT COUNT(*) FROM report WHERE correlated_at IS NULL"
        ).fetchone()[0] == 0)
        # Each correlation took the next sequence number: two at once
        # would have read the same one.
        seqs = con.execute("SELECT corr_seq FROM report GROUP BY corr_seq "
                           "HAVING COUNT(*) > 1").fetchall()
        self.assertEqual(seqs, [])
        dup = con.execute("SELECT report_id FROM alert GROUP BY report_id "
                          "HAVING COUNT(*) > 1").fetchall()
        self.assertEqual(dup, [])
        alerts = con.execute("SELECT id FROM alert").fetchall()
        # Each shared value links a coin report to an acme report of
        # the other SIG: an alert for each such pair's later report.
        self.assertEqual(len(alerts), len(range(0, REPORTS, 3)) +
                         PENDING // 2)
        wait_for("the outbox drained", lambda: con.execute(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND "
            "failed_at IS NULL").fetchone()[0] == 0)
        time.sleep(2.5)  # a second sweep of both servers, to be sure
        got = {}
        for path, _, body in self.hook.got:
            got.setdefault((path, body), 0)
            got[(path, body)] += 1
        twice = {k: n for k, n in got.items() if n > 1}
        self.assertEqual(twice, {})
        sent = con.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS "
                           "NOT NULL").fetchone()[0]
        self.assertEqual(len(self.hook.got), sent)
        # Every published item reached every other organisation of the
        # community audience once; every alert reached the hub once.
        items = con.execute("SELECT COUNT(*) FROM outbox WHERE item_id IS "
                            "NOT NULL").fetchone()[0]
        self.assertEqual(items, len(published) * 3)
        self.assertEqual(sent - items, len(alerts))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ts.CSIP = ts.testhub.CSIP = os.path.abspath(sys.argv.pop(1))
    if testdb.backend() != "postgresql":
        print("1..0 # SKIP two servers need PostgreSQL: run under "
              "scripts/pg-test (make check does)")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
