/*
 * alerts.c: the alert rules and their memory (see alerts.h and
 * docs/OPERATIONS.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "alerts.h"
#include "audit.h"
#include "auditlog.h"
#include "config.h"
#include "err.h"

#define US		INT64_C(1000000)	/* microseconds per second */
#define EV_REQUEST	"export.requested"
#define EV_FETCHED	"export.fetched"

const char *const ops_rules[] = {
	OPS_RULE_CHAIN, OPS_RULE_BURST_P, OPS_RULE_BURST_T, OPS_RULE_FAIL_P,
	OPS_RULE_FAIL_T, OPS_RULE_UNUSUAL, OPS_RULE_DL_LIMIT,
	OPS_RULE_DL_HOURS, OPS_RULE_HELD, NULL,
};

static void
alert_free(struct ops_alert *a)
{
	free(a->principal);
	free(a->tenant);
	free(a->job);
	free(a->seqs);
	free(a->summary);
	free(a->key);
}

void
ops_alerts_clear(struct ops_alerts *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		alert_free(&a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int
sdup(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) != NULL ? 0 : ERR_NOMEM;
}

int
ops_alert_add(struct ops_alerts *v, const char *rule, const char *principal,
    const char *tenant, const char *job, int64_t at, struct ops_alert **out)
{
	struct ops_alert *nv, *a;
	size_t ncap;

	if (v->n == v->cap) {
		ncap = v->cap == 0 ? 16 : v->cap * 2;
		if ((nv = reallocarray(v->v, ncap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		v->v = nv;
		v->cap = ncap;
	}
	a = &v->v[v->n];
	memset(a, 0, sizeof(*a));
	v->n++;
	snprintf(a->rule, sizeof(a->rule), "%s", rule);
	a->at = at;
	*out = a;
	if (sdup(principal, &a->principal) != 0 ||
	    sdup(tenant, &a->tenant) != 0 || sdup(job, &a->job) != 0)
		return ERR_NOMEM;
	return 0;
}

int
ops_alert_seq(struct ops_alert *a, int64_t seq)
{
	int64_t *n;

	if ((n = reallocarray(a->seqs, a->nseqs + 1, sizeof(*n))) == NULL)
		return ERR_NOMEM;
	a->seqs = n;
	a->seqs[a->nseqs++] = seq;
	return 0;
}

static int
alert_text(struct ops_alert *a, const char *keyfmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the key from keyfmt; the summary is set separately. */
static int
alert_text(struct ops_alert *a, const char *keyfmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, keyfmt);
	n = vasprintf(&a->key, keyfmt, ap);
	va_end(ap);
	if (n < 0) {
		a->key = NULL;
		return ERR_NOMEM;
	}
	return 0;
}

static int
alert_summary(struct ops_alert *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
alert_summary(struct ops_alert *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&a->summary, fmt, ap);
	va_end(ap);
	if (n < 0) {
		a->summary = NULL;
		return ERR_NOMEM;
	}
	return 0;
}

/* "90d", "1h", "90m", "45s": the largest unit that divides s. */
static void
fmt_dur(uint64_t s, char *out, size_t len)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(out, len, "%llud", (unsigned long long)(s / 86400));
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		snprintf(out, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(out, len, "%llus", (unsigned long long)s);
}

/* ---- history: last export request per (principal, tenant) ---- */

struct hist_entry {
	char *principal;
	char *tenant;
	int64_t last;
};

struct ops_history {
	struct hist_entry *v;
	size_t n, cap;
};

struct ops_history *
ops_history_new(void)
{
	return calloc(1, sizeof(struct ops_history));
}

void
ops_history_free(struct ops_history *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++) {
		free(h->v[i].principal);
		free(h->v[i].tenant);
	}
	free(h->v);
	free(h);
}

int
ops_history_note(struct ops_history *h, const char *principal,
    const char *tenant, int64_t at)
{
	struct hist_entry *nv, *e;
	size_t i, ncap;

	if (principal == NULL || tenant == NULL)
		return 0;
	for (i = 0; i < h->n; i++) {
		e = &h->v[i];
		if (strcmp(e->principal, principal) == 0 &&
		    strcmp(e->tenant, tenant) == 0) {
			if (at > e->last)
				e->last = at;
			return 0;
		}
	}
	if (h->n == h->cap) {
		ncap = h->cap == 0 ? 64 : h->cap * 2;
		if ((nv = reallocarray(h->v, ncap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		h->v = nv;
		h->cap = ncap;
	}
	e = &h->v[h->n];
	if ((e->principal = strdup(principal)) == NULL)
		return ERR_NOMEM;
	if ((e->tenant = strdup(tenant)) == NULL) {
		free(e->principal);
		return ERR_NOMEM;
	}
	e->last = at;
	h->n++;
	return 0;
}

/* *last = the last request of tenant by principal (0: never); *other = 1
 * if principal requested any other tenant. */
static void
history_get(const struct ops_history *h, const char *principal,
    const char *tenant, int64_t *last, int *other)
{
	size_t i;

	*last = 0;
	*other = 0;
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->v[i].principal, principal) != 0)
			continue;
		if (strcmp(h->v[i].tenant, tenant) == 0)
			*last = h->v[i].last;
		else
			*other = 1;
	}
}

/* ---- the rules over rows ---- */

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
is_problem(const struct ops_row *r)
{
	return ends_with(r->event, ".denied") || ends_with(r->event, ".failed");
}

static int
is_request(const struct ops_row *r)
{
	return strcmp(r->event, EV_REQUEST) == 0;
}

/* What a window rule counts, and by what it groups. */
struct window_rule {
	const char *rule;
	int (*kind)(const struct ops_row *);
	int by_tenant;		/* group by tenant, else by principal */
	uint64_t limit;
	uint64_t window;	/* seconds */
	const char *what;	/* "export requests", ... */
};

/* 1 if an alert of rule for this subject fired within the window before
 * at, in prior or out. */
static int
quiet(const struct window_rule *w, const char *subject,
    const struct ops_alerts *prior, const struct ops_alerts *out,
    int64_t at)
{
	const struct ops_alerts *lists[2] = { prior, out };
	const struct ops_alert *a;
	size_t i, k;

	for (k = 0; k < 2; k++) {
		if (lists[k] == NULL)
			continue;
		for (i = 0; i < lists[k]->n; i++) {
			a = &lists[k]->v[i];
			if (strcmp(a->rule, w->rule) == 0 &&
			    str_eq(w->by_tenant ? a->tenant : a->principal,
			    subject) && a->at <= at &&
			    a->at > at - (int64_t)w->window * US)
				return 1;
		}
	}
	return 0;
}

/* The window rule at row i: counts the rows of the same kind and subject
 * within the window ending at row i, and fires above the limit. */
static int
window_check(const struct window_rule *w, const struct ops_rows *rows,
    size_t i, const struct ops_alerts *prior, struct ops_alerts *out)
{
	const struct ops_row *r = &rows->v[i], *x;
	const char *subject = w->by_tenant ? r->tenant : r->principal;
	const char *other = NULL;
	struct ops_alert *a;
	uint64_t count = 0;
	size_t j, first = i;
	int same_other = 1, rc;
	char dur[24];

	if (w->limit == 0 || (w->by_tenant && subject == NULL))
		return 0;
	for (j = i + 1; j-- > 0;) {
		x = &rows->v[j];
		if (x->at <= r->at - (int64_t)w->window * US)
			break;
		if (!w->kind(x) || !str_eq(w->by_tenant ? x->tenant :
		    x->principal, subject))
			continue;
		if (count == 0)
			other = w->by_tenant ? x->principal : x->tenant;
		else if (!str_eq(other, w->by_tenant ? x->principal :
		    x->tenant))
			same_other = 0;
		count++;
		first = j;
	}
	if (count <= w->limit || quiet(w, subject, prior, out, r->at))
		return 0;
	if (!same_other)
		other = NULL;
	if ((rc = ops_alert_add(out, w->rule, w->by_tenant ? other : subject,
	    w->by_tenant ? subject : other, NULL, r->at, &a)) != 0)
		return rc;
	for (j = first; j <= i; j++) {
		x = &rows->v[j];
		if (x->at > r->at - (int64_t)w->window * US && w->kind(x) &&
		    str_eq(w->by_tenant ? x->tenant : x->principal, subject) &&
		    (rc = ops_alert_seq(a, x->seq)) != 0)
			return rc;
	}
	fmt_dur(w->window, dur, sizeof(dur));
	if ((rc = alert_text(a, "%s:%" PRId64, w->rule, r->seq)) != 0)
		return rc;
	return alert_summary(a, "%llu %s %s within %s (more than %llu)",
	    (unsigned long long)count, w->what, w->by_tenant ?
	    "of one tenant" : subject != NULL ? "by one principal" :
	    "by unverified signers", dur, (unsigned long long)w->limit);
}

static int
unusual_check(const struct config_alerts *cfg, const struct ops_row *r,
    const struct ops_history *h, struct ops_alerts *out)
{
	struct ops_alert *a;
	int64_t last;
	int other, rc;
	char dur[24];

	if (cfg->unusual_after == 0 || r->principal == NULL ||
	    r->tenant == NULL)
		return 0;
	history_get(h, r->principal, r->tenant, &last, &other);
	/* A principal's very first request is not unusual: every tenant is
	 * new to it. */
	if (last == 0 ? !other :
	    r->at - last <= (int64_t)cfg->unusual_after * US)
		return 0;
	if ((rc = ops_alert_add(out, OPS_RULE_UNUSUAL, r->principal, r->tenant,
	    r->job, r->at, &a)) != 0 || (rc = ops_alert_seq(a, r->seq)) != 0 ||
	    (rc = alert_text(a, "%s:%" PRId64, OPS_RULE_UNUSUAL, r->seq)) != 0)
		return rc;
	if (last == 0)
		return alert_summary(a, "first export request of this tenant "
		    "by this principal");
	fmt_dur(cfg->unusual_after, dur, sizeof(dur));
	return alert_summary(a, "no export request of this tenant by this "
	    "principal for %lld days before this one (more than %s)",
	    (long long)((r->at - last) / (86400 * US)), dur);
}

static const char *const weekdays[] = { "?", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat", "Sun" };

static int
download_check(const struct config_alerts *cfg, uint64_t max_downloads,
    const struct ops_row *r, struct ops_alerts *out)
{
	struct ops_alert *a;
	int64_t count;
	int rc, in_day, in_hours;

	if (cfg->downloads_left >= 0 &&
	    ops_detail_int(r->detail, "count", &count) == 0 && count > 0 &&
	    (int64_t)max_downloads - count <= cfg->downloads_left) {
		if ((rc = ops_alert_add(out, OPS_RULE_DL_LIMIT, r->principal,
		    r->tenant, r->job, r->at, &a)) != 0 ||
		    (rc = ops_alert_seq(a, r->seq)) != 0 ||
		    (rc = alert_text(a, "%s:%" PRId64, OPS_RULE_DL_LIMIT,
		    r->seq)) != 0 ||
		    (rc = alert_summary(a, "download %lld of %llu allowed",
		    (long long)count, (unsigned long long)max_downloads)) != 0)
			return rc;
	}
	in_day = r->dow >= 1 && r->dow <= 7 &&
	    (cfg->business_days & (1u << r->dow)) != 0;
	in_hours = r->minute >= (int)cfg->day_start &&
	    r->minute < (int)cfg->day_end;
	if (!cfg->after_hours || (in_day && in_hours))
		return 0;
	if ((rc = ops_alert_add(out, OPS_RULE_DL_HOURS, r->principal, r->tenant,
	    r->job, r->at, &a)) != 0 || (rc = ops_alert_seq(a, r->seq)) != 0 ||
	    (rc = alert_text(a, "%s:%" PRId64, OPS_RULE_DL_HOURS,
	    r->seq)) != 0)
		return rc;
	return alert_summary(a, "download on %s at %02d:%02d %s, outside "
	    "business hours (%02u:%02u-%02u:%02u)",
	    weekdays[r->dow >= 1 && r->dow <= 7 ? r->dow : 0],
	    r->minute / 60, r->minute % 60, cfg->timezone,
	    cfg->day_start / 60, cfg->day_start % 60, cfg->day_end / 60,
	    cfg->day_end % 60);
}

int
ops_alerts_eval(const struct config_alerts *cfg, uint64_t max_downloads,
    const struct ops_rows *rows, struct ops_history *h,
    const struct ops_alerts *prior, struct ops_alerts *out)
{
	const struct window_rule w[] = {
		{ OPS_RULE_BURST_P, is_request, 0, cfg->burst_exports,
		  cfg->burst_window, "export requests" },
		{ OPS_RULE_BURST_T, is_request, 1, cfg->burst_exports,
		  cfg->burst_window, "export requests" },
		{ OPS_RULE_FAIL_P, is_problem, 0, cfg->failures,
		  cfg->failures_window, "refusals or failures" },
		{ OPS_RULE_FAIL_T, is_problem, 1, cfg->failures,
		  cfg->failures_window, "refusals or failures" },
	};
	const struct ops_row *r;
	size_t i, k;
	int rc;

	for (i = 0; i < rows->n; i++) {
		r = &rows->v[i];
		if (r->flag) {
			for (k = 0; k < sizeof(w) / sizeof(w[0]); k++)
				if (w[k].kind(r) && (rc = window_check(&w[k],
				    rows, i, prior, out)) != 0)
					return rc;
			if (is_request(r) &&
			    (rc = unusual_check(cfg, r, h, out)) != 0)
				return rc;
			if (strcmp(r->event, EV_FETCHED) == 0 &&
			    (rc = download_check(cfg, max_downloads, r,
			    out)) != 0)
				return rc;
		}
		if (is_request(r) && (rc = ops_history_note(h, r->principal,
		    r->tenant, r->at)) != 0)
			return rc;
	}
	return 0;
}
