/*
 * age_int.h: internals shared by the age_*.c files. Not a public API.
 */
#ifndef TEXP_AGE_INT_H
#define TEXP_AGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"

#define AGE_X25519_LEN 32
#define AGE_SCRYPT_SALT_LEN 16
#define AGE_MAC_LEN 32
#define AGE_ENC_CHUNK (AGE_CHUNK_SIZE + AGE_TAG_LEN)
#define AGE_ARMOR_WS_MAX 1024

enum age_kind {
	AGE_KIND_X25519 = 1,
	AGE_KIND_SCRYPT = 2,
};

/* Allocated whole with sodium_malloc: it holds the secret key. */
struct age_identity {
	int kind;
	uint8_t sk[AGE_X25519_LEN];
	uint8_t pk[AGE_X25519_LEN];
	char *pass;		/* sodium_malloc'd, scrypt only */
	size_t pass_len;
	int max_log_n;
};

struct age_recipient {
	int kind;
	uint8_t pk[AGE_X25519_LEN];
	char *pass;		/* sodium_malloc'd, scrypt only */
	size_t pass_len;
	int log_n;
};

struct age_stanza {
	char **args;		/* args[0] is the type; NUL-terminated */
	size_t nargs;
	uint8_t *body;
	size_t body_len;
};

struct age_header {
	struct age_stanza *st;
	size_t n;
	uint8_t mac[AGE_MAC_LEN];
	uint8_t *bytes;		/* the header as read, up to the MAC line */
	size_t mac_input_len;	/* bytes covered by the MAC (through "---") */
};

/* Strict base64 (RFC 4648 alphabet): canonical trailing bits; unpadded
 * when padded is 0, exact '=' padding required when 1. Decodes s[0..len)
 * into out (cap bytes), setting *n. ERR_FORMAT on any violation,
 * ERR_LIMIT if out is too small. */
int age_b64_decode(const uint8_t *s, size_t len, uint8_t *out, size_t cap,
    size_t *n, int padded);
/* Appends unpadded base64 of p[0..n) to b. */
int age_b64_put(struct buf *b, const uint8_t *p, size_t n);

/* Parses exactly one header (len bytes, ending with the MAC line's LF).
 * ERR_AGE_HEADER on any deviation from the grammar or limits. */
int age_header_parse(const uint8_t *p, size_t len, struct age_header **out);
void age_header_free(struct age_header *h);
/* Finds the file key with ids; ERR_AGE_NO_MATCH / ERR_AGE_HEADER. */
int age_header_unwrap(const struct age_header *h,
    struct age_identity *const *ids, size_t n, uint8_t key[AGE_FILE_KEY_LEN]);
/* ERR_AGE_HMAC unless the MAC verifies under key. */
int age_header_verify_mac(const struct age_header *h,
    const uint8_t key[AGE_FILE_KEY_LEN]);

/* Input with a small lookahead buffer (a struct buf of at most
 * AGE_SRC_RAW bytes), shared by binary and armor reads. */
struct age_src {
	age_read_fn rd;
	void *ctx;
	struct buf *la;
	int eof;
};
#define AGE_SRC_RAW 4096

int age_src_init(struct age_src *s, age_read_fn rd, void *ctx);
void age_src_clear(struct age_src *s);
/* One read: buffered bytes first, else one call to rd. *got = 0 at EOF. */
int age_src_read(struct age_src *s, uint8_t *p, size_t cap, size_t *got);
/* Skips leading whitespace (bounded) and reports whether the next byte is
 * '-', i.e. armor. Consumes the whitespace only when armored. */
int age_src_detect_armor(struct age_src *s, int *armored);

struct age_armor_dec {
	int state;
	uint8_t line[48];
	size_t loff, llen;
};
/* Reads decoded bytes (at most cap, short reads allowed, *got = 0 at the
 * end of a well-formed armor). ERR_AGE_ARMOR on malformed armor. */
int age_armor_read(struct age_armor_dec *a, struct age_src *s, uint8_t *p,
    size_t cap, size_t *got);

struct age_armor_enc {
	age_write_fn wr;
	void *ctx;
	uint8_t carry[48];
	size_t ncarry;
};
int age_armor_enc_begin(struct age_armor_enc *a, age_write_fn wr, void *ctx);
int age_armor_enc_write(struct age_armor_enc *a, const uint8_t *p, size_t n);
int age_armor_enc_finish(struct age_armor_enc *a);

#endif
