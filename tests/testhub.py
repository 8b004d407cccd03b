"""testhub.py - a throwaway hub for the Python tests that drive csip
over real HTTP: a data folder, a configuration, a database (SQLite, or
PostgreSQL when the suite runs on it: testdb.py), the command line and
one `csip serve` on a free port of 127.0.0.1.

Each test module sets CSIP (the binary under test) before making a Hub,
and subclasses Hub for what only it needs (its own clients, keys).
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import testdb

CSIP = None          # the csip binary, set by the test module


class Hub:
    """A data folder, configuration and database, and the server once
    started.  SERVER_CONF is the [server] section's body."""

    def __init__(self, server_conf="", prefix="csip-srv-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "csip.conf")
        self.database = testdb.Database(self.data)
        with open(self.conf, "w") as f:
            f.write("[data]\ndir = %s\n\n%s[server]\n%s" % (
                self.data, self.database.conf(), server_conf))
        self.proc = None
        self.port = None
        self.scheme = "http"
        self.log = None

    def env(self):
        """The environment for csip: the test's, without CSIP_CONFIG."""
        e = dict(os.environ)
        e.pop("CSIP_CONFIG", None)
        return e

    def run(self, *args, stdin=None):
        """A csip command on this hub, whatever its exit status."""
        return subprocess.run([CSIP, "--config", self.conf] + list(args),
                              input=stdin, capture_output=True, text=True,
                              env=self.env(), cwd=self.dir, timeout=120)

    def ok(self, *args, **kw):
        """A csip command that must succeed."""
        p = self.run(*args, **kw)
        if p.returncode != 0:
            raise AssertionError("csip %s failed (%d): %s" %
                                 (" ".join(args), p.returncode, p.stderr))
        return p

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def token(self, user, *extra):
        return self.json("token", "create", user, *extra)["token"]

    def key(self):
        """The hub's secret key."""
        with open(os.path.join(self.data, "secret.key"), "rb") as f:
            return f.read()

    def start(self, *extra):
        """Start `csip serve` and wait until it says where it listens."""
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [CSIP, "--config", self.conf, "serve", "--listen",
             "127.0.0.1:0"] + list(extra), stdout=subprocess.PIPE,
            stderr=self.log, env=self.env(), cwd=self.dir)
        deadline = time.monotonic() + 60
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        m = re.search(rb"serving on (https?)://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
            raise AssertionError("csip serve did not start: %r\n%s" %
                                 (line, self.server_log()))
        self.scheme = m.group(1).decode()
        self.port = int(m.group(2))
        return self

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def server_log(self):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stop the server; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc.stdout.close()
        self.proc = None
        self.log.close()
        self.log = None
        if rc is None:
            raise AssertionError("csip serve did not stop within %d s"
                                 % timeout)
        return rc

    def cleanup(self):
        """Stop the server (TERM, then KILL after ten seconds) and remove
        the folder."""
        if self.proc is not None:
            try:
                self.stop(timeout=10)
            except AssertionError:
                pass
        if self.log is not None:
            self.log.close()
            self.log = None
        shutil.rmtree(self.dir, ignore_errors=True)
