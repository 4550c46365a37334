/*
 * throttle.h: the database's share of one export, held by back-pressure.
 *
 * The monitor reads the builder's output pipe only while the export is
 * within its budget: at most rows_per_second rows and bytes_per_second
 * bytes, counted from the first row. When it stops reading, the pipe
 * fills, the builder blocks in write(), stops asking its connection for
 * rows, and the server's COPY waits on a full socket: the export slows
 * down at the source, and nothing buffers without bound anywhere (the
 * pipe, the builder's one chunk, the socket buffers).
 *
 * Counts come from the builder's progress lines (rows, and bytes of rows
 * as read) and from the ciphertext the monitor itself reads; the larger
 * byte count is used, so a builder that under-reports still meets the
 * byte budget through what it writes. A builder taken over by hostile
 * rows could under-report rows: the row budget is for well-behaved
 * exports, the byte budget holds for every one.
 *
 * Pure arithmetic on a caller's clock (milliseconds): no system calls.
 */
#ifndef TEXP_THROTTLE_H
#define TEXP_THROTTLE_H

#include <stdint.h>

struct throttle {
	uint64_t rows_per_second;	/* 0: no row budget */
	uint64_t bytes_per_second;	/* 0: no byte budget */
	uint64_t start_ms;
	uint64_t rows, bytes;		/* counted so far */
};

/* A budget starting at now_ms (both rates 0: never waits). */
void throttle_init(struct throttle *t, uint64_t rows_per_second,
    uint64_t bytes_per_second, uint64_t now_ms);
/* 1 if either budget is set. */
int throttle_on(const struct throttle *t);
/* Records the totals so far (they only grow; smaller values are kept
 * out). */
void throttle_note(struct throttle *t, uint64_t rows, uint64_t bytes);
/* Milliseconds to wait at now_ms before reading more: 0 to read now. */
uint64_t throttle_wait_ms(const struct throttle *t, uint64_t now_ms);

#endif
