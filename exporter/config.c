/*
 * config.c: INI configuration, parsed with inih over bytes that were first
 * read and bounded through struct buf.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "ident.h"
#include "text.h"

#define DEFAULT_TENANT_KEY	"tenant_id"
#define DEFAULT_PART_SIZE	(1024ULL * 1024 * 1024)
#define DEFAULT_EXPIRY		(72ULL * 3600)	/* 72 h */
#define MIN_PART_SIZE		(64ULL * 1024)
#define MAX_EXPIRY		(366ULL * 24 * 3600)

/* libpq keywords the [database] section may set, in the order handed to
 * PQconnectdbParams. "password" and "sslpassword" are deliberately absent. */
static const char *const db_keys[] = {
	"service", "host", "hostaddr", "port", "dbname", "user", "passfile",
	"connect_timeout", "sslmode", "sslrootcert", "sslcert", "sslkey",
	"sslcrl", "sslcrldir", "sslsni", "ssl_min_protocol_version",
	"ssl_max_protocol_version", "channel_binding", "gssencmode",
	"requirepeer", "target_session_attrs",
};
#define NDB_KEYS (sizeof(db_keys) / sizeof(db_keys[0]))

struct config {
	char *db_vals[NDB_KEYS];
	const char *kw[NDB_KEYS + 1];	/* packed views for libpq */
	const char *kv[NDB_KEYS + 1];
	char *password_file;
	/* [database] standby_*: where export sessions read (NULL: here) */
	char *standby_host, *standby_port;
	uint64_t standby_wait;
	struct config_export exp;
	struct config_control ctl;
	struct config_service svc;
	struct config_notify ntf;
	struct config_leaktest lt;
	struct config_alerts alerts;
	struct config_files files;
	bool has_files;
	struct config_table *tables;
	size_t ntables;
};

/* Parser state shared with the inih callback. */
struct parse_ctx {
	struct config *cfg;
	char msg[1024];		/* first error, without the line number */
	char cursec[32];	/* section (header index) of the previous key */
	char secdisp[4 * CONFIG_MAX_LINE + 1];	/* its header, escaped */
	char **hdr;		/* section headers in file order (header_scan) */
	size_t nhdr;
	struct config_table *cur;	/* current table section, or NULL */
	bool seen_tenant_key, seen_passphrase, seen_signing, seen_outbox;
	bool seen_part, seen_expiry, seen_empty;
	unsigned seen_limits;	/* bits of limit_keys[] */
	unsigned seen_queue;	/* bits of queue_keys[] */
	bool seen_ncmd, seen_ntimeout;
	bool seen_pwfile, seen_sbhost, seen_sbport;
	unsigned seen_dbnum;	/* bits of db_num_keys[] */
	bool seen_req_age, seen_downloads, seen_attempts, seen_hr_pii;
	bool seen_hr_rows;
	bool seen_hr_whole;
	bool seen_socket, seen_root, seen_svckey, seen_state;
	bool seen_froot, seen_ftable, seen_fpath, seen_fsize;
	bool seen_staging, seen_cuser, seen_cpass, seen_stmt;
	unsigned alerts_seen;	/* [alerts] keys, one bit each */
	/* per table scalar keys seen; reset on section change */
	bool t_class, t_key, t_date, t_pii;
};

static int
ctx_fail(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->msg[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
		va_end(ap);
	}
	return 0;	/* inih: zero means error */
}

const char *
config_class_str(enum config_class cls)
{
	switch (cls) {
	case CONFIG_CLASS_TENANT: return "tenant";
	case CONFIG_CLASS_GLOBAL: return "global";
	case CONFIG_CLASS_EXCLUDED: return "excluded";
	}
	return "unknown";
}

/*
 * Names follow PostgreSQL's rules (ident.h): bare, "quoted" or U&"...".
 * The whole of v must be one name; it is written to out.
 */
static int
parse_one_ident(const char *v, char out[IDENT_MAX + 1], const char **why)
{
	struct buf *b;
	int r;

	if ((b = buf_from(v, strlen(v))) == NULL) {
		*why = "out of memory";
		return ERR_NOMEM;
	}
	if ((r = ident_get(b, out, why)) == 0 && buf_len(b) != 0) {
		*why = "unexpected characters after the name (a name with "
		    "spaces or other characters needs double quotes)";
		out[0] = '\0';
		r = ERR_FORMAT;
	}
	buf_free(b);
	return r;
}

/* A name as the config writes it, for messages (quoted, escaped). */
static const char *
cfg_name(char *out, size_t outlen, const char *name)
{
	if (ident_quote_config(out, outlen, name) != 0)
		snprintf(out, outlen, "?");
	return out;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* Digits followed by an optional one-letter unit; mult maps each letter. */
static int
parse_scaled(const char *v, const char *units, const uint64_t *mult,
    uint64_t *out)
{
	uint64_t n = 0, m = 1;
	const char *p = v;
	const char *u;

	*out = 0;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (*p != '\0') {
		if (p[1] != '\0' || (u = strchr(units, *p)) == NULL)
			return -1;
		m = mult[u - units];
	}
	if (n != 0 && m > UINT64_MAX / n)
		return -1;
	*out = n * m;
	return 0;
}

static int
parse_size(const char *v, uint64_t *out)
{
	static const uint64_t mult[] = { 1024ULL, 1024ULL << 10,
	    1024ULL << 20, 1024ULL << 30 };

	return parse_scaled(v, "KMGT", mult, out);
}

static int
parse_duration(const char *v, uint64_t *out)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400, 7 * 86400 };

	return parse_scaled(v, "smhdw", mult, out);
}

static int
list_has(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Appends the comma-separated names in v to *list (each a PostgreSQL
 * identifier, quoted where needed: "Full Name", email). */
static int
list_add_idents(struct parse_ctx *c, const char *sec, const char *key,
    const char *v, char ***list, size_t *n)
{
	char name[IDENT_MAX + 1], q[IDENT_CONFIG_MAX];
	struct buf *b = NULL;
	const char *why;
	char **nl;
	uint8_t ch;
	int ok = 0;

	if ((b = buf_from(v, strlen(v))) == NULL)
		return ctx_fail(c, "out of memory");
	for (;;) {
		while (buf_peek(b, 0, &ch, 1) == 0 && (ch == ' ' ||
		    ch == '\t'))
			(void)buf_consume(b, 1);
		if (buf_len(b) == 0) {
			/* "exclude_columns =" or a trailing comma: a mistake */
			ctx_fail(c, "[%s] %s: empty %s", sec, key, *n == 0 ?
			    "list" : "entry in the list");
			goto out;
		}
		if (ident_get(b, name, &why) != 0) {
			ctx_fail(c, "[%s] %s: invalid column name: %s", sec, key,
			    why);
			goto out;
		}
		if (list_has(*list, *n, name)) {
			ctx_fail(c, "[%s] %s: column %s listed twice", sec, key,
			    cfg_name(q, sizeof(q), name));
			goto out;
		}
		if (*n >= CONFIG_MAX_LIST) {
			ctx_fail(c, "[%s] %s: more than %d entries", sec, key,
			    CONFIG_MAX_LIST);
			goto out;
		}
		if ((nl = reallocarray(*list, *n + 1, sizeof(*nl))) == NULL) {
			ctx_fail(c, "out of memory");
			goto out;
		}
		*list = nl;
		if ((nl[*n] = strdup(name)) == NULL) {
			ctx_fail(c, "out of memory");
			goto out;
		}
		(*n)++;
		while (buf_peek(b, 0, &ch, 1) == 0 && (ch == ' ' ||
		    ch == '\t'))
			(void)buf_consume(b, 1);
		if (buf_len(b) == 0)
			break;
		if (buf_get_u8(b, &ch) != 0 || ch != ',') {
			ctx_fail(c, "[%s] %s: expected a comma after column %s "
			    "(a name with spaces or other characters needs "
			    "double quotes)", sec, key,
			    cfg_name(q, sizeof(q), name));
			goto out;
		}
	}
	ok = 1;
 out:
	buf_free(b);
	return ok;
}

static int
set_string(struct parse_ctx *c, bool *seen, char **dst, const char *sec,
    const char *key, const char *v)
{
	if (*seen)
		return ctx_fail(c, "[%s] %s: set twice", sec, key);
	*seen = true;
	if (*v == '\0')
		return ctx_fail(c, "[%s] %s: empty value", sec, key);
	if ((*dst = strdup(v)) == NULL)
		return ctx_fail(c, "out of memory");
	return 1;
}

/*
 * Numeric keys: durations in seconds (or with s/m/h/d/w), sizes in bytes
 * (or K/M/G/T), counts as plain digits.
 */
enum num_kind { NUM_DURATION, NUM_SIZE, NUM_COUNT };

struct num_key {
	const char *key;
	enum num_kind kind;
	uint64_t min, max;
	size_t off;
	const char *example;
};

/* [export] limits on the children of an export and on the database's
 * share (docs/DATABASE.md, docs/OPERATIONS.md). */
static const struct num_key limit_keys[] = {
	{ "cpu_limit", NUM_DURATION, 1, 7 * 86400,
	  offsetof(struct config_export, cpu_limit), "1h" },
	{ "stall_timeout", NUM_DURATION, 1, 86400,
	  offsetof(struct config_export, stall_timeout), "5m" },
	{ "time_limit", NUM_DURATION, 1, 7 * 86400,
	  offsetof(struct config_export, time_limit), "6h" },
	{ "max_archive_size", NUM_SIZE, MIN_PART_SIZE, UINT64_MAX,
	  offsetof(struct config_export, max_archive_size), "64G" },
	{ "max_rows_per_second", NUM_COUNT, 0, 1000000000,
	  offsetof(struct config_export, max_rows_per_second), "5000" },
	{ "max_bytes_per_second", NUM_SIZE, 0, 1ULL << 40,
	  offsetof(struct config_export, max_bytes_per_second), "8M" },
	{ "load_max_active", NUM_COUNT, 0, 100000,
	  offsetof(struct config_export, load_max_active), "20" },
	{ "load_max_lag", NUM_DURATION, 0, 86400,
	  offsetof(struct config_export, load_max_lag), "30s" },
};

/* [database] keys that are not libpq's. */
static const struct num_key db_num_keys[] = {
	{ "standby_wait", NUM_DURATION, 1, 86400,
	  offsetof(struct config, standby_wait), "30s" },
};

/* [control] limits on the queue (docs/CONTROL.md, "Limits"). */
static const struct num_key queue_keys[] = {
	{ "max_running", NUM_COUNT, 0, 10000,
	  offsetof(struct config_control, max_running), "4" },
	{ "max_running_per_tenant", NUM_COUNT, 0, 10000,
	  offsetof(struct config_control, max_running_per_tenant), "1" },
	{ "max_requests_per_principal", NUM_COUNT, 0, 1000000,
	  offsetof(struct config_control, max_requests_per_principal), "600" },
	{ "max_requests_per_tenant", NUM_COUNT, 0, 1000000,
	  offsetof(struct config_control, max_requests_per_tenant), "60" },
	{ "request_window", NUM_DURATION, 1, 7 * 86400,
	  offsetof(struct config_control, request_window), "1h" },
	{ "lease_timeout", NUM_DURATION, 3, 86400,
	  offsetof(struct config_control, lease_timeout), "1m" },
	{ "retry_backoff", NUM_DURATION, 1, 86400,
	  offsetof(struct config_control, retry_backoff), "30s" },
};

static int
parse_num(enum num_kind kind, const char *v, uint64_t *n)
{
	switch (kind) {
	case NUM_DURATION:
		return parse_duration(v, n);
	case NUM_SIZE:
		return parse_size(v, n);
	default:
		return parse_scaled(v, "", NULL, n);
	}
}

/* One key of a table: 1 (handled), 0 (error) or -1 (not in it). */
static int
handle_num(struct parse_ctx *c, const char *sec, const struct num_key *t,
    size_t nt, unsigned *seen, void *base, const char *key, const char *v)
{
	uint64_t n;
	size_t i;

	for (i = 0; i < nt; i++) {
		if (strcmp(key, t[i].key) != 0)
			continue;
		if (*seen & (1u << i))
			return ctx_fail(c, "[%s] %s: set twice", sec, key);
		*seen |= 1u << i;
		if (parse_num(t[i].kind, v, &n) != 0 || n < t[i].min ||
		    n > t[i].max)
			return ctx_fail(c, "[%s] %s: \"%s\" is out of range "
			    "(e.g. %s)", sec, key, v, t[i].example);
		*(uint64_t *)(void *)((char *)base + t[i].off) = n;
		return 1;
	}
	return -1;
}

static int
handle_database(struct parse_ctx *c, const char *key, const char *v)
{
	struct config *cfg = c->cfg;
	size_t i;
	int r;

	if (strcmp(key, "password") == 0 || strcmp(key, "sslpassword") == 0)
		return ctx_fail(c, "[database] %s: a password may not appear "
		    "in the config; use password_file, passfile or "
		    "PGPASSFILE/PGSERVICEFILE", key);
	if (strcmp(key, "password_file") == 0)
		return set_string(c, &c->seen_pwfile, &cfg->password_file,
		    "database", key, v);
	if (strcmp(key, "standby_host") == 0)
		return set_string(c, &c->seen_sbhost, &cfg->standby_host,
		    "database", key, v);
	if (strcmp(key, "standby_port") == 0)
		return set_string(c, &c->seen_sbport, &cfg->standby_port,
		    "database", key, v);
	if ((r = handle_num(c, "database", db_num_keys, sizeof(db_num_keys) /
	    sizeof(db_num_keys[0]), &c->seen_dbnum, cfg, key, v)) >= 0)
		return r;
	for (i = 0; i < NDB_KEYS; i++) {
		if (strcmp(key, db_keys[i]) != 0)
			continue;
		if (cfg->db_vals[i] != NULL)
			return ctx_fail(c, "[database] %s: set twice", key);
		if (*v == '\0')
			return ctx_fail(c, "[database] %s: empty value", key);
		if ((cfg->db_vals[i] = strdup(v)) == NULL)
			return ctx_fail(c, "out of memory");
		return 1;
	}
	return ctx_fail(c, "[database] unknown key \"%s\"", key);
}

/* 1 (handled), 0 (error) or -1 (not a limit key). */
static int
handle_limit(struct parse_ctx *c, const char *key, const char *v)
{
	return handle_num(c, "export", limit_keys, sizeof(limit_keys) /
	    sizeof(limit_keys[0]), &c->seen_limits, &c->cfg->exp, key, v);
}

static int
handle_export(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_export *e = &c->cfg->exp;
	char name[IDENT_MAX + 1];
	const char *why;
	int r;

	if (strcmp(key, "tenant_key") == 0) {
		if (c->seen_tenant_key)
			return ctx_fail(c, "[export] tenant_key: set twice");
		c->seen_tenant_key = true;
		if (parse_one_ident(v, name, &why) != 0)
			return ctx_fail(c, "[export] tenant_key: invalid "
			    "column name: %s", why);
		free(e->tenant_key);
		if ((e->tenant_key = strdup(name)) == NULL)
			return ctx_fail(c, "out of memory");
		return 1;
	}
	if (strcmp(key, "recipient") == 0 ||
	    strcmp(key, "passphrase_file") == 0)
		return ctx_fail(c, "[export] %s: recipients belong to each "
		    "tenant and each request, not to the configuration: "
		    "register them with `tenant-export tenant recipients`", key);
	if (strcmp(key, "signing_passphrase_file") == 0)
		return set_string(c, &c->seen_passphrase,
		    &e->signing_passphrase_file, "export", key, v);
	if (strcmp(key, "signing_key") == 0)
		return set_string(c, &c->seen_signing, &e->signing_key,
		    "export", key, v);
	if (strcmp(key, "outbox") == 0)
		return set_string(c, &c->seen_outbox, &e->outbox, "export",
		    key, v);
	if (strcmp(key, "part_size") == 0) {
		if (c->seen_part)
			return ctx_fail(c, "[export] part_size: set twice");
		c->seen_part = true;
		if (parse_size(v, &e->part_size) != 0 ||
		    e->part_size < MIN_PART_SIZE)
			return ctx_fail(c, "[export] part_size: \"%s\" is not a "
			    "size of at least 64K (e.g. 512M, 2G)", v);
		return 1;
	}
	if (strcmp(key, "expiry") == 0) {
		if (c->seen_expiry)
			return ctx_fail(c, "[export] expiry: set twice");
		c->seen_expiry = true;
		if (parse_duration(v, &e->expiry) != 0 || e->expiry == 0 ||
		    e->expiry > MAX_EXPIRY)
			return ctx_fail(c, "[export] expiry: \"%s\" is not a "
			    "duration between 1s and 366d (e.g. 7d, 12h)", v);
		return 1;
	}
	if (strcmp(key, "allow_empty") == 0) {
		if (c->seen_empty)
			return ctx_fail(c, "[export] allow_empty: set twice");
		c->seen_empty = true;
		if (parse_bool(v, &e->allow_empty) != 0)
			return ctx_fail(c, "[export] allow_empty: expected "
			    "yes or no");
		return 1;
	}
	if ((r = handle_limit(c, key, v)) >= 0)
		return r;
	return ctx_fail(c, "[export] unknown key \"%s\"", key);
}

/* "schema.table" with both parts valid identifiers. */
static int
set_u64(struct parse_ctx *c, bool *seen, uint64_t *dst, const char *key,
    const char *v, bool duration, uint64_t lo, uint64_t hi)
{
	uint64_t x;

	if (*seen)
		return ctx_fail(c, "[control] %s: set twice", key);
	*seen = true;
	if ((duration ? parse_duration(v, &x) : parse_scaled(v, "", NULL, &x))
	    != 0 || x < lo || x > hi)
		return ctx_fail(c, "[control] %s: \"%s\" is out of range "
		    "(%llu..%llu%s)", key, v, (unsigned long long)lo,
		    (unsigned long long)hi, duration ? " seconds" : "");
	*dst = x;
	return 1;
}

static int
handle_control(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_control *k = &c->cfg->ctl;
	char sch[IDENT_MAX + 1], tbl[IDENT_MAX + 1], q[IDENT_QNAME_MAX];
	struct buf *b = NULL;
	const char *why;
	char **nl;
	int ok = 0, r;

	if (strcmp(key, "max_request_age") == 0)
		return set_u64(c, &c->seen_req_age, &k->max_request_age, key, v,
		    true, 1, 24 * 3600);
	if (strcmp(key, "max_downloads") == 0)
		return set_u64(c, &c->seen_downloads, &k->max_downloads, key, v,
		    false, 1, 1000);
	if (strcmp(key, "max_attempts") == 0)
		return set_u64(c, &c->seen_attempts, &k->max_attempts, key, v,
		    false, 1, 10);
	if (strcmp(key, "high_risk_rows") == 0)
		return set_u64(c, &c->seen_hr_rows, &k->high_risk_rows, key, v,
		    false, 0, UINT64_MAX / 2);
	if (strcmp(key, "high_risk_pii") == 0 ||
	    strcmp(key, "high_risk_whole_tenant") == 0) {
		bool *seen = key[10] == 'p' ? &c->seen_hr_pii : &c->seen_hr_whole;
		int *dst = key[10] == 'p' ? &k->high_risk_pii :
		    &k->high_risk_whole_tenant;

		if (*seen)
			return ctx_fail(c, "[control] %s: set twice", key);
		*seen = true;
		if (parse_bool(v, dst) != 0)
			return ctx_fail(c, "[control] %s: expected yes or no",
			    key);
		return 1;
	}
	if ((ok = handle_num(c, "control", queue_keys, sizeof(queue_keys) /
	    sizeof(queue_keys[0]), &c->seen_queue, k, key, v)) >= 0)
		return ok;
	ok = 0;
	if (strcmp(key, "high_risk_tables") != 0)
		return ctx_fail(c, "[control] unknown key \"%s\"", key);
	if ((b = buf_from(v, strlen(v))) == NULL)
		return ctx_fail(c, "out of memory");
	while ((r = ident_qlist_next(b, sch, tbl, &why)) == 0) {
		if (ident_qualify(q, sizeof(q), sch, tbl) != 0) {
			ctx_fail(c, "[control] high_risk_tables: name too long");
			goto out;
		}
		if (list_has(k->high_risk_tables, k->nhigh_risk_tables, q))
			continue;
		if (k->nhigh_risk_tables >= CONFIG_MAX_LIST) {
			ctx_fail(c, "[control] high_risk_tables: too many");
			goto out;
		}
		nl = reallocarray(k->high_risk_tables, k->nhigh_risk_tables + 1,
		    sizeof(*nl));
		if (nl == NULL) {
			ctx_fail(c, "out of memory");
			goto out;
		}
		k->high_risk_tables = nl;
		if ((nl[k->nhigh_risk_tables] = strdup(q)) == NULL) {
			ctx_fail(c, "out of memory");
			goto out;
		}
		k->nhigh_risk_tables++;
	}
	if (r != ERR_NOENT) {
		ctx_fail(c, "[control] high_risk_tables: %s", why);
		goto out;
	}
	if (k->nhigh_risk_tables == 0) {
		ctx_fail(c, "[control] high_risk_tables: empty list");
		goto out;
	}
	ok = 1;
 out:
	buf_free(b);
	return ok;
}

/*
 * [alerts]: thresholds of `tenant-export alerts`. Every key at most once;
 * the bit of a key is its index in alerts_keys.
 */
static const char *const alerts_keys[] = {
	"burst_exports", "burst_window", "failures", "failures_window",
	"unusual_after", "downloads_left", "after_hours", "business_hours",
	"business_days", "timezone", "held_after",
};

static void
alerts_defaults(struct config_alerts *a)
{
	a->burst_exports = 10;
	a->burst_window = 3600;
	a->failures = 5;
	a->failures_window = 3600;
	a->unusual_after = 90 * 86400;
	a->downloads_left = 1;
	a->after_hours = 1;
	a->day_start = 8 * 60;
	a->day_end = 19 * 60;
	a->business_days = 0x3e;	/* Monday (1) to Friday (5) */
	a->held_after = 24 * 3600;
}

/* "HH:MM" into minutes after midnight (24:00 allowed as an end). */
static int
parse_hhmm(const char *v, unsigned *out)
{
	if (strlen(v) != 5 || !isdigit((unsigned char)v[0]) ||
	    !isdigit((unsigned char)v[1]) || v[2] != ':' ||
	    !isdigit((unsigned char)v[3]) || !isdigit((unsigned char)v[4]))
		return -1;
	*out = (unsigned)((v[0] - '0') * 600 + (v[1] - '0') * 60 +
	    (v[3] - '0') * 10 + (v[4] - '0'));
	return (v[3] - '0') < 6 && *out <= 24 * 60 ? 0 : -1;
}

/* ISO weekday (1 = Monday) of a three-letter name at v, or 0. */
static int
day_index(const char *v)
{
	static const char *const days[] = { "mon", "tue", "wed", "thu",
	    "fri", "sat", "sun" };
	int i;

	for (i = 0; i < 7; i++)
		if (strncmp(v, days[i], 3) == 0)
			return i + 1;
	return 0;
}

/* "mon-fri", "mon,wed,fri", "sat-sun": ISO weekday bits. */
static int
parse_days(const char *v, unsigned *out)
{
	int a, b, i;

	*out = 0;
	for (;;) {
		if ((a = day_index(v)) == 0)
			return -1;
		v += 3;
		b = a;
		if (*v == '-') {
			if ((b = day_index(++v)) == 0 || b < a)
				return -1;
			v += 3;
		}
		for (i = a; i <= b; i++)
			*out |= 1u << i;
		if (*v == '\0')
			return 0;
		if (*v++ != ',')
			return -1;
	}
}

static int
handle_alerts(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_alerts *a = &c->cfg->alerts;
	const char *dash;
	char start[6];
	size_t i, n = sizeof(alerts_keys) / sizeof(alerts_keys[0]);
	uint64_t x = 0;
	bool ok = false;

	for (i = 0; i < n && strcmp(key, alerts_keys[i]) != 0; i++)
		;
	if (i == n)
		return ctx_fail(c, "[alerts] unknown key \"%s\"", key);
	if (c->alerts_seen & (1u << i))
		return ctx_fail(c, "[alerts] %s: set twice", key);
	c->alerts_seen |= 1u << i;
	switch (i) {
	case 0: case 2:		/* counts */
		ok = parse_scaled(v, "", NULL, &x) == 0 && x <= 1000000;
		*(i == 0 ? &a->burst_exports : &a->failures) = x;
		break;
	case 1: case 3:		/* windows */
		ok = parse_duration(v, &x) == 0 && x > 0 && x <= 31 * 86400;
		*(i == 1 ? &a->burst_window : &a->failures_window) = x;
		break;
	case 4: case 10:	/* off after */
		ok = parse_duration(v, &x) == 0 && x <= 3660ULL * 86400;
		*(i == 4 ? &a->unusual_after : &a->held_after) = x;
		break;
	case 5:
		if (strcmp(v, "off") == 0) {
			a->downloads_left = -1;
			ok = true;
		} else if (parse_scaled(v, "", NULL, &x) == 0 && x <= 1000) {
			a->downloads_left = (int)x;
			ok = true;
		}
		break;
	case 6:
		ok = parse_bool(v, &a->after_hours) == 0;
		break;
	case 7:
		if (strlen(v) == 11 && (dash = strchr(v, '-')) == v + 5) {
			memcpy(start, v, 5);
			start[5] = '\0';
			ok = parse_hhmm(start, &a->day_start) == 0 &&
			    parse_hhmm(v + 6, &a->day_end) == 0 &&
			    a->day_start < a->day_end;
		}
		break;
	case 8:
		ok = parse_days(v, &a->business_days) == 0;
		break;
	case 9:
		ok = *v != '\0' && strlen(v) <= 64 &&
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789/_+-") == strlen(v);
		if (ok) {
			free(a->timezone);
			if ((a->timezone = strdup(v)) == NULL)
				return ctx_fail(c, "out of memory");
		}
		break;
	}
	if (!ok)
		return ctx_fail(c, "[alerts] %s: \"%s\" is not valid (see "
		    "docs/OPERATIONS.md)", key, v);
	return 1;
}

/* Starts a [table schema.name] section. */
static int
table_open(struct parse_ctx *c, const char *hdr, const char *sec)
{
	struct config *cfg = c->cfg;
	struct config_table *t, *nt;
	const char *spec = hdr + strlen("table");
	char copy[IDENT_MAX + 1], name[IDENT_MAX + 1];
	const char *why;
	int ok = 0;

	if (ident_parse_qualified(spec, strlen(spec), copy, name, &why) != 0) {
		ctx_fail(c, "[%s]: invalid table name: %s; expected "
		    "[table schema.name]", sec, why);
		goto out;
	}
	if (config_table_find(cfg, copy, name) != NULL) {
		ctx_fail(c, "[%s]: table configured twice", sec);
		goto out;
	}
	if (cfg->ntables >= CONFIG_MAX_TABLES) {
		ctx_fail(c, "[%s]: more than %d tables", sec,
		    CONFIG_MAX_TABLES);
		goto out;
	}
	nt = reallocarray(cfg->tables, cfg->ntables + 1, sizeof(*nt));
	if (nt == NULL) {
		ctx_fail(c, "out of memory");
		goto out;
	}
	cfg->tables = nt;
	t = &nt[cfg->ntables];
	memset(t, 0, sizeof(*t));
	cfg->ntables++;
	if ((t->schema = strdup(copy)) == NULL ||
	    (t->name = strdup(name)) == NULL) {
		ctx_fail(c, "out of memory");
		goto out;
	}
	c->cur = t;
	c->t_class = c->t_key = c->t_date = c->t_pii = false;
	ok = 1;
 out:
	return ok;
}

static int
handle_table(struct parse_ctx *c, const char *sec, const char *key,
    const char *v)
{
	struct config_table *t = c->cur;
	char name[IDENT_MAX + 1];
	const char *why;

	if (strcmp(key, "class") == 0) {
		if (c->t_class)
			return ctx_fail(c, "[%s] class: set twice", sec);
		c->t_class = true;
		if (strcmp(v, "tenant") == 0)
			t->cls = CONFIG_CLASS_TENANT;
		else if (strcmp(v, "global") == 0)
			t->cls = CONFIG_CLASS_GLOBAL;
		else if (strcmp(v, "excluded") == 0)
			t->cls = CONFIG_CLASS_EXCLUDED;
		else
			return ctx_fail(c, "[%s] class: \"%s\" is not tenant, "
			    "global or excluded", sec, v);
		return 1;
	}
	if (strcmp(key, "tenant_key") == 0 || strcmp(key, "date_column") == 0) {
		bool *seen = key[0] == 't' ? &c->t_key : &c->t_date;
		char **dst = key[0] == 't' ? &t->tenant_key : &t->date_column;

		if (*seen)
			return ctx_fail(c, "[%s] %s: set twice", sec, key);
		*seen = true;
		if (parse_one_ident(v, name, &why) != 0)
			return ctx_fail(c, "[%s] %s: invalid column name: %s",
			    sec, key, why);
		if ((*dst = strdup(name)) == NULL)
			return ctx_fail(c, "out of memory");
		return 1;
	}
	if (strcmp(key, "pii") == 0) {
		if (c->t_pii)
			return ctx_fail(c, "[%s] pii: set twice", sec);
		c->t_pii = true;
		if (parse_bool(v, &t->pii) != 0)
			return ctx_fail(c, "[%s] pii: expected yes or no", sec);
		return 1;
	}
	if (strcmp(key, "exclude_columns") == 0)
		return list_add_idents(c, sec, key, v, &t->exclude,
		    &t->nexclude);
	if (strcmp(key, "allow_columns") == 0)
		return list_add_idents(c, sec, key, v, &t->allow, &t->nallow);
	return ctx_fail(c, "[%s] unknown key \"%s\"", sec, key);
}

static int
handle_service(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_service *s = &c->cfg->svc;

	if (strcmp(key, "socket") == 0)
		return set_string(c, &c->seen_socket, &s->socket, "service",
		    key, v);
	if (strcmp(key, "root_key") == 0)
		return set_string(c, &c->seen_root, &s->root_key, "service",
		    key, v);
	if (strcmp(key, "service_key") == 0)
		return set_string(c, &c->seen_svckey, &s->service_key,
		    "service", key, v);
	if (strcmp(key, "state_dir") == 0)
		return set_string(c, &c->seen_state, &s->state_dir, "service",
		    key, v);
	return ctx_fail(c, "[service] unknown key \"%s\"", key);
}

/* A login role's name, as libpq takes it: 1 to 63 bytes, no control
 * character. */
static int
login_name_ok(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

static int
handle_leaktest(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_leaktest *t = &c->cfg->lt;

	if (strcmp(key, "staging") == 0) {
		if (c->seen_staging)
			return ctx_fail(c, "[leaktest] staging: set twice");
		c->seen_staging = true;
		if (parse_bool(v, &t->staging) != 0)
			return ctx_fail(c, "[leaktest] staging: expected yes or "
			    "no");
		return 1;
	}
	if (strcmp(key, "canary_user") == 0) {
		if (!login_name_ok(v))
			return ctx_fail(c, "[leaktest] canary_user: invalid "
			    "role name \"%s\"", v);
		return set_string(c, &c->seen_cuser, &t->canary_user,
		    "leaktest", key, v);
	}
	if (strcmp(key, "canary_password_file") == 0)
		return set_string(c, &c->seen_cpass, &t->canary_password_file,
		    "leaktest", key, v);
	if (strcmp(key, "statement_timeout") == 0) {
		if (c->seen_stmt)
			return ctx_fail(c, "[leaktest] statement_timeout: set "
			    "twice");
		c->seen_stmt = true;
		if (parse_duration(v, &t->statement_timeout) != 0 ||
		    t->statement_timeout == 0 ||
		    t->statement_timeout > 86400)
			return ctx_fail(c, "[leaktest] statement_timeout: "
			    "expected 1s to 1d");
		return 1;
	}
	return ctx_fail(c, "[leaktest] unknown key \"%s\"", key);
}

static int
handle_notify(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_notify *n = &c->cfg->ntf;

	if (strcmp(key, "command") == 0) {
		if (v[0] != '/')
			return ctx_fail(c, "[notify] command: \"%s\" is not an "
			    "absolute path (it is run without a shell)", v);
		return set_string(c, &c->seen_ncmd, &n->command, "notify", key,
		    v);
	}
	if (strcmp(key, "timeout") == 0) {
		if (c->seen_ntimeout)
			return ctx_fail(c, "[notify] timeout: set twice");
		c->seen_ntimeout = true;
		if (parse_duration(v, &n->timeout) != 0 || n->timeout == 0 ||
		    n->timeout > 3600)
			return ctx_fail(c, "[notify] timeout: \"%s\" is not a "
			    "duration between 1s and 1h", v);
		return 1;
	}
	return ctx_fail(c, "[notify] unknown key \"%s\"", key);
}

static int
files_column(struct parse_ctx *c, bool *seen, char **dst, const char *key,
    const char *v)
{
	char name[IDENT_MAX + 1];
	const char *why;

	if (*seen)
		return ctx_fail(c, "[files] %s: set twice", key);
	*seen = true;
	if (parse_one_ident(v, name, &why) != 0)
		return ctx_fail(c, "[files] %s: invalid column name: %s", key,
		    why);
	if ((*dst = strdup(name)) == NULL)
		return ctx_fail(c, "out of memory");
	return 1;
}

static int
handle_files(struct parse_ctx *c, const char *key, const char *v)
{
	struct config_files *f = &c->cfg->files;
	char schema[IDENT_MAX + 1], name[IDENT_MAX + 1];
	const char *why;

	c->cfg->has_files = true;
	if (strcmp(key, "root") == 0) {
		if (!set_string(c, &c->seen_froot, &f->root, "files", key, v))
			return 0;
		if (v[0] != '/' || strstr(v, "/../") != NULL ||
		    (strlen(v) >= 3 && strcmp(v + strlen(v) - 3, "/..") == 0))
			return ctx_fail(c, "[files] root: \"%s\" is not an "
			    "absolute path without \"..\"", f->root);
		return 1;
	}
	if (strcmp(key, "table") == 0) {
		if (c->seen_ftable)
			return ctx_fail(c, "[files] table: set twice");
		c->seen_ftable = true;
		if (ident_parse_qualified(v, strlen(v), schema, name,
		    &why) != 0)
			return ctx_fail(c, "[files] table: invalid table "
			    "name: %s; expected schema.name", why);
		if ((f->schema = strdup(schema)) == NULL ||
		    (f->table = strdup(name)) == NULL)
			return ctx_fail(c, "out of memory");
		return 1;
	}
	if (strcmp(key, "path_column") == 0)
		return files_column(c, &c->seen_fpath, &f->path_column, key,
		    v);
	if (strcmp(key, "size_column") == 0)
		return files_column(c, &c->seen_fsize, &f->size_column, key,
		    v);
	return ctx_fail(c, "[files] unknown key \"%s\"", key);
}

/* The [files] section names a tenant table, whose columns it may use. */
static int
files_finish(struct config *cfg, char *err, size_t errlen)
{
	const struct config_files *f = &cfg->files;
	const struct config_table *t;
	char cn[IDENT_CONFIG_MAX];

	if (!cfg->has_files)
		return 0;
	if (f->root == NULL || f->table == NULL || f->path_column == NULL) {
		err_set(err, errlen, "[files]: root, table and path_column "
		    "are needed (docs/DATABASE.md, \"Files\")");
		return ERR_CONFIG;
	}
	t = config_table_find(cfg, f->schema, f->table);
	if (t == NULL || t->cls != CONFIG_CLASS_TENANT) {
		err_set(err, errlen, "[files] table: not configured as a "
		    "[table] section with class = tenant");
		return ERR_CONFIG;
	}
	if (strcmp(f->path_column, t->tenant_key) == 0 ||
	    (f->size_column != NULL &&
	    (strcmp(f->size_column, t->tenant_key) == 0 ||
	    strcmp(f->size_column, f->path_column) == 0))) {
		err_set(err, errlen, "[files]: path_column, size_column and "
		    "the table's tenant column must be three columns");
		return ERR_CONFIG;
	}
	if (config_table_excludes(t, f->path_column) ||
	    (f->size_column != NULL &&
	    config_table_excludes(t, f->size_column))) {
		err_set(err, errlen, "[files]: column %s is excluded from "
		    "its table, so no file could be bound to its row",
		    cfg_name(cn, sizeof(cn),
		    config_table_excludes(t, f->path_column) ?
		    f->path_column : f->size_column));
		return ERR_CONFIG;
	}
	return 0;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	const char *hdr, *sec;
	char *end;
	unsigned long i;

	if (section[0] == '\0')
		return ctx_fail(c, "key \"%s\" outside any section", name);
	/* Every header was replaced by its index (header_scan). */
	errno = 0;
	i = strtoul(section, &end, 10);
	if (*end != '\0' || errno != 0 || i >= c->nhdr)
		return ctx_fail(c, "malformed section header");
	hdr = c->hdr[i];
	if (strcmp(section, c->cursec) != 0) {
		/*
		 * inih reports keys, not headers, so a section is noticed when
		 * its first key arrives. A header seen again later would merge
		 * silently; refuse it instead.
		 */
		c->cur = NULL;
		text_escape(c->secdisp, sizeof(c->secdisp), hdr, strlen(hdr));
		if (strcmp(hdr, "database") == 0 ||
		    strcmp(hdr, "export") == 0 ||
		    strcmp(hdr, "control") == 0 ||
		    strcmp(hdr, "service") == 0 ||
		    strcmp(hdr, "files") == 0 ||
		    strcmp(hdr, "alerts") == 0 ||
		    strcmp(hdr, "notify") == 0 ||
		    strcmp(hdr, "leaktest") == 0) {
			/* fine; repeated scalar keys are caught per key */
		} else if (strncmp(hdr, "table", 5) == 0 &&
		    (hdr[5] == ' ' || hdr[5] == '\t')) {
			if (!table_open(c, hdr, c->secdisp))
				return 0;
		} else {
			return ctx_fail(c, "unknown section [%s]", c->secdisp);
		}
		snprintf(c->cursec, sizeof(c->cursec), "%s", section);
	}
	sec = c->secdisp;
	if (strcmp(hdr, "database") == 0)
		return handle_database(c, name, value);
	if (strcmp(hdr, "export") == 0)
		return handle_export(c, name, value);
	if (strcmp(hdr, "control") == 0)
		return handle_control(c, name, value);
	if (strcmp(hdr, "service") == 0)
		return handle_service(c, name, value);
	if (strcmp(hdr, "notify") == 0)
		return handle_notify(c, name, value);
	if (strcmp(hdr, "leaktest") == 0)
		return handle_leaktest(c, name, value);
	if (strcmp(hdr, "alerts") == 0)
		return handle_alerts(c, name, value);
	if (strcmp(hdr, "files") == 0)
		return handle_files(c, name, value);
	if (c->cur == NULL)
		return ctx_fail(c, "[%s] internal: no table", sec);
	return handle_table(c, sec, name, value);
}

/*
 * The end of a section header that starts after '[' at h (n bytes of the
 * line left): the first ']' outside double quotes, so that a quoted name
 * may hold ']'. Returns its offset, or -1.
 */
static ssize_t
header_end(const uint8_t *h, size_t n)
{
	size_t i;
	int inq = 0;

	for (i = 0; i < n; i++) {
		if (h[i] == '"')
			inq = !inq;
		else if (h[i] == ']' && !inq)
			return (ssize_t)i;
	}
	return -1;
}

/*
 * Section headers are read here, not by inih: inih cuts a header at its
 * first ']' and at 49 bytes, and a table name may be longer or hold ']'
 * inside quotes. Each header line becomes "[N]" in out (N indexes
 * c->hdr), every other line is copied as it is, so line numbers stay.
 */
static int
header_scan(struct parse_ctx *c, const char *text, size_t len, struct buf *out,
    char *err, size_t errlen)
{
	struct buf *b = NULL;
	const uint8_t *l;
	size_t ll, k, lineno = 0;
	ssize_t e;
	char **nh;
	int r;

	if ((b = buf_from(text, len)) == NULL)
		return ERR_NOMEM;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		(void)buf_consume(b, 3);	/* inih skips a BOM too */
	while (buf_len(b) > 0) {
		lineno++;
		if ((r = buf_get_line(b, &l, &ll, len)) == ERR_TRUNCATED) {
			ll = buf_len(b);
			if ((r = buf_get_ptr(b, ll, &l)) != 0)
				goto out;
		} else if (r != 0)
			goto out;
		for (k = 0; k < ll && isspace(l[k]); k++)
			;
		if (k == ll || l[k] != '[') {
			if ((r = buf_put(out, l, ll)) != 0 ||
			    (r = buf_put_u8(out, '\n')) != 0)
				goto out;
			continue;
		}
		r = ERR_CONFIG;
		if ((e = header_end(&l[k + 1], ll - k - 1)) < 0) {
			err_set(err, errlen, "line %zu: section header without "
			    "its closing ']'", lineno);
			goto out;
		}
		for (size_t j = k + 2 + (size_t)e; j < ll; j++) {
			if (l[j] == ';' || l[j] == '#')
				break;
			if (!isspace(l[j])) {
				err_set(err, errlen, "line %zu: text after the "
				    "section header's ']'", lineno);
				goto out;
			}
		}
		if (c->nhdr >= CONFIG_MAX_TABLES + 8) {
			err_set(err, errlen, "line %zu: too many sections",
			    lineno);
			goto out;
		}
		r = ERR_NOMEM;
		if ((nh = reallocarray(c->hdr, c->nhdr + 1, sizeof(*nh))) ==
		    NULL)
			goto out;
		c->hdr = nh;
		if ((nh[c->nhdr] = strndup((const char *)&l[k + 1],
		    (size_t)e)) == NULL)
			goto out;
		if ((r = buf_putf(out, "[%zu]\n", c->nhdr)) != 0)
			goto out;
		c->nhdr++;
	}
	r = buf_put_u8(out, '\0');
 out:
	buf_free(b);
	return r;
}

/* Cross-key checks once everything is read. */
static int
config_finish(struct config *cfg, char *err, size_t errlen)
{
	struct config_table *t;
	char tn[IDENT_CONFIG_QMAX], cn[IDENT_CONFIG_MAX];
	size_t i, j, n = 0;

	for (i = 0; i < NDB_KEYS; i++) {
		if (cfg->db_vals[i] == NULL)
			continue;
		cfg->kw[n] = db_keys[i];
		cfg->kv[n] = cfg->db_vals[i];
		n++;
	}
	cfg->kw[n] = cfg->kv[n] = NULL;
	if (cfg->password_file != NULL && config_db_param(cfg, "passfile")) {
		err_set(err, errlen, "[database]: set password_file or "
		    "passfile, not both");
		return ERR_CONFIG;
	}
	if (cfg->standby_host == NULL && cfg->standby_port != NULL) {
		err_set(err, errlen, "[database]: standby_port without "
		    "standby_host");
		return ERR_CONFIG;
	}
	for (i = 0; i < cfg->ntables; i++) {
		t = &cfg->tables[i];
		if (ident_qualify_config(tn, sizeof(tn), t->schema,
		    t->name) != 0)
			snprintf(tn, sizeof(tn), "?");
		if (t->cls == 0) {
			err_set(err, errlen, "[table %s]: class missing; set "
			    "class = tenant, global or excluded", tn);
			return ERR_CONFIG;
		}
		if (t->cls != CONFIG_CLASS_TENANT &&
		    (t->tenant_key != NULL || t->date_column != NULL)) {
			err_set(err, errlen, "[table %s]: tenant_key and "
			    "date_column apply only to class = tenant",
			    tn);
			return ERR_CONFIG;
		}
		if (t->cls == CONFIG_CLASS_EXCLUDED &&
		    (t->nexclude > 0 || t->nallow > 0)) {
			err_set(err, errlen, "[table %s]: an excluded table "
			    "takes no column lists", tn);
			return ERR_CONFIG;
		}
		if (t->cls == CONFIG_CLASS_TENANT && t->tenant_key == NULL &&
		    (t->tenant_key = strdup(cfg->exp.tenant_key)) == NULL)
			return ERR_NOMEM;
		for (j = 0; j < t->nexclude; j++) {
			if (list_has(t->allow, t->nallow, t->exclude[j])) {
				err_set(err, errlen, "[table %s]: column "
				    "%s is both excluded and allowed", tn,
				    cfg_name(cn, sizeof(cn), t->exclude[j]));
				return ERR_CONFIG;
			}
		}
		if (t->tenant_key != NULL &&
		    list_has(t->exclude, t->nexclude, t->tenant_key)) {
			err_set(err, errlen, "[table %s]: the tenant column "
			    "%s cannot be excluded: the verifier needs it",
			    tn, cfg_name(cn, sizeof(cn), t->tenant_key));
			return ERR_CONFIG;
		}
		if (t->date_column != NULL &&
		    list_has(t->exclude, t->nexclude, t->date_column)) {
			err_set(err, errlen, "[table %s]: date_column %s "
			    "is excluded", tn, cfg_name(cn, sizeof(cn),
			    t->date_column));
			return ERR_CONFIG;
		}
	}
	return files_finish(cfg, err, errlen);
}

int
config_parse(const char *text, size_t len, struct config **out, char *err,
    size_t errlen)
{
	struct parse_ctx *c = NULL;
	struct config *cfg = NULL;
	struct buf *b = NULL;
	const uint8_t *line;
	size_t llen, lineno = 0;
	struct buf *hb = NULL;
	char *copy;
	int r = ERR_INTERNAL, ir;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (len == 0)
		text = "";
	if (len > CONFIG_MAX_FILE) {
		err_set(err, errlen, "file larger than %d bytes",
		    CONFIG_MAX_FILE);
		r = ERR_LIMIT;
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		err_set(err, errlen, "file contains a NUL byte");
		r = ERR_CONFIG;
		goto out;
	}
	/* inih would silently split an over-long line in two. */
	if ((b = buf_from(text, len)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	while (buf_len(b) > 0) {
		lineno++;
		ir = buf_get_line(b, &line, &llen, CONFIG_MAX_LINE + 1);
		if (ir == ERR_TRUNCATED) {
			if (buf_len(b) <= CONFIG_MAX_LINE)
				break;	/* last line without LF */
			ir = ERR_LIMIT;
		}
		if (ir != 0 || llen > CONFIG_MAX_LINE) {
			err_set(err, errlen, "line %zu: longer than %d bytes; "
			    "split lists over repeated keys", lineno,
			    CONFIG_MAX_LINE);
			r = ERR_CONFIG;
			goto out;
		}
	}
	if ((hb = buf_new(len + 16 * (CONFIG_MAX_TABLES + 16) + 2)) == NULL ||
	    (cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = header_scan(c, text, len, hb, err, errlen)) != 0) {
		if (r == ERR_LIMIT)
			r = ERR_NOMEM;
		goto out;
	}
	copy = (char *)buf_ptr(hb);
	cfg->exp.part_size = DEFAULT_PART_SIZE;
	cfg->standby_wait = 30;
	cfg->exp.expiry = DEFAULT_EXPIRY;
	cfg->exp.cpu_limit = 3600;
	cfg->exp.stall_timeout = 300;
	cfg->exp.time_limit = 6 * 3600;
	cfg->exp.max_archive_size = 64ULL << 30;
	cfg->ctl.max_request_age = 300;
	cfg->ctl.max_downloads = 3;
	cfg->ctl.max_attempts = 3;
	cfg->ctl.high_risk_rows = 1000000;
	cfg->ctl.high_risk_pii = 1;
	cfg->ctl.high_risk_whole_tenant = 1;
	cfg->ctl.max_running = 4;
	cfg->ctl.max_running_per_tenant = 1;
	cfg->ctl.max_requests_per_principal = 600;
	cfg->ctl.max_requests_per_tenant = 60;
	cfg->ctl.request_window = 3600;
	cfg->ctl.lease_timeout = 60;
	cfg->ctl.retry_backoff = 30;
	cfg->ntf.timeout = 10;
	cfg->lt.statement_timeout = 60;
	alerts_defaults(&cfg->alerts);
	if ((cfg->exp.tenant_key = strdup(DEFAULT_TENANT_KEY)) == NULL ||
	    (cfg->alerts.timezone = strdup("UTC")) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	c->cfg = cfg;
	/*
	 * Stop at the first error so the line inih returns is the line of
	 * our message; no continuation lines, so every line stands alone.
	 */
	ini_stop_on_first_error = 1;
	ini_allow_multiline = 0;
	ir = ini_parse_string(copy, ini_cb, c);
	if (ir != 0) {
		if (ir < 0)
			err_set(err, errlen, "cannot parse (%d)", ir);
		else if (c->msg[0] != '\0')
			err_set(err, errlen, "line %d: %s", ir, c->msg);
		else
			err_set(err, errlen, "line %d: syntax error", ir);
		r = ir == -2 ? ERR_NOMEM : ERR_CONFIG;
		goto out;
	}
	if ((r = config_finish(cfg, err, errlen)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	r = 0;
 out:
	buf_free(b);
	buf_free(hb);
	if (c != NULL) {
		for (size_t i = 0; i < c->nhdr; i++)
			free(c->hdr[i]);
		free(c->hdr);
	}
	free(c);
	config_free(cfg);
	return r;
}

/* A relative path in the file is relative to the file's directory. */
static int
resolve_one(char **p, const char *dir)
{
	char *n;

	if (*p == NULL || (*p)[0] == '/' || (*p)[0] == '\0')
		return 0;
	if (asprintf(&n, "%s/%s", dir, *p) < 0)
		return ERR_NOMEM;
	free(*p);
	*p = n;
	return 0;
}

/*
 * Every path the file names, made independent of the working directory:
 * the service runs from wherever systemd or cron starts it, and the
 * commands run with --config from anywhere.
 */
static int
resolve_paths(struct config *cfg, const char *path)
{
	static const char *const db_paths[] = { "passfile", "sslrootcert",
	    "sslcert", "sslkey", "sslcrl", "sslcrldir" };
	char *dir, *slash;
	size_t i, k, n = 0;
	int r = 0;

	if ((dir = strdup(path)) == NULL)
		return ERR_NOMEM;
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((r = resolve_one(&cfg->password_file, dir)) != 0 ||
	    (r = resolve_one(&cfg->exp.signing_key, dir)) != 0 ||
	    (r = resolve_one(&cfg->exp.signing_passphrase_file, dir)) != 0 ||
	    (r = resolve_one(&cfg->exp.outbox, dir)) != 0 ||
	    (r = resolve_one(&cfg->svc.socket, dir)) != 0 ||
	    (r = resolve_one(&cfg->svc.root_key, dir)) != 0 ||
	    (r = resolve_one(&cfg->svc.service_key, dir)) != 0 ||
	    (r = resolve_one(&cfg->svc.state_dir, dir)) != 0)
		goto out;
	for (i = 0; i < NDB_KEYS; i++)
		for (k = 0; k < sizeof(db_paths) / sizeof(db_paths[0]); k++)
			if (strcmp(db_keys[i], db_paths[k]) == 0 &&
			    (r = resolve_one(&cfg->db_vals[i], dir)) != 0)
				goto out;
	/* the packed views point at the strings just replaced */
	for (i = 0; i < NDB_KEYS; i++)
		if (cfg->db_vals[i] != NULL)
			cfg->kv[n++] = cfg->db_vals[i];
 out:
	free(dir);
	return r;
}

int
config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct buf *b = NULL;
	struct stat st;
	uint8_t *dst;
	ssize_t n;
	int fd = -1, r = ERR_INTERNAL;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "\"%s\": %s", path, strerror(errno));
		r = errno == ENOENT ? ERR_NOENT : ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, errlen, "\"%s\": not a regular file", path);
		r = ERR_IO;
		goto out;
	}
	if ((b = buf_new(CONFIG_MAX_FILE)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (;;) {
		size_t want = CONFIG_MAX_FILE - buf_len(b);
		uint8_t probe;

		if (want == 0) {
			/* Full: one more byte means the file is too large. */
			n = read(fd, &probe, 1);
			if (n == 0)
				break;
			err_set(err, errlen, "\"%s\": larger than %d bytes",
			    path, CONFIG_MAX_FILE);
			r = ERR_LIMIT;
			goto out;
		}
		if (want > 4096)
			want = 4096;
		if ((r = buf_reserve(b, want, &dst)) != 0)
			goto out;
		n = read(fd, dst, want);
		if (n < 0) {
			buf_unput(b, want);
			if (errno == EINTR)
				continue;
			err_set(err, errlen, "\"%s\": %s", path,
			    strerror(errno));
			r = ERR_IO;
			goto out;
		}
		buf_unput(b, want - (size_t)n);
		if (n == 0)
			break;
	}
	r = config_parse((const char *)buf_ptr(b), buf_len(b), out, err,
	    errlen);
	if (r == 0 && (r = resolve_paths(*out, path)) != 0) {
		config_free(*out);
		*out = NULL;
	}
 out:
	if (fd != -1)
		close(fd);
	buf_free(b);
	return r;
}

void
config_free(struct config *cfg)
{
	struct config_table *t;
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < NDB_KEYS; i++)
		free(cfg->db_vals[i]);
	free(cfg->password_file);
	free(cfg->standby_host);
	free(cfg->standby_port);
	free(cfg->exp.tenant_key);
	free(cfg->exp.signing_passphrase_file);
	free(cfg->svc.socket);
	free(cfg->svc.root_key);
	free(cfg->svc.service_key);
	free(cfg->svc.state_dir);
	free(cfg->ntf.command);
	free(cfg->lt.canary_user);
	free(cfg->lt.canary_password_file);
	free(cfg->exp.signing_key);
	free(cfg->exp.outbox);
	for (i = 0; i < cfg->ctl.nhigh_risk_tables; i++)
		free(cfg->ctl.high_risk_tables[i]);
	free(cfg->ctl.high_risk_tables);
	free(cfg->alerts.timezone);
	free(cfg->files.root);
	free(cfg->files.schema);
	free(cfg->files.table);
	free(cfg->files.path_column);
	free(cfg->files.size_column);
	for (i = 0; i < cfg->ntables; i++) {
		t = &cfg->tables[i];
		free(t->schema);
		free(t->name);
		free(t->tenant_key);
		free(t->date_column);
		for (j = 0; j < t->nexclude; j++)
			free(t->exclude[j]);
		free(t->exclude);
		for (j = 0; j < t->nallow; j++)
			free(t->allow[j]);
		free(t->allow);
	}
	free(cfg->tables);
	free(cfg);
}

size_t
config_table_count(const struct config *cfg)
{
	return cfg->ntables;
}

const struct config_table *
config_table_at(const struct config *cfg, size_t i)
{
	return i < cfg->ntables ? &cfg->tables[i] : NULL;
}

const struct config_table *
config_table_find(const struct config *cfg, const char *schema,
    const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ntables; i++)
		if (cfg->tables[i].schema != NULL &&
		    cfg->tables[i].name != NULL &&
		    strcmp(cfg->tables[i].schema, schema) == 0 &&
		    strcmp(cfg->tables[i].name, name) == 0)
			return &cfg->tables[i];
	return NULL;
}

int
config_table_qname(const struct config_table *t, char *out, size_t outlen)
{
	return ident_qualify(out, outlen, t->schema, t->name);
}

int
config_table_excludes(const struct config_table *t, const char *col)
{
	return list_has(t->exclude, t->nexclude, col);
}

int
config_table_allows(const struct config_table *t, const char *col)
{
	return list_has(t->allow, t->nallow, col);
}

const struct config_export *
config_export(const struct config *cfg)
{
	return &cfg->exp;
}

const struct config_control *
config_control(const struct config *cfg)
{
	return &cfg->ctl;
}

const struct config_service *
config_service(const struct config *cfg)
{
	return &cfg->svc;
}

const struct config_notify *
config_notify(const struct config *cfg)
{
	return &cfg->ntf;
}

const struct config_leaktest *
config_leaktest(const struct config *cfg)
{
	return &cfg->lt;
}

int
config_check_service(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_service *s = &cfg->svc;

	if (s->root_key == NULL || s->service_key == NULL) {
		err_set(err, errlen, "[service]: root_key and service_key are "
		    "needed (docs/CONTROL.md, \"Keys\")");
		return ERR_CONFIG;
	}
	return 0;
}

const struct config_files *
config_files(const struct config *cfg)
{
	return cfg->has_files ? &cfg->files : NULL;
}

const struct config_alerts *
config_alerts(const struct config *cfg)
{
	return &cfg->alerts;
}

int
config_check_export(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_export *e = &cfg->exp;

	if (e->signing_key == NULL) {
		err_set(err, errlen, "[export]: signing_key missing");
		return ERR_CONFIG;
	}
	if (e->outbox == NULL) {
		err_set(err, errlen, "[export]: outbox missing");
		return ERR_CONFIG;
	}
	return 0;
}

const char *const *
config_db_keywords(const struct config *cfg)
{
	return cfg->kw;
}

const char *const *
config_db_values(const struct config *cfg)
{
	return cfg->kv;
}

const char *
config_db_standby_host(const struct config *cfg)
{
	return cfg->standby_host;
}

const char *
config_db_standby_port(const struct config *cfg)
{
	return cfg->standby_port;
}

uint64_t
config_db_standby_wait(const struct config *cfg)
{
	return cfg->standby_wait;
}

const char *
config_db_param(const struct config *cfg, const char *keyword)
{
	size_t i;

	for (i = 0; i < NDB_KEYS; i++)
		if (strcmp(db_keys[i], keyword) == 0)
			return cfg->db_vals[i];
	return NULL;
}

const char *
config_db_password_file(const struct config *cfg)
{
	return cfg->password_file;
}

/*
 * Substrings that mark a secret anywhere in a name, and short words that
 * only count as a whole '_'-separated part ("otp" but not "footprint").
 */
static const char *const secret_substr[] = {
	"password", "passwd", "passphrase", "secret", "token", "api_key",
	"apikey", "session", "cookie", "reset", "webhook", "private_key",
	"privatekey", "privkey", "credential", "signing_key", "access_key",
	"client_key", "encryption_key", "recovery_code",
};
static const char *const secret_word[] = {
	"pwd", "otp", "totp", "hotp", "mfa", "salt", "hmac", "jwt",
	"nonce", "pin", "cvv",
};

int
config_column_looks_secret(const char *col)
{
	char low[CONFIG_MAX_IDENT * 4 + 1];
	char *w, *save = NULL;
	size_t i, n = strlen(col);

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)col[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(secret_substr) / sizeof(secret_substr[0]); i++)
		if (strstr(low, secret_substr[i]) != NULL)
			return 1;
	for (w = strtok_r(low, "_-$ ", &save); w != NULL;
	    w = strtok_r(NULL, "_-$ ", &save))
		for (i = 0; i < sizeof(secret_word) / sizeof(secret_word[0]);
		    i++)
			if (strcmp(w, secret_word[i]) == 0)
				return 1;
	return 0;
}
