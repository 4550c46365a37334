#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "merkleq.h"

#define MQ_BATCHES	16
#define MQ_LEAVES	2048

struct mq_batch {
	struct merkle_pending leaf[MQ_LEAVES];
	size_t t[MQ_LEAVES];	/* each leaf's tree */
	size_t n;
};

struct merkleq {
	struct merkle *trees;
	size_t ntrees;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct mq_batch *batch;	/* MQ_BATCHES of them, a ring */
	uint8_t (*scratch)[EVIDENCE_HASH_LEN];	/* MQ_LEAVES: the thread's */
	uint64_t posted;	/* batches handed to the thread */
	uint64_t done;		/* batches the thread has added */
	int stop;		/* no batch will come after posted */
	size_t fill;		/* leaves in the batch being filled (the
				 * adder's; batch[posted % MQ_BATCHES]) */
};

static void *
mq_thread(void *arg)
{
	struct merkleq *q = arg;
	struct mq_batch *b;
	size_t i, e;

	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->done == q->posted && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->done == q->posted) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		b = &q->batch[q->done % MQ_BATCHES];
		pthread_mutex_unlock(&q->mu);
		/* runs of one table: leaves and nodes eight at a time */
		for (i = 0; i < b->n; i = e) {
			for (e = i + 1; e < b->n && b->t[e] == b->t[i]; e++)
				;
			merkle_add_pending(&q->trees[b->t[i]], &b->leaf[i],
			    e - i, q->scratch);
		}
		pthread_mutex_lock(&q->mu);
		q->done++;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
}

int
merkleq_start(struct merkle *trees, size_t n, struct merkleq **out)
{
	struct merkleq *q;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->batch = calloc(MQ_BATCHES, sizeof(*q->batch))) == NULL ||
	    (q->scratch = calloc(MQ_LEAVES, sizeof(*q->scratch))) == NULL) {
		if (q != NULL)
			free(q->batch);
		free(q);
		return ERR_NOMEM;
	}
	q->trees = trees;
	q->ntrees = n;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pthread_create(&q->th, NULL, mq_thread, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free(q->scratch);
		free(q->batch);
		free(q);
		return ERR_INTERNAL;
	}
	*out = q;
	return 0;
}

/* Hands the batch being filled to the thread. */
static void
mq_post(struct merkleq *q)
{
	pthread_mutex_lock(&q->mu);
	q->posted++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void
merkleq_add(struct merkleq *q, size_t t, const uint8_t *tenant_hash,
    const uint8_t content_hash[EVIDENCE_HASH_LEN])
{
	struct mq_batch *b = &q->batch[q->posted % MQ_BATCHES];
	struct merkle_pending *l;

	if (q->fill == 0) {
		/* a new batch: wait while the whole ring is the thread's */
		pthread_mutex_lock(&q->mu);
		while (q->posted - q->done == MQ_BATCHES)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
	}
	b->t[q->fill] = t < q->ntrees ? t : 0;
	l = &b->leaf[q->fill++];
	l->has_tenant = tenant_hash != NULL;
	if (tenant_hash != NULL)
		memcpy(l->th, tenant_hash, EVIDENCE_HASH_LEN);
	memcpy(l->ch, content_hash, EVIDENCE_HASH_LEN);
	if (q->fill == MQ_LEAVES) {
		b->n = q->fill;
		q->fill = 0;
		mq_post(q);
	}
}

void
merkleq_finish(struct merkleq *q)
{
	struct mq_batch *b;

	if (q == NULL)
		return;
	b = &q->batch[q->posted % MQ_BATCHES];
	pthread_mutex_lock(&q->mu);
	/* a batch being filled is the adder's already (room was waited for) */
	if (q->fill > 0) {
		b->n = q->fill;
		q->posted++;
	}
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->scratch);
	free(q->batch);
	free(q);
}
