/*
 * html.c: escaping and formatting for the support page (html.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "html.h"

int
html_text(struct buf *out, const char *s)
{
	const char *rep;
	int r = 0;

	if (s == NULL)
		return buf_put_str(out, "-");
	for (; *s != '\0' && r == 0; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			rep = (unsigned char)*s < 0x20 || *s == 0x7f ?
			    "&#xfffd;" : NULL;
		}
		r = rep != NULL ? buf_put_str(out, rep) : buf_put(out, s, 1);
	}
	return r;
}

int
html_elem(struct buf *out, const char *tag, const char *cls, const char *s)
{
	int r;

	if (cls != NULL)
		r = buf_putf(out, "<%s class=\"%s\">", tag, cls);
	else
		r = buf_putf(out, "<%s>", tag);
	if (r == 0)
		r = html_text(out, s);
	if (r == 0)
		r = buf_putf(out, "</%s>", tag);
	return r;
}

void
html_time(int64_t us, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(us / 1000000);

	if (us == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, len, "-");
}

void
html_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(out, len, "%" PRIu64 " B", bytes);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, "%.1f %s", v, units[u]);
}

void
html_count(uint64_t n, char *out, size_t len)
{
	char digits[24];
	size_t nd, i, o = 0;

	nd = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, n);
	for (i = 0; i < nd && o + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}
