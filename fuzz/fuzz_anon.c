/*
 * fuzz_anon.c - libFuzzer target for the anonymiser.
 *
 * Any bytes in, anonymised with a fixed policy (the provider is
 * victim.example.jp and pot, with networks 10.0.0.0/8 and 192.168.0.0/16).
 * The anonymiser may refuse the input (not a mail) or fail closed, but
 * never crash or leak; and when it succeeds, the planted identities are
 * not in the result: neither provider domain with dots, nor any address
 * that the input's own To, Cc, Bcc name (as GMime reads them, not as
 * anon.c does, so a discovery blind spot shows).
 */
#include "lib/anon.h"
#include "util/error.h"

#include <glib.h>
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *domains[] = { "victim.example.jp", "pot", NULL };
static char *networks[] = { "10.0.0.0/8", "192.168.0.0/16", NULL };

static gpointer
init(gpointer unused)
{
	(void)unused;
	g_mime_init();
	return NULL;
}

/* Addresses the anonymiser promises to find: plain local@domain. */
static gboolean
plain_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) < 6)
		return FALSE;
	for (const char *p = a; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("._+-@", *p))
			return FALSE;
	/* A placeholder's domain, in any case, is the anonymiser's own
	 * (it takes "@REDACTED.invalid" for one too). */
	return g_ascii_strcasecmp(at, "@redacted.invalid") != 0 &&
	       strchr(".-", at[1]) == NULL;
}

static void
collect(InternetAddressList *l, GPtrArray *out, int depth)
{
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 4)
			collect(internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia)), out, depth + 1);
		else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *a = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));

			if (a && plain_address(a))
				g_ptr_array_add(out, g_ascii_strdown(a, -1));
		}
	}
}

static GPtrArray *
recipients(const uint8_t *data, size_t size)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(
		(const char *)data, size);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	if (m) {
		collect(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO),
			out, 0);
		collect(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_CC),
			out, 0);
		collect(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_BCC),
			out, 0);
		g_object_unref(m);
	}
	g_object_unref(p);
	g_object_unref(st);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static GOnce once = G_ONCE_INIT;
	const csip_anon_policy pol = { domains, networks };
	char *out = NULL, *lower;
	size_t out_len = 0;
	json_t *removed = NULL;
	GPtrArray *rcpt;

	if (size > (1u << 20))
		return 0;
	g_once(&once, init, NULL);
	if (csip_anon_message((const char *)data, size, &pol, &out, &out_len,
			      &removed) < 0) {
		if (out || removed)
			abort();
		csip_error_clear();
		return 0;
	}
	if (!out || !json_is_array(removed) || strlen(out) > out_len)
		abort();
	lower = g_malloc(out_len + 1);
	for (size_t i = 0; i <= out_len; i++)  /* NULs and all */
		lower[i] = g_ascii_tolower(out[i]);
	if (memmem(lower, out_len, "victim.example.jp", 17)) {
		fprintf(stderr, "provider domain survived\n");
		abort();
	}
	rcpt = recipients(data, size);
	for (guint i = 0; i < rcpt->len; i++)
		if (memmem(lower, out_len, rcpt->pdata[i],
			   strlen(rcpt->pdata[i]))) {
			fprintf(stderr, "recipient %s survived\n",
				(char *)rcpt->pdata[i]);
			abort();
		}
	g_ptr_array_free(rcpt, TRUE);
	g_free(lower);
	g_free(out);
	json_decref(removed);
	return 0;
}
