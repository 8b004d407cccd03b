#!/usr/bin/env python3
"""mix.py - bench/match: random log lines full of the matcher's traps, to
compare two builds of `csip match` byte for byte.

    python3 bench/match/mix.py SEED INDICATORS LOG LINES [--ascii]

Writes a small indicator list (hosts, networks, IPv6, e-mail addresses,
hashes, URLs) to INDICATORS and LINES lines to LOG: those values cut,
padded, doubled, upper-cased, glued with ':', '@', '+', "..", trailing
dots and dashes, next to times, floats, non-ASCII text and bare
punctuation.  With --ascii, no byte above 0x7F.  Then, for two builds:

    build/csip match -q -t 1 -f text --indicators INDICATORS LOG | md5sum
"""
import random
import sys

ASCII = "--ascii" in sys.argv
rnd = random.Random(int(sys.argv[1]))
hosts = ["evil.example", "a.b.evil.example", "bad.co.jp", "x-y.bad.org", "sub.host.net", "c2.test", "xn--bcher-kva.example", "dl.files.com"]
ips = ["10.1.2.3", "192.168.7.0/24", "8.8.8.8", "1.2.3.4", "203.0.113.0/25", "100.64.0.0/10"]
v6 = ["2001:db8::1", "2001:db8:1::/48", "::ffff:1.2.3.4", "fe80::/10", "::1"]
emails = ["bob@evil.example", "alice.x@bad.co.jp", "a+b@c2.test"]
hashes = ["".join(rnd.choice("0123456789abcdef") for _ in range(k)) for k in (32, 40, 64, 32, 128)]
urls = ["http://evil.example/x/y", "https://dl.files.com/a.exe", "http://1.2.3.4:8080/p?q=1"]
with open(sys.argv[2], "w") as f:
    for v in hosts + ips + v6 + emails + hashes + urls:
        f.write(v + "\n")
def host():
    h = rnd.choice(hosts)
    r = rnd.random()
    if r < 0.2: h = rnd.choice(["www.", "a.", "x.y.", "-", ".", "..", "1.", "not"]) + h
    if r > 0.8: h = h + rnd.choice([".", "-", "..", ".com", ".1", ":80", ".x", "..y"])
    if rnd.random() < 0.1: h = h.upper()
    return h
def ip():
    if rnd.random() < 0.5:
        return ".".join(str(rnd.choice([0, 1, 2, 3, 4, 7, 8, 10, 64, 100, 113, 192, 168, 203, 255, 256, 999, rnd.randrange(300)])) for _ in range(rnd.choice([3, 4, 4, 4, 5])))
    b = rnd.choice(ips).split("/")[0]
    r = rnd.random()
    if r < 0.2: b = b + rnd.choice([".", "..1", ":443", "-", "..", ".5"])
    if r > 0.8: b = rnd.choice(["-", ".", "1..", "a.", "x"]) + b
    return b
def tok():
    r = rnd.random()
    if r < 0.2: return host()
    if r < 0.4: return ip()
    if r < 0.45: return rnd.choice(v6) .split("/")[0] + rnd.choice(["", "", ":", "%eth0", ".1"])
    if r < 0.5: return rnd.choice(emails).replace("@", rnd.choice(["@", "@", "@@", "@x@"]))
    if r < 0.55: h = rnd.choice(hashes); return h if rnd.random() < .7 else h + rnd.choice(["0", ".x", "-1", "g"])
    if r < 0.6: return rnd.choice(urls) + rnd.choice(["", ".", ")", "#f"])
    if r < 0.65: return "%02d:%02d:%02d.%03d" % (rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), rnd.randrange(1000))
    if r < 0.7: return "".join(rnd.choice("ab.:@+-_19") for _ in range(rnd.randrange(1, 12)))
    if r < 0.73 and ASCII: return rnd.choice(hashes) * 2
    if r < 0.73: return rnd.choice(["ümlaut.evil.example", "ア.evil.example", "日本evil.example", "é.bad.co.jp", "\xe3\x81" ])
    if r < 0.8: return "%.6f" % (rnd.random() * 1000)
    if r < 0.85: return "+".join([host(), ip()])
    if r < 0.9: return host() + "@" + host()
    return rnd.choice(["GET", "query:", "IN", "A", "-", "user=x", "status=200", "(", ")", "[", "]", "\"", "::", ":"])
with open(sys.argv[3], "w", encoding="utf-8", errors="surrogateescape") as f:
    for _ in range(int(sys.argv[4])):
        seps = [" ", " ", " ", "\t", ",", "(", ")", "/", "=", "\"", "<", ">", "#", ";", "[", "]"]
        f.write("".join(tok() + rnd.choice(seps) for _ in range(rnd.randrange(1, 25))) + "\n")
