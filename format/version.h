/*
 * version.h: what -V prints, "PROG VERSION (commit COMMIT)". Only the
 * objects the Makefile lists as VERSION_OBJ are compiled with the real
 * TEXP_VERSION and TEXP_COMMIT (and rebuilt when they change): include
 * it there only.
 */
#ifndef TEXP_VERSION_H
#define TEXP_VERSION_H

#include <stdio.h>

#ifndef TEXP_VERSION
#define TEXP_VERSION "0.1.0"
#endif
#ifndef TEXP_COMMIT
#define TEXP_COMMIT "unknown"
#endif

static inline void
texp_version_print(FILE *f, const char *prog)
{
	fprintf(f, "%s %s (commit %s)\n", prog, TEXP_VERSION, TEXP_COMMIT);
}

#endif
