/*
 * sandbox_int.h: internals shared by the files of sandbox/. Not part of
 * the module's contract; nothing outside sandbox/ includes it.
 */
#ifndef TEXP_SANDBOX_INT_H
#define TEXP_SANDBOX_INT_H

#include "sandbox.h"

/*
 * Exit status of a child whose SIGSYS trap handler ran (TEXP_SANDBOX_DEBUG
 * builds only): 128 + SIGSYS, as a shell would report it.
 */
#define SANDBOX_TRAP_EXIT	159

/*
 * Builds and loads the seccomp filter for policy p in the calling thread.
 * Returns 0, or ERR_SANDBOX with *errno_out set to the failing errno.
 */
int sandbox_seccomp_load(const struct sandbox_policy *p, int *errno_out);

/* A policy's directory descriptor, or -1 (0 counts as none). */
int sandbox_dir_of(const struct sandbox_policy *p);

#endif
