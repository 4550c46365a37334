/*
 * relay_link.c: the monitor's end of the builder's connection to the
 * database relay (relay.h): a private listening socket, the builder's
 * libpq connection started and accepted, then finished once the relay
 * answers its startup.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "child.h"
#include "err.h"
#include "relay.h"

#define SOCK_NAME	".s.PGSQL.5432"


struct relay_link {
	char dir[256];
	char sock[300];
	char nopass[300];
	int lfd;
	int peer;
	PGconn *conn;
};

static int
link_listen(struct relay_link *l, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 80)
		tmp = "/tmp";
	snprintf(l->dir, sizeof(l->dir), "%s/texp-relay.XXXXXX", tmp);
	if (mkdtemp(l->dir) == NULL) {
		l->dir[0] = '\0';
		err_set(err, errlen, "cannot create a private directory for the "
		    "builder's connection: %s", strerror(errno));
		return ERR_IO;
	}
	/* mkdtemp makes it 0700: no one else can reach the socket. */
	snprintf(l->sock, sizeof(l->sock), "%s/%s", l->dir, SOCK_NAME);
	snprintf(l->nopass, sizeof(l->nopass), "%s/none", l->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(l->sock) >= sizeof(sa.sun_path)) {
		err_set(err, errlen, "TMPDIR is too long for a unix socket");
		return ERR_INVALID;
	}
	memcpy(sa.sun_path, l->sock, strlen(l->sock) + 1);
	if ((l->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(l->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l->lfd, 1) != 0) {
		err_set(err, errlen, "cannot listen for the builder's "
		    "connection: %s", strerror(errno));
		return ERR_IO;
	}
	return 0;
}

static void
link_unlisten(struct relay_link *l)
{
	if (l->lfd >= 0)
		close(l->lfd);
	l->lfd = -1;
	if (l->sock[0] != '\0')
		unlink(l->sock);
	l->sock[0] = '\0';
	if (l->dir[0] != '\0')
		rmdir(l->dir);
	l->dir[0] = '\0';
}

int
relay_link_open(const char *role, struct relay_link **out, char *err,
    size_t errlen)
{
	/* Everything explicit: nothing from PG* variables or a service
	 * file may add TLS, a password or a statement of libpq's own. */
	const char *kw[] = { "host", "port", "dbname", "user", "sslmode",
	    "gssencmode", "target_session_attrs", "application_name",
	    "channel_binding", "passfile", "client_encoding", NULL };
	const char *val[12];
	struct relay_link *l;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int r = ERR_IO;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ERR_NOMEM;
	l->lfd = l->peer = -1;
	if ((r = link_listen(l, err, errlen)) != 0)
		goto out;
	val[0] = l->dir;
	val[1] = "5432";
	val[2] = "texp";
	val[3] = role;
	val[4] = "disable";
	val[5] = "disable";
	val[6] = "any";
	val[7] = "tenant-export builder";
	val[8] = "disable";
	val[9] = l->nopass;	/* no file: libpq looks for no password */
	val[10] = "UTF8";
	val[11] = NULL;
	l->conn = PQconnectStartParams(kw, val, 0);
	if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
		err_set(err, errlen, "cannot start the builder's connection: %s",
		    l->conn ? PQerrorMessage(l->conn) : "out of memory");
		r = ERR_DB;
		goto out;
	}
	do {
		l->peer = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (l->peer < 0 && errno == EINTR);
	if (l->peer < 0 || getsockopt(l->peer, SOL_SOCKET, SO_PEERCRED, &cred,
	    &clen) != 0 || cred.pid != getpid()) {
		err_set(err, errlen, "the builder's connection came from "
		    "another process");
		r = ERR_IO;
		goto out;
	}
	r = 0;
 out:
	link_unlisten(l);
	if (r != 0) {
		relay_link_free(l);
		return r;
	}
	*out = l;
	return 0;
}

int
relay_link_peer(const struct relay_link *l)
{
	return l->peer;
}

void
relay_link_close_peer(struct relay_link *l)
{
	if (l->peer >= 0)
		close(l->peer);
	l->peer = -1;
}

int
relay_link_finish(struct relay_link *l, int timeout_ms, char *err,
    size_t errlen)
{
	uint64_t deadline = child_now_ms() + (uint64_t)timeout_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pollfd pfd;
	int64_t left;

	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED)
			goto fail;
		left = (int64_t)(deadline - child_now_ms());
		if (left <= 0) {
			err_set(err, errlen, "the database relay did not answer "
			    "the builder's connection in time");
			return ERR_CHILD;
		}
		pfd.fd = PQsocket(l->conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
		    errno != EINTR)
			goto fail;
		if (pfd.revents == 0)
			continue;
		st = PQconnectPoll(l->conn);
	}
	if (PQstatus(l->conn) == CONNECTION_OK)
		return 0;
 fail:
	err_set(err, errlen, "the builder's connection to the database relay "
	    "failed: %s", PQerrorMessage(l->conn));
	return ERR_CHILD;
}

PGconn *
relay_link_conn(const struct relay_link *l)
{
	return l->conn;
}

void
relay_link_detach(struct relay_link *l)
{
	int fd, nul;

	if (l == NULL || l->conn == NULL)
		return;
	/* As db_export_detach: PQfinish's goodbye goes to /dev/null, so the
	 * builder's connection is left as it is. */
	fd = PQsocket(l->conn);
	if (fd >= 0) {
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0 && dup3(nul, fd, O_CLOEXEC) == fd) {
			close(nul);
			PQfinish(l->conn);
		} else {
			if (nul >= 0)
				close(nul);
			close(fd);
		}
	}
	l->conn = NULL;
}

void
relay_link_free(struct relay_link *l)
{
	if (l == NULL)
		return;
	link_unlisten(l);
	relay_link_close_peer(l);
	if (l->conn != NULL)
		PQfinish(l->conn);
	free(l);
}
