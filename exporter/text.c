/*
 * text.c: escaping text from outside the process (see text.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Length of the valid UTF-8 sequence of a printable character at p (at
 * most n bytes), or 0. Overlong forms, surrogates, code points above
 * U+10FFFF and the C1 controls are not printable. */
static size_t
utf8_printable(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0xc2)
		return 0;	/* ASCII is handled by the caller; 0x80..0xc1 */
	if (p[0] < 0xe0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] < 0xf0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] < 0xf5) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

size_t
text_escape(char *out, size_t outlen, const void *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = in;
	size_t o = 0, i = 0, len, used;
	char esc[4];
	const char *piece;

	if (outlen == 0)
		return 0;
	while (i < n) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			piece = (const char *)&p[i];
			len = used = 1;
		} else if (p[i] == '\\') {
			piece = "\\\\";
			len = 2;
			used = 1;
		} else if ((len = utf8_printable(&p[i], n - i)) != 0) {
			piece = (const char *)&p[i];
			used = len;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 15];
			piece = esc;
			len = 4;
			used = 1;
		}
		if (o + len >= outlen)
			break;
		memcpy(out + o, piece, len);
		o += len;
		i += used;
	}
	out[o] = '\0';
	return o;
}

void
text_escape_inplace(char *s, size_t size)
{
	char *tmp;
	size_t n;

	if (s == NULL || size == 0)
		return;
	n = strnlen(s, size - 1);
	if ((tmp = malloc(n + 1)) == NULL) {
		/* No memory: blank anything unsafe rather than keep it. */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
			    (unsigned char)s[i] >= 0x80)
				s[i] = '?';
		return;
	}
	memcpy(tmp, s, n);
	text_escape(s, size, tmp, n);
	free(tmp);
}

size_t
text_describe(char *out, size_t outlen, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), o, i, len, pos = 0, shown = 0;
	uint32_t cp;
	int k;

	if (outlen < 3) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	out[0] = '"';
	o = 1 + text_escape(out + 1, outlen - 2, s, n);
	out[o++] = '"';
	out[o] = '\0';
	for (i = 0; i < n; i += len) {
		pos++;
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			len = 1;
			continue;
		}
		if ((len = utf8_printable(&p[i], n - i)) == 0) {
			len = 1;	/* escaped above as \xNN */
			continue;
		}
		cp = p[i] & (0x7f >> len);
		for (size_t j = 1; j < len; j++)
			cp = (cp << 6) | (p[i + j] & 0x3f);
		if (shown == 8) {
			k = snprintf(out + o, outlen - o, ", ...");
			shown++;
		} else if (shown < 8)
			k = snprintf(out + o, outlen - o, "%sU+%04X at %zu",
			    shown == 0 ? " (non-ASCII: " : ", ", (unsigned)cp,
			    pos);
		else
			continue;
		if (k < 0 || (size_t)k >= outlen - o) {
			out[o] = '\0';
			return o;
		}
		o += (size_t)k;
		shown++;
	}
	if (shown > 0 && o + 2 <= outlen) {
		out[o++] = ')';
		out[o] = '\0';
	}
	return o;
}
