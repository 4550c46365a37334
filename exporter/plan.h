/*
 * plan.h: the monitor's check that the archive it is about to sign is the
 * one it planned.
 *
 * The checker proves what the archive says: that every record of a tenant
 * table holds the tenant's key, that nothing is missing or altered. It
 * cannot know what the archive should have said: a builder that relabels
 * a tenant table as global (no tenant column), and fills it with another
 * tenant's rows, writes an archive the checker proves. The monitor holds
 * the plan (tables, columns, types, each table's tenant column per the
 * configuration, scope, compression, part size, times, ids) and refuses to
 * sign unless the proven preamble is exactly that plan.
 */
#ifndef TEXP_PLAN_H
#define TEXP_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct manifest;

/*
 * Compares the preamble the checker proved, pre[0..len) (the bytes
 * embedded in the proven manifest), with the monitor's plan. plan->part_bytes
 * 0 stands for the writer's default. Returns 0 when they are the same,
 * byte for byte; otherwise ERR_MANIFEST and a sentence in err naming the
 * first difference (table names and types only: never a row value).
 */
int plan_check(const struct manifest *plan, const uint8_t *pre, size_t len,
    char *err, size_t errlen);

#endif
