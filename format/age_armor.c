/*
 * age_armor.c: the buffered input source and the age ASCII armor
 * (RFC 7468 strict PEM, label "AGE ENCRYPTED FILE").
 *
 * The decoder follows the reference implementation's strictness, which the
 * CCTV armor_* vectors pin down: the begin line exactly, then lines of
 * exactly 64 columns of padded canonical base64 except the last, which may
 * be shorter and must be followed by the end line; no empty lines, no
 * headers, no whitespace inside lines; LF or CRLF line endings; only
 * whitespace (at most 1024 bytes) before and after the block.
 */
#include <string.h>

#include <sodium.h>

#include "age.h"
#include "age_int.h"
#include "buf.h"
#include "err.h"

#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define ARMOR_COLS 64
#define ARMOR_BYTES 48		/* bytes per full line */
#define ARMOR_LINE_MAX 80	/* longest line we look at, CR included */

enum {
	AR_BEGIN = 0,	/* expecting the begin line */
	AR_BODY,	/* expecting data or the end line */
	AR_FOOTER,	/* after a short line: only the end line */
	AR_END,		/* done, trailing whitespace checked */
};

static int
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

int
age_src_init(struct age_src *s, age_read_fn rd, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->rd = rd;
	s->ctx = ctx;
	if ((s->la = buf_new(AGE_SRC_RAW)) == NULL)
		return ERR_NOMEM;
	return 0;
}

void
age_src_clear(struct age_src *s)
{
	buf_free(s->la);
	memset(s, 0, sizeof(*s));
}

/* Reads more input into the lookahead buffer. */
static int
src_fill(struct age_src *s)
{
	size_t room = AGE_SRC_RAW - buf_len(s->la), got = 0;
	uint8_t *dst;
	int r;

	if (s->eof)
		return 0;
	if (room == 0)
		return ERR_INTERNAL;
	if ((r = buf_reserve(s->la, room, &dst)) != 0)
		return r;
	if ((r = s->rd(s->ctx, dst, room, &got)) != 0) {
		buf_unput(s->la, room);
		return r;
	}
	if (got > room) {
		buf_unput(s->la, room);
		return ERR_IO;
	}
	if (got == 0)
		s->eof = 1;
	return buf_unput(s->la, room - got);
}

int
age_src_read(struct age_src *s, uint8_t *p, size_t cap, size_t *got)
{
	size_t n;
	int r;

	*got = 0;
	if (cap == 0)
		return 0;
	if ((n = buf_len(s->la)) > 0) {
		if (n > cap)
			n = cap;
		if ((r = buf_get(s->la, p, n)) != 0)
			return r;
		*got = n;
		return 0;
	}
	if (s->eof)
		return 0;
	if ((r = s->rd(s->ctx, p, cap, &n)) != 0)
		return r;
	if (n > cap)
		return ERR_IO;
	if (n == 0)
		s->eof = 1;
	*got = n;
	return 0;
}

/* Input that is not a binary header but carries the begin line a little
 * further on is armor with garbage in front: report it as armor. */
static int
detect_late_begin(struct age_src *s, int *armored)
{
	static const char bin[] = "age-encryption.org/";
	size_t n;
	int r;

	while (!s->eof && buf_len(s->la) < AGE_ARMOR_WS_MAX +
	    sizeof(ARMOR_BEGIN)) {
		if ((r = src_fill(s)) != 0)
			return r;
	}
	n = buf_len(s->la);
	if (memcmp(buf_ptr(s->la), bin, n < sizeof(bin) - 1 ? n :
	    sizeof(bin) - 1) == 0)
		return 0;
	if (memmem(buf_ptr(s->la), n, ARMOR_BEGIN, strlen(ARMOR_BEGIN)) ==
	    NULL)
		return 0;
	*armored = 1;
	return ERR_AGE_ARMOR;
}

int
age_src_detect_armor(struct age_src *s, int *armored)
{
	size_t i = 0, since_lf = 0;
	uint8_t c = 0;
	int r;

	*armored = 0;
	for (;;) {
		if (buf_peek(s->la, i, &c, 1) != 0) {
			if (s->eof || i > AGE_ARMOR_WS_MAX)
				return 0;
			if ((r = src_fill(s)) != 0)
				return r;
			continue;
		}
		if (!is_ws(c))
			break;
		since_lf = c == '\n' ? 0 : since_lf + 1;
		i++;
	}
	if (i > AGE_ARMOR_WS_MAX)
		return 0;
	if (c != '-')
		return detect_late_begin(s, armored);
	*armored = 1;
	/* The begin line must start a line: "  -----BEGIN" is malformed. */
	if (since_lf != 0)
		return ERR_AGE_ARMOR;
	return buf_consume(s->la, i);
}

/* Next line without its LF (and without one CR before it); the pointer is
 * valid until the next call. ERR_AGE_ARMOR at EOF or on an overlong line. */
static int
src_line(struct age_src *s, const uint8_t **line, size_t *len)
{
	int r;

	for (;;) {
		r = buf_get_line(s->la, line, len, ARMOR_LINE_MAX);
		if (r == 0)
			break;
		if (r != ERR_TRUNCATED)
			return ERR_AGE_ARMOR;
		if (s->eof) {
			/* Last line without LF. */
			if ((*len = buf_len(s->la)) == 0)
				return ERR_AGE_ARMOR;
			if ((r = buf_get_ptr(s->la, *len, line)) != 0)
				return r;
			break;
		}
		if ((r = src_fill(s)) != 0)
			return r;
	}
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return 0;
}

static int
line_eq(const uint8_t *l, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(l, s, len) == 0;
}

/* After the end line: whitespace only, bounded, then EOF. */
static int
drain_trailing(struct age_src *s)
{
	size_t seen = 0;
	uint8_t c;
	int r;

	for (;;) {
		while (buf_get_u8(s->la, &c) == 0) {
			if (!is_ws(c) || ++seen >= AGE_ARMOR_WS_MAX)
				return ERR_AGE_ARMOR;
		}
		if (s->eof)
			return 0;
		if ((r = src_fill(s)) != 0)
			return r;
	}
}

int
age_armor_read(struct age_armor_dec *a, struct age_src *s, uint8_t *p,
    size_t cap, size_t *got)
{
	const uint8_t *l;
	size_t ll, n;
	int r;

	*got = 0;
	while (*got < cap) {
		if (a->loff < a->llen) {
			n = a->llen - a->loff;
			if (n > cap - *got)
				n = cap - *got;
			memcpy(p + *got, a->line + a->loff, n);
			a->loff += n;
			*got += n;
			continue;
		}
		if (a->state == AR_END)
			break;
		if ((r = src_line(s, &l, &ll)) != 0)
			return r;
		if (a->state == AR_BEGIN) {
			if (!line_eq(l, ll, ARMOR_BEGIN))
				return ERR_AGE_ARMOR;
			a->state = AR_BODY;
			continue;
		}
		if (line_eq(l, ll, ARMOR_END)) {
			a->state = AR_END;
			if ((r = drain_trailing(s)) != 0)
				return r;
			continue;
		}
		if (a->state == AR_FOOTER || ll == 0 || ll > ARMOR_COLS)
			return ERR_AGE_ARMOR;
		if (age_b64_decode(l, ll, a->line, sizeof(a->line), &n, 1) != 0)
			return ERR_AGE_ARMOR;
		if (n < ARMOR_BYTES)
			a->state = AR_FOOTER;
		a->loff = 0;
		a->llen = n;
	}
	return 0;
}

/* ---- encoding ---- */

int
age_armor_enc_begin(struct age_armor_enc *a, age_write_fn wr, void *ctx)
{
	memset(a, 0, sizeof(*a));
	a->wr = wr;
	a->ctx = ctx;
	return wr(ctx, (const uint8_t *)ARMOR_BEGIN "\n",
	    sizeof(ARMOR_BEGIN "\n") - 1);
}

static void
encode_line(char *dst, const uint8_t *p, size_t n)
{
	char tmp[ARMOR_COLS + 1];
	size_t len;

	sodium_bin2base64(tmp, sizeof(tmp), p, n,
	    sodium_base64_VARIANT_ORIGINAL);
	len = strlen(tmp);
	memcpy(dst, tmp, len);
	dst[len] = '\n';
}

int
age_armor_enc_write(struct age_armor_enc *a, const uint8_t *p, size_t n)
{
	char txt[64 * (ARMOR_COLS + 1)];
	size_t k, o = 0;
	int r;

	while (n > 0) {
		if (a->ncarry > 0 || n < ARMOR_BYTES) {
			k = ARMOR_BYTES - a->ncarry;
			if (k > n)
				k = n;
			memcpy(a->carry + a->ncarry, p, k);
			a->ncarry += k;
			p += k;
			n -= k;
			if (a->ncarry < ARMOR_BYTES)
				break;
			encode_line(txt + o, a->carry, ARMOR_BYTES);
			a->ncarry = 0;
		} else {
			encode_line(txt + o, p, ARMOR_BYTES);
			p += ARMOR_BYTES;
			n -= ARMOR_BYTES;
		}
		o += ARMOR_COLS + 1;
		if (o == sizeof(txt)) {
			if ((r = a->wr(a->ctx, (const uint8_t *)txt, o)) != 0)
				return r;
			o = 0;
		}
	}
	if (o > 0 && (r = a->wr(a->ctx, (const uint8_t *)txt, o)) != 0)
		return r;
	return 0;
}

int
age_armor_enc_finish(struct age_armor_enc *a)
{
	char txt[ARMOR_COLS + 1];
	int r;

	if (a->ncarry > 0) {
		encode_line(txt, a->carry, a->ncarry);
		if ((r = a->wr(a->ctx, (const uint8_t *)txt,
		    (a->ncarry + 2) / 3 * 4 + 1)) != 0)
			return r;
		a->ncarry = 0;
	}
	return a->wr(a->ctx, (const uint8_t *)ARMOR_END "\n",
	    sizeof(ARMOR_END "\n") - 1);
}
