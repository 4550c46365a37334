/*
 * cmd_ops.c: helpers of the monitoring commands (cmd_ops.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_ops.h"

void
cmd_put_text(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

void
cmd_put_field(FILE *f, const char *label, const char *s)
{
	if (s == NULL)
		return;
	fprintf(f, " %s=\"", label);
	cmd_put_text(f, s);
	fputc('"', f);
}

int
cmd_parse_since(const char *s, int64_t *us)
{
	static const char units[] = "smhdw";
	static const int64_t mult[] = { 1, 60, 3600, 86400, 7 * 86400 };
	struct tm tm;
	const char *end, *u;
	int64_t n = 0;
	size_t len = strlen(s);

	*us = 0;
	if (len >= 2 && len <= 10 && strspn(s, "0123456789") == len - 1 &&
	    (u = strchr(units, s[len - 1])) != NULL) {
		for (end = s; isdigit((unsigned char)*end); end++)
			n = n * 10 + (*end - '0');
		*us = ((int64_t)time(NULL) - n * mult[u - units]) * 1000000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((len == 10 && (end = strptime(s, "%Y-%m-%d", &tm)) != NULL &&
	    *end == '\0') ||
	    (len == 20 && (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) !=
	    NULL && *end == '\0')) {
		*us = (int64_t)timegm(&tm) * 1000000;
		return 0;
	}
	return -1;
}
