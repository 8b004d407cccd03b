#!/usr/bin/env python3
"""The MISP feed over real HTTP (issue #6).

Runs `csip serve` on 127.0.0.1 against a fresh database in a temporary
folder, publishes items of several audiences, and pulls the feed the way a
MISP instance does: manifest.json, every event file it lists, hashes.csv.
Checks that every event is valid against MISP's core-format JSON schema and
uses (type, category) pairs of MISP's describeTypes table, that manifest,
events and hashes agree, that the UUIDs are RFC 4122 UUIDv5 computed from
the hub's key, that a reader who may not see an item gets no manifest
entry, no hashes and a 404 for its event (the same 404 as an unknown
UUID), that nothing a recipient gets names the provider, and that every
response matches the server's OpenAPI document.

Usage: test_misp.py PATH-TO-CSIP
"""
import hashlib
import json
import os
import sys
import unittest
import urllib.error
import urllib.request
import uuid

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None
HERE = os.path.dirname(os.path.abspath(__file__))
# MISP's schema and type table live beside the source tree.
MISPDATA = os.path.join(HERE, "..", "..", "..", "shared", "testdata", "misp")

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

PROVIDER = "kanto-elec"
PROVIDER_DISPLAY = "Kanto Elec Display Name"
PROVIDER_DOMAIN = "kanto-power-test.jp"
SECRETS = [PROVIDER, PROVIDER_DISPLAY, PROVIDER_DOMAIN, "10.9."]

UNKNOWN = "5a0c6f2e-0000-5000-8000-000000000000"


def load_misp(name):
    path = os.path.join(MISPDATA, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Hub(testhub.Hub):
    """testhub.Hub with the rate limit off."""

    def __init__(self):
        super().__init__("rate_limit = 0\n", prefix="csip-misp-")


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        self.ctype = ctype
        self.json = json.loads(body.decode("utf-8")) \
            if ctype == "application/json" else None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class OpenApi:
    """The served document, for the responses of the feed's routes."""

    def __init__(self, doc):
        self.doc = doc

    def check(self, template, status, resp):
        op = self.doc["paths"][template]["get"]
        spec = op["responses"].get(str(status))
        assert spec is not None, "%s: no %d response in the OpenAPI " \
            "document" % (template, status)
        while "$ref" in spec:
            node = self.doc
            for part in spec["$ref"][2:].split("/"):
                node = node[part]
            spec = node
        content = spec["content"]
        assert resp.ctype in content, "%s -> %d: Content-Type %s is not " \
            "among %s" % (template, status, resp.ctype, list(content))
        schema = content[resp.ctype].get("schema")
        if resp.ctype == "application/json" and schema is not None:
            root = {"allOf": [schema], "components": self.doc["components"]}
            jsonschema.Draft202012Validator(root).validate(resp.json)


HUB = None
API = None
TOKENS = {}
ITEMS = {}          # name -> item id
ALL_BODIES = []     # (reader, path, body) of every answer


def get(reader, path, expect=None, template=None):
    headers = {}
    if reader is not None:
        headers["Authorization"] = "Bearer " + TOKENS[reader]
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (HUB.port, path),
                                 headers=headers)
    try:
        with OPENER.open(req, timeout=60) as r:
            resp = Resp(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        resp = Resp(e.code, e.headers, e.read())
    ALL_BODIES.append((reader, path, resp.body))
    if expect is not None and resp.status != expect:
        raise AssertionError("GET %s as %s: expected %d, got %d: %s" % (
            path, reader, expect, resp.status, resp.body[:500]))
    if template is None:
        if path.endswith("/manifest.json"):
            template = "/api/v1/misp/manifest.json"
        elif path.endswith("/hashes.csv"):
            template = "/api/v1/misp/hashes.csv"
        else:
            template = "/api/v1/misp/{key}.json"
    API.check(template, resp.status, resp)
    return resp


def post(reader, path, body, expect):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (HUB.port, path),
        data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + TOKENS[reader],
                 "Content-Type": "application/json"})
    try:
        with OPENER.open(req, timeout=60) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if status != expect:
        raise AssertionError("POST %s: expected %d, got %d: %s" % (
            path, expect, status, raw[:500]))
    return json.loads(raw.decode("utf-8"))


# Every kind of indicator, with the roles that change the MISP type.
INDICATORS = [
    {"type": "ipv4", "value": "198.51.100.7", "role": "sender"},
    {"type": "ipv4", "value": "203.0.113.9", "role": "c2"},
    {"type": "ipv6", "value": "2001:db8:99::1", "role": "relay"},
    {"type": "cidr4", "value": "192.0.2.0/24"},
    {"type": "cidr6", "value": "2001:db8:77::/48"},
    {"type": "domain", "value": "evil-cdn-test.example", "role": "link"},
    {"type": "hostname", "value": "www.evil-cdn-test.example"},
    {"type": "url", "value": "http://evil-cdn-test.example/login",
     "role": "link"},
    {"type": "url", "value": "https://drop-test.example/x"},
    {"type": "email", "value": "attacker@evil-mail-test.example",
     "role": "sender"},
    {"type": "email", "value": "drop@evil-mail-test.example"},
    {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e",
     "role": "attachment"},
    {"type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"type": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
     "649b934ca495991b7852b855"},
    {"type": "sha512", "value": "cf83e1357eefb8bdf1542850d66d8007d620e4050b"
     "5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd4741"
     "7a81a538327af927da3e"},
    {"type": "ssdeep", "value": "96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3"
     "TzS8QsO/wqWXLc:sThW5oJkB0tYO"},
    {"type": "filename", "value": "invoice.pdf.exe", "role": "attachment"},
    {"type": "asn", "value": "AS64496"},
    {"type": "mutex", "value": "Global\\EvilLoaderMutex"},
    {"type": "regkey", "value": "HKEY_CURRENT_USER\\Software\\Microsoft\\"
     "Windows\\CurrentVersion\\Run\\evilloader"},
    {"type": "user-agent", "value": "Mozilla/4.0 (compatible; EvilBot 1.0)"},
    {"type": "email-subject", "value": "Invoice overdue",
     "role": "subject"},
    {"type": "x-mailer", "value": "EvilMailer 2.1", "role": "mailer"},
]

# name -> (audience, sigs, tlp, severity, publish)
SPECS = {
    "energy": ("sig", ["energy"], "amber", "high", True),
    "community": ("community", None, "green", "medium", True),
    "partners": ("partners", None, "amber+strict", None, True),
    "public": ("public", None, "clear", "low", True),
    "draft": ("public", None, "clear", None, False),
}

# reader -> items it may see
SEES = {
    "hub": {"energy", "community", "partners", "public"},
    "provider": {"energy", "community", "partners", "public"},
    "same_sig": {"energy", "community", "partners", "public"},
    "other_sig": {"community", "partners", "public"},
    "no_nda": set(),
    "partner": {"partners", "public"},
}
RECIPIENTS = ("same_sig", "other_sig", "no_nda", "partner")


def setUpModule():
    global HUB, API
    HUB = Hub()
    h = HUB
    h.ok("init")
    h.ok("sig", "add", "energy")
    h.ok("sig", "add", "gas")
    h.ok("org", "add", "hubctr", "--role", "hub", "--display",
          "Hub Center", "--nda", "2024-04-01", "--domain", "hub-test.jp")
    h.ok("org", "add", PROVIDER, "--display", PROVIDER_DISPLAY, "--sig",
          "energy", "--nda", "2024-04-01", "--domain", PROVIDER_DOMAIN,
          "--network", "10.9.0.0/16")
    h.ok("org", "add", "tohoku-den", "--sig", "energy", "--nda",
          "2024-05-01", "--domain", "tohoku-den-test.jp")
    h.ok("org", "add", "nihon-gasu", "--sig", "gas", "--nda", "2024-06-01",
          "--domain", "nihon-gasu-test.jp")
    h.ok("org", "add", "fuji-nonda", "--sig", "energy", "--domain",
          "fuji-nonda-test.jp")
    h.ok("org", "add", "natcert", "--role", "partner", "--nda",
          "2024-04-01", "--domain", "natcert-test.jp")
    for user, org, role, reader in [
            ("analyst", "hubctr", "analyst", "hub"),
            ("kuser", PROVIDER, "member", "provider"),
            ("tuser", "tohoku-den", "member", "same_sig"),
            ("nuser", "nihon-gasu", "member", "other_sig"),
            ("fuser", "fuji-nonda", "member", "no_nda"),
            ("puser", "natcert", "member", "partner")]:
        h.ok("user", "add", user, "--org", org, "--role", role)
        TOKENS[reader] = h.token(user)
    h.start()
    with OPENER.open("http://127.0.0.1:%d/api/v1/openapi.json" % h.port,
                     timeout=30) as r:
        API = OpenApi(json.loads(r.read().decode("utf-8")))

    for name, (audience, sigs, tlp, severity, publish) in SPECS.items():
        permission = "sig" if audience == "sig" else audience
        # Attribution 'community' lets the views name the provider: the
        # feed must not, all the same.
        rep = post("provider", "/api/v1/reports", {
            # One value of its own per report, or intake would take the
            # second for a duplicate of the first.
            "indicators": [dict(i) for i in INDICATORS] + [
                "wave-%s-test.example" % name],
            "permission": permission, "attribution": "community",
            "tlp": tlp}, 201)["id"]
        spec = {"title": "Fake invoices (%s)" % name,
                "analysis": "The link of the mail serves a loader.",
                "tlp": tlp, "audience": audience, "reports": [rep],
                "indicators": INDICATORS, "tags": ["phishing"],
                "attack_type": "targeted-mail"}
        if sigs:
            spec["sigs"] = sigs
        if severity:
            spec["severity"] = severity
        iid = post("hub", "/api/v1/items", spec, 201)["id"]
        if publish:
            post("hub", "/api/v1/items/%d/submit" % iid, {}, 200)
            post("provider", "/api/v1/items/%d/approval" % iid,
                 {"decision": "approve"}, 200)
            post("hub", "/api/v1/items/%d/publish" % iid, {}, 200)
        ITEMS[name] = iid


def tearDownModule():
    if HUB is not None:
        HUB.cleanup()


def event_uuid(item_id):
    """The UUID the hub must give item ITEM_ID, computed independently:
    version 8, the first 8 bytes a BLAKE2b MAC of "item:ID" keyed with the
    namespace (itself keyed from the hub's key), the last 8 the id."""
    ns = hashlib.blake2b(b"csip-uuid-namespace", key=HUB.key(),
                         digest_size=16).digest()
    mac = hashlib.blake2b(b"item:%d" % item_id, key=ns,
                          digest_size=16).digest()
    b = bytearray(mac[:8] + item_id.to_bytes(8, "big"))
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


def hash_lines(body):
    text = body.decode("utf-8")
    lines = text.split("\n")
    assert text == "" or text.endswith("\n"), text[-100:]
    return [ln for ln in lines if ln]


class TestMispFeed(unittest.TestCase):
    def test_uuids(self):
        m = get("hub", "/api/v1/misp/manifest.json", expect=200).json
        want = {event_uuid(ITEMS[n]) for n in SEES["hub"]}
        self.assertEqual(set(m), want)
        for u in m:
            self.assertEqual(uuid.UUID(u).version, 8)
            self.assertEqual(uuid.UUID(u).variant, uuid.RFC_4122)
        # The same on every pull.
        again = get("hub", "/api/v1/misp/manifest.json", expect=200)
        self.assertEqual(again.json, m)

    def test_feed_is_valid_and_agrees(self):
        schema = load_misp("misp-core-format.schema.json")
        types = load_misp("describeTypes.json")
        if schema is None or types is None:
            self.skipTest("MISP's schema and describeTypes.json are not in "
                          "../shared/testdata/misp beside the source tree")
        validator = jsonschema.Draft4Validator(schema)
        mapping = types["result"]["category_type_mappings"]
        for reader in SEES:
            m = get(reader, "/api/v1/misp/manifest.json", expect=200).json
            hashes = hash_lines(get(reader, "/api/v1/misp/hashes.csv",
                                    expect=200).body)
            want_hashes = []
            for u, entry in m.items():
                for f in ("info", "Orgc", "Tag", "date", "analysis",
                          "threat_level_id", "timestamp"):
                    self.assertIn(f, entry, (reader, u))
                self.assertEqual(entry["Orgc"]["name"], "Hub Center")
                self.assertRegex(entry["date"], r"^\d{4}-\d\d-\d\d$")
                self.assertRegex(entry["timestamp"], r"^\d+$")
                r = get(reader, "/api/v1/misp/%s.json" % u, expect=200)
                errors = sorted(validator.iter_errors(r.json),
                                key=lambda e: list(e.path))
                self.assertEqual(errors, [], "%s: %s" % (
                    u, errors[0].message if errors else ""))
                ev = r.json["Event"]
                self.assertEqual(ev["uuid"], u)
                self.assertIs(ev["published"], True)
                self.assertEqual(ev["publish_timestamp"], ev["timestamp"])
                self.assertIn(ev["distribution"], ("0", "1", "2", "3"))
                for k, v in entry.items():
                    self.assertEqual(ev[k], v, (u, k))
                self.assertEqual(int(ev["attribute_count"]),
                                 len(ev["Attribute"]))
                self.assertEqual(len(ev["Attribute"]), len(INDICATORS) + 1)
                for a in ev["Attribute"]:
                    self.assertIn(a["type"], mapping[a["category"]],
                                  "MISP does not allow type %s in "
                                  "category %s" % (a["type"],
                                                   a["category"]))
                    self.assertEqual(uuid.UUID(a["uuid"]).version, 5)
                    want_hashes.append("%s,%s" % (hashlib.md5(
                        a["value"].encode("utf-8")).hexdigest(), u))
            self.assertEqual(sorted(hashes), sorted(want_hashes), reader)
            for ln in hashes:
                self.assertRegex(ln, r"^[0-9a-f]{32},[0-9a-f-]{36}$")

    def test_mapping(self):
        ev = get("same_sig", "/api/v1/misp/%s.json" %
                 event_uuid(ITEMS["public"]), expect=200).json["Event"]
        by_value = {a["value"]: a for a in ev["Attribute"]}
        for value, type_, category, to_ids in [
                ("198.51.100.7", "ip-src", "Network activity", True),
                ("203.0.113.9", "ip-dst", "Network activity", True),
                ("attacker@evil-mail-test.example", "email-src",
                 "Payload delivery", True),
                ("http://evil-cdn-test.example/login", "url",
                 "Payload delivery", True),
                ("64496", "AS", "Network activity", False),
                ("EvilMailer 2.1", "email-x-mailer", "Payload delivery",
                 False)]:
            a = by_value[value]
            self.assertEqual((a["type"], a["category"], a["to_ids"]),
                             (type_, category, to_ids), value)
        self.assertEqual(by_value["198.51.100.7"]["comment"], "sender")
        self.assertEqual(ev["Tag"][0], {"name": "tlp:clear",
                                        "colour": "#ffffff"})
        self.assertEqual(ev["distribution"], "3")
        self.assertEqual(ev["threat_level_id"], "3")
        strict = get("partner", "/api/v1/misp/%s.json" %
                     event_uuid(ITEMS["partners"]), expect=200).json
        self.assertEqual(strict["Event"]["Tag"][0]["name"],
                         "tlp:amber+strict")
        self.assertEqual(strict["Event"]["distribution"], "0")

    def test_policy(self):
        unknown = get("hub", "/api/v1/misp/%s.json" % UNKNOWN, expect=404)
        for reader, sees in SEES.items():
            m = get(reader, "/api/v1/misp/manifest.json", expect=200).json
            hashes = get(reader, "/api/v1/misp/hashes.csv",
                         expect=200).body.decode()
            self.assertEqual(set(m), {event_uuid(ITEMS[n]) for n in sees},
                             reader)
            for name, iid in ITEMS.items():
                u = event_uuid(iid)
                r = get(reader, "/api/v1/misp/%s.json" % u)
                if name in sees:
                    self.assertEqual(r.status, 200, (reader, name, r))
                    self.assertIn(u, hashes)
                    continue
                # Answered exactly as a UUID that names nothing.
                self.assertEqual(r.status, 404, (reader, name, r))
                self.assertEqual(set(r.json), {"error"})
                self.assertEqual(r.json["error"]["code"], "not_found")
                self.assertEqual(r.json["error"]["message"],
                                 unknown.json["error"]["message"].replace(
                                     UNKNOWN, u))
                self.assertNotIn(u, m)
                self.assertNotIn(u, hashes)

    def test_bad_requests(self):
        for reader in ("hub", "partner"):
            for key in ("nosuch", "manifest-x", UNKNOWN.upper()):
                r = get(reader, "/api/v1/misp/%s.json" % key, expect=404)
                self.assertEqual(r.json["error"]["code"], "not_found")
        for path, tmpl in [("/api/v1/misp/manifest.json", None),
                           ("/api/v1/misp/hashes.csv", None),
                           ("/api/v1/misp/%s.json" % UNKNOWN, None)]:
            r = get(None, path, expect=401, template=tmpl)
            self.assertEqual(r.json["error"]["code"], "unauthorized")
        # A UUID in capitals names the same event.
        u = event_uuid(ITEMS["public"])
        a = get("partner", "/api/v1/misp/%s.json" % u, expect=200).json
        b = get("partner", "/api/v1/misp/%s.json" % u.upper(),
                expect=200).json
        self.assertEqual(a, b)

    def test_zz_no_provider_anywhere(self):
        # After the others: every answer any recipient got.
        seen = 0
        for reader, path, body in ALL_BODIES:
            if reader not in RECIPIENTS:
                continue
            seen += 1
            low = body.decode("utf-8", "replace").lower()
            for s in SECRETS:
                self.assertNotIn(s.lower(), low, "%s got %s in %s" % (
                    reader, s, path))
        self.assertGreater(seen, 10)


def main():
    global CSIP
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
