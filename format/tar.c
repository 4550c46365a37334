#include <stdio.h>
#include <string.h>

#include "err.h"
#include "tar.h"

/* The header's fields, in order: offset, size, what a message says. The
 * checksum is not listed: it is compared last, since any other difference
 * changes it too. */
static const struct {
	size_t off, len;
	const char *why;
} fields[] = {
	{ 0, 100, "field \"name\"" },
	{ 100, 8, "field \"mode\" (not 0600)" },
	{ 108, 8, "field \"uid\" (not 0)" },
	{ 116, 8, "field \"gid\" (not 0)" },
	{ 124, 12, "field \"size\"" },
	{ 136, 12, "field \"mtime\"" },
	{ 156, 1, "field \"typeflag\" (not '0')" },
	{ 157, 100, "field \"linkname\"" },
	{ 257, 6, "field \"magic\"" },
	{ 263, 2, "field \"version\"" },
	{ 265, 32, "field \"uname\"" },
	{ 297, 32, "field \"gname\"" },
	{ 329, 8, "field \"devmajor\"" },
	{ 337, 8, "field \"devminor\"" },
	{ 345, 155, "field \"prefix\"" },
	{ 500, 12, "bytes 500..511 (not zero)" },
};

#define F_SIZE		124
#define F_MTIME		136
#define F_CHKSUM	148
#define F_TYPEFLAG	156
#define F_MAGIC		257

static int
name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > TAR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return 0;
	return 1;
}

/* n-1 octal digits and a NUL; v must fit. */
static void
put_octal(uint8_t *dst, size_t n, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(n - 1),
	    (unsigned long long)v);
	memcpy(dst, tmp, n - 1);
	dst[n - 1] = '\0';
}

static unsigned
checksum(const uint8_t hdr[TAR_BLOCK])
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		sum += i >= F_CHKSUM && i < F_CHKSUM + 8 ? ' ' : hdr[i];
	return sum;
}

void
tar_header_chksum(uint8_t hdr[TAR_BLOCK])
{
	char ck[8];

	/* six digits, NUL, space: the form tar has always written */
	snprintf(ck, sizeof(ck), "%06o", checksum(hdr) & 0777777);
	memcpy(hdr + F_CHKSUM, ck, 6);
	hdr[F_CHKSUM + 6] = '\0';
	hdr[F_CHKSUM + 7] = ' ';
}

int
tar_header_put(uint8_t hdr[TAR_BLOCK], const char *name, uint64_t size,
    uint64_t mtime)
{
	if (!name_ok(name) || size > TAR_OCTAL_MAX || mtime > TAR_OCTAL_MAX)
		return ERR_INVALID;
	memset(hdr, 0, TAR_BLOCK);
	memcpy(hdr, name, strlen(name));
	put_octal(hdr + 100, 8, 0600);
	put_octal(hdr + 108, 8, 0);
	put_octal(hdr + 116, 8, 0);
	put_octal(hdr + F_SIZE, 12, size);
	put_octal(hdr + F_MTIME, 12, mtime);
	hdr[F_TYPEFLAG] = '0';
	memcpy(hdr + F_MAGIC, "ustar\0" "00", 8);
	put_octal(hdr + 329, 8, 0);
	put_octal(hdr + 337, 8, 0);
	tar_header_chksum(hdr);
	return 0;
}

/* Exactly n-1 octal digits and a NUL. */
static int
get_octal(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i + 1 < n; i++) {
		if (p[i] < '0' || p[i] > '7')
			return ERR_TAR;
		*v = *v << 3 | (uint64_t)(p[i] - '0');
	}
	return p[n - 1] == '\0' ? 0 : ERR_TAR;
}

/* What a header of another kind is, for the message. */
static const char *
foreign_kind(const uint8_t hdr[TAR_BLOCK])
{
	switch (hdr[F_TYPEFLAG]) {
	case 'x': return "pax extended header (typeflag 'x')";
	case 'g': return "pax global header (typeflag 'g')";
	case 'L': case 'K': return "GNU long name record";
	case '1': case '2': return "link entry";
	case '3': case '4': case '6': return "device or FIFO entry";
	case '5': return "directory entry";
	}
	if (memcmp(hdr + F_MAGIC, "ustar  \0", 8) == 0)
		return "GNU tar header (magic \"ustar  \")";
	if (memcmp(hdr + F_MAGIC, "ustar", 5) != 0)
		return "not a ustar header (magic)";
	return NULL;
}

int
tar_header_get(const uint8_t hdr[TAR_BLOCK], char name[TAR_NAME_MAX + 1],
    uint64_t *size, uint64_t *mtime, const char **why)
{
	uint8_t want[TAR_BLOCK];
	size_t i;

	memset(name, 0, TAR_NAME_MAX + 1);
	*size = *mtime = 0;
	*why = NULL;
	if ((*why = foreign_kind(hdr)) != NULL)
		return ERR_TAR;
	memcpy(name, hdr, TAR_NAME_MAX);	/* byte 99 must be NUL: below */
	if (!name_ok(name)) {
		*why = "field \"name\"";
		goto bad;
	}
	if (get_octal(hdr + F_SIZE, 12, size) != 0) {
		*why = "field \"size\"";
		goto bad;
	}
	if (get_octal(hdr + F_MTIME, 12, mtime) != 0) {
		*why = "field \"mtime\"";
		goto bad;
	}
	if (tar_header_put(want, name, *size, *mtime) != 0) {
		*why = "field \"name\"";
		goto bad;
	}
	if (memcmp(want, hdr, TAR_BLOCK) == 0)
		return 0;
	*why = "field \"chksum\"";
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (memcmp(want + fields[i].off, hdr + fields[i].off,
		    fields[i].len) != 0) {
			*why = fields[i].why;
			break;
		}
 bad:
	memset(name, 0, TAR_NAME_MAX + 1);
	*size = *mtime = 0;
	return ERR_TAR;
}

int
tar_is_zero(const uint8_t *p, size_t n)
{
	size_t i;
	uint8_t acc = 0;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

size_t
tar_padding(uint64_t size)
{
	return (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
}
