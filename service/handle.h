/*
 * handle.h: the service's answer to each command (one file per group:
 * handle_jobs.c, handle_run.c, handle_work.c, handle_fetch.c), and what
 * they share.
 *
 * A handler gets the connection and the request object ({"cmd",
 * "action", "sig", ...}), does its work through control-plane children
 * (ctlchild.h) and the export pipeline, and ends with one result frame.
 * It returns 0 once the result was sent (whatever it says), or an error
 * when the conversation itself failed.
 */
#ifndef TEXP_HANDLE_H
#define TEXP_HANDLE_H

#include <jansson.h>

#include "control.h"
#include "jobs.h"

struct config;
struct ledger;
struct ledger_job;

struct svc_conn {
	int fd;
	const struct config *cfg;
	char control_id[CONTROL_ID_MAX + 1];
	char peer[96];			/* "uid=N pid=N", for the log */
};

typedef int (*svc_handler)(struct svc_conn *sc, json_t *req);

int handle_request(struct svc_conn *sc, json_t *req);
int handle_approve(struct svc_conn *sc, json_t *req);
int handle_status(struct svc_conn *sc, json_t *req);
int handle_list(struct svc_conn *sc, json_t *req);
int handle_cancel(struct svc_conn *sc, json_t *req);
int handle_admin(struct svc_conn *sc, json_t *req);
int handle_run(struct svc_conn *sc, json_t *req);
int handle_work(struct svc_conn *sc, json_t *req);
int handle_fetch(struct svc_conn *sc, json_t *req);
int handle_leaktest(struct svc_conn *sc, json_t *req);

/* The request's signed action; 0, or ERR_FORMAT when it has none. The
 * pointers live as long as req. */
int svc_signed(json_t *req, struct jobs_signed *a);
/*
 * Sends the result frame: {"r", "error" (err_str), "reason", "message",
 * "principal", "state"} and the members of extra (consumed, may be NULL).
 */
int svc_result(struct svc_conn *sc, const struct jobs_outcome *o,
    json_t *extra);
/* A job as the commands show it: the table's record and what the signed
 * log says of it (lj may be NULL). */
json_t *svc_job_json(const struct jobs_job *j, const struct ledger_job *lj);
/* The jobs a step moved on its own (a sweep, a claim's reaping), each as
 * svc_job_json describes it; a job that cannot be read is left out. */
json_t *svc_changes_json(struct jobs_ctx *k, const struct jobs_changes *ch);
/* Adds "paused": "all", "tenant" or null, as the signed log says. */
void svc_job_paused(json_t *job, const struct ledger *l, const char *tenant);
/* Runs fn with a in a control-plane child and sends its result frame
 * (fn's reply members included). */
int svc_decide(struct svc_conn *sc, json_t *req,
    int (*fn)(struct jobs_ctx *, void *, struct jobs_outcome *, json_t *));

#endif
