/*
 * fuzz_age_header.c: age header parsing (binary and armored), stanza
 * unwrapping with fixed identities, and the first payload chunks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "age.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t len, off, step;
};

static int
src_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;

	if (n > cap)
		n = cap;
	if (n > s->step)
		n = s->step;
	memcpy(p, s->p + s->off, n);
	s->off += n;
	*got = n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The key of the CCTV vectors, so seeds from them unwrap. */
	static const char *sk =
	    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
	static const uint8_t fkey[AGE_FILE_KEY_LEN] = "YELLOW SUBMARINE";
	struct age_identity *ids[2] = { NULL, NULL };
	struct src s = { data, size, 0, 0 };
	struct age_dec *d = NULL;
	static uint8_t out[AGE_CHUNK_SIZE];
	size_t got, i, n;
	int r;

	if (size < 1)
		return 0;
	/* First byte picks the read size, to exercise short reads. */
	s.step = data[0] == 0 ? SIZE_MAX : data[0];
	s.off = 1;
	if (age_dec_new(src_read, &s, &d) != 0)
		return 0;
	n = age_dec_stanza_count(d);
	for (i = 0; i < n; i++)
		if (age_dec_stanza_type(d, i) == NULL)
			__builtin_trap();
	if (age_identity_parse(sk, &ids[0]) != 0 ||
	    age_identity_passphrase("password", 8, 4, &ids[1]) != 0)
		__builtin_trap();
	r = age_dec_unwrap(d, ids, 2);
	if (r != 0)
		r = age_dec_set_file_key(d, fkey);
	if (r == 0) {
		for (i = 0; i < 4; i++) {
			if (age_dec_read(d, out, i % 2 ? 100 : sizeof(out),
			    &got) != 0 || got == 0)
				break;
		}
	}
	age_identity_free(ids[0]);
	age_identity_free(ids[1]);
	age_dec_free(d);
	return 0;
}
