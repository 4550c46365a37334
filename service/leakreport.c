/*
 * leakreport.c: the leak test's report (leakreport.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "leakreport.h"
#include "proto.h"

#define FAILED_KEPT	200

struct leakreport {
	int fd;
	size_t checks, passed, failed, errors, skipped;
	json_t *failed_ids;
	int gone;
};

struct leakreport *
leakreport_new(int fd)
{
	struct leakreport *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->failed_ids = json_array()) == NULL) {
		free(r);
		return NULL;
	}
	r->fd = fd;
	return r;
}

void
leakreport_free(struct leakreport *r)
{
	if (r == NULL)
		return;
	json_decref(r->failed_ids);
	free(r);
}

/* Long lists are cut: the report stays within one frame. */
static void
cap_detail(json_t *check)
{
	json_t *d = json_object_get(check, "detail"), *cut;
	size_t n = json_array_size(d), i;

	if (!json_is_array(d) || n <= LEAKREPORT_DETAIL_MAX)
		return;
	if ((cut = json_array()) == NULL)
		return;
	for (i = 0; i < LEAKREPORT_DETAIL_MAX; i++)
		json_array_append(cut, json_array_get(d, i));
	json_array_append_new(cut, json_pack("{s:I}", "more",
	    (json_int_t)(n - LEAKREPORT_DETAIL_MAX)));
	json_object_set_new(check, "detail", cut);
}

void
leakreport_add(struct leakreport *r, const char *step, const char *tenant,
    json_t *check)
{
	const char *st = json_string_value(json_object_get(check, "status"));
	json_t *frame;

	if (r == NULL || check == NULL || st == NULL) {
		json_decref(check);
		return;
	}
	json_object_set_new(check, "step", json_string(step));
	json_object_set_new(check, "tenant", tenant != NULL ?
	    json_string(tenant) : json_null());
	if (json_object_get(check, "count") == NULL)
		json_object_set_new(check, "count", json_integer(0));
	if (json_object_get(check, "detail") == NULL)
		json_object_set_new(check, "detail", json_array());
	cap_detail(check);
	r->checks++;
	if (strcmp(st, "pass") == 0)
		r->passed++;
	else if (strcmp(st, "skip") == 0)
		r->skipped++;
	else if (strcmp(st, "error") == 0)
		r->errors++;
	else {
		r->failed++;
		if (json_array_size(r->failed_ids) < FAILED_KEPT)
			json_array_append_new(r->failed_ids, json_pack("{s:O,s:O}",
			    "id", json_object_get(check, "id"), "tenant",
			    json_object_get(check, "tenant")));
	}
	if (!r->gone && (frame = json_pack("{s:O}", "check", check)) != NULL) {
		if (proto_send_json(r->fd, PROTO_PROGRESS, frame) != 0)
			r->gone = 1;
		json_decref(frame);
	}
	json_decref(check);
}

void
leakreport_addf(struct leakreport *r, const char *step, const char *tenant,
    const char *id, const char *status, long long count, json_t *detail,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	leakreport_add(r, step, tenant, json_pack("{s:s,s:s,s:I,s:s,s:o}",
	    "id", id, "status", status, "count", (json_int_t)count, "message",
	    msg, "detail", detail != NULL ? detail : json_array()));
}

json_t *
leakreport_summary(const struct leakreport *r)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "checks", (json_int_t)
	    r->checks, "passed", (json_int_t)r->passed, "failed", (json_int_t)
	    r->failed, "errors", (json_int_t)r->errors, "skipped",
	    (json_int_t)r->skipped);
}

int
leakreport_exit(const struct leakreport *r)
{
	if (r->failed > 0)
		return 1;
	return r->errors > 0 || r->checks == 0 ? 2 : 0;
}

json_t *
leakreport_failed(const struct leakreport *r, size_t max)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < max &&
	    i < json_array_size(r->failed_ids); i++)
		json_array_append(a, json_array_get(r->failed_ids, i));
	return a;
}

int
leakreport_gone(const struct leakreport *r)
{
	return r->gone;
}

/* ---- renderings (the auditor's side) ---- */

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static const char *
status_word(const char *st)
{
	if (strcmp(st, "pass") == 0)
		return "ok";
	if (strcmp(st, "fail") == 0)
		return "LEAK";
	if (strcmp(st, "skip") == 0)
		return "skip";
	return "ERROR";
}

/* Control characters (only a hostile name could hold one) as '?'. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
leakreport_line(const json_t *check, char *out, size_t outlen)
{
	const char *tenant = jstr(check, "tenant"), *obj = jstr(check, "object");

	snprintf(out, outlen, "%-5s %-30s %s%s%s%s%s", status_word(jstr(check,
	    "status")), jstr(check, "id"), tenant[0] ? "[" : "", tenant,
	    tenant[0] ? "] " : "", obj[0] ? obj : "", obj[0] ? ": " : "");
	if (strlen(out) + 1 < outlen)
		snprintf(out + strlen(out), outlen - strlen(out), "%s",
		    jstr(check, "message"));
	printable(out);
}

/* XML text: the five entities, and characters XML 1.0 forbids dropped. */
static int
xml_put(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		switch (*s) {
		case '&': r = buf_put_str(b, "&amp;"); break;
		case '<': r = buf_put_str(b, "&lt;"); break;
		case '>': r = buf_put_str(b, "&gt;"); break;
		case '"': r = buf_put_str(b, "&quot;"); break;
		case '\'': r = buf_put_str(b, "&apos;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				r = buf_put_u8(b, '?');
			else
				r = buf_put_u8(b, (uint8_t)*s);
		}
	}
	return r;
}

static void
tally(const json_t *checks, const char *step, size_t n[4])
{
	const json_t *c;
	const char *st;
	size_t i;

	memset(n, 0, 4 * sizeof(n[0]));
	json_array_foreach(checks, i, c) {
		if (step != NULL && strcmp(jstr(c, "step"), step) != 0)
			continue;
		st = jstr(c, "status");
		n[0]++;
		n[1] += strcmp(st, "fail") == 0;
		n[2] += strcmp(st, "error") == 0;
		n[3] += strcmp(st, "skip") == 0;
	}
}

static int
junit_case(struct buf *b, const json_t *c)
{
	const char *st = jstr(c, "status"), *tenant = jstr(c, "tenant");
	const char *obj = jstr(c, "object");
	char *detail = json_dumps(json_object_get(c, "detail"), JSON_COMPACT);
	int r = 0;

	r |= buf_put_str(b, "    <testcase classname=\"leaktest.");
	r |= xml_put(b, jstr(c, "step"));
	r |= buf_put_str(b, "\" name=\"");
	r |= xml_put(b, jstr(c, "id"));
	if (tenant[0]) {
		r |= buf_put_str(b, " [");
		r |= xml_put(b, tenant);
		r |= buf_put_str(b, "]");
	}
	if (obj[0]) {
		r |= buf_put_str(b, " ");
		r |= xml_put(b, obj);
	}
	r |= buf_put_str(b, "\">");
	if (strcmp(st, "pass") != 0) {
		r |= buf_putf(b, "<%s message=\"", strcmp(st, "fail") == 0 ?
		    "failure" : strcmp(st, "skip") == 0 ? "skipped" : "error");
		r |= xml_put(b, jstr(c, "message"));
		r |= buf_put_str(b, "\">");
		r |= xml_put(b, detail != NULL ? detail : "");
		r |= buf_putf(b, "</%s>", strcmp(st, "fail") == 0 ? "failure" :
		    strcmp(st, "skip") == 0 ? "skipped" : "error");
	} else {
		r |= buf_put_str(b, "<system-out>");
		r |= xml_put(b, jstr(c, "message"));
		r |= buf_put_str(b, "</system-out>");
	}
	r |= buf_put_str(b, "</testcase>\n");
	free(detail);
	return r;
}

int
leakreport_junit(const json_t *report, struct buf *out)
{
	static const char *const steps[] = { "schema", "tenants", "canaries",
	    "session", "data", "references", "access" };
	const json_t *checks = json_object_get(report, "checks"), *c;
	size_t n[4], i, k;
	int r = 0;

	tally(checks, NULL, n);
	r |= buf_put_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	r |= buf_putf(out, "<testsuites name=\"tenant-export leaktest\" "
	    "tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
	    n[0], n[1], n[2], n[3]);
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]) && r == 0; k++) {
		tally(checks, steps[k], n);
		if (n[0] == 0)
			continue;
		r |= buf_putf(out, "  <testsuite name=\"leaktest.%s\" tests=\"%zu\""
		    " failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
		    steps[k], n[0], n[1], n[2], n[3]);
		json_array_foreach(checks, i, c)
			if (strcmp(jstr(c, "step"), steps[k]) == 0)
				r |= junit_case(out, c);
		r |= buf_put_str(out, "  </testsuite>\n");
	}
	r |= buf_put_str(out, "</testsuites>\n");
	return r != 0 ? ERR_LIMIT : 0;
}
