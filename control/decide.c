/*
 * decide.c: what every control-plane decision shares (decide.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "config.h"
#include "control.h"
#include "decide.h"
#include "err.h"
#include "jobs.h"
#include "ledger.h"
#include "minisig.h"

void
decide_msg(struct jobs_outcome *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
}

void
decide_init(struct jobs_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->r = ERR_INTERNAL;
}

int
decide_fail(struct jobs_outcome *o, int r, const char *what)
{
	decide_msg(o, "%s: %s", what, err_str(r));
	return o->r = r;
}

/*
 * Appends one event, recording the principal's signed action when it is
 * the one this event applies (ledger.h). detail is consumed. A failure to
 * audit fails the whole step: nothing happens that the log does not show.
 */
int
decide_audit_signed(struct jobs_ctx *k, const char *event, const char *principal,
    const char *tenant, const char *ref, const char *scope, json_t *detail,
    const struct jobs_signed *a, struct jobs_outcome *o)
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
	if (detail != NULL && k->peer != NULL)
		json_object_set_new(detail, "peer", json_string(k->peer));
	if (detail != NULL &&
	    (dj = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		json_decref(detail);
		return decide_fail(o, ERR_NOMEM, "cannot write the audit log");
	}
	json_decref(detail);
	e.detail_json = dj;
	if (a != NULL) {
		e.signed_text = a->text;
		e.signed_tlen = a->tlen;
		e.signed_sig = a->sig;
		e.signed_slen = a->slen;
	}
	err[0] = '\0';
	r = audit_append(k->c, &e, err, sizeof(err));
	free(dj);
	/* The state decisions after this one see this row. */
	if (r == 0 && k->ledger != NULL &&
	    (r = ledger_refresh(k->ledger, k->c, err, sizeof(err))) != 0) {
		r = r == ERR_DB ? ERR_DB : ERR_TAMPER;
		k->broken = 1;
	}
	if (r != 0 && o != NULL) {
		decide_msg(o, "cannot write the audit log: %s", err[0] ? err :
		    err_str(r));
		o->r = r;
	}
	return r;
}

int
decide_audit(struct jobs_ctx *k, const char *event, const char *principal,
    const char *tenant, const char *ref, const char *scope, json_t *detail,
    struct jobs_outcome *o)
{
	return decide_audit_signed(k, event, principal, tenant, ref, scope, detail,
	    NULL, o);
}

/* The detail naming a job by its whole hash (the log's key for it). */
json_t *
decide_job_detail(const uint8_t id_hash[JOBS_HASH_LEN])
{
	char hex[65];

	jobs_hash_hex(id_hash, hex);
	return json_pack("{s:s}", "job_hash", hex);
}

int
decide_deny(struct jobs_ctx *k, struct jobs_outcome *o, int code, const char *event,
    const char *principal, const char *tenant, const char *ref,
    const char *scope, const char *reason, const char *fmt, ...)
{
	va_list ap;
	int r;

	r = decide_audit(k, event, principal, tenant, ref, scope,
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

static const char *
verify_reason(int r)
{
	switch (r) {
	case ERR_DENIED:
		return "unknown_principal";
	case ERR_SIG_INVALID:
		return "bad_signature";
	case ERR_CONTROL_ID:
		return "other_control_database";
	case ERR_EXPIRED:
		return "stale";
	case ERR_EXISTS:
		return "replay";
	default:
		return "malformed";
	}
}

static const char *
verify_message(int r)
{
	switch (r) {
	case ERR_DENIED:
		return "the key is not registered to an enabled principal";
	case ERR_SIG_INVALID:
		return "the signature does not verify";
	case ERR_CONTROL_ID:
		return "the request was signed for another control database";
	case ERR_EXPIRED:
		return "the signed request is stale (check the clock; "
		    "requests are valid for [control] max_request_age by the "
		    "database's clock)";
	case ERR_EXISTS:
		return "the signed request was already used (replay)";
	default:
		return "the signed request is malformed";
	}
}

/*
 * Verifies a signed action of the expected kind; refusals are audited as
 * deny_event. On success *out is the action.
 */
int
decide_verify(struct jobs_ctx *k, const struct jobs_signed *a, const char *kind,
    const char *deny_event, struct action **out, struct jobs_outcome *o)
{
	struct action_keys keys = ledger_keys(k->ledger);
	struct action *pa = NULL;
	const char *claimed = NULL;
	char why[256] = "", kidhex[MINISIG_KEYID_HEX];
	uint8_t kid[8];
	int r, rr;

	*out = NULL;
	r = action_verify(k->c, a->text, a->tlen, a->sig, a->slen, &keys,
	    k->control_id, k->now, config_control(k->cfg)->max_request_age,
	    out, why, sizeof(why));
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
		decide_msg(o, "cannot check the signed request: %s", why[0] ? why :
		    err_str(r));
		return o->r = r;
	}
	/* What the unverified text claims, for the operators' record: the
	 * tenant, the kind and the key id, never a name (a signature that
	 * was not accepted names nobody). */
	if (action_parse(a->text, a->tlen, &pa) == 0 &&
	    action_value_valid(action_get(pa, "tenant")))
		claimed = action_get(pa, "tenant");
	kidhex[0] = '\0';
	if (action_sig_keyid(a->sig, a->slen, kid) == 0)
		minisig_keyid_hex(kid, kidhex);
	if ((rr = decide_audit(k, deny_event, NULL, claimed, NULL, NULL,
	    json_pack("{s:s,s:s,s:s}", "reason", verify_reason(r), "key_id",
	    kidhex, "action", pa != NULL ? action_kind(pa) : ""), o)) == 0) {
		snprintf(o->reason, sizeof(o->reason), "%s", verify_reason(r));
		decide_msg(o, "%s", verify_message(r));
		rr = o->r = ERR_DENIED;
	}
	action_free(pa);
	return rr;
}

