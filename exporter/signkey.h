/*
 * signkey.h: the archive signing key, loaded before an export reads a
 * row, kept where the export's children cannot see it.
 *
 * [export] signing_key is read (it must be the service's own file, mode
 * 0600) and, when it is encrypted, unlocked with the first line of
 * [export] signing_passphrase_file (mode 0600 too). A wrong or missing
 * passphrase, a missing or unreadable key, a public key in its place:
 * each is an error here, before any job is claimed. The unlocked key is
 * then kept, unencrypted, only in pages marked MADV_WIPEONFORK
 * (sandbox_secret_alloc): the builder, the checker and every other child
 * forked meanwhile sees zeros there. It becomes a signing key object
 * again only to sign, once every child has exited.
 */
#ifndef TEXP_SIGNKEY_H
#define TEXP_SIGNKEY_H

#include <stddef.h>

struct config;
struct minisig_seckey;
struct signkey;

/* Loads the key. 0, or an err with a one-line reason in err naming the
 * file (never the passphrase). The caller frees *out with signkey_free. */
int signkey_load(const struct config *cfg, struct signkey **out, char *err,
    size_t errlen);
/* The key id as minisign shows it. */
const char *signkey_id(const struct signkey *k);
/* A key object to sign with (the caller minisig_seckey_free()s it). Only
 * while no child is running: the object lives in ordinary guarded
 * memory. */
int signkey_get(const struct signkey *k, struct minisig_seckey **sk);
/* Wipes and frees. Accepts NULL. Never in a forked child. */
void signkey_free(struct signkey *k);

#endif
