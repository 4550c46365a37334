/*
 * testutil.h: small helpers shared by the Check suites.
 */
#ifndef TEXP_TESTUTIL_H
#define TEXP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <check.h>

/* Runs suite s and returns the process exit status (0 when all pass).
 * Every suite's main() is: return test_run_suite(name_suite()); */
int test_run_suite(Suite *s);

/* Path of a file under tests/testdata (static storage, overwritten by the
 * next call). The tests run from the repository root. */
const char *test_data_path(const char *rel);

/* Reads a whole file into a malloc'd buffer (NUL-terminated beyond *len).
 * Aborts the test on failure. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Writes len bytes to path (mode 0600), aborting the test on failure. */
void test_write_file(const char *path, const void *p, size_t len);

/* Hex string (spaces allowed) -> malloc'd bytes; aborts the test on bad
 * hex. */
uint8_t *test_unhex(const char *h, size_t *len);

/* Creates a fresh private temporary directory; returns a malloc'd path.
 * test_rmtree removes it and everything under it. */
char *test_mkdtemp(void);
void test_rmtree(const char *path);

/* Runs argv (argv[0] looked up in PATH) with stdin from in_path (or
 * /dev/null when NULL), capturing stdout to out_path when not NULL.
 * Returns the exit status, or 128+signal. */
int test_run(char *const argv[], const char *in_path, const char *out_path);

/*
 * A deterministic randombytes implementation for libsodium, so that keys,
 * salts and nonces (and so whole archives) can be pinned: block i of the
 * stream is BLAKE2b-512 of the 8-byte little-endian counter i keyed with
 * the current key. test_rng_key sets the key and restarts the counter;
 * test_rng_install makes libsodium use it (0, or -1).
 */
#include <stdint.h>
void test_rng_key(const uint8_t key[32]);
int test_rng_install(void);

#endif
