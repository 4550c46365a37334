#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "decq.h"
#include "err.h"

#define DECQ_SLOTS	24
#define DECQ_SLOT_SIZE	(4 * AGE_CHUNK_SIZE)

struct decq_slot {
	uint8_t *p;
	size_t len;
	int err;		/* after these bytes: the decryptor's error */
	int end;		/* after these bytes: the end */
};

struct decq {
	struct age_dec *dec;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct decq_slot slot[DECQ_SLOTS];
	uint64_t filled;	/* slots the thread has filled */
	uint64_t taken;		/* slots the reader is done with */
	int stop;
	/* the reader's place in slot[taken % DECQ_SLOTS] */
	size_t off;
	int done;		/* the end or an error was returned */
	int last_err;
};

/* Fills one slot: until it is full, the payload ends, or an error. */
static void
fill(struct decq *q, struct decq_slot *s)
{
	size_t got;
	int r;

	s->len = 0;
	s->err = s->end = 0;
	while (s->len < DECQ_SLOT_SIZE) {
		r = age_dec_read(q->dec, s->p + s->len, DECQ_SLOT_SIZE - s->len,
		    &got);
		if (r != 0) {
			s->err = r;
			return;
		}
		if (got == 0) {
			s->end = 1;
			return;
		}
		s->len += got;
	}
}

static void *
decq_thread(void *arg)
{
	struct decq *q = arg;
	struct decq_slot *s;
	int last;

	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (!q->stop && q->filled - q->taken == DECQ_SLOTS)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		s = &q->slot[q->filled % DECQ_SLOTS];
		pthread_mutex_unlock(&q->mu);
		fill(q, s);
		last = s->err != 0 || s->end;
		pthread_mutex_lock(&q->mu);
		q->filled++;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		if (last)
			return NULL;
	}
}

int
decq_start(struct age_dec *dec, struct decq **out)
{
	struct decq *q;
	size_t i;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < DECQ_SLOTS; i++)
		if ((q->slot[i].p = malloc(DECQ_SLOT_SIZE)) == NULL)
			goto nomem;
	q->dec = dec;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->th, NULL, decq_thread, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		for (i = 0; i < DECQ_SLOTS; i++)
			free(q->slot[i].p);
		free(q);
		return ERR_INTERNAL;
	}
	*out = q;
	return 0;
 nomem:
	for (i = 0; i < DECQ_SLOTS; i++)
		free(q->slot[i].p);
	free(q);
	return ERR_NOMEM;
}

int
decq_read(void *arg, uint8_t *p, size_t cap, size_t *got)
{
	struct decq *q = arg;
	struct decq_slot *s;
	size_t n;

	*got = 0;
	if (q->done)
		return q->last_err;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->filled == q->taken)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
		s = &q->slot[q->taken % DECQ_SLOTS];
		if (q->off < s->len) {
			n = s->len - q->off < cap ? s->len - q->off : cap;
			memcpy(p, s->p + q->off, n);
			q->off += n;
			*got = n;
			return 0;
		}
		if (s->err != 0 || s->end) {
			q->done = 1;
			q->last_err = s->err;
			return s->err;
		}
		/* this slot is used up: hand it back */
		pthread_mutex_lock(&q->mu);
		q->taken++;
		q->off = 0;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
}

void
decq_stop(struct decq *q)
{
	size_t i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	for (i = 0; i < DECQ_SLOTS; i++) {
		/* plaintext: wiped before it is freed */
		explicit_bzero(q->slot[i].p, DECQ_SLOT_SIZE);
		free(q->slot[i].p);
	}
	free(q);
}
