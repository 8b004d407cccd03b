#!/usr/bin/env python3
"""`csip match --follow --report` against a real hub (issue #7).

Runs the real `csip serve` on 127.0.0.1 with a fresh demo hub in a
temporary folder, and `csip match` as a member that receives the demo
item, reading the member's CSV export and reporting to the hub:

- following: lines appended to a log are matched as they come, through a
  rotation (rename and a new file, with a line written to the old one
  after the rename) and a truncation;
- the indicators follow the hub: an item published while the matcher
  runs is matched after the next refresh, and once withdrawn no more
  after the next full refresh;
- the sightings arrive on the hub as feedback of the member's
  organisation, on the item carrying each indicator, counted per
  indicator with the first and last time, no sighting lost or counted
  twice, even through a hub that fails for a while;
- a hub that cannot be reached: a clear error, exit status 1, and what
  was not reported printed.

Usage: test_match_follow.py PATH-TO-CSIP
"""
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
WAIT = 30          # seconds, for anything asynchronous


class Hub(testhub.Hub):
    """testhub.Hub; URL is the server's base address."""

    def __init__(self):
        super().__init__("rate_limit = 0\n", prefix="csip-follow-")

    def env(self):
        """Without CSIP_TOKEN either: the matcher's is set per run."""
        e = super().env()
        e.pop("CSIP_TOKEN", None)
        return e

    def start(self, *extra):
        super().start(*extra)
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    def call(self, method, path, token, body=None, expect=200):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Authorization": "Bearer " + token}
        if data is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, headers=h,
                                     method=method)
        try:
            with OPENER.open(req, timeout=60) as r:
                status, out = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, out = e.code, e.read()
        if status != expect:
            raise AssertionError("%s %s: %d %r" % (method, path, status,
                                                    out[:500]))
        return json.loads(out) if out else None


class Matcher:
    """`csip match` running as the member, its sightings collected as
    they are printed."""

    def __init__(self, hub, log, *extra, report=None):
        self.err_path = os.path.join(hub.dir, "match-%d.err" %
                                     time.monotonic_ns())
        self.err = open(self.err_path, "wb")
        e = hub.env()
        e["CSIP_TOKEN"] = TOKENS["member"]
        args = [CSIP, "match", "--follow", "--threads", "1",
                "--indicators", hub.url + "/api/v1/export/csv",
                "--report", report or hub.url] + list(extra) + [log]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.err, env=e, cwd=hub.dir)
        self.rows = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.rows.append(json.loads(line))
                self.cond.notify_all()

    def wait_rows(self, n):
        """The first N sightings, once there are that many."""
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.rows) >= n, WAIT)
            if not ok:
                raise AssertionError("%d sightings, not %d: %r\n%s" % (
                    len(self.rows), n, self.rows, self.stderr()))
            return list(self.rows[:n])

    def stderr(self):
        with open(self.err_path, encoding="utf-8") as f:
            return f.read()

    def wait_stderr(self, pattern, count=1):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.stderr())) >= count:
                return
            time.sleep(0.1)
        raise AssertionError("%r not %d times in:\n%s" % (
            pattern, count, self.stderr()))

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=120)
        self.reader.join(30)
        self.proc.stdout.close()
        self.err.close()
        return rc


HUB = None
TOKENS = {}


def setUpModule():
    global HUB
    HUB = Hub()
    h = HUB
    h.ok("demo")
    # A recipient of the demo item (energy SIG, NDA) that provided
    # nothing: its feedback is its own, and the hub sees its name.
    h.ok("org", "add", "tohoku-den", "--nda", "2024-05-01")
    h.ok("org", "update", "tohoku-den", "--add-sig", "energy")
    h.ok("user", "add", "tuser", "--org", "tohoku-den")
    TOKENS["member"] = h.token("tuser")
    TOKENS["hub"] = h.token("analyst")
    TOKENS["provider"] = h.token("alice")
    h.start()


def tearDownModule():
    if HUB is not None:
        HUB.cleanup()


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def feedback(item, after=0):
    rows = HUB.call("GET", "/api/v1/items/%d/feedback" % item,
                    TOKENS["hub"])["feedback"]
    return [r for r in rows if r["id"] > after]


def last_feedback_id(item):
    rows = feedback(item)
    return rows[-1]["id"] if rows else 0


def counts(rows):
    """Sightings per (type, value), summed over feedback rows."""
    out = {}
    for r in rows:
        key = (r["indicator"]["type"], r["indicator"]["value"])
        out[key] = out.get(key, 0) + r["count"]
    return out


def wait_feedback(item, after, want):
    """Until the feedback on ITEM since AFTER counts WANT; the rows."""
    deadline = time.monotonic() + WAIT
    rows = []
    while time.monotonic() < deadline:
        rows = feedback(item, after)
        if counts(rows) == want:
            return rows
        time.sleep(0.2)
    raise AssertionError("feedback on item %d: %r, not %r" % (
        item, counts(rows), want))


def match_and_report(log):
    """csip match over LOG with the hub's feed, reporting to it as the
    member, once at the end; the finished process."""
    e = HUB.env()
    e["CSIP_TOKEN"] = TOKENS["member"]
    return subprocess.run([CSIP, "match", "--indicators",
                           HUB.url + "/api/v1/export/csv", "--report",
                           HUB.url + "/", log], capture_output=True,
                          text=True, env=e, timeout=120)


def publish(value, also=None):
    """A new item of the energy SIG carrying domain VALUE, from a report
    of VALUE (and ALSO, so that it is not the same report again); its
    id."""
    rid = HUB.call("POST", "/api/v1/reports", TOKENS["provider"], {
        "indicators": [value] + ([also] if also else []),
        "permission": "sig"}, 201)["id"]
    iid = HUB.call("POST", "/api/v1/items", TOKENS["hub"], {
        "title": "New C2 host", "analysis": "Seen in a second wave.",
        "tlp": "amber", "audience": "sig", "sigs": ["energy"],
        "reports": [rid], "indicators": [{"type": "domain",
                                          "value": value}]}, 201)["id"]
    HUB.call("POST", "/api/v1/items/%d/submit" % iid, TOKENS["hub"])
    HUB.call("POST", "/api/v1/items/%d/approval" % iid, TOKENS["provider"],
             {"decision": "approve"})
    HUB.call("POST", "/api/v1/items/%d/publish" % iid, TOKENS["hub"])
    return iid


class TestFollow(unittest.TestCase):
    def test_follow(self):
        log = os.path.join(HUB.dir, "proxy.log")
        before = last_feedback_id(1)
        with open(log, "w") as f:
            f.write("2026-01-01T00:00:00Z GET http://www.invoice-help."
                    "example/a 200\nGET http://ok.example/ 200\n")
        m = Matcher(HUB, log, "--refresh", "1", "--full-refresh", "3",
                    "--report-interval", "1")
        try:
            rows = m.wait_rows(1)
            self.assertEqual(rows[0]["indicator"], "invoice-help.example")
            self.assertEqual(rows[0]["line"], 1)
            self.assertEqual(rows[0]["timestamp"], "2026-01-01T00:00:00Z")
            # Lines as they are written.
            append(log, "conn 198.51.100.23:443\n" * 3)
            rows = m.wait_rows(4)
            self.assertEqual([r["line"] for r in rows[1:]], [3, 4, 5])
            self.assertEqual({r["indicator"] for r in rows[1:]},
                             {"198.51.100.23"})

            # A new item: matched after the next refresh.
            fresh = publish("fresh-c2.example")
            m.wait_stderr(r"indicators updated: 1 new")
            append(log, "q a.fresh-c2.example\n")
            rows = m.wait_rows(5)
            self.assertEqual(rows[4]["indicator"], "fresh-c2.example")
            self.assertEqual(rows[4]["line"], 6)
            got = wait_feedback(fresh, 0, {("domain", "fresh-c2.example"):
                                           1})
            self.assertEqual(got[0]["org"], "tohoku-den")

            # Rotation: the old file's last line (written after the
            # rename), then the new file from its first line.
            writer = open(log, "a")
            os.rename(log, log + ".1")
            writer.write("late 198.51.100.23\n")
            writer.close()
            with open(log, "w") as f:
                f.write("x invoice-portal.example\n"
                        "a line long enough to be longer than the next\n")
            rows = m.wait_rows(7)
            self.assertEqual([(r["indicator"], r["line"]) for r in
                              rows[5:]], [("198.51.100.23", 7),
                                          ("invoice-portal.example", 1)])
            # Truncation: read again from the start.
            with open(log, "w") as f:
                f.write("t pay@invoice-help.example\n")
            rows = m.wait_rows(9)
            self.assertEqual([(r["indicator"], r["line"], r["offset"])
                              for r in rows[7:]],
                             [("pay@invoice-help.example", 1, 2),
                              ("invoice-help.example", 1, 6)])

            # Withdrawn: gone after the next full refresh.
            full = len(re.findall("indicators read again", m.stderr()))
            HUB.call("POST", "/api/v1/items/%d/withdraw" % fresh,
                     TOKENS["hub"])
            m.wait_stderr("indicators read again", full + 2)
            append(log, "q fresh-c2.example\nq invoice-portal.example\n")
            rows = m.wait_rows(10)
            self.assertEqual([(r["indicator"], r["line"]) for r in
                              rows[9:]], [("invoice-portal.example", 3)])
            want = {}
            for r in rows:
                if r["indicator"] != "fresh-c2.example":
                    key = (r["type"], r["indicator"])
                    want[key] = want.get(key, 0) + 1
            got = wait_feedback(1, before, want)
        finally:
            rc = m.stop()
        err = m.stderr()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(m.rows), 10, m.rows)
        self.assertIn("proxy.log was rotated", err)
        self.assertIn("proxy.log was truncated", err)
        self.assertIn("reported 10 sightings", err)
        # The member's organisation, each with its first and last time.
        self.assertEqual({r["org"] for r in got}, {"tohoku-den"})
        self.assertEqual({r["kind"] for r in got}, {"sighting"})
        for r in got:
            self.assertLessEqual(r["seen_at"], r["last_seen_at"])
        mine = HUB.call("GET", "/api/v1/items/1/feedback",
                        TOKENS["member"])["feedback"]
        self.assertTrue(all(r["org"] == "tohoku-den" for r in mine), mine)

    def test_report_batch(self):
        """Without --follow: one feedback per indicator at the end, its
        count and span from the lines' times."""
        log = os.path.join(HUB.dir, "conn.log")
        before = last_feedback_id(1)
        with open(log, "w") as f:
            for ts in ("2026-02-01T10:00:05Z", "2026-02-01T09:00:00Z",
                       "2026-02-01T11:30:00Z"):
                f.write("%s conn 198.51.100.23 -> 10.0.0.1\n" % ts)
            f.write("2026-02-01T12:00:00+09:00 dns invoice-portal.example\n")
        p = match_and_report(log)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 4)
        self.assertIn("reported 4 sightings in 2 feedbacks", p.stderr)
        rows = feedback(1, before)
        self.assertEqual(len(rows), 2, rows)
        by = {r["indicator"]["value"]: r for r in rows}
        ip = by["198.51.100.23"]
        self.assertEqual((ip["count"], ip["seen_at"], ip["last_seen_at"],
                          ip["org"]),
                         (3, "2026-02-01T09:00:00Z", "2026-02-01T11:30:00Z",
                          "tohoku-den"))
        dom = by["invoice-portal.example"]
        self.assertEqual((dom["count"], dom["seen_at"],
                          dom["last_seen_at"]),
                         (1, "2026-02-01T03:00:00Z", "2026-02-01T03:00:00Z"))

    def test_report_several_items(self):
        """A value two items carry: the sightings go to each, as a MISP
        sighting goes to every attribute with the value."""
        first = publish("twin-c2.example")
        second = publish("twin-c2.example", also="198.51.100.99")
        log = os.path.join(HUB.dir, "twin.log")
        with open(log, "w") as f:
            f.write("2026-02-02T10:00:00Z dns a.twin-c2.example\n"
                    "2026-02-02T11:00:00Z dns twin-c2.example\n")
        p = match_and_report(log)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 2)
        self.assertIn("in 2 feedbacks", p.stderr)
        for item in (first, second):
            rows = feedback(item)
            self.assertEqual(counts(rows),
                             {("domain", "twin-c2.example"): 2}, item)
            self.assertEqual((rows[0]["seen_at"], rows[0]["last_seen_at"],
                              rows[0]["org"]),
                             ("2026-02-02T10:00:00Z", "2026-02-02T11:00:00Z",
                              "tohoku-den"))

    def test_report_unreachable(self):
        log = os.path.join(HUB.dir, "dns.log")
        with open(log, "w") as f:
            f.write("q invoice-portal.example\nq invoice-portal.example\n")
        # A port that was free a moment ago.
        srv = http.server.HTTPServer(("127.0.0.1", 0),
                                     http.server.BaseHTTPRequestHandler)
        dead = "http://127.0.0.1:%d" % srv.server_address[1]
        srv.server_close()
        e = HUB.env()
        e["CSIP_TOKEN"] = TOKENS["member"]
        p = subprocess.run([CSIP, "match", "--indicators",
                            HUB.url + "/api/v1/export/csv", "--report", dead,
                            log], capture_output=True, text=True, env=e,
                           timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)
        # The sightings are printed all the same, and what was not
        # reported is said, in a form that can be sent again.
        self.assertEqual(len(p.stdout.splitlines()), 2)
        self.assertIn("reporting to " + dead, p.stderr)
        self.assertIn("2 sightings of 1 indicator kept", p.stderr)
        left = [json.loads(l.split("not reported: ", 1)[1])
                for l in p.stderr.splitlines() if "not reported: " in l]
        self.assertEqual([(l["item"], l["indicator"]["value"], l["count"])
                          for l in left], [(1, "invoice-portal.example", 2)])
        # Refused before reading anything: no token.
        e.pop("CSIP_TOKEN")
        p = subprocess.run([CSIP, "match", "--indicators", log, "--report",
                            HUB.url, log], capture_output=True, text=True,
                           env=e, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("CSIP_TOKEN", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_state_restart(self):
        """--state: a restarted follower goes on where it stopped, neither
        printing nor reporting a line twice, and sends at the next start
        what the last one could not."""
        log = os.path.join(HUB.dir, "state-dns.log")
        state = os.path.join(HUB.dir, "match.state")
        key = ("domain", "invoice-portal.example")
        before = last_feedback_id(1)
        with open(log, "w") as f:
            f.write("q invoice-portal.example\nq ok.example\n"
                    "q invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            self.assertEqual([r["line"] for r in m.wait_rows(2)], [1, 3])
            wait_feedback(1, before, {key: 2})
        finally:
            self.assertEqual(m.stop(), 0, m.stderr())
        with open(state, encoding="utf-8") as f:
            st = json.load(f)
        self.assertEqual(st["logs"][log]["offset"], os.path.getsize(log))
        self.assertEqual(st["logs"][log]["line"], 4)
        self.assertEqual(st["unsent"], [])

        append(log, "q www.invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            rows = m.wait_rows(1)
            # Offsets count from the file's start, as without a state.
            self.assertEqual(rows[0]["line"], 4)
            self.assertGreaterEqual(rows[0]["offset"], os.path.getsize(log)
                                    - len("q www.invoice-portal.example\n"))
            wait_feedback(1, before, {key: 3})
            time.sleep(1.5)
        finally:
            self.assertEqual(m.stop(), 0, m.stderr())
        self.assertEqual(len(m.rows), 1, m.rows)
        self.assertEqual(counts(feedback(1, before)), {key: 3})

        # The hub unreachable at the stop: the count waits in the state
        # and goes with the next start, with nothing new read.
        srv = http.server.HTTPServer(("127.0.0.1", 0),
                                     http.server.BaseHTTPRequestHandler)
        dead = "http://127.0.0.1:%d" % srv.server_address[1]
        srv.server_close()
        append(log, "q invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1",
                    report=dead)
        try:
            self.assertEqual(m.wait_rows(1)[0]["line"], 5)
        finally:
            self.assertEqual(m.stop(), 1, m.stderr())
        with open(state, encoding="utf-8") as f:
            st = json.load(f)
        self.assertEqual([(u["indicator"]["value"], u["count"])
                          for u in st["unsent"]],
                         [("invoice-portal.example", 1)])
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            wait_feedback(1, before, {key: 4})
            time.sleep(1.5)
        finally:
            self.assertEqual(m.stop(), 0, m.stderr())
        self.assertEqual(m.rows, [])
        self.assertEqual(counts(feedback(1, before)), {key: 4})
        with open(state, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["unsent"], [])

        # Killed, not stopped: what the hub recorded after the last write
        # of the state is sent again under its key and counted once; the
        # lines read since are read again.
        append(log, "q invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            self.assertEqual(m.wait_rows(1)[0]["line"], 6)
            wait_feedback(1, before, {key: 5})
        finally:
            m.stop(signal.SIGKILL)
        append(log, "q invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            self.assertEqual(m.wait_rows(1)[-1]["line"], 7)
            wait_feedback(1, before, {key: 6})
            time.sleep(2.5)
        finally:
            self.assertEqual(m.stop(), 0, m.stderr())
        self.assertEqual(counts(feedback(1, before)), {key: 6})

        # Emptied by copytruncate and written past the old position while
        # stopped: not the same bytes, so read from its start.
        with open(log, "w") as f:
            f.write("x" * 200 + "\n" + "q invoice-portal.example\n" * 8)
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            self.assertEqual(m.wait_rows(8)[0]["line"], 2)
        finally:
            m.stop()

        # A log made anew while stopped is read from its start.
        os.unlink(log)
        with open(log, "w") as f:
            f.write("q invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            self.assertEqual(m.wait_rows(1)[0]["line"], 1)
        finally:
            m.stop()

        # Rotated while stopped (written on, renamed, a new log made):
        # the rest of the renamed file first, found by its inode, then
        # the new log from its start.
        append(log, "q invoice-portal.example\n")
        os.rename(log, log + "-20261129")
        with open(log, "w") as f:
            f.write("q ok.example\nq invoice-portal.example\n")
        m = Matcher(HUB, log, "--state", state, "--report-interval", "1")
        try:
            rows = m.wait_rows(2)
            self.assertEqual([r["line"] for r in rows], [2, 2])
            self.assertEqual([r["offset"] for r in rows], [27, 15])
            m.wait_stderr(r"state-dns\.log was rotated while stopped; "
                          r"reading the rest of .*-20261129 first")
        finally:
            m.stop()

        # A state that cannot be written: nothing is reported that it
        # does not hold, until the stop, where what is left goes.
        before2 = last_feedback_id(1)
        m = Matcher(HUB, log, "--state",
                    os.path.join(HUB.dir, "no-such-dir", "match.state"),
                    "--report-interval", "1")
        try:
            m.wait_rows(1)
            m.wait_stderr(r"writing the state failed.*not reported, until")
            time.sleep(2.5)
            self.assertEqual(feedback(1, before2), [])
        finally:
            m.stop()
        self.assertEqual(counts(feedback(1, before2)), {key: 1})

        # A state that is not one: refused, saying what to do.
        with open(state, "w") as f:
            f.write("{\"version\": 1, \"logs\": []}")
        e = HUB.env()
        e["CSIP_TOKEN"] = TOKENS["member"]

        def match(*args):
            return subprocess.run([CSIP, "match"] + list(args),
                                  capture_output=True, text=True, env=e,
                                  timeout=60)
        follow = ("--follow", "--indicators", HUB.url +
                  "/api/v1/export/csv", "--state", state, log)
        p = match(*follow)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("remove it to read the logs from their start",
                      p.stderr)
        # Counts not reported yet are not dropped by a run that cannot
        # send them.
        with open(state, "w") as f:
            json.dump({"version": 1, "logs": {}, "unsent": [{
                "item": None, "indicator": {
                    "type": "domain", "value": "invoice-portal.example"},
                "count": 2, "first_seen": "2026-01-01T00:00:00Z",
                "last_seen": "2026-01-01T00:00:00Z", "key": "k-1"}]}, f)
        with open(state, encoding="utf-8") as f:
            before_state = f.read()
        p = match(*follow)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("2 sightings not reported yet: give --report",
                      p.stderr)
        with open(state, encoding="utf-8") as f:
            self.assertEqual(f.read(), before_state)
        p = match("--indicators", log, "--state", state, log)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--state only applies with --follow", p.stderr)

    def test_report_retry(self):
        """Answers lost on the way back: the hub records the first
        reports but the member gets 503.  The sightings are kept, sent
        again with a backoff under the same Idempotency-Key, and counted
        once."""
        before = last_feedback_id(1)
        failures = [2]

        class Flaky(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hdrs = {"Authorization": self.headers["Authorization"],
                        "Content-Type": "application/json"}
                if self.headers["Idempotency-Key"]:
                    hdrs["Idempotency-Key"] = \
                        self.headers["Idempotency-Key"]
                req = urllib.request.Request(
                    HUB.url + self.path, data=body, method="POST",
                    headers=hdrs)
                try:
                    with OPENER.open(req, timeout=60) as r:
                        status, out = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, out = e.code, e.read()
                if failures[0] > 0:
                    failures[0] -= 1
                    status, out = 503, b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        log = os.path.join(HUB.dir, "mail.log")
        with open(log, "w") as f:
            f.write("from billing@invoice-portal.example\n")
        m = Matcher(HUB, log, "--refresh", "0", "--report-interval", "1",
                    report="http://127.0.0.1:%d" % srv.server_address[1])
        try:
            m.wait_rows(2)
            m.wait_stderr(r"HTTP 503.*kept for the next report; trying "
                          r"again in 1 s")
            m.wait_stderr(r"trying again in 2 s")
            append(log, "from billing@invoice-portal.example\n")
            m.wait_rows(4)
            got = wait_feedback(1, before, {
                ("email", "billing@invoice-portal.example"): 2,
                ("domain", "invoice-portal.example"): 2})
        finally:
            rc = m.stop()
            srv.shutdown()
            srv.server_close()
        self.assertEqual(rc, 0, m.stderr())
        self.assertEqual({r["org"] for r in got}, {"tohoku-den"})


if __name__ == "__main__":
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    unittest.main(verbosity=2)
