#!/usr/bin/env python3
"""The statistics charts in a real browser.

Makes a hub with reports and items in FY2016, writes `csip stats --fy 2016
--svg`, and opens the file as it is in headless Chromium: the DOM Chromium
builds must be an SVG document without a parser error, and a screenshot
must show the bars in their colours.  The PNG is decoded here with zlib
and struct, so nothing beyond python3 and Chromium is needed.

Chromium comes from Debian's chromium package (scripts/install-deps). When
it is missing the test fails, except for a user who is not root (who
cannot install it), for whom it is skipped (exit 77).

Usage: test_stats_browser.py PATH-TO-CSIP
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import testdb  # noqa: E402

CSIP = None
SKIP = 77

# The first colours of the charts' palette (src/lib/stats.c).
BLUE = (0x00, 0x72, 0xB2)
ORANGE = (0xE6, 0x9F, 0x00)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA
    non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


class TestStatsInBrowser(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="csip-browser-")
        self.conf = os.path.join(self.dir, "csip.conf")
        self.database = testdb.Database(os.path.join(self.dir, "data"))
        with open(self.conf, "w") as f:
            f.write("[data]\ndir = %s\n\n%s" % (
                os.path.join(self.dir, "data"), self.database.conf()))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def csip(self, *args):
        e = dict(os.environ)
        e.pop("CSIP_CONFIG", None)
        p = subprocess.run([CSIP, "--config", self.conf] + list(args),
                           capture_output=True, text=True, env=e,
                           cwd=self.dir, timeout=120)
        self.assertEqual(p.returncode, 0, "csip %s: %s" % (args, p.stderr))
        return p.stdout

    def make_chart(self):
        self.csip("init")
        self.csip("sig", "add", "energy")
        self.csip("sig", "add", "gas")
        self.csip("org", "add", "kanto", "--sig", "energy", "--sig", "gas",
                  "--nda", "2010-04-01")
        con = self.database.connect()
        try:
            org = con.execute("SELECT id FROM org WHERE name = 'kanto'"
                              ).fetchone()[0]
            for n in range(12):
                at = "2016-%02d-10T00:00:00Z" % (4 + n % 9)
                con.execute(
                    "INSERT INTO report (org_id, kind, permission, "
                    "attribution, tlp, source, received_at, raw_sha256, "
                    "attack_type) VALUES (?, 'indicators', 'sig', 'none', "
                    "'amber', 'test', ?, ?, ?)",
                    (org, at, "%064d" % n,
                     "targeted-mail" if n % 2 else "<b>&\"quoted\""))
            con.execute(
                "INSERT INTO item (title, tlp, audience, status, "
                "created_by, created_at, updated_at, published_at) VALUES "
                "('t', 'amber', 'community', 'published', 'x', "
                "'2016-05-01T00:00:00Z', '2016-05-01T00:00:00Z', "
                "'2016-05-01T00:00:00Z')")
            con.commit()
        finally:
            con.close()
        svg = os.path.join(self.dir, "fy2016.svg")
        self.csip("stats", "--fy", "2016", "--svg", "--output", svg)
        return svg

    def browser(self, *args):
        exe = chromium()
        profile = os.path.join(self.dir, "profile")
        argv = [exe, "--headless", "--disable-gpu", "--no-first-run",
                "--hide-scrollbars", "--user-data-dir=" + profile]
        if os.geteuid() == 0:
            # Chromium refuses to run its sandbox as root.
            argv.append("--no-sandbox")
        p = subprocess.run(argv + list(args), capture_output=True,
                           text=True, cwd=self.dir, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return p

    def test_svg_renders(self):
        svg = self.make_chart()
        url = "file://" + svg
        # The document Chromium built: SVG, with no XML parser error.
        dom = self.browser("--dump-dom", url).stdout
        self.assertIn("<svg", dom)
        self.assertNotIn("parsererror", dom)
        self.assertIn("Reports received by SIG of the provider", dom)
        # What it drew: bars in the palette's colours on white.
        png = os.path.join(self.dir, "shot.png")
        self.browser("--screenshot=" + png, "--window-size=960,900", url)
        self.assertGreater(os.path.getsize(png), 1000)
        width, height, rows = read_png(png)
        self.assertEqual((width, height), (960, 900))
        counts = {}
        for row in rows:
            for px in row:
                counts[px] = counts.get(px, 0) + 1
        white = counts.get((255, 255, 255), 0)
        self.assertGreater(white, width * height // 2,
                           "the background is not white")
        self.assertGreater(width * height - white, 5000,
                           "nearly nothing was drawn")
        near = lambda c: sum(n for px, n in counts.items()
                             if all(abs(a - b) <= 8 for a, b in zip(px, c)))
        self.assertGreater(near(BLUE), 500, "no blue bars")
        self.assertGreater(near(ORANGE), 200, "no orange bars")


def main():
    global CSIP
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CSIP = os.path.abspath(sys.argv.pop(1))
    if chromium() is None:
        if os.geteuid() != 0:
            print("chromium is missing; as root, scripts/install-deps "
                  "installs it: skipped")
            sys.exit(SKIP)
        sys.exit("chromium is missing: run scripts/install-deps (Debian "
                 "packages chromium and chromium-driver)")
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
