#!/usr/bin/env python3
"""TAXII 2.1 of `csip serve` over real HTTP (issue #6).

Runs the real binary against a fresh SQLite database in a temporary folder
on 127.0.0.1, with a hub, a provider, recipients in and out of an item's
scope, a participant without an NDA and a partner.  Covered: discovery,
the API root, collections as each reader sees them, objects, manifest, one
object, versions, status and DELETE; every filter and its malformed forms;
pagination with small limits across many items, cursors of another reader
or tampered with, and a reader whose NDA is cleared between pages;
X-TAXII-Date-Added-First/Last; the errors the standard requires (400, 401,
403, 404, 406, 413, 415, 422) with TAXII error bodies and media type; HTTP
Basic and bearer tokens; an envelope POSTed to "submissions" becoming a
report the hub sees; and that no recipient's response names the provider.
Every response is checked against the OpenAPI document the server serves.

Usage: test_taxii.py PATH-TO-CSIP
"""
import base64
import http.client
import json
import os
import re
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
ROOT = "/taxii2/api/"
SHARED = "5f7d2c1e-8a43-4b6e-9d2f-3c1a7e9b4d60"
SUBMIT = "a3e1f0b2-6c5d-4e7f-8a9b-0c1d2e3f4a5b"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

PROVIDER = "kanto-elec"
PROVIDER_DISPLAY = "Kanto Elec Display Name"
PROVIDER_DOMAIN = "kanto-power-test.jp"
SECRETS = [PROVIDER, PROVIDER_DISPLAY, PROVIDER_DOMAIN]
PASSWORD = "correct horse battery"


def coll_path(cid, *rest):
    return ROOT + "collections/" + cid + "/" + "".join(r + "/" for r in rest)


# ---- the OpenAPI document ------------------------------------------------


class OpenApi:
    """The served document: validates TAXII responses against it."""

    def __init__(self, doc):
        self.doc = doc
        self.routes = []
        for path, item in doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[a-z_0-9]+\\\}", "[^/]+",
                              re.escape(path)) + "$"
            self.routes.append((re.compile(rx), path, item))

    def check(self, method, path, status, ctype, data):
        what = "%s %s -> %d" % (method, path, status)
        for rx, tmpl, item in self.routes:
            if rx.match(path) and method.lower() in item:
                op = item[method.lower()]
                break
        else:
            return
        assert "taxii" in op.get("tags", []), what
        EXERCISED.add((method.upper(), tmpl))
        resp = op["responses"].get(str(status))
        assert resp is not None, "%s: not documented" % what
        while "$ref" in resp:
            node = self.doc
            for part in resp["$ref"][2:].split("/"):
                node = node[part]
            resp = node
        content = resp.get("content")
        if not content:
            return
        assert ctype in content, "%s: %s not in %s" % (what, ctype,
                                                       list(content))
        schema = {"allOf": [content[ctype]["schema"]],
                  "components": self.doc["components"]}
        errors = list(jsonschema.Draft202012Validator(schema)
                      .iter_errors(data))
        assert not errors, "%s: %s\n%s" % (what, errors[0].message,
                                           json.dumps(data)[:1500])


API = None
EXERCISED = set()   # (method, path template) of every TAXII call made


# ---- the hub ---------------------------------------------------------------


class Hub(testhub.Hub):
    """testhub.Hub; each server started gives the OpenAPI document the
    REST answers are checked against."""

    def __init__(self, server_conf=""):
        super().__init__(server_conf, prefix="csip-taxii-")

    def start(self, *extra):
        global API
        super().start(*extra)
        with OPENER.open(self.url("/api/v1/openapi.json"), timeout=30) as r:
            API = OpenApi(json.loads(r.read().decode("utf-8")))
        return self


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.ctype = headers.get("Content-Type")
        self.json = None
        if body and (self.ctype or "").startswith("application/"):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except ValueError:
                pass

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:400])


# (org, method, path, body) of every response a recipient got.
RECIPIENT_BODIES = []


class Client:
    """One organisation's credentials: a bearer token or Basic."""

    def __init__(self, hub, org, token=None, basic=None, recipient=False):
        self.hub = hub
        self.org = org
        self.token = token
        self.basic = basic
        self.recipient = recipient

    def call(self, method, path, body=None, ctype=TAXII, query=None,
             accept=TAXII, headers=None, expect=None, auth=True):
        if query:
            path = path + "?" + urllib.parse.urlencode(query)
        h = {}
        if accept is not None:
            h["Accept"] = accept
        if auth and self.token:
            h["Authorization"] = "Bearer " + self.token
        elif auth and self.basic:
            h["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % self.basic).encode()).decode()
        h.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            if ctype:
                h["Content-Type"] = ctype
        req = urllib.request.Request(self.hub.url(path), data=data,
                                     headers=h, method=method)
        try:
            with OPENER.open(req, timeout=120) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        r = Resp(status, hdrs, raw)
        if self.recipient:
            RECIPIENT_BODIES.append((self.org, method, path, raw))
        if path.startswith("/taxii2/"):
            # Every TAXII answer, errors included, is TAXII's.
            assert r.ctype == TAXII, "%s %s: Content-Type %r" % (
                method, path, r.ctype)
            API.check(method, path.split("?")[0], status, r.ctype, r.json)
        if expect is not None and status != expect:
            raise AssertionError("%s %s as %s: expected %d, got %d: %s" % (
                method, path, self.org, expect, status,
                raw[:600].decode("utf-8", "replace")))
        return r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body, **kw)

    def api(self, method, path, body=None, expect=None):
        """The REST API (application/json)."""
        return self.call(method, path, body=body, ctype="application/json",
                         accept="application/json", expect=expect)


def raw_request(hub, method, path, body, headers, chunked=False,
                chunk=65536):
    """Send a request with http.client; a server that answers early and
    closes while the body is still being sent is fine."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=120)
    conn.putrequest(method, path)
    for k, v in headers.items():
        conn.putheader(k, v)
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    try:
        for i in range(0, len(body), chunk):
            part = body[i:i + chunk]
            if chunked:
                conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
            else:
                conn.send(part)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    resp = conn.getresponse()
    r = Resp(resp.status, resp.headers, resp.read())
    conn.close()
    return r


def assert_taxii_error(tc, r, status):
    tc.assertEqual(r.status, status, r)
    tc.assertEqual(r.ctype, TAXII, r)
    tc.assertIsInstance(r.json, dict, r)
    tc.assertTrue(r.json.get("title"), r)
    tc.assertEqual(r.json.get("http_status"), str(status), r)
    tc.assertTrue(r.json.get("description"), r)


def all_pages(tc, client, path, query=None, limit=None):
    """Every page of objects/manifest: (records, pages)."""
    q = dict(query or {})
    if limit:
        q["limit"] = limit
    out, pages = [], 0
    while True:
        r = client.get(path, query=q, expect=200)
        pages += 1
        env = r.json
        objs = env.get("objects", [])
        if limit:
            tc.assertLessEqual(len(objs), limit)
        out.extend(objs)
        if objs:
            first = r.headers["X-TAXII-Date-Added-First"]
            last = r.headers["X-TAXII-Date-Added-Last"]
            tc.assertRegex(first, TS)
            tc.assertRegex(last, TS)
            tc.assertLessEqual(first, last)
            if "date_added" in objs[0]:
                tc.assertEqual(first, objs[0]["date_added"])
                tc.assertEqual(last, objs[-1]["date_added"])
        if not env.get("more"):
            tc.assertNotIn("next", env)
            break
        tc.assertIn("next", env)
        q["next"] = env["next"]
        tc.assertLess(pages, 500, "pagination does not end")
    return out, pages


# ---- the shared hub ---------------------------------------------------------

HUB = None
C = {}
ITEMS = {}          # title -> (item id, audience)
PROVIDER_REPORTS = set()


def envelope(n=1, domain="submitted-test.example"):
    objs = []
    for i in range(n):
        objs.append({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--%s" % uuid.uuid4(),
            "created": "2024-04-01T09:00:00.000Z",
            "modified": "2024-04-01T09:00:00.000Z",
            "name": "bad domain %d" % i,
            "pattern": "[domain-name:value = '%d.%s']" % (i, domain),
            "pattern_type": "stix", "valid_from": "2024-04-01T09:00:00Z"})
    return {"objects": objs}


def make_item(title, audience, values, permission, sigs=None):
    prov, hub = C["provider"], C["hub"]
    rep = prov.api("POST", "/api/v1/reports", {
        "indicators": values, "permission": permission,
        "attribution": "none", "tlp": "green"}, expect=201).json["id"]
    spec = {"title": title, "analysis": "Analysis of " + title,
            "tlp": "green", "audience": audience, "reports": [rep]}
    if sigs:
        spec["sigs"] = sigs
    iid = hub.api("POST", "/api/v1/items", spec, expect=201).json["id"]
    hub.api("POST", "/api/v1/items/%d/submit" % iid, expect=200)
    prov.api("POST", "/api/v1/items/%d/approval" % iid,
             {"decision": "approve"}, expect=200)
    hub.api("POST", "/api/v1/items/%d/publish" % iid, expect=200)
    ITEMS[title] = (iid, audience)
    return iid


def start_shared():
    global HUB
    # test_401 fails many sign-ins on purpose: the brake on them has a
    # hub of its own (Test8SignInBrake).
    HUB = Hub("max_body_mb = 1\nrate_limit = 0\nauth_failures = 0\n")
    h = HUB
    h.ok("init")
    h.ok("sig", "add", "energy")
    h.ok("sig", "add", "gas")
    h.ok("org", "add", "hubctr", "--role", "hub", "--nda", "2024-04-01")
    h.ok("org", "add", PROVIDER, "--display", PROVIDER_DISPLAY, "--sig",
         "energy", "--nda", "2024-04-01", "--domain", PROVIDER_DOMAIN)
    h.ok("org", "add", "tohoku-den", "--sig", "energy", "--nda",
         "2024-05-01")
    h.ok("org", "add", "chubu-den", "--sig", "energy", "--nda",
         "2024-05-01")
    h.ok("org", "add", "nihon-gasu", "--sig", "gas", "--nda", "2024-06-01")
    h.ok("org", "add", "fuji-nonda", "--sig", "energy")
    h.ok("org", "add", "natcert", "--role", "partner", "--nda",
         "2024-04-01")
    for user, org, role in [("analyst", "hubctr", "analyst"),
                            ("kuser", PROVIDER, "member"),
                            ("tuser", "tohoku-den", "member"),
                            ("cuser", "chubu-den", "member"),
                            ("nuser", "nihon-gasu", "member"),
                            ("fuser", "fuji-nonda", "member"),
                            ("puser", "natcert", "member")]:
        h.ok("user", "add", user, "--org", org, "--role", role,
             "--password-stdin", stdin=PASSWORD + "\n")
    C["hub"] = Client(h, "hubctr", h.token("analyst"))
    C["provider"] = Client(h, PROVIDER, h.token("kuser"))
    C["same_sig"] = Client(h, "tohoku-den", h.token("tuser"),
                           recipient=True)
    C["same_sig_ro"] = Client(h, "tohoku-den",
                              h.token("tuser", "--read-only"),
                              recipient=True)
    C["same_sig_basic"] = Client(h, "tohoku-den", basic=("tuser", PASSWORD),
                                 recipient=True)
    C["revoked"] = Client(h, "chubu-den", h.token("cuser"), recipient=True)
    C["other_sig"] = Client(h, "nihon-gasu", h.token("nuser"),
                            recipient=True)
    C["no_nda"] = Client(h, "fuji-nonda", h.token("fuser"), recipient=True)
    C["partner"] = Client(h, "natcert", h.token("puser"), recipient=True)
    C["anon"] = Client(h, "anonymous", recipient=True)
    h.start()
    make_item("Energy SIG lure", "sig", ["sig-lure-test.example",
                                         "198.51.100.7"], "sig",
              sigs=["energy"])
    for i in range(7):
        make_item("Community wave %d" % i, "community",
                  ["wave%d-test.example" % i,
                   "http://wave%d-test.example/x" % i], "community")
    make_item("Partner alert", "partners", ["partner-test.example"],
              "partners")
    # A second item carrying the same observable: one SCO id in two, a
    # second later, so that its date_added (its version) differs.
    time.sleep(1.1)
    make_item("Community repeat", "community", ["wave0-test.example"],
              "community")


def titles_for(reader):
    aud = {"hub": {"sig", "community", "partners"},
           "same_sig": {"sig", "community", "partners"},
           "revoked": {"sig", "community", "partners"},
           "other_sig": {"community", "partners"},
           "partner": {"partners"}}[reader]
    return {t for t, (_, a) in ITEMS.items() if a in aud}


def report_names(objs):
    return {o["name"] for o in objs if o["type"] == "report"}


# ---- 1. discovery, API root, collections ---------------------------------


class Test1Discovery(unittest.TestCase):
    def test_discovery_and_root(self):
        for who in ("hub", "same_sig", "partner", "no_nda",
                    "same_sig_basic"):
            r = C[who].get("/taxii2/", expect=200)
            self.assertEqual(r.json["default"], ROOT)
            self.assertEqual(r.json["api_roots"], [ROOT])
            r = C[who].get(ROOT, expect=200)
            self.assertIn(TAXII, r.json["versions"])
            self.assertEqual(r.json["max_content_length"], 1 << 20)
        # Accept without the version is TAXII too (§1.6.8).
        C["hub"].get("/taxii2/", accept="application/taxii+json",
                     expect=200)
        C["hub"].get("/taxii2/", accept="text/html, application/taxii+json;"
                     " version=2.1", expect=200)

    def test_collections_per_reader(self):
        want = {"hub": {SHARED: (True, False), SUBMIT: (False, True)},
                "same_sig": {SHARED: (True, False), SUBMIT: (False, True)},
                "same_sig_basic": {SHARED: (True, False),
                                   SUBMIT: (False, True)},
                "same_sig_ro": {SHARED: (True, False)},
                "partner": {SHARED: (True, False)},
                "no_nda": {SUBMIT: (False, True)}}
        for who, colls in want.items():
            r = C[who].get(ROOT + "collections/", expect=200)
            got = {c["id"]: (c["can_read"], c["can_write"])
                   for c in r.json["collections"]}
            self.assertEqual(got, colls, who)
            for c in r.json["collections"]:
                self.assertEqual(c["media_types"], [STIX])
                one = C[who].get(coll_path(c["id"]), expect=200).json
                self.assertEqual(one, c)
            for cid in {SHARED, SUBMIT} - set(colls):
                r = C[who].get(coll_path(cid))
                assert_taxii_error(self, r, 404)
        r = C["hub"].get(coll_path(str(uuid.uuid4())))
        assert_taxii_error(self, r, 404)


# ---- 2. objects and manifest ------------------------------------------------


class Test2Objects(unittest.TestCase):
    def test_objects_as_each_reader_sees_them(self):
        for who in ("hub", "same_sig", "other_sig", "partner"):
            objs, _ = all_pages(self, C[who], coll_path(SHARED, "objects"))
            self.assertEqual(report_names(objs), titles_for(who), who)
            # The REST list agrees: one policy behind both.
            items = C[who].api("GET", "/api/v1/items?limit=1000",
                               expect=200).json["items"]
            self.assertEqual({i["title"] for i in items}, titles_for(who))
        # Nothing for a participant without an NDA: the collection is not
        # there for it.
        r = C["no_nda"].get(coll_path(SHARED, "objects"))
        assert_taxii_error(self, r, 404)
        r = C["no_nda"].get(coll_path(SHARED, "manifest"))
        assert_taxii_error(self, r, 404)

    def test_manifest_matches_objects_and_is_sorted(self):
        c = C["same_sig"]
        objs, _ = all_pages(self, c, coll_path(SHARED, "objects"))
        man, _ = all_pages(self, c, coll_path(SHARED, "manifest"))
        self.assertEqual([m["id"] for m in man], [o["id"] for o in objs])
        dates = [m["date_added"] for m in man]
        self.assertEqual(dates, sorted(dates))
        for m, o in zip(man, objs):
            self.assertRegex(m["date_added"], TS)
            self.assertEqual(m["media_type"], STIX)
            self.assertEqual(m["version"], o.get("modified") or
                             o.get("created") or m["date_added"])
        r = c.get(coll_path(SHARED, "manifest"), expect=200)
        self.assertEqual(r.headers["X-TAXII-Date-Added-First"], dates[0])
        self.assertEqual(r.headers["X-TAXII-Date-Added-Last"], dates[-1])

    def test_stix_accept_on_objects(self):
        C["same_sig"].get(coll_path(SHARED, "objects"),
                          accept=TAXII + "," + STIX, expect=200)
        C["same_sig"].get(coll_path(SHARED, "objects"), accept=STIX,
                          expect=200)
        # Manifest is TAXII only.
        r = C["same_sig"].get(coll_path(SHARED, "manifest"), accept=STIX)
        assert_taxii_error(self, r, 406)


# ---- 3. filters ---------------------------------------------------------------


class Test3Filters(unittest.TestCase):
    def setUp(self):
        self.c = C["same_sig"]
        self.path = coll_path(SHARED, "objects")
        self.all, _ = all_pages(self, self.c, self.path)

    def get(self, **q):
        r = self.c.get(self.path, query=q, expect=200)
        return r.json.get("objects", [])

    def test_type(self):
        got = self.get(**{"match[type]": "indicator"})
        self.assertTrue(got)
        self.assertEqual({o["type"] for o in got}, {"indicator"})
        got = self.get(**{"match[type]": "report,indicator"})
        self.assertEqual({o["type"] for o in got}, {"report", "indicator"})
        self.assertEqual(self.get(**{"match[type]": "x-nothing"}), [])

    def test_id(self):
        reps = [o for o in self.all if o["type"] == "report"]
        got = self.get(**{"match[id]": reps[0]["id"]})
        self.assertEqual([o["id"] for o in got], [reps[0]["id"]])
        got = self.get(**{"match[id]": reps[0]["id"] + "," + reps[1]["id"]})
        self.assertEqual({o["id"] for o in got},
                         {reps[0]["id"], reps[1]["id"]})
        self.assertEqual(self.get(**{"match[id]": "indicator--%s" %
                                     uuid.uuid4()}), [])

    def test_spec_version(self):
        self.assertEqual(len(self.get(**{"match[spec_version]": "2.1"})),
                         len(self.all))
        self.assertEqual(self.get(**{"match[spec_version]": "2.0"}), [])

    def test_version(self):
        for v in ("last", "first", "all", "first,last"):
            self.assertEqual(len(self.get(**{"match[version]": v})),
                             len(self.all), v)
        rep = [o for o in self.all if o["type"] == "report"][0]
        got = self.get(**{"match[version]": rep["modified"],
                          "match[type]": "report"})
        self.assertIn(rep["id"], {o["id"] for o in got})
        self.assertTrue(all(o["modified"] == rep["modified"] for o in got))
        self.assertEqual(self.get(**{"match[version]":
                                     "1999-01-01T00:00:00.000Z"}), [])

    def test_added_after(self):
        man = self.c.get(coll_path(SHARED, "manifest"), expect=200)
        dates = sorted({m["date_added"] for m in man.json["objects"]})
        got = self.c.get(coll_path(SHARED, "manifest"),
                         query={"added_after": dates[0]}, expect=200)
        later = {m["id"] for m in man.json["objects"] if m["date_added"] >
                 dates[0]}
        self.assertTrue(later)
        # Objects shared with earlier items (identity, marking) come
        # with the first item of this response too.
        self.assertLessEqual(later, {m["id"] for m in got.json["objects"]})
        self.assertTrue(all(m["date_added"] > dates[0]
                            for m in got.json["objects"]))
        r = self.c.get(self.path, query={"added_after":
                                         "2999-01-01T00:00:00Z"},
                       expect=200)
        self.assertEqual(r.json, {})
        self.assertNotIn("X-TAXII-Date-Added-First", r.headers)
        self.assertEqual(len(self.get(added_after="2000-01-01T00:00:00.1Z")),
                         len(self.all))

    def test_unknown_match_ignored(self):
        self.assertEqual(len(self.get(**{"match[colour]": "blue"})),
                         len(self.all))

    def test_malformed_is_400(self):
        bad = [{"limit": "0"}, {"limit": "-1"}, {"limit": "abc"},
               {"limit": ""}, {"added_after": "yesterday"},
               {"added_after": "2024-04-01"},
               {"added_after": "2024-02-30T00:00:00Z"},
               {"match[id]": "not-an-id"}, {"match[id]": "indicator--1,"},
               {"match[type]": "Bad!"}, {"match[spec_version]": "two"},
               {"match[version]": "newest"},
               {"match[version]": "all,first"}, {"next": "garbage"}]
        for q in bad:
            for ep in ("objects", "manifest"):
                r = self.c.get(coll_path(SHARED, ep), query=q)
                assert_taxii_error(self, r, 400)

    def test_repeated_filter_is_400(self):
        # Each filter at most once (section 3.4); values go comma-separated.
        for q in ([("added_after", "2024-04-01T00:00:00.000000Z"),
                   ("added_after", "2025-04-01T00:00:00.000000Z")],
                  [("match[type]", "indicator"), ("match[type]", "report")],
                  [("limit", "1"), ("limit", "2")]):
            for ep in ("objects", "manifest"):
                r = self.c.get(coll_path(SHARED, ep), query=q)
                assert_taxii_error(self, r, 400)

    def test_limit_over_maximum_clamps(self):
        r = self.c.get(self.path, query={"limit": "100000000"}, expect=200)
        self.assertEqual(len(r.json["objects"]), len(self.all))
        self.assertFalse(r.json["more"])


# ---- 4. pagination ---------------------------------------------------------


class Test4Pagination(unittest.TestCase):
    def test_small_pages_cover_everything(self):
        c = C["same_sig"]
        for ep in ("objects", "manifest"):
            whole, _ = all_pages(self, c, coll_path(SHARED, ep))
            for limit in (1, 2, 3, 7):
                paged, pages = all_pages(self, c, coll_path(SHARED, ep),
                                         limit=limit)
                self.assertGreater(pages, 2)
                # Shared objects (identity, marking, observables) may
                # come again on a later page; nothing is lost.
                self.assertEqual({o["id"] for o in paged},
                                 {o["id"] for o in whole})
                if ep == "objects":
                    self.assertEqual(report_names(paged),
                                     titles_for("same_sig"))
        # With filters: the same filters on every page.
        paged, _ = all_pages(self, c, coll_path(SHARED, "objects"),
                             query={"match[type]": "report"}, limit=2)
        self.assertEqual(report_names(paged), titles_for("same_sig"))
        self.assertEqual(len(paged), len(titles_for("same_sig")))

    def test_cursor_of_another_reader_or_tampered(self):
        c = C["same_sig"]
        r = c.get(coll_path(SHARED, "objects"), query={"limit": 2},
                  expect=200)
        nxt = r.json["next"]
        for other in ("other_sig", "partner", "hub"):
            r2 = C[other].get(coll_path(SHARED, "objects"),
                              query={"limit": 2, "next": nxt})
            assert_taxii_error(self, r2, 400)
        # The same organisation may use it over Basic too.
        C["same_sig_basic"].get(coll_path(SHARED, "objects"),
                                query={"limit": 2, "next": nxt},
                                expect=200)
        payload, mac = nxt.split(".")
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        fields = raw.split(b"|")
        fields[2] = str(int(fields[2]) + 1000).encode()
        forged = b"|".join(fields)
        for bad in (payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA"
                                                 else "BB"),
                    base64.urlsafe_b64encode(forged).decode().rstrip("=")
                    + "." + mac, nxt + "x", mac + "." + payload):
            r2 = c.get(coll_path(SHARED, "objects"),
                       query={"limit": 2, "next": bad})
            assert_taxii_error(self, r2, 400)
        # An objects cursor is not a manifest cursor.
        r2 = c.get(coll_path(SHARED, "manifest"),
                   query={"limit": 2, "next": nxt})
        assert_taxii_error(self, r2, 400)

    def test_revoked_between_pages(self):
        c = C["revoked"]
        r = c.get(coll_path(SHARED, "objects"), query={"limit": 3},
                  expect=200)
        self.assertTrue(r.json["more"])
        HUB.ok("org", "update", "chubu-den", "--clear-nda")
        r = c.get(coll_path(SHARED, "objects"),
                  query={"limit": 3, "next": r.json["next"]})
        self.assertIn(r.status, (403, 404), r)
        self.assertFalse((r.json or {}).get("objects"), r)
        r = c.get(ROOT + "collections/", expect=200)
        self.assertNotIn(SHARED, [x["id"] for x in
                                  r.json.get("collections", [])])


# ---- 5. one object and its versions --------------------------------------------


class Test5OneObject(unittest.TestCase):
    def test_object_and_versions(self):
        c = C["same_sig"]
        objs, _ = all_pages(self, c, coll_path(SHARED, "objects"))
        rep = [o for o in objs if o["type"] == "report"][0]
        r = c.get(coll_path(SHARED, "objects", rep["id"]), expect=200)
        self.assertEqual(r.json["objects"], [rep])
        self.assertRegex(r.headers["X-TAXII-Date-Added-First"], TS)
        self.assertEqual(r.headers["X-TAXII-Date-Added-First"],
                         r.headers["X-TAXII-Date-Added-Last"])
        for v in ("first", "last", "all", rep["modified"]):
            r = c.get(coll_path(SHARED, "objects", rep["id"]),
                      query={"match[version]": v}, expect=200)
            self.assertEqual(r.json["objects"], [rep])
        r = c.get(coll_path(SHARED, "objects", rep["id"]),
                  query={"match[version]": "2000-01-01T00:00:00Z"},
                  expect=200)
        self.assertEqual(r.json, {})
        r = c.get(coll_path(SHARED, "objects", rep["id"]),
                  query={"match[spec_version]": "2.0"}, expect=200)
        self.assertEqual(r.json, {})
        r = c.get(coll_path(SHARED, "objects", rep["id"], "versions"),
                  expect=200)
        self.assertEqual(r.json["versions"], [rep["modified"]])
        self.assertFalse(r.json["more"])
        r = c.get(coll_path(SHARED, "objects", rep["id"], "versions"),
                  query={"added_after": "2999-01-01T00:00:00Z"}, expect=200)
        self.assertEqual(r.json, {})
        r = c.get(coll_path(SHARED, "objects", rep["id"], "versions"),
                  query={"limit": "x"})
        assert_taxii_error(self, r, 400)

    def test_shared_observable_has_one_entry_per_version(self):
        c = C["same_sig"]
        objs, _ = all_pages(self, c, coll_path(SHARED, "objects"),
                            query={"match[type]": "domain-name"})
        sco = [o for o in objs if o["value"] == "wave0-test.example"][0]
        r = c.get(coll_path(SHARED, "objects", sco["id"], "versions"),
                  query={"limit": 1}, expect=200)
        self.assertEqual(len(r.json["versions"]), 1)
        self.assertTrue(r.json["more"])
        r2 = c.get(coll_path(SHARED, "objects", sco["id"], "versions"),
                   query={"limit": 1, "next": r.json["next"]}, expect=200)
        self.assertFalse(r2.json["more"])
        self.assertLess(r.json["versions"][0], r2.json["versions"][0])
        r3 = C["other_sig"].get(coll_path(SHARED, "objects", sco["id"],
                                          "versions"),
                                query={"limit": 1, "next": r.json["next"]})
        assert_taxii_error(self, r3, 400)

    def test_object_out_of_scope_is_404(self):
        hub_objs, _ = all_pages(self, C["hub"], coll_path(SHARED, "objects"))
        sig = [o for o in hub_objs if o["type"] == "report" and
               o["name"] == "Energy SIG lure"][0]
        C["same_sig"].get(coll_path(SHARED, "objects", sig["id"]),
                          expect=200)
        for who in ("other_sig", "partner"):
            for tail in ((), ("versions",)):
                r = C[who].get(coll_path(SHARED, "objects", sig["id"],
                                         *tail))
                assert_taxii_error(self, r, 404)
        r = C["same_sig"].get(coll_path(SHARED, "objects", "report--%s" %
                                        uuid.uuid4()))
        assert_taxii_error(self, r, 404)
        r = C["same_sig"].get(coll_path(SHARED, "objects", "nonsense"))
        assert_taxii_error(self, r, 404)

    def versions(self, who, oid):
        r = C[who].get(coll_path(SHARED, "objects", oid, "versions"))
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, r)
        return r.json.get("versions", [])

    def walked(self, who, oid):
        """The versions of OID in the collection's walk, for READER."""
        objs, _ = all_pages(self, C[who], coll_path(SHARED, "objects"),
                            query={"match[id]": oid,
                                   "match[version]": "all"})
        return objs

    def test_lookup_follows_each_items_audience(self):
        # One observable in two items of different audiences, a second
        # apart (its version is the item's date): each reader gets the
        # versions of the items it may read, and exactly what the walk
        # of the collection gives it.
        value = "lookup-shared-test.example"
        sig_item = make_item("Lookup SIG", "sig", [value], "sig",
                             sigs=["energy"])
        time.sleep(1.1)
        make_item("Lookup community", "community",
                  [value, "lookup-other-test.example"], "community")
        hub_objs, _ = all_pages(self, C["hub"], coll_path(SHARED, "objects"),
                                query={"match[type]": "domain-name"})
        sco = [o for o in hub_objs if o["value"] == value][0]["id"]
        ind = [o for o in all_pages(self, C["hub"], coll_path(
            SHARED, "objects"), query={"match[type]": "indicator"})[0]
            if o["name"] == value]
        self.assertEqual(len(ind), 2)
        want = {"hub": 2, "same_sig": 2, "other_sig": 1, "partner": None}
        for who, n in want.items():
            v = self.versions(who, sco)
            self.assertEqual(None if v is None else len(v), n, who)
            if v is not None:
                r = C[who].get(coll_path(SHARED, "objects", sco),
                               query={"match[version]": "all"}, expect=200)
                # An observable has no version of its own: each version
                # (the date an item added it) is the same object, which
                # the walk lists once.
                self.assertEqual(len(r.json["objects"]), n)
                self.assertEqual(r.json["objects"][:1],
                                 self.walked(who, sco))
        later = self.versions("same_sig", sco)[1]
        self.assertEqual(self.versions("other_sig", sco), [later])
        # The indicator of the SIG item is that item's alone.
        sig_ind = [o for o in ind if o["valid_from"] < later][0]["id"]
        self.assertEqual(len(self.versions("same_sig", sig_ind)), 1)
        self.assertIsNone(self.versions("other_sig", sig_ind))

        # Withdrawn: its objects leave the collection for everyone.
        C["hub"].api("POST", "/api/v1/items/%d/withdraw" % sig_item,
                     expect=200)
        ITEMS.pop("Lookup SIG")
        for who in ("hub", "same_sig", "other_sig"):
            self.assertEqual(self.versions(who, sco), [later], who)
            self.assertIsNone(self.versions(who, sig_ind), who)

    def test_items_published_before_the_index(self):
        # A hub upgraded with items already published: their index rows
        # are missing until the server's backfill has been through them;
        # meanwhile a lookup walks, and afterwards it finds them again.
        iid = ITEMS["Community wave 3"][0]
        objs, _ = all_pages(self, C["same_sig"], coll_path(SHARED, "objects"),
                            query={"match[type]": "indicator,url"})
        ids = [o["id"] for o in objs if "wave3-test" in
               o.get("name", o.get("value", ""))]
        self.assertEqual(len(ids), 3)
        before = {oid: self.versions("same_sig", oid) for oid in ids}
        con = HUB.database.connect()
        try:
            # Still being backfilled (a range it cannot finish during the
            # test), and the item's rows gone: the walk answers.
            con.execute("UPDATE stix_index_state SET next_id = 1, "
                        "last_id = 1000000000000000")
            con.execute("DELETE FROM stix_object_item WHERE item_id = ?",
                        (iid,))
            con.commit()
            for oid in ids:
                self.assertEqual(self.versions("same_sig", oid),
                                 before[oid])
                self.assertIsNone(self.versions("partner", oid))
            # The backfill of that item only: once done, the index
            # answers, with its rows back.
            con.execute("UPDATE stix_index_state SET next_id = ?, "
                        "last_id = ?", (iid, iid))
            con.commit()
            deadline = time.monotonic() + 30
            while con.execute("SELECT next_id FROM stix_index_state"
                              ).fetchone()[0] <= iid:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.2)
            n = con.execute("SELECT COUNT(*) FROM stix_object_item WHERE "
                            "item_id = ?", (iid,)).fetchone()[0]
            self.assertGreaterEqual(n, len(ids))
        finally:
            con.close()
        for oid in ids:
            self.assertEqual(self.versions("same_sig", oid), before[oid])
            self.assertIsNone(self.versions("partner", oid))

    def test_identity_and_markings(self):
        # Every item carries the hub's identity and its TLP marking: one
        # version each, dated by the first item the reader may read.
        for who in ("hub", "same_sig", "other_sig", "partner"):
            man, _ = all_pages(self, C[who], coll_path(SHARED, "manifest"))
            for typ in ("identity", "marking-definition"):
                rec = [m for m in man if m["id"].startswith(typ + "--")]
                self.assertEqual(len(rec), 1, (who, typ))
                oid = rec[0]["id"]
                r = C[who].get(coll_path(SHARED, "objects", oid),
                               expect=200)
                self.assertEqual(r.json["objects"], self.walked(who, oid))
                self.assertEqual(r.headers["X-TAXII-Date-Added-First"],
                                 rec[0]["date_added"])
                self.assertEqual(r.headers["X-TAXII-Date-Added-Last"],
                                 rec[0]["date_added"])
                self.assertEqual(self.versions(who, oid),
                                 [rec[0]["version"]])
        # TLP:RED: no item carries it.
        self.assertIsNone(self.versions("hub", "marking-definition--"
                                        "e828b379-4e03-4974-9ac4-"
                                        "e53a884c97c1"))
        r = C["no_nda"].get(coll_path(SHARED, "objects", rec[0]["id"]))
        assert_taxii_error(self, r, 404)

    def test_delete_is_refused(self):
        c = C["same_sig"]
        objs, _ = all_pages(self, c, coll_path(SHARED, "objects"))
        oid = objs[0]["id"]
        # can_read, not can_write; can_write, not can_read: 403 (§5.7).
        for cid in (SHARED, SUBMIT):
            r = c.call("DELETE", coll_path(cid, "objects", oid))
            assert_taxii_error(self, r, 403)
        # Neither: 404.
        r = C["partner"].call("DELETE", coll_path(SUBMIT, "objects", oid))
        assert_taxii_error(self, r, 404)
        r = C["no_nda"].call("DELETE", coll_path(SHARED, "objects", oid))
        assert_taxii_error(self, r, 404)
        c.get(coll_path(SHARED, "objects", oid), expect=200)


# ---- 6. submissions and status -------------------------------------------------


class Test6Submissions(unittest.TestCase):
    def test_post_makes_a_report(self):
        prov = C["provider"]
        before = HUB.json("report", "list")
        old = {x["id"] for x in C["hub"].api(
            "GET", "/api/v1/reports?limit=1000", expect=200).json["reports"]}
        env = envelope(3, "posted-test.example")
        r = prov.post(coll_path(SUBMIT, "objects"), env, expect=202)
        st = r.json
        self.assertEqual(st["status"], "complete")
        self.assertEqual((st["total_count"], st["success_count"],
                          st["failure_count"], st["pending_count"]),
                         (3, 3, 0, 0))
        self.assertEqual({s["id"] for s in st["successes"]},
                         {o["id"] for o in env["objects"]})
        self.assertRegex(st["request_timestamp"], TS)
        # Readable by the organisation that posted, with or without the
        # final slash, by token or Basic.
        self.assertEqual(prov.get(ROOT + "status/%s/" % st["id"],
                                  expect=200).json, st)
        prov.get(ROOT + "status/%s" % st["id"], expect=200)
        Client(HUB, PROVIDER, basic=("kuser", PASSWORD)).get(
            ROOT + "status/%s/" % st["id"], expect=200)
        for who in ("hub", "same_sig", "partner"):
            r = C[who].get(ROOT + "status/%s/" % st["id"])
            assert_taxii_error(self, r, 404)
        r = prov.get(ROOT + "status/%s/" % uuid.uuid4())
        assert_taxii_error(self, r, 404)
        # One report, seen by the hub.
        after = HUB.json("report", "list")
        self.assertEqual(len(after), len(before) + 1)
        reps = C["hub"].api("GET", "/api/v1/reports?limit=1000",
                            expect=200).json["reports"]
        new = [x for x in reps if x["id"] not in old]
        self.assertEqual(new[0]["org"], PROVIDER)
        self.assertEqual(new[0]["kind"], "stix")
        self.assertEqual(len(new), 1)
        full = C["hub"].api("GET", "/api/v1/reports/%d" % new[0]["id"],
                            expect=200).json
        self.assertIn("0.posted-test.example",
                      {o["value"] for o in full["observations"]})
        # The same envelope again: not an error, not a second report.
        r = prov.post(coll_path(SUBMIT, "objects"), env, expect=202)
        self.assertEqual(r.json["success_count"], 3)
        self.assertEqual(len(HUB.json("report", "list")), len(after))

    def test_post_by_a_participant_without_nda_and_basic(self):
        c = Client(HUB, "fuji-nonda", basic=("fuser", PASSWORD))
        c.post(coll_path(SUBMIT, "objects"), envelope(1, "fuji-test.example"),
               expect=202)

    def test_post_refused(self):
        env = envelope(1)
        r = C["same_sig"].post(coll_path(SHARED, "objects"), env)
        assert_taxii_error(self, r, 403)
        r = C["partner"].post(coll_path(SUBMIT, "objects"), env)
        assert_taxii_error(self, r, 404)
        r = C["same_sig_ro"].post(coll_path(SUBMIT, "objects"), env)
        assert_taxii_error(self, r, 403)
        r = C["same_sig"].get(coll_path(SUBMIT, "objects"))
        assert_taxii_error(self, r, 403)
        r = C["same_sig"].get(coll_path(SUBMIT, "manifest"))
        assert_taxii_error(self, r, 403)

    def test_post_errors(self):
        c, path = C["provider"], coll_path(SUBMIT, "objects")
        n = len(HUB.json("report", "list"))
        for ct in ("application/json", "application/taxii+json;version=2.0",
                   STIX, None):
            r = c.post(path, envelope(1), ctype=ct)
            assert_taxii_error(self, r, 415)
        r = c.post(path, envelope(1), accept="application/json")
        assert_taxii_error(self, r, 406)
        r = c.post(path, b"{not json")
        assert_taxii_error(self, r, 400)
        big = envelope(1)
        big["objects"][0]["description"] = "x" * (1 << 20)
        for chunked in (False, True):
            r = raw_request(HUB, "POST", path, json.dumps(big).encode(), {
                "Content-Type": TAXII, "Accept": TAXII,
                "Authorization": "Bearer " + c.token}, chunked=chunked)
            assert_taxii_error(self, r, 413)
            API.check("POST", path, r.status, r.ctype, r.json)
        # Just under the advertised max_content_length: not 413 (§4.2.1).
        root = c.get(ROOT, expect=200).json
        small = envelope(1, "size-test.example")
        pad = root["max_content_length"] - len(json.dumps(small)) - 40
        small["objects"][0]["description"] = "y" * pad
        body = json.dumps(small).encode()
        self.assertLessEqual(len(body), root["max_content_length"])
        r = c.post(path, body, expect=202)
        n += 1
        for body in ([], {}, {"objects": []}, {"objects": "x"},
                     {"objects": [{"type": "indicator"}]},
                     {"objects": envelope(1)["objects"], "colour": 1},
                     {"objects": [dict(envelope(1)["objects"][0],
                                       pattern="[nonsense")]}):
            r = c.post(path, body)
            assert_taxii_error(self, r, 422)
        self.assertEqual(len(HUB.json("report", "list")), n)


# ---- 7. authentication and the errors of every endpoint -------------------------


class Test7Auth(unittest.TestCase):
    def test_401(self):
        paths = ["/taxii2/", ROOT, ROOT + "collections/",
                 coll_path(SHARED), coll_path(SHARED, "objects"),
                 coll_path(SHARED, "manifest"),
                 ROOT + "status/%s/" % uuid.uuid4()]
        bad = [Client(HUB, "anonymous", recipient=True),
               Client(HUB, "wrong", token="csip_" + "A" * 43,
                      recipient=True),
               Client(HUB, "wrong", basic=("tuser", "not the password"),
                      recipient=True),
               Client(HUB, "wrong", basic=("nobody", PASSWORD),
                      recipient=True)]
        for c in bad:
            for p in paths:
                r = c.get(p)
                assert_taxii_error(self, r, 401)
                chall = r.headers.get_all("WWW-Authenticate")
                self.assertTrue(any(x.startswith("Basic realm=")
                                    for x in chall), chall)
                self.assertTrue(any(x.startswith("Bearer realm=")
                                    for x in chall), chall)
        r = Client(HUB, "x").get("/taxii2/", headers={
            "Authorization": "Basic !!!"})
        assert_taxii_error(self, r, 401)
        HUB.ok("user", "disable", "fuser")
        r = Client(HUB, "fuji-nonda", basic=("fuser", PASSWORD)).get(
            "/taxii2/")
        assert_taxii_error(self, r, 401)

    def test_406_and_404_and_405(self):
        c = C["same_sig"]
        for accept in (None, "application/json", "*/*",
                       "application/taxii+json;version=2.0"):
            for p in ("/taxii2/", ROOT, ROOT + "collections/",
                      coll_path(SHARED, "objects")):
                r = c.get(p, accept=accept)
                assert_taxii_error(self, r, 406)
        r = c.get("/taxii2/nothing/")
        assert_taxii_error(self, r, 404)
        r = c.get("/taxii2")
        self.assertEqual(r.status, 404)
        r = c.call("PUT", ROOT)
        assert_taxii_error(self, r, 405)

    def test_rest_api_unchanged(self):
        # Basic is for TAXII only; the REST API keeps its errors.
        c = Client(HUB, "x", basic=("tuser", PASSWORD))
        r = c.api("GET", "/api/v1/me")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.ctype, "application/json")
        self.assertIn("error", r.json)
        self.assertEqual(r.headers.get_all("WWW-Authenticate"),
                         ['Bearer realm="csip"'])


class Test8SignInBrake(unittest.TestCase):
    """Failed Basic sign-ins are braked per address and per user name;
    a remembered success never outlives the user's right to sign in."""

    def hub(self, users, extra=""):
        """A hub braking after three failures, with USERS of brake-org
        (password PASSWORD), not started yet."""
        h = Hub("rate_limit = 0\nauth_failures = 3\n" + extra)
        self.addCleanup(h.cleanup)
        h.ok("init")
        h.ok("org", "add", "brake-org")
        for u in users:
            h.ok("user", "add", u, "--org", "brake-org", "--role",
                 "member", "--password-stdin", stdin=PASSWORD + "\n")
        return h

    def test_brake(self):
        h = self.hub(("ann", "ben"))
        tok = h.token("ben")
        h.start()
        ann = Client(h, "brake-org", basic=("ann", PASSWORD))
        for _ in range(3):
            self.assertEqual(ann.get("/taxii2/").status, 200)
        # Remembered or not, a disabled user is refused at once.
        h.ok("user", "disable", "ann")
        assert_taxii_error(self, ann.get("/taxii2/"), 401)  # failure 1
        wrong = Client(h, "brake-org", basic=("ben", "not the password"))
        for _ in range(2):                                  # 2 and 3
            assert_taxii_error(self, wrong.get("/taxii2/"), 401)
        r = wrong.get("/taxii2/")
        assert_taxii_error(self, r, 429)
        self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
        self.assertLessEqual(int(r.headers["Retry-After"]), 21)
        # The right password too: the address is braked, and so is the
        # name; no password hash is computed for either.
        r = Client(h, "brake-org", basic=("ben", PASSWORD)).get("/taxii2/")
        assert_taxii_error(self, r, 429)
        r = Client(h, "brake-org", basic=("zed", "x" * 12)).get("/taxii2/")
        assert_taxii_error(self, r, 429)
        # A token is not a password: it still works from that address.
        r = Client(h, "brake-org", token=tok).get("/taxii2/")
        self.assertEqual(r.status, 200, r)

    def test_known_address(self):
        """Failures under a user's name from elsewhere do not lock the
        user out where it signed in before; guessing from there is still
        braked by that address."""
        h = self.hub(("dee",))
        h.start()

        def basic(src, password):
            # Loopback takes any 127/8 source: three "machines".
            conn = http.client.HTTPConnection(
                "127.0.0.1", h.port, timeout=120, source_address=(src, 0))
            cred = base64.b64encode(("dee:" + password).encode()).decode()
            try:
                conn.request("GET", "/taxii2/", headers={
                    "Accept": TAXII, "Authorization": "Basic " + cred})
                return conn.getresponse().status
            finally:
                conn.close()

        self.assertEqual(basic("127.0.0.1", PASSWORD), 200)
        self.assertEqual([basic("127.0.0.2", "guess") for _ in range(4)],
                         [401, 401, 401, 429])
        # The name is braked for an address it never signed in from...
        self.assertEqual(basic("127.0.0.3", PASSWORD), 429)
        # ...but not for the one it did, which has its own brake.
        self.assertEqual(basic("127.0.0.1", PASSWORD), 200)
        self.assertEqual([basic("127.0.0.1", "guess") for _ in range(4)],
                         [401, 401, 401, 429])
        self.assertEqual(basic("127.0.0.1", PASSWORD), 429)

    def test_brake_parallel(self):
        """Tries running side by side each take their share first: twelve
        wrong passwords at once get three 401s and nine 429s, not one
        password hash each."""
        h = self.hub(("cal",), "threads = 8\n")
        h.start()
        wrong = Client(h, "brake-org", basic=("cal", "not the password"))
        got = []
        lock = threading.Lock()

        def one():
            r = wrong.get("/taxii2/")
            with lock:
                got.append(r.status)
        ts = [threading.Thread(target=one) for _ in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(sorted(got), [401] * 3 + [429] * 9)


# ---- 9. polling with added_after ---------------------------------------------


class Test9Polling(unittest.TestCase):
    def test_poll_gets_what_was_published_in_the_same_second(self):
        # A client polls with the X-TAXII-Date-Added-Last it was given;
        # an item published after the poll in the same second must come
        # with the next poll.  Start early in a second so that both
        # items and the poll between them fall in it.
        c, path = C["same_sig"], coll_path(SHARED, "objects")
        while time.time() % 1 > 0.2:
            time.sleep(0.01)
        make_item("Poll first", "community", ["poll1-test.example"],
                  "community")
        r = c.get(path, expect=200)
        last = r.headers["X-TAXII-Date-Added-Last"]
        self.assertIn("Poll first", report_names(r.json["objects"]))
        make_item("Poll second", "community", ["poll2-test.example"],
                  "community")
        objs, _ = all_pages(self, c, path, query={"added_after": last})
        self.assertEqual(report_names(objs), {"Poll second"})
        man, _ = all_pages(self, c, coll_path(SHARED, "manifest"),
                           query={"added_after": last})
        self.assertTrue(man)
        self.assertTrue(all(m["date_added"] > last for m in man))
        # Dated to the microsecond, not to a whole second.
        self.assertNotRegex(last, r"\.000000Z$")


# ---- the end: what recipients got ---------------------------------------------


class TestZEnd(unittest.TestCase):
    def test_every_taxii_operation_exercised(self):
        if len(sys.argv) > 1:
            self.skipTest("only some tests were asked for")
        mine = {(m.upper(), p) for p, item in API.doc["paths"].items()
                for m, op in item.items()
                if isinstance(op, dict) and "taxii" in op.get("tags", [])}
        self.assertTrue(mine)
        self.assertEqual(sorted(mine - EXERCISED), [],
                         "TAXII operations never exercised")

    def test_no_provider_in_recipient_responses(self):
        self.assertGreater(len(RECIPIENT_BODIES), 50)
        for org, method, path, body in RECIPIENT_BODIES:
            low = body.decode("utf-8", "replace").lower()
            for secret in SECRETS:
                self.assertNotIn(secret.lower(), low, "%s got %s in %s %s"
                                 % (org, secret, method, path))


def main():
    global CSIP
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    mod = sys.modules[__name__]
    for name in sorted(n for n in dir(mod) if n.startswith("Test")):
        suite.addTests(loader.loadTestsFromTestCase(getattr(mod, name)))
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(
            t for t in _flatten(suite)
            if any(a in t.id() for a in sys.argv[1:]) or "ZEnd" in t.id())
    start_shared()
    try:
        res = unittest.TextTestRunner(verbosity=2).run(suite)
    finally:
        HUB.cleanup()
    sys.exit(0 if res.wasSuccessful() else 1)


def _flatten(s):
    for t in s:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


if __name__ == "__main__":
    main()
