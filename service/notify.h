/*
 * notify.h: telling people about the jobs they wait for.
 *
 * [notify] command names a program the service runs whenever a job
 * reaches a state a person waits for: ready (published), failed, held
 * (over the size threshold, it awaits an approval) and expired (swept).
 * It runs without a shell, with a fixed argv (the command alone) and a
 * fixed environment (PATH, LC_ALL), and reads one JSON document on
 * stdin:
 *
 *	{"version": 1, "event": "ready", "job": ID (32 hex digits),
 *	 "tenant": ID, "state": "ready", "scope": {...}, "attempts": N,
 *	 "archive": NAME, "path": PATH, "records": N, "bytes": N,
 *	 "parts": N, "expires": T, "error": TEXT, "time": T}
 *
 * (archive, path, records, bytes, parts and expires for ready; error
 * for failed). Never a key, a passphrase, a row or the content of a file.
 *
 * The hook runs in a process of its own, away from the job: the export
 * never waits for it and never fails because of it. It sees the
 * filesystem without the service's files (the outbox, the state
 * directory, the signing and service keys, the database password files
 * and socket directory: sandbox_hide_paths), so the path it is given is
 * all it gets of the archive. It is killed (its whole process group)
 * after [notify] timeout. Every outcome is logged on the service's
 * standard error and in the audit log (notify.sent, notify.failed).
 */
#ifndef TEXP_NOTIFY_H
#define TEXP_NOTIFY_H

#include <jansson.h>

struct config;

/*
 * Tells the hook (if any) that job (a job as svc_job_json describes it)
 * reached event ("ready", "failed", "held", "expired"); extra (may be
 * NULL) adds the published archive's path, records, bytes and parts.
 * Returns at once; nothing is reported back.
 */
void notify_job(const struct config *cfg, const char *event,
    const json_t *job, const json_t *extra);

/* The document notify_job hands the hook (for tests and docs): a new
 * object with only the fields above. */
json_t *notify_document(const char *event, const json_t *job,
    const json_t *extra);

#endif
