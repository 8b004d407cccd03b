/*
 * migrate.c - the schema, as an ordered list of migrations.
 *
 * The SQL is written once for SQLite and PostgreSQL: `@ID@` stands for an
 * auto-assigned 64-bit primary key and `@BLOB@` for a byte string,
 * expanded per dialect.  What cannot be
 * shared (triggers) has a per-dialect text.  Never edit a migration that
 * has shipped; add a new one.
 */
#include "lib/migrate.h"
#include "util/error.h"

#include <glib.h>
#include <string.h>

typedef struct migration {
	int version;
	const char *name;
	const char *sql;         /* portable part */
	const char *sql_sqlite;  /* SQLite-only part, may be NULL */
	const char *sql_pg;      /* PostgreSQL-only part, may be NULL */
} migration;

/* corr_link's columns and key, written three times: by migration 5 and
 * again when migrations 10 and 11 make the table anew on SQLite (11 with
 * the kinds compared one by one: SQLite builds a temporary table for an
 * IN list of more than two values at every row it checks). */
#define CORR_LINK_IDS \
"  report_id BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE," \
"  other_id BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
#define CORR_LINK_REST \
"  type TEXT NOT NULL," \
"  value TEXT NOT NULL," \
"  other_value TEXT NOT NULL," \
"  score INTEGER NOT NULL," \
"  PRIMARY KEY (report_id, other_id, type, value, other_value))"
#define CORR_LINK_COLUMNS CORR_LINK_IDS \
"  kind TEXT NOT NULL CHECK (kind IN " \
"    ('value','domain','cidr','ssdeep','manual'))," CORR_LINK_REST
#define CORR_LINK_KIND_11 \
"  kind TEXT NOT NULL CHECK (kind = 'value' OR kind = 'domain' OR" \
"    kind = 'cidr' OR kind = 'ssdeep' OR kind = 'manual'),"
#define CORR_LINK_COLUMNS_11 CORR_LINK_IDS CORR_LINK_KIND_11 CORR_LINK_REST
/* Migration 12 on SQLite: the ids without their foreign keys. */
#define CORR_LINK_COLUMNS_12 \
"  report_id BIGINT NOT NULL," \
"  other_id BIGINT NOT NULL," CORR_LINK_KIND_11 CORR_LINK_REST

static const migration migrations[] = {
{ 1, "organisations, users, tokens, audit log",
"CREATE TABLE sig ("
"  id @ID@,"
"  code TEXT NOT NULL UNIQUE,"
"  name TEXT NOT NULL,"
"  created_at TEXT NOT NULL);"
"CREATE TABLE org ("
"  id @ID@,"
"  name TEXT NOT NULL UNIQUE,"
"  display_name TEXT NOT NULL,"
"  role TEXT NOT NULL CHECK (role IN ('participant','partner','hub')),"
"  nda_date TEXT,"
"  created_at TEXT NOT NULL,"
"  updated_at TEXT NOT NULL);"
"CREATE TABLE org_sig ("
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  sig_id BIGINT NOT NULL REFERENCES sig(id),"
"  PRIMARY KEY (org_id, sig_id));"
"CREATE INDEX org_sig_sig ON org_sig(sig_id);"
/* A mail domain belongs to one organisation: intake finds the provider of
 * a forwarded mail by the sender's domain. */
"CREATE TABLE org_domain ("
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  domain TEXT NOT NULL UNIQUE,"
"  PRIMARY KEY (org_id, domain));"
"CREATE TABLE org_network ("
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  cidr TEXT NOT NULL,"
"  PRIMARY KEY (org_id, cidr));"
"CREATE TABLE app_user ("
"  id @ID@,"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  name TEXT NOT NULL UNIQUE,"
"  email TEXT,"
"  role TEXT NOT NULL CHECK (role IN ('admin','analyst','member')),"
"  password_hash TEXT,"
"  disabled INTEGER NOT NULL DEFAULT 0,"
"  created_at TEXT NOT NULL);"
"CREATE TABLE api_token ("
"  id @ID@,"
"  user_id BIGINT NOT NULL REFERENCES app_user(id),"
"  label TEXT NOT NULL,"
"  prefix TEXT NOT NULL,"
"  token_hash TEXT NOT NULL UNIQUE,"
"  read_only INTEGER NOT NULL DEFAULT 0,"
"  created_at TEXT NOT NULL,"
"  expires_at TEXT,"
"  revoked_at TEXT,"
"  last_used_at TEXT);"
"CREATE TABLE audit_log ("
"  id BIGINT PRIMARY KEY,"
"  at TEXT NOT NULL,"
"  actor TEXT NOT NULL,"
"  action TEXT NOT NULL,"
"  target TEXT NOT NULL,"
"  detail TEXT NOT NULL,"
"  prev_hash TEXT NOT NULL,"
"  hash TEXT NOT NULL);"
/* The head lets verification notice rows cut from the end of the chain. */
"CREATE TABLE audit_head ("
"  one INTEGER PRIMARY KEY CHECK (one = 1),"
"  last_id BIGINT NOT NULL,"
"  hash TEXT NOT NULL);",
/* SQLite */
"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
"  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
/* PostgreSQL */
"CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$"
"  BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$"
"  LANGUAGE plpgsql;"
"CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
"  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();" },
{ 2, "reports and their observations",
/* One row per report a provider sent.  raw_sha256 finds a message sent
 * twice; campaign_key (sender, subject, attachment hashes) groups the bulk
 * copies of one campaign into one report with a copy count. */
"CREATE TABLE report ("
"  id @ID@,"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  kind TEXT NOT NULL CHECK (kind IN ('mail','text','indicators','stix')),"
"  permission TEXT NOT NULL CHECK (permission IN "
"    ('hub','sig','community','partners','public')),"
"  attribution TEXT NOT NULL CHECK (attribution IN ('none','sig','community')),"
"  tlp TEXT NOT NULL CHECK (tlp IN "
"    ('clear','green','amber','amber+strict','red')),"
"  status TEXT NOT NULL DEFAULT 'new',"
"  source TEXT NOT NULL,"
"  received_at TEXT NOT NULL,"
"  subject TEXT,"
"  sender TEXT,"
"  message_id TEXT,"
"  raw_sha256 TEXT NOT NULL,"
"  campaign_key TEXT,"
"  copies INTEGER NOT NULL DEFAULT 1,"
"  shareable INTEGER NOT NULL DEFAULT 1,"
"  warnings TEXT NOT NULL DEFAULT '[]',"
"  UNIQUE (org_id, raw_sha256));"
"CREATE INDEX report_campaign ON report(org_id, campaign_key);"
"CREATE INDEX report_received ON report(received_at);"
/* Bulk copies folded into a report, so a copy sent again is a duplicate. */
"CREATE TABLE report_copy ("
"  report_id BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
"  raw_sha256 TEXT NOT NULL,"
"  received_at TEXT NOT NULL,"
"  PRIMARY KEY (report_id, raw_sha256));"
"CREATE INDEX report_copy_sha ON report_copy(raw_sha256);"
/* The raw message, the anonymised one and what was removed: only the hub
 * reads this table. */
"CREATE TABLE report_content ("
"  report_id BIGINT PRIMARY KEY REFERENCES report(id) ON DELETE CASCADE,"
"  raw @BLOB@ NOT NULL,"
"  anonymised @BLOB@,"
"  removed TEXT,"
"  extraction TEXT NOT NULL);"
"CREATE TABLE observation ("
"  report_id BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
"  type TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  display TEXT,"
"  found_in TEXT NOT NULL,"
"  count INTEGER NOT NULL DEFAULT 1,"
"  shareable INTEGER,"
"  PRIMARY KEY (report_id, type, value));"
"CREATE INDEX observation_value ON observation(type, value);",
NULL, NULL },
{ 3, "analyst review, shared items, approvals, feedback, notifications",
/* Where an organisation wants to hear about new items. */
"ALTER TABLE org ADD COLUMN webhook_url TEXT;"
"ALTER TABLE org ADD COLUMN notify_email TEXT;"
/* The analyst's review of a report.  shared_at is set when the first item
 * built on the report is published: from then on its provider can no longer
 * change the permission it gave. */
"ALTER TABLE report ADD COLUMN analysis TEXT;"
"ALTER TABLE report ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';"
"ALTER TABLE report ADD COLUMN attack_type TEXT;"
"ALTER TABLE report ADD COLUMN severity TEXT;"
"ALTER TABLE report ADD COLUMN reviewed_at TEXT;"
"ALTER TABLE report ADD COLUMN shared_at TEXT;"
"CREATE INDEX report_status ON report(status, id);"
/* A shared item: what the hub makes from one or more reports.  audience is
 * the widest scope it goes to; for 'sig' the SIGs are in item_sig.  Every
 * edit bumps revision, and approvals are for one revision. */
"CREATE TABLE item ("
"  id @ID@,"
"  title TEXT NOT NULL,"
"  analysis TEXT NOT NULL DEFAULT '',"
"  tlp TEXT NOT NULL CHECK (tlp IN "
"    ('clear','green','amber','amber+strict','red')),"
"  audience TEXT NOT NULL CHECK (audience IN "
"    ('sig','community','partners','public')),"
"  attack_type TEXT,"
"  severity TEXT CHECK (severity IN ('low','medium','high','critical')),"
"  tags TEXT NOT NULL DEFAULT '[]',"
"  status TEXT NOT NULL CHECK (status IN ('draft','pending',"
"    'changes_requested','approved','published','withdrawn')),"
"  revision INTEGER NOT NULL DEFAULT 1,"
"  created_by TEXT NOT NULL,"
"  created_at TEXT NOT NULL,"
"  updated_at TEXT NOT NULL,"
"  published_at TEXT);"
"CREATE INDEX item_status ON item(status, id);"
"CREATE TABLE item_sig ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  sig_id BIGINT NOT NULL REFERENCES sig(id),"
"  PRIMARY KEY (item_id, sig_id));"
"CREATE TABLE item_source ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  report_id BIGINT NOT NULL REFERENCES report(id),"
"  PRIMARY KEY (item_id, report_id));"
"CREATE INDEX item_source_report ON item_source(report_id);"
/* The indicators chosen for an item, copied from the observations so that
 * what recipients see does not change when a report is reviewed again. */
"CREATE TABLE item_indicator ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  type TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  role TEXT,"
"  PRIMARY KEY (item_id, type, value));"
"CREATE INDEX item_indicator_value ON item_indicator(type, value);"
/* One row per providing organisation of an item: its consent. */
"CREATE TABLE item_approval ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  revision INTEGER NOT NULL,"
"  decision TEXT NOT NULL CHECK (decision IN "
"    ('pending','approved','changes_requested')),"
"  comment TEXT,"
"  decided_by TEXT,"
"  decided_at TEXT,"
"  PRIMARY KEY (item_id, org_id));"
/* Sharing instances: the organisations an item went to, as the policy
 * decided when it was published (and again when memberships change). */
"CREATE TABLE item_recipient ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  shared_at TEXT NOT NULL,"
"  PRIMARY KEY (item_id, org_id));"
"CREATE INDEX item_recipient_org ON item_recipient(org_id, item_id);"
"CREATE TABLE feedback ("
"  id @ID@,"
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  user_id BIGINT REFERENCES app_user(id),"
"  kind TEXT NOT NULL CHECK (kind IN "
"    ('sighting','false_positive','blocked','comment')),"
"  indicator_type TEXT,"
"  indicator_value TEXT,"
"  count INTEGER NOT NULL DEFAULT 1,"
"  seen_at TEXT,"
"  comment TEXT,"
"  created_at TEXT NOT NULL);"
"CREATE INDEX feedback_item ON feedback(item_id, id);"
/* Notifications to send, written in the transaction that publishes, so a
 * crash can delay a notification but never lose it. */
"CREATE TABLE outbox ("
"  id @ID@,"
"  kind TEXT NOT NULL CHECK (kind IN ('webhook','mail')),"
"  org_id BIGINT NOT NULL REFERENCES org(id),"
"  item_id BIGINT REFERENCES item(id),"
"  target TEXT NOT NULL,"
"  payload TEXT NOT NULL,"
"  attempts INTEGER NOT NULL DEFAULT 0,"
"  next_at TEXT NOT NULL,"
"  sent_at TEXT,"
"  failed_at TEXT,"
"  last_error TEXT,"
"  created_at TEXT NOT NULL);"
"CREATE INDEX outbox_due ON outbox(sent_at, failed_at, next_at);",
NULL, NULL },
/* TAXII 2.1 status resources: one per POST to a collection, read only by
 * the organisation that posted.  The lists are the status-details of the
 * standard (id, version, message) as JSON text. */
{ 4, "TAXII status resources",
"CREATE TABLE taxii_status ("
"  id TEXT PRIMARY KEY,"
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  request_timestamp TEXT NOT NULL,"
"  status TEXT NOT NULL CHECK (status IN ('complete','pending')),"
"  total_count BIGINT NOT NULL,"
"  success_count BIGINT NOT NULL,"
"  failure_count BIGINT NOT NULL,"
"  pending_count BIGINT NOT NULL,"
"  successes TEXT NOT NULL,"
"  failures TEXT NOT NULL,"
"  pendings TEXT NOT NULL,"
"  report_id BIGINT REFERENCES report(id));"
"CREATE INDEX taxii_status_org ON taxii_status(org_id);"
"CREATE INDEX item_published ON item(published_at, id);",
NULL, NULL },
/* Correlation (issue #5): when and in which order each report was
 * correlated (corr_seq lets every process's index catch up), the links
 * found, campaigns, the analysts' cuts and exclusions, warning lists and
 * early-warning alerts. */
{ 5, "correlation, campaigns, warning lists, alerts",
"ALTER TABLE report ADD COLUMN correlated_at TEXT;"
"ALTER TABLE report ADD COLUMN corr_seq BIGINT;"
"CREATE INDEX report_corr_seq ON report(corr_seq);"
"CREATE INDEX report_uncorrelated ON report(correlated_at, id);"
/* seq: reports correlated so far; epoch: bumped by each rebuild, so
 * indexes built before it are dropped; lists_version: bumped when a
 * warning list or an exclusion changes. */
"CREATE TABLE corr_state ("
"  one INTEGER PRIMARY KEY CHECK (one = 1),"
"  seq BIGINT NOT NULL,"
"  epoch BIGINT NOT NULL,"
"  lists_version BIGINT NOT NULL,"
"  shipped_version INTEGER NOT NULL);"
"INSERT INTO corr_state (one, seq, epoch, lists_version, shipped_version)"
"  VALUES (1, 0, 1, 1, 0);"
"CREATE TABLE campaign ("
"  id @ID@,"
"  name TEXT,"
"  created_at TEXT NOT NULL,"
"  updated_at TEXT NOT NULL,"
"  merged_into BIGINT REFERENCES campaign(id));"
"CREATE TABLE campaign_report ("
"  report_id BIGINT PRIMARY KEY REFERENCES report(id) ON DELETE CASCADE,"
"  campaign_id BIGINT NOT NULL REFERENCES campaign(id),"
"  added_at TEXT NOT NULL);"
"CREATE INDEX campaign_report_campaign ON campaign_report(campaign_id);"
/* A link from a report to one correlated before it: through the same
 * value, a parent domain or sub-domain, an address in a network, similar
 * ssdeep hashes, or an analyst's merge ('manual'). */
"CREATE TABLE corr_link (" CORR_LINK_COLUMNS ";"
"CREATE INDEX corr_link_other ON corr_link(other_id);"
"CREATE INDEX corr_link_value ON corr_link(value);"
"CREATE INDEX corr_link_other_value ON corr_link(other_value);"
/* Pairs of reports an analyst split apart, in both orientations. */
"CREATE TABLE corr_cut ("
"  a BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
"  b BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
"  PRIMARY KEY (a, b));"
"CREATE TABLE corr_exclusion ("
"  value TEXT PRIMARY KEY,"
"  type TEXT NOT NULL,"
"  reason TEXT,"
"  added_by TEXT NOT NULL,"
"  added_at TEXT NOT NULL);"
/* type: domain (and its sub-domains), cidr4/cidr6 (and what is inside)
 * or an indicator type (that value).  Removed entries stay as rows so an
 * update of the shipped lists does not bring them back. */
"CREATE TABLE warninglist ("
"  id @ID@,"
"  list TEXT NOT NULL,"
"  type TEXT NOT NULL,"
"  value TEXT NOT NULL,"
"  shipped INTEGER NOT NULL DEFAULT 0,"
"  removed INTEGER NOT NULL DEFAULT 0,"
"  added_by TEXT NOT NULL,"
"  added_at TEXT NOT NULL,"
"  UNIQUE (type, value));"
"CREATE TABLE alert ("
"  id @ID@,"
"  report_id BIGINT NOT NULL REFERENCES report(id) ON DELETE CASCADE,"
"  campaign_id BIGINT REFERENCES campaign(id),"
"  scope TEXT NOT NULL CHECK (scope IN ('org','sig')),"
"  linked TEXT NOT NULL,"
"  orgs INTEGER NOT NULL,"
"  created_at TEXT NOT NULL);"
"CREATE INDEX alert_campaign ON alert(campaign_id);",
NULL, NULL },
/* A sighting that aggregates several (csip match --report): seen_at is
 * the first time, last_seen_at the last. */
{ 6, "the last time of an aggregated sighting",
"ALTER TABLE feedback ADD COLUMN last_seen_at TEXT;",
NULL, NULL },
/* TAXII object lookup (issue #6): which items' STIX objects may carry an
 * object id, so that GET .../objects/{id}/ builds those items only.  The
 * ids are UUIDv5 computed in C (stix.c), so the rows are written there:
 * when an item is published, and for the items that existed before this
 * migration by a backfill that moves next_id up to last_id (every item
 * created later is indexed when it is published).  While next_id <=
 * last_id the index is incomplete and lookups walk the collection as
 * before.  The identity and the TLP markings, which every item carries,
 * are not indexed: item_tlp finds the first item of a marking. */
{ 7, "STIX object index for TAXII object lookup",
"CREATE TABLE stix_object_item ("
"  object_id TEXT NOT NULL,"
"  item_id BIGINT NOT NULL REFERENCES item(id),"
"  PRIMARY KEY (object_id, item_id));"
"CREATE INDEX stix_object_item_item ON stix_object_item(item_id);"
"CREATE TABLE stix_index_state ("
"  one INTEGER PRIMARY KEY CHECK (one = 1),"
"  next_id BIGINT NOT NULL,"
"  last_id BIGINT NOT NULL);"
"INSERT INTO stix_index_state (one, next_id, last_id)"
"  SELECT 1, 1, COALESCE(MAX(id), 0) FROM item;"
"CREATE INDEX item_tlp ON item(tlp, published_at, id);",
NULL, NULL },
/* Statistics count sharing instances (an item and an organisation it
 * went out to) in the quarter they happened.  item_recipient says who
 * may find an item now, and loses its rows when the item is withdrawn or
 * an organisation leaves its audience, which rewrote past years' counts;
 * this table only grows.  Rows deleted before it existed are gone. */
{ 8, "sharing instances kept for the statistics",
"CREATE TABLE sharing_instance ("
"  item_id BIGINT NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
"  org_id BIGINT NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
"  shared_at TEXT NOT NULL,"
"  PRIMARY KEY (item_id, org_id));"
"CREATE INDEX sharing_instance_at ON sharing_instance(shared_at);"
"CREATE INDEX sharing_instance_org ON sharing_instance(org_id, shared_at);"
"INSERT INTO sharing_instance (item_id, org_id, shared_at)"
"  SELECT item_id, org_id, shared_at FROM item_recipient;",
NULL, NULL },
/* A feedback sent again under the same Idempotency-Key (its answer was
 * lost on the way back) is the one recorded, not a second: keys are the
 * giver's, unique per organisation; NULL for feedback given without. */
{ 9, "idempotency keys of feedback",
"ALTER TABLE feedback ADD COLUMN client_key TEXT;"
"CREATE UNIQUE INDEX feedback_client_key ON feedback(org_id, client_key);",
NULL, NULL },
/* Correlation speed (issue #5): corr_link keeps only its primary key,
 * which a new report's links extend at its end.  Its three indexes took
 * a random insert each per link, most of the pages a correlation wrote
 * and committed, and served only the search for the campaigns an
 * exclusion touches, which now starts from the observations carrying the
 * value (campaign.c).  Reports are never deleted, so the foreign key on
 * other_id needs no index either.  On SQLite the table loses its rowid:
 * the key holds every column, so the rowid table was a second copy. */
{ 10, "corr_link: the primary key only",
"DROP INDEX corr_link_other;"
"DROP INDEX corr_link_value;"
"DROP INDEX corr_link_other_value;",
/* SQLite */
"CREATE TABLE corr_link_new (" CORR_LINK_COLUMNS " WITHOUT ROWID;"
"INSERT INTO corr_link_new SELECT report_id, other_id, kind, type, value,"
"  other_value, score FROM corr_link;"
"DROP TABLE corr_link;"
"ALTER TABLE corr_link_new RENAME TO corr_link;",
NULL },
/* Correlation commits need not be durable (correlate.c): each report's
 * correlation gets a random token, so that an index that learnt a commit
 * the database lost in a crash finds out; and corr_link's CHECK without
 * an IN list, which cost SQLite a temporary table at every link. */
{ 11, "corr_token; corr_link's kinds checked one by one",
"ALTER TABLE report ADD COLUMN corr_token BIGINT;",
/* SQLite */
"CREATE TABLE corr_link_new (" CORR_LINK_COLUMNS_11 " WITHOUT ROWID;"
"INSERT INTO corr_link_new SELECT report_id, other_id, kind, type, value,"
"  other_value, score FROM corr_link;"
"DROP TABLE corr_link;"
"ALTER TABLE corr_link_new RENAME TO corr_link;",
NULL },
/* Correlation speed (issue #5).
 *   - report_uncorrelated holds only the reports the sweep looks for:
 *     a correlation then removes its report's entry from a small index
 *     instead of moving it to the end of one as large as report.
 * On SQLite only (PostgreSQL keeps its schema):
 *   - corr_link without its foreign keys: each link row cost two lookups
 *     of report by id, most of a link's insert at a million indicators.
 *     Only the correlation and an analyst's merge write links, both
 *     between reports they have just read, and reports are never deleted,
 *     so the cascade had nothing to do either.
 *   - campaign_report without a rowid: a membership is one lookup by
 *     report instead of its key's index and then the table.
 *   - The CHECKs of report, item and feedback with IN lists of three
 *     values or more compare them one by one, as corr_link's since
 *     migration 11: SQLite builds a temporary index for such a list at
 *     every row it checks.  Those tables are referenced by others, whose
 *     rows a rebuild would cascade away, so the constraint text is edited
 *     in place (SQLite's documented way for a changed CHECK: the new one
 *     accepts exactly what the old one did, rows are not touched). */
{ 12, "report_uncorrelated partial; corr_link without foreign keys; "
  "campaign_report by its key; CHECKs without IN lists",
"DROP INDEX report_uncorrelated;"
"CREATE INDEX report_uncorrelated ON report(id) WHERE correlated_at IS NULL;",
/* SQLite */
"CREATE TABLE corr_link_new (" CORR_LINK_COLUMNS_12 " WITHOUT ROWID;"
"INSERT INTO corr_link_new SELECT report_id, other_id, kind, type, value,"
"  other_value, score FROM corr_link;"
"DROP TABLE corr_link;"
"ALTER TABLE corr_link_new RENAME TO corr_link;"
"CREATE TABLE campaign_report_new ("
"  report_id BIGINT PRIMARY KEY REFERENCES report(id) ON DELETE CASCADE,"
"  campaign_id BIGINT NOT NULL REFERENCES campaign(id),"
"  added_at TEXT NOT NULL) WITHOUT ROWID;"
"INSERT INTO campaign_report_new SELECT report_id, campaign_id, added_at"
"  FROM campaign_report;"
"DROP TABLE campaign_report;"
"ALTER TABLE campaign_report_new RENAME TO campaign_report;"
"CREATE INDEX campaign_report_campaign ON campaign_report(campaign_id);"
"PRAGMA writable_schema = ON;"
"UPDATE sqlite_schema SET sql = "
"replace(replace(replace(replace(sql, 'kind IN "
"(''mail'',''text'',''indicators'',''stix'')', 'kind = ''mail'' OR "
"kind = ''text'' OR kind = ''indicators'' OR kind = ''stix'''), "
"'permission IN     "
"(''hub'',''sig'',''community'',''partners'',''public'')', "
"'permission = ''hub'' OR permission = ''sig'' OR permission = "
"''community'' OR permission = ''partners'' OR permission = "
"''public'''), 'attribution IN (''none'',''sig'',''community'')', "
"'attribution = ''none'' OR attribution = ''sig'' OR attribution = "
"''community'''), 'tlp IN     "
"(''clear'',''green'',''amber'',''amber+strict'',''red'')', 'tlp = "
"''clear'' OR tlp = ''green'' OR tlp = ''amber'' OR tlp = "
"''amber+strict'' OR tlp = ''red''') WHERE type = 'table' AND name "
"= 'report';"
"UPDATE sqlite_schema SET sql = "
"replace(replace(replace(replace(sql, 'tlp IN     "
"(''clear'',''green'',''amber'',''amber+strict'',''red'')', 'tlp = "
"''clear'' OR tlp = ''green'' OR tlp = ''amber'' OR tlp = "
"''amber+strict'' OR tlp = ''red'''), 'audience IN     "
"(''sig'',''community'',''partners'',''public'')', 'audience = "
"''sig'' OR audience = ''community'' OR audience = ''partners'' OR "
"audience = ''public'''), 'severity IN "
"(''low'',''medium'',''high'',''critical'')', 'severity = ''low'' "
"OR severity = ''medium'' OR severity = ''high'' OR severity = "
"''critical'''), 'status IN (''draft'',''pending'',    "
"''changes_requested'',''approved'',''published'',''withdrawn'')', "
"'status = ''draft'' OR status = ''pending'' OR status = "
"''changes_requested'' OR status = ''approved'' OR status = "
"''published'' OR status = ''withdrawn''') WHERE type = 'table' AND "
"name = 'item';"
"UPDATE sqlite_schema SET sql = replace(sql, 'kind IN     "
"(''sighting'',''false_positive'',''blocked'',''comment'')', 'kind "
"= ''sighting'' OR kind = ''false_positive'' OR kind = ''blocked'' "
"OR kind = ''comment''') WHERE type = 'table' AND name = "
"'feedback';"
"PRAGMA writable_schema = RESET;",
NULL },
/* Items are published with microseconds (TAXII's date_added, timefmt.h);
 * the ones published before in the same long form, so that every
 * published_at compares with every other and with a position as text. */
{ 13, "publication times in one form, to the microsecond",
"UPDATE item SET published_at = substr(published_at, 1, 19) || "
"  '.000000Z' WHERE length(published_at) = 20;",
NULL, NULL },
/* Correlation (issue #5): campaign_epoch changes with every write of
 * campaign_report, the one table that says which campaign a report is
 * in, by whichever process or path makes it, so that a correlation index
 * may keep the memberships and trust them only while the epoch is the
 * one it learnt them at.  Triggers, so that no writer can forget it.
 * On PostgreSQL the trigger also takes the writers' lock (store_pg.c),
 * so that a write made outside csip cannot fall between a correlation's
 * read of the epoch and its commit; csip's writers hold it already. */
{ 14, "an epoch of campaign memberships",
"ALTER TABLE corr_state ADD COLUMN campaign_epoch BIGINT NOT NULL "
"  DEFAULT 1;",
/* SQLite: row triggers only. */
"CREATE TRIGGER campaign_report_ins AFTER INSERT ON campaign_report "
"  BEGIN UPDATE corr_state SET campaign_epoch = campaign_epoch + 1 "
"  WHERE one = 1; END;"
"CREATE TRIGGER campaign_report_upd AFTER UPDATE ON campaign_report "
"  BEGIN UPDATE corr_state SET campaign_epoch = campaign_epoch + 1 "
"  WHERE one = 1; END;"
"CREATE TRIGGER campaign_report_del AFTER DELETE ON campaign_report "
"  BEGIN UPDATE corr_state SET campaign_epoch = campaign_epoch + 1 "
"  WHERE one = 1; END;",
/* PostgreSQL: once a statement, TRUNCATE included. */
"CREATE FUNCTION campaign_epoch_bump() RETURNS trigger AS $$"
"  BEGIN PERFORM pg_advisory_xact_lock(1668508016);"
"  UPDATE corr_state SET campaign_epoch = campaign_epoch + 1"
"  WHERE one = 1; RETURN NULL; END; $$ LANGUAGE plpgsql;"
"CREATE TRIGGER campaign_report_epoch AFTER INSERT OR UPDATE OR DELETE"
"  OR TRUNCATE ON campaign_report"
"  FOR EACH STATEMENT EXECUTE FUNCTION campaign_epoch_bump();" },
};

#define N_MIGRATIONS ((int)G_N_ELEMENTS(migrations))

int
csip_migrate_latest(void)
{
	return migrations[N_MIGRATIONS - 1].version;
}

static char *
expand(const char *sql, int pg)
{
	GString *out = g_string_new(sql);

	g_string_replace(out, "@ID@", pg
		? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
		: "INTEGER PRIMARY KEY", 0);
	g_string_replace(out, "@BLOB@", pg ? "BYTEA" : "BLOB", 0);
	return g_string_free(out, FALSE);
}

GPtrArray *
csip_migrate_tables(void)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (int i = 0; i < N_MIGRATIONS; i++) {
		const char *p = migrations[i].sql;

		while ((p = strstr(p, "CREATE TABLE ")) != NULL) {
			const char *e;

			p += strlen("CREATE TABLE ");
			e = p + strspn(p, "abcdefghijklmnopqrstuvwxyz_");
			g_ptr_array_add(out, g_strndup(p, (gsize)(e - p)));
			p = e;
		}
	}
	return out;
}

int
csip_migrate_is_blob(const char *table, const char *column)
{
	char *create = g_strdup_printf("CREATE TABLE %s (", table);
	char *col = g_strdup_printf(" %s @BLOB@", column);
	char *alter = g_strdup_printf("ALTER TABLE %s ADD COLUMN %s @BLOB@",
		table, column);
	int found = 0;

	for (int i = 0; i < N_MIGRATIONS && !found; i++) {
		const char *sql = migrations[i].sql;
		const char *p = strstr(sql, create), *end;

		if (strstr(sql, alter))
			found = 1;
		if (p == NULL || found)
			continue;
		end = strstr(p, ");");
		p = strstr(p, col);
		found = p && (end == NULL || p < end);
	}
	g_free(create);
	g_free(col);
	g_free(alter);
	return found;
}

int
csip_migrate_current(csip_store *s, int *version)
{
	int64_t v = 0;
	int rc;

	*version = 0;
	rc = csip_store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
		"version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		"applied_at TEXT NOT NULL)");
	if (rc < 0)
		return rc;
	rc = csip_store_query_int64(s, &v,
		"SELECT COALESCE(MAX(version), 0) FROM schema_version", NULL);
	if (rc < 0)
		return rc;
	*version = (int)v;
	return CSIP_OK;
}

int
csip_migrate_peek(csip_store *s, int *version)
{
	int64_t v = 0;

	*version = 0;
	/* No such table is the only way this fails on a database that
	 * answers at all: what the caller asks is whether csip is there. */
	if (csip_store_query_int64(s, &v, "SELECT COALESCE(MAX(version), 0) "
				   "FROM schema_version", NULL) < 0) {
		csip_error_clear();
		return CSIP_OK;
	}
	*version = (int)v;
	return CSIP_OK;
}

int
csip_migrate(csip_store *s, int *applied)
{
	int pg = strcmp(csip_store_backend_name(s), "postgresql") == 0;
	int current, rc, n = 0;
	char *sql = NULL;
	char vbuf[16], now[21];

	if (applied)
		*applied = 0;
	if ((rc = csip_migrate_current(s, &current)) < 0)
		return rc;
	if (current > csip_migrate_latest())
		return csip_error_set(CSIP_ECONFIG, "the database is at schema "
			"version %d but this csip knows only up to %d: upgrade "
			"csip", current, csip_migrate_latest());
	for (int i = 0; i < N_MIGRATIONS; i++) {
		const migration *m = &migrations[i];
		const char *extra = pg ? m->sql_pg : m->sql_sqlite;

		if (m->version <= current)
			continue;
		if ((rc = csip_store_begin(s)) < 0)
			return rc;
		sql = expand(m->sql, pg);
		rc = csip_store_exec(s, sql);
		g_clear_pointer(&sql, g_free);
		if (rc == CSIP_OK && extra)
			rc = csip_store_exec(s, extra);
		if (rc == CSIP_OK) {
			g_snprintf(vbuf, sizeof vbuf, "%d", m->version);
			csip_store_now(now);
			rc = csip_store_run(s, NULL, "INSERT INTO schema_version"
				"(version, name, applied_at) VALUES (?, ?, ?)",
				vbuf, m->name, now, NULL);
		}
		if (rc < 0) {
			csip_error_prefix(rc, "migration %d (%s): ",
				m->version, m->name);
			csip_store_rollback(s);
			return rc;
		}
		if ((rc = csip_store_commit(s)) < 0)
			return rc;
		n++;
	}
	if (applied)
		*applied = n;
	return CSIP_OK;
}
