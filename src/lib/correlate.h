/*
 * correlate.h - the correlation index: which stored reports carry the
 * indicators of a report, and the links that follow from it.
 *
 * The hot path is an in-memory index written for it: a compact
 * open-addressing table of 64-bit keyed hashes of (type, canonical value)
 * pointing at posting lists of report ids.  Besides each value itself a
 * report adds keys that make containment a lookup too:
 *
 *   - a host name adds "under" keys for each parent name, so a new domain
 *     finds the stored hosts below it, and a new host looks up its parents
 *     (sub-domains match in both directions of arrival);
 *   - an IP address adds "under" keys for its /16 and /24 (IPv6: /32, /48,
 *     /64), so a new CIDR finds the stored addresses inside it, and a new
 *     address looks up its prefixes at every length a stored CIDR has;
 *   - an ssdeep hash adds its 7-grams under its block size, so a new hash
 *     finds the candidates fuzzy_compare() can score above zero (the same
 *     block size or twice it), and only those are compared.
 *
 * A value carried by more than [correlate] max_reports_per_value reports
 * stops linking (its list is dropped and marked full), and values on the
 * warning lists (free-mail, CDN and popular domains, private and shared
 * ranges; editable) or excluded by an analyst never link: one value never
 * joins thousands of reports.
 *
 * The index is rebuilt from the observation table when needed; it is
 * saved to [correlate] index_file so a new process starts fast, and each
 * process catches up with reports correlated by others through
 * report.corr_seq, the order in which reports were correlated.  Links,
 * campaigns and alerts are rows in the database (campaign.h): the index
 * only finds candidates.
 *
 * A report is correlated after the transaction that stored it commits;
 * when that fails the report stays stored with correlated_at NULL and the
 * next correlation (or `csip correlate`) picks it up.
 */
#ifndef CSIP_CORRELATE_H
#define CSIP_CORRELATE_H

#include "lib/hub.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the index itself (also used by bench/correlate) ---------------- */

typedef struct csip_corr_index csip_corr_index;

/* An empty index whose lists hold at most CAP report ids.  Free with
 * csip_correlate_index_free(). */
csip_corr_index *csip_correlate_index_new(uint32_t cap);
void csip_correlate_index_free(csip_corr_index *ix);

/* Add every key of one observation of REPORT (type name and canonical
 * value as stored).  Reports must be added in correlation order. */
void csip_correlate_index_add(csip_corr_index *ix, const char *type,
			      const char *value, int64_t report);

/* Distinct keys, and bytes of memory the table and lists take. */
size_t csip_correlate_index_keys(const csip_corr_index *ix);
size_t csip_correlate_index_bytes(const csip_corr_index *ix);

/* ---- correlation ------------------------------------------------------ */

/* Correlate stored report ID with every report correlated before it:
 * links, campaign, alert, in one transaction.  Must be called outside any
 * transaction.  A report already correlated is left alone (CSIP_OK). */
int csip_correlate_report(csip_hub *h, int64_t id);

/* For the ingest paths, after their commit: correlate ID and a few
 * reports left uncorrelated by earlier failures.  Never fails: a report
 * that could not be correlated now is correlated later. */
void csip_correlate_after_ingest(csip_hub *h, int64_t id);

/* Correlate up to MAX (<= 0: all) stored reports not correlated yet,
 * oldest first.  *done (may be NULL) receives how many were. */
int csip_correlate_pending(csip_hub *h, int max, size_t *done);

/* The links report ID would get now, without writing anything: a JSON
 * array of {report, kind, type, value, other_value, score}, new
 * reference.  For analysts and the benchmark. */
int csip_correlate_preview(csip_hub *h, int64_t id, json_t **out);

/* Drop every computed link and campaign membership and correlate all
 * reports again in their correlation order (reports never correlated
 * last), in one transaction; analysts' merges, splits, exclusions and
 * campaign names are kept.  PROGRESS (may be NULL) is called now and then
 * with the reports done and the total.  Saves the index file. */
typedef void (*csip_correlate_progress)(void *ud, size_t done, size_t total);
int csip_correlate_rebuild(csip_hub *h, const char *actor,
			   csip_correlate_progress progress, void *ud);

/* Size of the process's index: keys, bytes in memory, bytes of the index
 * file (0 when none); loads the index first. */
int csip_correlate_stats(csip_hub *h, size_t *keys, size_t *mem_bytes,
			 int64_t *file_bytes);

/* Save the process's index to [correlate] index_file now. */
int csip_correlate_save(csip_hub *h);

/* Forget the process's index (the next call loads it again); for tests
 * that reopen a hub as a new process would. */
void csip_correlate_forget(void);

/* ---- warning lists ---------------------------------------------------- */

/* Entries: {id, list, type, value, shipped, added_by, added_at}; TYPE is
 * "domain" (the name and its sub-domains), "cidr4"/"cidr6" (addresses and
 * networks inside) or another indicator type (that exact value).  The
 * shipped lists are added to the table the first time it is read. */
int csip_warninglist_list(csip_hub *h, const char *list, json_t **out);

/* Add VALUE (any form csip_indicator_parse accepts; a host name is taken
 * as a domain, an address as a /32 or /128) to LIST ("local" when NULL).
 * CSIP_EEXISTS when the value is listed.  *id (may be NULL) receives the
 * entry's id.  Audited; applies to reports correlated from now on. */
int csip_warninglist_add(csip_hub *h, const char *actor, const char *list,
			 const char *value, int64_t *id);

/* Remove entry ID (a shipped one stays removed when the lists are
 * updated).  CSIP_ENOTFOUND for an unknown id.  Audited. */
int csip_warninglist_remove(csip_hub *h, const char *actor, int64_t id);

#endif
