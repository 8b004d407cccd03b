/*
 * dbcopy.c - copy a hub between databases (see dbcopy.h).
 *
 * Tables go in the order the migrations create them, so every foreign key
 * finds its row already there; the one table that points at itself
 * (campaign.merged_into) gets that column in a second pass.  Values travel
 * as text, which both backends convert to the column's type on insert,
 * except the byte strings the migrations declare, which travel as bytes.
 * Rows go in multi-row INSERTs: one round trip per batch, not per row,
 * when the target is a server.
 */
#include "lib/dbcopy.h"
#include "lib/migrate.h"
#include "lib/store.h"
#include "util/error.h"

#include <glib.h>
#include <inttypes.h>
#include <string.h>

#define BATCH_ROWS    200
#define BATCH_PARAMS  8000     /* well under PostgreSQL's 65535 */
#define PROGRESS_ROWS 5000

/* One value of a batch: text, bytes, or NULL (both NULL). */
typedef struct cell {
	char *text;
	GBytes *bytes;
} cell;

typedef struct copier {
	csip_store *src, *dst;
	const char *table;
	int ncols;
	char **cols;          /* column names */
	int *blob;            /* per column: a byte string */
	int self_ref;         /* index of campaign.merged_into, or -1 */
	GArray *cells;        /* of cell, ncols per row */
	int64_t done, total;
	csip_dbcopy_progress progress;
	void *ud;
} copier;

static void
cell_clear(cell *c)
{
	g_free(c->text);
	if (c->bytes)
		g_bytes_unref(c->bytes);
	c->text = NULL;
	c->bytes = NULL;
}

static void
cells_clear(copier *cp)
{
	for (guint i = 0; i < cp->cells->len; i++)
		cell_clear(&g_array_index(cp->cells, cell, i));
	g_array_set_size(cp->cells, 0);
}

/* Insert the rows gathered so far in one statement. */
static int
flush(copier *cp)
{
	GString *sql = NULL;
	csip_stmt *st = NULL;
	guint rows;
	int rc = CSIP_OK, idx = 1;

	if (cp->ncols == 0)
		return CSIP_OK;
	rows = cp->cells->len / (guint)cp->ncols;
	if (rows == 0)
		return CSIP_OK;
	sql = g_string_new(NULL);
	g_string_append_printf(sql, "INSERT INTO %s (", cp->table);
	for (int c = 0; c < cp->ncols; c++)
		g_string_append_printf(sql, "%s%s", c ? ", " : "",
				       cp->cols[c]);
	g_string_append(sql, ") VALUES ");
	for (guint r = 0; r < rows; r++) {
		g_string_append(sql, r ? ", (" : "(");
		for (int c = 0; c < cp->ncols; c++)
			g_string_append(sql, c ? ", ?" : "?");
		g_string_append_c(sql, ')');
	}
	if ((rc = csip_store_prepare(cp->dst, sql->str, &st)) < 0)
		goto out;
	for (guint i = 0; i < cp->cells->len && rc == CSIP_OK; i++) {
		cell *v = &g_array_index(cp->cells, cell, i);
		int col = (int)(i % (guint)cp->ncols);

		if (col == cp->self_ref || (v->text == NULL && !v->bytes))
			rc = csip_stmt_bind_null(st, idx++);
		else if (v->bytes) {
			gsize n = 0;
			const void *p = g_bytes_get_data(v->bytes, &n);

			rc = csip_stmt_bind_blob(st, idx++, p ? p : "", n);
		} else
			rc = csip_stmt_bind_text(st, idx++, v->text);
	}
	if (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_DONE)
		rc = CSIP_OK;
	if (rc < 0)
		goto out;
	cp->done += rows;
	if (cp->progress)
		cp->progress(cp->table, cp->done, cp->total, cp->ud);
	rc = CSIP_OK;
out:
	csip_stmt_free(st);
	if (sql)
		g_string_free(sql, TRUE);
	cells_clear(cp);
	return rc;
}

/* Learn the columns of the source's result ST for TABLE. */
static void
learn_columns(copier *cp, csip_stmt *st)
{
	cp->ncols = csip_stmt_column_count(st);
	cp->cols = g_new0(char *, cp->ncols + 1);
	cp->blob = g_new0(int, cp->ncols ? cp->ncols : 1);
	cp->self_ref = -1;
	for (int c = 0; c < cp->ncols; c++) {
		cp->cols[c] = g_strdup(csip_stmt_column_name(st, c));
		cp->blob[c] = csip_migrate_is_blob(cp->table, cp->cols[c]);
		if (strcmp(cp->table, "campaign") == 0 &&
		    strcmp(cp->cols[c], "merged_into") == 0)
			cp->self_ref = c;
	}
}

/* The second pass of campaign.merged_into, now that every campaign is
 * there. */
static int
copy_merged_into(copier *cp)
{
	csip_stmt *st = NULL;
	int rc;

	rc = csip_store_prepare(cp->src, "SELECT id, merged_into FROM campaign "
		"WHERE merged_into IS NOT NULL", &st);
	while (rc == CSIP_OK && (rc = csip_stmt_step(st)) == CSIP_ROW)
		rc = csip_store_run(cp->dst, NULL, "UPDATE campaign SET "
			"merged_into = ? WHERE id = ?", csip_stmt_text(st, 1),
			csip_stmt_text(st, 0), NULL);
	if (rc == CSIP_DONE)
		rc = CSIP_OK;
	csip_stmt_free(st);
	return rc;
}

static int
copy_table(copier *cp)
{
	csip_stmt *st = NULL;
	char *sql = NULL;
	int rc;

	sql = g_strdup_printf("SELECT COUNT(*) FROM %s", cp->table);
	rc = csip_store_query_int64(cp->src, &cp->total, sql, NULL);
	g_clear_pointer(&sql, g_free);
	if (rc < 0)
		goto out;
	cp->done = 0;
	if (cp->progress)
		cp->progress(cp->table, 0, cp->total, cp->ud);
	sql = g_strdup_printf("SELECT * FROM %s", cp->table);
	if ((rc = csip_store_prepare(cp->src, sql, &st)) < 0)
		goto out;
	while ((rc = csip_stmt_step(st)) == CSIP_ROW) {
		if (cp->cols == NULL)
			learn_columns(cp, st);
		for (int c = 0; c < cp->ncols; c++) {
			cell v = { NULL, NULL };

			if (csip_stmt_is_null(st, c)) {
				/* both NULL */
			} else if (cp->blob[c]) {
				size_t n = 0;
				const void *p = csip_stmt_blob(st, c, &n);

				v.bytes = g_bytes_new(p, n);
			} else {
				v.text = g_strdup(csip_stmt_text(st, c));
			}
			g_array_append_val(cp->cells, v);
		}
		if (cp->cells->len >= (guint)cp->ncols * BATCH_ROWS ||
		    cp->cells->len >= BATCH_PARAMS) {
			if ((rc = flush(cp)) < 0)
				goto out;
		}
	}
	if (rc < 0 || (rc = flush(cp)) < 0)
		goto out;
	if (cp->self_ref >= 0 && (rc = copy_merged_into(cp)) < 0)
		goto out;
	rc = CSIP_OK;
out:
	if (rc < 0)
		csip_error_prefix(rc, "table %s: ", cp->table);
	csip_stmt_free(st);
	g_free(sql);
	return rc;
}

/* Continue the identity sequence of TABLE after its largest id
 * (PostgreSQL; SQLite's rowids need nothing). */
static int
continue_ids(csip_store *dst, const char *table, char **cols)
{
	char *sql;
	int rc, has_id = 0;

	if (strcmp(csip_store_backend_name(dst), "postgresql") != 0)
		return CSIP_OK;
	for (char **c = cols; c && *c; c++)
		has_id |= strcmp(*c, "id") == 0;
	if (!has_id)
		return CSIP_OK;
	sql = g_strdup_printf("SELECT setval(s, (SELECT COALESCE(MAX(id), 0) "
		"+ 1 FROM %s), false) FROM (SELECT pg_get_serial_sequence("
		"'%s', 'id') AS s) q WHERE s IS NOT NULL", table, table);
	rc = csip_store_exec(dst, sql);
	g_free(sql);
	return rc;
}

static int
counts_agree(csip_store *src, csip_store *dst, const char *table,
	     int64_t *rows)
{
	char *sql = g_strdup_printf("SELECT COUNT(*) FROM %s", table);
	int64_t a = -1, b = -2;
	int rc;

	if ((rc = csip_store_query_int64(src, &a, sql, NULL)) == CSIP_OK &&
	    (rc = csip_store_query_int64(dst, &b, sql, NULL)) == CSIP_OK &&
	    a != b)
		rc = csip_error_set(CSIP_ESTORE, "table %s: %" PRId64 " rows "
			"in the source but %" PRId64 " copied; nothing was "
			"kept", table, a, b);
	g_free(sql);
	*rows = a;
	return rc;
}

/* Empty what the migrations seeded in the new schema (corr_state's one
 * row, ...): the source's rows replace it.  Last tables first, for the
 * foreign keys. */
static int
clear_seeds(csip_store *dst, GPtrArray *tables)
{
	int rc = CSIP_OK;

	for (guint i = tables->len; i-- > 0 && rc == CSIP_OK;) {
		char *sql = g_strdup_printf("SELECT COUNT(*) FROM %s",
			(char *)tables->pdata[i]);
		int64_t n = 0;

		rc = csip_store_query_int64(dst, &n, sql, NULL);
		g_free(sql);
		if (rc == CSIP_OK && n > 0) {
			sql = g_strdup_printf("DELETE FROM %s",
				(char *)tables->pdata[i]);
			rc = csip_store_exec(dst, sql);
			g_free(sql);
		}
	}
	return rc;
}

int
csip_dbcopy(const char *from, const char *to, csip_dbcopy_progress progress,
	    void *ud, json_t **summary)
{
	csip_store *src = NULL, *dst = NULL;
	GPtrArray *tables = csip_migrate_tables();
	json_t *list = json_array();
	char *from_shown = csip_store_url_redacted(from);
	char *to_shown = csip_store_url_redacted(to);
	int64_t total = 0;
	int rc, v = 0, src_open = 0, dst_open = 0;

	if (summary)
		*summary = NULL;
	if ((rc = csip_store_open(from, &src)) < 0)
		goto out;
	if ((rc = csip_migrate_peek(src, &v)) < 0)
		goto out;
	if (v == 0) {
		rc = csip_error_set(CSIP_ENOTFOUND, "%s holds no csip database: "
			"check --from", from_shown);
		goto out;
	}
	if (v != csip_migrate_latest()) {
		rc = csip_error_set(CSIP_ECONFIG, "%s is at schema version %d, "
			"this csip at %d: run `csip init` on it with this csip "
			"first", from_shown, v, csip_migrate_latest());
		goto out;
	}
	if ((rc = csip_store_open(to, &dst)) < 0)
		goto out;
	if ((rc = csip_migrate_peek(dst, &v)) < 0)
		goto out;
	if (v != 0) {
		rc = csip_error_set(CSIP_EEXISTS, "%s already holds a csip "
			"database (schema version %d): copy into an empty one",
			to_shown, v);
		goto out;
	}
	/* The source's transaction keeps its writers out: the copy is of
	 * one moment, and nothing written meanwhile is left behind.  The
	 * target's holds the schema too (the migrations' own transactions
	 * nest in it): a failure leaves no half-made hub behind. */
	if ((rc = csip_store_begin(src)) < 0)
		goto out;
	src_open = 1;
	if ((rc = csip_store_begin(dst)) < 0)
		goto out;
	dst_open = 1;
	if ((rc = csip_migrate(dst, NULL)) < 0 ||
	    (rc = clear_seeds(dst, tables)) < 0)
		goto out;
	for (guint i = 0; i < tables->len; i++) {
		copier cp = {
			.src = src, .dst = dst, .table = tables->pdata[i],
			.cells = g_array_new(FALSE, FALSE, sizeof(cell)),
			.progress = progress, .ud = ud, .self_ref = -1,
		};
		int64_t rows = 0;

		rc = copy_table(&cp);
		if (rc == CSIP_OK)
			rc = continue_ids(dst, cp.table, cp.cols);
		if (rc == CSIP_OK)
			rc = counts_agree(src, dst, cp.table, &rows);
		cells_clear(&cp);
		g_array_free(cp.cells, TRUE);
		g_strfreev(cp.cols);
		g_free(cp.blob);
		if (rc < 0)
			goto out;
		json_array_append_new(list, json_pack("{ss sI}", "table",
			cp.table, "rows", (json_int_t)rows));
		total += rows;
	}
	dst_open = 0;
	if ((rc = csip_store_commit(dst)) < 0)
		goto out;
	if (summary)
		*summary = json_pack("{sO sI}", "tables", list, "rows",
				     (json_int_t)total);
	rc = CSIP_OK;
out:
	if (dst_open)
		csip_store_rollback(dst);
	if (src_open)
		csip_store_rollback(src);
	json_decref(list);
	g_free(from_shown);
	g_free(to_shown);
	g_ptr_array_free(tables, TRUE);
	csip_store_close(dst);
	csip_store_close(src);
	return rc;
}
