#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aead.h"
#include "err.h"

struct aead {
	EVP_CIPHER_CTX *ctx;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *cipher;	/* never freed: shared by every context */
static int ready;		/* cipher fetched and a context keyed once */

/* The cipher fetched, and one keyed context made and freed: whatever
 * libcrypto sets up on first use is set up here, once. */
static void
load(void)
{
	EVP_CIPHER_CTX *c;
	uint8_t k[AEAD_KEY_LEN] = { 0 }, n[AEAD_NONCE_LEN] = { 0 };

	if ((cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL)) ==
	    NULL || (c = EVP_CIPHER_CTX_new()) == NULL)
		return;
	ready = EVP_CipherInit_ex(c, cipher, NULL, k, n, 1) == 1;
	EVP_CIPHER_CTX_free(c);
}

int
aead_prepare(void)
{
	if (pthread_once(&once, load) != 0 || !ready)
		return ERR_INTERNAL;
	return 0;
}

int
aead_new(const uint8_t key[AEAD_KEY_LEN], struct aead **out)
{
	struct aead *a;

	*out = NULL;
	if (aead_prepare() != 0)
		return ERR_INTERNAL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ERR_NOMEM;
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(a);
		return ERR_NOMEM;
	}
	/* The key now, a nonce per message later: the context keeps the key
	 * and each init with a nonce starts a fresh message. */
	if (EVP_CipherInit_ex(a->ctx, cipher, NULL, key, NULL, 1) != 1) {
		aead_free(a);
		return ERR_INTERNAL;
	}
	*out = a;
	return 0;
}

int
aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *p, size_t n, uint8_t *c)
{
	int len = 0, fin = 0;

	if (n > INT_MAX - AEAD_TAG_LEN)
		return ERR_INVALID;
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    (n > 0 && EVP_CipherUpdate(a->ctx, c, &len, p, (int)n) != 1) ||
	    EVP_CipherFinal_ex(a->ctx, c + len, &fin) != 1 ||
	    (size_t)len + (size_t)fin != n ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
	    c + n) != 1)
		return ERR_INTERNAL;
	return 0;
}

int
aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *c, size_t clen, uint8_t *p)
{
	uint8_t tag[AEAD_TAG_LEN];
	size_t n;
	int len = 0, fin = 0;

	if (clen < AEAD_TAG_LEN || clen > INT_MAX)
		return -1;
	n = clen - AEAD_TAG_LEN;
	memcpy(tag, c + n, sizeof(tag));
	/* libcrypto decrypts as it goes and checks the tag at the end: the
	 * plaintext is only the caller's once Final accepted the tag. */
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    (n > 0 && EVP_CipherUpdate(a->ctx, p, &len, c, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN,
	    tag) != 1 ||
	    EVP_CipherFinal_ex(a->ctx, p + len, &fin) != 1 ||
	    (size_t)len + (size_t)fin != n) {
		if (n > 0)
			memset(p, 0, n);
		return -1;
	}
	return 0;
}

void
aead_free(struct aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);	/* wipes the key it holds */
	free(a);
}
