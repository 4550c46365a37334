/*
 * check_throttle: the budget that holds an export's builder back
 * (exporter/throttle.h), and the queue's numbers in the configuration.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "loadguard.h"
#include "throttle.h"
#include "testutil.h"

START_TEST(test_off)
{
	struct throttle t;

	throttle_init(&t, 0, 0, 1000);
	ck_assert_int_eq(throttle_on(&t), 0);
	throttle_note(&t, 1000000, 1ULL << 40);
	ck_assert_uint_eq(throttle_wait_ms(&t, 1000), 0);
}
END_TEST

START_TEST(test_rows)
{
	struct throttle t;

	/* 100 rows a second from t = 5000 ms */
	throttle_init(&t, 100, 0, 5000);
	ck_assert_int_eq(throttle_on(&t), 1);
	ck_assert_uint_eq(throttle_wait_ms(&t, 5000), 0);
	throttle_note(&t, 50, 0);
	/* 50 rows are due at 500 ms */
	ck_assert_uint_eq(throttle_wait_ms(&t, 5000), 500);
	ck_assert_uint_eq(throttle_wait_ms(&t, 5200), 300);
	ck_assert_uint_eq(throttle_wait_ms(&t, 5500), 0);
	ck_assert_uint_eq(throttle_wait_ms(&t, 9000), 0);
	/* a burst is paid back in full: 1000 rows take 10 s */
	throttle_note(&t, 1000, 0);
	ck_assert_uint_eq(throttle_wait_ms(&t, 5500), 9500);
	/* counts never go back */
	throttle_note(&t, 10, 0);
	ck_assert_uint_eq(throttle_wait_ms(&t, 15000), 0);
	ck_assert_uint_eq(throttle_wait_ms(&t, 14999), 1);
	/* a part of a millisecond is waited for, not skipped */
	throttle_init(&t, 3, 0, 0);
	throttle_note(&t, 1, 0);
	ck_assert_uint_eq(throttle_wait_ms(&t, 0), 334);
}
END_TEST

START_TEST(test_bytes_and_both)
{
	struct throttle t;

	/* 1 MiB a second: 4 MiB take 4 s */
	throttle_init(&t, 0, 1 << 20, 0);
	throttle_note(&t, 0, 4 << 20);
	ck_assert_uint_eq(throttle_wait_ms(&t, 1000), 3000);
	/* both budgets: the slower one decides */
	throttle_init(&t, 1000, 1 << 20, 0);
	throttle_note(&t, 500, 4 << 20);
	ck_assert_uint_eq(throttle_wait_ms(&t, 0), 4000);
	throttle_note(&t, 10000, 4 << 20);
	ck_assert_uint_eq(throttle_wait_ms(&t, 0), 10000);
	/* huge counts do not wrap around into "read now" */
	throttle_init(&t, 1, 1, 0);
	throttle_note(&t, UINT64_MAX - 1, UINT64_MAX - 1);
	ck_assert_uint_gt(throttle_wait_ms(&t, 1000), 1000000);
}
END_TEST

static const char base_conf[] =
    "[database]\ndbname = x\n"
    "[table app.t]\nclass = tenant\n";

static int
parse(const char *extra, struct config **cfg, char *err, size_t errlen)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	return config_parse(text, strlen(text), cfg, err, errlen);
}

START_TEST(test_config_queue)
{
	struct config *cfg = NULL;
	char err[256];

	ck_assert_int_eq(parse("", &cfg, err, sizeof(err)), 0);
	/* the defaults */
	ck_assert_uint_eq(config_control(cfg)->max_running, 4);
	ck_assert_uint_eq(config_control(cfg)->max_running_per_tenant, 1);
	ck_assert_uint_eq(config_control(cfg)->lease_timeout, 60);
	ck_assert_uint_eq(config_control(cfg)->request_window, 3600);
	ck_assert_uint_eq(config_export(cfg)->max_rows_per_second, 0);
	ck_assert_ptr_null(config_notify(cfg)->command);
	ck_assert_uint_eq(config_notify(cfg)->timeout, 10);
	config_free(cfg);
	ck_assert_int_eq(parse("[export]\nmax_rows_per_second = 2500\n"
	    "max_bytes_per_second = 8M\nload_max_active = 20\n"
	    "load_max_lag = 30s\n[control]\nmax_running = 0\n"
	    "max_running_per_tenant = 2\nrequest_window = 10m\n"
	    "lease_timeout = 5s\nretry_backoff = 1s\n"
	    "max_requests_per_principal = 3\n[notify]\n"
	    "command = /usr/local/bin/hook\ntimeout = 2s\n", &cfg, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(config_export(cfg)->max_rows_per_second, 2500);
	ck_assert_uint_eq(config_export(cfg)->max_bytes_per_second, 8 << 20);
	ck_assert_uint_eq(config_export(cfg)->load_max_lag, 30);
	ck_assert_uint_eq(config_control(cfg)->max_running, 0);
	ck_assert_uint_eq(config_control(cfg)->request_window, 600);
	ck_assert_uint_eq(config_control(cfg)->lease_timeout, 5);
	ck_assert_uint_eq(config_control(cfg)->max_requests_per_principal, 3);
	ck_assert_str_eq(config_notify(cfg)->command, "/usr/local/bin/hook");
	ck_assert_uint_eq(config_notify(cfg)->timeout, 2);
	config_free(cfg);
}
END_TEST

/* The load guard's verdicts, and the running export that reads from a
 * standby, which its own replay lag does not hold back. */
START_TEST(test_loadguard_judge)
{
	struct loadguard_sample s = { .active = 1, .lag_s = 90,
	    .sees_all = 1 };
	struct config *cfg = NULL;
	char err[256], why[256];

	ck_assert_int_eq(parse("[export]\nload_max_active = 5\n"
	    "load_max_lag = 30s\n", &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(loadguard_judge(cfg, &s, 0, why, sizeof(why)), 1);
	ck_assert_ptr_nonnull(strstr(why, "90 s behind"));
	ck_assert_int_eq(loadguard_judge(cfg, &s, 1, why, sizeof(why)), 1);
	s.lag_s = 10;
	ck_assert_int_eq(loadguard_judge(cfg, &s, 0, why, sizeof(why)), 0);
	s.active = 6;
	ck_assert_int_eq(loadguard_judge(cfg, &s, 1, why, sizeof(why)), 1);
	ck_assert_ptr_nonnull(strstr(why, "6 active"));
	s.sees_all = 0;
	ck_assert_int_eq(loadguard_judge(cfg, &s, 0, why, sizeof(why)),
	    ERR_PERM);
	config_free(cfg);

	ck_assert_int_eq(parse("[export]\nload_max_lag = 30s\n"
	    "[database]\nstandby_host = replica\n", &cfg, err, sizeof(err)),
	    0);
	s.active = 1;
	s.lag_s = 90;
	s.sees_all = 1;
	/* starting: the standby is behind, wait */
	ck_assert_int_eq(loadguard_judge(cfg, &s, 0, why, sizeof(why)), 1);
	/* running there: its snapshot may be the cause; go on */
	ck_assert_int_eq(loadguard_judge(cfg, &s, 1, why, sizeof(why)), 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_queue_errors)
{
	static const char *const bad[] = {
		"[control]\nlease_timeout = 1s\n",	/* shorter than a beat */
		"[control]\nmax_running = -1\n",
		"[control]\nmax_running = 2\nmax_running = 3\n",
		"[control]\nrequest_window = 0\n",
		"[export]\nmax_rows_per_second = fast\n",
		"[export]\nmax_bytes_per_second = 2P\n",
		"[notify]\ncommand = hook.sh\n",	/* not absolute */
		"[notify]\ncommand = /bin/true\ncommand = /bin/false\n",
		"[notify]\ntimeout = 0\n",
		"[notify]\nshell = yes\n",
	};
	struct config *cfg = NULL;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &cfg, err, sizeof(err)) ==
		    ERR_CONFIG, "accepted: %s", bad[i]);
		ck_assert_ptr_null(cfg);
		ck_assert_ptr_nonnull(strstr(err, "line"));
	}
}
END_TEST

static Suite *
throttle_suite(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_rows);
	tcase_add_test(tc, test_bytes_and_both);
	tcase_add_test(tc, test_config_queue);
	tcase_add_test(tc, test_config_queue_errors);
	tcase_add_test(tc, test_loadguard_judge);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return test_run_suite(throttle_suite()); }
