#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "bundle.h"
#include "dcbor.h"
#include "decq.h"
#include "err.h"
#include "evidence.h"
#include "minisig.h"
#include "seal.h"
#include "tokscan.h"
#include "values.h"
#include "verify.h"

#define MAX_TENANT_TEXT 256

struct vctx {
	const struct verify_opts *o;
	struct verify_result *res;
	struct buf *expect;		/* expected tenant key, canonical CBOR */
	int tenant_known;
	int stop;
	/* per-table tenant mismatches reported individually up to a cap */
	uint64_t tenant_bad;
};

static int
add_finding(struct vctx *v, int warning, enum rule rule, int code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records a finding: "§N: " and the sentence. Returns nonzero when the
 * caller should stop. */
static int
add_finding(struct vctx *v, int warning, enum rule rule, int code,
    const char *fmt, ...)
{
	struct verify_result *r = v->res;
	struct verify_finding *f;
	const char *sec = rule_section(rule);
	size_t n = 0;
	va_list ap;

	if (warning)
		r->nwarnings++;
	else
		r->nfailures++;
	if (r->nstored < VERIFY_MAX_STORED) {
		f = &r->findings[r->nstored++];
		f->rule = rule;
		f->code = code;
		f->warning = warning;
		if (sec[0] != '\0')
			n = (size_t)snprintf(f->msg, sizeof(f->msg), "%s: ", sec);
		va_start(ap, fmt);
		vsnprintf(f->msg + n, sizeof(f->msg) - n, fmt, ap);
		va_end(ap);
	}
	if (!warning && v->o->exit_on_error)
		v->stop = 1;
	return v->stop;
}

/* A finding with its rule's own error code. */
#define FINDING(v, rule, ...) add_finding(v, 0, rule, rule_err(rule), \
    __VA_ARGS__)

static int
on_failure(void *ctx, enum rule rule, int code, const char *msg)
{
	return add_finding(ctx, 0, rule, code, "%s", msg);
}

static int
parse_uuid(const char *s, uint8_t out[16])
{
	size_t i, j = 0;
	int hi;

	if (strlen(s) != 36)
		return ERR_INVALID;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return ERR_INVALID;
			continue;
		}
		if (s[i] >= '0' && s[i] <= '9')
			hi = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			hi = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			hi = s[i] - 'A' + 10;
		else
			return ERR_INVALID;
		if (j % 2 == 0)
			out[j / 2] = (uint8_t)(hi << 4);
		else
			out[j / 2] |= (uint8_t)hi;
		j++;
	}
	return 0;
}

static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	uint64_t v = 0, lim;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0' || (p[0] == '0' && p[1] != '\0') || (neg && p[0] == '0'))
		return ERR_INVALID;
	lim = neg ? (uint64_t)(-(min + 1)) + 1 : (uint64_t)max;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return ERR_INVALID;
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return ERR_INVALID;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) :
	    (int64_t)v;
	return 0;
}

int
verify_tenant_value(const char *type, const char *tenant, struct buf *out)
{
	uint8_t u[16];
	int64_t v;
	int r;

	if (tenant == NULL || strlen(tenant) > MAX_TENANT_TEXT)
		return ERR_INVALID;
	if (strcmp(type, "uuid") == 0) {
		if ((r = parse_uuid(tenant, u)) != 0)
			return r;
		if ((r = dcbor_put_tag(out, DCBOR_TAG_UUID)) != 0)
			return r;
		return dcbor_put_bytes(out, u, sizeof(u));
	}
	if (strcmp(type, "int8") == 0 || strcmp(type, "int4") == 0 ||
	    strcmp(type, "int2") == 0) {
		int64_t lim = type[3] == '8' ? INT64_MAX : type[3] == '4' ?
		    INT32_MAX : INT16_MAX;

		if ((r = parse_int(tenant, -lim - 1, lim, &v)) != 0)
			return r;
		return dcbor_put_int(out, v);
	}
	if (strcmp(type, "text") == 0 || strcmp(type, "varchar") == 0)
		return dcbor_put_text(out, tenant, strlen(tenant)) == 0 ? 0 :
		    ERR_INVALID;
	return ERR_UNSUPPORTED;
}

static int
on_preamble(void *ctx, const struct manifest *pre)
{
	struct vctx *v = ctx;
	uint8_t th[EVIDENCE_HASH_LEN];
	int r;

	buf_reset(v->expect);
	if (v->o->tenant == NULL) {
		/* inspect: no expected tenant, nothing to compare */
		v->tenant_known = 0;
	} else if ((r = verify_tenant_value(pre->tenant_type, v->o->tenant,
	    v->expect)) != 0) {
		if (FINDING(v, RULE_EXPECTED_TENANT, "the expected tenant is "
		    "not a valid %s%s", r == ERR_UNSUPPORTED ? "tenant key "
		    "type" : "value of the archive's tenant key type ",
		    r == ERR_UNSUPPORTED ? "" : pre->tenant_type))
			return 1;
		v->tenant_known = 0;
	} else {
		v->tenant_known = 1;
		evidence_tenant_hash(pre->salt, buf_ptr(v->expect),
		    buf_len(v->expect), th);
		if (sodium_memcmp(th, pre->tenant_hash, sizeof(th)) != 0) {
			/* every record would differ too: one finding says
			 * it, not one per record */
			v->tenant_known = 0;
			if (FINDING(v, RULE_EXPECTED_TENANT, "the archive is not "
			    "for the expected tenant (tenant hash differs): "
			    "check --tenant, the tenant id the sender gave"))
				return 1;
		}
	}
	if (v->o->sink != NULL && v->o->sink->begin != NULL &&
	    (r = v->o->sink->begin(v->o->sink->ctx, pre)) != 0) {
		add_finding(v, 0, RULE_EXTRACTION, r, "extraction failed: %s",
		    err_str(r));
		return 1;
	}
	return 0;
}

/* Auditor mode: does a listed identifier occur in this value? Values are
 * compared in their text form: text and JSON as they are, a uuid as
 * PostgreSQL prints it, an integer in decimal (foreign.h). */
static int
foreign_in_value(const struct verify_opts *o, const struct dcbor_item *it,
    int uuid_tag, int is_json, size_t *which, enum foreign_kind *kind)
{
	char tmp[64];
	size_t n = 0, k;

	switch (it->type) {
	case DCBOR_TEXT:
		return foreign_match(o->foreign, o->foreign_mode, o->tenant,
		    it->p, it->len,
		    is_json, which, kind);
	case DCBOR_BYTES:
		if (!(uuid_tag && it->len == 16))
			return foreign_match(o->foreign, o->foreign_mode, o->tenant,
		    it->p,
			    it->len, 0, which, kind);
		for (k = 0; k < 16; k++) {
			if (k == 4 || k == 6 || k == 8 || k == 10)
				tmp[n++] = '-';
			snprintf(tmp + n, 3, "%02x", it->p[k]);
			n += 2;
		}
		break;
	case DCBOR_UINT:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%llu",
		    (unsigned long long)it->u);
		break;
	case DCBOR_NEGINT:
		if (it->u == UINT64_MAX)
			return 0;
		n = (size_t)snprintf(tmp, sizeof(tmp), "-%llu",
		    (unsigned long long)it->u + 1ULL);
		break;
	default:
		return 0;
	}
	return foreign_match(o->foreign, o->foreign_mode, o->tenant,
		    (const uint8_t *)tmp,
	    n, 0, which, kind);
}

static int
type_is_json(const char *t)
{
	return t != NULL && (strcmp(t, "json") == 0 ||
	    strcmp(t, "jsonb") == 0 || strcmp(t, "_json") == 0 ||
	    strcmp(t, "_jsonb") == 0);
}

/* Called for every scalar item of a record, with its column and whether
 * a UUID tag precedes it; nonzero stops the walk. */
typedef int (*leaf_fn)(void *ctx, size_t col, const struct dcbor_item *it,
    int uuid_tag);

/* Walks a record (an array of columns) down to its scalars, at any depth
 * (BUNDLE_MAX_DEPTH). Returns what visit returned to stop it, or 0 (also
 * when the record stops parsing: what parsed was visited). */
static int
record_leaves(const uint8_t *rec, size_t len, leaf_fn visit, void *ctx)
{
	struct buf *b = buf_from(rec, len);
	struct dcbor_item it;
	uint64_t ncol, col, pending[BUNDLE_MAX_DEPTH + 2];
	size_t depth;
	int uuid_tag = 0, r = 0;

	if (b == NULL || dcbor_get_array(b, &ncol) != 0)
		goto out;
	for (col = 0; col < ncol; col++) {
		pending[0] = 1;
		depth = 1;
		while (depth > 0) {
			if (pending[depth - 1] == 0) {
				depth--;
				continue;
			}
			pending[depth - 1]--;
			if (dcbor_get_item(b, &it) != 0)
				goto out;
			if (it.type == DCBOR_TAG) {
				uuid_tag = it.u == DCBOR_TAG_UUID;
				pending[depth - 1]++;	/* the tagged item */
				continue;
			}
			if ((it.type == DCBOR_ARRAY || it.type == DCBOR_MAP) &&
			    depth < BUNDLE_MAX_DEPTH + 1) {
				pending[depth++] = it.type == DCBOR_MAP ?
				    2 * it.u : it.u;
				uuid_tag = 0;
				continue;
			}
			if ((r = visit(ctx, (size_t)col, &it, uuid_tag)) != 0)
				goto out;
			uuid_tag = 0;
		}
	}
 out:
	buf_free(b);
	return r;
}

/* --foreign-ids: the first hit of each column is a finding. */
struct foreign_at {
	struct vctx *v;
	const struct manifest_table *mt;
	uint64_t index;
	size_t hit_col;		/* the column reported, or SIZE_MAX */
};

static int
foreign_leaf(void *ctx, size_t col, const struct dcbor_item *it, int uuid_tag)
{
	struct foreign_at *f = ctx;
	const struct manifest_table *mt = f->mt;
	enum foreign_kind kind;
	size_t which;
	int js = col < mt->ncolumns && type_is_json(mt->columns[col].type);

	if (col == f->hit_col ||
	    !foreign_in_value(f->v->o, it, uuid_tag, js, &which, &kind))
		return 0;
	f->hit_col = col;
	f->v->res->foreign_hits++;
	return FINDING(f->v, RULE_FOREIGN_ID, "table \"%s\" column \"%s\" "
	    "record %llu: holds foreign identifier #%zu of the list (%s "
	    "match)", mt->name, col < mt->ncolumns ? mt->columns[col].name :
	    "?", (unsigned long long)f->index, which + 1,
	    foreign_kind_str(kind)) ? 1 : 0;
}

static int
scan_foreign(struct vctx *v, const struct manifest *pre, size_t table,
    uint64_t index, const uint8_t *rec, size_t len)
{
	struct foreign_at f = { v, &pre->tables[table], index, SIZE_MAX };

	return record_leaves(rec, len, foreign_leaf, &f);
}

/* Watch mode: one record's column held identifier `which`. */
struct watch_at {
	struct vctx *v;
	size_t table, column;
	uint64_t index;
};

static void
watch_hit(void *ctx, size_t which)
{
	struct watch_at *w = ctx;
	struct verify_result *r = w->v->res;
	struct verify_hit *h;
	size_t i;

	for (i = 0; i < r->nhits; i++) {
		h = &r->hits[i];
		if (h->table == w->table && h->column == w->column &&
		    h->which == which) {
			if (h->last != w->index) {
				h->records++;
				h->last = w->index;
			}
			return;
		}
	}
	if (r->nhits == VERIFY_MAX_HITS) {
		r->hits_dropped++;
		return;
	}
	h = &r->hits[r->nhits++];
	h->table = w->table;
	h->column = w->column;
	h->which = which;
	h->records = 1;
	h->first = h->last = w->index;
}

static int
watch_leaf(void *ctx, size_t col, const struct dcbor_item *it, int uuid_tag)
{
	struct watch_at *w = ctx;

	w->column = col;
	if (it->type == DCBOR_BYTES && uuid_tag && it->len == 16)
		tokscan_uuid(w->v->o->watch, it->p, watch_hit, w);
	else if (it->type == DCBOR_TEXT || it->type == DCBOR_BYTES)
		tokscan_text(w->v->o->watch, it->p, it->len, watch_hit, w);
	return 0;
}

/* Every text, byte string and UUID of the record, at any depth. */
static void
scan_watch(struct vctx *v, size_t table, uint64_t index, const uint8_t *rec,
    size_t len)
{
	struct watch_at w = { v, table, 0, index };

	(void)record_leaves(rec, len, watch_leaf, &w);
}

/* inspect: the first tenant key read, and whether the tenant hash names
 * it (verify.h, tenant_seen). Best effort: nothing here is a finding. */
static void
note_tenant(struct vctx *v, const struct manifest *pre, const uint8_t *tval,
    size_t tlen)
{
	uint8_t th[EVIDENCE_HASH_LEN];
	struct buf *in = buf_from(tval, tlen), *out = buf_new(4 * tlen + 64);

	if (in != NULL && out != NULL && values_json_item(in, out) == 0 &&
	    buf_expect_end(in) == 0 &&
	    buf_dup_str(out, &v->res->tenant_seen) == 0 &&
	    evidence_tenant_hash(pre->salt, tval, tlen, th) == 0)
		v->res->tenant_seen_ok = sodium_memcmp(th, pre->tenant_hash,
		    sizeof(th)) == 0;
	buf_free(in);
	buf_free(out);
}

static int
on_record(void *ctx, const struct manifest *pre, size_t table,
    uint64_t index, const uint8_t *rec, size_t len, const uint8_t *tval,
    size_t tlen)
{
	struct vctx *v = ctx;
	int r;

	v->res->records++;
	if (v->o->tenant == NULL && v->res->tenant_seen == NULL &&
	    pre->tables[table].tenant_column >= 0)
		note_tenant(v, pre, tval, tlen);
	if (pre->tables[table].tenant_column >= 0 && v->tenant_known &&
	    (tlen != buf_len(v->expect) ||
	    memcmp(tval, buf_ptr(v->expect), tlen) != 0)) {
		v->tenant_bad++;
		v->res->tenant_mismatches++;
		if (FINDING(v, RULE_RECORD_TENANT, "table \"%s\" record %llu "
		    "belongs to another tenant", pre->tables[table].name,
		    (unsigned long long)index))
			return 1;
	}
	if (v->o->foreign != NULL &&
	    scan_foreign(v, pre, table, index, rec, len))
		return 1;
	if (v->o->watch != NULL)
		scan_watch(v, table, index, rec, len);
	if (v->o->sink != NULL && v->o->sink->record != NULL &&
	    (r = v->o->sink->record(v->o->sink->ctx, pre, table, rec, len)) != 0) {
		add_finding(v, 0, RULE_EXTRACTION, r, "extraction failed: %s",
		    err_str(r));
		return 1;
	}
	return v->stop;
}

static int
on_manifest(void *ctx, const struct manifest *m, const uint8_t *bytes,
    size_t len)
{
	struct vctx *v = ctx;
	struct manifest *copy;
	struct buf *pre = NULL, *b = NULL;
	const uint8_t *pp;
	size_t pl;
	int r;

	manifest_digest(bytes, len, v->res->manifest_digest);
	v->res->have_manifest = 1;
	free(v->res->receipt);
	if ((v->res->receipt = malloc(len)) == NULL)
		return 1;
	memcpy(v->res->receipt, bytes, len);
	v->res->receipt_len = len;
	/* Keep a decoded copy for the caller's report. */
	if ((b = buf_from(v->res->receipt, len)) != NULL &&
	    manifest_decode(b, &copy, &pp, &pl) == 0) {
		manifest_free(v->res->manifest);
		v->res->manifest = copy;
	}
	buf_free(b);
	buf_free(pre);
	(void)m;
	if (v->o->sink != NULL && v->o->sink->end != NULL &&
	    (r = v->o->sink->end(v->o->sink->ctx, bytes, len)) != 0) {
		add_finding(v, 0, RULE_EXTRACTION, r, "extraction failed: %s",
		    err_str(r));
		return 1;
	}
	return v->stop;
}

/* Files go to the sink as they come; the sink keeps them hidden until
 * the whole archive is proven. */
static int
sink_failed(struct vctx *v, int r)
{
	if (r == 0)
		return v->stop;
	add_finding(v, 0, RULE_EXTRACTION, r, "extraction failed: %s",
	    err_str(r));
	return 1;
}

static int
on_file_begin(void *ctx, size_t table, uint64_t index, const uint8_t *path,
    size_t len)
{
	struct vctx *v = ctx;
	const struct verify_sink *s = v->o->sink;

	(void)table;
	(void)index;
	v->res->files++;
	if (s == NULL || s->file_begin == NULL)
		return v->stop;
	return sink_failed(v, s->file_begin(s->ctx, path, len));
}

static int
on_file_data(void *ctx, const uint8_t *p, size_t n)
{
	struct vctx *v = ctx;
	const struct verify_sink *s = v->o->sink;

	v->res->file_bytes += n;
	if (s == NULL || s->file_data == NULL)
		return 0;
	return sink_failed(v, s->file_data(s->ctx, p, n));
}

static int
on_file_end(void *ctx)
{
	struct vctx *v = ctx;
	const struct verify_sink *s = v->o->sink;

	if (s == NULL || s->file_end == NULL)
		return v->stop;
	return sink_failed(v, s->file_end(s->ctx));
}

static int
age_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	return age_dec_read(ctx, p, cap, got);
}

static int
result_new(struct verify_result **out)
{
	struct verify_result *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return ERR_NOMEM;
	r->signer.which = SIZE_MAX;
	r->findings = calloc(VERIFY_MAX_STORED, sizeof(*r->findings));
	r->hits = calloc(VERIFY_MAX_HITS, sizeof(*r->hits));
	if (r->findings == NULL || r->hits == NULL) {
		free(r->findings);
		free(r->hits);
		free(r);
		return ERR_NOMEM;
	}
	*out = r;
	return 0;
}

/* Decrypts and walks the bundle; findings go into v. threaded: decrypt
 * ahead in a second thread (decq.h). */
static int
run_content(struct vctx *v, int (*rd)(void *, uint8_t *, size_t, size_t *),
    void *rctx, int threaded)
{
	const struct verify_opts *o = v->o;
	struct bundle_visitor vis = {
		.ctx = v,
		.on_preamble = on_preamble,
		.on_record = on_record,
		.on_manifest = on_manifest,
		.on_failure = on_failure,
		.on_file_begin = on_file_begin,
		.on_file_data = on_file_data,
		.on_file_end = on_file_end,
	};
	struct age_dec *dec = NULL;
	struct decq *q = NULL;
	int r;

	if ((r = age_dec_new(rd, rctx, &dec)) != 0) {
		add_finding(v, 0, rule_from_err(r) ? rule_from_err(r) :
		    RULE_AGE_HEADER, r, "cannot decrypt: %s", err_str(r));
		goto out;
	}
	/* The format is the binary age file; armor is another encoding of
	 * the same bytes, which the writer never produces. */
	if (age_dec_armored(dec)) {
		FINDING(v, RULE_AGE_HEADER, "the age file is ASCII-armored; the "
		    "archive is a binary age file");
		goto out;
	}
	if (o->file_key != NULL)
		r = age_dec_set_file_key(dec, o->file_key);
	else
		r = age_dec_unwrap(dec, o->ids, o->nids);
	if (r != 0) {
		add_finding(v, 0, rule_from_err(r) ? rule_from_err(r) :
		    RULE_AGE_HEADER, r, "cannot decrypt: %s",
		    r == ERR_AGE_NO_MATCH ? "none of the given identities can "
		    "open this archive" : err_str(r));
		goto out;
	}
	/* without a thread (none allowed, or none to be had): read here */
	vis.threads = threaded;
	if (threaded && decq_start(dec, &q) == 0)
		r = bundle_read(decq_read, q, &vis);
	else
		r = bundle_read(age_read, dec, &vis);
	/* the thread is done with the decryptor and the file once stopped */
	decq_stop(q);
	if (r == 0 && v->res->nfailures == 0)
		v->res->content_ok = 1;
 out:
	age_dec_free(dec);
	return 0;
}

int
verify_stream(int (*rd)(void *, uint8_t *, size_t, size_t *), void *ctx,
    const struct verify_opts *o, struct verify_result **out)
{
	struct vctx v = { .o = o };
	int r;

	*out = NULL;
	if (o->nsigners != 0)
		return ERR_INVALID;
	if ((r = result_new(&v.res)) != 0)
		return r;
	if ((v.expect = buf_new(1024)) == NULL) {
		verify_result_free(v.res);
		return ERR_NOMEM;
	}
	run_content(&v, rd, ctx, 0);
	buf_free(v.expect);
	*out = v.res;
	return 0;
}

/* The signed claims must describe the content that was read. */
static void
check_claims(struct vctx *v)
{
	const struct seal_claims *c = &v->res->claims;
	const struct manifest *m = v->res->manifest;

	if (!v->res->have_manifest || m == NULL)
		return;
	if (sodium_memcmp(c->manifest_digest, v->res->manifest_digest,
	    EVIDENCE_HASH_LEN) != 0) {
		FINDING(v, RULE_MANIFEST_DIGEST, "the manifest digest differs "
		    "from the signed one");
		return;
	}
	if (memcmp(c->export_id, m->export_id, sizeof(c->export_id)) != 0 ||
	    sodium_memcmp(c->tenant_hash, m->tenant_hash,
	    sizeof(c->tenant_hash)) != 0 || c->created != m->created ||
	    c->expires != m->expires)
		FINDING(v, RULE_CLAIMS, "the signed claims disagree with the "
		    "manifest (export id, tenant hash, created or expires)");
}

/* Parts, signature, claims and expiry, after the content. Returns 0, or
 * an operational error (the archive could not be read) with why. */
static int
finish_seal(struct vctx *v, struct seal_reader *sr, char *why, size_t whylen)
{
	const struct verify_opts *o = v->o;
	enum rule rule, prule;
	char msg[256], pmsg[256];
	size_t i;
	int r, pr;

	r = seal_reader_finish(sr, o->signers, o->nsigners, &v->res->signer,
	    &v->res->claims, &rule, msg, sizeof(msg));
	if (r == ERR_IO || r == ERR_NOMEM) {
		snprintf(why, whylen, "%s", msg);
		return r;
	}
	for (i = 0; (pr = seal_reader_problem(sr, i, &prule, pmsg,
	    sizeof(pmsg))) != 0; i++)
		add_finding(v, 0, prule, pr, "%s", pmsg);
	if (r != 0) {
		add_finding(v, 0, rule != RULE_NONE ? rule :
		    RULE_SIGNATURE_FORMAT, r, "%s", msg);
		return 0;
	}
	v->res->signature_ok = 1;
	check_claims(v);
	if (o->now > v->res->claims.expires)
		add_finding(v, !o->strict_expiry, RULE_EXPIRED, ERR_EXPIRED,
		    "the archive expired (its signed expiry has passed)");
	return 0;
}

int
verify_archive(const char *path, const struct verify_opts *o,
    struct verify_result **out, char *why, size_t whylen)
{
	struct vctx v = { .o = o };
	struct seal_reader *sr = NULL;
	int r, ro;

	*out = NULL;
	snprintf(why, whylen, "%s", "");
	if (o->nsigners == 0) {
		snprintf(why, whylen, "a pinned signer key is required");
		return ERR_INVALID;
	}
	if ((ro = seal_reader_open(path, &sr, why, whylen)) != 0) {
		/* A malformed index is a verification failure; a missing or
		 * unreadable archive is operational. */
		if (ro != ERR_PART && ro != ERR_SIG_FORMAT && ro != ERR_FORMAT)
			return ro;
		if ((r = result_new(&v.res)) != 0)
			return r;
		add_finding(&v, 0, ro == ERR_SIG_FORMAT ?
		    RULE_SIGNATURE_FORMAT : RULE_INDEX, ro == ERR_SIG_FORMAT ?
		    ro : ERR_PART, "%s", why);
		*out = v.res;
		return 0;
	}
	if ((r = result_new(&v.res)) != 0)
		goto out;
	if ((v.expect = buf_new(1024)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	v.res->size = seal_reader_size(sr);
	v.res->parts = seal_reader_nparts(sr);
	if (o->content_only) {
		seal_reader_content_only(sr);
		v.res->content_only = 1;
	}
	run_content(&v, seal_reader_read, sr, 1);
	/* Signature and layout are checked even after a content failure (so
	 * every problem is reported), but not after an early stop. */
	if (!v.stop && (r = finish_seal(&v, sr, why, whylen)) != 0)
		goto out;
	*out = v.res;
	v.res = NULL;
	r = 0;
 out:
	verify_result_free(v.res);
	buf_free(v.expect);
	seal_reader_free(sr);
	return r;
}

void
verify_result_free(struct verify_result *r)
{
	if (r == NULL)
		return;
	free(r->findings);
	free(r->hits);
	free(r->receipt);
	free(r->tenant_seen);
	manifest_free(r->manifest);
	free(r);
}
