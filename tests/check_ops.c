/*
 * check_ops.c: the monitoring library without a database: the [alerts]
 * config section, the alert rules over synthetic rows, HTML and
 * Prometheus escaping, and the atomic file replacement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "auditlog.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "html.h"
#include "metrics.h"
#include "outfile.h"
#include "testutil.h"

#define US	INT64_C(1000000)
/* 2026-11-02 00:00:00 UTC, a Monday */
#define MON	INT64_C(1793577600)

static struct config *
parse(const char *text, char *err, size_t errlen, int *r)
{
	struct config *cfg = NULL;

	*r = config_parse(text, strlen(text), &cfg, err, errlen);
	return cfg;
}

START_TEST(test_alerts_defaults)
{
	struct config *cfg;
	const struct config_alerts *a;
	char err[256];
	int r;

	cfg = parse("[database]\ndbname = x\n", err, sizeof(err), &r);
	ck_assert_msg(r == 0, "%s", err);
	a = config_alerts(cfg);
	ck_assert_uint_eq(a->burst_exports, 10);
	ck_assert_uint_eq(a->burst_window, 3600);
	ck_assert_uint_eq(a->failures, 5);
	ck_assert_uint_eq(a->failures_window, 3600);
	ck_assert_uint_eq(a->unusual_after, 90 * 86400);
	ck_assert_int_eq(a->downloads_left, 1);
	ck_assert_int_eq(a->after_hours, 1);
	ck_assert_uint_eq(a->day_start, 8 * 60);
	ck_assert_uint_eq(a->day_end, 19 * 60);
	ck_assert_uint_eq(a->business_days, 0x3e);
	ck_assert_str_eq(a->timezone, "UTC");
	ck_assert_uint_eq(a->held_after, 24 * 3600);
	config_free(cfg);
}
END_TEST

START_TEST(test_alerts_keys)
{
	struct config *cfg;
	const struct config_alerts *a;
	char err[256];
	int r;

	cfg = parse("[alerts]\nburst_exports = 3\nburst_window = 30m\n"
	    "failures = 0\nfailures_window = 2h\nunusual_after = 7d\n"
	    "downloads_left = off\nafter_hours = no\n"
	    "business_hours = 07:30-24:00\nbusiness_days = mon,wed-thu,sun\n"
	    "timezone = Europe/Paris\nheld_after = 0\n", err, sizeof(err), &r);
	ck_assert_msg(r == 0, "%s", err);
	a = config_alerts(cfg);
	ck_assert_uint_eq(a->burst_exports, 3);
	ck_assert_uint_eq(a->burst_window, 1800);
	ck_assert_uint_eq(a->failures, 0);
	ck_assert_uint_eq(a->failures_window, 7200);
	ck_assert_uint_eq(a->unusual_after, 7 * 86400);
	ck_assert_int_eq(a->downloads_left, -1);
	ck_assert_int_eq(a->after_hours, 0);
	ck_assert_uint_eq(a->day_start, 7 * 60 + 30);
	ck_assert_uint_eq(a->day_end, 24 * 60);
	ck_assert_uint_eq(a->business_days,
	    (1u << 1) | (1u << 3) | (1u << 4) | (1u << 7));
	ck_assert_str_eq(a->timezone, "Europe/Paris");
	ck_assert_uint_eq(a->held_after, 0);
	config_free(cfg);
}
END_TEST

static const char *const bad_alerts[] = {
	"[alerts]\nfoo = 1\n",
	"[alerts]\nburst_exports = 3\nburst_exports = 4\n",
	"[alerts]\nburst_exports = -1\n",
	"[alerts]\nburst_window = 0\n",
	"[alerts]\nburst_window = 40d\n",
	"[alerts]\ndownloads_left = some\n",
	"[alerts]\nafter_hours = maybe\n",
	"[alerts]\nbusiness_hours = 19:00-08:00\n",
	"[alerts]\nbusiness_hours = 8-19\n",
	"[alerts]\nbusiness_hours = 08:60-19:00\n",
	"[alerts]\nbusiness_hours = 08:00-24:01\n",
	"[alerts]\nbusiness_days = fri-mon\n",
	"[alerts]\nbusiness_days = mon,\n",
	"[alerts]\nbusiness_days = monday\n",
	"[alerts]\ntimezone = UTC'; DROP\n",
	"[alerts]\ntimezone =\n",
};

START_TEST(test_alerts_bad)
{
	struct config *cfg;
	char err[256];
	int r;

	cfg = parse(bad_alerts[_i], err, sizeof(err), &r);
	ck_assert_msg(r == ERR_CONFIG, "accepted: %s", bad_alerts[_i]);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "[alerts]") != NULL, "%s", err);
}
END_TEST

/* ---- the rules over synthetic rows ---- */

struct fixture {
	struct config *cfg;
	struct ops_rows rows;
	struct ops_history *h;
	struct ops_alerts prior, out;
};

static void
fx_init(struct fixture *f, const char *conf)
{
	char err[256];
	int r;

	memset(f, 0, sizeof(*f));
	f->cfg = parse(conf, err, sizeof(err), &r);
	ck_assert_msg(r == 0, "%s", err);
	ck_assert_ptr_nonnull(f->h = ops_history_new());
}

static void
fx_free(struct fixture *f)
{
	ops_rows_clear(&f->rows);
	ops_history_free(f->h);
	ops_alerts_clear(&f->prior);
	ops_alerts_clear(&f->out);
	config_free(f->cfg);
}

/* A row at MON + secs, new (flag 1). */
static void
row(struct fixture *f, int64_t secs, const char *event, const char *p,
    const char *t, const char *detail)
{
	struct ops_row r;

	memset(&r, 0, sizeof(r));
	r.seq = (int64_t)f->rows.n + 1;
	r.at = (MON + secs) * US;
	r.event = event;
	r.principal = p;
	r.tenant = t;
	r.job = "00112233aabbccdd";
	r.detail = detail;
	r.dow = 1 + (int)((secs / 86400) % 7);
	r.minute = (int)((secs % 86400) / 60);
	r.flag = 1;
	ck_assert_int_eq(ops_rows_add(&f->rows, &r), 0);
}

static void
eval(struct fixture *f)
{
	ck_assert_int_eq(ops_alerts_eval(config_alerts(f->cfg), 3, &f->rows,
	    f->h, &f->prior, &f->out), 0);
}

static void
want(const struct fixture *f, size_t i, const char *rule, const char *seqs)
{
	char got[256] = "";
	size_t k;

	ck_assert_uint_gt(f->out.n, i);
	ck_assert_str_eq(f->out.v[i].rule, rule);
	for (k = 0; k < f->out.v[i].nseqs; k++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld",
		    k > 0 ? "," : "", (long long)f->out.v[i].seqs[k]);
	ck_assert_str_eq(got, seqs);
	ck_assert_ptr_nonnull(f->out.v[i].key);
	ck_assert_ptr_nonnull(f->out.v[i].summary);
}

#define QUIET_CONF "[alerts]\nburst_exports = 2\nburst_window = 1h\n" \
	"failures = 1\nfailures_window = 10m\nafter_hours = no\n" \
	"downloads_left = off\nunusual_after = 0\n"

START_TEST(test_burst_once_per_window)
{
	struct fixture f;

	fx_init(&f, QUIET_CONF);
	/* 10:00 10:20 10:40 10:50 10:55 11:45 */
	row(&f, 36000, "export.requested", "bob", "t1", NULL);
	row(&f, 37200, "export.requested", "bob", "t1", NULL);
	row(&f, 38400, "export.requested", "bob", "t1", NULL);
	row(&f, 39000, "export.requested", "bob", "t1", NULL);
	row(&f, 39300, "export.requested", "bob", "t1", NULL);
	row(&f, 42300, "export.requested", "bob", "t1", NULL);
	eval(&f);
	/* row 3 fires both burst rules; row 6 (11:45): 10:50, 10:55, 11:45 =
	 * 3 > 2 and the window since the last alert (10:40) has passed */
	ck_assert_uint_eq(f.out.n, 4);
	want(&f, 0, OPS_RULE_BURST_P, "1,2,3");
	want(&f, 1, OPS_RULE_BURST_T, "1,2,3");
	want(&f, 2, OPS_RULE_BURST_P, "4,5,6");
	want(&f, 3, OPS_RULE_BURST_T, "4,5,6");
	ck_assert_str_eq(f.out.v[0].key, "burst_principal:3");
	ck_assert_str_eq(f.out.v[0].principal, "bob");
	ck_assert_str_eq(f.out.v[0].tenant, "t1");
	fx_free(&f);
}
END_TEST

START_TEST(test_burst_prior_quiet)
{
	struct fixture f;
	struct ops_alert *a;

	fx_init(&f, QUIET_CONF);
	/* an alert raised by an earlier run at 10:30 keeps 11:00 quiet */
	ck_assert_int_eq(ops_alert_add(&f.prior, OPS_RULE_BURST_P, "bob", NULL,
	    NULL, (MON + 37800) * US, &a), 0);
	row(&f, 39000, "export.requested", "bob", "t1", NULL);
	row(&f, 39060, "export.requested", "bob", "t2", NULL);
	row(&f, 39120, "export.requested", "bob", "t3", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_window_edge)
{
	struct fixture f;

	fx_init(&f, QUIET_CONF);
	/* exactly one window apart: the first row is out of the window */
	row(&f, 36000, "export.requested", "bob", "t1", NULL);
	row(&f, 37000, "export.requested", "bob", "t1", NULL);
	row(&f, 39600, "export.requested", "bob", "t1", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_context_rows)
{
	struct fixture f;

	fx_init(&f, QUIET_CONF);
	/* rows seen by an earlier run count but cannot trigger */
	row(&f, 36000, "export.requested", "bob", "t1", NULL);
	row(&f, 36060, "export.requested", "bob", "t1", NULL);
	row(&f, 36120, "export.requested", "bob", "t1", NULL);
	f.rows.v[0].flag = f.rows.v[1].flag = f.rows.v[2].flag = 0;
	row(&f, 36180, "export.requested", "carol", "t2", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 0);
	row(&f, 36240, "export.requested", "bob", "t9", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 1);
	want(&f, 0, OPS_RULE_BURST_P, "1,2,3,5");
	/* several tenants: none named */
	ck_assert_ptr_null(f.out.v[0].tenant);
	fx_free(&f);
}
END_TEST

START_TEST(test_failures)
{
	struct fixture f;

	fx_init(&f, QUIET_CONF);
	row(&f, 36000, "fetch.denied", "mallory", "t1", NULL);
	row(&f, 36060, "export.failed", "mallory", "t1", NULL);
	row(&f, 36120, "export.denied", NULL, NULL, NULL);
	row(&f, 36180, "export.denied", NULL, NULL, NULL);
	row(&f, 36240, "export.completed", "mallory", "t1", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 3);
	want(&f, 0, OPS_RULE_FAIL_P, "1,2");
	want(&f, 1, OPS_RULE_FAIL_T, "1,2");
	want(&f, 2, OPS_RULE_FAIL_P, "3,4");
	ck_assert_ptr_null(f.out.v[2].principal);
	ck_assert_ptr_nonnull(strstr(f.out.v[2].summary, "unverified"));
	fx_free(&f);
}
END_TEST

START_TEST(test_unusual)
{
	struct fixture f;

	fx_init(&f, "[alerts]\nunusual_after = 30d\nafter_hours = no\n");
	/* a new principal's first requests are not unusual */
	row(&f, 0, "export.requested", "alice", "t1", NULL);
	row(&f, 60, "export.requested", "alice", "t1", NULL);
	/* known elsewhere, never this tenant: unusual */
	row(&f, 120, "export.requested", "alice", "t2", NULL);
	/* again within 30 days: fine; after 31 days: unusual */
	row(&f, 86400, "export.requested", "alice", "t2", NULL);
	row(&f, 32 * 86400, "export.requested", "alice", "t2", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 2);
	want(&f, 0, OPS_RULE_UNUSUAL, "3");
	want(&f, 1, OPS_RULE_UNUSUAL, "5");
	ck_assert_ptr_nonnull(strstr(f.out.v[1].summary, "for 31 days"));
	fx_free(&f);
}
END_TEST

START_TEST(test_unusual_history)
{
	struct fixture f;

	fx_init(&f, "[alerts]\nunusual_after = 30d\nafter_hours = no\n");
	/* what earlier runs saw comes from the history */
	ck_assert_int_eq(ops_history_note(f.h, "alice", "t1", MON * US), 0);
	row(&f, 3600, "export.requested", "alice", "t2", NULL);
	eval(&f);
	ck_assert_uint_eq(f.out.n, 1);
	want(&f, 0, OPS_RULE_UNUSUAL, "1");
	fx_free(&f);
}
END_TEST

START_TEST(test_downloads)
{
	struct fixture f;

	fx_init(&f, "[alerts]\ndownloads_left = 1\nbusiness_hours = "
	    "08:00-19:00\nbusiness_days = mon-fri\n");
	row(&f, 10 * 3600, "export.fetched", "carol", "t1", "{\"count\": 1}");
	row(&f, 11 * 3600, "export.fetched", "carol", "t1", "{\"count\": 2}");
	row(&f, 19 * 3600, "export.fetched", "carol", "t1", "{\"count\": 1}");
	row(&f, 7 * 3600 + 59 * 60, "export.fetched", "carol", "t1",
	    "{\"count\": 1}");
	row(&f, 5 * 86400 + 12 * 3600, "export.fetched", "carol", "t1",
	    "{\"count\": 1}");		/* Saturday noon */
	row(&f, 12 * 3600, "export.fetched", "carol", "t1", "not json");
	eval(&f);
	ck_assert_uint_eq(f.out.n, 4);
	want(&f, 0, OPS_RULE_DL_LIMIT, "2");
	want(&f, 1, OPS_RULE_DL_HOURS, "3");
	want(&f, 2, OPS_RULE_DL_HOURS, "4");
	want(&f, 3, OPS_RULE_DL_HOURS, "5");
	ck_assert_ptr_nonnull(strstr(f.out.v[3].summary, "on Sat at 12:00"));
	ck_assert_str_eq(f.out.v[1].job, "00112233aabbccdd");
	fx_free(&f);
}
END_TEST

START_TEST(test_rules_off)
{
	struct fixture f;
	int i;

	fx_init(&f, "[alerts]\nburst_exports = 0\nfailures = 0\n"
	    "unusual_after = 0\ndownloads_left = off\nafter_hours = no\n");
	for (i = 0; i < 50; i++) {
		row(&f, i, "export.requested", "bob", i % 2 ? "t1" : "t2",
		    NULL);
		row(&f, i, "export.denied", NULL, NULL, NULL);
		row(&f, i, "export.fetched", "bob", "t1", "{\"count\": 3}");
	}
	eval(&f);
	ck_assert_uint_eq(f.out.n, 0);
	fx_free(&f);
}
END_TEST

/* ---- escaping and formatting ---- */

static char *
str_of(struct buf *b)
{
	char *s;

	ck_assert_int_eq(buf_dup_str(b, &s), 0);
	return s;
}

START_TEST(test_html_text)
{
	struct buf *b = buf_new(4096);
	char *s;

	ck_assert_int_eq(html_text(b, "<script>a&b\"c'd</script>\x1b[0m"), 0);
	s = str_of(b);
	ck_assert_str_eq(s, "&lt;script&gt;a&amp;b&quot;c&#39;d&lt;/script&gt;"
	    "&#xfffd;[0m");
	free(s);
	buf_reset(b);
	ck_assert_int_eq(html_text(b, NULL), 0);
	ck_assert_int_eq(html_elem(b, "td", "ref", "Zo\xc3\xab <b>"), 0);
	s = str_of(b);
	ck_assert_str_eq(s, "-<td class=\"ref\">Zo\xc3\xab &lt;b&gt;</td>");
	free(s);
	buf_free(b);
}
END_TEST

START_TEST(test_html_format)
{
	char s[32];

	html_count(0, s, sizeof(s));
	ck_assert_str_eq(s, "0");
	html_count(999, s, sizeof(s));
	ck_assert_str_eq(s, "999");
	html_count(1234567, s, sizeof(s));
	ck_assert_str_eq(s, "1,234,567");
	html_size(312, s, sizeof(s));
	ck_assert_str_eq(s, "312 B");
	html_size(57344, s, sizeof(s));
	ck_assert_str_eq(s, "56.0 KiB");
	html_size(3ULL << 30, s, sizeof(s));
	ck_assert_str_eq(s, "3.0 GiB");
	html_time((MON + 9 * 3600 + 5 * 60) * US, s, sizeof(s));
	ck_assert_str_eq(s, "2026-11-02 09:05");
	html_time(0, s, sizeof(s));
	ck_assert_str_eq(s, "-");
}
END_TEST

START_TEST(test_prom_label)
{
	struct buf *b = buf_new(4096);
	char *s;

	ck_assert_int_eq(ops_prom_label(b, "a\"b\\c\nd{}="), 0);
	s = str_of(b);
	ck_assert_str_eq(s, "a\\\"b\\\\c\\nd{}=");
	free(s);
	buf_free(b);
}
END_TEST

START_TEST(test_receipt_garbage)
{
	static const uint8_t junk[] = { 0xa1, 0x01, 0x02 };
	uint64_t rec = 7, bytes = 7;

	ck_assert_int_ne(ops_receipt_sizes(junk, sizeof(junk), &rec, &bytes),
	    0);
	ck_assert_uint_eq(rec, 0);
	ck_assert_int_ne(ops_receipt_sizes(NULL, 0, &rec, &bytes), 0);
}
END_TEST

START_TEST(test_file_replace)
{
	char *dir = test_mkdtemp(), path[512], bad[512];
	struct stat st;
	uint8_t *got;
	size_t len;

	snprintf(path, sizeof(path), "%s/m.prom", dir);
	ck_assert_int_eq(ops_file_replace(path, "one\n", 4, 0644), 0);
	ck_assert_int_eq(ops_file_replace(path, "two\n", 4, 0640), 0);
	got = test_read_file(path, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(memcmp(got, "two\n", 4), 0);
	free(got);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	/* a missing directory: an error, nothing left behind */
	snprintf(bad, sizeof(bad), "%s/none/m.prom", dir);
	ck_assert_int_eq(ops_file_replace(bad, "x", 1, 0644), ERR_IO);
	/* a directory in the way: the old content stays, no temp file */
	snprintf(bad, sizeof(bad), "%s/sub", dir);
	ck_assert_int_eq(mkdir(bad, 0700), 0);
	ck_assert_int_eq(ops_file_replace(bad, "x", 1, 0644), ERR_IO);
	ck_assert_int_eq(rmdir(bad), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);	/* empty: no temporary file */
	free(dir);
}
END_TEST

static Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alerts_defaults);
	tcase_add_test(tc, test_alerts_keys);
	tcase_add_loop_test(tc, test_alerts_bad, 0,
	    sizeof(bad_alerts) / sizeof(bad_alerts[0]));
	tcase_add_test(tc, test_burst_once_per_window);
	tcase_add_test(tc, test_burst_prior_quiet);
	tcase_add_test(tc, test_window_edge);
	tcase_add_test(tc, test_context_rows);
	tcase_add_test(tc, test_failures);
	tcase_add_test(tc, test_unusual);
	tcase_add_test(tc, test_unusual_history);
	tcase_add_test(tc, test_downloads);
	tcase_add_test(tc, test_rules_off);
	tcase_add_test(tc, test_html_text);
	tcase_add_test(tc, test_html_format);
	tcase_add_test(tc, test_prom_label);
	tcase_add_test(tc, test_receipt_garbage);
	tcase_add_test(tc, test_file_replace);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(ops_suite());
}
