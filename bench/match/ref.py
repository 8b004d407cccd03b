#!/usr/bin/env python3
"""ref.py - the reference matcher for `csip match`, in plain Python sets.

Written from the rules in src/lib/match.h, not from match.c's structures:
sets of canonical strings, a dict per prefix length for CIDRs.  It is the
correctness reference (bench/match/run.sh checks that csip prints the same
sightings) and the "interpreted language" column of the benchmark.

  ref.py --indicators LIST LOG... > sightings.jsonl

Indicators must be canonical (as gen.py writes them); the log format only
matters for csip's timestamps, which this reference does not produce.
"""
import argparse
import ipaddress
import json
import re
import sys

RUN = re.compile(rb"[A-Za-z0-9._:@+\x80-\xe2-]+")
WIDE = re.compile(rb"[\xe3-\xff][\x80-\xbf]*")
URLEND = set(b"\"'<>`\\{}|^\x7f") | set(range(0, 0x21))
SCHEME = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
             b"0123456789+-.")
HEXSET = set(b"0123456789abcdefABCDEF")
V6SET = HEXSET | set(b":.")
DIGITS = set(b"0123456789")
HASHLEN = (32, 40, 64, 128)
ALNUM = re.compile(rb"[A-Za-z0-9]+")
DEFPORT = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def classify(v):
    if "://" in v:
        return "url"
    if "@" in v:
        return "email"
    if "/" in v:
        return "cidr6" if ":" in v else "cidr4"
    if ":" in v:
        return "ipv6"
    if all(c in "0123456789." for c in v):
        return "ipv4"
    if all(c in "0123456789abcdef" for c in v) and len(v) in HASHLEN:
        return {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}[len(v)]
    return "domain"


class Ref:
    def __init__(self, values):
        self.hosts, self.emails, self.urls, self.hashes = {}, {}, {}, {}
        self.urlhosts = set()
        self.nets = {4: {}, 6: {}}   # family -> plen -> {key: value}
        for v in values:
            t = classify(v)
            if t == "url":
                self.urls[v] = t
                auth = v.split("://", 1)[1]
                auth = re.split(r"[/?#]", auth, 1)[0].rsplit("@", 1)[-1]
                if not auth.startswith("["):
                    auth = auth.split(":", 1)[0]
                self.urlhosts.add(auth)
            elif t == "email":
                self.emails[v] = t
            elif t in ("md5", "sha1", "sha256", "sha512"):
                self.hashes[v] = t
            elif t in ("ipv4", "ipv6", "cidr4", "cidr6"):
                n = ipaddress.ip_network(v)
                fam = n.version
                self.nets[fam].setdefault(n.prefixlen, {}).setdefault(
                    int(n.network_address) >> (n.max_prefixlen - n.prefixlen),
                    (v, t))
            else:
                self.hosts[v] = t
        self.plens = {f: sorted(d, reverse=True) for f, d in self.nets.items()}

    # -- addresses
    def net(self, fam, a):
        bits = 32 if fam == 4 else 128
        for plen in self.plens[fam]:
            hit = self.nets[fam][plen].get(a >> (bits - plen))
            if hit:
                return hit
        return None

    @staticmethod
    def v4(b):
        parts = b.split(b".")
        if len(parts) != 4:
            return None
        a = 0
        for p in parts:
            if not p or len(p) > 3 or not all(c in DIGITS for c in p) or \
                    (len(p) > 1 and p[0:1] == b"0") or int(p) > 255:
                return None
            a = a << 8 | int(p)
        return a

    # -- tokens
    def scan(self, line):
        self.out = []
        line = WIDE.sub(lambda m: b" " * len(m.group(0)), line)
        self.line = line
        pos, n = 0, len(line)
        while True:
            m = RUN.search(line, pos)
            if not m:
                break
            st, end = m.start(), m.end()
            pos = end
            if end > st + 1 and line[end - 1] == 58 and \
                    line[end:end + 2] == b"//":
                sch = end - 1
                while sch > st and line[sch - 1] in SCHEME:
                    sch -= 1
                while sch < end - 1 and not chr(line[sch]).isalpha():
                    sch += 1
                if sch < end - 1:
                    if sch > st:
                        self.run(st, sch)
                    u = end + 2
                    while u < n and line[u] not in URLEND:
                        u += 1
                    while u > end + 2 and line[u - 1] in b".,;:!?)]}":
                        u -= 1
                    self.url(sch, u)
                    pos = u
                    continue
            self.run(st, end)
        return self.out

    def hit(self, ind, off):
        self.out.append((off, ind[0], ind[1]))

    def run(self, st, end):
        b = self.line[st:end]
        if b.count(b":") >= 2 and all(c in V6SET for c in b):
            try:
                a = int(ipaddress.IPv6Address(b.decode()))
            except ValueError:
                a = None
            if a is not None:
                h = self.net(6, a)
                if h:
                    self.hit(h, st)
                return
        i = st
        for part in b.split(b":"):
            q, m = i, len(part)
            if b"@" in part:
                last = part.rindex(b"@") + 1
                at = part.rfind(b"@", 0, last - 1) + 1
                if at < last - 1:
                    self.email(q + at, q + m, last - 1 - at)
                else:
                    self.pieces(q + last, q + m)
            elif m:
                self.pieces(q, q + m)
            i += m + 1

    def email(self, st, end, at):
        p = self.line
        lp = st
        while lp < st + at and p[lp] == 46:
            lp += 1
        dom = st + at + 1
        dn = end
        while dn > dom and p[dn - 1] in b".-":
            dn -= 1
        if lp < st + at and dn > dom and self.emails and dn - lp < 320 and \
                b"." in p[dom:dn]:
            v = p[lp:dn].lower().decode("latin-1")
            if v in self.emails:
                self.hit((v, "email"), lp)
        self.pieces(dom, end)

    def pieces(self, st, end):
        p = self.line
        s = st
        i = st
        while i <= end:
            if i == end or p[i] == 43 or (p[i] == 46 and i + 1 < end and
                                           p[i + 1] == 46):
                if i > s:
                    self.piece(s, i)
                s = i + 1
            i += 1

    def piece(self, st, end):
        p = self.line
        while st < end and p[st] in b".-":
            st += 1
        while end > st and p[end - 1] in b".-":
            end -= 1
        if st == end:
            return
        b = p[st:end]
        if len(b) >= 32 and self.hashes:
            for m in ALNUM.finditer(b):
                h = m.group(0)
                if len(h) in HASHLEN and all(c in HEXSET for c in h):
                    v = h.lower().decode()
                    if v in self.hashes:
                        self.hit((v, self.hashes[v]), st + m.start())
        dots = b.count(b".")
        if dots == 0:
            return
        last = b.rsplit(b".", 1)[1]
        if all(c in DIGITS for c in last):
            if dots == 3:
                a = self.v4(b)
                if a is not None:
                    h = self.net(4, a)
                    if h:
                        self.hit(h, st)
            return
        if self.hosts:
            self.host(b, st)

    def host(self, b, off):
        if any(c >= 0x80 for c in b):
            if len(b) > 253:
                return
            try:
                b = b.decode("utf-8").encode("idna")
            except (UnicodeError, ValueError):
                return
        if len(b) > 253:
            return
        labels = b.lower().decode("latin-1").split(".")
        if len(labels) > 127:
            return
        for k in range(len(labels) - 1):
            v = ".".join(labels[k:])
            if v in self.hosts:
                self.hit((v, self.hosts[v]), off)
                return

    def url(self, st, end):
        p = self.line
        u = p[st:end]
        auth0 = u.index(b"://") + 3
        aend = auth0
        while aend < len(u) and u[aend] not in b"/?#":
            aend += 1
        host = auth0
        at = u.rfind(b"@", auth0, aend)
        if at >= 0:
            host = at + 1
        br = host < aend and u[host] == 91
        if br:
            hend = u.find(b"]", host, aend)
            if hend < 0:
                return
            host += 1
        else:
            hend = u.find(b":", host, aend)
            if hend < 0:
                hend = aend
        if hend == host:
            return
        if self.urls:
            hh = u[host - 1:hend + 1] if br else u[host:hend]
            if hh.endswith(b"."):
                hh = hh[:-1]
            if hh.lower().decode("latin-1") in self.urlhosts:
                c = canon_url(u)
                if c in self.urls:
                    self.hit((c, "url"), st)
        if br:
            self.run(st + host, st + hend)
        else:
            self.pieces(st + host, st + hend)


def canon_url(u):
    """Enough of csip's canonical URL form for the generated URLs."""
    s = u.decode("latin-1").split("#", 1)[0]
    scheme, rest = s.split("://", 1)
    scheme = scheme.lower()
    m = re.match(r"([^/?]*)(.*)", rest)
    auth, tail = m.group(1), m.group(2)
    user = ""
    if "@" in auth:
        user, auth = auth.rsplit("@", 1)
        user += "@"
    port = ""
    if not auth.startswith("[") and ":" in auth:
        auth, port = auth.split(":", 1)
        if port and int(port) != DEFPORT.get(scheme, -1):
            port = ":" + str(int(port))
        else:
            port = ""
    host = auth.lower().rstrip(".")
    if tail == "" or tail.startswith("?"):
        if scheme in DEFPORT:
            tail = "/" + tail
    return "%s://%s%s%s%s" % (scheme, user, host, port, tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--indicators", required=True)
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()
    with open(a.indicators) as f:
        vals = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    ref = Ref(vals)
    out = sys.stdout
    for log in a.logs:
        base = 0
        esc = json.dumps(log)
        with open(log, "rb") as f:
            for no, line in enumerate(f, 1):
                body = line.rstrip(b"\n")
                if not (log.endswith("zeek-dns.log") and body[:1] == b"#"):
                    for off, v, t in ref.scan(body[:1 << 20]):
                        out.write('{"indicator":%s,"type":"%s","log":%s,'
                                  '"line":%d,"offset":%d}\n' % (
                                      json.dumps(v), t, esc, no, base + off))
                base += len(line)


if __name__ == "__main__":
    main()
