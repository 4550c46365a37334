/*
 * check_leakreport.c: the leak test's report: the checks as they are
 * streamed, the exit status, and the JUnit XML that CI systems read
 * (hostile names must not break it).
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "leakreport.h"
#include "proto.h"
#include "testutil.h"

START_TEST(test_stream_and_exit)
{
	struct leakreport *r;
	json_t *f = NULL, *s;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_ptr_nonnull(r = leakreport_new(sv[0]));
	ck_assert_int_eq(leakreport_exit(r), 2);	/* nothing ran */
	leakreport_addf(r, "session", "t1", "session.copy", "pass", 0, NULL,
	    "COPY: %d rows", 0);
	ck_assert_int_eq(leakreport_exit(r), 0);
	ck_assert_int_eq(proto_recv_json(sv[1], PROTO_PROGRESS, &f, 1000), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f,
	    "check"), "step")), "session");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f,
	    "check"), "tenant")), "t1");
	json_decref(f);
	leakreport_addf(r, "tenants", NULL, "tenants.unknown", "error", 1, NULL,
	    "x");
	ck_assert_int_eq(leakreport_exit(r), 2);
	leakreport_addf(r, "data", "t1", "data.foreign_ids", "fail", 3, NULL,
	    "y");
	ck_assert_int_eq(leakreport_exit(r), 1);	/* a finding wins */
	s = leakreport_summary(r);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "checks")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "failed")), 1);
	json_decref(s);
	s = leakreport_failed(r, 10);
	ck_assert_uint_eq(json_array_size(s), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s, 0),
	    "id")), "data.foreign_ids");
	json_decref(s);
	/* the auditor went away: checks still count, nothing is sent */
	close(sv[1]);
	leakreport_addf(r, "data", "t1", "data.proof", "pass", 0, NULL, "z");
	leakreport_addf(r, "data", "t1", "data.proof", "pass", 0, NULL, "z");
	ck_assert_int_eq(leakreport_gone(r), 1);
	leakreport_free(r);
	close(sv[0]);
	leakreport_free(NULL);
}
END_TEST

START_TEST(test_detail_capped)
{
	struct leakreport *r;
	json_t *d = json_array(), *f = NULL, *got;
	int sv[2], i;

	for (i = 0; i < 250; i++)
		json_array_append_new(d, json_integer(i));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r = leakreport_new(sv[0]);
	leakreport_addf(r, "views", NULL, "session.views", "fail", 250, d, "m");
	ck_assert_int_eq(proto_recv_json(sv[1], PROTO_PROGRESS, &f, 1000), 0);
	got = json_object_get(json_object_get(f, "check"), "detail");
	ck_assert_uint_eq(json_array_size(got), LEAKREPORT_DETAIL_MAX + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(got,
	    LEAKREPORT_DETAIL_MAX), "more")), 150);
	json_decref(f);
	leakreport_free(r);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static json_t *
check(const char *step, const char *id, const char *status,
    const char *tenant, const char *msg)
{
	return json_pack("{s:s,s:s,s:s,s:s?,s:s,s:[{s:s}]}", "step", step, "id",
	    id, "status", status, "tenant", tenant, "message", msg, "detail",
	    "table", "app.<x>");
}

START_TEST(test_junit)
{
	json_t *rep = json_pack("{s:[]}", "checks");
	json_t *c = json_object_get(rep, "checks");
	struct buf *b = buf_new(1 << 20);
	char *s;

	json_array_append_new(c, check("schema", "schema.lint", "fail", NULL,
	    "policy \"p\" & <b>"));
	json_array_append_new(c, check("session", "session.copy", "pass",
	    "t'1", "COPY: 0 rows"));
	json_array_append_new(c, check("access", "access.control", "skip",
	    NULL, "needs two tenants"));
	json_array_append_new(c, check("data", "data.proof", "error",
	    "\x01t\x1b[2J", "could not run"));
	ck_assert_int_eq(leakreport_junit(rep, b), 0);
	ck_assert_int_eq(buf_put_u8(b, 0), 0);
	s = (char *)buf_ptr(b);
	ck_assert_ptr_nonnull(strstr(s, "<testsuites name=\"tenant-export "
	    "leaktest\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\">"));
	ck_assert_ptr_nonnull(strstr(s, "<testsuite name=\"leaktest.schema\" "
	    "tests=\"1\" failures=\"1\""));
	ck_assert_ptr_nonnull(strstr(s, "<failure message=\"policy &quot;p"
	    "&quot; &amp; &lt;b&gt;\">"));
	ck_assert_ptr_nonnull(strstr(s, "name=\"session.copy [t&apos;1]\""));
	ck_assert_ptr_nonnull(strstr(s, "<skipped message="));
	ck_assert_ptr_nonnull(strstr(s, "<error message="));
	/* control characters never reach the XML */
	ck_assert_ptr_null(strchr(s, '\x01'));
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_nonnull(strstr(s, "app.&lt;x&gt;"));
	/* suites in the steps' order */
	ck_assert(strstr(s, "leaktest.schema") < strstr(s, "leaktest.session"));
	ck_assert(strstr(s, "leaktest.data\"") < strstr(s, "leaktest.access\""));
	json_decref(rep);
	buf_free(b);
}
END_TEST

START_TEST(test_line)
{
	json_t *c = check("data", "data.foreign_ids", "fail", "t\n1",
	    "2 values");
	char line[200];

	leakreport_line(c, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "LEAK"));
	ck_assert_ptr_nonnull(strstr(line, "data.foreign_ids"));
	ck_assert_ptr_nonnull(strstr(line, "[t?1]"));
	ck_assert_ptr_nonnull(strstr(line, "2 values"));
	json_decref(c);
	c = check("data", "data.proof", "pass", NULL, "fine");
	leakreport_line(c, line, sizeof(line));
	ck_assert_int_eq(strncmp(line, "ok ", 3), 0);
	ck_assert_ptr_null(strchr(line, '['));
	json_decref(c);
}
END_TEST

static Suite *
leakreport_suite(void)
{
	Suite *s = suite_create("leakreport");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_stream_and_exit);
	tcase_add_test(tc, test_detail_capped);
	tcase_add_test(tc, test_junit);
	tcase_add_test(tc, test_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(leakreport_suite());
}
