#!/usr/bin/env python3
"""Compare the indicator sets of `csip parse --json` and the Python peer
(bench/ingest/peer.py) mail by mail, and say why each one the other side
lacks is missing.

The issue asks for "the same or better indicators" than the peer; counts
alone cannot show that (the peer takes every `name.tld` and every hex run
of a digest's length).  So every indicator only one side found is put in a
class with a reason, decided from the mail's own csip output and from
`csip indicator` (the same parser the hub uses), and the ones no rule
explains are listed, for a person to read.

Usage: compare.py CSIP PEER.py FILE...
       compare.py --list LIST CSIP PEER.py    (LIST: one mail path a line)
       compare.py --from CSIP.jsonl PEER.jsonl CSIP   (outputs made before)

Prints a Markdown table per type and then the unexplained values, at most
--examples of each type (default 10).  Exit status 0; this is a report,
not a test.
"""
import argparse
import collections
import html
import json
import subprocess
import sys
import urllib.parse

HASHES = ("md5", "sha1", "sha256", "sha512")

# Mail gateways' link rewrites, whose wrapped link csip takes instead
# (the hosts of csip_url_unwrap_is_gateway() in src/lib/url_unwrap.c,
# which decides; kept here only to name the reason).
GATEWAY_HOSTS = ("urldefense.proofpoint.com", "urldefense.com",
                 ".safelinks.protection.outlook.com",
                 "protection.sophos.com", "linkprotect.cudasvc.com",
                 ".trendmicro.com", "secure-web.cisco.com",
                 "protect2.fireeye.com", "clicktime.symantec.com")


def gateway_host(h):
    return any(h == g.lstrip(".") or h.endswith("." + g.lstrip("."))
               for g in GATEWAY_HOSTS)


def run_lines(argv, files):
    """Run ARGV with FILES appended in batches; the JSON lines it prints."""
    out = []
    for i in range(0, len(files), 200):
        p = subprocess.run(argv + files[i:i + 200], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, check=False)
        out += [json.loads(l) for l in p.stdout.decode().splitlines()
                if l.strip()]
    return out


def by_source(lines):
    got = collections.defaultdict(list)
    for o in lines:
        got[o.get("source")].append(o)
    return got


def host_of(url):
    try:
        return (urllib.parse.urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def url_key(url):
    """A URL as both sides would agree it is the same: entities decoded,
    scheme and host in lower case, no trailing slash."""
    u = html.unescape(url).strip()
    try:
        s = urllib.parse.urlsplit(u)
        netloc = s.netloc.lower()
        path = s.path.rstrip("/")
        return urllib.parse.urlunsplit((s.scheme.lower(), netloc, path,
                                        s.query, s.fragment))
    except ValueError:
        return u


def flags_of(csip, pairs):
    """`csip indicator --type T --json` of each (type, value): a dict from
    the pair to csip's canonical value and the flags it gives it, without
    the pairs csip refuses.
    Values with a NUL cannot be arguments; they count as refused."""
    res = {}
    per = collections.defaultdict(set)
    for t, v in pairs:
        if "\0" not in v:
            per[t].add(v)
    for t, vals in per.items():
        vals = sorted(vals)
        for i in range(0, len(vals), 500):
            p = subprocess.run([csip, "indicator", "--json", "--type", t,
                                "--"] + vals[i:i + 500],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, check=False)
            for l in p.stdout.decode().splitlines():
                try:
                    o = json.loads(l)
                except ValueError:
                    continue
                res[(t, o.get("input"))] = (o.get("value"),
                                            o.get("flags") or [])
    return res


class Mail:
    """What csip said about one mail, in the forms the rules ask."""

    def __init__(self, outs, path=None):
        self.path = path
        self._raw = None
        self.set = set()
        self.hosts = set()
        self.recipients = set()
        self.urls = set()
        self.where = {}
        self.digests = set()
        self.names = set()
        self.values = []
        self.forwarded = False
        for o in outs:
            self.forwarded |= bool(o.get("forwarded_by"))
            hdr = o.get("headers") or {}
            for k in ("to", "cc"):
                for a in hdr.get(k) or []:
                    if a and a.get("address"):
                        self.recipients.add(a["address"].lower())
            for a in o.get("attachments") or []:
                for h in HASHES:
                    if a.get(h):
                        self.digests.add(a[h])
            for i in o.get("indicators") or []:
                t, v = i["type"], i["value"]
                if t == "hostname":
                    t = "domain"
                self.set.add((t, v))
                self.values.append(v.lower())
                self.where.setdefault((t, v), i.get("where"))
                if t == "url":
                    self.urls.add(url_key(v))
                    self.hosts.add(host_of(v))
                elif t == "email":
                    self.hosts.add(v.rsplit("@", 1)[-1].lower())
                elif t == "domain":
                    self.hosts.add(v.lower())
                elif t == "filename":
                    self.names.add(v)

    def covers_host(self, d):
        return any(h == d or h.endswith("." + d) for h in self.hosts)

    def contains(self, v):
        """Whether V is a proper piece of a value csip found."""
        v = v.lower()
        return any(v in x and v != x for x in self.values)

    def raw(self):
        """The mail's bytes in lower case, read on first use."""
        if self._raw is None:
            try:
                with open(self.path, "rb") as f:
                    self._raw = f.read().decode("latin-1").lower()
            except (OSError, TypeError):
                self._raw = ""
        return self._raw

    def verp_of_recipient(self, v):
        """Whether V is the tail of a recipient glued into a longer
        address: a VERP bounce address (bounce+user=example.com@list),
        or an address whose local part is the recipient's
        (user@example@host, where a corpus replaced a mailbox)."""
        v = v.lower()
        head, tail = v.split("@")[0], v.split("@")[-1]
        raw = self.raw()
        return any((r + "=" + head) in raw or (r + "@" + tail) in raw
                   for r in self.recipients)

    def names_recipient(self, v):
        v = v.lower()
        return any(r in v or v == r.rsplit("@", 1)[-1]
                   for r in self.recipients)


def why_peer_only(t, v, where, m, flags, peer_urls):
    """The class of an indicator only the peer found."""
    canon, f = flags.get((t, v), (None, None))
    if canon is not None and canon != v and (t, canon) in m.set:
        return "the same, in csip's canonical form"
    if m.names_recipient(v) or (t == "url" and m.names_recipient(
            urllib.parse.unquote(html.unescape(v)))):
        return "names a recipient (csip leaves the victim out)"
    if t in ("domain", "email") and m.verp_of_recipient(v):
        return "a piece of a longer address around a recipient's"
    if t in ("domain", "email", "ipv4") and m.contains(v):
        return "a piece of a longer indicator csip found"
    if (t == "url" and gateway_host(host_of(html.unescape(v)))) or \
            (t == "domain" and (gateway_host(v.lower()) or any(
                v.lower() in u.lower() and gateway_host(host_of(
                    html.unescape(u))) for u in peer_urls))):
        return "a mail gateway's rewrite (csip takes the link it wraps)"
    if t == "url":
        if url_key(v) in m.urls:
            return "the same URL once HTML entities are decoded"
        if any(u.startswith(url_key(v)) or url_key(v).startswith(u)
               for u in m.urls):
            return "the same URL, cut at another character"
        if f is None:
            return "not a URL by csip's parser"
    if t == "domain":
        if m.covers_host(v):
            return "a host of a csip URL, address or host name"
        if f is None:
            return "not a host name by csip's parser"
    if t == "email" and f is None:
        return "not an address by csip's parser"
    if t in ("ipv4", "email", "domain", "url") and f:
        return "flagged by csip (%s)" % ",".join(f)
    if m.forwarded and where == "attachment":
        return "in the forwarding mail (a bounce or forward) around the " \
            "one csip analyses"
    if t in HASHES:
        if where == "attachment":
            return "digest of a part csip does not take as an attachment"
        if any(v in u.lower() for u in peer_urls):
            return "a hex run inside a URL, not a digest"
        return "a hex run in text"
    if t == "filename":
        if any(n.endswith(v) or v.endswith(n) for n in m.names):
            return "the same name, decoded otherwise"
        return "name of a part csip does not take as an attachment"
    if m.forwarded:
        return "in the forwarding mail (a bounce or forward) around the " \
            "one csip analyses"
    return None


def why_csip_only(t, where):
    if t in ("email-subject", "x-mailer", "ssdeep", "ipv6"):
        return "a type the peer does not extract"
    if where and where.startswith("header:") and t in ("ipv4", "domain"):
        return "from the Received chain or X-Originating-IP"
    if t in HASHES and where and "attachment" in where:
        return "an attachment digest (nested, archive or peer's type gap)"
    return "found in a body or attachment"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="frm", nargs=2,
                    metavar=("CSIP_JSONL", "PEER_JSONL"))
    ap.add_argument("--list", help="a file naming the mails, one a line")
    ap.add_argument("--examples", type=int, default=10,
                    help="unexplained values shown per type")
    ap.add_argument("csip")
    ap.add_argument("peer", nargs="?")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.list:
        with open(a.list) as f:
            a.files += [l.rstrip("\n") for l in f if l.strip()]
    if a.frm:
        c_lines = [json.loads(l) for l in open(a.frm[0]) if l.strip()]
        p_lines = [json.loads(l) for l in open(a.frm[1]) if l.strip()]
    else:
        if not a.peer or not a.files:
            ap.error("give CSIP, PEER.py and the mails, or --from")
        c_lines = run_lines([a.csip, "parse", "--json"], a.files)
        p_lines = run_lines([sys.executable, a.peer], a.files)
    cs, ps = by_source(c_lines), by_source(p_lines)

    mails = {}
    peer = {}
    for src, outs in ps.items():
        mails[src] = Mail(cs.get(src, []), src)
        peer[src] = {}
        for o in outs:
            for i in o.get("indicators") or []:
                peer[src][(i["type"], i["value"])] = i.get("where")
    flags = flags_of(a.csip, [x for p in peer.values() for x in p])

    both = collections.Counter()
    only_p = collections.defaultdict(collections.Counter)
    only_c = collections.defaultdict(collections.Counter)
    unexplained = collections.defaultdict(list)
    for src, pset in peer.items():
        m = mails[src]
        purls = [v for (t, v) in pset if t == "url"]
        for (t, v), where in pset.items():
            if (t, v) in m.set:
                both[t] += 1
                continue
            why = why_peer_only(t, v, where, m, flags, purls)
            if why is None:
                why = "unexplained"
                unexplained[t].append((src, v))
            only_p[t][why] += 1
        for (t, v) in m.set - set(pset):
            only_c[t][why_csip_only(t, m.where.get((t, v)))] += 1

    types = sorted(set(both) | set(only_p) | set(only_c))
    print("| type | both | csip only | peer only | peer only, unexplained |")
    print("|---|---:|---:|---:|---:|")
    for t in types:
        print("| %s | %d | %d | %d | %d |" % (
            t, both[t], sum(only_c[t].values()), sum(only_p[t].values()),
            only_p[t]["unexplained"]))
    for title, table in (("the peer", only_p), ("csip", only_c)):
        print()
        print("Indicators only %s found, by reason:" % title)
        print()
        print("| type | reason | count |")
        print("|---|---|---:|")
        for t in types:
            for why, n in table[t].most_common():
                print("| %s | %s | %d |" % (t, why, n))
    for t in sorted(unexplained):
        print()
        print("Unexplained %s (%d), first %d:" % (
            t, len(unexplained[t]), min(a.examples, len(unexplained[t]))))
        for src, v in sorted(unexplained[t])[:a.examples]:
            print("    %s  %s" % (src, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
