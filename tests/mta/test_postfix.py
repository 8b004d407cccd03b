#!/usr/bin/env python3
"""Mail intake through a real MTA.

Starts a private Postfix instance (its own configuration and queue in a
temporary folder, SMTP on a loopback port) whose local transport pipes
every message to `csip ingest --mda --sender ${sender}`, then:

1. a participant forwards an attack mail by SMTP: a report appears;
2. the database is locked while a second mail arrives: csip exits 75
   (EX_TEMPFAIL), Postfix defers the mail, and once the lock is gone
   Postfix's retry stores it: nothing is lost;
3. a mail from a sender whose domain belongs to no organisation bounces.

Needs root (Postfix's pipe runs the agent as an unprivileged user) and
Debian's postfix package; skips with the reason otherwise (exit 77).

Usage: test_postfix.py PATH-TO-CSIP
"""
import json
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402

SKIP = 77
MDA_USER = "csip-mda"


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


def attack_mail():
    inner = EmailMessage()
    inner["From"] = "Support <support@evil-attacker.example>"
    inner["To"] = "taro@provider.test"
    inner["Subject"] = "Invoice overdue"
    inner["Message-ID"] = "<attack-1@evil-attacker.example>"
    inner.set_content("Pay now at hxxp://pay-now[.]evil-attacker[.]example/"
                      "inv?id=42\n")
    return inner


def forward(sender, inner, subject):
    outer = EmailMessage()
    outer["From"] = sender
    outer["To"] = "reports@hub.test"
    outer["Subject"] = subject
    outer.set_content("Suspicious mail attached.\n")
    outer.add_attachment(inner)
    return outer


def main():
    csip = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        skip("needs root to run a Postfix instance")
    if not shutil.which("postfix") or not os.path.exists(
            "/usr/lib/postfix/sbin/master"):
        skip("Postfix is not installed (apt-get install postfix)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        skip("the postfix user does not exist")
    try:
        pwd.getpwnam(MDA_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", MDA_USER],
                       check=True)
    mda = pwd.getpwnam(MDA_USER)

    top = tempfile.mkdtemp(prefix="csip-postfix-")
    os.chmod(top, 0o755)
    etc = os.path.join(top, "etc")
    data = os.path.join(top, "hub")
    conf = os.path.join(top, "csip.conf")
    log = os.path.join(top, "maillog")
    os.makedirs(etc)
    database = testdb.Database(data)
    with open(conf, "w") as f:
        f.write("[data]\ndir = %s\n\n%s" % (data, database.conf()))

    def csip_run(*args, check=True):
        p = subprocess.run([csip, "--config", conf] + list(args),
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError("csip %s: %s" % (args, p.stderr))
        return p

    csip_run("init")
    csip_run("org", "add", "provider", "--domain", "provider.test")
    # The agent runs as MDA_USER and must write the database.
    for root, dirs, files in os.walk(data):
        os.chown(root, mda.pw_uid, mda.pw_gid)
        for n in files:
            os.chown(os.path.join(root, n), mda.pw_uid, mda.pw_gid)

    port = free_port()
    main_cf = """
compatibility_level = 3.6
queue_directory = {top}/queue
data_directory = {top}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = hub.test
mydomain = hub.test
myorigin = hub.test
mydestination = hub.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:no outside delivery in this test
local_transport = csip
local_recipient_maps =
alias_maps =
alias_database =
maillog_file = {log}
maillog_file_prefixes = {top}
smtputf8_enable = no
biff = no
csip_destination_recipient_limit = 1
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
""".format(top=top, log=log)
    master_cf = """
{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
csip      unix  -       n       n       -       -       pipe
  flags=Rq user={user} argv={csip} --config {conf} ingest --mda --sender ${{sender}}
""".format(port=port, user=MDA_USER, csip=csip, conf=conf)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(main_cf)
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(master_cf)

    # The queue belongs to root, Postfix's data folder to its user.
    os.makedirs(os.path.join(top, "queue"), mode=0o755)
    pfx = pwd.getpwnam("postfix")
    os.makedirs(os.path.join(top, "data"), mode=0o700)
    os.chown(os.path.join(top, "data"), pfx.pw_uid, pfx.pw_gid)
    env = dict(os.environ, MAIL_CONFIG=etc)
    started = False
    try:
        p = subprocess.run(["postfix", "-c", etc, "start"], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            # Postfix tells why only on a terminal or to syslog.
            why = subprocess.run(["script", "-qc", "postfix -c %s check" %
                                  etc, "/dev/null"], capture_output=True,
                                 text=True, env=env).stdout
            raise AssertionError("postfix start failed: " + why)
        started = True
        wait_for("Postfix to listen", lambda: _listening(port), 30)

        # 1. A forwarded attack mail becomes a report.
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.send_message(forward("Alice <alice@provider.test>",
                                   attack_mail(), "Fwd: Invoice overdue"))

        def reports():
            p = csip_run("report", "list", "--json", check=False)
            return json.loads(p.stdout) if p.returncode == 0 else []

        got = wait_for("the first report", lambda: len(reports()) == 1)
        assert got
        rep = reports()[0]
        assert rep["org"] == "provider", rep
        assert rep["subject"] == "Invoice overdue", rep
        detail = json.loads(csip_run("report", "show", str(rep["id"]),
                                     "--json").stdout)
        values = {o["value"] for o in detail["observations"]}
        assert "http://pay-now.evil-attacker.example/inv?id=42" in values, \
            values
        print("ok 1 forwarded mail stored as report %d" % rep["id"])

        # 2. A locked database: EX_TEMPFAIL, deferral, then the retry.
        release = database.lock_writers()
        inner = attack_mail()
        inner.replace_header("Subject", "Second wave")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.send_message(forward("alice@provider.test", inner,
                                   "Fwd: Second wave"))
        wait_for("a deferral in the mail log",
                 lambda: "status=deferred" in _read(log), 60)
        release()
        wait_for("the retried mail", lambda: len(reports()) == 2, 90)
        print("ok 2 transient failure deferred, retried, stored")

        # 3. An unknown provider bounces (permanent).
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.send_message(forward("mallory@unknown.test", attack_mail(),
                                   "Fwd: hello"))
        wait_for("a bounce", lambda: "status=bounced" in _read(log), 60)
        assert len(reports()) == 2
        print("ok 3 unknown provider bounced")
        csip_run("audit", "verify")
    finally:
        if started:
            subprocess.run(["postfix", "-c", etc, "stop"], env=env,
                           capture_output=True)
        if os.environ.get("CSIP_KEEP_TMP"):
            print("kept " + top)
        else:
            shutil.rmtree(top, ignore_errors=True)


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
