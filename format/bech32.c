#include <string.h>

#include <sodium.h>

#include "bech32.h"
#include "err.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
polymod_step(uint32_t chk, uint8_t v)
{
	static const uint32_t gen[5] = {
		0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3
	};
	uint32_t top = chk >> 25;
	int i;

	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static char
to_lower(char c)
{
	return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

static char
to_upper(char c)
{
	return is_lower(c) ? (char)(c - 'a' + 'A') : c;
}

/* Checksum state after the expanded HRP (always over lowercase). */
static uint32_t
polymod_hrp(const char *hrp, size_t hrp_len)
{
	uint32_t chk = 1;
	size_t i;

	for (i = 0; i < hrp_len; i++)
		chk = polymod_step(chk, (uint8_t)to_lower(hrp[i]) >> 5);
	chk = polymod_step(chk, 0);
	for (i = 0; i < hrp_len; i++)
		chk = polymod_step(chk, (uint8_t)to_lower(hrp[i]) & 31);
	return chk;
}

static int
charset_value(char c)
{
	const char *p;

	c = to_lower(c);
	if (c == '\0' || (p = strchr(charset, c)) == NULL)
		return -1;
	return (int)(p - charset);
}

size_t
bech32_encoded_len(size_t hrp_len, size_t data_len)
{
	return hrp_len + 1 + (data_len * 8 + 4) / 5 + 6;
}

int
bech32_encode(char *out, size_t out_cap, const char *hrp,
    const uint8_t *data, size_t data_len, int upper)
{
	size_t hrp_len, i, o = 0;
	uint32_t chk, acc = 0;
	int bits = 0, has_upper = 0, has_lower = 0;
	uint8_t v;
	char c;

	if (out == NULL || hrp == NULL || (data == NULL && data_len != 0))
		return ERR_INVALID;
	hrp_len = strlen(hrp);
	if (hrp_len == 0)
		return ERR_INVALID;
	for (i = 0; i < hrp_len; i++) {
		if (hrp[i] < 33 || hrp[i] > 126)
			return ERR_INVALID;
		has_upper |= is_upper(hrp[i]);
		has_lower |= is_lower(hrp[i]);
	}
	if (has_upper && has_lower)
		return ERR_INVALID;
	if (data_len > (SIZE_MAX - hrp_len - 16) / 2 ||
	    out_cap < bech32_encoded_len(hrp_len, data_len) + 1)
		return ERR_LIMIT;
	chk = polymod_hrp(hrp, hrp_len);
	for (i = 0; i < hrp_len; i++)
		out[o++] = upper ? to_upper(hrp[i]) : hrp[i];
	out[o++] = '1';
	for (i = 0; i < data_len; i++) {
		acc = ((acc << 8) | data[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			v = (acc >> bits) & 31;
			chk = polymod_step(chk, v);
			c = charset[v];
			out[o++] = upper ? to_upper(c) : c;
		}
	}
	if (bits > 0) {
		v = (acc << (5 - bits)) & 31;
		chk = polymod_step(chk, v);
		c = charset[v];
		out[o++] = upper ? to_upper(c) : c;
	}
	for (i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (i = 0; i < 6; i++) {
		c = charset[(chk >> (5 * (5 - i))) & 31];
		out[o++] = upper ? to_upper(c) : c;
	}
	out[o] = '\0';
	sodium_memzero(&acc, sizeof(acc));	/* held key bits */
	return 0;
}

/* Validates s and finds the separator; *sep is the index of the last '1'. */
static int
bech32_check(const char *s, size_t len, size_t *sep)
{
	size_t i, pos = 0;
	int has_upper = 0, has_lower = 0, found = 0;
	uint32_t chk;
	int v;

	*sep = 0;
	if (s == NULL || len < 8)
		return ERR_BECH32;
	for (i = 0; i < len; i++) {
		if (s[i] < 33 || s[i] > 126)
			return ERR_BECH32;
		has_upper |= is_upper(s[i]);
		has_lower |= is_lower(s[i]);
		if (s[i] == '1') {
			pos = i;
			found = 1;
		}
	}
	if ((has_upper && has_lower) || !found || pos == 0 ||
	    len - pos - 1 < 6)
		return ERR_BECH32;
	chk = polymod_hrp(s, pos);
	for (i = pos + 1; i < len; i++) {
		if ((v = charset_value(s[i])) < 0)
			return ERR_BECH32;
		chk = polymod_step(chk, (uint8_t)v);
	}
	if (chk != 1)
		return ERR_BECH32;
	*sep = pos;
	return 0;
}

static int
copy_hrp(const char *s, size_t pos, char *hrp, size_t hrp_cap)
{
	if (hrp == NULL || hrp_cap < pos + 1)
		return ERR_LIMIT;
	memcpy(hrp, s, pos);
	hrp[pos] = '\0';
	return 0;
}

int
bech32_decode_values(const char *s, size_t len, char *hrp,
    size_t hrp_cap, uint8_t *values, size_t values_cap, size_t *nvalues)
{
	size_t pos = 0, i, n;
	int r = ERR_INTERNAL;

	if (nvalues != NULL)
		*nvalues = 0;
	if (nvalues == NULL || (values == NULL && values_cap != 0))
		return ERR_INVALID;
	if ((r = bech32_check(s, len, &pos)) != 0)
		goto out;
	if ((r = copy_hrp(s, pos, hrp, hrp_cap)) != 0)
		goto out;
	n = len - pos - 1 - 6;
	if (n > values_cap) {
		r = ERR_LIMIT;
		goto out;
	}
	for (i = 0; i < n; i++)
		values[i] = (uint8_t)charset_value(s[pos + 1 + i]);
	*nvalues = n;
	r = 0;
 out:
	if (r != 0 && hrp != NULL && hrp_cap > 0)
		sodium_memzero(hrp, hrp_cap);
	return r;
}

int
bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap,
    uint8_t *data, size_t data_cap, size_t *data_len)
{
	size_t pos = 0, i, n, o = 0;
	uint32_t acc = 0;
	int bits = 0, r = ERR_INTERNAL;

	if (data_len != NULL)
		*data_len = 0;
	if (data_len == NULL || (data == NULL && data_cap != 0))
		return ERR_INVALID;
	if ((r = bech32_check(s, len, &pos)) != 0)
		goto out;
	if ((r = copy_hrp(s, pos, hrp, hrp_cap)) != 0)
		goto out;
	n = len - pos - 1 - 6;
	if (n * 5 / 8 > data_cap) {
		r = ERR_LIMIT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		acc = ((acc << 5) | (uint32_t)charset_value(s[pos + 1 + i])) &
		    0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			data[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Canonical padding: fewer than 5 leftover bits, all zero. */
	if (bits >= 5 || (acc & ((1U << bits) - 1)) != 0) {
		r = ERR_BECH32;
		goto out;
	}
	*data_len = o;
	r = 0;
 out:
	sodium_memzero(&acc, sizeof(acc));
	if (r != 0) {
		if (hrp != NULL && hrp_cap > 0)
			sodium_memzero(hrp, hrp_cap);
		if (data != NULL && data_cap > 0)
			sodium_memzero(data, data_cap);
	}
	return r;
}
