/*
 * notify.h - notifications to organisations: webhooks and e-mail.
 *
 * Publishing writes one outbox row per receiving organisation and channel
 * in its own transaction (csip_notify_queue_item), so a crash may delay a
 * notification but never lose it.  A worker (csip_notify_run_once, called
 * in a loop by the server's notifier thread) sends what is due with
 * libcurl: a webhook is an HTTP POST of JSON with an
 * "X-Csip-Signature: sha256=HEX" header: HMAC-SHA256 of the body keyed
 * with the organisation's webhook key (csip_notify_webhook_key), so the
 * receiver can check it came from the hub without holding the hub key,
 * and one organisation's key says nothing of another's; mail goes
 * through the SMTP relay of [notify] smtp_url.  A failed attempt is retried
 * with exponential backoff (30 s, 1 min, 2 min, ... capped at 1 h) and
 * given up after [notify] max_attempts, with the last error kept.
 *
 * A notification carries only what the recipient may read: the item's id,
 * title, TLP and its URL on the hub, never the provider.  It goes out only
 * while the policy still lets its organisation read the item: one that
 * lost the right after the row was queued is given up, not sent.
 */
#ifndef CSIP_NOTIFY_H
#define CSIP_NOTIFY_H

#include "lib/hub.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Queue notifications of published item ITEM_ID to each organisation in
 * ORG_IDS that has a webhook_url or a notify_email (mail only when an SMTP
 * relay is configured).  Runs inside the caller's transaction. */
int csip_notify_queue_item(csip_hub *h, int64_t item_id,
			   const int64_t *org_ids, size_t n_orgs);

/* The webhook key of organisation ORG (its name): HMAC-SHA256 of a
 * label and the name under the hub key, as 64 hex digits in HEX.  Shown to
 * the organisation by `csip org show`; stable as long as the hub key is. */
void csip_notify_webhook_key(csip_hub *h, const char *org, char hex[65]);

/* Send up to MAX due notifications.  *sent and *failed (may be NULL)
 * receive the counts of this pass.  Safe to run from several processes at
 * once: a row is claimed before it is sent. */
int csip_notify_run_once(csip_hub *h, int max, size_t *sent,
			 size_t *failed);

/* Queue alert ALERT_ID to the webhook of every hub organisation that has
 * one.  PAYLOAD (borrowed) is what the hub's analysts may read; "url" (the
 * alerts on the hub) is added.  Runs inside the caller's transaction. */
int csip_notify_queue_alert(csip_hub *h, int64_t alert_id, json_t *payload);

#endif
