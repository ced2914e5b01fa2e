/*
 * replay - runs a harness over files instead of under libFuzzer.
 *
 * Each argument is a file or a directory of files; without arguments the
 * harness's own seed corpus, $HM_FUZZ_CORPUS/NAME for a program named
 * fuzz_NAME, is replayed.  Prints one line per harness and, in the form
 * Check uses, "Checks: 1, Failures: 0, Errors: 0" so that ./run-tests
 * counts the replay like a unit test.  A crash is the failure: the
 * sanitizers abort the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (16 * 1024 * 1024)

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	size_t n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	data = malloc(REPLAY_MAX_INPUT);
	if (!data)
		abort();
	n = fread(data, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

/* Files in name order, so that a failure names the same input every run. */
static int
replay_path(const char *path, unsigned *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char child[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			if (replay_path(child, count) < 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *corpus = getenv("HM_FUZZ_CORPUS");
	char path[4096];
	unsigned count = 0;
	int rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= replay_path(argv[i], &count);
	} else {
		if (strncmp(name, "lt-", 3) == 0)
			name += 3;
		snprintf(path, sizeof(path), "%s/%s", corpus ? corpus : "test/fuzz/corpus",
			 strncmp(name, "fuzz_", 5) == 0 ? name + 5 : name);
		rc = replay_path(path, &count);
	}
	if (count == 0)
		rc = -1;
	printf("%s: replayed %u inputs\n", name, count);
	printf("100%%: Checks: 1, Failures: %d, Errors: 0\n", rc < 0);
	return rc < 0;
}
