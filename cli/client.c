/*
 * client.c: the command side of the conversation with the service
 * (client.h).
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "action.h"
#include "buf.h"
#include "client.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "minisig.h"
#include "proto.h"
#include "server.h"

#define HELLO_TIMEOUT_MS	(120 * 1000)

struct client {
	int fd;
	pid_t pid;			/* local service child, or -1 */
	struct config *cfg;		/* local: the configuration */
	const char *cmd;		/* for messages */
	int greeted;			/* the hello was read */
	int hello_r;			/* and what came of it */
	char control_id[96];
};

static int
connect_socket(const char *cmd, const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tenant-export: %s: socket path too long\n", cmd);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "tenant-export: %s: cannot reach the service at "
		    "\"%s\": %s (is `tenant-export serve` running? --socket "
		    "names another socket)\n", cmd, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The hello, or the service's refusal in its place. */
static int
read_hello(const char *cmd, struct client *cl)
{
	struct buf *b = buf_new(PROTO_FRAME_MAX);
	json_t *j = NULL;
	const char *id;
	int type, r;

	if (b == NULL)
		return ERR_NOMEM;
	if ((r = proto_recv(cl->fd, &type, b, HELLO_TIMEOUT_MS)) != 0) {
		fprintf(stderr, "tenant-export: %s: the service closed the "
		    "connection before greeting\n", cmd);
		goto out;
	}
	j = json_loadb((const char *)buf_ptr(b), buf_len(b), 0, NULL);
	if (type == PROTO_RESULT && j != NULL) {
		fprintf(stderr, "tenant-export: %s: %s\n", cmd,
		    client_message(j));
		r = (int)json_integer_value(json_object_get(j, "r"));
		r = r < 0 ? r : ERR_CHILD;
		goto out;
	}
	id = json_string_value(json_object_get(j, "control_id"));
	if (type != PROTO_HELLO || id == NULL ||
	    json_integer_value(json_object_get(j, "version")) != PROTO_VERSION ||
	    strlen(id) >= sizeof(cl->control_id) || !action_value_valid(id)) {
		fprintf(stderr, "tenant-export: %s: the service's greeting is "
		    "not understood (another version?)\n", cmd);
		r = ERR_FORMAT;
		goto out;
	}
	snprintf(cl->control_id, sizeof(cl->control_id), "%s", id);
	r = 0;
 out:
	json_decref(j);
	buf_free(b);
	return r;
}

/* The local service (--config) runs the export; a signal that stops
 * this command is passed on to it, which ends the export cleanly and
 * answers why. */
static volatile pid_t local_service = -1;

static void
forward_signal(int sig)
{
	int e = errno;

	if (local_service > 0)
		kill(local_service, sig);
	errno = e;
}

static void
forward_signals(pid_t pid)
{
	struct sigaction sa;

	local_service = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
client_start(const char *cmd, const struct client_opts *co,
    struct client **out)
{
	struct client *cl;
	const char *path;
	char err[512] = "";
	int r = ERR_IO;

	*out = NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return ERR_NOMEM;
	cl->fd = -1;
	cl->pid = -1;
	cl->cmd = cmd;
	if (co->config != NULL) {
		/* Checked here for a clear message; the service reads it
		 * again itself. */
		if (config_load(co->config, &cl->cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
			r = ERR_CONFIG;
			goto fail;
		}
		if ((r = svc_spawn_local(co->config, &cl->fd, &cl->pid, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "tenant-export: %s: %s\n", cmd, err);
			goto fail;
		}
		forward_signals(cl->pid);
	} else {
		path = co->socket != NULL ? co->socket :
		    getenv("TENANT_EXPORT_SOCKET") != NULL ?
		    getenv("TENANT_EXPORT_SOCKET") : SVC_SOCKET_DEFAULT;
		if ((cl->fd = connect_socket(cmd, path)) < 0)
			goto fail;
	}
	*out = cl;
	return 0;
 fail:
	client_close(cl);
	return r;
}

/* The hello, read once (client_start leaves it for later). */
static int
client_greeted(struct client *cl)
{
	if (!cl->greeted) {
		cl->greeted = 1;
		cl->hello_r = read_hello(cl->cmd, cl);
	}
	return cl->hello_r;
}

int
client_open(const char *cmd, const struct client_opts *co,
    struct client **out)
{
	int r;

	if ((r = client_start(cmd, co, out)) != 0)
		return r;
	if ((r = client_greeted(*out)) != 0) {
		client_close(*out);
		*out = NULL;
	}
	return r;
}

const char *
client_control_id(const struct client *cl)
{
	return cl->control_id;
}

int
client_fd(const struct client *cl)
{
	return cl->fd;
}

void
client_close(struct client *cl)
{
	int st;

	if (cl == NULL)
		return;
	if (cl->fd >= 0)
		close(cl->fd);
	if (cl->pid > 0 && cl->pid == local_service)
		local_service = -1;
	if (cl->pid > 0)
		while (waitpid(cl->pid, &st, 0) < 0 && errno == EINTR)
			;
	config_free(cl->cfg);
	free(cl);
}

int
client_sign(const char *cmd, struct client *cl,
    const struct minisig_seckey *sk, const char *kind,
    const char *const *keys, const char *const *vals, size_t n,
    struct cmd_action *out)
{
	const char *k2[ACTION_MAX_FIELDS], *v2[ACTION_MAX_FIELDS];
	size_t i;
	int r;

	if ((r = client_greeted(cl)) != 0)
		return r;
	if (n + 1 > ACTION_MAX_FIELDS)
		return ERR_INVALID;
	for (i = 0; i < n; i++) {
		k2[i] = keys[i];
		v2[i] = vals[i];
	}
	k2[n] = "control";
	v2[n] = cl->control_id;
	return cmd_sign(cmd, sk, kind, k2, v2, n + 1, out);
}

/* Hands one file frame to the sink. */
static int
file_frame(const struct client_sink *sink, int type, struct buf *b)
{
	json_t *j;
	int r;

	if (type == PROTO_DATA)
		return sink->data(sink->ctx, buf_ptr(b), buf_len(b));
	if ((j = json_loadb((const char *)buf_ptr(b), buf_len(b), 0,
	    NULL)) == NULL)
		return ERR_FORMAT;
	if (type == PROTO_FILE) {
		const char *name = json_string_value(json_object_get(j, "name"));
		json_int_t size = json_integer_value(json_object_get(j, "size"));

		r = name != NULL && size >= 0 ? sink->begin(sink->ctx, name,
		    (uint64_t)size) : ERR_FORMAT;
	} else
		r = sink->end(sink->ctx);
	json_decref(j);
	return r;
}

/* The end of a fetch's files: keep them (or not) and say so. */
static int
files_done(struct client *cl, const struct client_sink *sink, int ok)
{
	const char *to = NULL;
	json_t *ack;
	int r;

	r = sink->done(sink->ctx, ok, &to);
	ack = json_pack("{s:b,s:s}", "ok", ok && r == 0, "to", to ? to : "?");
	if (ack == NULL)
		return ERR_NOMEM;
	proto_send_json(cl->fd, PROTO_ACK, ack);
	json_decref(ack);
	return r;
}

/* 1 when an END frame ends the whole set of files, not one file. */
static int
ends_files(const struct buf *b)
{
	json_t *j = json_loadb((const char *)buf_ptr(b), buf_len(b), 0, NULL);
	int all = j != NULL && json_object_get(j, "files") != NULL;

	json_decref(j);
	return all;
}

int
client_call(const char *cmd, struct client *cl, const struct cmd_action *act,
    json_t *extra, void (*on_progress)(void *ctx, json_t *p), void *pctx,
    const struct client_sink *sink, json_t **result)
{
	json_t *req = json_object(), *j;
	struct buf *b = NULL;
	int type, r, infile = 0, sink_err = 0;

	*result = NULL;
	if ((r = client_greeted(cl)) != 0 || req == NULL ||
	    (b = buf_new(PROTO_FRAME_MAX)) == NULL) {
		json_decref(extra);
		json_decref(req);
		return r != 0 ? r : ERR_NOMEM;
	}
	json_object_set_new(req, "cmd", json_string(cmd));
	if (act != NULL && act->text != NULL) {
		json_object_set_new(req, "action", json_stringn((const char *)
		    buf_ptr(act->text), buf_len(act->text)));
		json_object_set_new(req, "sig", json_stringn((const char *)
		    buf_ptr(act->sig), buf_len(act->sig)));
	}
	if (extra != NULL)
		json_object_update(req, extra);
	json_decref(extra);
	if ((r = proto_send_json(cl->fd, PROTO_REQUEST, req)) != 0) {
		fprintf(stderr, "tenant-export: %s: the service went away\n",
		    cmd);
		goto out;
	}
	for (;;) {
		if ((r = proto_recv(cl->fd, &type, b, -1)) != 0) {
			fprintf(stderr, "tenant-export: %s: the service closed "
			    "the connection before answering%s\n", cmd,
			    infile ? " (the files received were removed)" : "");
			if (sink != NULL && infile)
				sink->done(sink->ctx, 0, NULL);
			goto out;
		}
		if (type == PROTO_RESULT)
			break;
		if (type == PROTO_PROGRESS) {
			j = json_loadb((const char *)buf_ptr(b), buf_len(b), 0,
			    NULL);
			if (j != NULL && on_progress != NULL)
				on_progress(pctx, j);
			json_decref(j);
			continue;
		}
		if (sink == NULL || (type != PROTO_FILE &&
		    type != PROTO_DATA && type != PROTO_END)) {
			fprintf(stderr, "tenant-export: %s: unexpected answer "
			    "from the service\n", cmd);
			r = ERR_FORMAT;
			goto out;
		}
		infile = 1;
		if (type == PROTO_END && ends_files(b)) {
			if ((r = files_done(cl, sink, !sink_err)) != 0)
				sink_err = r;
			infile = 0;
			continue;
		}
		if (!sink_err && (r = file_frame(sink, type, b)) != 0)
			sink_err = r;
	}
	*result = json_loadb((const char *)buf_ptr(b), buf_len(b), 0, NULL);
	if (*result == NULL || !json_is_object(*result)) {
		json_decref(*result);
		*result = NULL;
		fprintf(stderr, "tenant-export: %s: the service's answer is "
		    "malformed\n", cmd);
		r = ERR_FORMAT;
		goto out;
	}
	r = (int)json_integer_value(json_object_get(*result, "r"));
 out:
	buf_free(b);
	json_decref(req);
	return r;
}

int
client_exit(const json_t *result)
{
	if (result == NULL)
		return CMD_EXIT_USAGE;
	return cmd_exit_for((int)json_integer_value(json_object_get(result,
	    "r")));
}

const char *
client_message(const json_t *result)
{
	const char *m = json_string_value(json_object_get(result, "message"));

	return m != NULL ? m : "";
}

int
client_simple(const char *cmd, const struct client_opts *co, const char *key,
    const char *passfile, const char *service_cmd, const char *kind,
    const char *const *keys, const char *const *vals, size_t n,
    json_t **result)
{
	struct minisig_seckey *sk = NULL;
	struct client *cl = NULL;
	struct cmd_action act = { NULL, NULL };
	int r;

	*result = NULL;
	if ((r = cmd_key_load(cmd, key, passfile, &sk)) != 0)
		goto out;
	if ((r = client_open(cmd, co, &cl)) != 0 ||
	    (r = client_sign(cmd, cl, sk, kind, keys, vals, n, &act)) != 0)
		goto out;
	minisig_seckey_free(sk);
	sk = NULL;
	r = client_call(service_cmd, cl, &act, NULL, NULL, NULL, NULL, result);
	if (*result != NULL && r != 0)
		fprintf(stderr, "tenant-export: %s: %s\n", cmd,
		    client_message(*result));
 out:
	minisig_seckey_free(sk);
	cmd_action_clear(&act);
	client_close(cl);
	if (*result != NULL)
		return client_exit(*result);
	return cmd_exit_for(r);
}
