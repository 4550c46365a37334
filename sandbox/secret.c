/*
 * secret.c: memory for secrets the monitor holds while it forks children.
 *
 * A forked child gets a copy of the monitor's whole address space, so a
 * signing key in ordinary heap memory would be readable by a compromised
 * builder. Pages marked MADV_WIPEONFORK are instead replaced by zero pages
 * in the child. Guard pages on both sides turn an overrun into a fault.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <sodium.h>

#include "sandbox.h"

/* Page size and the rounded sizes for a request of len bytes; 0 on
 * overflow or a zero length. */
static int
secret_sizes(size_t len, size_t *page, size_t *body, size_t *total)
{
	long ps = sysconf(_SC_PAGESIZE);

	if (ps <= 0 || len == 0)
		return 0;
	*page = (size_t)ps;
	if (len > SIZE_MAX - 3 * *page)
		return 0;
	*body = (len + *page - 1) / *page * *page;
	*total = *body + 2 * *page;
	return 1;
}

void *
sandbox_secret_alloc(size_t len)
{
	size_t page, body, total;
	uint8_t *base;
	int e;

	if (!secret_sizes(len, &page, &body, &total)) {
		errno = EINVAL;
		return NULL;
	}
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base + page, body, PROT_READ | PROT_WRITE) != 0)
		goto fail;
	/* The property this allocator exists for: no fallback without it. */
	if (madvise(base + page, body, MADV_WIPEONFORK) != 0)
		goto fail;
	(void)madvise(base, total, MADV_DONTDUMP);
	(void)mlock(base + page, body);
	return base + page;
 fail:
	e = errno;
	(void)munmap(base, total);
	errno = e;
	return NULL;
}

void
sandbox_secret_free(void *p, size_t len)
{
	size_t page, body, total;
	uint8_t *user = p;

	if (p == NULL || !secret_sizes(len, &page, &body, &total))
		return;
	sodium_memzero(user, body);
	(void)munlock(user, body);
	(void)munmap(user - page, total);
}
