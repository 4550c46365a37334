/*
 * jobs_access.c: who may request, approve, run, see, cancel and fetch an
 * export job. Every outcome, allowed or refused, is audited here, so that
 * no command can forget to.
 *
 * Who holds which right comes from the ledger (the signed log), never
 * from the control tables: someone who edits the tables by hand gains
 * nothing, and a job row that disagrees with the log is refused.
 *
 * Answers to the user never tell "not assigned to this tenant" from "no
 * such tenant", nor "another tenant's job" from "no such job": both come
 * from one message each. The audit log, which only operators read, keeps
 * the precise reason.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "age.h"
#include "audit.h"
#include "config.h"
#include "ident.h"
#include "control.h"
#include "err.h"
#include "jobs.h"
#include "decide.h"
#include "ledger.h"
#include "queue.h"
#include "sha256.h"

#define MSG_NO_JOB	"no such job"

/* Any capability on the job's tenant makes its jobs visible. */
static int
visible(const struct jobs_ctx *k, const char *who, const char *tenant)
{
	return ledger_may(k->ledger, who, CONTROL_CAP_EXPORT, tenant) ||
	    ledger_may(k->ledger, who, CONTROL_CAP_APPROVE, tenant) ||
	    ledger_may(k->ledger, who, CONTROL_CAP_FETCH, tenant);
}

static int
may_export(const struct jobs_ctx *k, const char *who, const char *tenant,
    int pii)
{
	return ledger_may(k->ledger, who, CONTROL_CAP_EXPORT, tenant) &&
	    (!pii || ledger_may(k->ledger, who, CONTROL_CAP_EXPORT_PII,
	    tenant));
}

/*
 * Loads the job named by the action's "job" field and checks it against
 * the log. ERR_NOENT when malformed or unknown (the same answer).
 */
static int
load_job(struct jobs_ctx *k, const struct action *act, struct jobs_job **out,
    char ref[JOBS_REF_HEX], struct jobs_outcome *o)
{
	const struct ledger_job *lj;
	uint8_t hash[JOBS_HASH_LEN];
	char why[256];
	int r;


	*out = NULL;
	ref[0] = '\0';
	/* what was asked, for the log, when it is at least an id's shape */
	if (jobs_id_parse(action_get(act, "job"), hash) == 0)
		jobs_ref(hash, ref);
	if ((lj = ledger_job_named(k->ledger, action_get(act, "job"))) == NULL)
		return ERR_NOENT;
	memcpy(hash, lj->id_hash, JOBS_HASH_LEN);
	jobs_ref(hash, ref);
	memcpy(o->id_hash, hash, JOBS_HASH_LEN);
	if ((r = jobs_get(k->c, hash, out)) != 0) {
		if (r != ERR_NOENT)
			decide_fail(o, r, "cannot read the job");
		return r;
	}
	if (ledger_job_check(k->ledger, *out, why, sizeof(why)) != 0) {
		r = decide_deny(k, o, ERR_TAMPER, "control.mismatch",
		    action_principal(act)->name, (*out)->tenant, ref, NULL,
		    "job_mismatch", "job %s cannot be used: %s", ref, why);
		jobs_free(*out);
		*out = NULL;
		return r == ERR_TAMPER ? ERR_TAMPER : r;
	}
	return 0;
}

/*
 * The start of every command on one job: the signed action of this kind
 * verified, then the job it names, visible to the signer. Refusals are
 * audited as `denied`.
 */
static int
signed_job(struct jobs_ctx *k, const struct jobs_signed *a, const char *kind,
    const char *denied, struct action **act, struct jobs_job **j,
    char ref[JOBS_REF_HEX], struct jobs_outcome *o)
{
	const char *who;
	int r;

	decide_init(o);
	if ((r = decide_verify(k, a, kind, denied, act, o)) != 0)
		return r;
	who = action_principal(*act)->name;
	r = load_job(k, *act, j, ref, o);
	if (r == ERR_NOENT)
		return decide_deny(k, o, ERR_NOENT, denied, who, NULL, ref, NULL,
		    "unknown_job", MSG_NO_JOB);
	if (r != 0)
		return r;
	if (!visible(k, who, (*j)->tenant)) {
		r = decide_deny(k, o, ERR_NOENT, denied, who, (*j)->tenant, ref,
		    (*j)->scope_json, "not_assigned", MSG_NO_JOB);
		jobs_free(*j);
		*j = NULL;
		return r;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", (*j)->tenant);
	o->state = (*j)->state;
	return 0;
}

/* The cache id of a principal the ledger knows. */
static int
principal_id(struct jobs_ctx *k, const char *name, int64_t *id,
    struct jobs_outcome *o)
{
	struct control_principal p;
	int r;

	if ((r = control_principal_by_name(k->c, name, &p)) != 0) {
		decide_msg(o, "the control tables do not match the signed log: "
		    "principal \"%s\" is missing", name);
		return o->r = r == ERR_DB ? ERR_DB : ERR_TAMPER;
	}
	*id = p.id;
	return 0;
}

/* --- request --- */

/* One request being decided. */
struct req {
	struct action *act;
	const char *who;
	const char *tenant;
	const char *confirm;
	const char *idem;
	int passphrase;
	int allow_empty;
	int zstd;
	struct jobs_scope scope;
	int high;
	char *scope_json;
	const char **rcpt;		/* chosen recipients (borrowed) */
	size_t nrcpt;
	uint8_t digest[32];
	uint8_t retry_of[JOBS_HASH_LEN];
	int has_retry_of;
};

static void
req_clear(struct req *q)
{
	action_free(q->act);
	jobs_scope_clear(&q->scope);
	free(q->scope_json);
	free(q->rcpt);
}

static int
flag(const char *v, int *out)
{
	if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (strcmp(v, "1") == 0) {
		*out = 1;
		return 0;
	}
	return ERR_FORMAT;
}

/* --files needs the [files] table among the scope's tables (none listed:
 * the whole tenant, which has it). */
static int
files_in_scope(const struct config *cfg, const struct jobs_scope *s)
{
	const struct config_files *f = config_files(cfg);
	const struct config_table *t;
	char q[IDENT_QNAME_MAX];
	size_t i;

	if (f == NULL ||
	    (t = config_table_find(cfg, f->schema, f->table)) == NULL ||
	    config_table_qname(t, q, sizeof(q)) != 0)
		return 0;
	if (s->ntables == 0)
		return 1;
	for (i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i], q) == 0)
			return 1;
	return 0;
}

/* The request's fields, well formed, and the signer's right to export. */
static int
request_rights(struct jobs_ctx *k, const struct jobs_signed *a, struct req *q,
    struct jobs_outcome *o)
{
	const char *g;
	char why[256] = "";
	int global = 0, files = 0, r;

	if ((r = decide_verify(k, a, "export.request", "export.denied", &q->act,
	    o)) != 0)
		return r;
	q->who = action_principal(q->act)->name;
	q->tenant = action_get(q->act, "tenant");
	q->confirm = action_get(q->act, "confirm");
	q->idem = action_get(q->act, "idem");
	g = action_get(q->act, "global");
	if (q->tenant == NULL || q->tenant[0] == '\0' ||
	    strlen(q->tenant) > JOBS_TENANT_MAX || flag(g, &global) != 0 ||
	    flag(action_get(q->act, "passphrase"), &q->passphrase) != 0 ||
	    flag(action_get(q->act, "allow_empty"), &q->allow_empty) != 0 ||
	    flag(action_get(q->act, "zstd"), &q->zstd) != 0 ||
	    flag(action_get(q->act, "files"), &files) != 0)
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who, NULL,
		    NULL, NULL, "malformed", "the signed request is malformed");
	snprintf(o->tenant, sizeof(o->tenant), "%s", q->tenant);
	/* Capability and assignment first: a tenant this principal may not
	 * export and one that does not exist get the same words. */
	if (!ledger_may(k->ledger, q->who, CONTROL_CAP_EXPORT, q->tenant) ||
	    ledger_tenant_name(k->ledger, q->tenant) == NULL)
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who,
		    q->tenant, NULL, NULL, "not_assigned", "principal \"%s\" "
		    "may not export this tenant (not assigned, or no such "
		    "tenant)", q->who);
	if ((r = jobs_scope_build(k->cfg, action_get(q->act, "tables"),
	    action_get(q->act, "since"), action_get(q->act, "until"), global,
	    &q->scope, &q->high, why, sizeof(why))) != 0) {
		if (r == ERR_USAGE)
			return decide_deny(k, o, ERR_USAGE, "export.denied", q->who,
			    q->tenant, NULL, NULL, "scope", "%s", why);
		return o->r = r;
	}
	if (files && config_files(k->cfg) == NULL)
		return decide_deny(k, o, ERR_USAGE, "export.denied", q->who,
		    q->tenant, NULL, NULL, "scope", "files were asked for, but "
		    "the configuration has no [files] section");
	if (files && !files_in_scope(k->cfg, &q->scope))
		return decide_deny(k, o, ERR_USAGE, "export.denied", q->who,
		    q->tenant, NULL, NULL, "scope", "files were asked for, but "
		    "the files table is not among the tables exported");
	q->scope.include_files = files;
	if ((r = jobs_scope_json(&q->scope, &q->scope_json)) != 0)
		return o->r = r;
	if (q->scope.pii && !ledger_may(k->ledger, q->who,
	    CONTROL_CAP_EXPORT_PII, q->tenant))
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who,
		    q->tenant, NULL, q->scope_json, "pii", "principal \"%s\" "
		    "may not export personal data (tables marked pii); choose "
		    "--tables without them", q->who);
	/* the ledger replays it with the same function (ledger.c) */
	if ((r = sha256(q->digest, a->text, a->tlen)) != 0)
		return o->r = r;
	return 0;
}

/* The recipients: those the request names, each registered for the
 * tenant, or all of the tenant's; none in passphrase mode. */
static int
request_recipients(struct jobs_ctx *k, struct req *q, struct jobs_outcome *o)
{
	const char *list = action_get(q->act, "recipients");
	const char *const *reg;
	size_t n, i, len;
	const char *p, *c;

	reg = ledger_tenant_recipients(k->ledger, q->tenant, &n);
	if (q->passphrase) {
		if (list != NULL && list[0] != '\0')
			return decide_deny(k, o, ERR_USAGE, "export.denied", q->who,
			    q->tenant, NULL, q->scope_json, "recipients",
			    "a passphrase export names no recipients");
		return 0;
	}
	if ((q->rcpt = calloc(n ? n : 1, sizeof(*q->rcpt))) == NULL)
		return o->r = ERR_NOMEM;
	if (list == NULL || list[0] == '\0') {
		for (i = 0; i < n; i++)
			q->rcpt[q->nrcpt++] = reg[i];
	} else {
		for (p = list; ; p = c + 1) {
			c = strchr(p, ',');
			len = c != NULL ? (size_t)(c - p) : strlen(p);
			for (i = 0; i < n; i++)
				if (strlen(reg[i]) == len &&
				    memcmp(reg[i], p, len) == 0)
					break;
			if (i == n || q->nrcpt == n)
				return decide_deny(k, o, ERR_DENIED, "export.denied",
				    q->who, q->tenant, NULL, q->scope_json,
				    "recipients", "a recipient is not "
				    "registered for this tenant (an admin "
				    "registers them with `tenant recipients`)");
			q->rcpt[q->nrcpt++] = reg[i];
			if (c == NULL)
				break;
		}
	}
	if (q->nrcpt == 0)
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who,
		    q->tenant, NULL, q->scope_json, "recipients", "the tenant "
		    "has no registered recipients: an admin registers them "
		    "with `tenant recipients`, or request --passphrase");
	return 0;
}

/* High-risk scopes need "EXPORT <display name>", typed exactly. */
static int
request_confirm(struct jobs_ctx *k, struct req *q, struct jobs_outcome *o)
{
	const char *display = ledger_tenant_name(k->ledger, q->tenant);
	char *want = NULL;
	int r;

	if (!q->high)
		return 0;
	if (asprintf(&want, "EXPORT %s", display) < 0)
		return o->r = ERR_NOMEM;
	if (q->confirm == NULL || strcmp(q->confirm, want) != 0) {
		o->confirm_needed = q->confirm == NULL || q->confirm[0] == '\0';
		/* exact bytes: the requester sees what to type, look-alikes
		 * shown apart (cmd_request.c) */
		snprintf(o->confirm_name, sizeof(o->confirm_name), "%s",
		    display);
		r = decide_deny(k, o, ERR_DENIED, "export.denied", q->who, q->tenant,
		    NULL, q->scope_json, "confirmation", "%s",
		    o->confirm_needed ? "this export is high-risk: confirm it "
		    "by typing EXPORT and the tenant's display name (or "
		    "--confirm \"EXPORT <NAME>\")" : "the typed confirmation "
		    "does not match: type EXPORT and the tenant's display name "
		    "exactly");
		free(want);
		return r;
	}
	free(want);
	return decide_audit(k, "export.confirmed", q->who, q->tenant, NULL,
	    q->scope_json, json_pack("{s:b,s:b}", "pii", q->scope.pii,
	    "whole_tenant", q->scope.ntables == 0), o);
}

/* A request repeated under its idempotency key: the same job again, or
 * a refusal when the key was used for another scope. *done = 1 when it
 * answered. */
/* The same key again after the job failed: the same job, queued for a
 * fresh run (a request like any other for the rate limits). */
static int
request_requeue(struct jobs_ctx *k, const struct jobs_signed *a,
    struct req *q, const struct jobs_job *dup, struct jobs_outcome *o)
{
	json_t *d;
	int r;

	if ((r = queue_rate(k, q->who, q->tenant, q->scope_json, o)) != 0)
		return r;
	if ((r = jobs_requeue(k->c, dup->id_hash)) != 0)
		return decide_fail(o, r, "cannot queue the job again");
	d = decide_job_detail(dup->id_hash);
	json_object_set_new(d, "was", json_string("failed"));
	json_object_set_new(d, "error", json_string(dup->error ? dup->error :
	    ""));
	if ((r = decide_audit_signed(k, "export.requeued", q->who, q->tenant,
	    dup->ref, q->scope_json, d, a, o)) != 0)
		return r;
	o->duplicate = 1;
	o->state = JOBS_QUEUED;
	memcpy(o->id_hash, dup->id_hash, JOBS_HASH_LEN);
	decide_msg(o, "job %s had failed (%s); it is queued again with this "
	    "idempotency key", dup->ref, dup->error ? dup->error : "no reason");
	return o->r = 0;
}

static int
request_repeat(struct jobs_ctx *k, const struct jobs_signed *a,
    struct req *q, int64_t pid, int *done, struct jobs_outcome *o)
{
	struct jobs_job *dup = NULL;
	char *dj = NULL;
	int r;

	*done = 0;
	if (q->idem == NULL || q->idem[0] == '\0')
		return 0;
	r = jobs_get_by_idem(k->c, pid, q->idem, &dup);
	if (r == ERR_NOENT)
		return 0;
	if (r != 0)
		return decide_fail(o, r, "cannot read jobs");
	*done = 1;
	if ((r = jobs_scope_json(&dup->scope, &dj)) != 0) {
		o->r = r;
		goto out;
	}
	if (strcmp(dup->tenant, q->tenant) != 0 || strcmp(dj, q->scope_json)) {
		r = decide_deny(k, o, ERR_DENIED, "export.denied", q->who, q->tenant,
		    dup->ref, q->scope_json, "idempotency_conflict", "the "
		    "idempotency key was already used for another request");
		goto out;
	}
	if (dup->state == JOBS_FAILED) {
		r = request_requeue(k, a, q, dup, o);
		goto out;
	}
	if ((r = decide_audit(k, "export.request.repeated", q->who, q->tenant,
	    dup->ref, q->scope_json, json_pack("{s:s}", "state",
	    jobs_state_str(dup->state)), o)) != 0)
		goto out;
	o->duplicate = 1;
	o->state = dup->state;
	memcpy(o->id_hash, dup->id_hash, JOBS_HASH_LEN);
	decide_msg(o, "already requested with this idempotency key (job %s, %s)",
	    dup->ref, jobs_state_str(dup->state));
	r = o->r = 0;
 out:
	free(dj);
	jobs_free(dup);
	return r;
}

/* Creates the job and records the request that made it. */
static int
request_create(struct jobs_ctx *k, const struct jobs_signed *a,
    struct req *q, int64_t pid, struct jobs_outcome *o)
{
	const struct config_export *ce = config_export(k->cfg);
	struct jobs_new n;
	json_t *d, *ra;
	char why[256] = "", ref[JOBS_REF_HEX];
	size_t i;
	int r;

	memset(&n, 0, sizeof(n));
	/* a new id, unlike every other job's (a clash is a 2^-128 event) */
	do {
		jobs_id_new(o->id);
		jobs_id_hash(o->id, o->id_hash);
		jobs_ref(o->id_hash, ref);
	} while (ledger_job_named(k->ledger, ref) != NULL);
	o->state = q->high ? JOBS_AWAITING_APPROVAL : JOBS_QUEUED;
	memcpy(n.id_hash, o->id_hash, JOBS_HASH_LEN);
	n.tenant = q->tenant;
	n.scope = &q->scope;
	n.state = o->state;
	n.high_risk = q->high;
	n.requested_by = pid;
	n.expires_in = ce->expiry ? ce->expiry : 72 * 3600;
	n.max_fetches = (int)config_control(k->cfg)->max_downloads;
	n.idem_key = q->idem;
	memcpy(n.request_digest, q->digest, 32);
	n.recipients = q->rcpt;
	n.nrecipients = q->nrcpt;
	n.passphrase = q->passphrase;
	n.retry_of = q->has_retry_of ? q->retry_of : NULL;
	r = jobs_create(k->c, &n, why, sizeof(why));
	if (r == ERR_EXISTS)
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who,
		    q->tenant, NULL, q->scope_json, "idempotency_conflict",
		    "the idempotency key was already used");
	if (r != 0) {
		decide_msg(o, "cannot create the job: %s", why);
		return o->r = r;
	}
	if ((d = decide_job_detail(o->id_hash)) == NULL || (ra = json_array()) == NULL)
		return o->r = ERR_NOMEM;
	for (i = 0; i < q->nrcpt; i++)
		json_array_append_new(ra, json_string(q->rcpt[i]));
	json_object_set_new(d, "recipients", ra);
	json_object_set_new(d, "state", json_string(jobs_state_str(o->state)));
	json_object_set_new(d, "high_risk", json_boolean(q->high));
	json_object_set_new(d, "pii", json_boolean(q->scope.pii));
	json_object_set_new(d, "passphrase", json_boolean(q->passphrase));
	json_object_set_new(d, "allow_empty", json_boolean(q->allow_empty));
	json_object_set_new(d, "zstd", json_boolean(q->zstd));
	if (q->has_retry_of) {
		char rh[65];

		jobs_hash_hex(q->retry_of, rh);
		json_object_set_new(d, "retry_of", json_string(rh));
	}
	if ((r = decide_audit_signed(k, "export.requested", q->who, q->tenant, ref,
	    q->scope_json, d, a, o)) != 0)
		return r;
	decide_msg(o, "%s", q->high ? "the export is high-risk and awaits approval "
	    "by another principal" : "the export is queued");
	return o->r = 0;
}

/* 1 if the two lists hold the same recipients. */
static int
same_recipients(const char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i, k2;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		for (k2 = 0; k2 < nb && strcmp(a[i], b[k2]) != 0; k2++)
			;
		if (k2 == nb)
			return 0;
	}
	return 1;
}

/*
 * retry_of: the request retries an earlier job the signer can see, of
 * the same tenant, scope, recipients and options, that has finished one
 * way or another. It replaces that job once published.
 */
static int
request_retry_of(struct jobs_ctx *k, struct req *q, struct jobs_outcome *o)
{
	const char *hex = action_get(q->act, "retry_of");
	const struct ledger_job *old;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r;

	if (hex == NULL || *hex == '\0')
		return 0;
	/* the job is named as every command names it: its id */
	if ((old = ledger_job_named(k->ledger, hex)) == NULL ||
	    !visible(k, q->who, old->tenant))
		return decide_deny(k, o, ERR_NOENT, "export.denied", q->who,
		    q->tenant, NULL, q->scope_json, "unknown_job", MSG_NO_JOB);
	memcpy(q->retry_of, old->id_hash, JOBS_HASH_LEN);
	jobs_ref(q->retry_of, ref);
	if (strcmp(old->tenant, q->tenant) != 0 ||
	    strcmp(old->scope_json, q->scope_json) != 0 ||
	    old->passphrase != q->passphrase ||
	    old->allow_empty != q->allow_empty || old->zstd != q->zstd ||
	    !same_recipients(q->rcpt, q->nrcpt, old->recipients,
	    old->nrecipients))
		return decide_deny(k, o, ERR_USAGE, "export.denied", q->who,
		    q->tenant, ref, q->scope_json, "retry_scope", "a retry "
		    "exports exactly what job %s did: the same tenant, scope, "
		    "recipients and options", ref);
	if (old->state != JOBS_READY && old->state != JOBS_FAILED &&
	    old->state != JOBS_EXPIRED && old->state != JOBS_CANCELLED)
		return decide_deny(k, o, ERR_DENIED, "export.denied", q->who,
		    q->tenant, ref, q->scope_json, "state", "job %s is %s: "
		    "only a finished job is retried", ref,
		    jobs_state_str(old->state));
	/* the table row must agree with the log before it is replaced */
	if ((r = jobs_get(k->c, q->retry_of, &j)) != 0 ||
	    (r = ledger_job_check(k->ledger, j, NULL, 0)) != 0) {
		jobs_free(j);
		return decide_deny(k, o, ERR_TAMPER, "control.mismatch", q->who,
		    q->tenant, ref, NULL, "job_mismatch", "job %s cannot be "
		    "used: the control tables do not match the signed log", ref);
	}
	jobs_free(j);
	q->has_retry_of = 1;
	return 0;
}

int
jobs_request(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o)
{
	struct req q;
	int64_t pid = 0;
	int r, done = 0;

	decide_init(o);
	memset(&q, 0, sizeof(q));
	if ((r = request_rights(k, a, &q, o)) != 0 ||
	    (r = request_recipients(k, &q, o)) != 0 ||
	    (r = request_confirm(k, &q, o)) != 0 ||
	    (r = principal_id(k, q.who, &pid, o)) != 0 ||
	    (r = request_repeat(k, a, &q, pid, &done, o)) != 0 || done ||
	    (r = request_retry_of(k, &q, o)) != 0 ||
	    (r = queue_rate(k, q.who, q.tenant, q.scope_json, o)) != 0)
		goto out;
	r = request_create(k, a, &q, pid, o);
 out:
	if (r != 0)
		sodium_memzero(o->id, sizeof(o->id));
	req_clear(&q);
	return r;
}

/* --- approve, status, cancel, list --- */

int
jobs_approve(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o)
{
	const struct ledger_job *lj;
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	uint8_t want[32];
	char ref[JOBS_REF_HEX];
	const char *who, *rq;
	int64_t pid = 0;
	size_t got = 0;
	int r;

	if ((r = signed_job(k, a, "export.approve", "approve.denied", &act,
	    &j, ref, o)) != 0)
		goto out;
	who = action_principal(act)->name;
	lj = ledger_job(k->ledger, j->id_hash);
	if (!ledger_two_persons(k->ledger, lj->requester, who)) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "self_approval", "a request cannot be "
		    "approved by the person who made it (nor by a key its "
		    "person registered, or registered by it)");
		goto out;
	}
	if (!ledger_may(k->ledger, who, CONTROL_CAP_APPROVE, j->tenant)) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "not_approver", "principal \"%s\" may "
		    "not approve exports of this tenant", who);
		goto out;
	}
	if (j->state != JOBS_AWAITING_APPROVAL) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s, not awaiting "
		    "approval", ref, jobs_state_str(j->state));
		goto out;
	}
	rq = action_get(act, "request");
	if (rq == NULL || strlen(rq) != 64 || sodium_hex2bin(want,
	    sizeof(want), rq, 64, NULL, &got, NULL) != 0 || got != 32 ||
	    memcmp(want, lj->request_digest, 32) != 0) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "request_digest", "the approval names "
		    "another request than job %s's (see status)", ref);
		goto out;
	}
	if (ledger_probe_run(k->ledger, who) != NULL) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "probe", "a leak test's probe approves "
		    "nothing");
		goto out;
	}
	if ((r = principal_id(k, who, &pid, o)) != 0)
		goto out;
	r = jobs_set_approved(k->c, j->id_hash, pid);
	if (r == ERR_EXISTS) {
		r = decide_deny(k, o, ERR_DENIED, "approve.denied", who, j->tenant,
		    ref, j->scope_json, "state", "job %s changed state while "
		    "being approved", ref);
		goto out;
	}
	if (r != 0) {
		decide_fail(o, r, "cannot approve");
		goto out;
	}
	if ((r = decide_audit_signed(k, "export.approved", who, j->tenant, ref,
	    j->scope_json, decide_job_detail(j->id_hash), a, o)) != 0)
		goto out;
	o->state = JOBS_QUEUED;
	decide_msg(o, "job %s approved; it is queued", ref);
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_status(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o)
{
	struct action *act = NULL;
	char ref[JOBS_REF_HEX];
	int r;

	*out = NULL;
	if ((r = signed_job(k, a, "job.status", "status.denied", &act, out,
	    ref, o)) != 0)
		goto out;
	r = o->r = 0;
 out:
	action_free(act);
	return r;
}

int
jobs_cancel(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o)
{
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	const char *who;
	json_t *cd;
	int r, dr;

	if ((r = signed_job(k, a, "job.cancel", "cancel.denied", &act, &j,
	    ref, o)) != 0)
		goto out;
	who = action_principal(act)->name;
	/* The requester, or whoever may approve for the tenant. */
	if (!(j->requested_name != NULL && strcmp(j->requested_name,
	    who) == 0) && !ledger_may(k->ledger, who, CONTROL_CAP_APPROVE,
	    j->tenant)) {
		r = decide_deny(k, o, ERR_DENIED, "cancel.denied", who, j->tenant,
		    ref, j->scope_json, "not_allowed", "only the requester or "
		    "an approver of the tenant may cancel job %s", ref);
		goto out;
	}
	if (j->state != JOBS_QUEUED && j->state != JOBS_AWAITING_APPROVAL &&
	    j->state != JOBS_READY && j->state != JOBS_RUNNING) {
		r = decide_deny(k, o, ERR_DENIED, "cancel.denied", who, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s and cannot be "
		    "cancelled", ref, jobs_state_str(j->state));
		goto out;
	}
	if ((r = jobs_transition(k->c, j->id_hash, j->state, JOBS_CANCELLED,
	    NULL)) != 0) {
		if (r == ERR_EXISTS)
			r = decide_deny(k, o, ERR_DENIED, "cancel.denied", who,
			    j->tenant, ref, j->scope_json, "state", "job %s "
			    "changed state; try again", ref);
		else
			decide_fail(o, r, "cannot cancel");
		goto out;
	}
	cd = decide_job_detail(j->id_hash);
	json_object_set_new(cd, "was", json_string(jobs_state_str(j->state)));
	if ((r = decide_audit_signed(k, "export.cancelled", who, j->tenant, ref,
	    j->scope_json, cd, a, o)) != 0)
		goto out;
	if (j->state == JOBS_READY && j->archive != NULL) {
		json_t *d = decide_job_detail(j->id_hash);

		dr = jobs_archive_delete(j->archive);
		json_object_set_new(d, "archive", json_string(j->archive));
		if ((r = decide_audit(k, dr == 0 ? "export.deleted" :
		    "export.delete.failed", who, j->tenant, ref, NULL, d,
		    o)) != 0)
			goto out;
	}
	o->state = JOBS_CANCELLED;
	/* A running export learns it at its next heartbeat and stops. */
	decide_msg(o, "job %s cancelled%s", ref, j->state == JOBS_RUNNING ?
	    "; its export stops within seconds" : "");
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_list_for(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job ***out, size_t *n, struct jobs_outcome *o)
{
	struct action *act = NULL;
	struct jobs_job **v = NULL;
	const char *tenant, *who;
	size_t i, m = 0, got = 0;
	int64_t pid = 0;
	int r;

	decide_init(o);
	*out = NULL;
	*n = 0;
	if ((r = decide_verify(k, a, "job.list", "list.denied", &act, o)) != 0)
		goto out;
	who = action_principal(act)->name;
	tenant = action_get(act, "tenant");
	if (tenant != NULL && tenant[0] != '\0') {
		snprintf(o->tenant, sizeof(o->tenant), "%s", tenant);
		if (!visible(k, who, tenant)) {
			r = decide_deny(k, o, ERR_DENIED, "list.denied", who, tenant,
			    NULL, NULL, "not_assigned", "principal \"%s\" may "
			    "not see jobs of this tenant (not assigned, or no "
			    "such tenant)", who);
			goto out;
		}
	} else
		tenant = NULL;
	if ((r = principal_id(k, who, &pid, o)) != 0)
		goto out;
	if ((r = jobs_list(k->c, pid, tenant, 100, &v, &got)) != 0) {
		decide_fail(o, r, "cannot list jobs");
		goto out;
	}
	/* The tables chose the rows; the log decides which may be shown. */
	for (i = 0; i < got; i++) {
		if (visible(k, who, v[i]->tenant) &&
		    ledger_job_check(k->ledger, v[i], NULL, 0) == 0)
			v[m++] = v[i];
		else
			jobs_free(v[i]);
	}
	*out = v;
	*n = m;
	v = NULL;
	r = o->r = 0;
 out:
	jobs_list_free(v, got);
	action_free(act);
	return r;
}

/* --- run --- */

/* The rights a run needs, all from the log, for the runner and for the
 * job's requester and approver as they are now. */
static int
start_rights(struct jobs_ctx *k, const char *who, const struct jobs_job *j,
    const char *ref, struct jobs_outcome *o)
{
	const struct ledger_job *lj = ledger_job(k->ledger, j->id_hash);

	if (!may_export(k, who, j->tenant, j->scope.pii))
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "not_allowed", "principal \"%s\" may not run "
		    "this export%s", who, ledger_may(k->ledger, who,
		    CONTROL_CAP_EXPORT, j->tenant) ? " (it reads tables marked "
		    "pii)" : "");
	if (!may_export(k, lj->requester, j->tenant, j->scope.pii))
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "requester_revoked", "the requester of job "
		    "%s may no longer export this scope", ref);
	if (lj->passphrase && strcmp(who, lj->requester) != 0)
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "passphrase_runner", "job %s is encrypted "
		    "with a passphrase that only its requester is given: the "
		    "requester runs it", ref);
	if (j->state == JOBS_AWAITING_APPROVAL)
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "awaiting_approval", "job %s awaits "
		    "approval by another principal", ref);
	if (j->high_risk && (lj->approver == NULL ||
	    !ledger_may(k->ledger, lj->approver, CONTROL_CAP_APPROVE,
	    j->tenant)))
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "approval_revoked", "job %s has no valid "
		    "approval", ref);
	if (j->state != JOBS_QUEUED)
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "state", "job %s is %s, not queued", ref,
		    jobs_state_str(j->state));
	if (ledger_probe_run(k->ledger, who) != NULL ||
	    ledger_probe_run(k->ledger, lj->requester) != NULL)
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "probe", "a leak test's probe runs nothing, "
		    "and its jobs never run");
	return 0;
}

int
jobs_start_check(struct jobs_ctx *k, const struct jobs_job *j, char *why,
    size_t whylen)
{
	const struct ledger_job *lj = ledger_job(k->ledger, j->id_hash);
	struct age_recipient *rc = NULL;
	struct jobs_scope s;
	char *tables = NULL, *t;
	size_t i, n = 0;
	int hr, r;

	why[0] = '\0';
	for (i = 0; i < j->scope.ntables; i++)
		n += strlen(j->scope.tables[i]) + 1;
	if ((tables = calloc(1, n + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	for (i = 0, t = tables; i < j->scope.ntables; i++)
		t += sprintf(t, "%s%s", i ? "," : "", j->scope.tables[i]);
	r = jobs_scope_build(k->cfg, tables, j->scope.since, j->scope.until,
	    j->scope.include_global, &s, &hr, why, whylen);
	/* rules that tightened since the request apply to it */
	if (r == 0 && ((s.pii && !j->scope.pii) || (hr && !j->high_risk))) {
		r = ERR_CONFIG;
		snprintf(why, whylen, "its tables are now marked %s",
		    s.pii && !j->scope.pii ? "pii" : "high-risk");
	}
	jobs_scope_clear(&s);
	free(tables);
	for (i = 0; r == 0 && lj != NULL && i < lj->nrecipients; i++) {
		if ((r = age_recipient_parse(lj->recipients[i], &rc)) != 0)
			snprintf(why, whylen, "recipient %zu is not an age "
			    "recipient", i + 1);
		age_recipient_free(rc);
		rc = NULL;
	}
	return r;
}

/* A job that cannot run as it was requested is refused, not claimed. */
static int
start_valid(struct jobs_ctx *k, const char *who, const struct jobs_job *j,
    const char *ref, struct jobs_outcome *o)
{
	char why[256];
	int r = jobs_start_check(k, j, why, sizeof(why));

	if (r == ERR_NOMEM)
		return decide_fail(o, r, "out of memory");
	if (r == 0)
		return 0;
	return decide_deny(k, o, ERR_CONFIG, "run.denied", who, j->tenant, ref,
	    j->scope_json, "scope", "job %s cannot run as it was requested: %s "
	    "(the service's configuration changed since; request it again)",
	    ref, why);
}

/* Claims the job under a new lease and records the start with the
 * runner's signed action. */
static int
start_claim(struct jobs_ctx *k, const char *who, struct jobs_job *j,
    const char *ref, const struct jobs_signed *a, struct jobs_outcome *o)
{
	const struct config_control *cc = config_control(k->cfg);
	char holder[JOBS_HOLDER_MAX + 1], lh[2 * JOBS_LEASE_LEN + 1];
	uint8_t lease[JOBS_LEASE_LEN];
	json_t *d;
	int r;

	randombytes_buf(lease, sizeof(lease));
	snprintf(holder, sizeof(holder), "%s (run, %s)", who,
	    k->peer != NULL ? k->peer : "local");
	r = jobs_claim(k->c, j->id_hash, (int)cc->max_attempts, lease, holder,
	    NULL);
	if (r == ERR_EXISTS)
		return decide_deny(k, o, ERR_DENIED, "run.denied", who, j->tenant, ref,
		    j->scope_json, "claimed", "job %s is being run by another "
		    "worker, or is no longer queued", ref);
	if (r == ERR_LIMIT) {
		d = decide_job_detail(j->id_hash);
		json_object_set_new(d, "error", json_string("too many "
		    "attempts"));
		if ((r = decide_audit(k, "export.failed", who, j->tenant, ref,
		    j->scope_json, d, o)) != 0)
			return r;
		decide_msg(o, "job %s failed: too many attempts", ref);
		o->state = JOBS_FAILED;
		return o->r = ERR_LIMIT;
	}
	if (r != 0) {
		decide_msg(o, "cannot claim job %s: %s", ref, err_str(r));
		return o->r = r;
	}
	sodium_bin2hex(lh, sizeof(lh), lease, sizeof(lease));
	d = decide_job_detail(j->id_hash);
	json_object_set_new(d, "attempt", json_integer(j->attempts + 1));
	json_object_set_new(d, "lease", json_string(lh));
	json_object_set_new(d, "worker", json_string(holder));
	if ((r = decide_audit_signed(k, "export.started", who, j->tenant, ref,
	    j->scope_json, d, a, o)) != 0)
		return r;
	j->state = o->state = JOBS_RUNNING;
	j->attempts++;
	memcpy(j->lease, lease, sizeof(lease));
	j->has_lease = 1;
	return 0;
}

int
jobs_start(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o)
{
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	const char *who;
	int r;

	*out = NULL;
	/* Jobs whose holder died free their place (and may be this one). */
	decide_init(o);
	if ((r = queue_reap(k, NULL, o)) != 0)
		goto out;
	if ((r = signed_job(k, a, "export.run", "run.denied", &act, &j, ref,
	    o)) != 0)
		goto out;
	who = action_principal(act)->name;
	if ((r = start_rights(k, who, j, ref, o)) != 0 ||
	    (r = start_valid(k, who, j, ref, o)) != 0 ||
	    (r = queue_gate(k, who, j, o)) != 0 ||
	    (r = start_claim(k, who, j, ref, a, o)) != 0)
		goto out;
	*out = j;
	j = NULL;
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

/* --- finish --- */

static int
finish_ready(struct jobs_ctx *k, const struct jobs_job *j,
    const char *principal, const struct jobs_result *res,
    struct jobs_outcome *o)
{
	char dhex[65], lh[2 * JOBS_LEASE_LEN + 1], *b64 = NULL;
	json_t *d;
	size_t blen;
	int r;

	if ((r = jobs_set_ready(k->c, j->id_hash, res->archive, res->digest,
	    res->receipt, res->receipt_len, res->expires)) != 0) {
		decide_msg(o, "cannot mark job %s ready: %s", j->ref, err_str(r));
		return o->r = r;
	}
	sodium_bin2hex(dhex, sizeof(dhex), res->digest, 32);
	d = decide_job_detail(j->id_hash);
	sodium_bin2hex(lh, sizeof(lh), res->lease, JOBS_LEASE_LEN);
	json_object_set_new(d, "lease", json_string(lh));
	json_object_set_new(d, "archive", json_string(res->archive));
	json_object_set_new(d, "manifest_digest", json_string(dhex));
	json_object_set_new(d, "records", json_integer((json_int_t)
	    res->records));
	json_object_set_new(d, "expires", json_integer((json_int_t)
	    res->expires));
	/* The receipt: the manifest, which holds no row data. A very large
	 * one stays in the job record only. */
	blen = sodium_base64_encoded_len(res->receipt_len,
	    sodium_base64_VARIANT_ORIGINAL);
	if (res->receipt_len > 0 && blen < AUDIT_DETAIL_MAX - 1024) {
		if ((b64 = malloc(blen)) == NULL) {
			json_decref(d);
			return o->r = ERR_NOMEM;
		}
		sodium_bin2base64(b64, blen, res->receipt, res->receipt_len,
		    sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(d, "receipt", json_string(b64));
		free(b64);
	} else
		json_object_set_new(d, "receipt", json_string("in the job "
		    "record (too large for the log)"));
	if ((r = decide_audit(k, "export.completed", principal, j->tenant, j->ref,
	    j->scope_json, d, o)) != 0)
		return r;
	o->state = JOBS_READY;
	decide_msg(o, "job %s is ready", j->ref);
	return o->r = 0;
}

/*
 * The job the attempt ran is no longer its own (cancelled, taken back):
 * what it left in the outbox goes, and nothing else changes.
 */
static int
finish_lost(struct jobs_ctx *k, const struct jobs_job *j,
    const struct ledger_job *lj, const struct jobs_result *res,
    struct jobs_outcome *o)
{
	const char *outbox = config_export(k->cfg)->outbox;
	char lh[2 * JOBS_LEASE_LEN + 1];
	json_t *d;
	int files = 0, r;

	if (res->lease != NULL && outbox != NULL)
		(void)jobs_lease_files_delete(outbox, res->lease, 0, &files);
	d = decide_job_detail(j->id_hash);
	if (res->lease != NULL) {
		sodium_bin2hex(lh, sizeof(lh), res->lease, JOBS_LEASE_LEN);
		json_object_set_new(d, "lease", json_string(lh));
	}
	json_object_set_new(d, "state", json_string(jobs_state_str(
	    lj->state)));
	json_object_set_new(d, "files_removed", json_integer(files));
	if ((r = decide_audit(k, "export.discarded", NULL, j->tenant, j->ref,
	    j->scope_json, d, o)) != 0)
		return r;
	o->state = lj->state;
	decide_msg(o, "job %s was %s while this attempt ran; nothing was "
	    "published", j->ref, lj->state == JOBS_CANCELLED ? "cancelled" :
	    "taken over");
	return o->r = ERR_INTERRUPTED;
}

/* The job this one retried is superseded: its archive is deleted. */
static int
finish_supersede(struct jobs_ctx *k, const struct ledger_job *lj,
    const char *principal, struct jobs_outcome *o)
{
	const struct ledger_job *old = ledger_job(k->ledger, lj->retry_of);
	struct jobs_job *oj = NULL;
	char by[65];
	json_t *d;
	int r, dr = 0;

	if (old == NULL || (old->state != JOBS_READY &&
	    old->state != JOBS_FAILED && old->state != JOBS_EXPIRED))
		return 0;
	if ((r = jobs_get(k->c, lj->retry_of, &oj)) != 0)
		return decide_fail(o, r, "cannot read the retried job");
	if (old->state == JOBS_READY && oj->archive != NULL) {
		dr = jobs_archive_delete(oj->archive);
		d = decide_job_detail(oj->id_hash);
		json_object_set_new(d, "archive", json_string(oj->archive));
		json_object_set_new(d, "by", json_string("retry"));
		if ((r = decide_audit(k, dr == 0 ? "export.deleted" :
		    "export.delete.failed", principal, oj->tenant, oj->ref, NULL,
		    d, o)) != 0 || dr != 0)
			goto out;	/* kept ready: sweep deletes it */
	}
	if ((r = jobs_set_superseded(k->c, oj->id_hash, old->state,
	    lj->id_hash)) != 0) {
		r = decide_fail(o, r, "cannot mark the retried job superseded");
		goto out;
	}
	jobs_hash_hex(lj->id_hash, by);
	d = decide_job_detail(oj->id_hash);
	json_object_set_new(d, "by", json_string(by));
	json_object_set_new(d, "was", json_string(jobs_state_str(old->state)));
	r = decide_audit(k, "export.superseded", principal, oj->tenant, oj->ref,
	    oj->scope_json, d, o);
 out:
	jobs_free(oj);
	return r;
}

/* Where a failed attempt leaves the job, and the row that says so. */
static enum jobs_state
finish_to(const struct jobs_ctx *k, const struct jobs_job *j,
    const struct jobs_result *res, const char **event, const char **reason)
{
	*reason = NULL;
	if (res->r == ERR_LIMIT) {
		*event = "export.held";
		return JOBS_AWAITING_APPROVAL;
	}
	if (res->abandoned) {
		*event = "export.retry";
		*reason = res->abandoned == JOBS_ABANDONED ? "abandoned" :
		    "worker_gone";
		return JOBS_QUEUED;
	}
	if (res->transient && (uint64_t)j->attempts <
	    config_control(k->cfg)->max_attempts) {
		*event = "export.retry";
		*reason = "transient";
		return JOBS_QUEUED;
	}
	*event = "export.failed";
	return JOBS_FAILED;
}

/* A failed, held or abandoned attempt. */
static int
finish_other(struct jobs_ctx *k, const struct jobs_job *j,
    const char *principal, const struct jobs_result *res,
    struct jobs_outcome *o)
{
	const char *event, *reason;
	enum jobs_state to = finish_to(k, j, res, &event, &reason);
	uint64_t wait = reason != NULL && strcmp(reason, "transient") == 0 ?
	    queue_backoff(k->cfg, j->attempts) : 0;
	char lh[2 * JOBS_LEASE_LEN + 1];
	json_t *d;
	int r;

	if ((r = jobs_transition(k->c, j->id_hash, JOBS_RUNNING, to,
	    res->error ? res->error : err_str(res->r))) != 0 ||
	    (wait > 0 && (r = jobs_set_backoff(k->c, j->id_hash, wait)) != 0) ||
	    (res->abandoned == JOBS_ABANDONED &&
	    (r = jobs_give_back(k->c, j->id_hash)) != 0 && r != ERR_EXISTS)) {
		decide_msg(o, "cannot record the outcome of job %s: %s", j->ref,
		    err_str(r));
		return o->r = r;
	}
	d = decide_job_detail(j->id_hash);
	sodium_bin2hex(lh, sizeof(lh), res->lease, JOBS_LEASE_LEN);
	json_object_set_new(d, "lease", json_string(lh));
	if (to == JOBS_AWAITING_APPROVAL) {
		json_object_set_new(d, "reason", json_string(
		    "over_size_threshold"));
		json_object_set_new(d, "records", json_integer((json_int_t)
		    res->records));
	} else {
		json_object_set_new(d, "error", json_string(res->error ?
		    res->error : ""));
		json_object_set_new(d, "code", json_string(err_str(res->r)));
		if (reason != NULL)
			json_object_set_new(d, "reason", json_string(reason));
		if (wait > 0)
			json_object_set_new(d, "retry_in", json_integer(
			    (json_int_t)wait));
	}
	if ((r = decide_audit(k, event, principal, j->tenant, j->ref,
	    j->scope_json, d, o)) != 0)
		return r;
	o->state = to;
	o->retry_after = wait;
	decide_msg(o, "job %s %s", j->ref, to == JOBS_AWAITING_APPROVAL ?
	    "awaits approval (over the size threshold)" : to == JOBS_FAILED ?
	    "failed" : res->abandoned ? "went back to the queue" :
	    "will be retried");
	return o->r = 0;
}

int
jobs_finish(struct jobs_ctx *k, const uint8_t id_hash[JOBS_HASH_LEN],
    const char *principal, const struct jobs_result *res,
    struct jobs_outcome *o)
{
	const struct ledger_job *lj;
	struct jobs_job *j = NULL;
	int r;

	decide_init(o);
	memcpy(o->id_hash, id_hash, JOBS_HASH_LEN);
	if ((r = jobs_get(k->c, id_hash, &j)) != 0) {
		decide_fail(o, r, "cannot read the job");
		goto out;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", j->tenant);
	lj = ledger_job(k->ledger, id_hash);
	if (lj == NULL || ledger_job_check(k->ledger, j, NULL, 0) != 0) {
		r = decide_deny(k, o, ERR_TAMPER, "control.mismatch", principal,
		    j->tenant, j->ref, NULL, "job_mismatch", "job %s cannot be "
		    "used: the control tables do not match the signed log",
		    j->ref);
		goto out;
	}
	/* Only the holder of the job's lease may say how it ended. */
	if (lj->state != JOBS_RUNNING || !lj->has_lease || res->lease == NULL ||
	    sodium_memcmp(lj->lease, res->lease, JOBS_LEASE_LEN) != 0) {
		r = finish_lost(k, j, lj, res, o);
		goto out;
	}
	if (res->r == 0) {
		if ((r = finish_ready(k, j, principal, res, o)) == 0 &&
		    lj->has_retry_of)
			r = finish_supersede(k, lj, principal, o);
		goto out;
	}
	r = finish_other(k, j, principal, res, o);
 out:
	jobs_free(j);
	return r;
}

/* --- fetch --- */

/* Counts the download, or refuses it with the reason. */
static int
fetch_count(struct jobs_ctx *k, const char *who, const struct jobs_job *j,
    const char *ref, struct jobs_outcome *o)
{
	int r = jobs_count_fetch(k->c, j->id_hash);

	switch (r) {
	case 0:
		return 0;
	case ERR_EXISTS:
		return decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s: nothing to "
		    "fetch", ref, jobs_state_str(j->state));
	case ERR_EXPIRED:
		return decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, "expired", "the export of job %s has "
		    "expired", ref);
	case ERR_LIMIT:
		return decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, "download_limit", "job %s was already "
		    "fetched %d times, the limit", ref, j->max_fetches);
	default:
		return decide_fail(o, r, "cannot count the download");
	}
}

int
jobs_fetch(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o)
{
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	const char *who;
	int r, ok, pii_ok;

	*out = NULL;
	if ((r = signed_job(k, a, "export.fetch", "fetch.denied", &act, &j,
	    ref, o)) != 0)
		goto out;
	who = action_principal(act)->name;
	ok = ledger_may(k->ledger, who, CONTROL_CAP_FETCH, j->tenant);
	pii_ok = !j->scope.pii || ledger_may(k->ledger, who,
	    CONTROL_CAP_EXPORT_PII, j->tenant);
	if (!ok || !pii_ok) {
		r = decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, !ok ? "not_allowed" : "pii",
		    "principal \"%s\" may not fetch this export%s", who,
		    !ok ? "" : " (it holds tables marked pii)");
		goto out;
	}
	if (ledger_probe_run(k->ledger, who) != NULL) {
		r = decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, "probe", "a leak test's probe fetches "
		    "nothing");
		goto out;
	}
	if ((r = fetch_count(k, who, j, ref, o)) != 0)
		goto out;
	if (j->archive == NULL) {
		r = decide_deny(k, o, ERR_DENIED, "fetch.denied", who, j->tenant,
		    ref, j->scope_json, "no_archive", "job %s has no archive",
		    ref);
		goto out;
	}
	if ((r = decide_audit_signed(k, "fetch.started", who, j->tenant, ref,
	    j->scope_json, decide_job_detail(j->id_hash), a, o)) != 0)
		goto out;
	j->fetch_count++;
	*out = j;
	j = NULL;
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_fetch_done(struct jobs_ctx *k, const struct jobs_job *j,
    const char *principal, int rr, const char *to, struct jobs_outcome *o)
{
	json_t *d;
	int r;

	if (rr != 0 && (r = jobs_uncount_fetch(k->c, j->id_hash)) != 0 &&
	    r != ERR_EXISTS)
		return decide_fail(o, r, "cannot give the download back");
	d = decide_job_detail(j->id_hash);
	json_object_set_new(d, "to", json_string(to));
	json_object_set_new(d, "count", json_integer(j->fetch_count -
	    (rr != 0)));
	json_object_set_new(d, "result", json_string(err_str(rr)));
	r = decide_audit(k, rr == 0 ? "export.fetched" : "fetch.failed", principal,
	    j->tenant, j->ref, j->scope_json, d, o);
	if (r == 0)
		o->r = rr;
	return r;
}

/* --- sweep --- */

static int
sweep_one(struct jobs_ctx *k, const struct jobs_job *j, int *expired,
    int *failed, struct jobs_changes *ch, struct jobs_outcome *o)
{
	json_t *d;
	int r, dr;

	if (j->archive != NULL && j->state == JOBS_READY) {
		dr = jobs_archive_delete(j->archive);
		d = decide_job_detail(j->id_hash);
		json_object_set_new(d, "archive", json_string(j->archive));
		json_object_set_new(d, "by", json_string("sweep"));
		if ((r = decide_audit(k, dr == 0 ? "export.deleted" :
		    "export.delete.failed", NULL, j->tenant, j->ref, NULL, d,
		    o)) != 0)
			return r;
		if (dr != 0) {
			/* Kept ready so the next sweep tries again. */
			(*failed)++;
			return 0;
		}
	}
	r = jobs_transition(k->c, j->id_hash, j->state, JOBS_EXPIRED, NULL);
	if (r == ERR_EXISTS)
		return 0;	/* changed meanwhile; next sweep */
	if (r != 0)
		return decide_fail(o, r, "cannot expire a job");
	d = decide_job_detail(j->id_hash);
	json_object_set_new(d, "was", json_string(jobs_state_str(j->state)));
	if ((r = decide_audit(k, "export.expired", NULL, j->tenant, j->ref, NULL, d,
	    o)) != 0)
		return r;
	(*expired)++;
	if (ch != NULL && ch->nchanged < JOBS_CHANGED_MAX) {
		memcpy(ch->changed[ch->nchanged].id_hash, j->id_hash,
		    JOBS_HASH_LEN);
		ch->changed[ch->nchanged++].state = JOBS_EXPIRED;
	}
	return 0;
}

int
jobs_sweep(struct jobs_ctx *k, int *expired, int *failed,
    struct jobs_changes *ch, char *err, size_t errlen)
{
	struct jobs_job **v = NULL;
	struct jobs_outcome o;
	size_t n = 0, i;
	int r;

	*expired = *failed = 0;
	decide_init(&o);
	if ((r = jobs_list_expired(k->c, 10000, &v, &n)) != 0) {
		snprintf(err, errlen, "cannot list expired jobs: %s",
		    err_str(r));
		return r;
	}
	for (i = 0; i < n; i++) {
		/* A row the log does not back is left for a person. */
		if (ledger_job_check(k->ledger, v[i], NULL, 0) != 0)
			continue;
		if ((r = sweep_one(k, v[i], expired, failed, ch, &o)) != 0) {
			snprintf(err, errlen, "%s", o.msg);
			goto out;
		}
	}
	r = 0;
 out:
	jobs_list_free(v, n);
	return r;
}
