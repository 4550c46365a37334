/*
 * merkleq.h: Merkle trees (evidence.h) built in a second thread.
 *
 * A reader checking an archive hashes every record (content and tenant
 * hash, compared with the evidence at once) and adds a leaf to its table's
 * tree; the leaves and nodes are half of that hashing. merkleq takes the
 * leaves off the reader's thread: merkleq_add queues (table, tenant hash,
 * content hash) in batches; a thread adds them to the trees in the same
 * order. The trees are exactly those merkle_add would build.
 *
 * The thread owns trees[0..n) from merkleq_start until merkleq_finish
 * returns: read them only then. A tree no leaf is ever queued for (the
 * files table's, whose leaves wait for its files) is never touched by the
 * thread and stays the caller's. Not for sandboxed children that may not
 * create threads.
 */
#ifndef TEXP_MERKLEQ_H
#define TEXP_MERKLEQ_H

#include <stddef.h>
#include <stdint.h>

#include "evidence.h"

struct merkleq;

/* Starts the thread over trees[0..n). 0, ERR_NOMEM, or ERR_INTERNAL when
 * no thread can be created (the caller then calls merkle_add itself). */
int merkleq_start(struct merkle *trees, size_t n, struct merkleq **out);

/* Queues one leaf of tree t (< n); tenant_hash may be NULL (a global
 * table). Never fails: it waits while the queue is full. */
void merkleq_add(struct merkleq *q, size_t t, const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN]);

/* Adds every queued leaf, stops the thread and frees q: the trees are
 * then complete. Accepts NULL. */
void merkleq_finish(struct merkleq *q);

#endif
