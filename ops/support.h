/*
 * support.h: the support page (`tenant-export report --html`): one static,
 * self-contained HTML file that answers "who exported what for this
 * client, and who downloaded it" without reading the audit log by hand.
 *
 * Per tenant, the exports created in the last `days` days: job reference,
 * when created, requested and approved by, scope, state, size (records and
 * record bytes from the receipt), downloads (by whom, when, how many of the
 * allowed), how it ended (expired, deleted, cancelled), failures and
 * refusals with their reason codes; and the alerts of that period. A
 * header says whether the audit log's chain verifies.
 *
 * What the page never holds: job ids (references only), keys, row
 * content, archive paths or the free-text error of a failed export (a
 * builder's message is not trusted text; the page shows the failure's
 * code, and `audit show` has the rest). Every database string is
 * HTML-escaped; the page has no scripts, no external assets, and a
 * Content-Security-Policy that would block both.
 */
#ifndef TEXP_OPS_SUPPORT_H
#define TEXP_OPS_SUPPORT_H

#include <stddef.h>

#include <libpq-fe.h>

struct buf;

#define OPS_REPORT_MAX_DAYS	3660
#define OPS_REPORT_MAX_JOBS	5000

struct ops_report_opts {
	const char *tenant;	/* one tenant, or NULL for every tenant */
	unsigned days;		/* 1..OPS_REPORT_MAX_DAYS */
};

/*
 * Appends the page to out, from one REPEATABLE READ READ ONLY
 * transaction. ERR_NOENT when o->tenant is not registered; ERR_DB;
 * ERR_INVALID for bad options. At most OPS_REPORT_MAX_JOBS jobs (the page
 * says so when there were more).
 */
int ops_report_html(PGconn *c, const struct ops_report_opts *o,
    struct buf *out, char *err, size_t errlen);

#endif
