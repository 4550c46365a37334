/*
 * handle_fetch.c: handing a published archive to an authorised caller
 * (export.fetch). The service reads its own outbox and streams the files
 * over the connection; the caller writes them where it wants, as itself,
 * and says whether it kept them. A download that was not kept is given
 * back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobs.h"
#include "ledger.h"
#include "proto.h"

#define CHUNK		(256 * 1024)
#define ACK_TIMEOUT_MS	(10 * 60 * 1000)

struct fetch_ctx {
	const struct jobs_signed *a;
	uint8_t id_hash[JOBS_HASH_LEN];
	char principal[64];
	int rr;
	const char *to;
};

static int
ctl_fetch(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct fetch_ctx *fc = ctx;
	struct jobs_job *j = NULL;
	int r = jobs_fetch(k, fc->a, &j, o);

	if (r == 0) {
		char hex[65];

		json_object_set_new(reply, "job", svc_job_json(j,
		    ledger_job(k->ledger, j->id_hash)));
		/* for the service's own use; never sent to the caller */
		json_object_set_new(reply, "path", json_string(j->archive));
		jobs_hash_hex(j->id_hash, hex);
		json_object_set_new(reply, "job_hash", json_string(hex));
	}
	jobs_free(j);
	return r;
}

static int
ctl_done(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct fetch_ctx *fc = ctx;
	struct jobs_job *j = NULL;
	int r;

	(void)reply;
	if ((r = jobs_get(k->c, fc->id_hash, &j)) != 0)
		return o->r = r;
	r = jobs_fetch_done(k, j, fc->principal, fc->rr, fc->to, o);
	jobs_free(j);
	return r;
}

/* Streams one file: F, D..., E. */
static int
send_file(int fd, const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	uint8_t *chunk = NULL;
	json_t *h = NULL;
	ssize_t n;
	int in, r = ERR_IO;

	base = base != NULL ? base + 1 : path;
	if ((in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ERR_IO;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (chunk = malloc(CHUNK)) == NULL)
		goto out;
	h = json_pack("{s:s,s:I}", "name", base, "size", (json_int_t)st.st_size);
	if (h == NULL || (r = proto_send_json(fd, PROTO_FILE, h)) != 0)
		goto out;
	for (;;) {
		n = read(in, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if ((r = proto_send(fd, PROTO_DATA, chunk, (size_t)n)) != 0)
			goto out;
	}
	json_decref(h);
	h = json_pack("{s:s}", "name", base);
	r = h != NULL ? proto_send_json(fd, PROTO_END, h) : ERR_NOMEM;
 out:
	json_decref(h);
	free(chunk);
	close(in);
	return r;
}

/* Sends every file of the archive; 0 once the caller acknowledged. */
static int
hand_over(struct svc_conn *sc, const char *archive, char *to, size_t tolen)
{
	char **files = NULL;
	json_t *end = NULL, *ack = NULL;
	size_t i;
	int r;

	if ((r = jobs_archive_files(archive, &files)) != 0)
		return r;
	for (i = 0; files[i] != NULL; i++)
		if ((r = send_file(sc->fd, files[i])) != 0)
			goto out;
	if ((end = json_pack("{s:I}", "files", (json_int_t)i)) == NULL ||
	    (r = proto_send_json(sc->fd, PROTO_END, end)) != 0)
		goto out;
	if ((r = proto_recv_json(sc->fd, PROTO_ACK, &ack, ACK_TIMEOUT_MS)) != 0)
		goto out;
	snprintf(to, tolen, "%s", json_string_value(json_object_get(ack,
	    "to")) != NULL ? json_string_value(json_object_get(ack, "to")) :
	    "?");
	r = json_is_true(json_object_get(ack, "ok")) ? 0 : ERR_IO;
 out:
	json_decref(end);
	json_decref(ack);
	jobs_files_free(files);
	return r;
}

int
handle_fetch(struct svc_conn *sc, json_t *req)
{
	struct jobs_signed a;
	struct jobs_outcome o, d;
	struct fetch_ctx fc;
	json_t *rep = NULL;
	const char *path;
	char to[1024] = "?";
	int r;

	if (svc_signed(req, &a) != 0)
		return svc_decide(sc, req, NULL);
	memset(&fc, 0, sizeof(fc));
	fc.a = &a;
	r = svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_fetch, &fc,
	    &o, &rep);
	if (r != 0) {
		json_decref(rep);
		return svc_result(sc, &o, NULL);
	}
	path = json_string_value(json_object_get(rep, "path"));
	if (path == NULL || jobs_hash_parse(json_string_value(
	    json_object_get(rep, "job_hash")), fc.id_hash) != 0) {
		json_decref(rep);
		o.r = ERR_CHILD;
		snprintf(o.msg, sizeof(o.msg), "the job record is unreadable");
		return svc_result(sc, &o, NULL);
	}
	snprintf(fc.principal, sizeof(fc.principal), "%s", o.principal);
	fc.rr = hand_over(sc, path, to, sizeof(to));
	fc.to = to;
	fc.a = NULL;
	svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_done, &fc, &d,
	    NULL);
	if (d.r != 0 && fc.rr == 0)
		o = d;
	else if (fc.rr != 0) {
		o.r = fc.rr;
		snprintf(o.msg, sizeof(o.msg), "the archive was not handed "
		    "over (%s); the download was given back", err_str(fc.rr));
	}
	json_object_del(rep, "path");
	json_object_del(rep, "job_hash");
	return svc_result(sc, &o, rep);
}
