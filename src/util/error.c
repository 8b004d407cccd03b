/*
 * error.c - thread-local last-error slot; see error.h for the convention.
 */
#include "error.h"

#include <glib.h>
#include <stdio.h>

static GPrivate err_msg = G_PRIVATE_INIT(g_free);
static __thread int err_code;

int
csip_error_setv(int code, const char *fmt, va_list ap)
{
	g_private_replace(&err_msg, g_strdup_vprintf(fmt, ap));
	err_code = code;
	return code;
}

int
csip_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	csip_error_setv(code, fmt, ap);
	va_end(ap);
	return code;
}

int
csip_error_prefix(int code, const char *fmt, ...)
{
	va_list ap;
	char *pre;
	const char *old = g_private_get(&err_msg);

	va_start(ap, fmt);
	pre = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_private_replace(&err_msg, g_strconcat(pre, old ? old : "", NULL));
	g_free(pre);
	err_code = code;
	return code;
}

const char *
csip_error_last(void)
{
	const char *m = g_private_get(&err_msg);

	return m ? m : "no error";
}

int
csip_error_last_code(void)
{
	return err_code;
}

void
csip_error_clear(void)
{
	g_private_replace(&err_msg, NULL);
	err_code = CSIP_OK;
}

const char *
csip_error_name(int code)
{
	switch (code) {
	case CSIP_OK:        return "ok";
	case CSIP_EINVAL:    return "invalid";
	case CSIP_ENOTFOUND: return "not-found";
	case CSIP_EEXISTS:   return "exists";
	case CSIP_EIO:       return "io";
	case CSIP_ESTORE:    return "storage";
	case CSIP_EBUSY:     return "busy";
	case CSIP_EPERM:     return "forbidden";
	case CSIP_ECONFIG:   return "config";
	case CSIP_ETOOBIG:   return "too-big";
	case CSIP_ETAMPERED: return "tampered";
	default:             return "error";
	}
}
