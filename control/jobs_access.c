/*
 * jobs_access.c: who may request, approve, run, see, cancel and fetch an
 * export job. Every outcome, allowed or refused, is audited here, so that
 * no command can forget to.
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
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "config.h"
#include "control.h"
#include "err.h"
#include "jobs.h"

#define MSG_NO_JOB	"no such job"

static void
outf(struct jobs_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
outf(struct jobs_outcome *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
}

static void
outcome_init(struct jobs_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->r = ERR_INTERNAL;
}

/*
 * Appends one event. detail is consumed. A failure to audit fails the
 * whole step: nothing happens that the log does not show.
 */
static int
audit(PGconn *c, const char *event, const char *principal,
    const char *tenant, const char *ref, const char *scope, json_t *detail,
    struct jobs_outcome *o)
{
	struct audit_event e;
	char err[256], *dj = NULL;
	int r;

	memset(&e, 0, sizeof(e));
	e.event = event;
	e.principal = principal != NULL && principal[0] ? principal : NULL;
	e.tenant = tenant != NULL && tenant[0] ? tenant : NULL;
	e.job = ref != NULL && ref[0] ? ref : NULL;
	e.scope = scope;
	if (detail != NULL &&
	    (dj = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(detail);
		return ERR_NOMEM;
	}
	json_decref(detail);
	e.detail_json = dj;
	err[0] = '\0';
	r = audit_append(c, &e, err, sizeof(err));
	free(dj);
	if (r != 0 && o != NULL) {
		outf(o, "cannot write the audit log: %s", err[0] ? err :
		    err_str(r));
		o->r = r;
	}
	return r;
}

/* Refusal: audit it, then set the outcome (unless auditing failed). */
static int
deny(PGconn *c, struct jobs_outcome *o, int code, const char *event,
    const char *principal, const char *tenant, const char *ref,
    const char *scope, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

static int
deny(PGconn *c, struct jobs_outcome *o, int code, const char *event,
    const char *principal, const char *tenant, const char *ref,
    const char *scope, const char *reason, const char *fmt, ...)
{
	va_list ap;
	int r;

	r = audit(c, event, principal, tenant, ref, scope,
	    json_pack("{s:s}", "reason", reason), o);
	if (r != 0)
		return r;
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	o->r = code;
	return code;
}

/*
 * Verifies a signed action of the expected kind; refusals are audited as
 * deny_event. On success *out is the action.
 */
static int
verify(PGconn *c, const struct config *cfg, const struct jobs_signed *a,
    const char *kind, const char *deny_event, struct action **out,
    struct jobs_outcome *o)
{
	const struct config_control *k = config_control(cfg);
	struct action *pa = NULL;
	const char *claimed = NULL, *reason;
	char why[256] = "";
	int r;

	*out = NULL;
	r = action_verify(c, a->text, a->tlen, a->sig, a->slen,
	    (uint64_t)time(NULL), k->max_request_age, out, why, sizeof(why));
	if (r == 0 && strcmp(action_kind(*out), kind) != 0) {
		action_free(*out);
		*out = NULL;
		r = ERR_FORMAT;
	}
	if (r == 0) {
		snprintf(o->principal, sizeof(o->principal), "%s",
		    action_principal(*out)->name);
		return 0;
	}
	if (r == ERR_DB || r == ERR_NOMEM) {
		outf(o, "cannot check the signed request: %s", why[0] ? why :
		    err_str(r));
		o->r = r;
		return r;
	}
	/* What the unverified text claims, for the operators' record. */
	if (action_parse(a->text, a->tlen, &pa) == 0)
		claimed = action_get(pa, "tenant");
	switch (r) {
	case ERR_DENIED:
		reason = "unknown_principal";
		break;
	case ERR_SIG_INVALID:
		reason = "bad_signature";
		break;
	case ERR_EXPIRED:
		reason = "stale";
		break;
	case ERR_EXISTS:
		reason = "replay";
		break;
	default:
		reason = "malformed";
		break;
	}
	r = deny(c, o, ERR_DENIED, deny_event, NULL, claimed, NULL, NULL,
	    reason, "%s",
	    r == ERR_DENIED ? "the key is not registered to an enabled "
	    "principal" :
	    r == ERR_SIG_INVALID ? "the signature does not verify" :
	    r == ERR_EXPIRED ? "the signed request is stale (check the "
	    "clock; requests are valid for [control] max_request_age)" :
	    r == ERR_EXISTS ? "the signed request was already used (replay)" :
	    "the signed request is malformed");
	action_free(pa);
	return r;
}

static int
allowed(PGconn *c, int64_t pid, const char *cap, const char *tenant,
    int *ok, struct jobs_outcome *o)
{
	int r = control_allowed(c, pid, cap, tenant, ok);

	if (r != 0) {
		outf(o, "cannot check permissions: %s", err_str(r));
		o->r = r;
	}
	return r;
}

/* Any capability on the job's tenant makes its jobs visible. */
static int
visible(PGconn *c, int64_t pid, const char *tenant, int *vis,
    struct jobs_outcome *o)
{
	static const char *const caps[] = { CONTROL_CAP_EXPORT,
	    CONTROL_CAP_APPROVE, CONTROL_CAP_FETCH };
	size_t i;
	int r;

	*vis = 0;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]) && !*vis; i++)
		if ((r = allowed(c, pid, caps[i], tenant, vis, o)) != 0)
			return r;
	return 0;
}

/* The job named by the action's "job" field; ERR_NOENT when malformed or
 * unknown (the same answer). */
static int
load_job(PGconn *c, const struct action *act, uint8_t hash[JOBS_HASH_LEN],
    char ref[JOBS_REF_HEX], struct jobs_job **out, struct jobs_outcome *o)
{
	uint8_t id[JOBS_ID_LEN];
	int r;

	*out = NULL;
	ref[0] = '\0';
	if (jobs_id_parse(action_get(act, "job"), id) != 0)
		return ERR_NOENT;
	jobs_id_hash(id, hash);
	sodium_memzero(id, sizeof(id));
	jobs_ref(hash, ref);
	memcpy(o->id_hash, hash, JOBS_HASH_LEN);
	r = jobs_get(c, hash, out);
	if (r != 0 && r != ERR_NOENT) {
		outf(o, "cannot read the job: %s", err_str(r));
		o->r = r;
	}
	return r;
}

/*
 * Loads the job and checks that the acting principal may see it: an
 * unknown id and an invisible job give the same refusal.
 */
static int
job_for(PGconn *c, const struct action *act, const char *deny_event,
    struct jobs_job **out, char ref[JOBS_REF_HEX], struct jobs_outcome *o)
{
	const struct control_principal *p = action_principal(act);
	uint8_t hash[JOBS_HASH_LEN];
	int r, vis = 0;

	r = load_job(c, act, hash, ref, out, o);
	if (r == ERR_NOENT)
		return deny(c, o, ERR_NOENT, deny_event, p->name, NULL, ref,
		    NULL, "unknown_job", MSG_NO_JOB);
	if (r != 0)
		return r;
	if ((r = visible(c, p->id, (*out)->tenant, &vis, o)) != 0)
		goto fail;
	if (!vis) {
		r = deny(c, o, ERR_NOENT, deny_event, p->name, (*out)->tenant,
		    ref, (*out)->scope_json, "not_assigned", MSG_NO_JOB);
		goto fail;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", (*out)->tenant);
	o->state = (*out)->state;
	return 0;
 fail:
	jobs_free(*out);
	*out = NULL;
	return r;
}

/*
 * The start of every command on one job: the signed action of this kind
 * verified, then the job it names, visible to the signer. Refusals are
 * audited as `denied`.
 */
static int
signed_job(PGconn *c, const struct config *cfg, const struct jobs_signed *a,
    const char *kind, const char *denied, struct action **act,
    struct jobs_job **j, char ref[JOBS_REF_HEX], struct jobs_outcome *o)
{
	int r;

	outcome_init(o);
	if ((r = verify(c, cfg, a, kind, denied, act, o)) != 0)
		return r;
	return job_for(c, *act, denied, j, ref, o);
}

/* Export and (for a PII scope) PII capabilities of pid on the tenant. */
static int
may_export(PGconn *c, int64_t pid, const char *tenant, int pii, int *ok,
    int *pii_ok, struct jobs_outcome *o)
{
	int r;

	*pii_ok = 1;
	if ((r = allowed(c, pid, CONTROL_CAP_EXPORT, tenant, ok, o)) != 0)
		return r;
	if (*ok && pii)
		return allowed(c, pid, CONTROL_CAP_EXPORT_PII, tenant, pii_ok, o);
	return 0;
}

int
jobs_request(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_outcome *o)
{
	const struct config_export *ce = config_export(cfg);
	const struct config_control *k = config_control(cfg);
	const struct control_principal *p;
	struct action *act = NULL;
	struct jobs_scope scope;
	struct jobs_job *dup = NULL;
	const char *tenant, *confirm, *idem, *g;
	char why[256] = "", *sj = NULL, *display = NULL, *want = NULL;
	char ref[JOBS_REF_HEX], *dj = NULL;
	int r, ok = 0, pii_ok = 0, high = 0;

	outcome_init(o);
	memset(&scope, 0, sizeof(scope));
	if ((r = verify(c, cfg, a, "export.request", "export.denied", &act,
	    o)) != 0)
		goto out;
	p = action_principal(act);
	tenant = action_get(act, "tenant");
	confirm = action_get(act, "confirm");
	idem = action_get(act, "idem");
	g = action_get(act, "global");
	if (tenant == NULL || tenant[0] == '\0' ||
	    strlen(tenant) > JOBS_TENANT_MAX || g == NULL ||
	    (strcmp(g, "0") != 0 && strcmp(g, "1") != 0)) {
		r = deny(c, o, ERR_DENIED, "export.denied", p->name, NULL, NULL,
		    NULL, "malformed", "the signed request is malformed");
		goto out;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", tenant);
	/* Capability and assignment first: a tenant this principal may not
	 * export and one that does not exist get the same words. */
	if ((r = allowed(c, p->id, CONTROL_CAP_EXPORT, tenant, &ok, o)) != 0)
		goto out;
	if (!ok) {
		r = deny(c, o, ERR_DENIED, "export.denied", p->name, tenant,
		    NULL, NULL, "not_assigned", "principal \"%s\" may not export "
		    "tenant \"%s\" (not assigned, or no such tenant)", p->name,
		    tenant);
		goto out;
	}
	if ((r = jobs_scope_build(cfg, action_get(act, "tables"),
	    action_get(act, "since"), action_get(act, "until"), g[0] == '1',
	    &scope, &high, why, sizeof(why))) != 0) {
		if (r == ERR_USAGE)
			r = deny(c, o, ERR_USAGE, "export.denied", p->name,
			    tenant, NULL, NULL, "scope", "%s", why);
		else
			o->r = r;
		goto out;
	}
	if ((r = jobs_scope_json(&scope, &sj)) != 0) {
		o->r = r;
		goto out;
	}
	if (scope.pii) {
		if ((r = allowed(c, p->id, CONTROL_CAP_EXPORT_PII, tenant,
		    &pii_ok, o)) != 0)
			goto out;
		if (!pii_ok) {
			r = deny(c, o, ERR_DENIED, "export.denied", p->name,
			    tenant, NULL, sj, "pii", "principal \"%s\" may not "
			    "export personal data (tables marked pii); "
			    "choose --tables without them", p->name);
			goto out;
		}
	}
	if (high) {
		if ((r = control_tenant_name(c, tenant, &display)) != 0) {
			outf(o, "cannot read the tenant's display name: %s",
			    err_str(r));
			o->r = r;
			goto out;
		}
		if (asprintf(&want, "EXPORT %s", display) < 0) {
			want = NULL;
			r = o->r = ERR_NOMEM;
			goto out;
		}
		if (confirm == NULL || strcmp(confirm, want) != 0) {
			r = deny(c, o, ERR_DENIED, "export.denied", p->name,
			    tenant, NULL, sj, "confirmation", "%s",
			    confirm == NULL || confirm[0] == '\0' ?
			    "this export is high-risk: confirm it by typing "
			    "EXPORT and the tenant's display name (or "
			    "--confirm \"EXPORT <NAME>\")" :
			    "the typed confirmation does not match: type EXPORT "
			    "and the tenant's display name exactly");
			goto out;
		}
		if ((r = audit(c, "export.confirmed", p->name, tenant, NULL, sj,
		    json_pack("{s:b,s:b}", "pii", scope.pii, "whole_tenant",
		    scope.ntables == 0), o)) != 0)
			goto out;
	}
	if (idem != NULL && idem[0] != '\0') {
		r = jobs_get_by_idem(c, p->id, idem, &dup);
		if (r == 0 && (r = jobs_scope_json(&dup->scope, &dj)) != 0) {
			o->r = r;
			goto out;
		}
		if (r == 0) {
			if (strcmp(dup->tenant, tenant) != 0 ||
			    strcmp(dj, sj) != 0) {
				r = deny(c, o, ERR_DENIED, "export.denied",
				    p->name, tenant, dup->ref, sj,
				    "idempotency_conflict", "the idempotency "
				    "key was already used for another request");
				goto out;
			}
			if ((r = audit(c, "export.request.repeated", p->name,
			    tenant, dup->ref, sj, json_pack("{s:s}", "state",
			    jobs_state_str(dup->state)), o)) != 0)
				goto out;
			o->duplicate = 1;
			o->state = dup->state;
			memcpy(o->id_hash, dup->id_hash, JOBS_HASH_LEN);
			outf(o, "already requested with this idempotency key "
			    "(job %s, %s); its id was shown when it was created",
			    dup->ref, jobs_state_str(dup->state));
			r = o->r = 0;
			goto out;
		}
		if (r != ERR_NOENT) {
			outf(o, "cannot read jobs: %s", err_str(r));
			o->r = r;
			goto out;
		}
	}
	jobs_id_new(o->id);
	jobs_id_hash(o->id, o->id_hash);
	jobs_ref(o->id_hash, ref);
	o->state = high ? JOBS_AWAITING_APPROVAL : JOBS_QUEUED;
	r = jobs_create(c, o->id_hash, tenant, &scope, o->state, high, p->id,
	    ce->expiry ? ce->expiry : 72 * 3600, (int)k->max_downloads, idem,
	    why, sizeof(why));
	if (r == ERR_EXISTS) {
		r = deny(c, o, ERR_DENIED, "export.denied", p->name, tenant,
		    NULL, sj, "idempotency_conflict", "the idempotency key was "
		    "already used");
		goto out;
	}
	if (r != 0) {
		outf(o, "cannot create the job: %s", why);
		o->r = r;
		goto out;
	}
	if ((r = audit(c, "export.requested", p->name, tenant, ref, sj,
	    json_pack("{s:s,s:b,s:b}", "state", jobs_state_str(o->state),
	    "high_risk", high, "pii", scope.pii), o)) != 0)
		goto out;
	outf(o, "%s", high ? "the export is high-risk and awaits approval by "
	    "another principal" : "the export is queued");
	r = o->r = 0;
 out:
	if (r != 0)
		sodium_memzero(o->id, sizeof(o->id));
	jobs_free(dup);
	free(dj);
	free(sj);
	free(display);
	free(want);
	jobs_scope_clear(&scope);
	action_free(act);
	return r;
}

int
jobs_approve(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_outcome *o)
{
	const struct control_principal *p;
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r, ok = 0;

	if ((r = signed_job(c, cfg, a, "export.approve", "approve.denied",
	    &act, &j, ref, o)) != 0)
		goto out;
	p = action_principal(act);
	if (j->requested_by == p->id) {
		r = deny(c, o, ERR_DENIED, "approve.denied", p->name, j->tenant,
		    ref, j->scope_json, "self_approval", "a request cannot be "
		    "approved by the principal who made it");
		goto out;
	}
	if ((r = allowed(c, p->id, CONTROL_CAP_APPROVE, j->tenant, &ok,
	    o)) != 0)
		goto out;
	if (!ok) {
		r = deny(c, o, ERR_DENIED, "approve.denied", p->name, j->tenant,
		    ref, j->scope_json, "not_approver", "principal \"%s\" may "
		    "not approve exports of this tenant", p->name);
		goto out;
	}
	if (j->state != JOBS_AWAITING_APPROVAL) {
		r = deny(c, o, ERR_DENIED, "approve.denied", p->name, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s, not awaiting "
		    "approval", ref, jobs_state_str(j->state));
		goto out;
	}
	r = jobs_set_approved(c, j->id_hash, p->id);
	if (r == ERR_EXISTS) {
		r = deny(c, o, ERR_DENIED, "approve.denied", p->name, j->tenant,
		    ref, j->scope_json, "state", "job %s changed state while "
		    "being approved", ref);
		goto out;
	}
	if (r != 0) {
		outf(o, "cannot approve: %s", err_str(r));
		o->r = r;
		goto out;
	}
	if ((r = audit(c, "export.approved", p->name, j->tenant, ref,
	    j->scope_json, json_pack("{s:s}", "requested_by",
	    j->requested_name ? j->requested_name : ""), o)) != 0)
		goto out;
	o->state = JOBS_QUEUED;
	outf(o, "job %s approved; it is queued", ref);
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_status(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_job **out,
    struct jobs_outcome *o)
{
	struct action *act = NULL;
	char ref[JOBS_REF_HEX];
	int r;

	*out = NULL;
	if ((r = signed_job(c, cfg, a, "job.status", "status.denied", &act,
	    out, ref, o)) != 0)
		goto out;
	r = o->r = 0;
 out:
	action_free(act);
	return r;
}

int
jobs_cancel(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_outcome *o)
{
	const struct control_principal *p;
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r, ok = 0;

	if ((r = signed_job(c, cfg, a, "job.cancel", "cancel.denied", &act,
	    &j, ref, o)) != 0)
		goto out;
	p = action_principal(act);
	/* The requester, or whoever may approve for the tenant. */
	if (j->requested_by != p->id &&
	    (r = allowed(c, p->id, CONTROL_CAP_APPROVE, j->tenant, &ok,
	    o)) != 0)
		goto out;
	if (j->requested_by != p->id && !ok) {
		r = deny(c, o, ERR_DENIED, "cancel.denied", p->name, j->tenant,
		    ref, j->scope_json, "not_allowed", "only the requester or "
		    "an approver of the tenant may cancel job %s", ref);
		goto out;
	}
	if (j->state != JOBS_QUEUED && j->state != JOBS_AWAITING_APPROVAL &&
	    j->state != JOBS_READY) {
		r = deny(c, o, ERR_DENIED, "cancel.denied", p->name, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s and cannot be "
		    "cancelled", ref, jobs_state_str(j->state));
		goto out;
	}
	if ((r = jobs_transition(c, j->id_hash, j->state, JOBS_CANCELLED,
	    NULL)) != 0) {
		if (r == ERR_EXISTS)
			r = deny(c, o, ERR_DENIED, "cancel.denied", p->name,
			    j->tenant, ref, j->scope_json, "state", "job %s "
			    "changed state; try again", ref);
		else {
			outf(o, "cannot cancel: %s", err_str(r));
			o->r = r;
		}
		goto out;
	}
	if ((r = audit(c, "export.cancelled", p->name, j->tenant, ref,
	    j->scope_json, json_pack("{s:s}", "was", jobs_state_str(j->state)),
	    o)) != 0)
		goto out;
	if (j->state == JOBS_READY && j->archive != NULL) {
		int dr = jobs_archive_delete(j->archive);

		if ((r = audit(c, dr == 0 ? "export.deleted" :
		    "export.delete.failed", p->name, j->tenant, ref, NULL,
		    json_pack("{s:s}", "archive", j->archive), o)) != 0)
			goto out;
	}
	o->state = JOBS_CANCELLED;
	outf(o, "job %s cancelled", ref);
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_list_for(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_job ***out, size_t *n,
    struct jobs_outcome *o)
{
	const struct control_principal *p;
	struct action *act = NULL;
	const char *tenant;
	int r, vis = 0;

	outcome_init(o);
	*out = NULL;
	*n = 0;
	if ((r = verify(c, cfg, a, "job.list", "list.denied", &act, o)) != 0)
		goto out;
	p = action_principal(act);
	tenant = action_get(act, "tenant");
	if (tenant != NULL && tenant[0] != '\0') {
		snprintf(o->tenant, sizeof(o->tenant), "%s", tenant);
		if ((r = visible(c, p->id, tenant, &vis, o)) != 0)
			goto out;
		if (!vis) {
			r = deny(c, o, ERR_DENIED, "list.denied", p->name,
			    tenant, NULL, NULL, "not_assigned", "principal "
			    "\"%s\" may not see jobs of tenant \"%s\" (not "
			    "assigned, or no such tenant)", p->name, tenant);
			goto out;
		}
	} else
		tenant = NULL;
	if ((r = jobs_list(c, p->id, tenant, 100, out, n)) != 0) {
		outf(o, "cannot list jobs: %s", err_str(r));
		o->r = r;
		goto out;
	}
	r = o->r = 0;
 out:
	action_free(act);
	return r;
}

int
jobs_start(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_job **out,
    struct jobs_outcome *o)
{
	const struct config_control *k = config_control(cfg);
	const struct control_principal *p;
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r, ok = 0, pii_ok = 0;

	*out = NULL;
	if ((r = signed_job(c, cfg, a, "export.run", "run.denied", &act, &j,
	    ref, o)) != 0)
		goto out;
	p = action_principal(act);
	/* The same checks as the request, again, for the runner ... */
	if ((r = may_export(c, p->id, j->tenant, j->scope.pii, &ok, &pii_ok,
	    o)) != 0)
		goto out;
	if (!ok || !pii_ok) {
		r = deny(c, o, ERR_DENIED, "run.denied", p->name, j->tenant, ref,
		    j->scope_json, !ok ? "not_allowed" : "pii", "principal "
		    "\"%s\" may not run this export%s", p->name, !ok ? "" :
		    " (it reads tables marked pii)");
		goto out;
	}
	/* ... and for the requester, whose rights may have been revoked
	 * since. */
	if (j->requested_by != p->id) {
		if ((r = may_export(c, j->requested_by, j->tenant, j->scope.pii,
		    &ok, &pii_ok, o)) != 0)
			goto out;
		if (!ok || !pii_ok) {
			r = deny(c, o, ERR_DENIED, "run.denied", p->name,
			    j->tenant, ref, j->scope_json, "requester_revoked",
			    "the requester of job %s may no longer export this "
			    "scope", ref);
			goto out;
		}
	}
	if (j->state == JOBS_AWAITING_APPROVAL) {
		r = deny(c, o, ERR_DENIED, "run.denied", p->name, j->tenant, ref,
		    j->scope_json, "awaiting_approval", "job %s awaits "
		    "approval by another principal", ref);
		goto out;
	}
	if (j->high_risk) {
		if (j->approved_by == 0)
			ok = 0;
		else if ((r = allowed(c, j->approved_by, CONTROL_CAP_APPROVE,
		    j->tenant, &ok, o)) != 0)
			goto out;
		if (!ok) {
			r = deny(c, o, ERR_DENIED, "run.denied", p->name,
			    j->tenant, ref, j->scope_json, "approval_revoked",
			    "job %s has no valid approval", ref);
			goto out;
		}
	}
	if (j->state != JOBS_QUEUED) {
		r = deny(c, o, ERR_DENIED, "run.denied", p->name, j->tenant, ref,
		    j->scope_json, "state", "job %s is %s, not queued", ref,
		    jobs_state_str(j->state));
		goto out;
	}
	r = jobs_claim(c, j->id_hash, (int)k->max_attempts, NULL);
	if (r == ERR_EXISTS) {
		r = deny(c, o, ERR_DENIED, "run.denied", p->name, j->tenant, ref,
		    j->scope_json, "claimed", "job %s is being run by another "
		    "worker, or is no longer queued", ref);
		goto out;
	}
	if (r == ERR_LIMIT) {
		if ((r = audit(c, "export.failed", p->name, j->tenant, ref,
		    j->scope_json, json_pack("{s:s}", "error",
		    "too many attempts"), o)) != 0)
			goto out;
		outf(o, "job %s failed: too many attempts", ref);
		o->state = JOBS_FAILED;
		r = o->r = ERR_LIMIT;
		goto out;
	}
	if (r != 0) {
		outf(o, "cannot claim job %s: %s", ref, err_str(r));
		o->r = r;
		goto out;
	}
	if ((r = audit(c, "export.started", p->name, j->tenant, ref,
	    j->scope_json, json_pack("{s:i}", "attempt", j->attempts + 1),
	    o)) != 0)
		goto out;
	j->state = JOBS_RUNNING;
	j->attempts++;
	o->state = JOBS_RUNNING;
	*out = j;
	j = NULL;
	r = o->r = 0;
 out:
	jobs_free(j);
	action_free(act);
	return r;
}

int
jobs_restart(PGconn *c, const struct config *cfg,
    const uint8_t id_hash[JOBS_HASH_LEN], const char *principal,
    struct jobs_job **out, struct jobs_outcome *o)
{
	const struct config_control *k = config_control(cfg);
	struct control_principal p;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r, ok = 0, pii_ok = 0, ok2 = 0, pii2 = 0;

	outcome_init(o);
	*out = NULL;
	jobs_ref(id_hash, ref);
	snprintf(o->principal, sizeof(o->principal), "%s", principal);
	if ((r = control_principal_by_name(c, principal, &p)) != 0 ||
	    (r = jobs_get(c, id_hash, &j)) != 0) {
		outf(o, "cannot read job %s: %s", ref, err_str(r));
		o->r = r;
		goto out;
	}
	if ((r = may_export(c, p.id, j->tenant, j->scope.pii, &ok, &pii_ok,
	    o)) != 0 || (r = may_export(c, j->requested_by, j->tenant,
	    j->scope.pii, &ok2, &pii2, o)) != 0)
		goto out;
	if (p.disabled || !ok || !pii_ok || !ok2 || !pii2) {
		r = deny(c, o, ERR_DENIED, "run.denied", principal, j->tenant,
		    ref, j->scope_json, "revoked", "the permissions for job %s "
		    "were revoked", ref);
		goto out;
	}
	r = jobs_claim(c, id_hash, (int)k->max_attempts, NULL);
	if (r == ERR_LIMIT) {
		if ((r = audit(c, "export.failed", principal, j->tenant, ref,
		    j->scope_json, json_pack("{s:s}", "error",
		    "too many attempts"), o)) != 0)
			goto out;
		outf(o, "job %s failed: too many attempts", ref);
		r = o->r = ERR_LIMIT;
		goto out;
	}
	if (r != 0) {
		outf(o, "cannot claim job %s again: %s", ref, err_str(r));
		o->r = r == ERR_EXISTS ? ERR_DENIED : r;
		r = o->r;
		goto out;
	}
	if ((r = audit(c, "export.started", principal, j->tenant, ref,
	    j->scope_json, json_pack("{s:i}", "attempt", j->attempts + 1),
	    o)) != 0)
		goto out;
	j->state = o->state = JOBS_RUNNING;
	j->attempts++;
	*out = j;
	j = NULL;
	r = o->r = 0;
 out:
	jobs_free(j);
	return r;
}

int
jobs_finish(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    const char *principal, const struct jobs_result *res,
    struct jobs_outcome *o)
{
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX], dhex[65], *b64 = NULL;
	json_t *d;
	size_t blen, i;
	int r;

	outcome_init(o);
	jobs_ref(id_hash, ref);
	memcpy(o->id_hash, id_hash, JOBS_HASH_LEN);
	if ((r = jobs_get(c, id_hash, &j)) != 0) {
		outf(o, "cannot read job %s: %s", ref, err_str(r));
		o->r = r;
		goto out;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", j->tenant);
	if (res->r == 0) {
		if ((r = jobs_set_ready(c, id_hash, res->archive, res->digest,
		    res->receipt, res->receipt_len, res->expires)) != 0) {
			outf(o, "cannot mark job %s ready: %s", ref, err_str(r));
			o->r = r;
			goto out;
		}
		for (i = 0; i < 32; i++)
			snprintf(dhex + 2 * i, 3, "%02x", res->digest[i]);
		d = json_pack("{s:s,s:s,s:I,s:I}", "archive", res->archive,
		    "manifest_digest", dhex, "records",
		    (json_int_t)res->records, "expires",
		    (json_int_t)res->expires);
		/* The receipt: the manifest, which holds no row data. A very
		 * large one stays in the job record only. */
		blen = sodium_base64_encoded_len(res->receipt_len,
		    sodium_base64_VARIANT_ORIGINAL);
		if (d != NULL && res->receipt_len > 0 &&
		    blen < AUDIT_DETAIL_MAX - 1024) {
			if ((b64 = malloc(blen)) == NULL) {
				json_decref(d);
				r = o->r = ERR_NOMEM;
				goto out;
			}
			sodium_bin2base64(b64, blen, res->receipt,
			    res->receipt_len, sodium_base64_VARIANT_ORIGINAL);
			json_object_set_new(d, "receipt", json_string(b64));
		} else if (d != NULL)
			json_object_set_new(d, "receipt", json_string(
			    "in the job record (too large for the log)"));
		if ((r = audit(c, "export.completed", principal, j->tenant, ref,
		    j->scope_json, d, o)) != 0)
			goto out;
		o->state = JOBS_READY;
		outf(o, "job %s is ready", ref);
		r = o->r = 0;
		goto out;
	}
	if (res->r == ERR_LIMIT) {
		/* Over the size threshold without an approval: the job waits
		 * for one, like any high-risk request. */
		if ((r = jobs_transition(c, id_hash, JOBS_RUNNING,
		    JOBS_AWAITING_APPROVAL, res->error)) != 0) {
			outf(o, "cannot hold job %s: %s", ref, err_str(r));
			o->r = r;
			goto out;
		}
		d = json_pack("{s:s,s:I}", "reason", "over_size_threshold",
		    "records", (json_int_t)res->records);
		if ((r = audit(c, "export.held", principal, j->tenant, ref,
		    j->scope_json, d, o)) != 0)
			goto out;
		o->state = JOBS_AWAITING_APPROVAL;
		outf(o, "job %s awaits approval: %s", ref, res->error ?
		    res->error : "over the size threshold");
		r = o->r = 0;
		goto out;
	}
	if ((r = jobs_transition(c, id_hash, JOBS_RUNNING, res->retry ?
	    JOBS_QUEUED : JOBS_FAILED, res->error ? res->error :
	    err_str(res->r))) != 0) {
		outf(o, "cannot record the failure of job %s: %s", ref,
		    err_str(r));
		o->r = r;
		goto out;
	}
	if ((r = audit(c, res->retry ? "export.retry" : "export.failed",
	    principal, j->tenant, ref, j->scope_json, json_pack("{s:s,s:s}",
	    "error", res->error ? res->error : "", "code", err_str(res->r)),
	    o)) != 0)
		goto out;
	o->state = res->retry ? JOBS_QUEUED : JOBS_FAILED;
	outf(o, "job %s %s", ref, res->retry ? "will be retried" : "failed");
	r = o->r = 0;
 out:
	free(b64);
	jobs_free(j);
	return r;
}

int
jobs_fetch(PGconn *c, const struct config *cfg,
    const struct jobs_signed *a, struct jobs_job **out,
    struct jobs_outcome *o)
{
	const struct control_principal *p;
	struct action *act = NULL;
	struct jobs_job *j = NULL;
	char ref[JOBS_REF_HEX];
	int r, ok = 0, pii_ok = 1;

	*out = NULL;
	if ((r = signed_job(c, cfg, a, "export.fetch", "fetch.denied", &act,
	    &j, ref, o)) != 0)
		goto out;
	p = action_principal(act);
	if ((r = allowed(c, p->id, CONTROL_CAP_FETCH, j->tenant, &ok, o)) != 0)
		goto out;
	if (ok && j->scope.pii &&
	    (r = allowed(c, p->id, CONTROL_CAP_EXPORT_PII, j->tenant, &pii_ok,
	    o)) != 0)
		goto out;
	if (!ok || !pii_ok) {
		r = deny(c, o, ERR_DENIED, "fetch.denied", p->name, j->tenant,
		    ref, j->scope_json, !ok ? "not_allowed" : "pii",
		    "principal \"%s\" may not fetch this export%s", p->name,
		    !ok ? "" : " (it holds tables marked pii)");
		goto out;
	}
	r = jobs_count_fetch(c, j->id_hash);
	switch (r) {
	case 0:
		break;
	case ERR_EXISTS:
		r = deny(c, o, ERR_DENIED, "fetch.denied", p->name, j->tenant,
		    ref, j->scope_json, "state", "job %s is %s: nothing to "
		    "fetch", ref, jobs_state_str(j->state));
		goto out;
	case ERR_EXPIRED:
		r = deny(c, o, ERR_DENIED, "fetch.denied", p->name, j->tenant,
		    ref, j->scope_json, "expired", "the export of job %s has "
		    "expired", ref);
		goto out;
	case ERR_LIMIT:
		r = deny(c, o, ERR_DENIED, "fetch.denied", p->name, j->tenant,
		    ref, j->scope_json, "download_limit", "job %s was already "
		    "fetched %d times, the limit", ref, j->max_fetches);
		goto out;
	default:
		outf(o, "cannot count the download: %s", err_str(r));
		o->r = r;
		goto out;
	}
	if (j->archive == NULL) {
		r = deny(c, o, ERR_DENIED, "fetch.denied", p->name, j->tenant,
		    ref, j->scope_json, "no_archive", "job %s has no archive",
		    ref);
		goto out;
	}
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
jobs_fetch_done(PGconn *c, const struct jobs_job *j, const char *principal,
    int rr, const char *to, struct jobs_outcome *o)
{
	int r;

	if (rr != 0 && (r = jobs_uncount_fetch(c, j->id_hash)) != 0 &&
	    r != ERR_EXISTS) {
		outf(o, "cannot give the download back: %s", err_str(r));
		return o->r = r;
	}
	r = audit(c, rr == 0 ? "export.fetched" : "fetch.failed", principal,
	    j->tenant, j->ref, j->scope_json, json_pack("{s:s,s:i,s:s}", "to",
	    to, "count", j->fetch_count, "result", err_str(rr)), o);
	if (r == 0)
		o->r = rr;
	return r;
}

int
jobs_sweep(PGconn *c, int *expired, int *failed, char *err, size_t errlen)
{
	struct jobs_job **v = NULL;
	struct jobs_outcome o;
	size_t n = 0, i;
	int r, dr;

	*expired = *failed = 0;
	outcome_init(&o);
	if ((r = jobs_list_expired(c, 10000, &v, &n)) != 0) {
		snprintf(err, errlen, "cannot list expired jobs: %s",
		    err_str(r));
		return r;
	}
	for (i = 0; i < n; i++) {
		struct jobs_job *j = v[i];

		if (j->archive != NULL && j->state == JOBS_READY) {
			dr = jobs_archive_delete(j->archive);
			if ((r = audit(c, dr == 0 ? "export.deleted" :
			    "export.delete.failed", NULL, j->tenant, j->ref,
			    NULL, json_pack("{s:s,s:s}", "archive", j->archive,
			    "by", "sweep"), &o)) != 0)
				goto fail;
			if (dr != 0) {
				/* Kept ready so the next sweep tries again. */
				(*failed)++;
				continue;
			}
		}
		r = jobs_transition(c, j->id_hash, j->state, JOBS_EXPIRED, NULL);
		if (r == ERR_EXISTS)
			continue;	/* changed meanwhile; next sweep */
		if (r != 0) {
			snprintf(err, errlen, "cannot expire job %s: %s",
			    j->ref, err_str(r));
			goto out;
		}
		if ((r = audit(c, "export.expired", NULL, j->tenant, j->ref,
		    NULL, json_pack("{s:s}", "was", jobs_state_str(j->state)),
		    &o)) != 0)
			goto fail;
		(*expired)++;
	}
	r = 0;
	goto out;
 fail:
	snprintf(err, errlen, "%s", o.msg);
 out:
	jobs_list_free(v, n);
	return r;
}
