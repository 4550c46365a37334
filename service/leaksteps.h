/*
 * leaksteps.h: the steps of one leak test run on the service's side
 * (docs/AUDIT.md), shared by handle_leaktest.c (the run: the auditor's
 * right, the control-plane records, schema, tenants, references, access,
 * the end) and leakdata.c (per tested tenant: the session battery and
 * the export through the real pipeline, and the canaries).
 *
 * The process running these never holds a database password or the
 * service key: the database helper (leakdb.h) and the control-plane
 * children (ctlchild.h) do. It holds, for a moment each, one export
 * role's password (as every export's monitor does) and the ephemeral
 * age key the test's exports are encrypted to.
 */
#ifndef TEXP_LEAKSTEPS_H
#define TEXP_LEAKSTEPS_H

#include <stdint.h>

#include <jansson.h>

#include "leakrun.h"

struct leakdb;
struct leakreport;
struct svc_conn;

struct lt {
	struct svc_conn *sc;
	char run[33];			/* 32 hex */
	char auditor[64];
	struct leakrun_req q;
	struct leakdb *db;
	struct leakreport *rep;
	json_t *all;			/* every tenant id in the database */
	json_t *tested;			/* those tested, in order */
	json_t *registered;		/* control-plane tenants: id -> name */
	json_t *planted;		/* the canaries (canary.h entries) */
	json_t *undeclared;		/* columns holding other tenants' ids */
	int stopped;			/* interrupted, or the auditor left */
};

/* 1 once the run must stop: a signal arrived or the auditor's
 * connection closed (the reason is remembered). */
int lt_should_stop(struct lt *t);
/* The same as a callback: ctx is the struct lt. */
int lt_stop_cb(void *ctx);
/*
 * Test builds (TEXP_TEST_HOOKS): at the named point, when
 * $TEXP_TEST_LEAKTEST_PAUSE names it, writes this process's pid to the
 * file of that name in $TEXP_TEST_STATE_DIR and waits until a signal
 * arrives or the auditor's connection closes, so that a test can
 * interrupt the run in a known state. Elsewhere it does nothing. ctx is
 * the struct lt.
 */
void lt_test_pause(void *ctx, const char *point);

/* A record in the run's log ("leaktest.<what>", detail consumed). */
int lt_record(struct lt *t, const char *what, const char *tenant,
    json_t *detail);

/* One tested tenant: a leak test job, the session battery, the export
 * and its checks, the job's end. */
void lt_tenant(struct lt *t, const char *tenant, const char *other);
/* Canaries for every tested tenant (when asked), and their removal. */
void lt_canaries_plant(struct lt *t);
void lt_canaries_delete(struct lt *t);

#endif
