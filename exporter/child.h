/*
 * child.h: one sandboxed child of the monitor (builder, checker, database
 * relay), as the monitor sees it: its pipes, its pid and a descriptor that
 * becomes readable the moment it exits, its last words, and when it last
 * showed progress.
 *
 * Log pipe lines (builder.h): "progress ROWS BYTES", "busy" (the relay:
 * the builder waits on the server), "error TEXT", "note TEXT". Anything
 * a child says is untrusted: child_read_log keeps the last error line
 * escaped (text.h) and never buffers more than a few KiB.
 */
#ifndef TEXP_CHILD_H
#define TEXP_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

struct child {
	const char *name;	/* "builder", "checker", "database relay" */
	pid_t pid;		/* -1: not started */
	int pidfd;		/* readable once it exits; -1 if the kernel
				 * has no pidfd_open (then child_poll_exit
				 * asks waitid) */
	int data;		/* its output pipe (monitor's end), or -1 */
	int log;		/* its log pipe (monitor's end), or -1 */
	int in;			/* its input pipe (monitor's end), or -1 */
	int data_open, log_open;
	struct buf *lines;	/* a partial log line */
	int exited;		/* reaped */
	int status;		/* raw wait status, once reaped */
	int killed;		/* the monitor killed it */
	char msg[256];		/* how it ended (sandbox_wait) */
	char tail[512];		/* its last "error" line, escaped */
	uint64_t last;		/* last progress, CLOCK_MONOTONIC ms */
	uint64_t cpu_ms;	/* its CPU time, user and system, once reaped */
	uint64_t rows, bytes;	/* from its last "progress" line */
	int busy;		/* it said "busy" since the last look */
};

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t child_now_ms(void);

/* Empty, not started (every descriptor -1). */
void child_init(struct child *c, const char *name);

/*
 * Starts fn(job) in a child (sandbox_spawn: it dies with the monitor)
 * with a data pipe (child -> monitor), a log pipe, and when in_pipe an
 * input pipe (monitor -> child; the monitor's end is non-blocking). The
 * child's ends are stored in *child_out, *child_log, *child_in before the
 * fork and closed here after it. ERR_IO / ERR_CHILD / ERR_NOMEM.
 */
int child_start(struct child *c, int (*fn)(void *), void *job, int in_pipe,
    int *child_out, int *child_log, int *child_in);

/*
 * Reads what is waiting on the log pipe (once) and handles every complete
 * line: progress and busy move c->last; an error line becomes c->tail;
 * notes are printed (escaped) when TEXP_DEBUG_LOG is set. EOF clears
 * log_open. Returns 1 (read something), 0 (nothing waiting) or -1 (EOF).
 */
int child_read_log(struct child *c);

/* Reads the log pipe until EOF or until nothing more is waiting: after
 * the child was reaped, its last words. */
void child_drain_log(struct child *c);

/* 1 if the child has exited (it is then reaped: exited, status, msg),
 * 0 if it still runs or was reaped before. Never blocks. */
int child_poll_exit(struct child *c);

/* SIGKILL if still running (marks it killed). */
void child_kill(struct child *c);
/* Waits for it if not reaped yet; its CPU time is then in cpu_ms. */
void child_reap(struct child *c);
/* CPU time, user and system, in ms, of getrusage's who: RUSAGE_SELF, or
 * RUSAGE_CHILDREN (the children reaped so far); 0 if it fails. The peak
 * resident size (KiB) in *maxrss_kib too, when not NULL and it worked. */
uint64_t child_cpu_ms(int who, long *maxrss_kib);
/* 1 if it ended on its own with a status other than 0. */
int child_failed(const struct child *c);
/* Closes the monitor's descriptors and frees the line buffer. */
void child_close(struct child *c);

#endif
