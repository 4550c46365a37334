/*
 * decq.h: decryption ahead of the reader, in a thread of its own.
 *
 * tenant-verify's main thread parses and hashes every record; decrypting
 * the payload (and, through the read callback, reading the file) costs a
 * third as much again. decq moves the decryption to a second thread that
 * fills a small ring of plaintext slots ahead of the reader, so both
 * cores work. What the reader sees is exactly what age_dec_read would
 * have returned, in the same order, an error where it occurred: only
 * authenticated bytes, and the same sticky error after them.
 *
 * The thread owns the decryptor (and its read callback) from decq_start
 * until decq_stop returns: the caller must not touch either in between.
 * Not for sandboxed children that may not create threads (the exporter's
 * checker reads without it).
 */
#ifndef TEXP_DECQ_H
#define TEXP_DECQ_H

#include <stddef.h>
#include <stdint.h>

#include "age.h"

struct decq;

/* Starts decrypting dec ahead. 0, ERR_NOMEM, or ERR_INTERNAL when no
 * thread can be created (the caller then reads dec itself). */
int decq_start(struct age_dec *dec, struct decq **out);

/* The reader's side, with age_read_fn's contract: up to cap bytes into p,
 * *got 0 at the end; the decryptor's error where it occurred. */
int decq_read(void *q, uint8_t *p, size_t cap, size_t *got);

/* Stops the thread (wherever it is), waits for it and frees q. Accepts
 * NULL. */
void decq_stop(struct decq *q);

#endif
