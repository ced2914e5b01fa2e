/*
 * fuzz - what every harness in test/fuzz shares.
 *
 * Promise: each harness defines LLVMFuzzerTestOneInput (and, when it needs
 * state built once, LLVMFuzzerInitialize).  Built with clang and
 * -fsanitize=fuzzer it is a libFuzzer target (make fuzz); built with
 * replay.c it is a plain program that runs every file of its seed corpus
 * once, which is how make check and ./run-tests replay the corpora under
 * AddressSanitizer and UndefinedBehaviorSanitizer.
 */
#ifndef HM_FUZZ_H
#define HM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of the input (the parsers take C strings); free it. */
char *fuzz_string(const uint8_t *data, size_t size);

/* The next field of the input, up to a NUL byte or the end; NULL when none is left. */
const char *fuzz_field(char **cursor, const char *end);

#endif
