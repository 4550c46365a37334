/*
 * tokscan.h: finds whole identifiers inside values. The leak test hunts
 * for other tenants' ids and for canary markers in every value of an
 * export, and in the statistics an export session can read.
 *
 * Matching is by exact token. Token characters are ASCII letters, digits,
 * '_' and '-'. An identifier occurs in a text when its bytes appear there
 * and the byte just before (if the identifier starts with a token
 * character) and the byte just after (if it ends with one) are not token
 * characters, or are the text's edge. So tenant "acme" is found in
 * "/acme/", "acme corp" and "{\"t\":\"acme\"}", but not in "acme-corp",
 * "acme_2" or "macme"; tenant "7" is not found in "INV-7" or "17".
 * Matching is byte for byte (tenant "ACME" is not "acme"), except that an
 * identifier shaped like a UUID matches in either letter case.
 *
 * Identifiers made only of token characters (UUIDs, slugs, canary
 * markers) are looked up in a hash set, one lookup per token of the text:
 * the cost does not grow with their number. Others are searched one by
 * one.
 *
 * Functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_TOKSCAN_H
#define TEXP_TOKSCAN_H

#include <stddef.h>
#include <stdint.h>

struct tokscan;

/* Upper bounds: identifiers per scanner, bytes per identifier. */
#define TOKSCAN_MAX_IDS		1000000
#define TOKSCAN_MAX_LEN		1024

/*
 * A scanner for the n identifiers (copied). ERR_INVALID for an empty or
 * over-long identifier, ERR_LIMIT for too many, ERR_NOMEM. The same
 * identifier twice is kept once (its first index is reported).
 */
int tokscan_new(const char *const *ids, size_t n, struct tokscan **out);
/* Accepts NULL. */
void tokscan_free(struct tokscan *t);
/* Number of identifiers given to tokscan_new. */
size_t tokscan_count(const struct tokscan *t);

/* Called once per occurrence: which is the identifier's index. */
typedef void (*tokscan_hit_fn)(void *ctx, size_t which);

/* Scans p[0..len) (any bytes). Returns the number of occurrences. */
size_t tokscan_text(const struct tokscan *t, const uint8_t *p, size_t len,
    tokscan_hit_fn fn, void *ctx);
/* Scans a 16-byte UUID value as its canonical text. */
size_t tokscan_uuid(const struct tokscan *t, const uint8_t u[16],
    tokscan_hit_fn fn, void *ctx);

/* 1 if c is a token character. */
int tokscan_is_token_char(int c);

#endif
