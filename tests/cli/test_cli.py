#!/usr/bin/env python3
"""Integration tests of the `csip` command line.

Each test drives the real binary against a real database: SQLite in a fresh
temporary folder, or a fresh PostgreSQL database under scripts/pg-test.  Bad input must give a clear message on stderr, a
non-zero exit (1 failure, 2 usage), and leave the database exactly as it
was: every such case compares a full dump of the database before and after.

Usage: test_cli.py PATH-TO-CSIP
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402
import testhub  # noqa: E402

CSIP = None


class Hub(testhub.Hub):
    """A throwaway data folder and configuration file."""

    def __init__(self):
        super().__init__(prefix="csip-cli-")
        self.db = self.database.url or os.path.join(self.data, "csip.db")

    def run(self, *args, stdin=None, env=None, config=True):
        """csip ARGS; ENV adds to the environment, CONFIG=False leaves
        --config out."""
        argv = [CSIP]
        if config:
            argv += ["--config", self.conf]
        e = self.env()
        if env:
            e.update(env)
        return subprocess.run(argv + list(args), input=stdin,
                              capture_output=True, text=True, env=e,
                              cwd=self.dir, timeout=120)

    def dump(self):
        return self.database.dump()


class CliTest(unittest.TestCase):
    def setUp(self):
        self.hub = Hub()

    def tearDown(self):
        self.hub.cleanup()

    def seeded(self):
        self.hub.ok("init")
        self.hub.ok("sig", "add", "energy", "--name", "Electric power")
        self.hub.ok("sig", "add", "gas")
        self.hub.ok("org", "add", "acme", "--sig", "energy", "--nda",
                    "2024-04-01", "--domain", "acme.example",
                    "--network", "10.1.0.0/16")
        self.hub.ok("user", "add", "alice", "--org", "acme")

    def assert_fails_cleanly(self, args, code, needle, stdin=None):
        """ARGS fails with CODE, NEEDLE in stderr, the database intact."""
        before = self.hub.dump()
        p = self.hub.run(*args, stdin=stdin)
        self.assertEqual(p.returncode, code,
                         "%s: %s %s" % (args, p.stdout, p.stderr))
        self.assertIn(needle, p.stderr, args)
        self.assertEqual(p.stdout, "", args)
        self.assertEqual(self.hub.dump(), before,
                         "database changed by failing %s" % (args,))


class TestGeneral(CliTest):
    def test_version_and_help(self):
        p = self.hub.run("--version", config=False)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^csip \d+\.\d+\.\d+")
        p = self.hub.run("--help", config=False)
        self.assertEqual(p.returncode, 0)
        for cmd in ("init", "demo", "sig add", "org update", "user disable",
                    "token revoke", "audit verify", "indicator"):
            self.assertIn(cmd, p.stdout)

    def test_readme_lists_every_command(self):
        """The README's command list is `csip --help`'s, line for line."""
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "..", "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        out = self.hub.ok("--help", config=False).stdout
        block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        self.assertTrue(block in text, "README.md's command list is "
                        "stale: paste the Commands block of `csip --help`")

    def test_every_command_has_help(self):
        cmds = [["init"], ["demo"], ["config"], ["indicator"],
                ["sig", "add"], ["sig", "list"], ["sig", "show"],
                ["org", "add"], ["org", "list"], ["org", "show"],
                ["org", "update"], ["user", "add"], ["user", "list"],
                ["user", "disable"], ["token", "create"],
                ["token", "list"], ["token", "revoke"],
                ["audit", "verify"], ["audit", "list"], ["parse"],
                ["ingest"], ["match"], ["report", "list"],
                ["report", "show"]]
        for c in cmds:
            p = self.hub.run(*c, "--help", config=False)
            self.assertEqual(p.returncode, 0, c)
            self.assertIn("csip " + " ".join(c), p.stdout)
            self.assertIn("--config", p.stdout)
        for g in ("sig", "org", "user", "token", "audit", "report"):
            p = self.hub.run(g, "--help", config=False)
            self.assertEqual(p.returncode, 0)
            self.assertIn("Subcommands", p.stdout)

    def test_usage_errors(self):
        for args, needle in [
                (["frobnicate"], "unknown command"),
                (["org", "frob"], "no subcommand"),
                (["org"], "Subcommands"),
                (["--bogus"], "unknown option"),
                (["org", "add"], "missing the organisation name"),
                (["org", "add", "a", "b"], 'unexpected argument "b"'),
                (["org", "list", "--no-such-flag"], "no-such-flag"),
                (["user", "add", "bob"], "--org ORG is required"),
                (["token", "revoke", "abc"], "not a number"),
                (["audit", "list", "--limit", "x"], "--limit"),
        ]:
            p = self.hub.run(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(needle, p.stderr, args)
        self.assertFalse(os.path.exists(self.hub.data),
                         "a usage error created the data folder")

    def test_needs_init(self):
        p = self.hub.run("org", "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn("csip init", p.stderr)
        if testdb.backend() == "sqlite":
            self.assertIn(self.hub.db, p.stderr)
        self.assertFalse(self.hub.database.exists())

    def test_init(self):
        p = self.hub.ok("init")
        self.assertIn("initialised", p.stdout)
        self.assertTrue(self.hub.database.exists())
        key = os.path.join(self.hub.data, "secret.key")
        self.assertEqual(os.path.getsize(key), 32)
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        p = self.hub.ok("init")
        self.assertIn("up to date", p.stdout)
        if testdb.backend() == "sqlite":
            con = self.hub.database.connect()
            self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0],
                             "wal")
            con.close()

    def test_defaults_without_config(self):
        # No file at all: ./csip-data in the working directory.
        p = self.hub.run("init", config=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(
            os.path.join(self.hub.dir, "csip-data", "csip.db")))

    def test_config_env_and_errors(self):
        p = self.hub.run("init", config=False,
                         env={"CSIP_CONFIG": self.hub.conf})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.hub.database.exists())
        p = self.hub.ok("config")
        self.assertIn("dir = " + self.hub.data, p.stdout)
        bad = os.path.join(self.hub.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("[data]\ndirr = x\n")
        p = self.hub.run("--config", bad, "org", "list", config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(bad, p.stderr)
        self.assertIn("[data] dirr", p.stderr)
        p = self.hub.run("org", "list", "--config", "/nonexistent.conf",
                         config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent.conf", p.stderr)

    def test_demo(self):
        p = self.hub.ok("demo")
        self.assertIn("Seeded a demo hub", p.stdout)
        self.assertRegex(p.stdout, r"analyst \(hub analyst\): +csip_\S{43}")
        orgs = self.hub.json("org", "list")
        names = {o["name"] for o in orgs}
        self.assertIn("kanto-power", names)
        self.assertIn("national-cert", names)
        # Again: the data is kept, a fresh token is printed.
        d = self.hub.json("demo")
        self.assertFalse(d["seeded"])
        self.assertTrue(d["tokens"]["analyst"].startswith("csip_"))
        self.assertEqual(len(self.hub.json("org", "list")), len(orgs))
        self.hub.ok("audit", "verify")


class TestSigOrg(CliTest):
    def test_sig(self):
        self.seeded()
        sigs = self.hub.json("sig", "list")
        self.assertEqual([s["code"] for s in sigs], ["energy", "gas"])
        self.assertEqual(sigs[0]["members"], 1)
        s = self.hub.json("sig", "show", "energy")
        self.assertEqual(s["name"], "Electric power")
        self.assertEqual(s["members"], ["acme"])
        p = self.hub.ok("sig", "list")
        self.assertIn("CODE", p.stdout)
        self.assertIn("Electric power", p.stdout)

    def test_sig_bad_input(self):
        self.seeded()
        self.assert_fails_cleanly(["sig", "add", "energy"], 1,
                                  "energy already exists")
        self.assert_fails_cleanly(["sig", "add", "Not Valid"], 1,
                                  '"Not Valid"')
        self.assert_fails_cleanly(["sig", "show", "nope"], 1,
                                  "SIG nope does not exist")

    def test_org(self):
        self.seeded()
        o = self.hub.json("org", "show", "acme")
        self.assertEqual(o["sigs"], ["energy"])
        self.assertEqual(o["domains"], ["acme.example"])
        self.assertEqual(o["networks"], ["10.1.0.0/16"])
        self.assertEqual(o["nda_date"], "2024-04-01")
        self.assertEqual(o["users"], ["alice"])
        o = self.hub.json("org", "update", "acme", "--add-sig", "gas",
                          "--remove-sig", "energy", "--add-domain",
                          "ACME.Example.JP.", "--add-network",
                          "2001:DB8::7/48", "--role", "partner",
                          "--display", "ACME 株式会社")
        self.assertEqual(o["sigs"], ["gas"])
        self.assertEqual(o["domains"], ["acme.example", "acme.example.jp"])
        self.assertEqual(o["networks"], ["10.1.0.0/16", "2001:db8::/48"])
        self.assertEqual(o["role"], "partner")
        self.assertEqual(o["display_name"], "ACME 株式会社")
        o = self.hub.json("org", "update", "acme", "--clear-nda")
        self.assertIsNone(o["nda_date"])
        lst = self.hub.json("org", "list", "--sig", "gas")
        self.assertEqual([x["name"] for x in lst], ["acme"])
        self.assertEqual(self.hub.json("org", "list", "--sig", "energy"), [])
        p = self.hub.ok("org", "show", "acme")
        self.assertIn("acme.example.jp", p.stdout)

    def test_org_bad_input(self):
        self.seeded()
        for args, needle in [
                (["org", "add", "x", "--role", "king"], '"king"'),
                (["org", "add", "x", "--nda", "2024-13-01"], "2024-13-01"),
                (["org", "add", "x", "--sig", "energy", "--sig", "nosuch"],
                 "SIG nosuch does not exist"),
                (["org", "add", "x", "--domain", "ok.example", "--domain",
                  "bad domain!"], "bad domain!"),
                (["org", "add", "x", "--network", "10.0.0.0/8",
                  "--network", "300.1.1.1/8"], "300.1.1.1/8"),
                (["org", "add", "x", "--domain", "acme.example"],
                 "acme.example already belongs"),
                (["org", "add", "acme"], "acme already exists"),
                (["org", "add", "UPPER"], '"UPPER"'),
                (["org", "update", "acme"], "nothing to change"),
                (["org", "update", "nope", "--role", "hub"],
                 "organisation nope does not exist"),
                (["org", "update", "acme", "--remove-domain",
                  "other.example"], "other.example is not set"),
                (["org", "update", "acme", "--add-sig", "gas",
                  "--remove-sig", "nosuch"], "nosuch"),
                (["org", "show", "nope"], "does not exist"),
                (["org", "list", "--sig", "nope"], "SIG nope"),
        ]:
            self.assert_fails_cleanly(args, 1, needle)
        self.assert_fails_cleanly(["org", "update", "acme", "--nda",
                                   "2024-01-01", "--clear-nda"], 2,
                                  "exclude each other")


class TestUsersTokens(CliTest):
    def test_users(self):
        self.seeded()
        self.hub.ok("user", "add", "bob", "--org", "acme", "--role",
                    "analyst", "--email", "bob@acme.example",
                    "--password-stdin", stdin="a long enough password\n")
        users = self.hub.json("user", "list", "--org", "acme")
        self.assertEqual([u["name"] for u in users], ["alice", "bob"])
        self.assertTrue(users[1]["password"])
        self.assertFalse(users[0]["password"])
        con = self.hub.database.connect()
        h = con.execute("SELECT password_hash FROM app_user WHERE "
                        "name = 'bob'").fetchone()[0]
        con.close()
        self.assertTrue(h.startswith("$argon2id$"), h)
        self.hub.ok("user", "disable", "bob")
        users = self.hub.json("user", "list")
        self.assertTrue(users[1]["disabled"])

    def test_user_bad_input(self):
        self.seeded()
        for args, needle, stdin in [
                (["user", "add", "alice", "--org", "acme"],
                 "alice already exists", None),
                (["user", "add", "zed", "--org", "nope"],
                 "organisation nope does not exist", None),
                (["user", "add", "zed", "--org", "acme", "--role", "root"],
                 '"root"', None),
                (["user", "add", "zed", "--org", "acme", "--password-stdin"],
                 "at least 10", "short\n"),
                (["user", "disable", "nobody"], "nobody does not exist",
                 None),
                (["user", "list", "--org", "nope"], "nope", None),
        ]:
            self.assert_fails_cleanly(args, 1, needle, stdin=stdin)
        self.assert_fails_cleanly(["user", "add", "zed", "--org", "acme",
                                   "--password-stdin"], 2,
                                  "standard input is empty", stdin="")

    def test_tokens(self):
        self.seeded()
        p = self.hub.ok("token", "create", "alice", "--label", "ci",
                        "--days", "7", "--read-only")
        tok = p.stdout.strip()
        self.assertRegex(tok, r"^csip_[A-Za-z0-9_-]{43}$")
        self.assertIn("not shown again", p.stderr)
        lst = self.hub.json("token", "list")
        self.assertEqual(len(lst), 1)
        self.assertTrue(lst[0]["read_only"])
        self.assertIsNotNone(lst[0]["expires_at"])
        self.assertNotIn(tok, json.dumps(lst))
        self.assertTrue(tok.startswith(lst[0]["prefix"]))
        self.assertNotIn(tok[5:], self.hub.dump())
        t2 = self.hub.json("token", "create", "alice", "--days", "0")
        self.assertEqual(t2["user"], "alice")
        self.hub.ok("token", "revoke", str(lst[0]["id"]))
        lst = self.hub.json("token", "list", "--user", "alice")
        self.assertIsNotNone(lst[1]["revoked_at"])
        self.assertIsNone(lst[0]["expires_at"])

    def test_token_bad_input(self):
        self.seeded()
        self.hub.ok("token", "create", "alice")
        self.hub.ok("token", "revoke", "1")
        for args, needle in [
                (["token", "create", "nobody"], "nobody does not exist"),
                (["token", "create", "alice", "--days", "99999"], "99999"),
                (["token", "revoke", "1"], "already revoked"),
                (["token", "revoke", "42"], "token 42 does not exist"),
        ]:
            self.assert_fails_cleanly(args, 1, needle)
        self.hub.ok("user", "disable", "alice")
        self.assert_fails_cleanly(["token", "create", "alice"], 1,
                                  "disabled")


class TestAudit(CliTest):
    def tamper(self, sql):
        self.hub.database.drop_audit_guards()
        con = self.hub.database.connect()
        con.executescript(sql)
        con.close()

    def test_every_change_is_audited(self):
        self.seeded()
        self.hub.ok("token", "create", "alice")
        rows = self.hub.json("audit", "list")
        actions = [r["action"] for r in rows]
        self.assertEqual(actions, ["sig.add", "sig.add", "org.add",
                                   "user.add", "token.create"])
        self.assertTrue(all(r["actor"].startswith("cli:") for r in rows))
        self.assertEqual(len(self.hub.json("audit", "list", "-n", "2")), 2)
        p = self.hub.ok("audit", "verify")
        self.assertIn("intact: 5 rows", p.stdout)

    def test_tampered_row_is_caught(self):
        self.seeded()
        self.tamper("UPDATE audit_log SET actor = 'cli:mallory' "
                    "WHERE id = 3")
        p = self.hub.run("audit", "verify")
        self.assertEqual(p.returncode, 1)
        self.assertIn("row 3 was changed", p.stderr)
        j = json.loads(self.hub.run("audit", "verify", "--json").stdout)
        self.assertFalse(j["intact"])

    def test_deleted_row_is_caught(self):
        self.seeded()
        self.tamper("DELETE FROM audit_log WHERE id = 2")
        p = self.hub.run("audit", "verify")
        self.assertEqual(p.returncode, 1)
        self.assertIn("row 2 is missing", p.stderr)

    def test_truncated_log_is_caught(self):
        self.seeded()
        self.tamper("DELETE FROM audit_log WHERE id = 4")
        p = self.hub.run("audit", "verify")
        self.assertEqual(p.returncode, 1)
        self.assertIn("removed from the end", p.stderr)


class TestIndicator(CliTest):
    def test_parse(self):
        rows = [json.loads(l) for l in self.hub.ok(
            "indicator", "--json", "hxxps://Evil[.]Example[.]com/a",
            "1.2.3[.]4", "2001:DB8:0:0:0:0:0:1", "user[@]Example.COM",
            "D41D8CD98F00B204E9800998ECF8427E", config=False
        ).stdout.splitlines()]
        self.assertEqual([r["type"] for r in rows],
                         ["url", "ipv4", "ipv6", "email", "md5"])
        self.assertEqual(rows[0]["value"], "https://evil.example.com/a")
        self.assertEqual(rows[1]["value"], "1.2.3.4")
        self.assertEqual(rows[2]["value"], "2001:db8::1")
        self.assertEqual(rows[3]["value"], "user@example.com")
        self.assertEqual(rows[4]["value"],
                         "d41d8cd98f00b204e9800998ecf8427e")
        self.assertIn("refanged", rows[0]["flags"])

    def test_bad_values(self):
        p = self.hub.run("indicator", "999.1.1.1", "example.com",
                         config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("999.1.1.1", p.stderr)
        self.assertIn("example.com", p.stdout)
        p = self.hub.run("indicator", "--type", "nonsense", "x",
                         config=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("nonsense", p.stderr)
        p = self.hub.run("indicator", "--type", "filename", "report.pdf",
                         config=False)
        self.assertEqual(p.returncode, 0)
        self.assertIn("filename", p.stdout)



MAILDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "data", "mail")


def mail(name):
    return os.path.join(MAILDATA, name)


class TestMail(CliTest):
    def provider(self):
        self.hub.ok("init")
        self.hub.ok("org", "add", "kanto", "--domain", "kanto-power-test.jp",
                    "--network", "10.0.0.0/8")

    def test_parse(self):
        p = self.hub.ok("parse", "--json", mail("fwd-attach.eml"),
                        config=False)
        j = json.loads(p.stdout.splitlines()[0])
        self.assertEqual(j["source"], mail("fwd-attach.eml"))
        self.assertEqual(j["headers"]["subject"], "Invoice overdue")
        self.assertEqual(j["forwarded_by"]["address"],
                         "taro@kanto-power-test.jp")
        values = {i["value"] for i in j["indicators"]}
        self.assertIn("45.76.12.34", values)
        self.assertNotIn("taro@kanto-power-test.jp", values)
        self.assertNotIn("hanako@kanto-power-test.jp", values)
        p = self.hub.ok("parse", mail("fwd-attach.eml"), config=False)
        self.assertIn("Invoice overdue", p.stdout)

    def test_parse_anonymised(self):
        p = self.hub.ok("parse", "--anonymised", "--domain",
                        "kanto-power-test.jp", "--network", "10.0.0.0/8",
                        mail("fwd-attach.eml"), config=False)
        out = p.stdout.lower()
        for secret in ("kanto-power-test.jp", "taro@", "hanako@",
                       "10.9.8.7", "10.1.2.3"):
            self.assertNotIn(secret, out)
        self.assertIn("45.76.12.34", out)
        self.assertIn("billing-test.com", out)

    def test_parse_errors(self):
        p = self.hub.run("parse", mail("not-a-mail.txt"), config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not-a-mail.txt", p.stderr)
        p = self.hub.run("parse", "/nonexistent.eml", config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent.eml", p.stderr)
        p = self.hub.run("parse", config=False)
        self.assertEqual(p.returncode, 2)
        p = self.hub.run("parse", "--domain", "x.example",
                         mail("fwd-attach.eml"), config=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--anonymised", p.stderr)

    def test_ingest(self):
        self.provider()
        p = self.hub.ok("ingest", "--org", "kanto", "--permission",
                        "community", "--tlp", "green",
                        mail("fwd-attach.eml"))
        self.assertIn("1 stored", p.stdout)
        p = self.hub.ok("ingest", "--org", "kanto", mail("fwd-attach.eml"))
        self.assertIn("1 duplicate", p.stdout)
        reps = self.hub.json("report", "list")
        self.assertEqual(len(reps), 1)
        r = reps[0]
        self.assertEqual(r["permission"], "community")
        self.assertEqual(r["tlp"], "green")
        self.assertEqual(r["subject"], "Invoice overdue")
        d = self.hub.json("report", "show", str(r["id"]))
        values = {o["value"] for o in d["observations"]}
        self.assertIn("45.76.12.34", values)
        self.assertNotIn("taro@kanto-power-test.jp", values)
        anon = self.hub.ok("report", "show", "--anonymised",
                           str(r["id"])).stdout.lower()
        self.assertNotIn("kanto-power-test.jp", anon)
        self.assertIn("billing-test.com", anon)
        rows = self.hub.json("audit", "list")
        self.assertEqual(rows[-1]["action"], "report.ingest")
        self.hub.ok("audit", "verify")

    def test_ingest_campaign_and_rejects(self):
        self.provider()
        with open(mail("fwd-attach.eml"), "rb") as f:
            raw = f.read()
        copy = raw.replace(b"<attack-1@billing-test.com>",
                           b"<attack-2@billing-test.com>")
        copy = copy.replace(b"<fwd-1@", b"<fwd-2@")
        self.assertNotEqual(copy, raw)
        mbox = os.path.join(self.hub.dir, "batch.mbox")
        with open(mbox, "wb") as f:
            for body in (raw, copy, b"this is not a mail at all\n"):
                f.write(b"From reporter Mon Apr  1 00:00:00 2024\n")
                f.write(body.replace(b"\nFrom ", b"\n>From "))
                f.write(b"\n")
        p = self.hub.run("ingest", "--org", "kanto", mbox)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("1 stored", p.stdout)
        self.assertIn("1 campaign copies", p.stdout)
        self.assertIn("1 rejected", p.stdout)
        self.assertIn("batch.mbox#3", p.stdout)
        reps = self.hub.json("report", "list")
        self.assertEqual(len(reps), 1)
        self.assertEqual(reps[0]["copies"], 2)

    def test_ingest_bad_input(self):
        self.provider()
        self.assert_fails_cleanly(["ingest", mail("fwd-attach.eml")], 2,
                                  "--org ORG is required")
        self.assert_fails_cleanly(["ingest", "--org", "kanto",
                                   "--permission", "world",
                                   mail("fwd-attach.eml")], 2, '"world"')
        self.assert_fails_cleanly(["ingest", "--org", "nope",
                                   mail("fwd-attach.eml")], 1,
                                  "organisation nope does not exist")
        before = self.hub.dump()
        p = self.hub.run("ingest", "--org", "kanto", mail("not-a-mail.txt"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("not-a-mail.txt", p.stdout)
        self.assertEqual(self.hub.dump(), before)

    def test_mda(self):
        self.provider()
        with open(mail("fwd-attach.eml"), "rb") as f:
            raw = f.read()

        def mda(data, *extra, config=True):
            argv = [CSIP]
            if config:
                argv += ["--config", self.hub.conf]
            argv += ["ingest", "--mda"] + list(extra)
            return subprocess.run(argv, input=data, capture_output=True,
                                  cwd=self.hub.dir, timeout=60)

        p = mda(raw, "--sender", "taro@kanto-power-test.jp")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.hub.json("report", "list")), 1)
        # Without --sender: the forwarder of the attached mail.
        p = mda(raw)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = mda(raw, "--sender", "someone@unknown.example")
        self.assertEqual(p.returncode, 67, p.stderr)
        p = mda(b"garbage without headers", "--sender",
                "taro@kanto-power-test.jp")
        self.assertEqual(p.returncode, 65, p.stderr)
        # No database at all: transient, the MTA must keep the mail.
        shutil.rmtree(self.hub.data)
        p = mda(raw, "--sender", "taro@kanto-power-test.jp")
        self.assertEqual(p.returncode, 75, p.stderr)


class TestMatch(CliTest):
    def test_match(self):
        ind = os.path.join(self.hub.dir, "ind.txt")
        log = os.path.join(self.hub.dir, "proxy.log")
        with open(ind, "w") as f:
            f.write("evil.example\n198.51.100.0/24\nnot an indicator\n")
        with open(log, "w") as f:
            f.write("GET http://a.b.EVIL.example/x 200\n"
                    "GET http://notevil.example/ 200\n"
                    "conn 198.51.100.77 ok\n")
        p = self.hub.run("match", "--indicators", ind, log, config=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([r["line"] for r in rows], [1, 3])
        self.assertEqual(rows[0]["indicator"], "evil.example")
        self.assertIn("not an indicator", p.stderr)
        p = self.hub.run("match", "--indicators", "/nonexistent.txt", log,
                         config=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent.txt", p.stderr)

    DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "data", "match")

    def write_log(self):
        log = os.path.join(self.hub.dir, "mixed.log")
        with open(log, "w") as f:
            f.write("q a.evil.example\n"
                    "conn 198.51.100.7:443\n"
                    "mail from bob@phish.example\n"
                    "feed-one.example 192.0.2.44\n")
        return log

    def match(self, *args, stdin=None):
        return self.hub.run("match", *args, config=False, stdin=stdin,
                            env={"CSIP_TOKEN": ""})

    def test_match_stix_misp(self):
        log = self.write_log()
        stix = os.path.join(self.DATA, "stix-bundle.json")
        p = self.match("--indicators", stix, log)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([(r["line"], r["indicator"]) for r in rows],
                         [(1, "evil.example"), (2, "198.51.100.0/24"),
                          (3, "bob@phish.example")])
        self.assertIn("skipped 7 invalid or unusable indicators of 19",
                      p.stderr)
        self.assertIn("indicator--1a2b3c4d-0000-4000-8000-000000000003",
                      p.stderr)
        p = self.match("--indicators", os.path.join(self.DATA,
                       "misp-event.json"), log)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([r["line"] for r in rows], [1, 2, 3])
        p = self.match("--indicators", os.path.join(self.DATA,
                       "misp-feed"), log)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([r["indicator"] for r in rows],
                         ["feed-one.example", "192.0.2.44"])
        # An explicit format that does not fit, an unknown one.
        p = self.match("--indicators", stix, "--indicators-format",
                       "misp", log)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a MISP event", p.stderr)
        self.assertEqual(p.stdout, "")
        p = self.match("--indicators", stix, "--indicators-format", "xml",
                       log)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown indicator format", p.stderr)
        p = self.match("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--indicators-format", p.stdout)
        self.assertIn("STIX 2.1", p.stdout)
        for needle in ("--follow", "--refresh=SECONDS",
                       "--full-refresh=SECONDS", "--report=URL",
                       "--report-interval=SECONDS", "as tail -F",
                       "/api/v1/export/csv", "CSIP_TOKEN"):
            self.assertIn(needle, p.stdout)

    def test_match_follow_usage(self):
        log = self.write_log()
        ind = os.path.join(self.DATA, "stix-bundle.json")
        for args, needle in (
                (["--refresh", "5"], "--refresh only applies with "
                 "--follow"),
                (["--follow", "--refresh", "-4"], "--refresh must be"),
                (["--follow", "--report-interval", "5"], "--report-"
                 "interval needs --report"),
                (["--report", "ftp://hub.example"], "give the hub's "
                 "address"),
                (["--report", "https://hub.example"], "CSIP_TOKEN")):
            p = self.match("--indicators", ind, *args, log)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(needle, p.stderr)
            self.assertEqual(p.stdout, "")
        p = self.hub.run("match", "--indicators", ind, "--report",
                         "http://hub.example", log, config=False,
                         env={"CSIP_TOKEN": "s3cret"})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("cross the network in clear", p.stderr)
        # The items are needed to report: a STIX bundle does not say.
        p = self.hub.run("match", "--indicators", ind, "--report",
                         "http://127.0.0.1:9", log, config=False,
                         env={"CSIP_TOKEN": "s3cret"})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("/api/v1/export/csv", p.stderr)
        # A gzip log does not grow: refused when following.
        gz = os.path.join(self.hub.dir, "old.log.gz")
        with gzip.open(gz, "wt") as f:
            f.write("q a.evil.example\n")
        p = self.match("--indicators", ind, "--follow", "--refresh", "0",
                       gz)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("without --follow", p.stderr)

    def test_match_follow_stdin(self):
        ind = os.path.join(self.DATA, "stix-bundle.json")
        # Standard input is followed to its end; its last line may lack
        # the newline.
        p = self.match("--indicators", ind, "--follow", "--refresh", "0",
                       "-q", stdin="q a.evil.example\nq nothing\n"
                       "conn 198.51.100.7:443")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([(r["log"], r["line"], r["indicator"])
                          for r in rows], [("-", 1, "evil.example"),
                                           ("-", 3, "198.51.100.0/24")])

    def test_match_url(self):
        import http.server
        import threading

        def read(path):
            with open(path, "rb") as f:
                return f.read()

        seen = []
        misp = read(os.path.join(self.DATA, "misp-event.json"))
        feed = os.path.join(self.DATA, "misp-feed")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith("/feed/"):
                    name = os.path.basename(self.path)
                    path = os.path.join(feed, name)
                    body = read(path) if os.path.isfile(path) else None
                elif self.path == "/list.txt":
                    body = b"evil.example\n198.51.100.0/24\nnope\n"
                elif self.path == "/private.json":
                    if self.headers.get("Authorization") != "Bearer s3cret":
                        self.send_response(401)
                        self.end_headers()
                        return
                    body = misp
                else:
                    body = None
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            base = "http://127.0.0.1:%d" % srv.server_address[1]
            log = self.write_log()
            p = self.match("--indicators", base + "/list.txt", log)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), 2)
            self.assertIn("nope", p.stderr)
            p = self.match("--indicators", base + "/feed/", log)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), 2)
            self.assertIn(("/feed/manifest.json", None), seen)
            # Without the token, with a wrong one, with the right one.
            p = self.match("--indicators", base + "/private.json", log)
            self.assertEqual(p.returncode, 1)
            self.assertIn("HTTP 401", p.stderr)
            self.assertIn("set CSIP_TOKEN", p.stderr)
            p = self.hub.run("match", "--indicators", base + "/private.json",
                             log, config=False, env={"CSIP_TOKEN": "bad"})
            self.assertEqual(p.returncode, 1)
            self.assertIn("check that CSIP_TOKEN", p.stderr)
            p = self.hub.run("match", "--indicators", base + "/private.json",
                             log, config=False,
                             env={"CSIP_TOKEN": "s3cret"})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), 3)
            self.assertIn(("/private.json", "Bearer s3cret"), seen)
            p = self.match("--indicators", base + "/missing.json", log)
            self.assertEqual(p.returncode, 1)
            self.assertIn("HTTP 404", p.stderr)
        finally:
            srv.shutdown()
            srv.server_close()


class TestExport(CliTest):
    """`csip export`: blocklists through the policy, for the demo hub."""

    def demo(self):
        self.hub.ok("demo")

    def test_help(self):
        p = self.hub.ok("export", "--help")
        for needle in ("--format", "--as", "the hub", "--since", "--output",
                       "suricata, snort, zeek, rpz, csv, text or stix"):
            self.assertIn(needle, p.stdout)

    def test_formats_and_readers(self):
        self.demo()
        before = self.hub.dump()
        hub = {f: self.hub.ok("export", "--format", f).stdout
               for f in ("suricata", "snort", "zeek", "rpz", "csv", "text")}
        self.assertIn("invoice-help.example CNAME .\n", hub["rpz"])
        self.assertIn("*.invoice-help.example CNAME .\n", hub["rpz"])
        self.assertIn("dns.query; dotprefix; "
                      "content:\".invoice-help.example\"", hub["suricata"])
        # (Text mode reads the CSV's CRLF line ends as "\n".)
        self.assertTrue(hub["csv"].startswith(
            "type,value,item,tlp,published_at\n"))
        self.assertTrue(hub["zeek"].startswith("#fields\tindicator\t"))
        lines = hub["text"].splitlines()
        self.assertEqual(len(lines), len(set(lines)))
        self.assertIn("198.51.100.23", lines)
        # --as: a partner and a participant outside the energy SIG get
        # nothing; the other provider gets the item.
        for org in ("national-cert", "sakura-chem", "fuji-heavy"):
            p = self.hub.ok("export", "--format", "text", "--as", org)
            self.assertEqual(p.stdout, "", org)
            p = self.hub.ok("export", "--format", "csv", "--as", org)
            self.assertEqual(p.stdout, "type,value,item,tlp,published_at"
                             "\n", org)
        p = self.hub.ok("export", "--format", "text", "--as", "nihon-gas")
        self.assertEqual(p.stdout, hub["text"])
        for f, out in hub.items():
            for leak in ("kanto", "関東", "nihon", "csip-hub"):
                self.assertNotIn(leak, out, f)
        p = self.hub.ok("export", "--format", "text", "--type", "domain")
        self.assertEqual(p.stdout, "invoice-help.example\n"
                         "invoice-portal.example\n")
        p = self.hub.ok("export", "--format", "text", "--since",
                        "2999-01-01")
        self.assertEqual(p.stdout, "")
        # Exports only read.
        self.assertEqual(self.hub.dump(), before)

    def checkzone(self, path):
        tool = shutil.which("named-checkzone")
        if tool is None:
            self.skipTest("named-checkzone (Debian bind9-utils) is missing; "
                          "scripts/install-deps installs it")
        p = subprocess.run([tool, "rpz.csip.example", path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_rpz_loads(self):
        self.demo()
        zone = os.path.join(self.hub.dir, "csip.rpz")
        self.hub.ok("export", "--format", "rpz", "--output", zone)
        # Written whole and renamed: no temporary file is left beside it.
        self.assertEqual(sorted(os.listdir(self.hub.dir)),
                         ["csip.conf", "csip.rpz", "data"])
        self.assertEqual(os.stat(zone).st_mode & 0o777,
                         0o666 & ~self.umask())
        with open(zone) as f:
            text = f.read()
        self.assertIn("invoice-portal.example CNAME .", text)
        out = self.checkzone(zone)
        self.assertIn("loaded serial", out)
        # An empty zone (a reader who receives nothing) loads too.
        self.hub.ok("export", "--format", "rpz", "--as", "national-cert",
                    "--output", zone)
        self.checkzone(zone)
        with open(zone) as f:
            self.assertNotIn("CNAME", f.read())

    @staticmethod
    def umask():
        m = os.umask(0)
        os.umask(m)
        return m

    def test_bad_input(self):
        self.demo()
        self.assert_fails_cleanly(["export"], 2, "give the format with "
                                  "--format")
        self.assert_fails_cleanly(["export", "--format", "pdf"], 2,
                                  'unknown format "pdf"')
        self.assert_fails_cleanly(["export", "--format", "csv", "--type",
                                   "domain"], 2, "--type goes with --format "
                                  "text only")
        self.assert_fails_cleanly(["export", "--format", "csv", "extra"], 2,
                                  'unexpected argument "extra"')
        self.assert_fails_cleanly(["export", "--format", "rpz", "--as",
                                   "nosuch"], 1,
                                  "organisation nosuch does not exist")
        self.assert_fails_cleanly(["export", "--format", "rpz", "--since",
                                   "last week"], 1,
                                  'since "last week": use a date')
        self.assert_fails_cleanly(["export", "--format", "text", "--type",
                                   "colour"], 1,
                                  'type "colour" is not an indicator type')
        self.assert_fails_cleanly(["export", "--format", "rpz", "--output",
                                   os.path.join(self.hub.dir, "no", "such",
                                                "zone")], 1,
                                  "cannot create")
        # A failed export leaves the previous file as it was.
        zone = os.path.join(self.hub.dir, "keep.rpz")
        with open(zone, "w") as f:
            f.write("old\n")
        p = self.hub.run("export", "--format", "rpz", "--since", "x",
                         "--output", zone)
        self.assertEqual(p.returncode, 1)
        with open(zone) as f:
            self.assertEqual(f.read(), "old\n")
        self.assertEqual(sorted(os.listdir(self.hub.dir)),
                         ["csip.conf", "data", "keep.rpz"])

class TestMigrate(CliTest):
    """`csip migrate`: a SQLite hub copied into the test's database (a
    PostgreSQL one under scripts/pg-test, another SQLite file otherwise)."""

    def source(self):
        src = os.path.join(self.hub.dir, "src")
        conf = os.path.join(self.hub.dir, "src.conf")
        with open(conf, "w") as f:
            f.write("[data]\ndir = %s\n" % src)
        self.hub.ok("--config", conf, "demo", config=False)
        return conf, "sqlite:" + os.path.join(src, "csip.db")

    def target(self):
        if self.hub.database.url:
            return self.hub.database.url
        os.makedirs(self.hub.data, exist_ok=True)
        return "sqlite:" + self.hub.db

    def test_copy_verify_and_continue(self):
        conf, src = self.source()
        before = self.hub.json("--config", conf, "report", "list",
                               config=False)
        p = self.hub.run("--config", conf, "migrate", "--to", self.target(),
                         "--json", config=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        rows = {t["table"]: t["rows"] for t in out["tables"]}
        self.assertGreater(rows["audit_log"], 10)
        self.assertEqual(rows["report"], len(before))
        self.assertEqual(out["rows"], sum(rows.values()))
        # The copy is the same hub: the same reports, an intact audit
        # chain (the key file comes along in the data folder), and new
        # rows take ids after the copied ones.
        shutil.copytree(os.path.join(self.hub.dir, "src"), self.hub.data,
                        ignore=shutil.ignore_patterns("csip.db*"),
                        dirs_exist_ok=True)
        self.assertEqual(self.hub.json("report", "list"), before)
        self.assertIn("intact", self.hub.ok("audit", "verify").stdout)
        orgs = len(self.hub.json("org", "list"))
        self.hub.ok("org", "add", "after-copy", "--sig", "energy")
        self.assertEqual(len(self.hub.json("org", "list")), orgs + 1)
        self.assertIn("intact", self.hub.ok("audit", "verify").stdout)

        # Into a database that holds a hub already: refused, unchanged.
        dump = self.hub.dump()
        p = self.hub.run("--config", conf, "migrate", "--to", self.target(),
                         config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("already holds a csip database", p.stderr)
        self.assertEqual(self.hub.dump(), dump)

    def test_bad_input(self):
        p = self.hub.run("migrate", "--from", "sqlite:/nonexistent/x.db",
                         "--to", self.target())
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/x.db", p.stderr)
        self.assertFalse(self.hub.database.exists())
        p = self.hub.run("migrate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--to is missing", p.stderr)
        conf, src = self.source()
        p = self.hub.run("migrate", "--from", src, "--to", src)
        self.assertEqual(p.returncode, 2)
        self.assertIn("same database", p.stderr)
        # An empty database is not a hub to copy.
        empty = os.path.join(self.hub.dir, "empty.db")
        open(empty, "w").close()
        p = self.hub.run("migrate", "--from", "sqlite:" + empty, "--to",
                         self.target())
        self.assertEqual(p.returncode, 1)
        self.assertIn("no csip database", p.stderr)
        self.assertFalse(self.hub.database.exists())


class TestStats(CliTest):
    """`csip stats`: counts per fiscal year as text, JSON and SVG."""

    def fixture(self):
        """Two SIGs, a partner, and reports on both sides of the
        FY2016/FY2017 boundary: 31 March 23:59:59 JST and 1 April 00:00
        JST."""
        self.hub.ok("init")
        self.hub.ok("sig", "add", "energy")
        self.hub.ok("sig", "add", "gas")
        self.hub.ok("org", "add", "kanto-power", "--sig", "energy",
                    "--nda", "2010-04-01")
        self.hub.ok("org", "add", "nihon-gas", "--sig", "gas", "--nda",
                    "2010-04-01")
        self.hub.ok("org", "add", "national-cert", "--role", "partner",
                    "--nda", "2010-04-01")
        con = self.hub.database.connect()
        try:
            org = con.execute("SELECT id FROM org WHERE name = "
                              "'kanto-power'").fetchone()[0]
            for n, at in enumerate(["2017-03-31T14:59:59Z",
                                    "2017-03-31T15:00:00Z",
                                    "2016-07-01T00:00:00Z"]):
                con.execute(
                    "INSERT INTO report (org_id, kind, permission, "
                    "attribution, tlp, source, received_at, raw_sha256, "
                    "attack_type) VALUES (?, 'indicators', 'sig', 'none', "
                    "'amber', 'test', ?, ?, 'targeted-mail')",
                    (org, at, "%064d" % (n + 1)))
            con.commit()
        finally:
            con.close()

    def test_help(self):
        p = self.hub.ok("stats", "--help")
        for needle in ("csip stats", "--fy", "--svg", "--json", "--output",
                       "--as", "1 April 2016 to 31 March 2017",
                       "fiscal year"):
            self.assertIn(needle, p.stdout)

    def test_text_and_json(self):
        self.fixture()
        before = self.hub.dump()
        out = self.hub.ok("stats", "--fy", "2016").stdout
        self.assertIn("FY2016 (2016-04-01 to 2017-03-31, dates in JST)", out)
        self.assertRegex(out, r"Reports received +0 +1 +0 +1 +2\n")
        self.assertIn("Reports received by SIG of the provider", out)
        data = self.hub.json("stats", "--fy", "2016")
        self.assertEqual(data["scope"], "all")
        self.assertEqual(data["timezone"], "Asia/Tokyo")
        (y,) = data["years"]
        self.assertEqual((y["fy"], y["start"], y["end"]),
                         (2016, "2016-03-31T15:00:00Z",
                          "2017-03-31T15:00:00Z"))
        self.assertEqual([q["counts"]["reports"] for q in y["quarters"]],
                         [0, 1, 0, 1])
        self.assertEqual(y["totals"]["reports"], 2)
        energy = [r for r in y["breakdowns"]["reports_by_sig"]
                  if r["label"] == "energy"][0]
        self.assertEqual(energy["quarters"], [0, 1, 0, 1])
        y17 = self.hub.json("stats", "--fy", "2017")["years"][0]
        self.assertEqual(y17["quarters"][0]["counts"]["reports"], 1)
        # A range: fiscal years side by side.
        data = self.hub.json("stats", "--fy", "2015-2017")
        self.assertEqual([y["fy"] for y in data["years"]],
                         [2015, 2016, 2017])
        # The default is the current fiscal year.
        data = self.hub.json("stats")
        self.assertEqual(data["first_fy"], data["last_fy"])
        self.assertGreaterEqual(data["first_fy"], 2024)
        # Statistics only read.
        self.assertEqual(self.hub.dump(), before)

    def test_as_participant(self):
        self.fixture()
        data = self.hub.json("stats", "--fy", "2016", "--as", "nihon-gas")
        self.assertEqual(data["scope"], "community")
        text = json.dumps(data)
        for leak in ("energy", "kanto", "by_sig"):
            self.assertNotIn(leak, text)
        # One provider only that year: its count is withheld.
        self.assertIsNone(data["years"][0]["totals"]["reports"])
        self.assertEqual(data["years"][0]["totals"]["provided"], 0)
        data = self.hub.json("stats", "--fy", "2016", "--as",
                             "national-cert")
        self.assertEqual(data["scope"], "own")
        self.assertEqual(sorted(data["years"][0]["totals"]),
                         ["provided", "received"])

    def test_svg_to_file(self):
        self.fixture()
        svg = os.path.join(self.hub.dir, "fy2016.svg")
        p = self.hub.ok("stats", "--fy", "2016", "--svg", "--output", svg)
        self.assertEqual(p.stdout, "")
        import xml.etree.ElementTree as ET
        root = ET.parse(svg).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        self.assertEqual(root.tag, ns + "svg")
        self.assertEqual(root.get("version"), "1.1")
        self.assertTrue(root.get("viewBox").startswith("0 0 960 "))
        bars = [r for r in root.iter(ns + "rect") if r.get("class") == "bar"]
        self.assertGreater(len(bars), 20)
        titles = [b.find(ns + "title").text for b in bars]
        self.assertIn("Q4 (Jan-Mar), Reports received: 1", titles)
        texts = [t.text for t in root.iter(ns + "text")]
        self.assertIn("csip statistics, FY2016", texts)
        self.assertIn("Reports received by SIG of the provider", texts)
        # Standard output, and the same document.
        p = self.hub.ok("stats", "--fy", "2016", "--svg")
        with open(svg) as f:
            self.assertEqual(p.stdout, f.read())
        self.assertEqual(sorted(os.listdir(self.hub.dir)),
                         ["csip.conf", "data", "fy2016.svg"])

    def test_bad_input(self):
        self.fixture()
        for fy in ("16", "20x6", "2017-2016", "1800", "2000-2030", ""):
            self.assert_fails_cleanly(["stats", "--fy", fy], 2,
                                      'fiscal year')
        self.assert_fails_cleanly(["stats", "--fy", "abc"], 2,
                                  'fiscal year "abc": give a year such as '
                                  '2016')
        self.assert_fails_cleanly(["stats", "--json", "--svg"], 2,
                                  "--json and --svg are two formats")
        self.assert_fails_cleanly(["stats", "extra"], 2,
                                  'unexpected argument "extra"')
        self.assert_fails_cleanly(["stats", "--as", "nosuch"], 1,
                                  "organisation nosuch does not exist")
        self.assert_fails_cleanly(["stats", "--svg", "--output",
                                   os.path.join(self.hub.dir, "no", "such",
                                                "x.svg")], 1,
                                  "cannot write")


if __name__ == "__main__":
    CSIP = os.path.abspath(sys.argv.pop(1))
    testhub.CSIP = CSIP
    unittest.main(verbosity=2)
