/*
 * fuzz_mbox.c - libFuzzer target for the mbox splitter.
 *
 * Every message handed out must lie within the input's size, and the
 * splitter must neither crash nor read out of bounds on any bytes.
 */
#include "lib/msgsrc.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(const char *label, const char *msg, size_t len, int err, void *ud)
{
	size_t *total = ud;

	if (msg == NULL)
		return CSIP_OK;
	*total += len;
	if (len > 0) {
		/* Read both ends so ASan checks the bounds. */
		volatile char first = msg[0], last = msg[len - 1];

		(void)first;
		(void)last;
	}
	return CSIP_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;

	csip_msgsrc_split_mbox("fuzz", (const char *)data, size, check, &total);
	if (total > size)
		abort();
	csip_error_clear();
	return 0;
}
