/*
 * admin.c: signed changes to principals, tenants and assignments
 * (admin.h). Decided from the ledger; the tables only mirror.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "admin.h"
#include "age.h"
#include "control.h"
#include "decide.h"
#include "err.h"
#include "jobs.h"
#include "ledger.h"
#include "minisig.h"

#define MAX_LIST	64

static const struct {
	const char *kind;
	const char *event;	/* the row that records it */
	int per_tenant;		/* needs the admin's assignment (2: when
				 * it names a tenant) */
} kinds[] = {
	{ "principal.add", "principal.added", 0 },
	{ "principal.grant", "role.granted", 0 },
	{ "principal.disable", "principal.disabled", 0 },
	{ "tenant.add", "tenant.added", 0 },
	{ "tenant.recipients", "tenant.recipients", 1 },
	{ "assignment.add", "assignment.added", 1 },
	{ "assignment.remove", "assignment.removed", 1 },
	{ "queue.pause", "queue.paused", 2 },
	{ "queue.resume", "queue.resumed", 2 },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

static const char *const role_names[] = {
	"requester", "approver", "pii", "fetcher", "admin", "worker",
	"auditor",
};

int
admin_kind_valid(const char *kind)
{
	size_t i;

	for (i = 0; kind != NULL && i < NKINDS; i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return 1;
	return 0;
}

int
admin_person_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (i > 0 && (ch == '.' || ch == '_' || ch == '@' || ch == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* A comma list split into at most MAX_LIST items (pointers into buf). */
struct list {
	char *buf;
	const char *v[MAX_LIST];
	size_t n;
};

static int
list_split(const char *s, struct list *l)
{
	char *p, *save = NULL;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (s == NULL || *s == '\0')
		return 0;
	if ((l->buf = strdup(s)) == NULL)
		return ERR_NOMEM;
	for (p = strtok_r(l->buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (l->n == MAX_LIST)
			return ERR_INVALID;
		for (i = 0; i < l->n; i++)
			if (strcmp(l->v[i], p) == 0)
				return ERR_INVALID;
		l->v[l->n++] = p;
	}
	return 0;
}

static json_t *
list_json(const struct list *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static int
roles_valid(const struct list *l)
{
	size_t i, k;

	if (l->n == 0)
		return 0;
	for (i = 0; i < l->n; i++) {
		for (k = 0; k < sizeof(role_names) / sizeof(role_names[0]); k++)
			if (strcmp(l->v[i], role_names[k]) == 0)
				break;
		if (k == sizeof(role_names) / sizeof(role_names[0]))
			return 0;
	}
	return 1;
}

static int
recipients_valid(const struct list *l)
{
	struct age_recipient *rc;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (age_recipient_parse(l->v[i], &rc) != 0)
			return 0;
		age_recipient_free(rc);
	}
	return 1;
}

/* What one change needs: the action, who signed it, and the row. */
struct change {
	struct jobs_ctx *k;
	const struct jobs_signed *a;
	struct action *act;
	const char *who;
	const char *event;
	struct jobs_outcome *o;
};

/* Undoes the cache writes of this change (they may have failed half
 * way, which aborts the transaction). */
static void
undo(struct change *ch)
{
	PQclear(PQexec(ch->k->c, "ROLLBACK TO SAVEPOINT admin_change"));
}

/* An allowed change that cannot be made. */
static int
cannot(struct change *ch, int code, const char *why)
{
	undo(ch);
	return decide_deny(ch->k, ch->o, code, "admin.failed", ch->who,
	    action_get(ch->act, "tenant"), NULL, NULL, why, "%s", why);
}

static int
record(struct change *ch, const char *tenant, json_t *detail)
{
	int r = decide_audit_signed(ch->k, ch->event, ch->who, tenant, NULL,
	    NULL, detail, ch->a, ch->o);

	if (r == 0) {
		decide_msg(ch->o, "done (%s by \"%s\")", action_kind(ch->act),
		    ch->who);
		ch->o->r = 0;
	}
	return r;
}

static int
principal_add(struct change *ch)
{
	const char *name = action_get(ch->act, "name");
	const char *key = action_get(ch->act, "pubkey");
	const char *person = action_get(ch->act, "person");
	struct minisig_pubkey *pk = NULL;
	struct list roles;
	char line[160], err[256], kidhex[MINISIG_KEYID_HEX];
	uint8_t kid[8];
	int r;

	if ((r = list_split(action_get(ch->act, "roles"), &roles)) == ERR_NOMEM)
		return ch->o->r = r;
	if (person == NULL)
		person = name;
	if (name == NULL || !control_name_valid(name) || key == NULL ||
	    strlen(key) > 100 || r != 0 || !roles_valid(&roles) ||
	    !admin_person_valid(person)) {
		r = cannot(ch, ERR_INVALID, "invalid name, key, roles or person");
		goto out;
	}
	snprintf(line, sizeof(line), "untrusted comment: key\n%s\n", key);
	if (minisig_pubkey_parse(line, strlen(line), &pk) != 0) {
		r = cannot(ch, ERR_INVALID, "invalid public key");
		goto out;
	}
	minisig_pubkey_keyid(pk, kid);
	minisig_keyid_hex(kid, kidhex);
	if (ledger_known(ch->k->ledger, name) ||
	    ledger_key_in_use(ch->k->ledger, kid) || (r = control_principal_add(
	    ch->k->c, name, pk, roles.v, roles.n, NULL, err, sizeof(err))) ==
	    ERR_EXISTS) {
		r = cannot(ch, ERR_EXISTS, "a principal with this name or key "
		    "already exists");
		goto out;
	}
	if (r != 0 || (r = control_principal_meta(ch->k->c, name, person,
	    ch->who, err, sizeof(err))) != 0) {
		decide_msg(ch->o, "%s", err);
		r = ch->o->r = r;
		goto out;
	}
	r = record(ch, NULL, json_pack("{s:s,s:s,s:o,s:s}", "name", name,
	    "key_id", kidhex, "roles", list_json(&roles), "person", person));
 out:
	minisig_pubkey_free(pk);
	free(roles.buf);
	return r;
}

static int
principal_grant(struct change *ch)
{
	const char *name = action_get(ch->act, "name");
	struct list roles;
	char err[256];
	size_t i;
	int r;

	if ((r = list_split(action_get(ch->act, "roles"), &roles)) == ERR_NOMEM)
		return ch->o->r = r;
	if (name == NULL || r != 0 || !roles_valid(&roles)) {
		r = cannot(ch, ERR_INVALID, "invalid name or roles");
		goto out;
	}
	if (!ledger_enabled(ch->k->ledger, name)) {
		r = cannot(ch, ERR_NOENT, "no such enabled principal");
		goto out;
	}
	for (i = 0; i < roles.n; i++) {
		if ((r = control_role_grant(ch->k->c, name, &roles.v[i], 1, err,
		    sizeof(err))) == 0)
			continue;
		r = r == ERR_EXISTS ? cannot(ch, ERR_EXISTS, "the principal "
		    "already has this role") : (decide_msg(ch->o, "%s", err),
		    ch->o->r = r);
		goto out;
	}
	r = record(ch, NULL, json_pack("{s:s,s:o}", "name", name, "roles",
	    list_json(&roles)));
 out:
	free(roles.buf);
	return r;
}

static int
principal_disable(struct change *ch)
{
	const char *name = action_get(ch->act, "name");
	char err[256];
	int r;

	if (name == NULL || !ledger_enabled(ch->k->ledger, name) ||
	    strcmp(name, LEDGER_ROOT) == 0)
		return cannot(ch, ERR_NOENT, "no such enabled principal");
	if ((r = control_principal_disable(ch->k->c, name, err,
	    sizeof(err))) != 0) {
		decide_msg(ch->o, "%s", err);
		return ch->o->r = r;
	}
	return record(ch, NULL, json_pack("{s:s}", "name", name));
}

static int
tenant_add(struct change *ch)
{
	const char *tenant = action_get(ch->act, "tenant");
	const char *dn = action_get(ch->act, "display_name");
	struct list rc;
	char err[256];
	int r;

	if ((r = list_split(action_get(ch->act, "recipients"), &rc)) ==
	    ERR_NOMEM)
		return ch->o->r = r;
	if (tenant == NULL || *tenant == '\0' || dn == NULL || *dn == '\0' ||
	    strlen(tenant) > CONTROL_TENANT_MAX ||
	    strlen(dn) > CONTROL_DISPLAY_MAX || r != 0 ||
	    !recipients_valid(&rc)) {
		r = cannot(ch, ERR_INVALID, "invalid tenant id, display name "
		    "or recipients");
		goto out;
	}
	if (ledger_tenant_name(ch->k->ledger, tenant) != NULL) {
		r = cannot(ch, ERR_EXISTS, "tenant already registered");
		goto out;
	}
	if ((r = control_tenant_add(ch->k->c, tenant, dn, err,
	    sizeof(err))) != 0 || (r = control_tenant_recipients(ch->k->c,
	    tenant, rc.v, rc.n, err, sizeof(err))) != 0 ||
	    (strcmp(ch->who, LEDGER_ROOT) != 0 && (r = control_assign(ch->k->c,
	    ch->who, tenant, err, sizeof(err))) != 0)) {
		decide_msg(ch->o, "%s", err);
		r = ch->o->r = r;
		goto out;
	}
	r = record(ch, tenant, json_pack("{s:s,s:o}", "display_name", dn,
	    "recipients", list_json(&rc)));
 out:
	free(rc.buf);
	return r;
}

static int
tenant_recipients(struct change *ch)
{
	const char *tenant = action_get(ch->act, "tenant");
	struct list rc;
	char err[256];
	int r;

	if ((r = list_split(action_get(ch->act, "recipients"), &rc)) ==
	    ERR_NOMEM)
		return ch->o->r = r;
	if (r != 0 || !recipients_valid(&rc)) {
		r = cannot(ch, ERR_INVALID, "invalid recipients");
		goto out;
	}
	if ((r = control_tenant_recipients(ch->k->c, tenant, rc.v, rc.n, err,
	    sizeof(err))) != 0) {
		decide_msg(ch->o, "%s", err);
		r = ch->o->r = r;
		goto out;
	}
	r = record(ch, tenant, json_pack("{s:o}", "recipients",
	    list_json(&rc)));
 out:
	free(rc.buf);
	return r;
}

static int
assignment(struct change *ch, int add)
{
	const char *name = action_get(ch->act, "name");
	const char *tenant = action_get(ch->act, "tenant");
	char err[256];
	int r;

	/* a disabled principal can still lose its assignments */
	if (name == NULL || strcmp(name, LEDGER_ROOT) == 0 ||
	    !(add ? ledger_enabled(ch->k->ledger, name) :
	    ledger_known(ch->k->ledger, name)))
		return cannot(ch, ERR_NOENT, add ? "no such enabled principal" :
		    "no such principal");
	r = add ? control_assign(ch->k->c, name, tenant, err, sizeof(err)) :
	    control_unassign(ch->k->c, name, tenant, err, sizeof(err));
	if (r == ERR_EXISTS || r == ERR_NOENT)
		return cannot(ch, r, add ? "already assigned" :
		    "no such assignment");
	if (r != 0) {
		decide_msg(ch->o, "%s", err);
		return ch->o->r = r;
	}
	return record(ch, tenant, json_pack("{s:s}", "name", name));
}

/* 1 if the tenant (not every tenant) is paused one by one. */
static int
paused_alone(const struct ledger *l, const char *tenant)
{
	const char *const *v;
	size_t n, i;

	v = ledger_paused_tenants(l, &n);
	for (i = 0; i < n; i++)
		if (strcmp(v[i], tenant) == 0)
			return 1;
	return 0;
}

/* queue.pause / queue.resume: claiming stops or starts again, for the
 * tenant named, or for every tenant. The cache row is what `status`
 * shows; workers decide from the log. */
static int
queue_change(struct change *ch, int pause)
{
	const char *t = action_get(ch->act, "tenant");
	const char *p[2];
	PGresult *res;
	int all = t == NULL || *t == '\0', now;

	now = all ? ledger_paused(ch->k->ledger, NULL) == LEDGER_PAUSED_ALL :
	    paused_alone(ch->k->ledger, t);
	if (now == pause)
		return cannot(ch, ERR_EXISTS, pause ? "already paused" :
		    "not paused");
	p[0] = all ? "" : t;
	p[1] = ch->who;
	res = PQexecParams(ch->k->c, pause ? "INSERT INTO "
	    "texp_control.queue_pauses (tenant, paused_by) VALUES ($1, $2)" :
	    "DELETE FROM texp_control.queue_pauses WHERE tenant = $1",
	    pause ? 2 : 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		undo(ch);
		return decide_fail(ch->o, ERR_DB, "cannot record the pause");
	}
	PQclear(res);
	return record(ch, all ? NULL : t, json_pack("{s:s}", "tenant",
	    all ? "*" : t));
}

int
admin_apply(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o)
{
	struct change ch;
	struct action *parsed = NULL;
	PGresult *res;
	const char *tenant;
	size_t i;
	int r, pt;

	decide_init(o);
	memset(&ch, 0, sizeof(ch));
	ch.k = k;
	ch.a = a;
	ch.o = o;
	if (action_parse(a->text, a->tlen, &parsed) != 0 ||
	    !admin_kind_valid(action_kind(parsed))) {
		action_free(parsed);
		return decide_deny(k, o, ERR_DENIED, "admin.denied", NULL, NULL,
		    NULL, NULL, "malformed", "not an admin action");
	}
	for (i = 0; strcmp(kinds[i].kind, action_kind(parsed)) != 0; i++)
		;
	action_free(parsed);
	if ((r = decide_verify(k, a, kinds[i].kind, "admin.denied", &ch.act,
	    o)) != 0)
		return r;
	ch.who = action_principal(ch.act)->name;
	ch.event = kinds[i].event;
	tenant = action_get(ch.act, "tenant");
	pt = kinds[i].per_tenant == 1 || (kinds[i].per_tenant == 2 &&
	    tenant != NULL && *tenant != '\0');
	res = PQexec(k->c, "SAVEPOINT admin_change");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		r = decide_fail(o, ERR_DB, "cannot apply the change");
		goto out;
	}
	PQclear(res);
	if (pt && (tenant == NULL ||
	    ledger_tenant_name(k->ledger, tenant) == NULL)) {
		r = cannot(&ch, ERR_NOENT, "unknown tenant");
		goto out;
	}
	if (!ledger_may(k->ledger, ch.who, CONTROL_CAP_ADMIN,
	    pt ? tenant : NULL)) {
		r = decide_deny(k, o, ERR_DENIED, "admin.denied", ch.who, tenant,
		    NULL, NULL, pt ? "not_tenant_admin" :
		    "not_admin", "\"%s\" may not do this (%s)", ch.who,
		    pt ? "not an admin of this tenant" :
		    "missing capability admin");
		goto out;
	}
	switch (i) {
	case 0: r = principal_add(&ch); break;
	case 1: r = principal_grant(&ch); break;
	case 2: r = principal_disable(&ch); break;
	case 3: r = tenant_add(&ch); break;
	case 4: r = tenant_recipients(&ch); break;
	case 5: r = assignment(&ch, 1); break;
	case 6: r = assignment(&ch, 0); break;
	case 7: r = queue_change(&ch, 1); break;
	default: r = queue_change(&ch, 0); break;
	}
 out:
	action_free(ch.act);
	return r;
}
