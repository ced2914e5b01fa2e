/*
 * eng_clamd - a clamd node, zINSTREAM over TCP or a unix socket.
 *
 * One connection per message: clamd's IDSESSION would save a connect but
 * answers out of order and holds a clamd thread between messages.  The
 * raw message goes to clamd, whose own mail parser unpacks it, as
 * clamav-milter does.  What clamd did not inspect is never clean: its
 * "INSTREAM size limit exceeded" (StreamMaxLength) and the alerts of a
 * node with AlertExceedsMax ("Heuristics.Limits.Exceeded.* FOUND": an
 * archive past MaxFileSize, MaxScanSize, MaxFiles or MaxRecursion) are
 * INCOMPLETE scans, which the recipient's "uninspectable" action decides
 * (MaxScanTime, a limit of the moment, is a failure OnScannerFailure
 * decides); with AlertEncrypted, "Heuristics.Encrypted.* FOUND" is an
 * ENCRYPTED verdict (the "encrypted" action); the node is not blamed for
 * them.  hostmilter.conf(5) lists the clamd.conf settings a
 * node needs: AlertExceedsMax yes, and limits no smaller than the largest
 * message the policy accepts.  Any other ERROR, or no reply, is a failure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstr.h"
#include "engine.h"

#define CLAMD_CHUNK (64 * 1024)
#define CLAMD_REPLY_MAX 1024

static void *
clamd_open(const char *address, const struct scan_settings *settings, char *err, size_t errlen)
{
	return engine_node_open(address, settings, 0, err, errlen);	/* clamd's own StreamMaxLength decides */
}

static int
clamd_send_chunk(const void *data, size_t len, void *arg)
{
	struct engine_stream *stream = arg;
	uint32_t be = htonl((uint32_t)len);

	if (net_write(stream->conn, &be, sizeof(be), stream->wait) < 0)
		return -1;
	return engine_write_chunk(data, len, stream);
}

/* Reads up to the NUL that ends clamd's reply. */
static int
clamd_read_reply(struct net_conn *conn, const struct net_wait *wait, char *reply, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = net_read(conn, reply + len, size - 1 - len, wait);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(reply, '\0', len))
			return 0;
	}
	reply[len] = '\0';
	return len > 0 && len + 1 < size ? 0 : -1;	/* EOF after a reply without its NUL is still a reply */
}

void
clamd_parse_reply(const char *reply, struct scan_result *result)
{
	size_t len = strcspn(reply, "\n");
	const char *found = " FOUND";

	if (strncmp(reply, "stream: ", 8) == 0)
		reply += 8, len -= 8;
	if (len == 2 && strncmp(reply, "OK", 2) == 0) {
		result->status = SCAN_DONE;
		return;
	}
	if (len > strlen(found) && strncmp(reply + len - strlen(found), found, strlen(found)) == 0) {
		struct dstr name = DSTR_INIT(len);

		/* classed whole: an alert's tell-tale may come after what the verdict's field keeps */
		if (dstr_append(&name, reply, len - strlen(found)) < 0) {
			engine_fail(result, "out of memory");
			return;
		}
		if (!engine_alert("clamd", dstr_text(&name), result)) {
			engine_virus_name(result, dstr_text(&name));
			result->status = SCAN_DONE;
			result->virus = true;
		}
		dstr_free(&name);
		return;
	}
	if (strstr(reply, "size limit exceeded")) {
		engine_incomplete(result, "larger than clamd's StreamMaxLength");
		return;
	}
	engine_fail(result, "clamd answered \"%.100s\"", reply);
	engine_header_value(result->note, sizeof(result->note), result->note);
}

static void
clamd_scan(void *arg, const struct scan_job *job, const struct net_wait *wait, struct scan_result *result)
{
	struct engine_node *node = arg;
	static const char command[] = "zINSTREAM";
	static const uint32_t end = 0;
	struct engine_stream stream = { NULL, wait };
	char reply[CLAMD_REPLY_MAX], err[200];
	int sent;

	stream.conn = net_connect(&node->addr, NULL, wait, err, sizeof(err));
	if (!stream.conn) {
		engine_fail(result, "%s", err);
		return;
	}
	sent = net_write(stream.conn, command, sizeof(command), wait) == 0
	       && engine_each_chunk(job->spool, CLAMD_CHUNK, clamd_send_chunk, &stream) == 0
	       && net_write(stream.conn, &end, sizeof(end), wait) == 0;
	/* Past StreamMaxLength clamd stops reading and answers: read the reply even when sending failed. */
	if (clamd_read_reply(stream.conn, wait, reply, sizeof(reply)) < 0)
		engine_fail(result, "no reply from clamd %s: %s", node->addr.text,
			    errno == ETIMEDOUT ? "timed out" : sent ? "connection closed" : "send failed");
	else
		clamd_parse_reply(reply, result);
	net_close(stream.conn);
}

const struct scan_engine engine_clamd = {
	.name = "clamd",
	.kind = SCAN_KIND_VIRUS,
	.open = clamd_open,
	.scan = clamd_scan,
	.close = engine_node_close,
};
