/*
 * cmd_ops.h: what the monitoring commands (alerts, metrics, report)
 * share on the command-line side.
 */
#ifndef TEXP_CMD_OPS_H
#define TEXP_CMD_OPS_H

#include <stdint.h>
#include <stdio.h>

/* Writes s with every control character shown as '?' (a forged audit
 * row could hold terminal escapes). */
void cmd_put_text(FILE *f, const char *s);
/* " label=\"s\"" the same way; nothing when s is NULL. */
void cmd_put_field(FILE *f, const char *label, const char *s);
/*
 * --since: "YYYY-MM-DD" (UTC midnight), "YYYY-MM-DDTHH:MM:SSZ", or a time
 * ago ("90m", "24h", "7d": digits and one of s m h d w). *us gets
 * microseconds since the epoch. -1 if s is none of these.
 */
int cmd_parse_since(const char *s, int64_t *us);

#endif
