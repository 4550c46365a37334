#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "extract.h"
#include "ident.h"
#include "manifest.h"
#include "values.h"
#include "verify.h"
#include "xfiles.h"

#define FLUSH_AT	(1u << 20)
/* One record is at most BUNDLE_MAX_PART_BYTES of CBOR; its JSON text can
 * be several times larger (escapes, hex). */
#define STAGE_MAX	(256u << 20)
#define TMP_RAND	8
#define NONE		((size_t)-1)

enum xf_state { XF_NONE, XF_TEMP, XF_DONE };

struct xfile {
	char *name;			/* final name */
	char tmp[EXTRACT_NAME_MAX + 64];	/* temporary name once created */
	enum xf_state state;
	uint64_t records;
	uint8_t *header;		/* CSV header row, copied at begin */
	size_t header_len;
};

struct extract {
	int dirfd;
	enum extract_format fmt;
	char *dir;			/* for messages */
	struct xfile *files;		/* ntables, then the receipt */
	size_t nfiles;
	size_t cur;			/* table being written, or NONE */
	size_t next;			/* first table not yet created */
	int fd;
	struct buf *stage;
	struct xfiles *xf;		/* uploaded files, DIR/files/ */
	int began, ended, failed;
	int code;			/* first failure */
	char why[512];
};

int
extract_format_parse(const char *s, enum extract_format *f)
{
	if (strcmp(s, "jsonl") == 0)
		*f = EXTRACT_JSONL;
	else if (strcmp(s, "csv") == 0)
		*f = EXTRACT_CSV;
	else if (strcmp(s, "cbor") == 0)
		*f = EXTRACT_CBOR;
	else
		return ERR_USAGE;
	return 0;
}

const char *
extract_format_ext(enum extract_format f)
{
	switch (f) {
	case EXTRACT_JSONL:
		return "jsonl";
	case EXTRACT_CSV:
		return "csv";
	case EXTRACT_CBOR:
	default:
		return "cbor";
	}
}

int
extract_name_check(const char *name)
{
	size_t i, len = strlen(name);
	char c;

	if (len == 0 || len > EXTRACT_NAME_MAX || name[0] == '.' ||
	    strstr(name, "..") != NULL)
		return ERR_PATH;
	for (i = 0; i < len; i++) {
		c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
		    c == '%' || c == '~'))
			return ERR_PATH;
	}
	return 0;
}

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Records the sink's first failure; later callbacks then refuse. */
static int
fail(struct extract *x, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct extract *x, int r, const char *fmt, ...)
{
	va_list ap;

	if (!x->failed) {
		x->code = r;
		va_start(ap, fmt);
		vsnprintf(x->why, sizeof(x->why), fmt, ap);
		va_end(ap);
	}
	x->failed = 1;
	return r;
}

int
extract_open(const char *dir, enum extract_format f, struct extract **out,
    char *why, size_t whylen)
{
	struct extract *x = NULL;
	size_t len;
	int r = ERR_INTERNAL;

	*out = NULL;
	set_why(why, whylen, "%s", "");
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	x->dirfd = x->fd = -1;
	x->fmt = f;
	x->cur = NONE;
	if (sodium_init() < 0 || (x->dir = strdup(dir)) == NULL ||
	    (x->stage = buf_new(STAGE_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* "out/" would follow a symlink named out; the bare name does not. */
	for (len = strlen(x->dir); len > 1 && x->dir[len - 1] == '/'; len--)
		x->dir[len - 1] = '\0';
	if (mkdir(x->dir, 0700) != 0 && errno != EEXIST) {
		r = errno == ENOENT ? ERR_NOENT : errno == EACCES ? ERR_PERM :
		    ERR_IO;
		set_why(why, whylen, "cannot create directory \"%.200s\": %s",
		    x->dir, strerror(errno));
		goto out;
	}
	if ((x->dirfd = open(x->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		if (errno == ENOTDIR || errno == ELOOP) {
			r = ERR_PATH;
			set_why(why, whylen, "\"%.200s\" exists and is not a "
			    "directory", x->dir);
		} else {
			r = errno == EACCES ? ERR_PERM : ERR_IO;
			set_why(why, whylen, "cannot open directory "
			    "\"%.200s\": %s", x->dir, strerror(errno));
		}
		goto out;
	}
	if ((r = xfiles_new(x->dirfd, &x->xf)) != 0)
		goto out;
	*out = x;
	x = NULL;
	r = 0;
 out:
	extract_free(x);
	return r;
}

static void
files_free(struct extract *x)
{
	size_t i;

	for (i = 0; i < x->nfiles; i++) {
		free(x->files[i].name);
		free(x->files[i].header);
	}
	free(x->files);
	x->files = NULL;
	x->nfiles = 0;
}

/* Builds the file list for m's tables, with every check on the names. */
static int
files_build(struct extract *x, const struct manifest *m, char *why,
    size_t whylen)
{
	const char *ext = extract_format_ext(x->fmt);
	struct xfile *fs = NULL;
	struct stat st;
	size_t i, j, n = 0;
	int r = ERR_INTERNAL;

	if (m->ntables > MANIFEST_MAX_TABLES) {
		r = ERR_LIMIT;
		set_why(why, whylen, "archive lists too many tables");
		goto out;
	}
	if ((fs = calloc(m->ntables + 1, sizeof(*fs))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (n = 0; n < m->ntables; n++) {
		char sch[IDENT_MAX + 1], tbl[IDENT_MAX + 1];
		char fname[IDENT_FILE_MAX + 1];
		const char *bad;

		/* schema.table as PostgreSQL writes it, mapped to a file
		 * name (ident_file_name): the name is hostile by
		 * definition, so it is not echoed. */
		if (ident_parse_qualified(m->tables[n].name,
		    strlen(m->tables[n].name), sch, tbl, &bad) != 0 ||
		    ident_file_name(fname, sizeof(fname), sch, tbl, ext) != 0 ||
		    extract_name_check(fname) != 0) {
			r = ERR_PATH;
			set_why(why, whylen, "table %zu has a name that is not "
			    "schema.table", n + 1);
			goto out;
		}
		if ((fs[n].name = strdup(fname)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if ((fs[n].name = strdup(EXTRACT_RECEIPT)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	n++;
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (strcmp(fs[i].name, fs[j].name) != 0)
				continue;
			r = ERR_PATH;
			set_why(why, whylen, "two outputs would share the file "
			    "name \"%s\"", fs[i].name);
			goto out;
		}
		if (fstatat(x->dirfd, fs[i].name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
			r = ERR_EXISTS;
			set_why(why, whylen, "refusing to overwrite "
			    "\"%.200s/%s\"", x->dir, fs[i].name);
			goto out;
		}
	}
	files_free(x);
	x->files = fs;
	x->nfiles = n;
	fs = NULL;
	r = 0;
 out:
	if (fs != NULL) {
		for (i = 0; i < n; i++)
			free(fs[i].name);
		free(fs);
	}
	return r;
}

int
extract_prepare(struct extract *x, const struct manifest *m, char *why,
    size_t whylen)
{
	set_why(why, whylen, "%s", "");
	if (x->began)
		return ERR_INVALID;
	return files_build(x, m, why, whylen);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
flush(struct extract *x)
{
	int r;

	if (buf_len(x->stage) == 0)
		return 0;
	if ((r = write_all(x->fd, buf_ptr(x->stage),
	    buf_len(x->stage))) != 0)
		return fail(x, r, "cannot write to \"%.200s\": %s", x->dir,
		    strerror(errno));
	buf_reset(x->stage);
	return 0;
}

static int
create_temp(struct extract *x, size_t i, int *fd)
{
	struct xfile *f = &x->files[i];
	uint8_t rnd[TMP_RAND];
	char hex[2 * TMP_RAND + 1];

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(f->tmp, sizeof(f->tmp), ".%s.tmp-%s", f->name,
	    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd)));
	if ((*fd = openat(x->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		f->tmp[0] = '\0';
		return fail(x, errno == EEXIST ? ERR_EXISTS : ERR_IO,
		    "cannot create a temporary file for \"%s\" in \"%.200s\": "
		    "%s", f->name, x->dir, strerror(errno));
	}
	f->state = XF_TEMP;
	return 0;
}

static int
close_current(struct extract *x)
{
	int r;

	if (x->fd < 0)
		return 0;
	if ((r = flush(x)) != 0)
		return r;
	if (fsync(x->fd) != 0 || close(x->fd) != 0) {
		x->fd = -1;
		return fail(x, ERR_IO, "cannot write \"%s\" in \"%.200s\": %s",
		    x->files[x->cur].name, x->dir, strerror(errno));
	}
	x->fd = -1;
	x->cur = NONE;
	return 0;
}

static int
open_table(struct extract *x, size_t t)
{
	struct xfile *f = &x->files[t];
	int r;

	if ((r = create_temp(x, t, &x->fd)) != 0)
		return r;
	x->cur = t;
	x->next = t + 1;
	if (f->header != NULL &&
	    (r = buf_put(x->stage, f->header, f->header_len)) != 0)
		return fail(x, r, "table %zu: cannot write the CSV header: %s",
		    t + 1, err_str(r));
	return 0;
}

/* The preamble is only valid during begin, and tables without records
 * get their file (with its header) later: keep the header rows. */
static int
headers_build(struct extract *x, const struct manifest *pre)
{
	struct buf *b = NULL;
	size_t t;
	int r = ERR_INTERNAL;

	if ((b = buf_new(STAGE_MAX)) == NULL)
		return ERR_NOMEM;
	for (t = 0; t < pre->ntables; t++) {
		buf_reset(b);
		if ((r = values_csv_header(&pre->tables[t], b)) != 0) {
			fail(x, r, "table %zu: cannot write the CSV header: %s",
			    t + 1, err_str(r));
			goto out;
		}
		if ((x->files[t].header = malloc(buf_len(b))) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		memcpy(x->files[t].header, buf_ptr(b), buf_len(b));
		x->files[t].header_len = buf_len(b);
	}
	r = 0;
 out:
	buf_free(b);
	return r;
}

/* Moves the output to table t (creating the files of any tables in
 * between, which have no records). t == number of tables finishes. */
static int
advance_to(struct extract *x, size_t t)
{
	size_t ntables = x->nfiles - 1;
	int r;

	if (x->cur != NONE && x->cur == t)
		return 0;
	if (t < x->next)
		return fail(x, ERR_FORMAT, "records are not in table order");
	if ((r = close_current(x)) != 0)
		return r;
	while (x->next < t) {
		if ((r = open_table(x, x->next)) != 0 ||
		    (r = close_current(x)) != 0)
			return r;
	}
	if (t < ntables)
		return open_table(x, t);
	return 0;
}

static int
sink_begin(void *ctx, const struct manifest *pre)
{
	struct extract *x = ctx;
	char why[512];
	int r;

	if (x->began || x->failed)
		return fail(x, ERR_INVALID, "extraction already ran");
	x->began = 1;
	/* Always rebuilt from what this pass reads: the archive could have
	 * changed since extract_prepare saw it. */
	if ((r = files_build(x, pre, why, sizeof(why))) != 0)
		return fail(x, r, "%s", why);
	if (x->fmt == EXTRACT_CSV && (r = headers_build(x, pre)) != 0)
		return fail(x, r, "cannot prepare the CSV headers: %s",
		    err_str(r));
	x->next = 0;
	return 0;
}

static int
sink_record(void *ctx, const struct manifest *pre, size_t table,
    const uint8_t *rec, size_t len)
{
	struct extract *x = ctx;
	int r;

	if (x->failed)
		return ERR_INVALID;
	if (!x->began || x->ended || x->nfiles != pre->ntables + 1 ||
	    table >= pre->ntables)
		return fail(x, ERR_INVALID, "record outside the announced "
		    "tables");
	if ((r = advance_to(x, table)) != 0)
		return r;
	switch (x->fmt) {
	case EXTRACT_JSONL:
		r = values_record_jsonl(&pre->tables[table], rec, len,
		    x->stage);
		break;
	case EXTRACT_CSV:
		r = values_record_csv(&pre->tables[table], rec, len, x->stage);
		break;
	case EXTRACT_CBOR:
	default:
		r = buf_put(x->stage, rec, len);
		break;
	}
	if (r != 0)
		return fail(x, r, "table %zu record %llu: cannot convert to "
		    "%s: %s", table + 1,
		    (unsigned long long)x->files[table].records + 1,
		    extract_format_ext(x->fmt), err_str(r));
	x->files[table].records++;
	if (buf_len(x->stage) >= FLUSH_AT)
		return flush(x);
	return 0;
}

static int
sink_end(void *ctx, const uint8_t *manifest, size_t len)
{
	struct extract *x = ctx;
	size_t rc;
	int r;

	if (x->failed)
		return ERR_INVALID;
	if (!x->began || x->ended || x->nfiles == 0)
		return fail(x, ERR_INVALID, "manifest before the preamble");
	rc = x->nfiles - 1;
	if ((r = advance_to(x, rc)) != 0)
		return r;
	if ((r = create_temp(x, rc, &x->fd)) != 0)
		return r;
	x->cur = rc;
	if ((r = buf_put(x->stage, manifest, len)) != 0)
		return fail(x, r, "manifest too large");
	if ((r = close_current(x)) != 0)
		return r;
	x->ended = 1;
	return 0;
}

static int
sink_file_begin(void *ctx, const uint8_t *path, size_t len)
{
	struct extract *x = ctx;
	int r;

	if (x->failed)
		return x->code;
	if ((r = xfiles_begin(x->xf, path, len, x->why, sizeof(x->why))) != 0) {
		x->failed = 1;
		x->code = r;
	}
	return r;
}

static int
sink_file_data(void *ctx, const uint8_t *p, size_t n)
{
	struct extract *x = ctx;
	int r;

	if (x->failed)
		return x->code;
	if ((r = xfiles_data(x->xf, p, n)) != 0)
		return fail(x, r, "cannot write a file under \"%.200s/%s\"",
		    x->dir, XFILES_DIR);
	return 0;
}

static int
sink_file_end(void *ctx)
{
	struct extract *x = ctx;
	int r;

	if (x->failed)
		return x->code;
	if ((r = xfiles_end(x->xf)) != 0)
		return fail(x, r, "cannot write a file under \"%.200s/%s\"",
		    x->dir, XFILES_DIR);
	return 0;
}

void
extract_sink(struct extract *x, struct verify_sink *s)
{
	memset(s, 0, sizeof(*s));
	s->ctx = x;
	s->begin = sink_begin;
	s->record = sink_record;
	s->end = sink_end;
	s->file_begin = sink_file_begin;
	s->file_data = sink_file_data;
	s->file_end = sink_file_end;
}

uint64_t
extract_files_count(const struct extract *x)
{
	return xfiles_count(x->xf);
}

const char *
extract_error(const struct extract *x)
{
	return x->why;
}

int
extract_error_code(const struct extract *x)
{
	return x->code;
}

/* rename without replacing; link+unlink where the file system lacks
 * RENAME_NOREPLACE. */
static int
rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dirfd, from, dirfd, to, 0) != 0)
		return -1;
	(void)unlinkat(dirfd, from, 0);
	return 0;
}

int
extract_commit(struct extract *x, char *why, size_t whylen)
{
	size_t i;
	int r = ERR_INTERNAL;

	set_why(why, whylen, "%s", "");
	if (!x->began || !x->ended || x->failed || x->fd >= 0) {
		set_why(why, whylen, "extraction did not complete");
		return ERR_INVALID;
	}
	if ((r = xfiles_commit(x->xf, why, whylen)) != 0)
		return r;
	for (i = 0; i < x->nfiles; i++) {
		if (x->files[i].state != XF_TEMP) {
			r = ERR_INTERNAL;
			set_why(why, whylen, "\"%s\" was not written",
			    x->files[i].name);
			goto out;
		}
		if (rename_noreplace(x->dirfd, x->files[i].tmp,
		    x->files[i].name) != 0) {
			r = errno == EEXIST ? ERR_EXISTS : ERR_IO;
			set_why(why, whylen, r == ERR_EXISTS ?
			    "refusing to overwrite \"%.200s/%s\"" :
			    "cannot rename into \"%.200s/%s\"", x->dir,
			    x->files[i].name);
			goto out;
		}
		x->files[i].state = XF_DONE;
	}
	if (fsync(x->dirfd) != 0) {
		r = ERR_IO;
		set_why(why, whylen, "cannot sync directory \"%.200s\"",
		    x->dir);
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		/* All or nothing: take back what was already published. */
		for (i = 0; i < x->nfiles; i++) {
			if (x->files[i].state != XF_DONE)
				continue;
			(void)unlinkat(x->dirfd, x->files[i].name, 0);
			x->files[i].state = XF_NONE;
		}
		xfiles_uncommit(x->xf);
	}
	return r;
}

size_t
extract_nfiles(const struct extract *x)
{
	return x->nfiles;
}

const char *
extract_file_name(const struct extract *x, size_t i)
{
	return i < x->nfiles ? x->files[i].name : NULL;
}

uint64_t
extract_file_records(const struct extract *x, size_t i)
{
	return i < x->nfiles ? x->files[i].records : 0;
}

void
extract_free(struct extract *x)
{
	size_t i;

	if (x == NULL)
		return;
	if (x->fd >= 0)
		close(x->fd);
	for (i = 0; i < x->nfiles; i++)
		if (x->files[i].state == XF_TEMP && x->dirfd >= 0)
			(void)unlinkat(x->dirfd, x->files[i].tmp, 0);
	files_free(x);
	xfiles_free(x->xf);
	if (x->dirfd >= 0)
		close(x->dirfd);
	buf_free(x->stage);
	free(x->dir);
	free(x);
}
