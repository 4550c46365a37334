/*
 * alerts.h: rules over the audit log that tell someone when exports look
 * wrong (`tenant-export alerts`), and the memory of what was already said.
 *
 * Rules (thresholds in the config's [alerts] section, struct config_alerts):
 *
 *   audit_chain           the log does not verify (always first)
 *   burst_principal       more than burst_exports export requests by one
 *   burst_tenant            principal, or of one tenant, within burst_window
 *   failures_principal    more than `failures` refusals or failures (events
 *   failures_tenant         *.denied, *.failed) per principal or tenant
 *                           within failures_window; refusals that name no
 *                           principal (an unverified signer) count together
 *   unusual_tenant        a principal that has exported before requests a
 *                           tenant it never exported, or not for
 *                           unusual_after
 *   download_near_limit   a download leaving at most downloads_left of
 *                           [control] max_downloads
 *   download_after_hours  a download outside business hours and days
 *   held_job              a job awaiting approval for longer than held_after
 *
 * A window rule fires at the row that takes the count over the limit and
 * then stays quiet for that principal or tenant until a whole window has
 * passed since it fired, so a long burst is one alert per window, not one
 * per export.
 *
 * Each alert has a key ("rule:seq" of the row that triggered it; for
 * held_job "held_job:ref:time"). texp_control.alerts stores every alert
 * raised, once per key; texp_control.alert_cursor the last audit row the
 * rules have seen. Run from cron, each alert is reported once.
 *
 * Alerts name principals, tenants, job references and audit seqs, never a
 * job id, key or row content. Functions return 0 or a negative enum err
 * code; nothing here prints.
 */
#ifndef TEXP_OPS_ALERTS_H
#define TEXP_OPS_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;
struct config_alerts;
struct ops_rows;

/* Rule names, as stored and printed. */
#define OPS_RULE_CHAIN		"audit_chain"
#define OPS_RULE_BURST_P	"burst_principal"
#define OPS_RULE_BURST_T	"burst_tenant"
#define OPS_RULE_FAIL_P		"failures_principal"
#define OPS_RULE_FAIL_T		"failures_tenant"
#define OPS_RULE_UNUSUAL	"unusual_tenant"
#define OPS_RULE_DL_LIMIT	"download_near_limit"
#define OPS_RULE_DL_HOURS	"download_after_hours"
#define OPS_RULE_HELD		"held_job"
/* Every rule, in report order; NULL-terminated. */
extern const char *const ops_rules[];

struct ops_alert {
	char rule[32];
	char *principal;	/* or NULL */
	char *tenant;		/* or NULL */
	char *job;		/* job reference, or NULL */
	int64_t at;		/* µs: when what triggered it happened */
	int64_t *seqs;		/* the audit rows that triggered it */
	size_t nseqs;
	char *summary;		/* one line, no secret */
	char *key;
};

struct ops_alerts {
	struct ops_alert *v;
	size_t n, cap;
};
/* Frees every alert (not a itself). Accepts NULL. */
void ops_alerts_clear(struct ops_alerts *a);
/* Appends an alert (copies of the strings; key, summary and seqs unset);
 * *out points at it until v next grows. */
int ops_alert_add(struct ops_alerts *v, const char *rule,
    const char *principal, const char *tenant, const char *job, int64_t at,
    struct ops_alert **out);
/* Appends seq to a's audit rows. */
int ops_alert_seq(struct ops_alert *a, int64_t seq);

/* When each principal last requested each tenant's export. */
struct ops_history;
struct ops_history *ops_history_new(void);
void ops_history_free(struct ops_history *h);
/* Records an export request by principal of tenant at at (µs). */
int ops_history_note(struct ops_history *h, const char *principal,
    const char *tenant, int64_t at);

/*
 * The rules that read audit rows. rows (seq order) are the rows after the
 * cursor plus, before them, earlier rows inside the longest window; only
 * rows with flag set may trigger an alert. h holds the export requests
 * before the rows and is updated with theirs. prior are alerts already
 * raised (rule, principal, tenant, at: for the quiet period). New alerts
 * are appended to out. max_downloads is [control] max_downloads.
 */
int ops_alerts_eval(const struct config_alerts *cfg, uint64_t max_downloads,
    const struct ops_rows *rows, struct ops_history *h,
    const struct ops_alerts *prior, struct ops_alerts *out);

/*
 * One run of every rule, in a transaction on the monitor connection c:
 * locks the cursor (a second run waits), verifies the audit chain
 * (audit_verify), evaluates the rules over the rows after the cursor
 * whose time is at least since (µs; 0: all), checks held jobs, stores the
 * alerts whose key is new and moves the cursor to the end of the log.
 * *fresh gets the alerts raised now, in order (audit_chain first).
 * The transaction stays open: the caller reports the alerts, then calls
 * ops_alerts_end with commit = 1, or 0 when reporting failed (the alerts
 * are then raised again next time). On error the transaction is rolled
 * back.
 */
int ops_alerts_begin(PGconn *c, const struct config *cfg, int64_t since,
    struct ops_alerts *fresh, char *err, size_t errlen);
int ops_alerts_end(PGconn *c, int commit, char *err, size_t errlen);

#endif
