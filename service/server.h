/*
 * server.h: the service (`tenant-export serve`), and the same service
 * for one caller over a socketpair (--config).
 *
 * The service holds what principals must not: the configuration, the
 * monitor's database password, the signing and service keys, the
 * outbox. It listens on a unix socket; each connection is served by a
 * forked process that says hello (the control database's id, which the
 * caller signs into its action), reads one request, and answers it
 * (handle.h). Who connected is taken from the kernel (SO_PEERCRED) and
 * written to the log; what they may do comes only from the action they
 * signed.
 */
#ifndef TEXP_SERVER_H
#define TEXP_SERVER_H

#include <sys/types.h>

struct config;

/* Default socket when neither --socket nor [service] socket says. */
#define SVC_SOCKET_DEFAULT	"/run/tenant-export/tenant-export.sock"

/*
 * Serves until SIGTERM or SIGINT, at most max_clients connections at a
 * time (more are told the service is busy). mode is the socket's file
 * mode (0666: every local account may ask; the signature decides).
 * Returns the process exit status; messages go to stderr.
 */
int svc_serve(const struct config *cfg, const char *path, mode_t mode,
    int max_clients);

/*
 * Starts `tenant-export serve --stdio --config PATH` (this same program,
 * freshly executed) to serve one connection for the caller over a
 * socketpair, as the service would. The caller must be able to read
 * everything the service reads: this is the service account's way in.
 * *fd is the caller's end; *pid the child to reap. 0, or an err with a
 * reason in err.
 */
int svc_spawn_local(const char *config_path, int *fd, pid_t *pid, char *err,
    size_t errlen);
/* Serves the one connection on standard input (serve --stdio). Returns
 * the exit status. */
int svc_serve_stdio(const struct config *cfg);

#endif
