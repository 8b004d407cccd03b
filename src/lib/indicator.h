/*
 * indicator.h - the indicator model: types, parsing with type detection,
 * validation, one canonical form per value, refanging and defanging.
 *
 * Every later part of csip (mail extraction, correlation, exports, the
 * matcher) stores and compares indicators by (type, canonical value), so the
 * canonical form is a contract: two inputs that denote the same thing must
 * canonicalise to the same bytes, and canonicalising a canonical value must
 * return it unchanged (idempotence; the fuzzer checks this).
 */
#ifndef CSIP_INDICATOR_H
#define CSIP_INDICATOR_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CSIP_IND_UNKNOWN = 0,
	CSIP_IND_IPV4,          /* 192.0.2.1 */
	CSIP_IND_IPV6,          /* 2001:db8::1 (RFC 5952) */
	CSIP_IND_CIDR4,         /* 192.0.2.0/24 (host bits cleared) */
	CSIP_IND_CIDR6,         /* 2001:db8::/32 */
	CSIP_IND_DOMAIN,        /* a registrable domain: example.co.jp */
	CSIP_IND_HOSTNAME,      /* a name below one: www.example.co.jp */
	CSIP_IND_URL,           /* http://example.com/a?b */
	CSIP_IND_EMAIL,         /* user@example.com */
	CSIP_IND_MD5,
	CSIP_IND_SHA1,
	CSIP_IND_SHA256,
	CSIP_IND_SHA512,
	CSIP_IND_SSDEEP,        /* 96:abc...:def... */
	CSIP_IND_FILENAME,
	CSIP_IND_ASN,           /* AS64496 */
	CSIP_IND_MUTEX,
	CSIP_IND_REGKEY,        /* HKEY_LOCAL_MACHINE\Software\... */
	CSIP_IND_USER_AGENT,
	CSIP_IND_EMAIL_SUBJECT,
	CSIP_IND_X_MAILER,
	CSIP_IND__COUNT
} csip_ind_type;

/* Flags describing a parsed value. */
enum {
	CSIP_IND_F_REFANGED = 1u << 0, /* the input was defanged */
	CSIP_IND_F_IDN      = 1u << 1, /* a host name had Unicode labels */
	CSIP_IND_F_PRIVATE  = 1u << 2, /* RFC 1918, fc00::/7, ... */
	CSIP_IND_F_RESERVED = 1u << 3, /* documentation, multicast, 0/8, ... */
	CSIP_IND_F_LOOPBACK = 1u << 4,
	CSIP_IND_F_LINKLOCAL = 1u << 5,
	CSIP_IND_F_PUBLIC_SUFFIX = 1u << 6 /* the name itself is a suffix (co.jp) */
};

typedef struct csip_indicator {
	csip_ind_type type;
	char *value;       /* canonical form; owned */
	char *display;     /* Unicode form for IDN host names, else a copy of
	                      value; owned */
	char *registrable; /* eTLD+1 for domain, hostname, URL, e-mail; NULL for
	                      other types or when there is none; owned */
	unsigned flags;
} csip_indicator;

/* The stable name of a type ("ipv4", "ipv6", "cidr4", "cidr6", "domain",
 * "hostname", "url", "email", "md5", "sha1", "sha256", "sha512", "ssdeep",
 * "filename", "asn", "mutex", "regkey", "user-agent", "email-subject",
 * "x-mailer").  Static string; "unknown" for out-of-range values. */
const char *csip_ind_type_name(csip_ind_type t);

/* The type of a name as above, or CSIP_IND_UNKNOWN. */
csip_ind_type csip_ind_type_from_name(const char *name);

/* Parse one value.  With hint CSIP_IND_UNKNOWN the type is detected; free-text
 * types (file name, mutex, user agent, subject, X-Mailer) are only taken when
 * hinted.  The input may be defanged and is refanged first.  On success *out
 * is a new indicator the caller frees with csip_indicator_free().  On failure
 * returns CSIP_EINVAL (or CSIP_ETOOBIG) with a message naming the input and
 * what is wrong, and *out is NULL. */
int csip_indicator_parse(const char *text, size_t len, csip_ind_type hint,
			 csip_indicator **out);

/* As csip_indicator_parse(), for callers that try many candidates and drop
 * what is refused (the text extractor, the mail parser): the answer and
 * *out are the same, but a refusal formats no message, and returns with
 * the last error cleared (csip_error_clear()).  Quoting the input and
 * writing the reason is most of the cost of a refusal. */
int csip_indicator_try(const char *text, size_t len, csip_ind_type hint,
		       csip_indicator **out);

/* Free an indicator; NULL is accepted. */
void csip_indicator_free(csip_indicator *ind);

/* A copy of IND, freed with csip_indicator_free(). */
csip_indicator *csip_indicator_dup(const csip_indicator *ind);

/* Undo defanging in free text: hxxp:// -> http://, [.] (.) [dot] {.} -> .,
 * [@] [at] -> @, meow:// and other known scheme tricks.  Returns a new
 * NUL-terminated string the caller frees with g_free(); never NULL. */
char *csip_refang(const char *text, size_t len);

/* A defanged rendering of a canonical value for display (example[.]com,
 * hxxp://...).  Returns a new string the caller frees with g_free(). */
char *csip_defang(csip_ind_type t, const char *value);

/* Parse an IPv4/IPv6 network in CIDR notation (a bare address is a /32 or
 * /128) and return its canonical form in *out (g_free()).  Used for the
 * internal networks of organisations. */
int csip_cidr_canonical(const char *text, char **out);

/* Canonicalise a mail domain of an organisation (lower-case, punycode, no
 * trailing dot; must be a valid host name).  *out is freed with g_free(). */
int csip_domain_canonical(const char *text, char **out);

#endif
