/*
 * text.h: text that came from elsewhere (a child's log line, the
 * database, an archive), made safe to show.
 *
 * Such text may carry terminal escape sequences ("\033]0;...\a" retitles
 * a terminal, others rewrite what is on screen or the clipboard), and it
 * goes on to terminals, --json output, the control tables and the audit
 * log. The exporter escapes it once, where it enters the process, so that
 * everything downstream holds only printable text.
 */
#ifndef TEXP_TEXT_H
#define TEXP_TEXT_H

#include <stddef.h>

/*
 * Writes the n bytes at in to out (outlen bytes, always NUL-terminated
 * when outlen > 0) with every byte that is not printable escaped as
 * "\xNN": C0 controls, DEL, the C1 controls U+0080..U+009F, bytes that are
 * not part of valid UTF-8, and NUL. A backslash becomes "\\", so the
 * result reads back unambiguously. Printable ASCII and valid UTF-8 from
 * U+00A0 up are kept. Output that does not fit is cut at a character
 * boundary, never inside an escape. Returns the length written.
 */
size_t text_escape(char *out, size_t outlen, const void *in, size_t n);

/* The same for a NUL-terminated string, in place (s has size bytes).
 * The result may be cut to fit. */
void text_escape_inplace(char *s, size_t size);

/*
 * A tenant id or display name for a person who must tell it apart from
 * a look-alike: the escaped text (text_escape) in double quotes, so that
 * leading and trailing spaces show, followed, when it holds anything but
 * printable ASCII, by each such character's code point and position:
 *
 *   "acme"
 *   "acme "
 *   "\xd0\xb0cme" is shown as "аcme" (non-ASCII: U+0430 at 1)
 *   "cafe\xcc\x81" as "café" (non-ASCII: U+0301 at 5)
 *
 * Writes at most outlen bytes (always NUL-terminated when outlen > 0);
 * a long list ends in "...". Returns the length written.
 */
size_t text_describe(char *out, size_t outlen, const char *s);

#endif
