/*
 * fuzz_action: the signed-action text parser and the audit checkpoint
 * body parser, over arbitrary bytes. Both read requests and checkpoints
 * that come from outside the process.
 */
#include <stdint.h>
#include <stdlib.h>

#include "action.h"
#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct action *a = NULL;
	uint8_t hash[AUDIT_HASH_LEN];
	char *origin = NULL;
	uint64_t n;

	if (action_parse(data, size, &a) == 0) {
		if (action_kind(a) == NULL)
			abort();
		(void)action_get(a, "tenant");
		action_free(a);
	}
	if (audit_checkpoint_parse(data, size, &origin, &n, hash) == 0 &&
	    origin == NULL)
		abort();
	free(origin);
	return 0;
}
