/*
 * nullmilter - the benchmark's anchor: a filter on the same libmilter that
 * registers every callback hostmilter does, decides nothing, and adds one
 * header at end of message.  What hostmilter costs beyond it is the price
 * of its policy.
 *
 * usage: nullmilter SOCKET
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

static sfsistat
null_continue(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_string(SMFICTX *ctx, char *text)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_args(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	smfi_addheader(ctx, "X-Null-Milter", "passed");
	return SMFIS_CONTINUE;
}

static struct smfiDesc null_filter = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_connect = null_connect,
	.xxfi_helo = null_string,
	.xxfi_envfrom = null_args,
	.xxfi_envrcpt = null_args,
	.xxfi_header = null_header,
	.xxfi_eoh = null_continue,
	.xxfi_body = null_body,
	.xxfi_eom = null_eom,
	.xxfi_abort = null_continue,
	.xxfi_close = null_continue,
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter SOCKET\n");
		return 2;
	}
	umask(007);
	if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(null_filter) == MI_FAILURE
	    || smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
