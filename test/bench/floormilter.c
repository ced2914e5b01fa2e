/*
 * floormilter - the protocol's floor: a filter on the same libmilter that
 * asks Sendmail only for connect, MAIL, RCPT and end of message, answers
 * MAIL and RCPT (and end of message, which is always answered) and decides
 * nothing.  Headers, body, HELO, DATA and unknown commands are declined at
 * negotiation, so they never cross the socket, and the connect step gets
 * no reply.  No policy filter can be cheaper than this with the replies a
 * policy needs; milter-bench compares hostmilter's policy path with it.
 *
 * With --content it is the floor of a filter that reads the message: it
 * also takes HELO, the headers and the body, each without a reply, and
 * declines the end of the headers, as hostmilter negotiates when a scanner
 * or a blocked type needs the content (milter/session.c,
 * session_negotiate), and does nothing with them.  milter-bench compares the true-type check with it:
 * what the protocol costs to carry a message, no filter can take back.
 *
 * usage: floormilter [--content] SOCKET
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

/* Every step but these four is declined; the connect step is not answered. */
#define FLOOR_STEPS (SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA \
		     | SMFIP_NR_CONN)
/* --content: HELO, the headers and the body too, none answered (hostmilter's SESSION_NO_REPLY). */
#define FLOOR_CONTENT_STEPS (SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO \
			     | SMFIP_NR_HDR | SMFIP_NR_BODY)
static unsigned long floor_steps = FLOOR_STEPS;

static sfsistat
floor_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	return SMFIS_NOREPLY;
}

static sfsistat
floor_args(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat
floor_helo(SMFICTX *ctx, char *name)
{
	return SMFIS_NOREPLY;
}

static sfsistat
floor_header(SMFICTX *ctx, char *name, char *value)
{
	return SMFIS_NOREPLY;
}

static sfsistat
floor_eoh(SMFICTX *ctx)
{
	return SMFIS_NOREPLY;
}

static sfsistat
floor_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return SMFIS_NOREPLY;
}

static sfsistat
floor_eom(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
floor_close(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
floor_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long unused2,
		unsigned long unused3, unsigned long *want_actions, unsigned long *want_steps, unsigned long *want2,
		unsigned long *want3)
{
	if ((steps & floor_steps) != floor_steps)
		return SMFIS_REJECT;	/* an MTA that cannot skip them would not measure the floor */
	*want_actions = 0;
	*want_steps = floor_steps;
	*want2 = *want3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc floor_filter = {
	.xxfi_name = "floormilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = floor_connect,
	.xxfi_envfrom = floor_args,
	.xxfi_envrcpt = floor_args,
	.xxfi_helo = floor_helo,
	.xxfi_header = floor_header,
	.xxfi_eoh = floor_eoh,
	.xxfi_body = floor_body,
	.xxfi_eom = floor_eom,
	.xxfi_close = floor_close,
	.xxfi_negotiate = floor_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--content") == 0) {
		floor_steps = FLOOR_CONTENT_STEPS;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: floormilter [--content] SOCKET\n");
		return 2;
	}
	umask(007);
	if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(floor_filter) == MI_FAILURE
	    || smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "floormilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
