/*
 * decide.h: what every control-plane decision shares (jobs_access.c,
 * admin.c): the outcome, the audit rows, refusals, and the verification
 * of a principal's signed action against the ledger.
 *
 * Each function that fails fills o (code and message) and returns the
 * code; none prints or exits.
 */
#ifndef TEXP_DECIDE_H
#define TEXP_DECIDE_H

#include <jansson.h>

#include "jobs.h"

struct action;

/* Clears o; o->r = ERR_INTERNAL until a decision is made. */
void decide_init(struct jobs_outcome *o);
/* The user's one-line message. */
void decide_msg(struct jobs_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "what: <err_str(r)>", o->r = r; returns r. */
int decide_fail(struct jobs_outcome *o, int r, const char *what);

/*
 * Appends one signed row (audit.h) with this event; a, when not NULL, is
 * the principal's signed action the row records (the one the event
 * applies, ledger.h). detail is consumed; the caller's peer is added to
 * it. A failure to audit fails the step (o is filled).
 */
int decide_audit_signed(struct jobs_ctx *k, const char *event,
    const char *principal, const char *tenant, const char *ref,
    const char *scope, json_t *detail, const struct jobs_signed *a,
    struct jobs_outcome *o);
int decide_audit(struct jobs_ctx *k, const char *event, const char *principal,
    const char *tenant, const char *ref, const char *scope, json_t *detail,
    struct jobs_outcome *o);
/* {"job_hash": hex}: how rows name a job for the ledger. */
json_t *decide_job_detail(const uint8_t id_hash[JOBS_HASH_LEN]);

/* A refusal: audited as event with detail.reason, then o->r = code and
 * the formatted message. Returns code (or the audit failure). */
int decide_deny(struct jobs_ctx *k, struct jobs_outcome *o, int code,
    const char *event, const char *principal, const char *tenant,
    const char *ref, const char *scope, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 10, 11)));

/*
 * Verifies a's signature, freshness (the database's clock), control id
 * and nonce against the ledger, and that it is of this kind. Refusals
 * are audited as deny_event with the reason (unknown_principal,
 * bad_signature, other_control_database, stale, replay, malformed) and
 * answered ERR_DENIED. On success *out is the action and o->principal
 * its signer.
 */
int decide_verify(struct jobs_ctx *k, const struct jobs_signed *a,
    const char *kind, const char *deny_event, struct action **out,
    struct jobs_outcome *o);

#endif
