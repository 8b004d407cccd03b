/*
 * config.h - configuration: an INI file read with GKeyFile, over defaults
 * that work with no file at all.
 *
 * The file is found in this order: the path given (--config), the
 * CSIP_CONFIG environment variable, else none (defaults only).  The table of
 * options in config.c is the one source of truth: loading rejects unknown
 * groups and keys (a typo is an error, not a silent default), and
 * `csip config` prints the table as documentation.
 */
#ifndef CSIP_CONFIG_H
#define CSIP_CONFIG_H

typedef struct csip_config csip_config;

typedef struct csip_config_option {
	const char *group;
	const char *key;
	const char *def;   /* default; "@DATA@/x" is relative to the data dir */
	const char *help;
} csip_config_option;

/* Load PATH (may be NULL: then $CSIP_CONFIG, else defaults only).  On
 * success *out is a new config freed with csip_config_free(). */
int csip_config_load(const char *path, csip_config **out);

/* Free a config; NULL is accepted. */
void csip_config_free(csip_config *c);

/* The value of group.key, defaults applied and @DATA@ expanded; never NULL
 * for a known option, NULL for an unknown one.  Owned by the config. */
const char *csip_config_get(csip_config *c, const char *group,
			    const char *key);

/* Where the configuration came from ("defaults" or a path). */
const char *csip_config_source(const csip_config *c);

/* The data folder, the database URL, the secret key file. */
const char *csip_config_data_dir(csip_config *c);
const char *csip_config_db_url(csip_config *c);

/* The option table, terminated by an entry with group == NULL. */
const csip_config_option *csip_config_options(void);

#endif
