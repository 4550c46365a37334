/*
 * outbox.h: the temporary files of exports in the outbox, and whether
 * their export still runs.
 *
 * An export writes its ciphertext to hidden temporaries
 * ".NAME.texp[.NNN|.index|.minisig].tmp-HEX" (seal.h), NAME being
 * "export-YYYYMMDD-<32 hex>". Before the first of them exists it takes an
 * exclusive lock (flock) on ".NAME.texp.lock" beside them, and it removes
 * that file only when it is done. The kernel releases a flock when the
 * last descriptor of it closes, however the process ended. So a temporary
 * whose lock file is missing, or not locked, belongs to an export that no
 * longer runs, and outbox_sweep may remove it; while the export runs,
 * nothing of it is touched.
 *
 * Functions return 0 or a negative enum err code.
 */
#ifndef TEXP_OUTBOX_H
#define TEXP_OUTBOX_H

#include <stddef.h>

/*
 * Creates and locks ".BASE.lock" in dirfd (base is "NAME.texp"). The file
 * appears under its name already locked (O_TMPFILE and linkat where the
 * filesystem has them). *lockfd is the descriptor holding the lock.
 * ERR_EXISTS if another export holds that name, ERR_IO otherwise.
 */
int outbox_lock(int dirfd, const char *base, int *lockfd);

/* Removes the lock file, then releases the lock. Accepts lockfd < 0. */
void outbox_unlock(int dirfd, const char *base, int lockfd);

/*
 * Removes the temporaries (and stale lock files) of every export in dirfd
 * that no longer runs, or, when base is not NULL, of that export only.
 * wait_ms: how long to wait for the lock of an export that is just ending
 * (its last children may still be closing descriptors); 0 to skip it at
 * once. *removed (optional) gets the number of files removed. Files not
 * named like an export's temporaries are never touched.
 */
int outbox_sweep(int dirfd, const char *base, int wait_ms, size_t *removed);

/* "export-YYYYMMDD-<32 hex>.texp": the name every file of one export
 * starts with (the 32 hex digits are the export's id). */
#define OUTBOX_BASE_LEN	(7 + 8 + 1 + 32 + 5)

/*
 * 1 if name is one of an export's files: published, "BASE" + ("" |
 * ".minisig" | ".index" | ".index.minisig" | "." 3 or 4 digits), *tmp 0;
 * or a temporary, "." + BASE + ("" | ".NNN" | ".index" | ".minisig") +
 * ".tmp-" + 16 hex, or ".BASE.lock", *tmp 1. Copies BASE into base.
 * 0 for any other name (never touched).
 */
int outbox_name(const char *name, char base[OUTBOX_BASE_LEN + 1], int *tmp);

#endif
