#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dcbor.h"
#include "err.h"
#include "evidence.h"
#include "manifest.h"
#include "minisig.h"
#include "report.h"
#include "rule.h"
#include "verify.h"

#define MAX_YEAR_SECONDS 253402300799ULL	/* 9999-12-31T23:59:59Z */

const char *
report_time(uint64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt;

	if (t > MAX_YEAR_SECONDS) {
		snprintf(out, len, "%" PRIu64, t);
		return out;
	}
	tt = (time_t)t;
	/* gmtime_r: no /etc/localtime, no TZ surprises. */
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%" PRIu64, t);
	return out;
}

const char *
report_keyid_bytes(const uint8_t *id, char *out, size_t len)
{
	uint64_t x = 0;
	int i;

	for (i = MINISIG_KEYID_LEN - 1; i >= 0; i--)
		x = (x << 8) | id[i];
	snprintf(out, len, "%" PRIX64, x);
	return out;
}

const char *
report_keyid(const struct minisig_pubkey *pk, char *out, size_t len)
{
	uint8_t id[MINISIG_KEYID_LEN];

	minisig_pubkey_keyid(pk, id);
	return report_keyid_bytes(id, out, len);
}

/* The signature line of the summary. */
static void
summary_signature(FILE *f, const struct verify_result *r,
    const struct minisig_pubkey *const *signers, size_t nsigners)
{
	char kid[32];
	size_t i;

	if (nsigners == 0) {
		fprintf(f, "signature:       not checked (no signer key)\n");
		return;
	}
	if (r->signature_ok && r->signer.which < nsigners) {
		fprintf(f, "signature:       good, key %s%s\n", report_keyid(
		    signers[r->signer.which], kid, sizeof(kid)),
		    r->content_only ? " (--content-only: its signed comment "
		    "and the content; the archive's own bytes not hashed)" :
		    "");
		return;
	}
	fprintf(f, "signature:       NOT verified");
	if (r->signer.have_keyid)
		fprintf(f, " (signed by key %s;", report_keyid_bytes(
		    r->signer.keyid, kid, sizeof(kid)));
	else
		fprintf(f, " (");
	fprintf(f, " pinned:");
	for (i = 0; i < nsigners; i++)
		fprintf(f, "%s %s", i ? "," : "", report_keyid(signers[i], kid,
		    sizeof(kid)));
	fprintf(f, ")\n");
}

const char *
report_safe(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (len == 0)
		return out;
	for (; *p != '\0' && i + 1 < len; p++) {
		/* C1 controls are two bytes in UTF-8 (c2 80..c2 9f). */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			out[i++] = '?';
			p++;
		} else if (*p < 0x20 || *p == 0x7f)
			out[i++] = '?';
		else
			out[i++] = (char)*p;
	}
	/* Do not leave half a UTF-8 sequence behind after truncation. */
	if (*p != '\0')
		while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
			i--;
	if (*p != '\0' && i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0xc0)
		i--;
	out[i] = '\0';
	return out;
}

int
report_proven(const struct verify_result *r)
{
	return r->nfailures == 0 && r->signature_ok && r->content_ok;
}

void
report_findings(FILE *f, const struct verify_result *r)
{
	char safe[sizeof(r->findings[0].msg)];
	size_t i, total = r->nfailures + r->nwarnings;

	for (i = 0; i < r->nstored; i++)
		fprintf(f, "%s: %s: %s\n", REPORT_PROG,
		    r->findings[i].warning ? "WARN" : "FAIL",
		    report_safe(r->findings[i].msg, safe, sizeof(safe)));
	if (total > r->nstored)
		fprintf(f, "%s: ... and %zu more findings not shown\n",
		    REPORT_PROG, total - r->nstored);
	fflush(f);
}

/* Facts about the export: from the decoded manifest when there is one,
 * otherwise from the signed claims. */
struct facts {
	const uint8_t *export_id;
	const uint8_t *tenant_hash;
	uint64_t created, expires;
	int have_times;
	const uint8_t *digest;
};

static void
facts_get(const struct verify_result *r, struct facts *x)
{
	memset(x, 0, sizeof(*x));
	if (r->have_manifest && r->manifest != NULL) {
		x->export_id = r->manifest->export_id;
		x->tenant_hash = r->manifest->tenant_hash;
		x->created = r->manifest->created;
		x->expires = r->manifest->expires;
		x->have_times = 1;
		x->digest = r->manifest_digest;
	} else if (r->signature_ok) {
		x->export_id = r->claims.export_id;
		x->tenant_hash = r->claims.tenant_hash;
		x->created = r->claims.created;
		x->expires = r->claims.expires;
		x->have_times = 1;
		x->digest = r->claims.manifest_digest;
	}
}

void
report_summary(FILE *f, const char *archive, const char *tenant,
    const struct verify_result *r, const struct minisig_pubkey *const *signers,
    size_t nsigners, int foreign)
{
	char hex[2 * EVIDENCE_HASH_LEN + 1], t1[32], kid[32];
	char safe[MANIFEST_MAX_NAME * 2 + 1], safe2[512];
	const struct manifest_table *t;
	struct facts x;
	size_t i;

	facts_get(r, &x);
	fprintf(f, "archive:         %s\n", report_safe(archive, safe2,
	    sizeof(safe2)));
	if (r->parts == 0)
		fprintf(f, "layout:          single file, %" PRIu64 " bytes\n",
		    r->size);
	else
		fprintf(f, "layout:          split, %zu parts, %" PRIu64
		    " bytes\n", r->parts, r->size);
	if (x.export_id != NULL) {
		fprintf(f, "export id:       %s\n", evidence_hex(x.export_id,
		    MANIFEST_ID_LEN, hex));
		fprintf(f, "tenant hash:     %s\n", evidence_hex(x.tenant_hash,
		    EVIDENCE_HASH_LEN, hex));
		fprintf(f, "created:         %s\n", report_time(x.created, t1,
		    sizeof(t1)));
		fprintf(f, "expires:         %s\n", report_time(x.expires, t1,
		    sizeof(t1)));
		fprintf(f, "manifest digest: %s\n", evidence_hex(x.digest,
		    EVIDENCE_HASH_LEN, hex));
	} else
		fprintf(f, "manifest:        not read\n");
	if (r->have_manifest && r->manifest != NULL) {
		for (i = 0; i < r->manifest->ntables; i++) {
			t = &r->manifest->tables[i];
			fprintf(f, "table:           %s: %" PRIu64 " records%s\n",
			    report_safe(t->name, safe, sizeof(safe)),
			    t->records, t->tenant_column < 0 ? " (global)" : "");
		}
	}
	fprintf(f, "records:         %" PRIu64 " read\n", r->records);
	if (r->files > 0)
		fprintf(f, "files:           %" PRIu64 " (%" PRIu64 " bytes), "
		    "each bound to its row\n", r->files, r->file_bytes);
	summary_signature(f, r, signers, nsigners);
	if (foreign)
		fprintf(f, "foreign hits:    %" PRIu64 "\n", r->foreign_hits);
	if (r->nwarnings > 0)
		fprintf(f, "warnings:        %zu\n", r->nwarnings);
	if (report_proven(r))
		fprintf(f, "PROVEN: every record belongs to tenant \"%s\"; "
		    "complete, unaltered and signed by key %s\n",
		    report_safe(tenant != NULL ? tenant : "", safe2,
		    sizeof(safe2)),
		    r->signer.which < nsigners ? report_keyid(
		    signers[r->signer.which], kid, sizeof(kid)) : "?");
	else
		fprintf(f, "NOT PROVEN: %zu failure%s\n", r->nfailures,
		    r->nfailures == 1 ? "" : "s");
	fflush(f);
}

json_t *
report_json_str(const char *s)
{
	char safe[1024];
	json_t *j;
	size_t i, n;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* Not valid UTF-8 (a message cut mid-character, or archive bytes):
	 * keep the ASCII, mark the rest. */
	n = strlen(s);
	if (n >= sizeof(safe))
		n = sizeof(safe) - 1;
	for (i = 0; i < n; i++)
		safe[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	safe[n] = '\0';
	return json_string(safe);
}

static json_t *
json_hex(const uint8_t *p, size_t len)
{
	char hex[2 * EVIDENCE_HASH_LEN + 1];

	if (p == NULL || len > EVIDENCE_HASH_LEN)
		return json_null();
	return json_string(evidence_hex(p, len, hex));
}

static json_t *
json_time(int have, uint64_t t)
{
	char s[32];

	if (!have)
		return json_null();
	return json_string(report_time(t, s, sizeof(s)));
}

/* json_object_set_new that remembers a failure instead of leaking. */
static void
jset(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

json_t *
report_json(const char *archive, const struct verify_result *r,
    const struct minisig_pubkey *const *signers, size_t nsigners)
{
	json_t *o = NULL, *fails = NULL, *warns = NULL, *tables = NULL, *e;
	json_t *pinned = NULL;
	const struct manifest_table *t;
	struct facts x;
	char kid[32];
	size_t i;
	int bad = 0;

	facts_get(r, &x);
	if ((o = json_object()) == NULL || (fails = json_array()) == NULL ||
	    (warns = json_array()) == NULL || (tables = json_array()) == NULL ||
	    (pinned = json_array()) == NULL)
		goto fail;
	for (i = 0; i < nsigners; i++)
		if (json_array_append_new(pinned, json_string(report_keyid(
		    signers[i], kid, sizeof(kid)))) != 0)
			goto fail;
	for (i = 0; i < r->nstored; i++) {
		if ((e = json_object()) == NULL)
			goto fail;
		jset(e, "code", json_string(rule_code(r->findings[i].rule)),
		    &bad);
		jset(e, "section", json_string(rule_section(
		    r->findings[i].rule)), &bad);
		jset(e, "message", report_json_str(r->findings[i].msg), &bad);
		if (json_array_append_new(r->findings[i].warning ? warns : fails,
		    e) != 0)
			goto fail;
	}
	if (r->have_manifest && r->manifest != NULL) {
		for (i = 0; i < r->manifest->ntables; i++) {
			t = &r->manifest->tables[i];
			if ((e = json_object()) == NULL)
				goto fail;
			jset(e, "name", report_json_str(t->name), &bad);
			jset(e, "records", json_integer((json_int_t)t->records),
			    &bad);
			jset(e, "parts", json_integer((json_int_t)t->parts),
			    &bad);
			jset(e, "global", json_boolean(t->tenant_column < 0),
			    &bad);
			if (json_array_append_new(tables, e) != 0)
				goto fail;
		}
	}
	jset(o, "archive", report_json_str(archive), &bad);
	jset(o, "proven", json_boolean(report_proven(r)), &bad);
	jset(o, "failures", fails, &bad);
	fails = NULL;
	jset(o, "warnings", warns, &bad);
	warns = NULL;
	jset(o, "failures_total", json_integer((json_int_t)r->nfailures), &bad);
	jset(o, "warnings_total", json_integer((json_int_t)r->nwarnings), &bad);
	jset(o, "export_id", json_hex(x.export_id, MANIFEST_ID_LEN), &bad);
	jset(o, "tenant_hash", json_hex(x.tenant_hash, EVIDENCE_HASH_LEN),
	    &bad);
	jset(o, "created", json_time(x.have_times, x.created), &bad);
	jset(o, "expires", json_time(x.have_times, x.expires), &bad);
	jset(o, "manifest_digest", json_hex(x.digest, EVIDENCE_HASH_LEN),
	    &bad);
	jset(o, "tables", tables, &bad);
	tables = NULL;
	jset(o, "records", json_integer((json_int_t)r->records), &bad);
	jset(o, "files", json_integer((json_int_t)r->files), &bad);
	jset(o, "file_bytes", json_integer((json_int_t)r->file_bytes), &bad);
	jset(o, "size", json_integer((json_int_t)r->size), &bad);
	jset(o, "parts", json_integer((json_int_t)r->parts), &bad);
	jset(o, "signature_ok", json_boolean(r->signature_ok), &bad);
	jset(o, "content_only", json_boolean(r->content_only), &bad);
	jset(o, "signer_key_id", r->signature_ok && r->signer.which < nsigners ?
	    json_string(report_keyid(signers[r->signer.which], kid,
	    sizeof(kid))) : json_null(), &bad);
	jset(o, "pinned_key_ids", pinned, &bad);
	pinned = NULL;
	jset(o, "foreign_hits", json_integer((json_int_t)r->foreign_hits),
	    &bad);
	if (bad)
		goto fail;
	return o;
 fail:
	json_decref(pinned);
	json_decref(fails);
	json_decref(warns);
	json_decref(tables);
	json_decref(o);
	return NULL;
}

int
report_json_print(FILE *f, const json_t *j)
{
	if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', f) == EOF || fflush(f) != 0)
		return ERR_IO;
	return 0;
}

void
report_error(const char *context, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: %s: ", REPORT_PROG, context);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
