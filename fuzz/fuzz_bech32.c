/*
 * fuzz_bech32.c: Bech32 decoding. Anything that decodes must re-encode to
 * exactly the input: the encoding is canonical.
 */
#include <stdint.h>
#include <string.h>

#include "bech32.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char hrp[4096], enc[8192];
	static uint8_t bytes[4096], values[4096];
	size_t n, i;
	int upper = 0;

	if (size > 4000)
		return 0;
	if (bech32_decode_values((const char *)data, size, hrp, sizeof(hrp),
	    values, sizeof(values), &n) != 0)
		return 0;
	if (bech32_decode((const char *)data, size, hrp, sizeof(hrp), bytes,
	    sizeof(bytes), &n) != 0)
		return 0;
	for (i = 0; i < size; i++)
		if (data[i] >= 'A' && data[i] <= 'Z')
			upper = 1;
	if (bech32_encode(enc, sizeof(enc), hrp, bytes, n, upper) != 0 ||
	    strlen(enc) != size || memcmp(enc, data, size) != 0)
		__builtin_trap();
	return 0;
}
