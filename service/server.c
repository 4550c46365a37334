/*
 * server.c: the service's socket, its connections, and the local
 * socketpair for --config (server.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctlchild.h"
#include "config.h"
#include "err.h"
#include "handle.h"
#include "proto.h"
#include "server.h"

#define REQUEST_TIMEOUT_MS	(60 * 1000)

static const struct {
	const char *cmd;
	svc_handler fn;
} handlers[] = {
	{ "request", handle_request },
	{ "approve", handle_approve },
	{ "status", handle_status },
	{ "list", handle_list },
	{ "cancel", handle_cancel },
	{ "run", handle_run },
	{ "work", handle_work },
	{ "fetch", handle_fetch },
	{ "admin", handle_admin },
	{ "leaktest", handle_leaktest },
};

static void
refuse(int fd, int r, const char *msg)
{
	json_t *j = json_pack("{s:i,s:s,s:s}", "r", r, "error", err_str(r),
	    "message", msg);

	if (j != NULL)
		proto_send_json(fd, PROTO_RESULT, j);
	json_decref(j);
}

/* One request and its answer. */
static int
serve_one(struct svc_conn *sc, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	size_t i;

	for (i = 0; cmd != NULL && i < sizeof(handlers) / sizeof(handlers[0]);
	    i++)
		if (strcmp(cmd, handlers[i].cmd) == 0)
			return handlers[i].fn(sc, req);
	refuse(sc->fd, ERR_USAGE, "unknown command");
	return ERR_USAGE;
}

/* Hello, then requests and their answers, one after the other (a
 * command that sends several, like run's request and then the run, pays
 * for one service and one hello), until the client closes. */
static int
serve_conn(struct svc_conn *sc)
{
	json_t *hello, *req = NULL;
	int n, r;

	if ((hello = json_pack("{s:i,s:s}", "version", PROTO_VERSION,
	    "control_id", sc->control_id)) == NULL)
		return ERR_NOMEM;
	r = proto_send_json(sc->fd, PROTO_HELLO, hello);
	json_decref(hello);
	if (r != 0)
		return r;
	for (n = 0; n < PROTO_REQUESTS_MAX; n++) {
		if ((r = proto_recv_json(sc->fd, PROTO_REQUEST, &req,
		    REQUEST_TIMEOUT_MS)) != 0) {
			/* the client's end after at least one answer */
			if (n > 0 && r == ERR_TRUNCATED)
				return 0;
			if (r != ERR_TRUNCATED)
				refuse(sc->fd, ERR_FORMAT, "malformed request");
			return r;
		}
		r = serve_one(sc, req);
		json_decref(req);
		req = NULL;
		if (r != 0)
			return r;
	}
	return 0;
}

static void
peer_of(int fd, char *out, size_t outlen)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
		snprintf(out, outlen, "uid=%u pid=%d", (unsigned)uc.uid,
		    (int)uc.pid);
	else
		snprintf(out, outlen, "unknown");
}

int
svc_spawn_local(const char *config_path, int *fd, pid_t *pid, char *err,
    size_t errlen)
{
	int sv[2];

	*fd = -1;
	*pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		err_set(err, errlen, "socketpair: %s", strerror(errno));
		return ERR_IO;
	}
	fflush(stdout);
	fflush(stderr);
	if ((*pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		err_set(err, errlen, "fork: %s", strerror(errno));
		return ERR_CHILD;
	}
	if (*pid == 0) {
		/* A new program, not a copy of the caller: nothing the caller
		 * holds (its key, its passphrase) reaches the service or the
		 * builders it forks. It ends when the caller does. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1 ||
		    dup2(sv[1], STDIN_FILENO) < 0)
			_exit(127);
		execl("/proc/self/exe", "tenant-export", "serve", "--stdio",
		    "--config", config_path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

int
svc_serve_stdio(const struct config *cfg)
{
	struct svc_conn sc;
	char msg[512] = "";

	memset(&sc, 0, sizeof(sc));
	sc.fd = STDIN_FILENO;
	sc.cfg = cfg;
	signal(SIGPIPE, SIG_IGN);
	snprintf(sc.peer, sizeof(sc.peer), "local uid=%u", (unsigned)getuid());
	if (svc_control_id_hint(cfg, sc.control_id, sizeof(sc.control_id),
	    msg, sizeof(msg)) != 0) {
		refuse(sc.fd, ERR_DB, msg[0] ? msg : "cannot reach the control "
		    "database");
		return 2;
	}
	return serve_conn(&sc) == 0 ? 0 : 1;
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
listen_on(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tenant-export: serve: socket path too long\n");
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A socket left by a service that died; nothing else is removed. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "tenant-export: serve: \"%s\" exists "
			    "and is not a socket\n", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, mode) != 0 || listen(fd, 64) != 0) {
		fprintf(stderr, "tenant-export: serve: cannot listen on \"%s\": "
		    "%s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Serves one accepted connection in a child. */
static void
conn_child(const struct config *cfg, const char *control_id, int lfd, int c)
{
	struct svc_conn sc;

	close(lfd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	memset(&sc, 0, sizeof(sc));
	sc.fd = c;
	sc.cfg = cfg;
	snprintf(sc.control_id, sizeof(sc.control_id), "%s", control_id);
	peer_of(c, sc.peer, sizeof(sc.peer));
	_exit(serve_conn(&sc) == 0 ? 0 : 1);
}

int
svc_serve(const struct config *cfg, const char *path, mode_t mode,
    int max_clients)
{
	struct sigaction sa;
	struct pollfd pf;
	char cid[CONTROL_ID_MAX + 1], err[512] = "";
	int lfd, c, st, active = 0;
	pid_t pid;

	if (svc_control_id(cfg, cid, sizeof(cid), err, sizeof(err)) != 0) {
		fprintf(stderr, "tenant-export: serve: %s\n", err);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = listen_on(path, mode)) < 0)
		return 2;
	fprintf(stderr, "tenant-export: serve: listening on \"%s\" for "
	    "control database %s\n", path, cid);
	while (!stopping) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			active--;
		pf.fd = lfd;
		pf.events = POLLIN;
		pf.revents = 0;
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (active >= max_clients) {
			refuse(c, ERR_LIMIT, "the service is busy; try again");
			close(c);
			continue;
		}
		fflush(stderr);
		if ((pid = fork()) == 0)
			conn_child(cfg, cid, lfd, c);
		if (pid > 0)
			active++;
		close(c);
	}
	close(lfd);
	unlink(path);
	fprintf(stderr, "tenant-export: serve: stopping; waiting for %d "
	    "connection%s\n", active, active == 1 ? "" : "s");
	while (active > 0 && (pid = waitpid(-1, &st, 0)) != 0) {
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		active--;
	}
	return 0;
}
