#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "sha256.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *md;		/* never freed: shared by every call */

static void
load(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
sha256_pair(uint8_t out[SHA256_LEN], const void *a, size_t an,
    const void *b, size_t bn)
{
	EVP_MD_CTX *c;
	unsigned int len = 0;
	int ok;

	memset(out, 0, SHA256_LEN);
	if (pthread_once(&once, load) != 0 || md == NULL)
		return ERR_INTERNAL;
	if ((c = EVP_MD_CTX_new()) == NULL)
		return ERR_NOMEM;
	ok = EVP_DigestInit_ex(c, md, NULL) == 1 &&
	    (an == 0 || EVP_DigestUpdate(c, a, an) == 1) &&
	    (bn == 0 || EVP_DigestUpdate(c, b, bn) == 1) &&
	    EVP_DigestFinal_ex(c, out, &len) == 1 && len == SHA256_LEN;
	EVP_MD_CTX_free(c);
	if (!ok) {
		memset(out, 0, SHA256_LEN);
		return ERR_INTERNAL;
	}
	return 0;
}

int
sha256(uint8_t out[SHA256_LEN], const void *p, size_t n)
{
	return sha256_pair(out, p, n, NULL, 0);
}
