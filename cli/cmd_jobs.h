/*
 * cmd_jobs.h: what the job commands (request, approve, status, list,
 * cancel, run, fetch, and the admin commands) share on the command-line
 * side: unlocking the principal's key, signing an action, the common
 * options.
 *
 * These print their own "tenant-export: CMD: ..." messages.
 */
#ifndef TEXP_CMD_JOBS_H
#define TEXP_CMD_JOBS_H

#include <stddef.h>

#include <jansson.h>

#include "jobs.h"

struct buf;
struct client;
struct minisig_seckey;

/* Where the service is (client.h). */
struct client_opts {
	const char *socket;
	const char *config;
};

/* A signed action as built by cmd_sign. */
struct cmd_action {
	struct buf *text;
	struct buf *sig;
};
void cmd_action_clear(struct cmd_action *a);
/* View for jobs_*(): valid while a is. */
struct jobs_signed cmd_action_view(const struct cmd_action *a);

/* Unlocks KEY (--as) with --passphrase-file or a terminal prompt.
 * Returns 0 or an err (message printed). */
int cmd_key_load(const char *cmd, const char *key, const char *passfile,
    struct minisig_seckey **sk);
/* Signs kind with n fields. In the test-only build, TEXP_TEST_ACTION_AGE
 * (seconds in the past), TEXP_TEST_ACTION_SAVE and TEXP_TEST_ACTION_REPLAY
 * (a directory) let the tests present stale and replayed actions. */
int cmd_sign(const char *cmd, const struct minisig_seckey *sk,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, struct cmd_action *out);

/* Exit status for an outcome code: 0, 1 refused/failed, 2 operational. */
int cmd_exit_for(int r);
/*
 * The job argument as actions name it: the job id `request` printed (32
 * hex digits), or the whole hex id hash (64), in lower case; anything
 * else becomes a name no job has, which the service answers with "no
 * such job" like any unknown id.
 */
void cmd_job_arg(const char *arg, char out[65]);
/* 1 if arg has the form of a job id (32 hex digits) or id hash (64);
 * checked before the key is unlocked, so that a typo costs nothing. */
int cmd_job_valid(const char *arg);
/* "2024-01-02T03:04:05Z", or "-" for 0 (people's output; JSON has
 * null). */
void cmd_iso_time(int64_t t, char *out, size_t len);
/* Reads a typed confirmation from the terminal (echo on), first showing
 * display (the name to type, look-alikes spelled out) unless NULL. Returns a
 * malloc'd line without its newline, or NULL when there is no terminal. */
char *cmd_prompt_confirm(const char *display);

/* The scope of a request as given on the command line. */
struct cmd_req {
	const char *tenant;
	const char *tables;		/* comma list, or NULL: whole tenant */
	const char *since;
	const char *until;
	int include_global;
	int include_files;		/* --files */
	const char *confirm;		/* --confirm, or NULL: prompt if needed */
	const char *idem;		/* --idempotency-key, or NULL */
	char *recipients;		/* comma list of --recipient, or NULL */
	int passphrase;			/* --passphrase */
	int allow_empty;
	int zstd;
	const char *retry_of;		/* hex hash of the job retried, or
					 * NULL */
};

/* The request's options (request, and one-step run): CMD_REQUEST_OPTS
 * in a getopt_long table, cmd_request_opt to consume one (1), refuse a
 * bad value (-1, message printed), or pass (0). */
#define CMD_REQUEST_OPTS \
	{ "tenant", required_argument, NULL, 't' }, \
	{ "tables", required_argument, NULL, 'T' }, \
	{ "since", required_argument, NULL, 's' }, \
	{ "until", required_argument, NULL, 'u' }, \
	{ "include-global", no_argument, NULL, 'g' }, \
	{ "confirm", required_argument, NULL, 'C' }, \
	{ "idempotency-key", required_argument, NULL, 'i' }, \
	{ "recipient", required_argument, NULL, 'r' }, \
	{ "passphrase", no_argument, NULL, 'P' }, \
	{ "allow-empty", no_argument, NULL, 'e' }, \
	{ "zstd", no_argument, NULL, 'z' }, \
	{ "files", no_argument, NULL, 'F' }
int cmd_request_opt(const char *cmd, int ch, struct cmd_req *q);
/* The request options' lines for a usage text (request, run). */
extern const char cmd_request_usage[];
/*
 * What can be checked of q without the key or the service, before the
 * key is unlocked: the date window's form, each recipient's form, no
 * empty table name, --passphrase not with --recipient. 0, or
 * CMD_EXIT_USAGE with the message printed.
 */
int cmd_request_check(const char *cmd, const struct cmd_req *q);

/*
 * Signs an export.request for q with sk and sends it. When the service
 * answers that the scope is high-risk and q->confirm is NULL, asks for
 * the typed confirmation on the terminal and sends it again, signed anew.
 * *res is the service's answer; returns the exit status (messages
 * printed).
 */
int cmd_request_send(const char *cmd, const struct client_opts *co,
    const struct minisig_seckey *sk, const struct cmd_req *q, json_t **res);
/* The same over the connection cl (kept open for what follows), or over
 * one of its own when cl is NULL. */
int cmd_request_send_on(const char *cmd, struct client *cl,
    const struct client_opts *co, const struct minisig_seckey *sk,
    const struct cmd_req *q, json_t **res);

/*
 * The options every principal's command takes: where the service is
 * (--socket PATH, or --config FILE to run it here as the service
 * account), the key (--as KEY, --passphrase-file F) and --json.
 * CMD_COMMON_OPTS goes first in a getopt_long table; cmd_common_opt
 * consumes one of them (1) or not (0).
 */
struct cmd_common {
	struct client_opts co;
	const char *key;
	const char *passfile;
	int json;
};
#define CMD_COMMON_OPTS \
	{ "socket", required_argument, NULL, 'S' }, \
	{ "config", required_argument, NULL, 'c' }, \
	{ "as", required_argument, NULL, 'a' }, \
	{ "passphrase-file", required_argument, NULL, 'p' }, \
	{ "json", no_argument, NULL, 'j' }
int cmd_common_opt(int ch, struct cmd_common *c);
/* After the options: exactly njob (0 or 1) JOB arguments left and --as
 * given; else prints the usage error and returns CMD_EXIT_USAGE. */
int cmd_common_check(const char *cmd, int argc, char **argv, int njob,
    const struct cmd_common *c);
/*
 * A whole decimal number from lo to hi, nothing before or after it
 * ("5x", "", " 5", "0x5" refused): 0 and *out set, or -1.
 */
int cmd_parse_long(const char *s, long lo, long hi, long *out);
/* The common options' lines for a usage text. */
extern const char cmd_common_usage[];
/* Prints a JSON value on stdout (indented), and consumes it. */
void cmd_print_json(json_t *j);
/* Prints a job as the service describes it, for people. */
void cmd_print_job(const json_t *job);

#endif
