/*
 * leakreport.h: the leak test's report, as the service builds it
 * (docs/AUDIT.md, "The report").
 *
 * Every check is one JSON object
 *
 *	{"id", "step", "tenant", "status", "count", "message", "detail"}
 *
 * id: a stable name ("session.reset_role", "data.completeness", ...);
 * step: schema, tenants, session, data, references, access, canaries;
 * tenant: the tested tenant it is about, or null; status: pass, fail
 * (a finding: something leaks, or could), error (the check could not
 * run) or skip (not applicable, said why); count: rows, values or
 * attempts found; message: one line in words; detail: names, counts and
 * record indexes, never a row value.
 *
 * Each check is sent to the auditor the moment it is decided (a progress
 * frame {"check": {...}}); the report keeps only the counts and the
 * names of failed checks, for the result and the audit log.
 */
#ifndef TEXP_LEAKREPORT_H
#define TEXP_LEAKREPORT_H

#include <stddef.h>

#include <jansson.h>

struct leakreport;

/* Longest detail array sent; the rest is counted in {"more": n}. */
#define LEAKREPORT_DETAIL_MAX	100

/* A report streaming to the connection fd. NULL on ENOMEM. */
struct leakreport *leakreport_new(int fd);
/* Accepts NULL. */
void leakreport_free(struct leakreport *r);

/* Adds check (consumed; it needs id, status and message) with its step
 * and tenant (or NULL), and sends it. */
void leakreport_add(struct leakreport *r, const char *step,
    const char *tenant, json_t *check);
/* The same from parts; detail (consumed) may be NULL. */
void leakreport_addf(struct leakreport *r, const char *step,
    const char *tenant, const char *id, const char *status, long long count,
    json_t *detail, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* {"checks", "passed", "failed", "errors", "skipped"} */
json_t *leakreport_summary(const struct leakreport *r);
/* The exit status the auditor gets: 1 on any finding, else 2 if a check
 * could not run, else 0. */
int leakreport_exit(const struct leakreport *r);
/* The ids of failed checks with their tenants (at most max): for the
 * audit log. */
json_t *leakreport_failed(const struct leakreport *r, size_t max);
/* 1 once a frame could not be sent (the auditor went away). */
int leakreport_gone(const struct leakreport *r);

/*
 * The auditor's side: renderings of the whole report (the JSON object
 * docs/AUDIT.md describes: {"leaktest": 1, ..., "checks": [...]}), for
 * the command to print or write. Nothing here prints.
 */
struct buf;
/* One line for a check, without a newline: "LEAK  session.copy  T  words"
 * (control characters shown as '?'). */
void leakreport_line(const json_t *check, char *out, size_t outlen);
/* JUnit XML: one testsuite per step, one testcase per check (a failure
 * for fail, an error for error, skipped for skip), for GitLab and
 * GitHub. ERR_NOMEM, ERR_LIMIT (out too small). */
int leakreport_junit(const json_t *report, struct buf *out);

#endif
