"""The database behind a test's hub: SQLite in its data folder, or, when
scripts/pg-test has set CSIP_TEST_PG, a PostgreSQL database of its own on
that throwaway server (created here, dropped when the test process ends).

The tests that reach into the database (to seed rows the API cannot make,
or to tamper as an attacker would) do it through Database.execute(), which
speaks `?` placeholders on both backends.  PostgreSQL is driven through
psql, so no Python driver is needed."""

import atexit
import os
import re
import sqlite3
import subprocess
import time
import uuid

PG = os.environ.get("CSIP_TEST_PG") or None
_created = []


def backend():
    return "postgresql" if PG else "sqlite"


def _psql(url, sql):
    p = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
         "-F", "\x1f", "-R", "\x1e", "-d", url, "-c", sql],
        capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("psql: %s: %s" % (sql[:200], p.stderr.strip()))
    return p.stdout


def _admin(sql):
    _psql(PG, sql)


@atexit.register
def _drop_all():
    for name in _created:
        try:
            _admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except Exception:  # the server may be gone already
            pass


def _lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def _bind(sql, params):
    params = list(params or ())
    out = []
    for ch in sql:
        if ch == "?":
            out.append(_lit(params.pop(0)))
        else:
            out.append(ch)
    if params:
        raise ValueError("more parameters than placeholders")
    return "".join(out)


class _Rows:
    def __init__(self, rows):
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


def _value(s):
    if re.fullmatch(r"-?\d{1,18}", s):
        return int(s)
    return s


class _PgConnection:
    """Enough of sqlite3.Connection for the tests: each execute() is its
    own transaction (commit() is a no-op); NULL reads back as ''."""

    def __init__(self, url):
        self.url = url

    def execute(self, sql, params=()):
        out = _psql(self.url, _bind(sql, params))
        if out.endswith("\n"):  # psql ends its output with one
            out = out[:-1]
        rows = [tuple(_value(c) for c in r.split("\x1f"))
                for r in out.split("\x1e") if r != ""]
        return _Rows(rows)

    def executescript(self, sql):
        _psql(self.url, sql)

    def commit(self):
        pass

    def close(self):
        pass


class Database:
    """The database of a hub whose data folder is DATA."""

    def __init__(self, data):
        self.data = data
        self.path = os.path.join(data, "csip.db")
        self.url = None
        if PG:
            name = "csip_py_" + uuid.uuid4().hex[:16]
            _admin("CREATE DATABASE %s" % name)
            _created.append(name)
            self.url = PG.replace("/postgres?", "/%s?" % name, 1)

    def conf(self):
        """The [database] section of the hub's configuration ('' for the
        SQLite default in the data folder)."""
        return "[database]\nurl = %s\n\n" % self.url if self.url else ""

    def connect(self):
        if self.url:
            return _PgConnection(self.url)
        return sqlite3.connect(self.path)

    def exists(self):
        """Whether `csip init` has made the database."""
        if self.url:
            return bool(self.connect().execute(
                "SELECT COUNT(*) FROM information_schema.tables WHERE "
                "table_name = 'schema_version'").fetchone()[0])
        return os.path.exists(self.path)

    def drop_audit_guards(self):
        """Remove the append-only triggers of audit_log, as an attacker
        with the database would."""
        con = self.connect()
        if self.url:
            con.executescript("DROP TRIGGER IF EXISTS audit_log_no_change "
                              "ON audit_log")
        else:
            con.executescript("DROP TRIGGER IF EXISTS audit_log_no_update;"
                              "DROP TRIGGER IF EXISTS audit_log_no_delete;")
        con.close()

    def lock_writers(self):
        """Hold the write lock of the database, as a long transaction of
        another process would, until the returned function is called."""
        if self.url:
            # The advisory lock every csip write transaction takes first
            # (src/lib/store_pg.c).
            p = subprocess.Popen(["psql", "-X", "-q", "-d", self.url],
                                 stdin=subprocess.PIPE, text=True)
            p.stdin.write("BEGIN; SELECT pg_advisory_xact_lock(1668508016);"
                          "\n")
            p.stdin.flush()
            deadline = time.monotonic() + 30
            while not self.connect().execute(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = "
                    "'advisory' AND granted").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError("the writer lock was not taken")
                time.sleep(0.05)

            def release():
                p.stdin.write("COMMIT;\n")
                p.stdin.close()
                p.wait(timeout=60)
            return release
        con = sqlite3.connect(self.path, isolation_level=None, timeout=1)
        con.execute("BEGIN EXCLUSIVE")

        def release_sqlite():
            con.execute("COMMIT")
            con.close()
        return release_sqlite

    def dump(self):
        """Every row of every table, as text to compare before and after
        a failed command (sequence positions left out: PostgreSQL does
        not give back a number a rolled-back insert took; and pg_dump's
        random \\restrict keys)."""
        if self.url:
            p = subprocess.run(["pg_dump", "--data-only", "--inserts",
                                "-d", self.url], capture_output=True,
                               text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError("pg_dump: " + p.stderr)
            return "\n".join(line for line in p.stdout.splitlines()
                             if "pg_catalog.setval" not in line and
                             not line.startswith(("--", "\\restrict",
                                                  "\\unrestrict")))
        con = sqlite3.connect(self.path)
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
