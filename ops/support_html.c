/*
 * support_html.c: renders the support page (support.h) from what support.c
 * loaded. Every database string goes through html_text.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "auditlog.h"
#include "buf.h"
#include "err.h"
#include "html.h"
#include "support.h"
#include "support_int.h"

static const char css[] =
"body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
"color:#1b1f24;margin:1.5rem auto;max-width:84rem;padding:0 1rem}"
"h1{font-size:1.5rem;margin:0 0 .2rem}"
"h2{font-size:1.2rem;border-bottom:2px solid #2f4a66;padding-bottom:.2rem;"
"margin:2rem 0 .6rem}"
"h2 .id{font-weight:normal;color:#57606a;font-size:.9rem;margin-left:.5rem}"
"h3{font-size:1rem;margin:1rem 0 .35rem}"
".meta{color:#57606a;margin:.1rem 0}"
".chain-ok{color:#116329}.chain-bad{background:#ffebe9;border:1px solid"
" #cf222e;padding:.4rem .6rem;color:#82071e}"
"table{border-collapse:collapse;width:100%;margin:0 0 .6rem}"
"th,td{border:1px solid #d0d7de;padding:.3rem .45rem;text-align:left;"
"vertical-align:top}"
"th{background:#f0f3f6;font-weight:600}"
"td.ref,span.ref{font-family:ui-monospace,Menlo,Consolas,monospace;"
"font-size:.9em}"
"td ul{margin:0;padding-left:1rem}"
".state{font-weight:600}.state-ready{color:#116329}"
".state-failed,.state-cancelled{color:#a40e26}"
".state-awaiting_approval,.state-queued,.state-running{color:#9a6700}"
".state-expired{color:#57606a}"
".none{color:#57606a;font-style:italic}"
"footer{margin-top:2rem;color:#57606a;font-size:.85rem}"
"@media print{body{max-width:none;margin:0;font-size:9.5pt}"
"h2{break-after:avoid}tr{break-inside:avoid}"
"th{background:#eee!important;-webkit-print-color-adjust:exact;"
"print-color-adjust:exact}}";

static int
put_time(struct buf *o, int64_t us)
{
	char t[32];

	html_time(us, t, sizeof(t));
	return buf_put_str(o, t);
}

/* The rows of job ref: [*start, *end) in rp->byjob. */
static void
job_rows(const struct report *rp, const char *ref, size_t *start,
    size_t *end)
{
	size_t lo = 0, hi = rp->nbyjob, mid;
	const char *j;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		j = rp->rows.v[rp->byjob[mid]].job;
		if (strcmp(j != NULL ? j : "", ref) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*start = *end = lo;
	while (*end < rp->nbyjob &&
	    (j = rp->rows.v[rp->byjob[*end]].job) != NULL &&
	    strcmp(j, ref) == 0)
		(*end)++;
}

static int
put_scope(struct buf *o, const char *scope)
{
	json_t *s = json_loads(scope, 0, NULL), *t, *v;
	size_t i;
	int r = 0;

	if (s == NULL || !json_is_object(s)) {
		json_decref(s);
		return html_text(o, scope);
	}
	t = json_object_get(s, "tables");
	if (!json_is_array(t) || json_array_size(t) == 0)
		r = buf_put_str(o, "whole tenant");
	json_array_foreach(t, i, v) {
		if (r == 0 && i > 0)
			r = buf_put_str(o, ", ");
		if (r == 0)
			r = html_text(o, json_is_string(v) ?
			    json_string_value(v) : "?");
	}
	if (r == 0 && json_is_string(v = json_object_get(s, "since")) &&
	    (r = buf_put_str(o, "; since ")) == 0)
		r = html_text(o, json_string_value(v));
	if (r == 0 && json_is_string(v = json_object_get(s, "until")) &&
	    (r = buf_put_str(o, "; until ")) == 0)
		r = html_text(o, json_string_value(v));
	if (r == 0 && json_is_true(json_object_get(s, "include_global")))
		r = buf_put_str(o, "; with global tables");
	if (r == 0 && json_is_true(json_object_get(s, "pii")))
		r = buf_put_str(o, "; personal data");
	json_decref(s);
	return r;
}

static int
put_downloads(struct buf *o, const struct report *rp, const struct rjob *j,
    size_t a, size_t b)
{
	const struct ops_row *x;
	size_t k;
	int r, n = 0;

	r = buf_putf(o, "%d of %d", j->fetches, j->max_fetches);
	for (k = a; k < b && r == 0; k++) {
		x = &rp->rows.v[rp->byjob[k]];
		if (strcmp(x->event, "export.fetched") != 0)
			continue;
		r = buf_put_str(o, n++ == 0 ? "<ul><li>" : "<li>");
		if (r == 0 && (r = html_text(o, x->principal)) == 0 &&
		    (r = buf_put_str(o, ", ")) == 0 && (r = put_time(o,
		    x->at)) == 0)
			r = buf_put_str(o, "</li>");
	}
	if (r == 0 && n > 0)
		r = buf_put_str(o, "</ul>");
	return r;
}

/* How the job ended (or when it will expire). */
static int
put_ended(struct buf *o, const struct report *rp, const struct rjob *j,
    size_t a, size_t b)
{
	static const char *const evs[][2] = {
		{ "export.cancelled", "cancelled" },
		{ "export.deleted", "archive deleted" },
		{ "export.delete.failed", "archive deletion failed" },
		{ "export.expired", "expired" },
	};
	const struct ops_row *x;
	size_t k, e;
	int r = 0, n = 0;

	for (k = a; k < b && r == 0; k++) {
		x = &rp->rows.v[rp->byjob[k]];
		for (e = 0; e < sizeof(evs) / sizeof(evs[0]); e++)
			if (strcmp(x->event, evs[e][0]) == 0)
				break;
		if (e == sizeof(evs) / sizeof(evs[0]))
			continue;
		r = buf_putf(o, "%s%s ", n++ == 0 ? "" : "<br>", evs[e][1]);
		if (r == 0)
			r = put_time(o, x->at);
		if (r == 0 && x->principal != NULL &&
		    (r = buf_put_str(o, " by ")) == 0)
			r = html_text(o, x->principal);
	}
	if (r == 0 && n == 0 && strcmp(j->state, "ready") == 0 &&
	    j->expires != 0 && (r = buf_put_str(o, "expires ")) == 0)
		r = put_time(o, j->expires);
	if (r == 0 && n == 0 && !(strcmp(j->state, "ready") == 0 &&
	    j->expires != 0))
		r = buf_put_str(o, "-");
	return r;
}

/* One refusal or failure: "time event by P: reason". */
static int
put_problem(struct buf *o, const struct ops_row *x)
{
	char *why;
	int r;

	why = ops_detail_str(x->detail, "reason");
	if (why == NULL)
		why = ops_detail_str(x->detail, "code");
	if ((r = put_time(o, x->at)) == 0 && (r = buf_put_str(o, " ")) == 0)
		r = html_text(o, x->event);
	if (r == 0 && x->principal != NULL &&
	    (r = buf_put_str(o, " by ")) == 0)
		r = html_text(o, x->principal);
	if (r == 0 && why != NULL && (r = buf_put_str(o, ": ")) == 0)
		r = html_text(o, why);
	free(why);
	return r;
}

static int
is_problem_row(const struct ops_row *x)
{
	size_t n = strlen(x->event);

	return (n > 7 && (strcmp(x->event + n - 7, ".denied") == 0 ||
	    strcmp(x->event + n - 7, ".failed") == 0)) ||
	    strcmp(x->event, "export.retry") == 0 ||
	    strcmp(x->event, "export.held") == 0;
}

static int
put_problems(struct buf *o, const struct report *rp, size_t a, size_t b)
{
	const struct ops_row *x;
	size_t k;
	int r = 0, n = 0;

	for (k = a; k < b && r == 0; k++) {
		x = &rp->rows.v[rp->byjob[k]];
		if (!is_problem_row(x))
			continue;
		r = buf_put_str(o, n++ == 0 ? "<ul><li>" : "<li>");
		if (r == 0 && (r = put_problem(o, x)) == 0)
			r = buf_put_str(o, "</li>");
	}
	if (r == 0)
		r = buf_put_str(o, n > 0 ? "</ul>" : "-");
	return r;
}

static int
put_job(struct buf *o, const struct report *rp, const struct rjob *j)
{
	char n1[32], n2[32], cls[64];
	size_t a, b;
	int r;

	job_rows(rp, j->ref, &a, &b);
	snprintf(cls, sizeof(cls), "state state-%s", strspn(j->state,
	    "abcdefghijklmnopqrstuvwxyz_") == strlen(j->state) ? j->state :
	    "other");
	if ((r = buf_putf(o, "<tr><td class=\"ref\">%s</td><td>", j->ref)) ||
	    (r = put_time(o, j->created)) ||
	    (r = buf_put_str(o, "</td>")) ||
	    (r = html_elem(o, "td", NULL, j->requested)) ||
	    (r = html_elem(o, "td", NULL, j->approved)) ||
	    (r = buf_put_str(o, "<td>")) || (r = put_scope(o, j->scope)) ||
	    (r = buf_put_str(o, "</td>")) ||
	    (r = html_elem(o, "td", cls, j->state)) ||
	    (r = buf_put_str(o, "<td>")))
		return r;
	if (j->has_sizes) {
		html_count(j->records, n1, sizeof(n1));
		html_size(j->bytes, n2, sizeof(n2));
		r = buf_putf(o, "%s records<br>%s", n1, n2);
	} else
		r = buf_put_str(o, "-");
	if (r || (r = buf_put_str(o, "</td><td>")) ||
	    (r = put_downloads(o, rp, j, a, b)) ||
	    (r = buf_put_str(o, "</td><td>")) ||
	    (r = put_ended(o, rp, j, a, b)) ||
	    (r = buf_put_str(o, "</td><td>")) ||
	    (r = put_problems(o, rp, a, b)))
		return r;
	return buf_put_str(o, "</td></tr>\n");
}

static int
put_alerts(struct buf *o, const struct report *rp, const char *tenant)
{
	const struct ops_alert *a;
	size_t i, k;
	int r = 0, n = 0;

	for (i = 0; i < rp->alerts.n && r == 0; i++) {
		a = &rp->alerts.v[i];
		if ((tenant == NULL) != (a->tenant == NULL) ||
		    (tenant != NULL && strcmp(tenant, a->tenant) != 0))
			continue;
		if (n++ == 0)
			r = buf_put_str(o, "<table><tr><th>When</th><th>Rule"
			    "</th><th>Principal</th><th>Job</th><th>What</th>"
			    "<th>Audit rows</th></tr>\n");
		if (r || (r = buf_put_str(o, "<tr><td>")) ||
		    (r = put_time(o, a->at)) ||
		    (r = buf_put_str(o, "</td>")) ||
		    (r = html_elem(o, "td", NULL, a->rule)) ||
		    (r = html_elem(o, "td", NULL, a->principal)) ||
		    (r = html_elem(o, "td", "ref", a->job)) ||
		    (r = html_elem(o, "td", NULL, a->summary)) ||
		    (r = buf_put_str(o, "<td>")))
			break;
		for (k = 0; k < a->nseqs && r == 0; k++)
			r = buf_putf(o, "%s%" PRId64, k > 0 ? ", " : "",
			    a->seqs[k]);
		if (r == 0)
			r = buf_put_str(o, "</td></tr>\n");
	}
	if (r == 0)
		r = buf_put_str(o, n > 0 ? "</table>\n" :
		    "<p class=\"none\">No alerts.</p>\n");
	return r;
}

/* Refusals and failures of the tenant that name no job. */
static int
put_refusals(struct buf *o, const struct report *rp, const char *tenant)
{
	const struct ops_row *x;
	size_t i;
	int r = 0, n = 0;

	for (i = 0; i < rp->rows.n && r == 0; i++) {
		x = &rp->rows.v[i];
		if (x->job != NULL || strcmp(x->tenant, tenant) != 0)
			continue;
		r = buf_put_str(o, n++ == 0 ? "<h3>Refusals without a job"
		    "</h3>\n<ul><li>" : "<li>");
		if (r == 0 && (r = put_problem(o, x)) == 0)
			r = buf_put_str(o, "</li>\n");
	}
	if (r == 0 && n > 0)
		r = buf_put_str(o, "</ul>\n");
	return r;
}

static int
put_tenant(struct buf *o, const struct report *rp, const struct rtenant *t)
{
	size_t i, n = 0;
	int r;

	for (i = 0; i < rp->nj; i++)
		n += strcmp(rp->j[i].tenant, t->tenant) == 0;
	if ((r = buf_put_str(o, "<section>\n<h2>")) ||
	    (r = html_text(o, t->name)) ||
	    (r = buf_put_str(o, " <span class=\"id\">tenant ")) ||
	    (r = html_text(o, t->tenant)) ||
	    (r = buf_put_str(o, "</span></h2>\n<h3>Alerts</h3>\n")) ||
	    (r = put_alerts(o, rp, t->tenant)) ||
	    (r = buf_putf(o, "<h3>Exports (%zu)</h3>\n", n)))
		return r;
	if (n == 0)
		r = buf_put_str(o, "<p class=\"none\">No exports in this "
		    "period.</p>\n");
	else
		r = buf_put_str(o, "<table><tr><th>Job</th><th>Created (UTC)"
		    "</th><th>Requested by</th><th>Approved by</th><th>Scope"
		    "</th><th>State</th><th>Size</th><th>Downloads</th>"
		    "<th>Ended</th><th>Failures and refusals</th></tr>\n");
	for (i = 0; i < rp->nj && r == 0; i++)
		if (strcmp(rp->j[i].tenant, t->tenant) == 0)
			r = put_job(o, rp, &rp->j[i]);
	if (r == 0 && n > 0)
		r = buf_put_str(o, "</table>\n");
	if (r == 0)
		r = put_refusals(o, rp, t->tenant);
	if (r == 0)
		r = buf_put_str(o, "</section>\n");
	return r;
}

static int
put_header(struct buf *o, const struct report *rp)
{
	int r;

	if ((r = buf_putf(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-"
	    "Policy\" content=\"default-src 'none'; style-src "
	    "'unsafe-inline'\">\n<meta name=\"viewport\" content=\"width="
	    "device-width, initial-scale=1\">\n<title>Recent exports"
	    "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n"
	    "<h1>Recent exports</h1>\n<p class=\"meta\">Exports created in "
	    "the %u days before ", css, rp->days)) ||
	    (r = put_time(o, rp->now)) ||
	    (r = buf_put_str(o, " UTC, per tenant.</p>\n")))
		return r;
	if (rp->chain_ok)
		r = buf_putf(o, "<p class=\"meta chain-ok\">Audit log: hash "
		    "chain verified, %" PRId64 " rows.</p>\n", rp->chain_rows);
	else if ((r = buf_put_str(o, "<p class=\"chain-bad\">Audit log: "
	    "the hash chain does NOT verify (")) == 0 &&
	    (r = html_text(o, rp->chain_why)) == 0)
		r = buf_put_str(o, "). What this page shows may have been "
		    "altered.</p>\n");
	if (r == 0 && rp->truncated)
		r = buf_putf(o, "<p class=\"chain-bad\">Only the newest %d "
		    "exports are shown.</p>\n", OPS_REPORT_MAX_JOBS);
	if (r == 0)
		r = buf_put_str(o, "</header>\n");
	return r;
}

int
report_render(const struct report *rp, struct buf *o)
{
	size_t i;
	int r;

	if ((r = put_header(o, rp)) != 0)
		return r;
	for (i = 0; i < rp->alerts.n; i++)
		if (rp->alerts.v[i].tenant == NULL)
			break;
	if (i < rp->alerts.n &&
	    ((r = buf_put_str(o, "<section>\n<h2>Alerts not tied to one "
	    "tenant</h2>\n")) || (r = put_alerts(o, rp, NULL)) ||
	    (r = buf_put_str(o, "</section>\n"))))
		return r;
	for (i = 0; i < rp->nt && r == 0; i++)
		r = put_tenant(o, rp, &rp->t[i]);
	if (r == 0)
		r = buf_put_str(o, "<footer>Jobs are named by their id, as "
		    "<code>tenant-export status</code> and the audit log name "
		    "them; keys, archive paths and row content are never shown. "
		    "Failures show their code; the full message is in "
		    "<code>tenant-export audit show</code>. Times are UTC."
		    "</footer>\n</body>\n</html>\n");
	return r;
}
