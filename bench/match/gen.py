#!/usr/bin/env python3
"""gen.py - make benchmark logs and indicator lists for `csip match`.

Fixed seed: the same arguments give the same bytes.  Writes into OUT:
  indicators-1000000.txt (and every smaller --sets size, a prefix of it, so
  the hits planted from the first 10,000 are in every set),
  one log per format (squid, bind, zeek-dns, eve, postfix, text), together
  about --size bytes, with --hit-rate of the lines naming an indicator and
  ten times as many traps (near misses that must not match, sub-domains,
  mixed case and Unicode forms that must).

  bench/match/gen.py --size 1G --out /tmp/matchbench
"""
import argparse
import os
import random

TLDS = ["com", "net", "online", "xyz", "info", "org", "co.jp", "jp", "ru",
        "top"]
WORDS = ("cloud cdn mail api static img login secure update portal app "
         "data files web news shop store auth sync edge media").split()
IDN = ["b\u00fccher", "m\u00fcnchen", "caf\u00e9", "\u00e9cole", "pr\u00fcfung",
       "gr\u00fcn", "k\u00f6ln", "z\u00fcrich"]
FORMATS = ["squid", "bind", "zeek-dns", "eve", "postfix", "text"]
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"


def size_arg(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1].upper() in mult:
        return int(float(s[:-1]) * mult[s[-1].upper()])
    return int(s)


def rstr(r, n, chars=ALNUM):
    return "".join(r.choice(chars) for _ in range(n))


def ind_ip4(r):
    return "%d.%d.%d.%d" % (r.choice([45, 91, 185, 193]), r.randrange(256),
                            r.randrange(256), r.randrange(1, 255))


def make_indicators(r, n):
    """Mixed canonical indicators; type mix the same in every prefix."""
    out = []
    kinds = (["domain"] * 40 + ["url"] * 10 + ["ipv4"] * 15 + ["cidr4"] * 5
             + ["ipv6"] * 5 + ["cidr6"] * 2 + ["md5"] * 8 + ["sha1"] * 5
             + ["sha256"] * 5 + ["email"] * 5)
    seen = set()
    idn = [u.encode("idna").decode() + "." + t for u in IDN
           for t in ("com", "net")]
    out.extend(idn)
    seen.update(idn)
    while len(out) < n:
        k = r.choice(kinds)
        if k == "domain":
            v = rstr(r, r.randint(5, 14)) + "." + r.choice(TLDS)
        elif k == "url":
            v = "http%s://%s.%s/%s/%s" % (r.choice(["", "s"]),
                rstr(r, r.randint(5, 12)), r.choice(TLDS), rstr(r, 6),
                rstr(r, 8) + ".php")
        elif k == "ipv4":
            v = ind_ip4(r)
        elif k == "cidr4":
            plen = r.randint(20, 28)
            a = (r.choice([45, 91, 185, 193]) << 24) | r.getrandbits(24)
            a &= (0xffffffff << (32 - plen)) & 0xffffffff
            v = "%d.%d.%d.%d/%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255,
                                    a & 255, plen)
        elif k == "ipv6":
            v = "2a0b:%x:%x::%x" % (r.getrandbits(16), r.getrandbits(16),
                                    r.getrandbits(16) | 1)
        elif k == "cidr6":
            v = "2a0c:%x::/32" % r.getrandbits(16)
        elif k == "md5":
            v = rstr(r, 32, HEX)
        elif k == "sha1":
            v = rstr(r, 40, HEX)
        elif k == "sha256":
            v = rstr(r, 64, HEX)
        else:
            v = "%s.%s@%s.%s" % (rstr(r, 5), rstr(r, 6), rstr(r, 8),
                                 r.choice(TLDS))
        if v.startswith("2a0b:0:") or v in seen:
            continue
        seen.add(v)
        out.append(v)
    return out


class Gen:
    def __init__(self, seed, inds, hit_rate):
        self.r = random.Random(seed)
        r = self.r
        self.inds = inds[:10000]
        self.by = {}
        for v in self.inds:
            self.by.setdefault(classify(v), []).append(v)
        self.hosts = ["%s.%s.%s" % (r.choice(WORDS), rstr(r, 7),
                                    r.choice(TLDS)) for _ in range(20000)]
        self.cw = []
        acc = 0.0
        for i in range(len(self.hosts)):
            acc += 1.0 / (i + 10)
            self.cw.append(acc)
        self.hit_rate = hit_rate
        self.t = 1705300000.0

    def host(self):
        return self.r.choices(self.hosts, cum_weights=self.cw)[0]

    def dstip(self):
        r = self.r
        return "%d.%d.%d.%d" % (r.choice([13, 20, 23, 34, 52, 104, 142,
                                          151, 203]), r.randrange(256),
                                r.randrange(256), r.randrange(1, 255))

    def client(self):
        return "10.%d.%d.%d" % (self.r.randrange(256), self.r.randrange(256),
                                self.r.randrange(1, 255))

    def pick(self, kind):
        return self.r.choice(self.by[kind])

    def bad_host(self):
        """An indicator domain, as a hit (sub-domain, mixed case) or a
        trap (glued prefix, other TLD): (text, is_hit)."""
        r = self.r
        d = self.pick("domain")
        c = r.randrange(6)
        if c == 0:
            return d, True
        if c == 1:
            return "%s.%s" % (rstr(r, 3), d), True
        if c == 2:
            return "".join(ch.upper() if r.random() < .5 else ch
                           for ch in d), True
        if c == 3:
            return rstr(r, 7) + d, False
        if c == 4:
            return d.replace(".", "-") + ".net", False
        return d + "x", False

    def roll(self):
        x = self.r.random()
        if x < self.hit_rate:
            return 2
        if x < self.hit_rate * 11:
            return 1
        return 0

    def line(self, fmt):
        r = self.r
        self.t += 0.003
        t = self.t
        roll = self.roll()
        host = self.host()
        ip = self.dstip()
        path = "/%s/%s" % (r.choice(WORDS), rstr(r, 8))
        url = None
        if roll:
            c = r.randrange(4)
            if c == 0 or roll == 1:
                host, _ = self.bad_host()
            elif c == 1:
                ip = self.pick("ipv4") if r.random() < .6 else \
                    self.pick("cidr4").split("/")[0]
            elif c == 2 and fmt in ("squid", "text"):
                url = self.pick("url")
            else:
                host = self.pick("domain")
        if url is None:
            url = "http://%s%s" % (host, path)
        if fmt == "squid":
            if r.random() < .2:
                return "%.3f %6d %s TCP_TUNNEL/200 %d CONNECT %s:443 - " \
                    "HIER_DIRECT/%s -\n" % (t, r.randrange(9999),
                                           self.client(), r.randrange(99999),
                                           host, ip)
            return "%.3f %6d %s TCP_MISS/200 %d GET %s - HIER_DIRECT/%s " \
                "text/html\n" % (t, r.randrange(9999), self.client(),
                                 r.randrange(99999), url, ip)
        if fmt == "bind":
            import time
            tm = time.gmtime(t)
            return "%02d-%s-%04d %02d:%02d:%02d.%03d client @0x7f%s %s#%d " \
                "(%s): query: %s IN %s +E(0)K (10.0.0.53)\n" % (
                    tm.tm_mday, MON[tm.tm_mon - 1], tm.tm_year, tm.tm_hour,
                    tm.tm_min, tm.tm_sec, int(t * 1000) % 1000,
                    rstr(r, 8, HEX), self.client(), r.randrange(1024, 65535),
                    host, host, r.choice(["A", "AAAA", "HTTPS"]))
        if fmt == "zeek-dns":
            ans = ip
            if roll == 2 and r.random() < .3:
                ans = self.pick("ipv6")
            return "%.6f\tC%s\t%s\t%d\t10.0.0.53\t53\tudp\t%d\t0.%06d\t%s" \
                "\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t%s\t" \
                "300.000000\tF\n" % (t, rstr(r, 17), self.client(),
                                     r.randrange(1024, 65535),
                                     r.randrange(65536), r.randrange(99999),
                                     host, ans)
        if fmt == "eve":
            ts = "2024-01-15T%02d:%02d:%02d.%06d+0000" % (
                int(t / 3600) % 24, int(t / 60) % 60, int(t) % 60,
                int(t * 1e6) % 1000000)
            if r.random() < .3:
                h = rstr(r, 64, HEX)
                if roll == 2:
                    h = self.pick(r.choice(["md5", "sha1", "sha256"]))
                    if r.random() < .5:
                        h = h.upper()
                elif roll == 1:
                    h = self.pick("sha256")[:-1] + "0f"
                return '{"timestamp":"%s","flow_id":%d,"event_type":' \
                    '"fileinfo","src_ip":"%s","dest_ip":"%s","fileinfo":' \
                    '{"filename":"/%s.bin","sha256":"%s","size":%d}}\n' % (
                        ts, r.getrandbits(50), ip, self.client(),
                        rstr(r, 8), h, r.randrange(99999))
            return '{"timestamp":"%s","flow_id":%d,"event_type":"http",' \
                '"src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":80,' \
                '"proto":"TCP","http":{"hostname":"%s","url":"%s",' \
                '"http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; ' \
                'x64)","http_method":"GET","status":200,"length":%d}}\n' % (
                    ts, r.getrandbits(50), self.client(),
                    r.randrange(1024, 65535), ip, host, path,
                    r.randrange(99999))
        if fmt == "postfix":
            import time
            tm = time.gmtime(t)
            user = "%s@%s" % (rstr(r, 6), host)
            if roll == 2 and r.random() < .4:
                user = self.pick("email")
                if r.random() < .5:
                    user = user.upper()
            elif roll == 1 and r.random() < .4:
                user = "x" + self.pick("email")
            return "%s %2d %02d:%02d:%02d mx1 postfix/smtp[%d]: %s: " \
                "to=<%s>, relay=%s[%s]:25, delay=0.%d, status=sent " \
                "(250 2.0.0 Ok)\n" % (MON[tm.tm_mon - 1], tm.tm_mday,
                                      tm.tm_hour, tm.tm_min, tm.tm_sec,
                                      r.randrange(99999), rstr(r, 10, HEX
                                                               ).upper(),
                                      user, host, ip, r.randrange(99))
        # text
        extra = ""
        if roll and r.random() < .3:
            u = r.choice(IDN)
            extra = " idn=%s.%s" % (u if roll == 2 else "x" + u,
                                    r.choice(["com", "net"]))
        elif r.random() < .05:
            extra = " \u63a5\u7d9a\u5148%s\u3002" % host
        return "2024-01-15T%02d:%02d:%02dZ app[%d]: fetched %s from %s " \
            "user=%s status=200%s\n" % (int(t / 3600) % 24, int(t / 60) % 60,
                                         int(t) % 60, r.randrange(9999), url,
                                         ip, rstr(r, 6), extra)


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
    if all(c in HEX for c in v) and len(v) in (32, 40, 64):
        return {32: "md5", 40: "sha1", 64: "sha256"}[len(v)]
    return "domain"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=size_arg, default=size_arg("64M"))
    ap.add_argument("--sets", default="10000,100000,1000000")
    ap.add_argument("--hit-rate", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=20240115)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sets = sorted(int(x) for x in a.sets.split(","))
    inds = make_indicators(random.Random(a.seed), sets[-1])
    for n in sets:
        with open(os.path.join(a.out, "indicators-%d.txt" % n), "w") as f:
            f.write("\n".join(inds[:n]) + "\n")
    g = Gen(a.seed + 1, inds, a.hit_rate)
    per = a.size // len(FORMATS)
    for fmt in FORMATS:
        with open(os.path.join(a.out, "%s.log" % fmt), "w",
                  encoding="utf-8") as f:
            done = 0
            if fmt == "zeek-dns":
                hdr = "#separator \\x09\n#set_separator\t,\n#path\tdns\n" \
                    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t" \
                    "id.resp_p\tproto\ttrans_id\trtt\tquery\n"
                f.write(hdr)
                done += len(hdr)
            while done < per:
                batch = [g.line(fmt) for _ in range(2000)]
                s = "".join(batch)
                f.write(s)
                done += len(s.encode("utf-8"))


if __name__ == "__main__":
    main()
