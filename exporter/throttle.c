/*
 * throttle.c: the database's share of one export (throttle.h).
 */
#include <stdint.h>

#include "throttle.h"

void
throttle_init(struct throttle *t, uint64_t rows_per_second,
    uint64_t bytes_per_second, uint64_t now_ms)
{
	t->rows_per_second = rows_per_second;
	t->bytes_per_second = bytes_per_second;
	t->start_ms = now_ms;
	t->rows = t->bytes = 0;
}

int
throttle_on(const struct throttle *t)
{
	return t->rows_per_second != 0 || t->bytes_per_second != 0;
}

void
throttle_note(struct throttle *t, uint64_t rows, uint64_t bytes)
{
	if (rows > t->rows)
		t->rows = rows;
	if (bytes > t->bytes)
		t->bytes = bytes;
}

/* When count items at rate per second are due, in ms after the start;
 * rounded up, and without overflow for any count. */
static uint64_t
due_ms(uint64_t count, uint64_t rate)
{
	uint64_t whole = count / rate, part = count % rate;

	if (whole > UINT64_MAX / 1000 - 1)
		return UINT64_MAX;
	return whole * 1000 + (part * 1000 + rate - 1) / rate;
}

uint64_t
throttle_wait_ms(const struct throttle *t, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > t->start_ms ? now_ms - t->start_ms : 0;
	uint64_t due = 0, d;

	if (t->rows_per_second != 0 &&
	    (d = due_ms(t->rows, t->rows_per_second)) > due)
		due = d;
	if (t->bytes_per_second != 0 &&
	    (d = due_ms(t->bytes, t->bytes_per_second)) > due)
		due = d;
	return due > elapsed ? due - elapsed : 0;
}
