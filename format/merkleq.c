#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "merkleq.h"

#define MQ_BATCHES	4
#define MQ_LEAVES	2048

struct mq_leaf {
	size_t t;
	int has_tenant;
	uint8_t th[EVIDENCE_HASH_LEN];
	uint8_t ch[EVIDENCE_HASH_LEN];
};

struct mq_batch {
	struct mq_leaf leaf[MQ_LEAVES];
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

/* The leaves b->leaf[a..e) (all of table t) added to their tree. */
static void
add_run(struct merkleq *q, const struct mq_batch *b, size_t a, size_t e)
{
	const uint8_t *th[4], *ch[4];
	uint8_t *out[4];
	size_t i, n = e - a;
	int j;

	for (i = 0; i + 4 <= n; i += 4) {
		for (j = 0; j < 4; j++) {
			th[j] = b->leaf[a + i + j].has_tenant ?
			    b->leaf[a + i + j].th : NULL;
			ch[j] = b->leaf[a + i + j].ch;
			out[j] = q->scratch[i + j];
		}
		merkle_leaf_hash4(th, ch, out);
	}
	for (; i < n; i++)
		merkle_leaf_hash(b->leaf[a + i].has_tenant ?
		    b->leaf[a + i].th : NULL, b->leaf[a + i].ch, q->scratch[i]);
	merkle_push_leaves(&q->trees[b->leaf[a].t], q->scratch, n);
}

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
		/* runs of one table: leaves and nodes four at a time */
		for (i = 0; i < b->n; i = e) {
			for (e = i + 1; e < b->n && b->leaf[e].t ==
			    b->leaf[i].t; e++)
				;
			add_run(q, b, i, e);
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
	struct mq_leaf *l;

	if (q->fill == 0) {
		/* a new batch: wait while the whole ring is the thread's */
		pthread_mutex_lock(&q->mu);
		while (q->posted - q->done == MQ_BATCHES)
			pthread_cond_wait(&q->cv, &q->mu);
		pthread_mutex_unlock(&q->mu);
	}
	l = &b->leaf[q->fill++];
	l->t = t < q->ntrees ? t : 0;
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
