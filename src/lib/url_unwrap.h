/*
 * url_unwrap.h - the URLs a URL carries inside it: a redirector's target,
 * an image proxy's source, a mail gateway's rewritten link.
 *
 * Participants' mail gateways rewrite every link of the mails they deliver
 * (Microsoft Safe Links: ...safelinks.protection.outlook.com/?url=...;
 * Proofpoint URL Defense: urldefense.proofpoint.com/v2/url?u=... and
 * urldefense.com/v3/__...__), webmail proxies the images (Outlook's
 * imgproxy ?u=..., Google's googleusercontent ...#https://...), and
 * attackers chain open redirectors (?url=, ?redirect=, base64 in a
 * parameter).  The wrapper is different at every organisation that
 * forwards the same attack; the URL inside is what links their reports,
 * and what a blocklist needs.
 *
 * This module only finds candidates, by their shape; the caller parses
 * each one as a URL like any other text, so nothing here decides what an
 * indicator is.
 */
#ifndef CSIP_URL_UNWRAP_H
#define CSIP_URL_UNWRAP_H

#include <stddef.h>

/* At most this many URLs are taken out of one URL, counting every level,
 * and wrappers are opened this many levels deep. */
#define CSIP_URL_UNWRAP_MAX   16
#define CSIP_URL_UNWRAP_DEPTH 4
/* A URL longer than this is not looked into (real wrappers are a few
 * hundred bytes; a longer one is data, not a link). */
#define CSIP_URL_UNWRAP_MAX_LEN (16u * 1024)

/* The http and https URLs embedded in the LEN bytes of URL: in a query
 * parameter's value (raw, percent-encoded, encoded twice, base64 or
 * base64url, Proofpoint v2's "-3A__" form), in the fragment, and in the
 * path (Proofpoint v3's "__URL__;", an archive's /https://...).  Each is
 * decoded as found; a URL inside one found is looked for too (outermost
 * first, no value twice).  Any bytes are accepted.
 *
 * Returns a NULL-terminated vector the caller frees with g_strfreev(), or
 * NULL when the URL carries none. */
char **csip_url_unwrap(const char *url, size_t len);

/* Whether the LEN bytes of URL are a mail gateway's rewrite of a link:
 * Microsoft Safe Links (a host under safelinks.protection.outlook.com),
 * Proofpoint URL Defense (urldefense.proofpoint.com, urldefense.com),
 * Sophos (protection.sophos.com and hosts under it), Barracuda
 * (linkprotect.cudasvc.com), Trend Micro's time-of-click links (a host
 * under trendmicro.com, path /wis/clicktime/), Cisco Secure Email
 * (secure-web.cisco.com), Trellix/FireEye (protect2.fireeye.com) and
 * Symantec (clicktime.symantec.com).  Mimecast's links carry no target to
 * put in their place, and are not taken.
 * Such a URL is the recipient organisation's own infrastructure: it names
 * the recipient and the organisation's tenant and links no two reports,
 * so only what it wraps is an indicator. */
int csip_url_unwrap_is_gateway(const char *url, size_t len);

#endif
