/*
 * support_int.h: what support.c loads and support_html.c renders (inside
 * ops/ only).
 */
#ifndef TEXP_OPS_SUPPORT_INT_H
#define TEXP_OPS_SUPPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "auditlog.h"

#define US	INT64_C(1000000)

struct buf;

struct rtenant {
	char *tenant;
	char *name;
};

struct rjob {
	char ref[33];
	char *tenant, *state, *scope, *requested, *approved;
	int64_t created, expires;
	int fetches, max_fetches;
	int has_sizes;
	uint64_t records, bytes;
};

struct report {
	int64_t now, from;
	unsigned days;
	int chain_ok;
	char chain_why[256];
	int64_t chain_rows;
	struct rtenant *t;
	size_t nt;
	struct rjob *j;
	size_t nj;
	int truncated;
	struct ops_rows rows;		/* seq order */
	size_t *byjob;			/* row indexes sorted by job, seq */
	size_t nbyjob;
	struct ops_alerts alerts;	/* newest first */
};

/* Appends the page for rp to out. */
int report_render(const struct report *rp, struct buf *out);

#endif
