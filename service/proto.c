/*
 * proto.c: frames between the commands and the service (proto.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "proto.h"

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, n);
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
proto_send(int fd, int type, const void *p, size_t n)
{
	uint8_t h[5];
	int r;

	if (n > PROTO_FRAME_MAX || type <= 0 || type > 255)
		return ERR_LIMIT;
	h[0] = (uint8_t)type;
	h[1] = (uint8_t)(n >> 24);
	h[2] = (uint8_t)(n >> 16);
	h[3] = (uint8_t)(n >> 8);
	h[4] = (uint8_t)n;
	if ((r = send_all(fd, h, sizeof(h))) != 0)
		return r;
	return n > 0 ? send_all(fd, p, n) : 0;
}

int
proto_send_json(int fd, int type, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int r;

	if (s == NULL)
		return ERR_NOMEM;
	r = proto_send(fd, type, s, strlen(s));
	free(s);
	return r;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly n bytes before the deadline (-1: none). */
static int
recv_all(int fd, uint8_t *p, size_t n, int64_t deadline, size_t *got)
{
	struct pollfd pf;
	ssize_t r;
	int wait;

	*got = 0;
	while (*got < n) {
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return ERR_INTERRUPTED;
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		pf.fd = fd;
		pf.events = POLLIN;
		pf.revents = 0;
		if ((r = poll(&pf, 1, wait)) < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (r == 0)
			continue;
		r = read(fd, p + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ERR_IO;
		if (r == 0)
			return ERR_TRUNCATED;
		*got += (size_t)r;
	}
	return 0;
}

int
proto_recv(int fd, int *type, struct buf *out, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint8_t h[5], *dst;
	size_t n, got;
	int r;

	*type = 0;
	buf_reset(out);
	if ((r = recv_all(fd, h, sizeof(h), deadline, &got)) != 0)
		return r;
	n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
	if (n > PROTO_FRAME_MAX || n > buf_max(out))
		return ERR_LIMIT;
	if (n > 0) {
		if ((r = buf_reserve(out, n, &dst)) != 0)
			return r;
		if ((r = recv_all(fd, dst, n, deadline, &got)) != 0)
			return r;
	}
	*type = h[0];
	return 0;
}

int
proto_recv_json(int fd, int want, json_t **out, int timeout_ms)
{
	struct buf *b;
	json_error_t je;
	int type, r;

	*out = NULL;
	if ((b = buf_new(PROTO_FRAME_MAX)) == NULL)
		return ERR_NOMEM;
	if ((r = proto_recv(fd, &type, b, timeout_ms)) != 0)
		goto out;
	if (type != want) {
		r = ERR_FORMAT;
		goto out;
	}
	*out = json_loadb((const char *)buf_ptr(b), buf_len(b),
	    JSON_REJECT_DUPLICATES, &je);
	r = *out != NULL && json_is_object(*out) ? 0 : ERR_FORMAT;
	if (r != 0) {
		json_decref(*out);
		*out = NULL;
	}
 out:
	buf_free(b);
	return r;
}
