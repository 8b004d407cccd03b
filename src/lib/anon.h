/*
 * anon.h - anonymise a reported e-mail so the hub can share it.
 *
 * Invariant 4 of the design: the recipients of a reported e-mail (their
 * addresses, names, internal Received hops, internal IP addresses) and the
 * provider itself (its mail domains and host names) never appear in
 * anything shared.  This module turns one RFC 5322 message into a copy
 * without them, and lists what it removed for the hub's analysts.
 *
 * What goes, and what replaces it (the same value always gets the same
 * placeholder within one message):
 *
 *   recipient address      recipient-N@redacted.invalid
 *   its local part alone   recipient-N         (4+ characters, not a role
 *                                               name such as "info")
 *   recipient name         Recipient-N         (the display name, its
 *                                               parts, e.g. the family
 *                                               name in "山田様")
 *   provider domain        redacted.invalid
 *   provider host          host-N.redacted.invalid
 *   internal IP address    ip-N.redacted.invalid
 *   internal Received hop  the header is dropped
 *   mail gateway's link    the link it wraps (Safe Links, Proofpoint URL
 *                          Defense: the wrapper carries the recipient and
 *                          the organisation's tenant or customer id); one
 *                          whose target cannot be read fails closed
 *
 * Recipients come from the recipient headers (To, Cc, Bcc, Delivered-To,
 * X-Original-To, Envelope-To, X-Envelope-To, Resent-*, the DSN recipient
 * fields, Received "for" clauses) of the message and of every message
 * inside it; with a policy, every address at a provider domain is one too
 * (a phishing mail spoofing it-support@<provider>).  They are replaced in
 * every header and text, also percent-encoded, as HTML entities and inside
 * base64 (of the address alone or of a longer string, in URLs or text).
 *
 * The attacker's side is kept: the sender, its IP and host, links (with the
 * recipient identity inside them replaced), and binary attachments byte for
 * byte (when those bytes themselves hold a recipient address or a provider
 * name, the message fails closed instead).  Archives (zip, gzip, 7z, rar,
 * tar, ...; found by their magic numbers) are kept byte for byte too, and
 * searched inside: a member that is a mail is searched as a nested
 * message, one that is text as text (names included), any other as a
 * binary attachment, archives inside in turn, and member names as text;
 * encrypted members are read with the password candidates of the bodies
 * (those csip_mail_parse() tries), and one no candidate opens counts as
 * unreadable, not as a leak.  An identity in a member, or an archive that
 * could not be unpacked whole (a zip bomb, more members or unpacked bytes
 * than csip_mail_parse()'s limits), fails the message.
 *
 * Text parts (and text attachments: .txt, .html, .eml, scripts) are
 * decoded from their charset, rewritten, and written back as UTF-8;
 * message/rfc822 parts are anonymised recursively.
 *
 * Received hops: a hop whose receiving side ("by") and sending side
 * ("from") are both internal (a provider host or an IP in a provider
 * network or a private range) is dropped; the border hop keeps the
 * attacker's side and loses the provider's names and addresses.
 *
 * Before returning, the result is parsed again and every header, every
 * text part and every percent-, entity- or base64-encoded run in them is
 * searched for every identity found (and the raw bytes for addresses,
 * hosts and IPs, and the members of archives as above); if one is left
 * the function fails closed.
 */
#ifndef CSIP_ANON_H
#define CSIP_ANON_H

#include <jansson.h>
#include <stddef.h>

/* Messages above this size are refused with CSIP_ETOOBIG. */
#define CSIP_ANON_MAX_MESSAGE (64u * 1024 * 1024)

/* What "the provider" is.  Both vectors are NULL-terminated, may be NULL,
 * and are borrowed for the duration of the call. */
typedef struct csip_anon_policy {
	char **domains;    /* the provider's mail domains, canonical */
	char **networks;   /* the provider's internal networks, canonical
	                      CIDR (a bare address is one host) */
} csip_anon_policy;

/* Anonymise the message in DATA (LEN bytes).  POL may be NULL: the
 * recipients are then still found from the headers.
 *
 * On success returns CSIP_OK, *out holds the anonymised message as RFC 5322
 * text (NUL-terminated, freed with g_free()), *out_len its length, and
 * *removed (json_decref()) a JSON array describing what was removed, for
 * the hub's analysts only:
 *
 *   [{"kind": "recipient-address" | "recipient-local-part" |
 *             "recipient-name" | "provider-domain" | "provider-host" |
 *             "internal-ip" | "internal-received" | "provider-header" |
 *             "gateway-link" | "provider-id",
 *     "value": <original>, "placeholder": <replacement or null when the
 *     header was dropped>, "where": ["header:To", "part 1 (text/plain)",
 *     ...]}]
 *
 * Fails with CSIP_EINVAL when the bytes are not a mail or a policy entry
 * is malformed, CSIP_ETOOBIG above CSIP_ANON_MAX_MESSAGE, and CSIP_ERR
 * ("anonymisation incomplete: ...") when the final check still finds an
 * identity in the result (in an archive: naming the part and the member)
 * or cannot search an archive whole; the message never names the
 * identity.  On failure *out is NULL, *out_len 0 and *removed NULL. */
int csip_anon_message(const char *data, size_t len,
		      const csip_anon_policy *pol, char **out,
		      size_t *out_len, json_t **removed);

/* For the tests: GMime's reading of a header of raw value RAW (what
 * g_mime_header_get_value() returns for it once parsed) as the final check
 * takes it without asking GMime, where the check knows it, or NULL where
 * the check asks GMime.  A new string (g_free()). */
char *csip_anon_known_reading(const char *raw);

#endif
