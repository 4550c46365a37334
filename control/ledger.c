/*
 * ledger.c: the control state derived from the signed log (ledger.h).
 *
 * Every check here is a refusal to believe a row: anything the service
 * did not sign, or a principal had no right to sign, stops the load with
 * ERR_TAMPER. Nothing is repaired or skipped: a log that was edited by
 * hand must be looked at by a person (`audit verify` names the row).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "buf.h"
#include "control.h"
#include "err.h"
#include "ledger.h"
#include "minisig.h"
#include "sha256.h"

/* Roles and the capabilities they grant; the same names as the seeded
 * texp_control.roles. Decided here, not read from the table. */
static const struct {
	const char *role;
	const char *caps[3];
} role_caps[] = {
	{ "requester", { CONTROL_CAP_EXPORT, CONTROL_CAP_FETCH, NULL } },
	{ "approver", { CONTROL_CAP_APPROVE, NULL, NULL } },
	{ "pii", { CONTROL_CAP_EXPORT_PII, NULL, NULL } },
	{ "fetcher", { CONTROL_CAP_FETCH, NULL, NULL } },
	{ "admin", { CONTROL_CAP_ADMIN, NULL, NULL } },
	{ "worker", { CONTROL_CAP_WORK, NULL, NULL } },
	{ "auditor", { CONTROL_CAP_AUDIT, NULL, NULL } },
};
#define NROLES	(sizeof(role_caps) / sizeof(role_caps[0]))

/* A small open-addressing map from byte strings to pointers. Keys point
 * into the values, which never move. */
struct hent {
	const void *key;
	size_t klen;
	void *val;
};
struct hmap {
	struct hent *e;
	size_t cap, n;
};

static uint64_t
hkey(const void *k, size_t n)
{
	const uint8_t *p = k;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void *
hmap_get(const struct hmap *m, const void *k, size_t n)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = hkey(k, n) & (m->cap - 1); m->e[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->e[i].klen == n && memcmp(m->e[i].key, k, n) == 0)
			return m->e[i].val;
	return NULL;
}

static int
hmap_put(struct hmap *m, const void *k, size_t n, void *val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct hmap g = { NULL, m->cap ? 2 * m->cap : 64, 0 };

		if ((g.e = calloc(g.cap, sizeof(*g.e))) == NULL)
			return ERR_NOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->e[i].key != NULL)
				hmap_put(&g, m->e[i].key, m->e[i].klen,
				    m->e[i].val);
		free(m->e);
		*m = g;
	}
	for (i = hkey(k, n) & (m->cap - 1); m->e[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		;
	m->e[i].key = k;
	m->e[i].klen = n;
	m->e[i].val = val;
	m->n++;
	return 0;
}

struct strv {
	char **v;
	size_t n;
};

struct lprincipal {
	char name[CONTROL_NAME_MAX + 1];
	uint8_t key_id[8];
	struct minisig_pubkey *pk;
	char *person;
	char *registrar;
	unsigned roles;			/* bit i: role_caps[i] */
	int disabled;
	struct strv tenants;		/* assignments */
	char probe_run[LEDGER_RUN_HEX];	/* a leak test's probe: its run */
};

struct ltenant {
	char *id;
	char *name;
	struct strv recipients;
};

/* One request, for rate limits (the strings belong to its job). */
struct lrequest {
	const char *principal;
	const char *tenant;
	uint64_t at;
};

struct ledger {
	const struct ledger_pins *pins;
	uint8_t root_kid[8], service_kid[8];
	struct lprincipal **p;
	size_t np;
	struct hmap by_name, by_kid;
	struct ltenant **t;
	size_t nt;
	struct hmap tenants;
	struct ledger_job **j;
	size_t nj;
	struct hmap jobs;
	struct hmap job_ids;		/* the first JOBS_ID_LEN bytes */
	struct ledger_run **runs;
	size_t nruns;
	struct hmap runmap;
	struct ledger_ltjob **lt;
	size_t nlt;
	struct hmap ltmap;
	uint8_t *nonces;		/* 16 bytes each */
	size_t nnonces, capnonces;
	struct hmap nonce_set;
	struct lrequest *reqs;
	size_t nreqs, capreqs;
	int paused_all;
	struct strv paused;		/* tenants paused one by one */
	uint64_t rows;
	uint8_t head[32];
	/* the pinned head, and whether the log still holds it */
	uint64_t pin_seq;
	uint8_t pin_hash[32];
	int pin_seen;
	/* rows up to trust_seq were verified before, with these pins, and
	 * hash to trust_hash there: their signatures are not checked again
	 * (ledger_load; 0: every row is checked) */
	uint64_t trust_seq;
	uint8_t trust_hash[32];
	/* the current row, for messages */
	const struct audit_row *row;
	char *why;
	size_t whylen;
};

static int
bad(struct ledger *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Refuses the current row: "row N (EVENT): reason". */
static int
bad(struct ledger *l, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(l->why, l->whylen, "row %lld (%s): %s",
	    l->row != NULL ? (long long)l->row->seq : 0LL,
	    l->row != NULL && l->row->event != NULL ? l->row->event : "?",
	    msg);
	return ERR_TAMPER;
}

static void
strv_clear(struct strv *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int
strv_has(const struct strv *s, const char *x)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return 1;
	return 0;
}

static int
strv_add(struct strv *s, const char *x)
{
	char **v;

	if (strv_has(s, x))
		return 0;
	if ((v = realloc(s->v, (s->n + 1) * sizeof(*v))) == NULL)
		return ERR_NOMEM;
	s->v = v;
	if ((s->v[s->n] = strdup(x)) == NULL)
		return ERR_NOMEM;
	s->n++;
	return 0;
}

static void
strv_del(struct strv *s, const char *x)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0) {
			free(s->v[i]);
			s->v[i] = s->v[--s->n];
			return;
		}
}

/* Splits a comma list into *out (cleared first); empty items refused. */
static int
strv_split(const char *list, struct strv *out)
{
	const char *p = list, *c;
	char item[CONTROL_TENANT_MAX * 4 + 1];
	size_t len;
	int r;

	strv_clear(out);
	if (list == NULL || *list == '\0')
		return 0;
	for (;;) {
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == 0 || len >= sizeof(item))
			return ERR_FORMAT;
		memcpy(item, p, len);
		item[len] = '\0';
		if ((r = strv_add(out, item)) != 0)
			return r;
		if (c == NULL)
			return 0;
		p = c + 1;
	}
}

static void
principal_free(struct lprincipal *p)
{
	if (p == NULL)
		return;
	minisig_pubkey_free(p->pk);
	free(p->person);
	free(p->registrar);
	strv_clear(&p->tenants);
	free(p);
}

static void
job_free(struct ledger_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	free(j->tenant);
	free(j->requester);
	free(j->approver);
	free(j->scope_json);
	for (i = 0; i < j->nrecipients; i++)
		free(j->recipients[i]);
	free(j->recipients);
	free(j->archive);
	free(j->idem);
	free(j);
}

void
ledger_free(struct ledger *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->np; i++)
		principal_free(l->p[i]);
	free(l->p);
	for (i = 0; i < l->nt; i++) {
		free(l->t[i]->id);
		free(l->t[i]->name);
		strv_clear(&l->t[i]->recipients);
		free(l->t[i]);
	}
	free(l->t);
	for (i = 0; i < l->nj; i++)
		job_free(l->j[i]);
	free(l->j);
	for (i = 0; i < l->nruns; i++) {
		free(l->runs[i]->auditor);
		json_decref(l->runs[i]->planted);
		free(l->runs[i]);
	}
	free(l->runs);
	for (i = 0; i < l->nlt; i++) {
		free(l->lt[i]->tenant);
		free(l->lt[i]);
	}
	free(l->lt);
	free(l->runmap.e);
	free(l->ltmap.e);
	free(l->by_name.e);
	free(l->job_ids.e);
	free(l->by_kid.e);
	free(l->tenants.e);
	free(l->jobs.e);
	free(l->nonce_set.e);
	free(l->nonces);
	free(l->reqs);
	strv_clear(&l->paused);
	free(l);
}

static struct lprincipal *
principal_get(const struct ledger *l, const char *name)
{
	return name != NULL ? hmap_get(&l->by_name, name, strlen(name)) : NULL;
}

static struct ltenant *
tenant_get(const struct ledger *l, const char *id)
{
	return id != NULL ? hmap_get(&l->tenants, id, strlen(id)) : NULL;
}

static struct ledger_job *
job_get(const struct ledger *l, const uint8_t hash[JOBS_HASH_LEN])
{
	return hmap_get(&l->jobs, hash, JOBS_HASH_LEN);
}

/* Bit mask of a comma list of role names; ERR_FORMAT for an unknown one. */
static int
roles_mask(const char *list, unsigned *mask)
{
	struct strv v = { NULL, 0 };
	size_t i, k;
	int r;

	*mask = 0;
	if ((r = strv_split(list, &v)) != 0 || v.n == 0) {
		strv_clear(&v);
		return r != 0 ? r : ERR_FORMAT;
	}
	for (i = 0; i < v.n; i++) {
		for (k = 0; k < NROLES; k++)
			if (strcmp(v.v[i], role_caps[k].role) == 0)
				break;
		if (k == NROLES) {
			strv_clear(&v);
			return ERR_FORMAT;
		}
		*mask |= 1u << k;
	}
	strv_clear(&v);
	return 0;
}

int
ledger_known(const struct ledger *l, const char *name)
{
	return name != NULL && (strcmp(name, LEDGER_ROOT) == 0 ||
	    principal_get(l, name) != NULL);
}

int
ledger_key_in_use(const struct ledger *l, const uint8_t key_id[8])
{
	return memcmp(key_id, l->root_kid, 8) == 0 ||
	    memcmp(key_id, l->service_kid, 8) == 0 ||
	    hmap_get(&l->by_kid, key_id, 8) != NULL;
}

int
ledger_enabled(const struct ledger *l, const char *name)
{
	const struct lprincipal *p;

	if (name != NULL && strcmp(name, LEDGER_ROOT) == 0)
		return 1;
	p = principal_get(l, name);
	return p != NULL && !p->disabled;
}

int
ledger_may(const struct ledger *l, const char *name, const char *cap,
    const char *tenant)
{
	const struct lprincipal *p;
	size_t k, c;

	if (name == NULL || cap == NULL)
		return 0;
	if (strcmp(name, LEDGER_ROOT) == 0)
		return strcmp(cap, CONTROL_CAP_ADMIN) == 0;
	if ((p = principal_get(l, name)) == NULL || p->disabled)
		return 0;
	if (tenant != NULL && !strv_has(&p->tenants, tenant))
		return 0;
	for (k = 0; k < NROLES; k++) {
		if (!(p->roles & (1u << k)))
			continue;
		for (c = 0; c < 3 && role_caps[k].caps[c] != NULL; c++)
			if (strcmp(role_caps[k].caps[c], cap) == 0)
				return 1;
	}
	return 0;
}

static const char *
person_of(const struct ledger *l, const char *name)
{
	const struct lprincipal *p = principal_get(l, name);

	if (name != NULL && strcmp(name, LEDGER_ROOT) == 0)
		return LEDGER_ROOT;
	return p != NULL ? p->person : NULL;
}

static const char *
registrar_person(const struct ledger *l, const char *name)
{
	const struct lprincipal *p = principal_get(l, name);

	return p != NULL ? person_of(l, p->registrar) : NULL;
}

int
ledger_two_persons(const struct ledger *l, const char *requester,
    const char *approver)
{
	const char *rq = person_of(l, requester), *ap = person_of(l, approver);
	const char *rq_reg = registrar_person(l, requester);
	const char *ap_reg = registrar_person(l, approver);

	if (rq == NULL || ap == NULL || strcmp(rq, ap) == 0)
		return 0;
	if (ap_reg != NULL && strcmp(ap_reg, rq) == 0)
		return 0;
	if (rq_reg != NULL && strcmp(rq_reg, ap) == 0)
		return 0;
	return 1;
}

const char *
ledger_tenant_at(const struct ledger *l, size_t i)
{
	return i < l->nt ? l->t[i]->id : NULL;
}

const char *
ledger_tenant_name(const struct ledger *l, const char *tenant)
{
	const struct ltenant *t = tenant_get(l, tenant);

	return t != NULL ? t->name : NULL;
}

const char *const *
ledger_tenant_recipients(const struct ledger *l, const char *tenant,
    size_t *n)
{
	const struct ltenant *t = tenant_get(l, tenant);

	*n = t != NULL ? t->recipients.n : 0;
	return t != NULL ? (const char *const *)t->recipients.v : NULL;
}

const struct ledger_job *
ledger_job_named(const struct ledger *l, const char *job)
{
	uint8_t h[JOBS_HASH_LEN];
	const struct ledger_job *j;
	uint8_t id[JOBS_ID_LEN];

	if (job == NULL)
		return NULL;
	if (strlen(job) == 2 * JOBS_ID_LEN) {
		if (jobs_id_parse(job, h) != 0)
			return NULL;
		if ((j = hmap_get(&l->job_ids, h, JOBS_ID_LEN)) != NULL)
			return j;
		/* a job requested before ids were shown whole: the 32 digits
		 * its request printed were the bytes its id hash hashes */
		memcpy(id, h, JOBS_ID_LEN);
		jobs_id_hash(id, h);
		return job_get(l, h);
	}
	return jobs_hash_parse(job, h) == 0 ? job_get(l, h) : NULL;
}

const struct ledger_job *
ledger_job(const struct ledger *l, const uint8_t id_hash[JOBS_HASH_LEN])
{
	return job_get(l, id_hash);
}

size_t
ledger_running(const struct ledger *l, const char *tenant)
{
	size_t i, n = 0;

	for (i = 0; i < l->nj; i++)
		if (l->j[i]->state == JOBS_RUNNING && (tenant == NULL ||
		    strcmp(l->j[i]->tenant, tenant) == 0))
			n++;
	return n;
}

int
ledger_paused(const struct ledger *l, const char *tenant)
{
	if (l->paused_all)
		return LEDGER_PAUSED_ALL;
	if (tenant == NULL ? l->paused.n > 0 : strv_has(&l->paused, tenant))
		return LEDGER_PAUSED_TENANT;
	return 0;
}

const char *const *
ledger_paused_tenants(const struct ledger *l, size_t *n)
{
	*n = l->paused.n;
	return (const char *const *)l->paused.v;
}

void
ledger_requests_since(const struct ledger *l, const char *principal,
    const char *tenant, uint64_t since, size_t *count, uint64_t *oldest)
{
	const struct lrequest *q;
	size_t i;

	*count = 0;
	if (oldest != NULL)
		*oldest = 0;
	for (i = 0; i < l->nreqs; i++) {
		q = &l->reqs[i];
		if (q->at < since ||
		    (principal != NULL && strcmp(q->principal, principal) != 0) ||
		    (tenant != NULL && strcmp(q->tenant, tenant) != 0))
			continue;
		/* the log is in time order: the first one counted is the
		 * oldest */
		if (*count == 0 && oldest != NULL)
			*oldest = q->at;
		(*count)++;
	}
}

size_t
ledger_run_count(const struct ledger *l)
{
	return l->nruns;
}

const struct ledger_run *
ledger_run_at(const struct ledger *l, size_t i)
{
	return i < l->nruns ? l->runs[i] : NULL;
}

const struct ledger_run *
ledger_run(const struct ledger *l, const char *id)
{
	return id != NULL ? hmap_get(&l->runmap, id, strlen(id)) : NULL;
}

const char *
ledger_probe_run(const struct ledger *l, const char *name)
{
	const struct lprincipal *p = principal_get(l, name);

	return p != NULL && p->probe_run[0] != '\0' ? p->probe_run : NULL;
}

const char *
ledger_run_probe(const struct ledger *l, const char *run, size_t i)
{
	size_t k;

	for (k = 0; run != NULL && k < l->np; k++)
		if (!l->p[k]->disabled && strcmp(l->p[k]->probe_run, run) == 0 &&
		    i-- == 0)
			return l->p[k]->name;
	return NULL;
}

const char *
ledger_lt_state_str(enum ledger_lt_state st)
{
	switch (st) {
	case LEDGER_LT_RUNNING: return "running";
	case LEDGER_LT_DONE: return "done";
	case LEDGER_LT_FAILED: return "failed";
	}
	return "unknown";
}

const struct ledger_ltjob *
ledger_ltjob(const struct ledger *l, const uint8_t id_hash[JOBS_HASH_LEN])
{
	return hmap_get(&l->ltmap, id_hash, JOBS_HASH_LEN);
}

const struct ledger_ltjob *
ledger_run_job(const struct ledger *l, const char *run, size_t i)
{
	size_t k;

	for (k = 0; run != NULL && k < l->nlt; k++)
		if (l->lt[k]->state == LEDGER_LT_RUNNING &&
		    strcmp(l->lt[k]->run, run) == 0 && i-- == 0)
			return l->lt[k];
	return NULL;
}

uint64_t
ledger_rows(const struct ledger *l)
{
	return l->rows;
}

const uint8_t *
ledger_head(const struct ledger *l)
{
	return l->head;
}

/* action_keys callbacks */
static int
keys_find(void *ctx, const uint8_t key_id[8], struct control_principal *p,
    const struct minisig_pubkey **pk)
{
	struct ledger *l = ctx;
	struct lprincipal *lp = hmap_get(&l->by_kid, key_id, 8);

	if (memcmp(key_id, l->root_kid, 8) == 0) {
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", LEDGER_ROOT);
		memcpy(p->key_id, key_id, 8);
		*pk = l->pins->root;
		return 0;
	}
	if (lp == NULL || lp->disabled)
		return ERR_DENIED;
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", lp->name);
	memcpy(p->key_id, lp->key_id, 8);
	*pk = lp->pk;
	return 0;
}

static int
keys_nonce_seen(void *ctx, const uint8_t nonce[ACTION_NONCE_LEN])
{
	struct ledger *l = ctx;

	return hmap_get(&l->nonce_set, nonce, ACTION_NONCE_LEN) != NULL;
}

struct action_keys
ledger_keys(struct ledger *l)
{
	struct action_keys k;

	k.find = keys_find;
	k.nonce_seen = keys_nonce_seen;
	k.ctx = l;
	return k;
}

static int
nonce_add(struct ledger *l, const uint8_t nonce[ACTION_NONCE_LEN])
{
	size_t i;
	uint8_t *v;

	if (l->nnonces == l->capnonces) {
		size_t cap = l->capnonces ? 2 * l->capnonces : 256;

		if ((v = realloc(l->nonces, cap * ACTION_NONCE_LEN)) == NULL)
			return ERR_NOMEM;
		l->nonces = v;
		l->capnonces = cap;
		/* the map's keys pointed into the old array */
		free(l->nonce_set.e);
		memset(&l->nonce_set, 0, sizeof(l->nonce_set));
		for (i = 0; i < l->nnonces; i++)
			if (hmap_put(&l->nonce_set, l->nonces +
			    i * ACTION_NONCE_LEN, ACTION_NONCE_LEN, l) != 0)
				return ERR_NOMEM;
	}
	memcpy(l->nonces + l->nnonces * ACTION_NONCE_LEN, nonce,
	    ACTION_NONCE_LEN);
	l->nnonces++;
	return hmap_put(&l->nonce_set, l->nonces + (l->nnonces - 1) *
	    ACTION_NONCE_LEN, ACTION_NONCE_LEN, l);
}

/* ---- one row ---- */

/* A principal's signed action recorded in a row, verified. */
struct signed_fact {
	struct action *a;
	const char *signer;		/* principal name or LEDGER_ROOT */
	uint8_t digest[32];		/* SHA-256 of the action's text */
};

static int
b64_decode(const char *s, struct buf **out)
{
	size_t n = strlen(s), got = 0;
	uint8_t *tmp;
	int r = 0;

	*out = NULL;
	if ((tmp = malloc(n + 1)) == NULL)
		return ERR_NOMEM;
	if (sodium_base642bin(tmp, n + 1, s, n, NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		r = ERR_FORMAT;
	else if ((*out = buf_new(got ? got : 1)) == NULL)
		r = ERR_NOMEM;
	else if ((r = buf_put(*out, tmp, got)) != 0) {
		buf_free(*out);
		*out = NULL;
	}
	free(tmp);
	return r;
}

/* Verifies the principal's action embedded in the service's text. */
static int
embedded(struct ledger *l, const struct action *svc, struct signed_fact *f)
{
	const char *sa = action_get(svc, "signed_action");
	const char *ss = action_get(svc, "signed_sig");
	struct buf *text = NULL, *sig = NULL;
	const struct lprincipal *p;
	const struct minisig_pubkey *pk;
	const char *cid;
	uint8_t kid[8];
	int r;

	memset(f, 0, sizeof(*f));
	if (sa == NULL && ss == NULL)
		return 0;
	if (sa == NULL || ss == NULL || b64_decode(sa, &text) != 0 ||
	    b64_decode(ss, &sig) != 0 ||
	    action_sig_keyid(buf_ptr(sig), buf_len(sig), kid) != 0) {
		r = bad(l, "the recorded signed action is malformed");
		goto out;
	}
	if (memcmp(kid, l->root_kid, 8) == 0) {
		pk = l->pins->root;
		f->signer = LEDGER_ROOT;
	} else if ((p = hmap_get(&l->by_kid, kid, 8)) != NULL && !p->disabled) {
		pk = p->pk;
		f->signer = p->name;
	} else {
		r = bad(l, "the recorded action is signed by a key no enabled "
		    "principal held");
		goto out;
	}
	if (((uint64_t)l->row->seq <= l->trust_seq ?
	    action_parse(buf_ptr(text), buf_len(text), &f->a) :
	    action_check(buf_ptr(text), buf_len(text), buf_ptr(sig),
	    buf_len(sig), pk, &f->a)) != 0) {
		r = bad(l, "the recorded action's signature does not verify");
		goto out;
	}
	cid = action_get(f->a, "control");
	if (cid == NULL || strcmp(cid, l->pins->control_id) != 0) {
		r = bad(l, "the recorded action was signed for another control "
		    "database");
		goto out;
	}
	if (keys_nonce_seen(l, action_nonce(f->a))) {
		r = bad(l, "the recorded action was accepted before (replay)");
		goto out;
	}
	if ((r = nonce_add(l, action_nonce(f->a))) != 0)
		goto out;
	if (l->row->principal == NULL ||
	    strcmp(l->row->principal, f->signer) != 0) {
		r = bad(l, "the row names another principal than the signer");
		goto out;
	}
	if ((r = sha256(f->digest, buf_ptr(text), buf_len(text))) != 0)
		err_set(l->why, l->whylen, "row %lld: cannot hash its signed "
		    "action (%s)", (long long)l->row->seq, err_str(r));
 out:
	if (r != 0) {
		action_free(f->a);
		f->a = NULL;
	}
	buf_free(text);
	buf_free(sig);
	return r;
}

/* Requires an embedded action of kind. */
static int
need(struct ledger *l, const struct signed_fact *f, const char *kind)
{
	if (f->a == NULL)
		return bad(l, "no signed %s recorded", kind);
	if (strcmp(action_kind(f->a), kind) != 0)
		return bad(l, "records a %s, not a %s", action_kind(f->a), kind);
	return 0;
}

static const char *
field(const struct signed_fact *f, const char *k)
{
	return action_get(f->a, k);
}

static int
hex32(const char *s, uint8_t out[32])
{
	size_t got = 0;

	if (s == NULL || strlen(s) != 64 ||
	    sodium_hex2bin(out, 32, s, 64, NULL, &got, NULL) != 0 || got != 32)
		return ERR_FORMAT;
	return 0;
}

/* The job an action names ("job" = its id, or the hex of its id hash). */
static struct ledger_job *
job_named(struct ledger *l, const struct signed_fact *f)
{
	return (struct ledger_job *)ledger_job_named(l, field(f, "job"));
}

/* --- admin facts --- */

static int
admin_may(struct ledger *l, const struct signed_fact *f, const char *tenant)
{
	if (!ledger_may(l, f->signer, CONTROL_CAP_ADMIN, tenant))
		return bad(l, "\"%s\" is not an admin%s", f->signer,
		    tenant != NULL ? " of this tenant" : "");
	return 0;
}

static int
apply_principal_added(struct ledger *l, const struct signed_fact *f)
{
	struct lprincipal *p = NULL;
	const char *name = field(f, "name"), *key = field(f, "pubkey");
	const char *person = field(f, "person");
	char line[128];
	struct lprincipal **v;
	int r;

	if ((r = need(l, f, "principal.add")) != 0 ||
	    (r = admin_may(l, f, NULL)) != 0)
		return r;
	if (name == NULL || !control_name_valid(name) || key == NULL ||
	    strlen(key) > 100)
		return bad(l, "malformed principal");
	if (principal_get(l, name) != NULL)
		return bad(l, "principal \"%s\" exists", name);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ERR_NOMEM;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(line, sizeof(line), "untrusted comment: x\n%s\n", key);
	if (minisig_pubkey_parse(line, strlen(line), &p->pk) != 0) {
		r = bad(l, "malformed key for \"%s\"", name);
		goto fail;
	}
	minisig_pubkey_keyid(p->pk, p->key_id);
	if (hmap_get(&l->by_kid, p->key_id, 8) != NULL ||
	    memcmp(p->key_id, l->root_kid, 8) == 0 ||
	    memcmp(p->key_id, l->service_kid, 8) == 0) {
		r = bad(l, "the key of \"%s\" is already in use", name);
		goto fail;
	}
	if (roles_mask(field(f, "roles"), &p->roles) != 0) {
		r = bad(l, "unknown role for \"%s\"", name);
		goto fail;
	}
	if ((p->person = strdup(person != NULL ? person : name)) == NULL ||
	    (p->registrar = strdup(f->signer)) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	if ((v = realloc(l->p, (l->np + 1) * sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	l->p = v;
	l->p[l->np++] = p;
	if ((r = hmap_put(&l->by_name, p->name, strlen(p->name), p)) != 0 ||
	    (r = hmap_put(&l->by_kid, p->key_id, 8, p)) != 0)
		return r;
	return 0;
 fail:
	principal_free(p);
	return r;
}

static struct lprincipal *
target(struct ledger *l, const struct signed_fact *f)
{
	return principal_get(l, field(f, "name"));
}

static int
apply_role_granted(struct ledger *l, const struct signed_fact *f)
{
	struct lprincipal *p;
	unsigned m;
	int r;

	if ((r = need(l, f, "principal.grant")) != 0 ||
	    (r = admin_may(l, f, NULL)) != 0)
		return r;
	if ((p = target(l, f)) == NULL)
		return bad(l, "no such principal");
	if (roles_mask(field(f, "roles"), &m) != 0)
		return bad(l, "unknown role");
	p->roles |= m;
	return 0;
}

static int
apply_principal_disabled(struct ledger *l, const struct signed_fact *f)
{
	struct lprincipal *p;
	int r;

	if ((r = need(l, f, "principal.disable")) != 0 ||
	    (r = admin_may(l, f, NULL)) != 0)
		return r;
	if ((p = target(l, f)) == NULL || p->disabled)
		return bad(l, "no such enabled principal");
	p->disabled = 1;
	return 0;
}

static int
apply_tenant_added(struct ledger *l, const struct signed_fact *f)
{
	const char *id = field(f, "tenant"), *name = field(f, "display_name");
	struct ltenant *t, **v;
	struct lprincipal *p;
	int r;

	if ((r = need(l, f, "tenant.add")) != 0 ||
	    (r = admin_may(l, f, NULL)) != 0)
		return r;
	if (id == NULL || *id == '\0' || name == NULL || *name == '\0')
		return bad(l, "malformed tenant");
	if (tenant_get(l, id) != NULL)
		return bad(l, "the tenant exists");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_NOMEM;
	if ((t->id = strdup(id)) == NULL || (t->name = strdup(name)) == NULL ||
	    (v = realloc(l->t, (l->nt + 1) * sizeof(*v))) == NULL) {
		free(t->id);
		free(t->name);
		free(t);
		return ERR_NOMEM;
	}
	l->t = v;
	l->t[l->nt++] = t;
	if ((r = hmap_put(&l->tenants, t->id, strlen(t->id), t)) != 0)
		return r;
	if (strv_split(field(f, "recipients"), &t->recipients) != 0)
		return bad(l, "malformed recipients");
	/* the admin who added it is assigned to it */
	if ((p = principal_get(l, f->signer)) != NULL)
		return strv_add(&p->tenants, id);
	return 0;
}

static int
apply_tenant_recipients(struct ledger *l, const struct signed_fact *f)
{
	struct ltenant *t;
	int r;

	if ((r = need(l, f, "tenant.recipients")) != 0 ||
	    (r = admin_may(l, f, field(f, "tenant"))) != 0)
		return r;
	if ((t = tenant_get(l, field(f, "tenant"))) == NULL)
		return bad(l, "no such tenant");
	if (strv_split(field(f, "recipients"), &t->recipients) != 0)
		return bad(l, "malformed recipients");
	return 0;
}

static int
apply_assignment(struct ledger *l, const struct signed_fact *f, int add)
{
	const char *tenant = field(f, "tenant");
	struct lprincipal *p;
	int r;

	if ((r = need(l, f, add ? "assignment.add" : "assignment.remove")) != 0 ||
	    (r = admin_may(l, f, tenant)) != 0)
		return r;
	if ((p = target(l, f)) == NULL || tenant_get(l, tenant) == NULL)
		return bad(l, "no such principal or tenant");
	if (!add) {
		if (!strv_has(&p->tenants, tenant))
			return bad(l, "no such assignment");
		strv_del(&p->tenants, tenant);
		return 0;
	}
	if (strv_has(&p->tenants, tenant))
		return bad(l, "already assigned");
	return strv_add(&p->tenants, tenant);
}

/* --- job facts --- */

static json_t *
detail_of(const struct audit_row *row)
{
	return row->detail != NULL ? json_loads(row->detail, 0, NULL) : NULL;
}

static int
may_export(const struct ledger *l, const char *who, const char *tenant,
    int pii)
{
	return ledger_may(l, who, CONTROL_CAP_EXPORT, tenant) &&
	    (!pii || ledger_may(l, who, CONTROL_CAP_EXPORT_PII, tenant));
}

/* The recipients the service resolved for the job (detail.recipients):
 * each registered for the tenant, and exactly those the request named
 * when it named any. */
static int
job_recipients(struct ledger *l, struct ledger_job *j, json_t *arr,
    const char *named)
{
	struct strv v = { NULL, 0 }, want = { NULL, 0 };
	const char *const *reg;
	size_t n, i, k;
	json_t *x;
	int r = 0;

	reg = ledger_tenant_recipients(l, j->tenant, &n);
	if (!json_is_array(arr) || strv_split(named, &want) != 0) {
		r = bad(l, "malformed recipients");
		goto out;
	}
	json_array_foreach(arr, i, x) {
		if (!json_is_string(x)) {
			r = bad(l, "malformed recipients");
			goto out;
		}
		for (k = 0; k < n && strcmp(reg[k], json_string_value(x)); k++)
			;
		if (k == n) {
			r = bad(l, "a recipient the tenant does not have");
			goto out;
		}
		if ((r = strv_add(&v, json_string_value(x))) != 0)
			goto out;
	}
	if (v.n == 0 || (want.n > 0 && want.n != v.n)) {
		r = bad(l, "recipients other than the request named");
		goto out;
	}
	for (i = 0; i < want.n; i++)
		if (!strv_has(&v, want.v[i])) {
			r = bad(l, "recipients other than the request named");
			goto out;
		}
	j->recipients = v.v;
	j->nrecipients = v.n;
	v.v = NULL;
	v.n = 0;
 out:
	strv_clear(&v);
	strv_clear(&want);
	return r;
}

/* The row's time, in seconds since the epoch. */
static uint64_t
row_at(const struct ledger *l)
{
	return l->row->at != NULL ? strtoull(l->row->at, NULL, 10) / 1000000 :
	    0;
}

/* Counts a request (export.requested, export.requeued) for the rate
 * limits: by its job's requester, for its job's tenant, at this row. */
static int
request_add(struct ledger *l, const struct ledger_job *j)
{
	struct lrequest *v;
	size_t cap;

	if (l->nreqs == l->capreqs) {
		cap = l->capreqs ? 2 * l->capreqs : 64;
		if ((v = realloc(l->reqs, cap * sizeof(*v))) == NULL)
			return ERR_NOMEM;
		l->reqs = v;
		l->capreqs = cap;
	}
	l->reqs[l->nreqs].principal = j->requester;
	l->reqs[l->nreqs].tenant = j->tenant;
	l->reqs[l->nreqs].at = row_at(l);
	l->nreqs++;
	return 0;
}

static int
same_json(const char *a, const char *b)
{
	json_t *x = json_loads(a != NULL ? a : "", 0, NULL);
	json_t *y = json_loads(b != NULL ? b : "", 0, NULL);
	int eq = x != NULL && y != NULL && json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return eq;
}

/* A request naming retry_of retries an earlier job of the same tenant,
 * scope and encryption mode that has finished one way or another. */
static int
request_retry_of(struct ledger *l, struct ledger_job *j, const char *hex)
{
	const struct ledger_job *old;

	if (hex == NULL || *hex == '\0')
		return 0;
	/* named as the requester named it: the job id (or its hash) */
	if ((old = ledger_job_named(l, hex)) == NULL)
		return bad(l, "retries a job the log does not hold");
	memcpy(j->retry_of, old->id_hash, JOBS_HASH_LEN);
	if (strcmp(old->tenant, j->tenant) != 0 ||
	    !same_json(old->scope_json, j->scope_json) ||
	    old->passphrase != j->passphrase)
		return bad(l, "a retry of another tenant, scope or encryption");
	if (old->state != JOBS_READY && old->state != JOBS_FAILED &&
	    old->state != JOBS_EXPIRED && old->state != JOBS_CANCELLED)
		return bad(l, "retries a job that is %s",
		    jobs_state_str(old->state));
	j->has_retry_of = 1;
	return 0;
}

static int
apply_requested(struct ledger *l, const struct signed_fact *f)
{
	const char *tenant = field(f, "tenant"), *pass = field(f, "passphrase");
	struct ledger_job *j = NULL, **v;
	json_t *d = NULL;
	const char *st, *hash;
	int r;

	if ((r = need(l, f, "export.request")) != 0)
		return r;
	if ((d = detail_of(l->row)) == NULL ||
	    (hash = json_string_value(json_object_get(d, "job_hash"))) == NULL ||
	    (st = json_string_value(json_object_get(d, "state"))) == NULL ||
	    l->row->scope == NULL || l->row->tenant == NULL ||
	    tenant == NULL || strcmp(tenant, l->row->tenant) != 0) {
		r = bad(l, "malformed request record");
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (hex32(hash, j->id_hash) != 0 || job_get(l, j->id_hash) != NULL ||
	    hmap_get(&l->job_ids, j->id_hash, JOBS_ID_LEN) != NULL ||
	    jobs_state_parse(st, &j->state) != 0 ||
	    (j->state != JOBS_QUEUED && j->state != JOBS_AWAITING_APPROVAL)) {
		r = bad(l, "malformed or repeated job");
		goto out;
	}
	j->high_risk = json_is_true(json_object_get(d, "high_risk"));
	j->pii = json_is_true(json_object_get(d, "pii"));
	j->passphrase = pass != NULL && strcmp(pass, "1") == 0;
	j->allow_empty = json_is_true(json_object_get(d, "allow_empty"));
	j->zstd = json_is_true(json_object_get(d, "zstd"));
	if (j->passphrase != json_is_true(json_object_get(d, "passphrase"))) {
		r = bad(l, "the passphrase mode differs from the request");
		goto out;
	}
	memcpy(j->request_digest, f->digest, 32);
	if ((j->tenant = strdup(tenant)) == NULL ||
	    (j->requester = strdup(f->signer)) == NULL ||
	    (j->scope_json = strdup(l->row->scope)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (!may_export(l, f->signer, tenant, j->pii)) {
		r = bad(l, "\"%s\" may not export this tenant%s", f->signer,
		    j->pii ? "'s personal data" : "");
		goto out;
	}
	if (j->high_risk && j->state != JOBS_AWAITING_APPROVAL) {
		r = bad(l, "a high-risk job that skips approval");
		goto out;
	}
	if (!j->passphrase && (r = job_recipients(l, j, json_object_get(d,
	    "recipients"), field(f, "recipients"))) != 0)
		goto out;
	if ((r = request_retry_of(l, j, field(f, "retry_of"))) != 0)
		goto out;
	if (field(f, "idem") != NULL && field(f, "idem")[0] != '\0' &&
	    (j->idem = strdup(field(f, "idem"))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	j->requested_at = row_at(l);
	if ((v = realloc(l->j, (l->nj + 1) * sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	l->j = v;
	l->j[l->nj++] = j;
	if ((r = hmap_put(&l->jobs, j->id_hash, JOBS_HASH_LEN, j)) == 0)
		r = hmap_put(&l->job_ids, j->id_hash, JOBS_ID_LEN, j);
	if (r == 0)
		r = request_add(l, j);
	j = NULL;
 out:
	job_free(j);
	json_decref(d);
	return r;
}

static int
apply_approved(struct ledger *l, const struct signed_fact *f)
{
	struct ledger_job *j;
	uint8_t want[32];
	int r;

	if ((r = need(l, f, "export.approve")) != 0)
		return r;
	if ((j = job_named(l, f)) == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_AWAITING_APPROVAL)
		return bad(l, "the job was %s, not awaiting approval",
		    jobs_state_str(j->state));
	if (hex32(field(f, "request"), want) != 0 ||
	    memcmp(want, j->request_digest, 32) != 0)
		return bad(l, "the approval names another request");
	if (!ledger_may(l, f->signer, CONTROL_CAP_APPROVE, j->tenant))
		return bad(l, "\"%s\" may not approve this tenant's exports",
		    f->signer);
	if (ledger_probe_run(l, f->signer) != NULL)
		return bad(l, "a leak test's probe approves nothing");
	if (!ledger_two_persons(l, j->requester, f->signer))
		return bad(l, "\"%s\" is not a second person for \"%s\"",
		    f->signer, j->requester);
	free(j->approver);
	if ((j->approver = strdup(f->signer)) == NULL)
		return ERR_NOMEM;
	j->state = JOBS_QUEUED;
	return 0;
}

/* The job a service row names (detail.job_hash). */
static struct ledger_job *
row_job(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	uint8_t h[32];
	struct ledger_job *j = NULL;

	if (d != NULL &&
	    hex32(json_string_value(json_object_get(d, "job_hash")), h) == 0)
		j = job_get(l, h);
	json_decref(d);
	return j;
}

/* detail.lease: 1 with out filled, 0 when the row names none, -1 when
 * it is malformed. */
static int
row_lease(const struct ledger *l, uint8_t out[JOBS_LEASE_LEN])
{
	json_t *d = detail_of(l->row);
	const char *h = json_string_value(json_object_get(d, "lease"));
	size_t got = 0;
	int r = 0;

	if (h != NULL)
		r = strlen(h) == 2 * JOBS_LEASE_LEN && sodium_hex2bin(out,
		    JOBS_LEASE_LEN, h, strlen(h), NULL, &got, NULL) == 0 &&
		    got == JOBS_LEASE_LEN ? 1 : -1;
	json_decref(d);
	return r;
}

/* A worker's claim: the job is of a tenant the worker works for, its
 * requester may still export it, and no passphrase is handed to anyone. */
static int
started_by_worker(struct ledger *l, const struct signed_fact *f,
    const struct ledger_job *j)
{
	if (!ledger_may(l, f->signer, CONTROL_CAP_WORK, j->tenant))
		return bad(l, "\"%s\" may not run this tenant's jobs", f->signer);
	if (j->passphrase)
		return bad(l, "a worker ran a passphrase export");
	if (!may_export(l, j->requester, j->tenant, j->pii))
		return bad(l, "the requester may no longer export this scope");
	return 0;
}

static int
apply_started(struct ledger *l, const struct signed_fact *f)
{
	const char *kind = f->a != NULL ? action_kind(f->a) : NULL;
	int worker = kind != NULL && strcmp(kind, "worker.claim") == 0;
	struct ledger_job *j;
	int r;

	if (kind != NULL && !worker && strcmp(kind, "export.run") != 0)
		return bad(l, "records a %s", kind);
	j = kind != NULL && !worker ? job_named(l, f) : row_job(l);
	if (j == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_QUEUED)
		return bad(l, "the job was %s, not queued",
		    jobs_state_str(j->state));
	if (worker && (r = started_by_worker(l, f, j)) != 0)
		return r;
	if (kind != NULL && !worker && !may_export(l, f->signer, j->tenant,
	    j->pii))
		return bad(l, "\"%s\" may not run this export", f->signer);
	if (kind != NULL && !worker && j->passphrase &&
	    strcmp(f->signer, j->requester) != 0)
		return bad(l, "only the requester runs a passphrase export");
	if (j->high_risk && j->approver == NULL)
		return bad(l, "a high-risk job without an approval");
	if ((r = row_lease(l, j->lease)) < 0)
		return bad(l, "a malformed lease");
	j->has_lease = r;
	if (ledger_probe_run(l, j->requester) != NULL ||
	    (f->a != NULL && ledger_probe_run(l, f->signer) != NULL))
		return bad(l, "a leak test's probe runs nothing, and its jobs "
		    "never run");
	j->state = JOBS_RUNNING;
	return 0;
}

/* running -> to, from the service's own row. */
static int
apply_service_state(struct ledger *l, enum jobs_state to)
{
	struct ledger_job *j = row_job(l);
	uint8_t lease[JOBS_LEASE_LEN];
	json_t *d;
	const char *a;
	int r = 0;

	if (j == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_RUNNING && !(to == JOBS_FAILED &&
	    j->state == JOBS_QUEUED))
		return bad(l, "the job was %s, not running",
		    jobs_state_str(j->state));
	if (j->state == JOBS_RUNNING && j->has_lease &&
	    (row_lease(l, lease) != 1 ||
	    memcmp(lease, j->lease, JOBS_LEASE_LEN) != 0))
		return bad(l, "not the lease the job runs under");
	j->has_lease = 0;
	j->state = to;
	if (to != JOBS_READY)
		return 0;
	d = detail_of(l->row);
	a = json_string_value(json_object_get(d, "archive"));
	if (a == NULL || hex32(json_string_value(json_object_get(d,
	    "manifest_digest")), j->manifest_digest) != 0)
		r = bad(l, "a completed job without its archive");
	else if ((j->archive = strdup(a)) == NULL)
		r = ERR_NOMEM;
	json_decref(d);
	return r;
}

static int
apply_cancelled(struct ledger *l, const struct signed_fact *f)
{
	struct ledger_job *j;
	int r;

	if ((r = need(l, f, "job.cancel")) != 0)
		return r;
	if ((j = job_named(l, f)) == NULL)
		return bad(l, "no such job");
	if (strcmp(f->signer, j->requester) != 0 &&
	    !ledger_may(l, f->signer, CONTROL_CAP_APPROVE, j->tenant))
		return bad(l, "\"%s\" may not cancel this job", f->signer);
	if (j->state != JOBS_QUEUED && j->state != JOBS_AWAITING_APPROVAL &&
	    j->state != JOBS_READY && j->state != JOBS_RUNNING)
		return bad(l, "the job was %s", jobs_state_str(j->state));
	j->state = JOBS_CANCELLED;
	j->has_lease = 0;
	return 0;
}

static int
apply_fetched(struct ledger *l, const struct signed_fact *f)
{
	struct ledger_job *j;
	int r;

	if ((r = need(l, f, "export.fetch")) != 0)
		return r;
	if ((j = job_named(l, f)) == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_READY)
		return bad(l, "the job was %s, not ready",
		    jobs_state_str(j->state));
	if (!ledger_may(l, f->signer, CONTROL_CAP_FETCH, j->tenant) ||
	    (j->pii && !ledger_may(l, f->signer, CONTROL_CAP_EXPORT_PII,
	    j->tenant)))
		return bad(l, "\"%s\" may not fetch this export", f->signer);
	if (ledger_probe_run(l, f->signer) != NULL)
		return bad(l, "a leak test's probe fetches nothing");
	j->fetches++;
	return 0;
}

/* A download that was not handed over is given back. */
static int
apply_fetch_failed(struct ledger *l)
{
	struct ledger_job *j = row_job(l);

	if (j == NULL || j->fetches == 0)
		return bad(l, "no download to give back");
	j->fetches--;
	return 0;
}

static int
apply_expired(struct ledger *l)
{
	struct ledger_job *j = row_job(l);

	if (j == NULL)
		return bad(l, "no such job");
	if (j->state == JOBS_CANCELLED || j->state == JOBS_EXPIRED ||
	    j->state == JOBS_SUPERSEDED)
		return bad(l, "the job was already %s",
		    jobs_state_str(j->state));
	j->state = JOBS_EXPIRED;
	j->has_lease = 0;
	return 0;
}

/* The requester asks again, with the same idempotency key and scope,
 * for a job that failed: it is queued again. */
static int
apply_requeued(struct ledger *l, const struct signed_fact *f)
{
	struct ledger_job *j = row_job(l);
	const char *idem = field(f, "idem");
	int r;

	if ((r = need(l, f, "export.request")) != 0)
		return r;
	if (j == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_FAILED)
		return bad(l, "the job was %s, not failed",
		    jobs_state_str(j->state));
	if (strcmp(f->signer, j->requester) != 0 || j->idem == NULL ||
	    idem == NULL || strcmp(idem, j->idem) != 0)
		return bad(l, "not the requester's idempotency key");
	if (field(f, "tenant") == NULL ||
	    strcmp(field(f, "tenant"), j->tenant) != 0 ||
	    !same_json(l->row->scope, j->scope_json))
		return bad(l, "another tenant or scope than the job's");
	if (!may_export(l, f->signer, j->tenant, j->pii))
		return bad(l, "\"%s\" may not export this tenant", f->signer);
	j->state = JOBS_QUEUED;
	return request_add(l, j);
}

/* A retry was published: the job it retried is superseded. */
static int
apply_superseded(struct ledger *l)
{
	struct ledger_job *j = row_job(l), *by = NULL;
	json_t *d = detail_of(l->row);
	uint8_t h[32];

	if (d != NULL && hex32(json_string_value(json_object_get(d, "by")),
	    h) == 0)
		by = job_get(l, h);
	json_decref(d);
	if (j == NULL || by == NULL)
		return bad(l, "no such job");
	if (j->state != JOBS_READY && j->state != JOBS_FAILED &&
	    j->state != JOBS_EXPIRED)
		return bad(l, "the job was %s", jobs_state_str(j->state));
	if (by->state != JOBS_READY || !by->has_retry_of ||
	    memcmp(by->retry_of, j->id_hash, JOBS_HASH_LEN) != 0)
		return bad(l, "superseded by a job that is not its published "
		    "retry");
	j->state = JOBS_SUPERSEDED;
	return 0;
}

/* An admin pauses or resumes claiming, for one tenant or for all. */
static int
apply_queue(struct ledger *l, const struct signed_fact *f, int pause)
{
	const char *t = field(f, "tenant");
	int all, r;

	if ((r = need(l, f, pause ? "queue.pause" : "queue.resume")) != 0)
		return r;
	all = t == NULL || *t == '\0';
	if ((r = admin_may(l, f, all ? NULL : t)) != 0)
		return r;
	if (!all && tenant_get(l, t) == NULL)
		return bad(l, "no such tenant");
	if (all) {
		if (l->paused_all == pause)
			return bad(l, "claiming was already %s",
			    pause ? "paused" : "running");
		l->paused_all = pause;
		return 0;
	}
	if (strv_has(&l->paused, t) == pause)
		return bad(l, "the tenant was already %s",
		    pause ? "paused" : "running");
	if (!pause) {
		strv_del(&l->paused, t);
		return 0;
	}
	return strv_add(&l->paused, t);
}

/* --- leak test facts (docs/AUDIT.md) --- */

/* A 32-hex run id from the row's detail, and the run it names. */
static struct ledger_run *
row_run(struct ledger *l, json_t *d, int must_be_open)
{
	const char *id = json_string_value(json_object_get(d, "run"));
	struct ledger_run *run;

	if (id == NULL || strlen(id) != 32 || strspn(id,
	    "0123456789abcdef") != 32)
		return NULL;
	run = hmap_get(&l->runmap, id, 32);
	if (run != NULL && must_be_open && !run->open)
		return NULL;
	return run;
}

static int
apply_lt_started(struct ledger *l, const struct signed_fact *f)
{
	json_t *d = detail_of(l->row);
	const char *id = json_string_value(json_object_get(d, "run"));
	const char *cn = field(f, "canaries");
	struct ledger_run *run = NULL, **v;
	int r;

	if ((r = need(l, f, "leaktest.run")) != 0)
		goto out;
	if (!ledger_may(l, f->signer, CONTROL_CAP_AUDIT, NULL)) {
		r = bad(l, "\"%s\" may not run the leak test", f->signer);
		goto out;
	}
	if (id == NULL || strlen(id) != 32 || strspn(id,
	    "0123456789abcdef") != 32 || hmap_get(&l->runmap, id, 32) != NULL) {
		r = bad(l, "malformed or repeated run");
		goto out;
	}
	if ((run = calloc(1, sizeof(*run))) == NULL ||
	    (run->auditor = strdup(f->signer)) == NULL ||
	    (v = realloc(l->runs, (l->nruns + 1) * sizeof(*v))) == NULL) {
		if (run != NULL)
			free(run->auditor);
		free(run);
		r = ERR_NOMEM;
		goto out;
	}
	snprintf(run->id, sizeof(run->id), "%s", id);
	run->open = 1;
	run->canaries = cn != NULL && strcmp(cn, "1") == 0;
	l->runs = v;
	l->runs[l->nruns++] = run;
	r = hmap_put(&l->runmap, run->id, 32, run);
 out:
	json_decref(d);
	return r;
}

/* A probe: a throwaway principal of one open run, assigned to one
 * tenant, with roles that export nothing (the log refuses its runs,
 * approvals and fetches). */
static int
apply_lt_probe_added(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, 1);
	const char *name = json_string_value(json_object_get(d, "name"));
	const char *key = json_string_value(json_object_get(d, "pubkey"));
	const char *roles = json_string_value(json_object_get(d, "roles"));
	const char *tenant = json_string_value(json_object_get(d, "tenant"));
	struct lprincipal *p = NULL, **v;
	char line[160];
	unsigned allowed = 0, k;
	int r;

	for (k = 0; k < NROLES; k++)
		if (strcmp(role_caps[k].role, "admin") != 0 &&
		    strcmp(role_caps[k].role, "auditor") != 0)
			allowed |= 1u << k;
	if (run == NULL || name == NULL || !control_name_valid(name) ||
	    key == NULL || strlen(key) > 100 || tenant_get(l, tenant) == NULL ||
	    principal_get(l, name) != NULL) {
		r = bad(l, "malformed probe");
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->probe_run, sizeof(p->probe_run), "%s", run->id);
	snprintf(line, sizeof(line), "untrusted comment: x\n%s\n", key);
	if (minisig_pubkey_parse(line, strlen(line), &p->pk) != 0 ||
	    roles_mask(roles, &p->roles) != 0 || (p->roles & ~allowed) != 0) {
		r = bad(l, "malformed probe key or roles");
		goto fail;
	}
	minisig_pubkey_keyid(p->pk, p->key_id);
	if (ledger_key_in_use(l, p->key_id)) {
		r = bad(l, "the probe's key is already in use");
		goto fail;
	}
	if ((p->person = strdup(name)) == NULL ||
	    (p->registrar = strdup(run->auditor)) == NULL ||
	    (r = strv_add(&p->tenants, tenant)) != 0 ||
	    (v = realloc(l->p, (l->np + 1) * sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto fail;
	}
	l->p = v;
	l->p[l->np++] = p;
	if ((r = hmap_put(&l->by_name, p->name, strlen(p->name), p)) == 0)
		r = hmap_put(&l->by_kid, p->key_id, 8, p);
	goto out;
 fail:
	principal_free(p);
 out:
	json_decref(d);
	return r;
}

/* The probe is disabled; its jobs that wait are cancelled with it. */
static int
apply_lt_probe_removed(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, 1);
	struct lprincipal *p = principal_get(l,
	    json_string_value(json_object_get(d, "name")));
	size_t i;
	int r = 0;

	if (run == NULL || p == NULL || p->disabled ||
	    strcmp(p->probe_run, run->id) != 0) {
		r = bad(l, "no such probe of an open run");
		goto out;
	}
	p->disabled = 1;
	for (i = 0; i < l->nj; i++)
		if (strcmp(l->j[i]->requester, p->name) == 0 &&
		    (l->j[i]->state == JOBS_QUEUED ||
		    l->j[i]->state == JOBS_AWAITING_APPROVAL))
			l->j[i]->state = JOBS_CANCELLED;
 out:
	json_decref(d);
	return r;
}

static int
apply_lt_job_started(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, 1);
	const char *tenant = l->row->tenant;
	struct ledger_ltjob *j = NULL, **v;
	int r;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (run == NULL || tenant == NULL || *tenant == '\0' ||
	    strlen(tenant) > 256 || hex32(json_string_value(json_object_get(d,
	    "job_hash")), j->id_hash) != 0 ||
	    hmap_get(&l->ltmap, j->id_hash, JOBS_HASH_LEN) != NULL ||
	    job_get(l, j->id_hash) != NULL) {
		r = bad(l, "malformed or repeated leak test job");
		goto out;
	}
	if ((j->tenant = strdup(tenant)) == NULL ||
	    (v = realloc(l->lt, (l->nlt + 1) * sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	snprintf(j->run, sizeof(j->run), "%s", run->id);
	j->state = LEDGER_LT_RUNNING;
	l->lt = v;
	l->lt[l->nlt++] = j;
	r = hmap_put(&l->ltmap, j->id_hash, JOBS_HASH_LEN, j);
	j = NULL;
 out:
	if (j != NULL)
		free(j->tenant);
	free(j);
	json_decref(d);
	return r;
}

static int
apply_lt_job_finished(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, 0);
	const char *st = json_string_value(json_object_get(d, "state"));
	struct ledger_ltjob *j = NULL;
	uint8_t h[32];
	int r = 0;

	if (run == NULL || hex32(json_string_value(json_object_get(d,
	    "job_hash")), h) != 0 || (j = hmap_get(&l->ltmap, h,
	    JOBS_HASH_LEN)) == NULL || strcmp(j->run, run->id) != 0 ||
	    j->state != LEDGER_LT_RUNNING || st == NULL ||
	    (strcmp(st, "done") != 0 && strcmp(st, "failed") != 0)) {
		r = bad(l, "no such running leak test job");
		goto out;
	}
	j->state = strcmp(st, "done") == 0 ? LEDGER_LT_DONE : LEDGER_LT_FAILED;
 out:
	json_decref(d);
	return r;
}

/* finished or aborted: nothing of the run may be left behind. */
static int
apply_lt_closed(struct ledger *l)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, 1);
	int r = 0;

	if (run == NULL)
		r = bad(l, "no such open run");
	else if (ledger_run_probe(l, run->id, 0) != NULL ||
	    ledger_run_job(l, run->id, 0) != NULL)
		r = bad(l, "the run still has probes or running jobs");
	else
		run->open = 0;
	json_decref(d);
	return r;
}

/* Where canaries were planted (so that a sweep can delete those of a run
 * that died), and that they were deleted. */
static int
apply_lt_canaries(struct ledger *l, int planted)
{
	json_t *d = detail_of(l->row);
	struct ledger_run *run = row_run(l, d, planted);
	int r = 0;

	json_decref(d);
	if (run == NULL)
		return bad(l, "no such run");
	if (!planted) {
		run->deleted = 1;
		return 0;
	}
	if (!run->canaries)
		return bad(l, "canaries in a run that may not plant them");
	d = detail_of(l->row);
	if (!json_is_array(json_object_get(d, "canaries")))
		r = bad(l, "malformed canaries");
	else if (run->planted == NULL && (run->planted = json_array()) == NULL)
		r = ERR_NOMEM;
	else if (json_array_extend(run->planted, json_object_get(d,
	    "canaries")) != 0)
		r = ERR_NOMEM;
	json_decref(d);
	run->deleted = 0;
	return r;
}

/* The service's own leak test rows carry no principal's action. */
static int
apply_leaktest(struct ledger *l, const struct signed_fact *f)
{
	const char *e = l->row->event + strlen("leaktest.");

	if (strcmp(e, "started") == 0)
		return apply_lt_started(l, f);
	if (f->a != NULL)
		return bad(l, "records a %s it does not apply",
		    action_kind(f->a));
	if (strcmp(e, "probe.added") == 0)
		return apply_lt_probe_added(l);
	if (strcmp(e, "probe.removed") == 0)
		return apply_lt_probe_removed(l);
	if (strcmp(e, "job.started") == 0)
		return apply_lt_job_started(l);
	if (strcmp(e, "job.finished") == 0)
		return apply_lt_job_finished(l);
	if (strcmp(e, "finished") == 0 || strcmp(e, "aborted") == 0)
		return apply_lt_closed(l);
	if (strcmp(e, "canaries.planted") == 0 ||
	    strcmp(e, "canaries.deleted") == 0)
		return apply_lt_canaries(l, e[9] == 'p');
	return 0;	/* a record: denied, checks, ... */
}

/* The events that change state; every other event is a record only. */
static int
apply(struct ledger *l, const struct signed_fact *f)
{
	const char *e = l->row->event;

	if (strcmp(e, "principal.added") == 0)
		return apply_principal_added(l, f);
	if (strcmp(e, "role.granted") == 0)
		return apply_role_granted(l, f);
	if (strcmp(e, "principal.disabled") == 0)
		return apply_principal_disabled(l, f);
	if (strcmp(e, "tenant.added") == 0)
		return apply_tenant_added(l, f);
	if (strcmp(e, "tenant.recipients") == 0)
		return apply_tenant_recipients(l, f);
	if (strcmp(e, "assignment.added") == 0)
		return apply_assignment(l, f, 1);
	if (strcmp(e, "assignment.removed") == 0)
		return apply_assignment(l, f, 0);
	if (strcmp(e, "export.requested") == 0)
		return apply_requested(l, f);
	if (strcmp(e, "export.approved") == 0)
		return apply_approved(l, f);
	if (strcmp(e, "export.started") == 0)
		return apply_started(l, f);
	if (strcmp(e, "export.completed") == 0)
		return apply_service_state(l, JOBS_READY);
	if (strcmp(e, "export.failed") == 0)
		return apply_service_state(l, JOBS_FAILED);
	if (strcmp(e, "export.retry") == 0)
		return apply_service_state(l, JOBS_QUEUED);
	if (strcmp(e, "export.held") == 0)
		return apply_service_state(l, JOBS_AWAITING_APPROVAL);
	if (strcmp(e, "export.cancelled") == 0)
		return apply_cancelled(l, f);
	if (strcmp(e, "fetch.started") == 0)
		return apply_fetched(l, f);
	if (strcmp(e, "fetch.failed") == 0)
		return apply_fetch_failed(l);
	if (strcmp(e, "export.expired") == 0)
		return apply_expired(l);
	if (strcmp(e, "export.requeued") == 0)
		return apply_requeued(l, f);
	if (strcmp(e, "export.superseded") == 0)
		return apply_superseded(l);
	if (strcmp(e, "queue.paused") == 0 || strcmp(e, "queue.resumed") == 0)
		return apply_queue(l, f, e[6] == 'p');
	if (strncmp(e, "leaktest.", 9) == 0)
		return apply_leaktest(l, f);
	/* A record that changes nothing must not carry a principal's
	 * action: a signed fact only counts where it is applied. */
	if (f->a != NULL)
		return bad(l, "records a %s it does not apply",
		    action_kind(f->a));
	return 0;
}

/* The row's columns must be what the service signed. */
static int
same(const char *col, const char *signed_val)
{
	if (col == NULL || signed_val == NULL)
		return col == signed_val;
	return strcmp(col, signed_val) == 0;
}

static int
check_columns(struct ledger *l, const struct action *a)
{
	const struct audit_row *row = l->row;
	char seq[24], prev[65];
	json_t *x = NULL, *y = NULL;
	int eq;

	snprintf(seq, sizeof(seq), "%lld", (long long)row->seq);
	sodium_bin2hex(prev, sizeof(prev), row->prev, sizeof(row->prev));
	if (!same(action_get(a, "control"), l->pins->control_id))
		return bad(l, "signed for another control database");
	if (!same(action_get(a, "seq"), seq) ||
	    !same(action_get(a, "prev"), prev))
		return bad(l, "its signed place in the log differs (rows "
		    "were removed, inserted or reordered)");
	if (!same(row->event, action_kind(a)) ||
	    !same(row->principal, action_get(a, "principal")) ||
	    !same(row->tenant, action_get(a, "tenant")) ||
	    !same(row->job, action_get(a, "job")) ||
	    !same(row->scope, action_get(a, "scope")) ||
	    !same(row->host, action_get(a, "host")) ||
	    !same(row->tool_version, action_get(a, "tool")))
		return bad(l, "its columns differ from what the service signed");
	if (row->detail != NULL || action_get(a, "detail") != NULL) {
		if (row->detail == NULL || action_get(a, "detail") == NULL)
			return bad(l, "its detail differs from what the service "
			    "signed");
		/* A row verified before hashes, through the chain, to the
		 * verified head: its detail is the one compared then (the
		 * hash covers both). Parsing two JSON texts per row on
		 * every step is most of what replaying the log costs. */
		if ((uint64_t)row->seq <= l->trust_seq)
			return 0;
		x = json_loads(row->detail, 0, NULL);
		y = json_loads(action_get(a, "detail"), 0, NULL);
		eq = x != NULL && y != NULL && json_equal(x, y);
		json_decref(x);
		json_decref(y);
		if (!eq)
			return bad(l, "its detail differs from what the service "
			    "signed");
	}
	return 0;
}

static int
on_row(void *ctx, const struct audit_row *row)
{
	struct ledger *l = ctx;
	struct action *svc = NULL;
	struct signed_fact f;
	uint8_t kid[8];
	int r;

	memset(&f, 0, sizeof(f));
	l->row = row;
	l->rows = (uint64_t)row->seq;
	memcpy(l->head, row->hash, 32);
	if (l->pin_seq == (uint64_t)row->seq) {
		if (sodium_memcmp(l->pin_hash, row->hash, 32) != 0)
			return bad(l, "not the row this service wrote there "
			    "(the log was rewritten)");
		l->pin_seen = 1;
	}
	if (l->trust_seq == (uint64_t)row->seq &&
	    sodium_memcmp(l->trust_hash, row->hash, 32) != 0)
		return bad(l, "not the row verified there before");
	if (row->v == 1)
		return 0;	/* history from before the signed log */
	if (row->action == NULL || row->signature == NULL ||
	    action_sig_keyid((const uint8_t *)row->signature,
	    strlen(row->signature), kid) != 0 ||
	    memcmp(kid, l->service_kid, 8) != 0)
		return bad(l, "not signed by the service key");
	if (((uint64_t)row->seq <= l->trust_seq ?
	    action_parse((const uint8_t *)row->action, strlen(row->action),
	    &svc) :
	    action_check((const uint8_t *)row->action, strlen(row->action),
	    (const uint8_t *)row->signature, strlen(row->signature),
	    l->pins->service, &svc)) != 0)
		return bad(l, "the service's signature does not verify");
	if ((r = check_columns(l, svc)) != 0 ||
	    (r = embedded(l, svc, &f)) != 0)
		goto out;
	r = apply(l, &f);
 out:
	action_free(f.a);
	action_free(svc);
	return r;
}

/* A small state file's text: 0, ERR_NOENT when there is none, ERR_IO,
 * or ERR_FORMAT when it is empty. */
static int
state_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ERR_NOENT : ERR_IO;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return ERR_FORMAT;
	buf[n] = '\0';
	return 0;
}

/* Replaces the state file path with one holding line, whole: a new file
 * (fsynced first when durable) renamed over it. Under pin_lock. */
static int
state_replace(const char *path, const char *line, int durable)
{
	char tmp[4200];
	int fd, r = ERR_IO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ERR_INVALID;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return ERR_IO;
	if (write(fd, line, strlen(line)) == (ssize_t)strlen(line) &&
	    (!durable || fsync(fd) == 0) && rename(tmp, path) == 0)
		r = 0;
	else
		unlink(tmp);
	close(fd);
	return r;
}

/* "SEQ HEX[ CONTROL_ID]\n"; absent file: nothing pinned. cid (may be
 * NULL) gets the control database's id when the file names it, else "". */
static int
read_pin_id(const char *path, uint64_t *seq, uint8_t hash[32],
    char cid[CONTROL_ID_MAX + 1])
{
	char buf[256], hex[80], id[CONTROL_ID_MAX + 2];
	unsigned long long s;
	int k, r;

	*seq = 0;
	if (cid != NULL)
		cid[0] = '\0';
	if (path == NULL)
		return 0;
	if ((r = state_read(path, buf, sizeof(buf))) != 0)
		return r == ERR_NOENT ? 0 : r;
	_Static_assert(CONTROL_ID_MAX + 2 == 66, "the width below");
	k = sscanf(buf, "%llu %79s %65s", &s, hex, id);
	if (k < 2 || hex32(hex, hash) != 0)
		return ERR_FORMAT;
	*seq = s;
	if (k == 3 && cid != NULL && strlen(id) <= CONTROL_ID_MAX &&
	    action_value_valid(id))
		snprintf(cid, CONTROL_ID_MAX + 1, "%s", id);
	return 0;
}

static int
read_pin(const char *path, uint64_t *seq, uint8_t hash[32])
{
	return read_pin_id(path, seq, hash, NULL);
}

/* Takes the head file's lock (HEAD.lock, flock): the descriptor, or -1. */
static int
pin_lock(const char *head_file)
{
	char path[4096];
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", head_file) >=
	    (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes "SEQ HEX[ CONTROL_ID]" as the head file, durably and whole
 * (a new file, fsync, rename over the old one). Under pin_lock. */
static int
pin_write(const char *head_file, uint64_t seq, const uint8_t hash[32],
    const char *control_id)
{
	char line[256], hex[65];

	sodium_bin2hex(hex, sizeof(hex), hash, 32);
	if (control_id != NULL && strlen(control_id) <= CONTROL_ID_MAX &&
	    action_value_valid(control_id))
		snprintf(line, sizeof(line), "%llu %s %s\n",
		    (unsigned long long)seq, hex, control_id);
	else
		snprintf(line, sizeof(line), "%llu %s\n",
		    (unsigned long long)seq, hex);
	return state_replace(head_file, line, 1);
}

int
ledger_pin_control_id(const char *head_file, const char *control_id)
{
	char cid[CONTROL_ID_MAX + 1];
	uint64_t seq = 0;
	uint8_t h[32];
	int lock, r;

	if (head_file == NULL || strlen(control_id) > CONTROL_ID_MAX ||
	    !action_value_valid(control_id))
		return ERR_INVALID;
	if ((lock = pin_lock(head_file)) < 0)
		return ERR_IO;
	/* nothing pinned, or the id named already: nothing to change */
	if ((r = read_pin_id(head_file, &seq, h, cid)) == 0 && seq != 0 &&
	    strcmp(cid, control_id) != 0)
		r = pin_write(head_file, seq, h, control_id);
	close(lock);
	return r;
}

int
ledger_pinned_control_id(const char *head_file,
    char cid[CONTROL_ID_MAX + 1])
{
	uint64_t seq;
	uint8_t h[32];
	int r;

	if ((r = read_pin_id(head_file, &seq, h, cid)) != 0)
		return r;
	return cid[0] != '\0' ? 0 : ERR_NOENT;
}

int
ledger_pin_head(const char *head_file, uint64_t seq, const uint8_t hash[32],
    const char *control_id)
{
	uint64_t cur = 0;
	uint8_t h[32];
	int lock, r = 0;

	if (head_file == NULL)
		return 0;
	if ((lock = pin_lock(head_file)) < 0)
		return ERR_IO;
	if (!(read_pin(head_file, &cur, h) == 0 && cur >= seq))
		r = pin_write(head_file, seq, hash, control_id);
	close(lock);
	return r;
}

/*
 * The verified prefix (HEAD.verified beside the pinned head): "SEQ HEX
 * CONTROL_ID ROOT_KEY_ID SERVICE_KEY_ID\n", written after a whole log was
 * verified with those pins. A cache: when it is absent, unreadable, or
 * names other pins, every row is checked.
 */
static int
trust_path(const char *head_file, char *path, size_t len)
{
	return head_file == NULL || snprintf(path, len, "%s.verified",
	    head_file) >= (int)len ? -1 : 0;
}

static void
trust_ids(const struct ledger_pins *pins, char root[17], char svc[17])
{
	uint8_t kid[8];

	minisig_pubkey_keyid(pins->root, kid);
	sodium_bin2hex(root, 17, kid, 8);
	minisig_pubkey_keyid(pins->service, kid);
	sodium_bin2hex(svc, 17, kid, 8);
}

static int
trust_read(const struct ledger_pins *pins, uint64_t *seq, uint8_t hash[32])
{
	char path[4096], buf[512], hex[80], cid[80], root[40], svc[40];
	char want_root[17], want_svc[17];
	unsigned long long s;

	*seq = 0;
	if (trust_path(pins->head_file, path, sizeof(path)) != 0 ||
	    state_read(path, buf, sizeof(buf)) != 0)
		return -1;
	trust_ids(pins, want_root, want_svc);
	if (sscanf(buf, "%llu %79s %79s %39s %39s", &s, hex, cid, root,
	    svc) != 5 || hex32(hex, hash) != 0 ||
	    strcmp(cid, pins->control_id) != 0 ||
	    strcmp(root, want_root) != 0 || strcmp(svc, want_svc) != 0)
		return -1;
	*seq = s;
	return 0;
}

/* Best effort (a cache): a new file renamed over the old one, under the
 * head file's lock; not fsynced, a torn one only costs a whole check. */
static void
trust_write(const struct ledger_pins *pins, uint64_t seq,
    const uint8_t hash[32])
{
	char path[4096], line[512], hex[65], root[17], svc[17];
	int lock;

	if (trust_path(pins->head_file, path, sizeof(path)) != 0 ||
	    !action_value_valid(pins->control_id))
		return;
	sodium_bin2hex(hex, sizeof(hex), hash, 32);
	trust_ids(pins, root, svc);
	snprintf(line, sizeof(line), "%llu %s %s %s %s\n",
	    (unsigned long long)seq, hex, pins->control_id, root, svc);
	if ((lock = pin_lock(pins->head_file)) < 0)
		return;
	(void)state_replace(path, line, 0);
	close(lock);
}

/* One reading of the log; rows up to trust_seq without their
 * signatures checked again (0: all checked). */
static int
load_pass(PGconn *c, const struct ledger_pins *pins, uint64_t trust_seq,
    const uint8_t trust_hash[32], struct ledger **out, uint64_t *first_bad,
    char *why, size_t whylen)
{
	struct ledger *l = NULL;
	uint64_t bad_row = 0;
	int r;

	*out = NULL;
	if (first_bad != NULL)
		*first_bad = 0;
	err_set(why, whylen, "%s", "");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ERR_NOMEM;
	l->pins = pins;
	l->why = why;
	l->whylen = whylen;
	l->trust_seq = trust_seq;
	if (trust_seq > 0)
		memcpy(l->trust_hash, trust_hash, 32);
	minisig_pubkey_keyid(pins->root, l->root_kid);
	minisig_pubkey_keyid(pins->service, l->service_kid);
	if (read_pin(pins->head_file, &l->pin_seq, l->pin_hash) != 0) {
		err_set(why, whylen, "the pinned head \"%s\" is unreadable",
		    pins->head_file);
		r = ERR_IO;
		goto out;
	}
	r = audit_scan(c, on_row, l, NULL, NULL, &bad_row, why, whylen);
	l->row = NULL;
	if (r != 0) {
		if (first_bad != NULL)
			*first_bad = bad_row;
		goto out;
	}
	if (l->pin_seq > 0 && !l->pin_seen) {
		err_set(why, whylen, "the log ends at row %llu, but this "
		    "service wrote row %llu (rows were deleted)",
		    (unsigned long long)l->rows,
		    (unsigned long long)l->pin_seq);
		if (first_bad != NULL)
			*first_bad = l->rows + 1;
		r = ERR_TAMPER;
		goto out;
	}
	if (l->rows < trust_seq) {
		/* the verified row is gone: the caller checks everything */
		err_set(why, whylen, "the log ends before its verified part");
		r = ERR_TAMPER;
		goto out;
	}
	*out = l;
	l = NULL;
	r = 0;
 out:
	if (l != NULL)
		l->why = NULL;
	ledger_free(l);
	if (*out != NULL)
		(*out)->why = NULL;
	return r;
}

int
ledger_load(PGconn *c, const struct ledger_pins *pins, struct ledger **out,
    uint64_t *first_bad, char *why, size_t whylen)
{
	uint64_t tseq = 0;
	uint8_t thash[32];
	int r = ERR_INTERNAL;

	*out = NULL;
	if (first_bad != NULL)
		*first_bad = 0;
	err_set(why, whylen, "%s", "");
	if (c == NULL || pins == NULL || pins->root == NULL ||
	    pins->service == NULL || pins->control_id == NULL)
		return ERR_INVALID;
	/*
	 * Rows this service verified before, with these keys, are bound by
	 * the hash chain to the verified row's hash: while the log still
	 * hashes to it there, their signatures need no second check. Any
	 * failure of that reading (the chain, a row, the verified row
	 * changed) reads everything again, checking every signature: what
	 * is reported is what the whole check finds.
	 */
	if (!pins->check_all && trust_read(pins, &tseq, thash) == 0 &&
	    tseq > 0) {
		r = load_pass(c, pins, tseq, thash, out, first_bad, why,
		    whylen);
		if (r == ERR_DB || r == ERR_NOMEM)
			return r;
	}
	if (*out == NULL) {
		tseq = 0;
		if ((r = load_pass(c, pins, 0, NULL, out, first_bad, why,
		    whylen)) != 0)
			return r;
	}
	if ((*out)->rows > tseq)
		trust_write(pins, (*out)->rows, (*out)->head);
	return 0;
}

int
ledger_refresh(struct ledger *l, PGconn *c, char *why, size_t whylen)
{
	uint8_t head[32];
	int r;

	memcpy(head, l->head, sizeof(head));
	l->why = why;
	l->whylen = whylen;
	r = audit_scan_after(c, l->rows, head, on_row, l, why, whylen);
	l->row = NULL;
	l->why = NULL;
	return r;
}

static int
differs(char *why, size_t whylen, const char *what, const char *name)
{
	err_set(why, whylen, "the control tables do not match the signed "
	    "log: %s \"%s\"", what, name);
	return ERR_TAMPER;
}

int
ledger_job_check(const struct ledger *l, const struct jobs_job *j,
    char *why, size_t whylen)
{
	const struct ledger_job *lj = job_get(l, j->id_hash);

	if (lj == NULL)
		return differs(why, whylen, "a job the log never created",
		    j->ref);
	if (!same_json(j->scope_json, lj->scope_json) ||
	    strcmp(j->tenant, lj->tenant) != 0)
		return differs(why, whylen, "the tenant or scope of job", j->ref);
	if (j->state != lj->state)
		return differs(why, whylen, "the state of job", j->ref);
	if (!same(j->requested_name, lj->requester) ||
	    !same(j->approved_name, lj->approver))
		return differs(why, whylen, "the requester or approver of job",
		    j->ref);
	if (lj->archive != NULL && (j->archive == NULL ||
	    strcmp(j->archive, lj->archive) != 0 || !j->has_digest ||
	    memcmp(j->manifest_digest, lj->manifest_digest, 32) != 0))
		return differs(why, whylen, "the archive of job", j->ref);
	if (j->fetch_count != lj->fetches)
		return differs(why, whylen, "the download count of job", j->ref);
	if (j->has_lease != lj->has_lease || (lj->has_lease &&
	    memcmp(j->lease, lj->lease, JOBS_LEASE_LEN) != 0))
		return differs(why, whylen, "the lease of job", j->ref);
	return 0;
}

/* --- the cache tables against the log --- */

static PGresult *
query(PGconn *c, const char *sql, char *why, size_t whylen)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(why, whylen, "control tables: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
		    PQerrorMessage(c));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int
check_principals(const struct ledger *l, PGconn *c, char *why,
    size_t whylen)
{
	PGresult *res;
	int i, n, r = 0;

	/* name, key id, disabled, roles (sorted, comma), tenants count */
	if ((res = query(c, "SELECT p.name, encode(p.key_id, 'hex'), "
	    "p.disabled_at IS NOT NULL, coalesce((SELECT string_agg(role, ',' "
	    "ORDER BY role) FROM texp_control.principal_roles r "
	    "WHERE r.principal_id = p.id), ''), (SELECT count(*) FROM "
	    "texp_control.assignments a WHERE a.principal_id = p.id) "
	    "FROM texp_control.principals p", why, whylen)) == NULL)
		return ERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && r == 0; i++) {
		const char *name = PQgetvalue(res, i, 0);
		const struct lprincipal *p = principal_get(l, name);
		char kid[17];
		unsigned mask = 0;

		if (p == NULL) {
			r = differs(why, whylen, "a principal the log never "
			    "registered:", name);
			break;
		}
		sodium_bin2hex(kid, sizeof(kid), p->key_id, 8);
		if (PQgetvalue(res, i, 3)[0] != '\0')
			roles_mask(PQgetvalue(res, i, 3), &mask);
		if (strcmp(kid, PQgetvalue(res, i, 1)) != 0 ||
		    (PQgetvalue(res, i, 2)[0] == 't') != p->disabled ||
		    mask != p->roles ||
		    strtoull(PQgetvalue(res, i, 4), NULL, 10) != p->tenants.n)
			r = differs(why, whylen, "the key, roles, state or "
			    "assignments of principal", name);
	}
	if (r == 0 && (size_t)n != l->np)
		r = differs(why, whylen, "the principals, a row was removed:",
		    "principals");
	PQclear(res);
	return r;
}

static int
check_assignments(const struct ledger *l, PGconn *c, char *why,
    size_t whylen)
{
	PGresult *res;
	int i, n, r = 0;

	if ((res = query(c, "SELECT p.name, a.tenant FROM "
	    "texp_control.assignments a JOIN texp_control.principals p "
	    "ON p.id = a.principal_id", why, whylen)) == NULL)
		return ERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && r == 0; i++) {
		const struct lprincipal *p = principal_get(l,
		    PQgetvalue(res, i, 0));

		if (p == NULL || !strv_has(&p->tenants, PQgetvalue(res, i, 1)))
			r = differs(why, whylen, "an assignment the log does "
			    "not hold, of", PQgetvalue(res, i, 0));
	}
	PQclear(res);
	return r;
}

static int
check_tenants(const struct ledger *l, PGconn *c, char *why, size_t whylen)
{
	PGresult *res;
	int i, n, r = 0;

	if ((res = query(c, "SELECT tenant, display_name FROM "
	    "texp_control.tenants", why, whylen)) == NULL)
		return ERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && r == 0; i++) {
		const struct ltenant *t = tenant_get(l, PQgetvalue(res, i, 0));

		if (t == NULL || strcmp(t->name, PQgetvalue(res, i, 1)) != 0)
			r = differs(why, whylen, "a tenant or display name the "
			    "log does not hold:", "tenants");
	}
	if (r == 0 && (size_t)n != l->nt)
		r = differs(why, whylen, "the tenants, a row was removed:",
		    "tenants");
	PQclear(res);
	return r;
}

static int
check_jobs(const struct ledger *l, PGconn *c, char *why, size_t whylen)
{
	struct jobs_job **v = NULL;
	size_t n = 0, i;
	int r;

	if ((r = jobs_list_all(c, &v, &n)) != 0) {
		err_set(why, whylen, "control tables: cannot read jobs");
		return r;
	}
	for (i = 0; i < n && r == 0; i++)
		r = ledger_job_check(l, v[i], why, whylen);
	if (r == 0 && n != l->nj)
		r = differs(why, whylen, "the jobs, a row was removed:", "jobs");
	jobs_list_free(v, n);
	return r;
}

static int
check_pauses(const struct ledger *l, PGconn *c, char *why, size_t whylen)
{
	PGresult *res;
	int i, n, all = 0, r = 0;

	if ((res = query(c, "SELECT tenant FROM texp_control.queue_pauses",
	    why, whylen)) == NULL)
		return ERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && r == 0; i++) {
		const char *t = PQgetvalue(res, i, 0);

		if (*t == '\0')
			all = 1;
		else if (!strv_has(&l->paused, t))
			r = differs(why, whylen, "a pause the log does not hold, "
			    "of tenant", t);
	}
	if (r == 0 && (all != l->paused_all ||
	    (size_t)(n - all) != l->paused.n))
		r = differs(why, whylen, "the paused tenants:", "queue_pauses");
	PQclear(res);
	return r;
}

static int
check_ltjobs(const struct ledger *l, PGconn *c, char *why, size_t whylen)
{
	const struct ledger_ltjob *j;
	PGresult *res;
	uint8_t h[32];
	int i, n, r = 0;

	if ((res = query(c, "SELECT encode(id_hash, 'hex'), run, tenant, "
	    "state FROM texp_control.leaktest_jobs", why, whylen)) == NULL)
		return ERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && r == 0; i++) {
		j = hex32(PQgetvalue(res, i, 0), h) == 0 ?
		    ledger_ltjob(l, h) : NULL;
		if (j == NULL || strcmp(j->run, PQgetvalue(res, i, 1)) != 0 ||
		    strcmp(j->tenant, PQgetvalue(res, i, 2)) != 0 ||
		    strcmp(ledger_lt_state_str(j->state),
		    PQgetvalue(res, i, 3)) != 0)
			r = differs(why, whylen, "a leak test job the log does "
			    "not hold, of run", PQgetvalue(res, i, 1));
	}
	if (r == 0 && (size_t)n != l->nlt)
		r = differs(why, whylen, "the leak test jobs, a row was "
		    "removed:", "leaktest_jobs");
	PQclear(res);
	return r;
}

int
ledger_check_cache(const struct ledger *l, PGconn *c, char *why,
    size_t whylen)
{
	int r;

	err_set(why, whylen, "%s", "");
	if ((r = check_principals(l, c, why, whylen)) != 0 ||
	    (r = check_assignments(l, c, why, whylen)) != 0 ||
	    (r = check_tenants(l, c, why, whylen)) != 0 ||
	    (r = check_jobs(l, c, why, whylen)) != 0 ||
	    (r = check_pauses(l, c, why, whylen)) != 0 ||
	    (r = check_ltjobs(l, c, why, whylen)) != 0)
		return r;
	return 0;
}
