/*
 * html.h: the few pieces of HTML the support page is made of. Every
 * string that comes from the database goes through html_text, which
 * escapes & < > " and ' (so it is text in an element and in a quoted
 * attribute alike) and shows control characters as U+FFFD.
 */
#ifndef TEXP_OPS_HTML_H
#define TEXP_OPS_HTML_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Appends s escaped ("-" shown for NULL). */
int html_text(struct buf *out, const char *s);
/* Appends "<tag class="cls">" + escaped s + "</tag>" (cls may be NULL). */
int html_elem(struct buf *out, const char *tag, const char *cls,
    const char *s);
/* "2026-11-02 09:05" (UTC) for µs since the epoch; "-" for 0. */
void html_time(int64_t us, char *out, size_t len);
/* "56.0 KiB", "1.2 MiB", "312 B". */
void html_size(uint64_t bytes, char *out, size_t len);
/* "1,234,567". */
void html_count(uint64_t n, char *out, size_t len);

#endif
