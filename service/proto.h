/*
 * proto.h: the framing between tenant-export's commands and the service
 * (a unix socket, or a socketpair to a child for --config).
 *
 * A frame is a type byte, a 32-bit big-endian length and that many bytes
 * (at most PROTO_FRAME_MAX). JSON frames hold one JSON object. The
 * conversation:
 *
 *	service -> client   H  hello: {"version", "control_id"}
 *	client -> service   Q  request: {"cmd", "action", "sig", ...options}
 *	service -> client   P  progress: {"rows", "bytes"}            (run)
 *	service -> client   F  file: {"name", "size"}, then D frames of its
 *	                       bytes, then E {"name"}                  (fetch)
 *	service -> client   E  {"files": N} after the last file        (fetch)
 *	client -> service   A  ack: {"ok", "to"} the files were kept   (fetch)
 *	client -> service   X  abandon: {} let go of the job, it goes back
 *	                       to the queue                            (work)
 *	service -> client   R  result: {"r", "reason", "message", ...}
 *
 * After a result the client may send another request on the same
 * connection (at most PROTO_REQUESTS_MAX in all), or close it.
 *
 * Both sides treat the other's bytes as untrusted: sizes are checked
 * before anything is allocated, a frame that is not what the
 * conversation expects ends it.
 */
#ifndef TEXP_PROTO_H
#define TEXP_PROTO_H

#include <stddef.h>

#include <jansson.h>

struct buf;

#define PROTO_VERSION	1
#define PROTO_FRAME_MAX	(1024 * 1024)
#define PROTO_REQUESTS_MAX	16

enum proto_type {
	PROTO_HELLO = 'H',
	PROTO_REQUEST = 'Q',
	PROTO_PROGRESS = 'P',
	PROTO_FILE = 'F',
	PROTO_DATA = 'D',
	PROTO_END = 'E',
	PROTO_ACK = 'A',
	PROTO_RESULT = 'R',
	PROTO_ABANDON = 'X',
};

/* Sends one frame (no SIGPIPE: a peer that went away is ERR_IO). */
int proto_send(int fd, int type, const void *p, size_t n);
/* Sends j as one JSON frame. */
int proto_send_json(int fd, int type, const json_t *j);
/*
 * Receives one frame into out (reset first; its size cap must be at
 * least the frame's length, else ERR_LIMIT). timeout_ms < 0 waits
 * forever. ERR_TRUNCATED when the peer closed before a whole frame (or
 * before any: *type = 0 then), ERR_INTERRUPTED on timeout.
 */
int proto_recv(int fd, int *type, struct buf *out, int timeout_ms);
/* Receives one frame that must be a JSON object of type want. */
int proto_recv_json(int fd, int want, json_t **out, int timeout_ms);

#endif
