/*
 * texp-sample: builds sample archives with the format library, for the
 * demo, the tests and the benchmarks. It is not installed. Attack options
 * build archives a compromised or careless writer could produce, so the
 * tests can show the verifier refuses them.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "bundle.h"
#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"
#include "minisig.h"
#include "seal.h"

static void
usage(void)
{
	fprintf(stderr,
"usage: texp-sample --gen-sign-key PREFIX\n"
"       texp-sample --out DIR/NAME.texp --sign-key FILE\n"
"                   (--recipient age1... | --passphrase-file FILE)\n"
"                   [--tenant ID] [--records N] [--row-bytes N]\n"
"                   [--part-size BYTES] [--zstd] [--expires-in SECONDS]\n"
"                   [--foreign-record ID] [--empty] [--seed TEXT]\n"
"Writes PREFIX.key (unencrypted) and PREFIX.pub, or a signed archive with\n"
"tables app.contacts (tenant column tenant_id, text) and app.currencies\n"
"(global). --foreign-record adds one contacts row of tenant ID. --seed\n"
"derives the file key, export id, salt and times from TEXT, so two runs\n"
"differ only where their options differ (re-encryption attacks).\n");
	exit(2);
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "texp-sample: %s: %s\n", what, err_str(r));
	exit(2);
}

static void
derive(const char *seed, const char *label, uint8_t *out, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, len);
	crypto_generichash_update(&st, (const uint8_t *)seed, strlen(seed) + 1);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_final(&st, out, len);
}

static int
seal_write(void *ctx, const uint8_t *p, size_t n)
{
	return seal_writer_write(ctx, p, n);
}

static int
age_write(void *ctx, const uint8_t *p, size_t n)
{
	return age_enc_write(ctx, p, n);
}

static void
put_contact(struct buf *b, const char *tenant, uint64_t i, size_t row_bytes)
{
	char name[64], email[96];
	static char *filler;
	uint8_t blob[8];
	int r = 0;

	if (filler == NULL) {
		filler = malloc(row_bytes + 1);
		if (filler == NULL)
			die("memory", ERR_NOMEM);
		for (size_t k = 0; k < row_bytes; k++)
			filler[k] = (char)('a' + k % 26);
		filler[row_bytes] = '\0';
	}
	snprintf(name, sizeof(name), "Contact %" PRIu64 " \xc3\xa9t\xc3\xa9", i);
	snprintf(email, sizeof(email), "c%" PRIu64 "@client.example", i);
	memcpy(blob, &i, sizeof(blob));
	r |= dcbor_put_array(b, 8);
	r |= dcbor_put_text(b, tenant, strlen(tenant));
	r |= dcbor_put_int(b, (int64_t)i + 1);
	r |= dcbor_put_text(b, name, strlen(name));
	r |= dcbor_put_text(b, email, strlen(email));
	r |= dcbor_put_float(b, (double)i / 4.0);
	r |= dcbor_put_bool(b, i % 2 == 0);
	if (i % 5 == 0)
		r |= dcbor_put_null(b);
	else
		r |= dcbor_put_text(b, filler, row_bytes);
	r |= dcbor_put_bytes(b, blob, sizeof(blob));
	if (r != 0)
		die("encode", ERR_INTERNAL);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gen-sign-key", required_argument, NULL, 'g' },
		{ "out", required_argument, NULL, 'o' },
		{ "sign-key", required_argument, NULL, 's' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "tenant", required_argument, NULL, 't' },
		{ "records", required_argument, NULL, 'n' },
		{ "row-bytes", required_argument, NULL, 'b' },
		{ "part-size", required_argument, NULL, 'P' },
		{ "zstd", no_argument, NULL, 'z' },
		{ "expires-in", required_argument, NULL, 'e' },
		{ "foreign-record", required_argument, NULL, 'f' },
		{ "empty", no_argument, NULL, 'E' },
		{ "seed", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *gen = NULL, *out = NULL, *skpath = NULL, *passfile = NULL;
	const char *tenant = "client-b", *foreign = NULL, *seed = NULL;
	uint8_t file_key[AGE_FILE_KEY_LEN];
	struct buf *hdr;
	struct age_recipient *rcp[8];
	size_t nrcp = 0, t_contacts, t_cur, i, row_bytes = 24;
	uint64_t nrec = 200, part_size = 0;
	int64_t expires_in = 72 * 3600;
	int zstd = 0, c, r, dirfd, empty = 0;
	struct minisig_seckey *sk = NULL;
	struct minisig_pubkey *pk = NULL;
	struct manifest *m;
	struct seal_writer *sw;
	struct age_enc *enc;
	struct bundle_writer *bw;
	struct seal_claims claims;
	struct buf *rec, *tv, *man;
	char path[4096], *slash, *base;

	if (sodium_init() < 0)
		die("libsodium", ERR_INTERNAL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': gen = optarg; break;
		case 'o': out = optarg; break;
		case 's': skpath = optarg; break;
		case 'r':
			if (nrcp == 8)
				usage();
			if ((r = age_recipient_parse(optarg, &rcp[nrcp++])) != 0)
				die("recipient", r);
			break;
		case 'p': passfile = optarg; break;
		case 't': tenant = optarg; break;
		case 'n': nrec = strtoull(optarg, NULL, 10); break;
		case 'b': row_bytes = strtoull(optarg, NULL, 10); break;
		case 'P': part_size = strtoull(optarg, NULL, 10); break;
		case 'z': zstd = 1; break;
		case 'e': expires_in = strtoll(optarg, NULL, 10); break;
		case 'f': foreign = optarg; break;
		case 'E': empty = 1; break;
		case 'S': seed = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (gen != NULL) {
		if ((r = minisig_keygen(NULL, 0, &sk, &pk)) != 0)
			die("keygen", r);
		snprintf(path, sizeof(path), "%s.key", gen);
		if ((r = minisig_seckey_write(sk, path, NULL, 0)) != 0)
			die(path, r);
		snprintf(path, sizeof(path), "%s.pub", gen);
		if ((r = minisig_pubkey_write(pk, path)) != 0)
			die(path, r);
		minisig_seckey_free(sk);
		minisig_pubkey_free(pk);
		return 0;
	}
	if (out == NULL || skpath == NULL || (nrcp == 0) == (passfile == NULL))
		usage();
	if (passfile != NULL) {
		size_t len;
		char pass[256];
		FILE *f = fopen(passfile, "r");

		if (f == NULL || fgets(pass, sizeof(pass), f) == NULL)
			die(passfile, ERR_IO);
		fclose(f);
		len = strcspn(pass, "\n");
		/* A low work factor keeps the tests fast. */
		if ((r = age_recipient_passphrase(pass, len, 10, &rcp[0])) != 0)
			die("passphrase", r);
		nrcp = 1;
		sodium_memzero(pass, sizeof(pass));
	}
	if ((r = minisig_seckey_load(skpath, NULL, 0, &sk)) != 0)
		die(skpath, r);

	snprintf(path, sizeof(path), "%s", out);
	slash = strrchr(path, '/');
	if (slash != NULL) {
		*slash = '\0';
		base = slash + 1;
		dirfd = open(path, O_RDONLY | O_DIRECTORY);
	} else {
		base = path;
		dirfd = open(".", O_RDONLY | O_DIRECTORY);
	}
	if (dirfd < 0)
		die("output directory", ERR_IO);

	if ((m = manifest_new()) == NULL)
		die("memory", ERR_NOMEM);
	randombytes_buf(m->export_id, sizeof(m->export_id));
	randombytes_buf(m->salt, sizeof(m->salt));
	age_file_key_generate(file_key);
	m->created = (uint64_t)time(NULL);
	if (seed != NULL) {
		derive(seed, "id", m->export_id, sizeof(m->export_id));
		derive(seed, "salt", m->salt, sizeof(m->salt));
		derive(seed, "key", file_key, sizeof(file_key));
		m->created = 1767225600;	/* 2026-01-01 */
	}
	m->expires = (uint64_t)((int64_t)m->created + expires_in);
	manifest_set_str(&m->tenant_type, "text");
	manifest_set_str(&m->snapshot, "sample (no database)");
	m->include_global = 1;
	if ((r = manifest_add_table(m, "app.contacts", 0, &t_contacts)) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "tenant_id", "text")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "id", "bigint")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "name", "text")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "email", "text")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "score", "double precision")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "active", "boolean")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "note", "text")) != 0 ||
	    (r = manifest_add_column(m, t_contacts, "blob", "bytea")) != 0 ||
	    (r = manifest_add_table(m, "app.currencies", -1, &t_cur)) != 0 ||
	    (r = manifest_add_column(m, t_cur, "code", "text")) != 0 ||
	    (r = manifest_add_column(m, t_cur, "name", "text")) != 0)
		die("manifest", r);
	if ((tv = buf_new(1024)) == NULL ||
	    (rec = buf_new(BUNDLE_MAX_PART_BYTES)) == NULL ||
	    (man = buf_new(MANIFEST_MAX_BYTES)) == NULL)
		die("memory", ERR_NOMEM);
	if ((r = dcbor_put_text(tv, tenant, strlen(tenant))) != 0 ||
	    (r = evidence_tenant_hash(m->salt, buf_ptr(tv), buf_len(tv),
	    m->tenant_hash)) != 0)
		die("tenant", r);

	if ((r = seal_writer_new(dirfd, base, part_size, &sw)) != 0)
		die("output", r);
	if ((hdr = buf_new(1 << 20)) == NULL ||
	    (r = age_header_write(rcp, nrcp, file_key, hdr)) != 0 ||
	    (r = seal_writer_write(sw, buf_ptr(hdr), buf_len(hdr))) != 0 ||
	    (r = age_enc_new_payload(file_key, seal_write, sw, &enc)) != 0)
		die("encrypt", r);
	buf_free(hdr);
	if ((r = bundle_writer_new(m, zstd, 0, age_write, enc, &bw)) != 0)
		die("bundle", r);
	for (i = 0; !empty && i < nrec; i++) {
		buf_reset(rec);
		put_contact(rec, tenant, i, row_bytes);
		if ((r = bundle_writer_add(bw, t_contacts, buf_ptr(rec),
		    buf_len(rec))) != 0)
			die("record", r);
		if (foreign != NULL && i == nrec / 2) {
			buf_reset(rec);
			put_contact(rec, foreign, i, row_bytes);
			if ((r = bundle_writer_add(bw, t_contacts,
			    buf_ptr(rec), buf_len(rec))) != 0)
				die("record", r);
		}
	}
	if (!empty) {
		static const char *cur[][2] = { { "EUR", "Euro" },
		    { "USD", "US dollar" }, { "JPY", "Yen" } };

		for (i = 0; i < 3; i++) {
			buf_reset(rec);
			if (dcbor_put_array(rec, 2) != 0 ||
			    dcbor_put_text(rec, cur[i][0], 3) != 0 ||
			    dcbor_put_text(rec, cur[i][1],
			    strlen(cur[i][1])) != 0 ||
			    (r = bundle_writer_add(bw, t_cur, buf_ptr(rec),
			    buf_len(rec))) != 0)
				die("record", ERR_INTERNAL);
		}
	}
	if ((r = bundle_writer_finish(bw, man)) != 0 ||
	    (r = age_enc_finish(enc)) != 0 ||
	    (r = seal_writer_close(sw)) != 0)
		die("finish", r);
	memset(&claims, 0, sizeof(claims));
	memcpy(claims.export_id, m->export_id, sizeof(claims.export_id));
	memcpy(claims.tenant_hash, m->tenant_hash, sizeof(claims.tenant_hash));
	claims.created = m->created;
	claims.expires = m->expires;
	manifest_digest(buf_ptr(man), buf_len(man), claims.manifest_digest);
	if ((r = seal_writer_publish(sw, sk, &claims)) != 0)
		die("publish", r);
	seal_writer_free(sw);
	bundle_writer_free(bw);
	age_enc_free(enc);
	for (i = 0; i < nrcp; i++)
		age_recipient_free(rcp[i]);
	manifest_free(m);
	minisig_seckey_free(sk);
	buf_free(rec);
	buf_free(tv);
	buf_free(man);
	close(dirfd);
	return 0;
}
