/*
 * fuzz_url_unwrap.c - libFuzzer target for the URLs inside a URL.
 *
 * Any bytes in; every URL out starts with http:// or https://, holds no
 * byte that ends a URL in text, is no longer than the input, appears
 * once, and there are at most CSIP_URL_UNWRAP_MAX of them.
 */
#include "lib/url_unwrap.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **v = csip_url_unwrap((const char *)data, size);
	guint n = v ? g_strv_length(v) : 0;

	if (n > CSIP_URL_UNWRAP_MAX)
		abort();
	for (guint i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (l > size || (g_ascii_strncasecmp(v[i], "http://", 7) != 0 &&
				 g_ascii_strncasecmp(v[i], "https://", 8) != 0))
			abort();
		for (size_t k = 0; k < l; k++)
			if ((unsigned char)v[i][k] <= 0x20 ||
			    strchr("\"<>'", v[i][k]))
				abort();
		for (guint j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				abort();
	}
	g_strfreev(v);
	return 0;
}
