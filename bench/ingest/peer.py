#!/usr/bin/env python3
"""The Python peer of `csip parse`: parse each mail with the standard
`email` package and extract the same indicator types with regular
expressions, refanging first.  Prints one JSON line per message with the
indicator set, so the benchmark can compare both speed and results.

Usage: peer.py [--bench] FILE...   (each FILE one .eml)

With --bench it prints one JSON line with the counts and the time spent
parsing and extracting (files are read first, as the C side does).
"""
import email
import email.policy
import hashlib
import ipaddress
import json
import re
import sys
import time

REFANG = [
    (re.compile(r"hxxp", re.I), "http"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)", re.I), "."),
    (re.compile(r"\[@\]|\[at\]|\(at\)", re.I), "@"),
    (re.compile(r"\[:\]"), ":"),
]
URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`|^{}\\]+", re.I)
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
DOMAIN = re.compile(r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                    r"(?:com|net|org|jp|info|biz|ru|cn|io|co|uk|de|xyz|top"
                    r"|online|site|club|shop|app|dev)\b", re.I)
HASHES = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
HEX = re.compile(r"\b[0-9A-Fa-f]{32,128}\b")
HREF = re.compile(r"""(?:href|src)\s*=\s*["']?([^"'\s>]+)""", re.I)


def refang(text):
    for rx, rep in REFANG:
        text = rx.sub(rep, text)
    return text


def extract(text, found, where=None, place=None):
    """Add TEXT's indicators to FOUND; WHERE, when given, maps each new one
    to PLACE (the comparison's use, not the bench's)."""
    before = len(found) if where is not None else 0
    text = refang(text)
    for m in URL.finditer(text):
        u = m.group(0).rstrip(".,;:!?)]}'\"")
        found.add(("url", u.lower() if "://" not in u else
                   u.split("://", 1)[0].lower() + "://" + u.split("://", 1)[1]))
    for m in EMAIL.finditer(text):
        found.add(("email", m.group(0).lower()))
    for m in IPV4.finditer(text):
        try:
            found.add(("ipv4", str(ipaddress.IPv4Address(m.group(0)))))
        except ValueError:
            pass
    for m in DOMAIN.finditer(text):
        found.add(("domain", m.group(0).lower()))
    for m in HEX.finditer(text):
        t = HASHES.get(len(m.group(0)))
        if t:
            found.add((t, m.group(0).lower()))
    if where is not None and len(found) != before:
        for x in found:
            where.setdefault(x, place)


def parse(raw, where=None):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    found = set()
    for h in ("From", "Reply-To", "Return-Path", "Subject"):
        v = msg.get(h)
        if v:
            extract(str(v), found, where, "header")
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = part.get_filename()
        if name:
            payload = part.get_payload(decode=True) or b""
            got = (("filename", name),
                   ("sha256", hashlib.sha256(payload).hexdigest()),
                   ("md5", hashlib.md5(payload).hexdigest()))
            found.update(got)
            if where is not None:
                for x in got:
                    where.setdefault(x, "attachment")
            continue
        if ctype.startswith("text/"):
            try:
                text = part.get_content()
            except Exception:
                payload = part.get_payload(decode=True) or b""
                text = payload.decode("utf-8", "replace")
            if ctype == "text/html":
                for m in HREF.finditer(text):
                    extract(m.group(1), found, where, "html-attribute")
                text = re.sub(r"<[^>]+>", " ", text)
            extract(text, found, where, "text")
    return found


def bench(paths):
    blobs = []
    for path in paths:
        with open(path, "rb") as f:
            blobs.append(f.read())
    n = failed = 0
    t0 = time.perf_counter()
    for raw in blobs:
        try:
            n += len(parse(raw))
        except Exception:
            failed += 1
    t1 = time.perf_counter()
    print(json.dumps({"tool": "python", "messages": len(blobs),
                      "bytes": sum(len(b) for b in blobs),
                      "seconds": t1 - t0, "indicators": n,
                      "failed": failed}))


def main():
    if sys.argv[1:2] == ["--bench"]:
        bench(sys.argv[2:])
        return
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            raw = f.read()
        where = {}
        try:
            found = parse(raw, where)
        except Exception as e:  # a peer that dies on one mail is no peer
            found = set()
            print(json.dumps({"source": path, "error": str(e)}))
            continue
        print(json.dumps({"source": path, "indicators": sorted(
            [{"type": t, "value": v, "where": where.get((t, v))}
             for t, v in found],
            key=lambda d: (d["type"], d["value"]))}, ensure_ascii=False))


if __name__ == "__main__":
    main()
