/*
 * leakaccess.h: the leak test's access paths (docs/AUDIT.md, "Access
 * paths").
 *
 * Two throwaway principals (probes) are registered for the run, one
 * assigned to tenant A only and one to B only, with every right a
 * principal of one tenant can hold (requester, approver, pii, fetcher).
 * Their keys exist only in this process's memory. Each first makes a
 * request of its own tenant and looks at its job (allowed: the positive
 * control that shows the refusals below are about the tenant, nothing
 * else); then each tries, against the other's tenant and job, every
 * command a principal has (request, a one-step run's request, run --job,
 * approve, status, list, cancel, fetch), the other's request replayed,
 * a request signed an hour ago, and approving its own request. Each must
 * be refused, and the refusal must be in the audit log with its reason.
 * Each probe then cancels its own job and is removed; the log says so.
 *
 * Every decision goes through the same control-plane code as the
 * principals' own commands, in control-plane children. A probe can never
 * move data (ledger.h), whatever happens here.
 */
#ifndef TEXP_LEAKACCESS_H
#define TEXP_LEAKACCESS_H

struct leakreport;
struct svc_conn;

struct leakaccess {
	const struct svc_conn *sc;
	const char *run;
	const char *tenant[2];		/* two registered tenants */
	const char *display[2];		/* their display names */
	struct leakreport *rep;
	int (*should_stop)(void *ctx);	/* polled between attempts */
	void *ctx;			/* the run (leaksteps.h) */
};

/* Runs the step; checks go to x->rep. 0, or an error when the probes
 * could not be set up or removed (reported as an error check too). */
int leakaccess_run(const struct leakaccess *x);

#endif
