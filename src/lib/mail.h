/*
 * mail.h - parse a reported e-mail and extract everything an analyst
 * needs from it: sender-side headers, the Received chain with the
 * originating IP, authentication verdicts, bodies (text and HTML),
 * attachments with hashes, archives opened, and every indicator with where
 * it was found.
 *
 * Participants forward attack mails to the hub, as a message/rfc822
 * attachment or inline; the parser unwraps the forward, analyses the
 * attack mail inside and keeps the forwarding mail's sender as the
 * forwarder.  The recipients (the victims) are never indicators.
 *
 * Untrusted input all the way: every size, depth and count has a cap, and
 * a malformed message gives a result with warnings, not an error.
 */
#ifndef CSIP_MAIL_H
#define CSIP_MAIL_H

#include "lib/extract.h"

#include <jansson.h>
#include <stddef.h>

typedef struct csip_mail csip_mail;

typedef struct csip_mail_limits {
	size_t max_size;            /* whole message; default 50 MiB */
	unsigned max_depth;         /* nesting of multiparts/messages/
	                               archives; default 16 */
	unsigned max_parts;         /* MIME parts plus archive members;
	                               default 2000 */
	size_t max_expanded;        /* total bytes unpacked from archives;
	                               default 256 MiB */
	unsigned max_ratio;         /* archive expansion ratio; default 100 */
} csip_mail_limits;

#define CSIP_MAIL_MAX_SIZE (50u * 1024 * 1024)

/* Fill LIM with the defaults above. */
void csip_mail_limits_default(csip_mail_limits *lim);

/* Parse a message (raw RFC 5322 bytes; an mbox "From " line in front is
 * skipped).  Never fails on malformed content: problems become warnings.
 * Returns CSIP_EINVAL only when the input is not a mail at all (no header
 * block), CSIP_ETOOBIG above lim->max_size; LIM may be NULL for the
 * defaults.  When the message forwards another one (a message/rfc822 or
 * text/rfc822-headers attachment that is its only attachment, or an
 * inline "---- Forwarded message ----", "-----Original Message-----" or
 * Japanese "転送" block with headers), the forwarded mail is the one
 * analysed and the outer one is kept as the forwarder.  *OUT is freed with
 * csip_mail_free().  Thread-safe (GMime is initialised once). */
int csip_mail_parse(const char *data, size_t len, const csip_mail_limits *lim,
		    csip_mail **out);

/* csip_mail_parse() for a mail reported by a known provider.  PROVIDER
 * (NULL-terminated, may be NULL) lists what identifies the victims beyond
 * the recipients the headers name: entries with an '@' are addresses
 * (a recipient hidden behind "undisclosed-recipients"), the others are
 * the provider's mail domains (subdomains included).  No indicator is, or
 * carries, any of them: addresses and hosts at those domains are dropped,
 * and a URL, subject or file name holding such an address keeps its
 * place with the address replaced by recipient@redacted.invalid. */
int csip_mail_parse_for(const char *data, size_t len,
			const csip_mail_limits *lim,
			const char *const *provider, csip_mail **out);

/* The password candidates that csip_mail_parse() tries on encrypted
 * archives, from TEXTS (N UTF-8 texts, the mail's bodies): first what
 * follows a password keyword, then every short token.  A NULL-terminated
 * vector, at most 64 entries, freed with g_strfreev(). */
char **csip_mail_passwords(const char *const *texts, size_t n);

/* Free a parsed mail; NULL is accepted. */
void csip_mail_free(csip_mail *m);

/* Everything extracted, as one JSON object (a new reference):
 *   headers: from, sender, reply_to, return_path ({address, name} or
 *     null), to, cc (lists), subject (UTF-8), date (ISO 8601), date_raw,
 *     message_id, x_mailer, user_agent, x_originating_ip;
 *   authentication: {spf, dkim, dmarc} verdicts (null when absent);
 *   received: [{from, rdns, by, ip, date, external, provider}] top (newest)
 *     first; originating_ip and border_ip (see mail.c for the rule);
 *   bodies: [{type, charset, decoder, size, text, truncated, hrefs, srcs}];
 *   attachments: [{filename, declared_type, detected_type (libmagic),
 *     transfer_encoding, size, md5, sha1, sha256, ssdeep; for archives
 *     archive_format, encrypted, password (the one from the body that
 *     opened it), bomb, members: [same shape, or {filename, size,
 *     encrypted, damaged} when unreadable]; for mails mail: {from,
 *     subject, date, message_id, attachments}}];
 *   forwarded_by: {address, name} and forward: "attachment" | "inline"
 *     when a forward was unwrapped;
 *   indicators: csip_extract_set_json(); warnings: [strings]. */
json_t *csip_mail_json(const csip_mail *m);

/* The indicators; owned by M. */
const csip_extract_set *csip_mail_indicators(const csip_mail *m);

/* The analysed mail's subject (UTF-8) or NULL. */
const char *csip_mail_subject(const csip_mail *m);

/* The analysed mail's From address, lower-cased, or NULL. */
const char *csip_mail_from_address(const csip_mail *m);

/* The outer From (lower-cased) when a forward was unwrapped, else NULL. */
const char *csip_mail_forwarder_address(const csip_mail *m);

/* The analysed mail's Message-ID without angle brackets, or NULL. */
const char *csip_mail_message_id(const csip_mail *m);

/* The SHA-256 of each attachment (archive members included), for campaign
 * grouping; hex strings owned by M.  Members that could not be read have
 * none and are not counted. */
size_t csip_mail_attachment_count(const csip_mail *m);
const char *csip_mail_attachment_sha256(const csip_mail *m, size_t i);

/* Number of warnings (each is a string in csip_mail_json()). */
size_t csip_mail_warning_count(const csip_mail *m);

/* The Ith warning (owned by M), or NULL past the end. */
const char *csip_mail_warning(const csip_mail *m, size_t i);

#endif
