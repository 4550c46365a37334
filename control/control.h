/*
 * control.h: the control plane's PostgreSQL schema (texp_control):
 * migrations, principals, roles, capabilities, assignments and tenants.
 *
 * The schema lives in sql/control/NNN_*.sql, embedded in the binary and
 * applied in order by control_migrate (`tenant-export init`). It is owned
 * by the NOLOGIN role texp_control_owner; the monitor's login gets only
 * the rights it needs (docs/CONTROL.md).
 *
 * Deny by default: a principal may act on a tenant only when one of its
 * roles grants the capability AND it is assigned to that tenant. An admin
 * of one tenant is nothing for another.
 *
 * Functions return 0 or a negative enum err code. err/errlen, where
 * present, receive a one-line reason (never a secret); err is always
 * NUL-terminated when errlen > 0. Nothing here prints or exits.
 */
#ifndef TEXP_CONTROL_H
#define TEXP_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct minisig_pubkey;

/* Names fixed by sql/control/. */
#define CONTROL_SCHEMA		"texp_control"
#define CONTROL_OWNER_ROLE	"texp_control_owner"
/* Highest migration this binary knows (sql/control/NNN_*.sql). */
#define CONTROL_SCHEMA_VERSION	6

/* Capabilities (roles grant them; see the seeded roles in 001). */
#define CONTROL_CAP_EXPORT	"tenant:export"
#define CONTROL_CAP_EXPORT_PII	"tenant:export:pii"
#define CONTROL_CAP_APPROVE	"tenant:export:approve"
#define CONTROL_CAP_FETCH	"tenant:fetch"
#define CONTROL_CAP_ADMIN	"admin"
#define CONTROL_CAP_WORK	"tenant:export:work"	/* run queued jobs */
/* The leak test, on every tenant (no assignment needed; docs/AUDIT.md). */
#define CONTROL_CAP_AUDIT	"tenant:audit"

/* Principal names: ^[a-z0-9][a-z0-9._-]{0,62}$ (checked here and in SQL). */
#define CONTROL_NAME_MAX	63
/* Tenant ids and display names we accept in the control tables. */
#define CONTROL_TENANT_MAX	200
#define CONTROL_DISPLAY_MAX	200

/*
 * Applies every embedded migration not yet recorded in
 * texp_control.schema_migrations, each in its own transaction, in order.
 * admin must be allowed to create roles and schemas (a superuser, or the
 * database owner with CREATEROLE). grant_to, when not NULL, is the
 * monitor's login role that receives the monitor grants (its name is
 * quoted); NULL grants nothing to a login. Safe to run twice: the second
 * run applies nothing (*applied = 0). *applied (optional) gets the count.
 * ERR_DB with the server's message on failure; ERR_UNSUPPORTED if the
 * database has a newer schema than this binary knows.
 */
int control_migrate_grant(PGconn *admin, const char *grant_to, int *applied,
    char *err, size_t errlen);
/* control_migrate_grant(admin, NULL, applied, err, errlen). */
int control_migrate(PGconn *admin, int *applied, char *err, size_t errlen);
/* The embedded migrations: count, and the SQL / name of migration i
 * (0-based; version i + 1). Static storage, NUL-terminated; NULL past the
 * end. */
size_t control_migration_count(void);
const char *control_migration_sql(size_t i);
const char *control_migration_name(size_t i);

/*
 * 0 if the control schema is present at exactly CONTROL_SCHEMA_VERSION;
 * ERR_NOENT if absent ("run tenant-export init"), ERR_UNSUPPORTED if at
 * another version, ERR_DB on query failure.
 */
int control_check(PGconn *c, char *err, size_t errlen);

struct control_principal {
	int64_t id;
	char name[64];
	uint8_t key_id[8];	/* minisign key id, as stored in key files */
	int disabled;
};

/* By name; ERR_NOENT if unknown (a disabled one is returned with
 * disabled = 1). */
int control_principal_by_name(PGconn *c, const char *name,
    struct control_principal *out);

/*
 * Management (the admin commands; callers check `admin` and audit).
 * When c is already inside a transaction the change joins it (so the
 * caller can commit it together with its audit event); otherwise each call
 * is its own transaction. ERR_EXISTS for a duplicate (name, key id,
 * assignment, tenant), ERR_NOENT for an unknown principal, role or tenant,
 * ERR_INVALID for a bad name, ERR_DB otherwise.
 */
/* 1 if name is a valid principal name (the SQL check, in C). */
int control_name_valid(const char *name);
/* Adds a principal with public key pk and the given roles (n >= 1), in
 * one transaction. *id_out (optional) gets its id. */
int control_principal_add(PGconn *c, const char *name,
    const struct minisig_pubkey *pk, const char *const *roles, size_t n,
    int64_t *id_out, char *err, size_t errlen);
/* Grants an existing principal more roles (ERR_EXISTS if it already has
 * one of them, ERR_NOENT for an unknown principal or role). */
int control_role_grant(PGconn *c, const char *name, const char *const *roles,
    size_t n, char *err, size_t errlen);
/* Sets disabled_at (ERR_NOENT if unknown, ERR_EXISTS if already disabled). */
int control_principal_disable(PGconn *c, const char *name, char *err,
    size_t errlen);
int control_assign(PGconn *c, const char *name, const char *tenant,
    char *err, size_t errlen);
/* ERR_NOENT if there was no such assignment. */
int control_unassign(PGconn *c, const char *name, const char *tenant,
    char *err, size_t errlen);
int control_tenant_add(PGconn *c, const char *tenant,
    const char *display_name, char *err, size_t errlen);
/* Records who a principal is (person) and who registered it. */
int control_principal_meta(PGconn *c, const char *name, const char *person,
    const char *registered_by, char *err, size_t errlen);
/* Replaces a tenant's recipients (n of them). */
int control_tenant_recipients(PGconn *c, const char *tenant,
    const char *const *recipients, size_t n, char *err, size_t errlen);
/*
 * The control database's id (texp_control.instance, made by `init`) into
 * out: "<system identifier>-<32 hex>". ERR_NOENT before init, ERR_DB.
 */
#define CONTROL_ID_MAX	64
int control_id(PGconn *c, char out[CONTROL_ID_MAX + 1], char *err,
    size_t errlen);

#endif
