/*
 * admin.h: signed changes to who may do what.
 *
 *   principal.add      name, pubkey (minisign base64 line), roles (comma
 *                      list), person (optional; the name by default)
 *   principal.grant    name, roles
 *   principal.disable  name
 *   tenant.add         tenant, display_name, recipients (optional comma
 *                      list of age1... recipients)
 *   tenant.recipients  tenant, recipients (replaces the list)
 *   assignment.add     name, tenant
 *   assignment.remove  name, tenant
 *   queue.pause        tenant ("" for every tenant): workers claim none
 *                      of its queued jobs until
 *   queue.resume       tenant ("" for every tenant)
 *
 * Each is an action (action.h) signed by the root key or a principal
 * holding `admin`; tenant.recipients and assignments also need the
 * admin's own assignment to the tenant (an admin of Client B cannot hand
 * out Client A; the root key may). Adding a tenant assigns the admin who
 * added it. The change is decided from the ledger, recorded as one signed
 * row that carries the admin's action (principal.added, role.granted,
 * principal.disabled, tenant.added, tenant.recipients, assignment.added,
 * assignment.removed, queue.paused, queue.resumed), and mirrored into the
 * cache tables. Pausing one tenant needs an admin of it; pausing every
 * tenant any admin. Refusals are
 * audited as admin.denied with the reason, allowed changes that cannot
 * be made (a duplicate name, an unknown principal) as admin.failed.
 */
#ifndef TEXP_ADMIN_H
#define TEXP_ADMIN_H

#include "jobs.h"

/* 1 if kind is one of the admin kinds above. */
int admin_kind_valid(const char *kind);

/* Verifies and applies one signed admin action (struct jobs_ctx as in
 * jobs.h). o->r: 0 done, ERR_DENIED refused, ERR_EXISTS / ERR_NOENT /
 * ERR_INVALID could not be made, ERR_DB. */
int admin_apply(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o);

/* 1 if s is a valid person id: ^[a-z0-9][a-z0-9._@-]{0,127}$. */
int admin_person_valid(const char *s);

#endif
