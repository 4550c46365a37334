/*
 * client.h: the command side of the conversation with the service
 * (service/proto.h).
 *
 * Principals run tenant-export's job and admin commands as clients: the
 * key is unlocked here, the action is signed here (with the control
 * database's id the service announced), and everything else happens in
 * the service, which holds what principals must not. With --config
 * instead of --socket the same service runs in a child of this process,
 * which only works for an account that can read the service's files.
 */
#ifndef TEXP_CLIENT_H
#define TEXP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cmd_jobs.h"

struct client;
struct minisig_seckey;

/* struct client_opts (cmd_jobs.h): where the service is: a socket
 * (default: $TENANT_EXPORT_SOCKET, then SVC_SOCKET_DEFAULT), or a
 * configuration to run it locally. */

/* Connects and reads the hello. Prints "tenant-export: CMD: ..." on
 * failure. */
int client_open(const char *cmd, const struct client_opts *co,
    struct client **out);
/*
 * Connects (starts the local service) without waiting for the hello:
 * the service greets while this process does something else (unlocks
 * the principal's key). client_sign and client_call read the hello
 * first (a failure is printed then and returned). Several calls may
 * follow one another on one client (proto.h).
 */
int client_start(const char *cmd, const struct client_opts *co,
    struct client **out);
/* The control database's id the service announced (client_open). */
const char *client_control_id(const struct client *cl);
/* The connection's descriptor (a worker watches it and sends on it while
 * a call runs). */
int client_fd(const struct client *cl);
/* Closes and reaps (a local service child). Accepts NULL. */
void client_close(struct client *cl);

/* Signs kind with the n fields and "control" = the service's id. */
int client_sign(const char *cmd, struct client *cl,
    const struct minisig_seckey *sk, const char *kind,
    const char *const *keys, const char *const *vals, size_t n,
    struct cmd_action *out);

/* What to do with the files a fetch streams. */
struct client_sink {
	int (*begin)(void *ctx, const char *name, uint64_t size);
	int (*data)(void *ctx, const uint8_t *p, size_t n);
	int (*end)(void *ctx);
	/* all files received (ok = 0) or not: keep or remove them; *to names
	 * where they went */
	int (*done)(void *ctx, int ok, const char **to);
	void *ctx;
};

/*
 * Sends {"cmd": cmd, "action", "sig"} and the members of extra (consumed,
 * may be NULL), then reads frames until the result: progress frames go
 * to on_progress (may be NULL), file frames to sink (NULL: a file frame
 * is an error). *result is the result object (caller json_decref()s).
 * Returns its "r", or an error of the conversation itself (message
 * printed).
 */
int client_call(const char *cmd, struct client *cl, const struct cmd_action *act,
    json_t *extra, void (*on_progress)(void *ctx, json_t *p), void *pctx,
    const struct client_sink *sink, json_t **result);

/*
 * The usual shape of a principal's command: unlock KEY, connect, sign
 * kind with the fields, call, close. On return *result is the service's
 * answer (or NULL when it never came) and the exit status is returned;
 * refusals are printed as "tenant-export: CMD: message".
 */
int client_simple(const char *cmd, const struct client_opts *co,
    const char *key, const char *passfile, const char *service_cmd,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, json_t **result);

/* Exit status for a result's "r" (cmd_exit_for). */
int client_exit(const json_t *result);
/* The result's message ("" when none). */
const char *client_message(const json_t *result);

#endif
