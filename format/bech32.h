/*
 * bech32.h: Bech32 (BIP173) as age uses it.
 *
 * Differences from BIP173, following the age spec: no 90-character limit on
 * the whole string (the caller bounds the length instead), and the data part
 * is converted between 5-bit groups and bytes with zero padding that must be
 * canonical on decode. Strings are all-lowercase or all-uppercase; the
 * checksum is always computed over the lowercase form. Decoders never read
 * past len and wipe their outputs on error, so secrets may be decoded into
 * sodium_malloc'd buffers.
 *
 * All functions return 0 or a negative enum err code.
 */
#ifndef TEXP_BECH32_H
#define TEXP_BECH32_H

#include <stddef.h>
#include <stdint.h>

/* Length (without the NUL) of the encoding of data_len bytes under an HRP
 * of hrp_len characters. */
size_t bech32_encoded_len(size_t hrp_len, size_t data_len);

/* Writes the NUL-terminated Bech32 encoding of data under hrp into out
 * (out_cap must be at least bech32_encoded_len() + 1). The HRP must be
 * 1 or more characters in 33..126 and not mixed case; it is emitted as
 * given when upper is 0 and uppercased when upper is 1, and the data part
 * follows the same case. ERR_INVALID on a bad HRP, ERR_LIMIT if out is too
 * small. out holds secrets when data does; the caller wipes it. */
int bech32_encode(char *out, size_t out_cap, const char *hrp,
    const uint8_t *data, size_t data_len, int upper);

/* Decodes s[0..len) (no NUL needed). On success copies the HRP, in the case
 * it had in s, NUL-terminated into hrp (hrp_cap bytes) and the bytes into
 * data (data_cap bytes), setting *data_len. ERR_BECH32 for any encoding or
 * checksum error (bad character, mixed case, no separator, empty HRP, short
 * checksum, non-zero or overlong padding), ERR_LIMIT when an output buffer
 * is too small. On error every output is wiped. */
int bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap,
    uint8_t *data, size_t data_cap, size_t *data_len);

/* Same checks, but returns the raw 5-bit data values (checksum excluded)
 * in values[0..*nvalues) without converting them to bytes. */
int bech32_decode_values(const char *s, size_t len, char *hrp,
    size_t hrp_cap, uint8_t *values, size_t values_cap, size_t *nvalues);

#endif
