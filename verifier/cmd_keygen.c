#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "cmd.h"
#include "err.h"
#include "report.h"

static const char keygen_usage[] =
"usage: tenant-verify keygen --out FILE\n"
"\n"
"Writes a new age X25519 identity to FILE (created with mode 0600; an\n"
"existing FILE is never overwritten), in the format age-keygen writes,\n"
"and prints its recipient (age1...) on stdout. Give the recipient to the\n"
"exporter; keep FILE for `verify --identity FILE`.\n"
"\n"
"Exit status: 0 written, 2 usage or operational error.\n";

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

int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct age_identity *id = NULL;
	struct buf *text = NULL;
	const char *out = NULL;
	char *secret = NULL, *recipient = NULL, when[32];
	int c, fd = -1, created = 0, r, ret = CMD_EXIT_USAGE;

	opterr = 0;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "o:", opts)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(keygen_usage, stdout);
			return CMD_EXIT_OK;
		case ':':
			cmd_usage_error("keygen", "option '%s' needs an "
			    "argument", argv[optind - 1]);
			return CMD_EXIT_USAGE;
		default:
			cmd_usage_error("keygen", "unknown option '%s'",
			    argv[optind - 1]);
			return CMD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cmd_usage_error("keygen", "unexpected operand '%s'",
		    argv[optind]);
		return CMD_EXIT_USAGE;
	}
	if (out == NULL) {
		/* No stdout default: the secret never goes to a terminal or
		 * a log. */
		cmd_usage_error("keygen", "--out FILE is required");
		return CMD_EXIT_USAGE;
	}
	if ((r = age_identity_generate(&id)) != 0 ||
	    (r = age_identity_encode(id, &secret)) != 0 ||
	    (r = age_identity_recipient(id, &recipient)) != 0) {
		report_error("keygen", "cannot generate a key: %s", err_str(r));
		goto out;
	}
	if ((text = buf_new_secret(4096)) == NULL ||
	    (r = buf_putf(text, "# created: %s\n# public key: %s\n%s\n",
	    report_time((uint64_t)time(NULL), when, sizeof(when)), recipient,
	    secret)) != 0) {
		report_error("keygen", "%s", err_str(text == NULL ? ERR_NOMEM :
		    r));
		goto out;
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		if (errno == EEXIST)
			report_error("keygen", "refusing to overwrite \"%s\"",
			    out);
		else
			report_error("keygen", "cannot create \"%s\": %s", out,
			    strerror(errno));
		goto out;
	}
	created = 1;
	if (write_all(fd, buf_ptr(text), buf_len(text)) != 0 ||
	    fsync(fd) != 0) {
		report_error("keygen", "cannot write \"%s\": %s", out,
		    strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		report_error("keygen", "cannot write \"%s\": %s", out,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (printf("%s\n", recipient) < 0 || fflush(stdout) != 0) {
		report_error("keygen", "cannot write to stdout");
		goto out;
	}
	created = 0;	/* keep it */
	ret = CMD_EXIT_OK;
 out:
	if (fd >= 0)
		close(fd);
	/* A half-written key file is worse than none. */
	if (created)
		(void)unlink(out);
	buf_free(text);
	if (secret != NULL)
		sodium_free(secret);
	free(recipient);
	age_identity_free(id);
	return ret;
}
