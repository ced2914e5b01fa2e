/*
 * magic-check - the true-type check with libmagic's rules chosen from the
 * blocked types (scan/magicset.c) against libmagic with its whole
 * database, on real files: what each answers, and how long it takes.
 *
 *   magic-check [-t TYPE]... [-n MAX_FILES] PATH...
 *
 * Walks the PATHs (files and directories, symbolic links not followed),
 * types the first ATTACH_MAGIC_BYTES of every regular file both ways,
 * and prints one line per file whose answers differ where it matters: one
 * of them is a blocked TYPE (or a name of its family) and the other is
 * not the same.  Then the counts, the time per file of each, and, per
 * type the whole database named, how often the chosen rules named
 * something else (allowed for types nobody blocks: those are only
 * logged).  Exit status 1 when any answer differs where it matters.
 * Default TYPE: application/x-dosexec (the sample export's).
 */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <magic.h>

#include "attach.h"
#include "magicset.h"
#include "monotime.h"

#define CHECK_TYPES_MAX 16

static struct {
	const char *types[CHECK_TYPES_MAX];
	size_t ntypes;
	magic_t full;
	struct magicset_cookie *chosen;
	long files, max_files, mismatches, other_changes;
	double full_s, chosen_s;
	char buf[ATTACH_MAGIC_BYTES];
} check = { .max_files = 1000000 };

static double
now(void)
{
	return (double)monotime_us() / 1e6;
}

static bool
blocked(const char *type)
{
	for (size_t i = 0; i < check.ntypes; i++)
		if (attach_same_type(type, check.types[i]))
			return true;
	return false;
}

static void
compare(const char *path, size_t len)
{
	char full[POLICY_TYPE_LEN], chosen[POLICY_TYPE_LEN];
	double t0 = now(), t1;

	snprintf(full, sizeof(full), "%s", magic_buffer(check.full, check.buf, len));
	t1 = now();
	snprintf(chosen, sizeof(chosen), "%s", magicset_type(check.chosen, check.full, check.buf, len));
	check.full_s += t1 - t0;
	check.chosen_s += now() - t1;
	check.files++;
	if ((blocked(full) || blocked(chosen)) && strcmp(full, chosen) != 0) {
		printf("DIFFERS %s: whole database %s, chosen rules %s\n", path, full, chosen);
		check.mismatches++;
	} else if (strcmp(full, chosen) != 0)
		check.other_changes++;
}

static int
visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	ssize_t n;
	int fd;

	if (flag != FTW_F || !S_ISREG(st->st_mode) || st->st_size == 0)
		return 0;
	if (check.files >= check.max_files)
		return 1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, check.buf, sizeof(check.buf));
	close(fd);
	if (n > 0)
		compare(path, (size_t)n);
	return 0;
}

int
main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		if (opt == 't' && check.ntypes < CHECK_TYPES_MAX)
			check.types[check.ntypes++] = optarg;
		else if (opt == 'n')
			check.max_files = atol(optarg);
		else {
			fprintf(stderr, "usage: magic-check [-t TYPE]... [-n MAX_FILES] PATH...\n");
			return 2;
		}
	}
	if (check.ntypes == 0)
		check.types[check.ntypes++] = "application/x-dosexec";
	attach_init();
	check.full = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	if (!check.full || magic_load(check.full, NULL) != 0
	    || magicset_choose(&check.chosen, MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS, check.types,
			       check.ntypes) < 0) {
		fprintf(stderr, "magic-check: libmagic cannot load its database\n");
		return 2;
	}
	printf("rules chosen: %zu (0: the whole database is used)\n", magicset_rules(check.types, check.ntypes));
	for (int i = optind; i < argc; i++)
		nftw(argv[i], visit, 16, FTW_PHYS);
	printf("files %ld, answers that differ for a blocked type %ld, other types named differently %ld\n",
	       check.files, check.mismatches, check.other_changes);
	printf("per file: whole database %.1f us, chosen rules %.1f us\n", check.full_s / (double)check.files * 1e6,
	       check.chosen_s / (double)check.files * 1e6);
	magicset_cookie_free(check.chosen);
	magic_close(check.full);
	attach_shutdown();
	return check.mismatches ? 1 : 0;
}
