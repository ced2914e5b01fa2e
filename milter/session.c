/*
 * session - libmilter callbacks; see session.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "cidr.h"
#include "decide.h"
#include "eom.h"
#include "facts.h"
#include "fdlimit.h"
#include "marks.h"
#include "msg.h"
#include "ratelimit.h"
#include "ratelog.h"
#include "scanners.h"
#include "session.h"
#include "snapshot.h"
#include "spool.h"
#include "stats.h"

/* What of a peer's string is kept for the log, rspamd and replies: Sendmail's MAXNAME, so an address or
 * host name Sendmail accepted fits whole; a longer macro ({cert_subject}) is shown cut, marked "...". */
#define SESSION_TEXT_MAX 256
#define SESSION_SUBJECT_MAX 998	/* RFC 5322's line limit */
#define SESSION_LINE_MAX 2048	/* a log line: five bounded texts and a note fit whole */

/* The recipients charged to a sender's rate limit in the message under way. */
struct session_charges {
	char *key;
	struct ratelimit_limit limit;
	struct ratelimit_result *results;
	unsigned n, cap;
};

/* Grouped by what they are for, not by size: the padding is a few bytes per connection. */
struct session {	// NOLINT(clang-analyzer-optin.performance.Padding)
	struct snapshot *snap;
	bool entered;		/* counted by fdlimit_enter */
	bool envelope_only;	/* negotiated without headers and body (session_negotiate) */
	bool size_asked;	/* {msg_size} was asked for at end of message */
	char daemon[SESSION_TEXT_MAX];	/* {daemon_name}, for each snapshot's daemon lists */
	char client[INET6_ADDRSTRLEN];
	bool in_relay_network;
	const struct policy_relay_right *relay_network;	/* in snap's database */
	int client_family;
	uint8_t client_addr[16];
	bool auth_required;
	bool bulk;		/* {daemon_name} is one of BulkDaemons */
	/* the message under way */
	bool in_message;
	bool busy;		/* counted in session_busy: see session_message_start */
	bool outcome_counted;	/* the message's outcome is in the statistics */
	char qid[40];
	char auth_user[SESSION_TEXT_MAX];
	char mailbox[ADDR_NAME_MAX + 1];
	struct client_facts facts;
	const struct policy_relay_right *cert_right;	/* the relaying certificate, in snap's database */
	char *cert_identity;	/* facts_cert_identity of it, while it relays */
	char cert_issuer[SESSION_TEXT_MAX], cert_subject[SESSION_TEXT_MAX];	/* printable, for the rate limit's reply */
	bool auth_rate_known;
	struct policy_rate auth_rate;	/* the authenticated mailbox's own rate limit */
	struct session_charges charges;	/* this message's, given back if it is abandoned */
	struct addr_envelope sender;
	char sender_text[SESSION_TEXT_MAX];
	uint64_t declared_size;
	uint64_t limit;
	uint64_t counted;	/* headers and body as Sendmail counts them (LF line ends), as far as seen */
	uint64_t counted_body;	/* the body alone: never more than Sendmail's count */
	bool body_cr;		/* the last body chunk ended in CR */
	bool headers_ended;	/* the blank line after the headers is spooled (session_end_headers) */
	unsigned accepted;
	/* what scanning needs */
	char helo[SESSION_TEXT_MAX];
	struct eom_rcpt *rcpts;
	unsigned nrcpts, rcpt_cap;
	bool scan_decided, scan;
	bool quarantined;
	bool refused;		/* refused where no reply goes back; see session_refuse */
	struct decision refusal;
	struct spool *spool;
	char *subject;		/* the first Subject, whole (NULL: none) */
	bool has_subject;
	unsigned marks_seen[MARKS_MAX];	/* the sender's copies of each header hostmilter writes */
};

static struct scanners *session_scanners;
static struct ratelimit *session_ratelimit;

void
session_set_scanners(struct scanners *scanners)
{
	session_scanners = scanners;
	eom_set_scanners(scanners);
}

void
session_set_ratelimit(struct ratelimit *ratelimit)
{
	session_ratelimit = ratelimit;
}

/*
 * A message abandoned before its data was complete (aborted, or the
 * connection lost) gives its recipients back: they were never sent.  A
 * message that reached its end keeps them counted, whatever its verdict.
 */
static void
session_charges_end(struct session *s, bool refund)
{
	struct session_charges *c = &s->charges;

	for (unsigned i = 0; refund && session_ratelimit && i < c->n; i++)
		ratelimit_refund(session_ratelimit, c->key, &c->limit, &c->results[i]);
	free(c->key);
	free(c->results);
	memset(c, 0, sizeof(*c));
}

static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t session_idle = PTHREAD_COND_INITIALIZER;
static unsigned session_busy;
static bool session_stopping;

void
session_begin_shutdown(void)
{
	pthread_mutex_lock(&session_lock);
	session_stopping = true;
	pthread_mutex_unlock(&session_lock);
}

int
session_drain(long timeout)
{
	struct timespec deadline;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout;
	pthread_mutex_lock(&session_lock);
	while (session_busy > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&session_idle, &session_lock, &deadline);
	rc = session_busy ? -1 : 0;
	pthread_mutex_unlock(&session_lock);
	return rc;
}

/*
 * A message is under way from MAIL until its connection's next event
 * (the next MAIL, an abort or the close), not merely until its end-of-message
 * callback returns: libmilter writes the reply after that, and a daemon
 * that exited in between would have Sendmail tempfail a message the log
 * calls accepted.  session_next_event ends the count.
 */
static bool
session_message_start(struct session *s)
{
	bool stopping;

	pthread_mutex_lock(&session_lock);
	stopping = session_stopping;
	if (!s->in_message && !stopping) {
		s->in_message = true;
		if (!s->busy)
			session_busy++;
		s->busy = true;
	}
	pthread_mutex_unlock(&session_lock);
	return !stopping;
}

/* Sendmail sent the connection's next command: any reply of ours was written. */
static void
session_next_event(struct session *s)
{
	pthread_mutex_lock(&session_lock);
	if (s->busy && !s->in_message) {
		s->busy = false;
		if (--session_busy == 0)
			pthread_cond_broadcast(&session_idle);
	}
	pthread_mutex_unlock(&session_lock);
}

/* How a message ended, once: a message that ends otherwise was abandoned. */
static void
session_outcome(struct session *s, enum stats_outcome outcome)
{
	if (!s->outcome_counted)
		stats_message(outcome);
	s->outcome_counted = true;
}

static void
session_forget_rcpts(struct session *s)
{
	for (unsigned i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i].arg);
	s->nrcpts = 0;
}

static void
session_message_end(struct session *s)
{
	if (s->in_message)
		session_outcome(s, s->accepted ? STATS_ABORTED : STATS_NO_RECIPIENTS);
	s->outcome_counted = false;
	pthread_mutex_lock(&session_lock);
	s->in_message = false;	/* still busy until session_next_event */
	pthread_mutex_unlock(&session_lock);
	session_charges_end(s, false);
	s->qid[0] = s->auth_user[0] = s->mailbox[0] = s->sender_text[0] = '\0';
	s->cert_right = NULL;
	free(s->cert_identity);
	s->cert_identity = NULL;
	s->auth_rate_known = false;
	memset(&s->facts, 0, sizeof(s->facts));
	memset(&s->sender, 0, sizeof(s->sender));
	s->declared_size = s->limit = s->counted = s->counted_body = 0;
	s->body_cr = s->headers_ended = false;
	s->accepted = 0;
	session_forget_rcpts(s);
	s->scan_decided = s->scan = s->has_subject = s->quarantined = s->refused = false;
	free(s->subject);
	s->subject = NULL;
	memset(s->marks_seen, 0, sizeof(s->marks_seen));
	spool_free(s->spool);
	s->spool = NULL;
}

/* Peer strings go into logs and replies: printable ASCII only, bounded, and a cut is marked, never
 * silent ("..." in place of the last bytes).  Decisions read the macros themselves, never these. */
static void
session_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < dstlen; i++)
		dst[i] = (src[i] >= ' ' && src[i] <= '~') ? src[i] : '?';
	dst[i] = '\0';
	if (src && src[i] && dstlen > 4)
		memcpy(dst + dstlen - 4, "...", 4);
}

/* An envelope address for the log: without its angle brackets. */
static void
session_copy_address(char *dst, size_t dstlen, const char *arg)
{
	session_copy(dst, dstlen, arg[0] == '<' ? arg + 1 : arg);
	dst[strcspn(dst, ">")] = '\0';
}

static const char *
session_macro(SMFICTX *ctx, const char *name)
{
	const char *value = smfi_getsymval(ctx, (char *)name);

	return value && value[0] ? value : NULL;
}

/* Appends text to a log line of size SESSION_LINE_MAX (cut, never overrun). */
static void
session_put(char *line, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (n > SESSION_LINE_MAX - 1 - *len)
		n = SESSION_LINE_MAX - 1 - *len;
	memcpy(line + *len, text, n);
	*len += n;
	line[*len] = '\0';
}

/* Appends " NAME=<VALUE>", " NAME=VALUE" or " NAME=\"VALUE\"", as open and close say. */
static void
session_field(char *line, size_t *len, const char *name, const char *open, const char *value, const char *close)
{
	session_put(line, len, name);
	session_put(line, len, open);
	session_put(line, len, value);
	session_put(line, len, close);
}

/*
 * Logs a decision of the dialogue and counts it; a refusal at MAIL or DATA
 * ends the message.  The line is put together piece by piece: it is written
 * for every decision, and one printf of eighteen strings cost more than the
 * decision itself.
 */
static void
session_log(struct session *s, const char *stage, const char *rcpt, const struct decision *d)
{
	static const char *const actions[] = { "accept", "reject", "tempfail" };
	char line[SESSION_LINE_MAX];
	size_t len = 0;

	stats_decision(stage, d->rule, actions[d->action]);
	if (d->action != DECIDE_CONTINUE && !rcpt)
		session_outcome(s, d->action == DECIDE_REJECT ? STATS_REJECTED : STATS_TEMPFAILED);
	if (d->action == DECIDE_CONTINUE && !s->snap->conf.log_accepted && !d->note[0])
		return;
	line[0] = '\0';
	session_put(line, &len, s->qid[0] ? s->qid : "NOQUEUE");
	session_field(line, &len, ": ", "", actions[d->action], "");
	session_field(line, &len, " rule=", "", d->rule ? d->rule : "-", "");
	session_field(line, &len, " client=", "", s->client[0] ? s->client : "unknown", "");
	session_field(line, &len, " auth=", "", s->auth_user[0] ? s->auth_user : "-", "");
	session_field(line, &len, " from=", "<", s->sender_text, ">");
	if (rcpt)
		session_field(line, &len, " to=", "<", rcpt, ">");
	if (d->mailbox)
		session_field(line, &len, " mailbox=", "", d->mailbox, "");
	if (d->note[0])
		session_field(line, &len, " ", "", d->note, "");
	if (d->rcode) {
		session_field(line, &len, " reply=", "\"", d->rcode, " ");
		session_field(line, &len, "", "", d->xcode, "\"");
	}
	msg_info("%s", line);
}

static sfsistat
session_apply(SMFICTX *ctx, const struct decision *d)
{
	if (d->action == DECIDE_CONTINUE)
		return SMFIS_CONTINUE;
	smfi_setreply(ctx, (char *)d->rcode, (char *)d->xcode, (char *)d->text);
	return d->action == DECIDE_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static void
session_client(struct session *s, SMFICTX *ctx, const struct sockaddr *addr)
{
	uint8_t bytes[16] = { 0 };
	int family = 0;
	const char *macro;

	if (addr && addr->sa_family == AF_INET) {
		family = AF_INET;
		memcpy(bytes, &((const struct sockaddr_in *)addr)->sin_addr, 4);
	} else if (addr && addr->sa_family == AF_INET6) {
		family = AF_INET6;
		memcpy(bytes, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
	} else if ((macro = session_macro(ctx, "{client_addr}")) && cidr_parse_host(macro, &family, bytes) < 0)
		family = 0;
	if (family) {
		facts_client_canonical(&family, bytes);	/* one client, one identity: ::ffff:a.b.c.d is a.b.c.d */
		s->client_family = family;
		memcpy(s->client_addr, bytes, sizeof(s->client_addr));
		inet_ntop(family, bytes, s->client, sizeof(s->client));
	}
}

/* What the connection derives from its snapshot: its relay network, its daemon's lists. */
static void
session_snapshot_facts(struct session *s)
{
	s->relay_network = s->client_family ? policydb_relay_network(s->snap->db, s->client_family, s->client_addr)
					    : NULL;
	s->in_relay_network = s->relay_network != NULL;
	s->auth_required = s->daemon[0] && conf_list_has(&s->snap->conf.auth_required_daemons, s->daemon);
	s->bulk = s->daemon[0] && conf_list_has(&s->snap->conf.bulk_daemons, s->daemon);
}

/* Some message must be read whole: a scanner is configured or some rule set blocks types. */
static bool
session_needs_content(const struct snapshot *snap)
{
	return scanners_count(session_scanners) > 0 || policydb_blocks_types(snap->db);
}

/*
 * A reload takes effect for an open connection at its next transaction
 * (MAIL): the connection moves to the current snapshot, and what it
 * derived from the old one is derived again, so a mailbox or network
 * removed cannot start another message on a connection opened before.
 */
static void
session_refresh(struct session *s)
{
	if (snapshot_refresh(&s->snap))
		session_snapshot_facts(s);
}

/* Over the descriptor budget (fdlimit.h): said once a minute, however many are refused. */
static void
session_refuse_connection(void)
{
	static struct ratelog said = RATELOG_INIT(60);
	unsigned long held;

	if (ratelog_allow(&said, ratelog_now(), &held))
		msg_warn("connection refused (4xx): %lu connections open, as many as the descriptor limit allows "
			 "(said at most once a minute; %lu refused since the last time)", fdlimit_open(), held);
}

/* The connection's session: made by session_negotiate, or here for an MTA that does not negotiate. */
static struct session *
session_of(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (!s && (s = calloc(1, sizeof(*s))))
		smfi_setpriv(ctx, s);	/* session_close frees it, whatever happens next */
	return s;
}

static sfsistat
session_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct session *s = session_of(ctx);
	bool stopping;

	if (!s)
		return SMFIS_TEMPFAIL;
	if (!s->entered && !fdlimit_enter()) {
		session_refuse_connection();
		return SMFIS_TEMPFAIL;
	}
	s->entered = true;
	pthread_mutex_lock(&session_lock);
	stopping = session_stopping;
	pthread_mutex_unlock(&session_lock);
	if (stopping || (!s->snap && !(s->snap = snapshot_acquire())))
		return SMFIS_TEMPFAIL;
	session_client(s, ctx, (const struct sockaddr *)hostaddr);
	session_copy(s->daemon, sizeof(s->daemon), session_macro(ctx, "{daemon_name}"));
	session_snapshot_facts(s);
	return SMFIS_CONTINUE;
}

/*
 * Registered although it decides nothing: without xxfi_helo libmilter
 * tells Sendmail to skip the HELO step, and with it the HELO macros that
 * carry {verify}, {cert_issuer} and {cert_subject}.
 */
static sfsistat
session_helo(SMFICTX *ctx, char *name)
{
	struct session *s = smfi_getpriv(ctx);

	if (s)
		session_copy(s->helo, sizeof(s->helo), name);	/* rspamd's Helo */
	return SMFIS_NOREPLY;	/* without a session MAIL tempfails */
}

/* The relaying certificate and its identity (facts_cert_identity), at MAIL; -1 out of memory. */
static int
session_cert(struct session *s, SMFICTX *ctx)
{
	const char *issuer = session_macro(ctx, "{cert_issuer}"), *subject = session_macro(ctx, "{cert_subject}");
	char identity[FACTS_RATE_KEY_MAX];

	s->cert_right = facts_cert_relay(s->snap->db, session_macro(ctx, "{verify}"), issuer, subject);
	if (s->cert_right && !facts_cert_identity(issuer, subject, identity, sizeof(identity)))
		s->cert_right = NULL;	/* facts_cert_relay refused such DNs already */
	s->facts.cert_relay = s->cert_right != NULL;
	session_copy(s->cert_issuer, sizeof(s->cert_issuer), issuer);
	session_copy(s->cert_subject, sizeof(s->cert_subject), subject);
	if (s->cert_right && !(s->cert_identity = strdup(identity)))
		return -1;
	return 0;
}

/* The authenticated user, the certificate and the sender, at MAIL. */
static int
session_gather_mail(struct session *s, SMFICTX *ctx, const char *sender, int *readable)
{
	const struct policydb *db = s->snap->db;
	struct policy_mailbox mailbox = { 0 };
	const char *auth = session_macro(ctx, "{auth_authen}");
	int found = 1, owned = 1;

	addr_envelope_parse(sender, &s->sender);
	session_copy_address(s->sender_text, sizeof(s->sender_text), sender);
	s->facts.in_relay_network = s->in_relay_network;
	s->facts.auth_required = s->auth_required;
	if (session_cert(s, ctx) < 0)
		return -1;
	s->limit = 0;	/* without AUTH, each recipient's limit applies (session_envrcpt) */
	*readable = facts_sender_readable(db, &s->sender);
	if (*readable < 0)
		return -1;
	if (!auth)
		return 0;
	session_copy(s->auth_user, sizeof(s->auth_user), auth);
	s->facts.auth_user = s->auth_user;
	found = facts_auth_mailbox(db, auth, s->mailbox, sizeof(s->mailbox), &mailbox);
	s->facts.auth_mailbox = found == 0;
	if (found == 0) {
		s->limit = facts_sender_limit(db, &mailbox);
		s->auth_rate = mailbox.rate;
		s->auth_rate_known = true;
		owned = facts_sender_owned(db, s->mailbox, &mailbox, &s->sender);
	}
	policydb_mailbox_free(&mailbox);
	return found < 0 || owned < 0 ? -1 : owned;
}

static sfsistat
session_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = smfi_getpriv(ctx);
	struct mail_facts facts = { 0 };
	struct decision d;
	int owned, readable = 0;

	if (!s || !s->snap || !argv || !argv[0])
		return SMFIS_TEMPFAIL;
	session_message_end(s);
	session_next_event(s);
	facts.shutting_down = !session_message_start(s);
	session_refresh(s);
	session_copy(s->qid, sizeof(s->qid), session_macro(ctx, "i"));
	owned = session_gather_mail(s, ctx, argv[0], &readable);
	facts.client = &s->facts;
	facts.sender = &s->sender;
	facts.sender_owned = owned == 0;
	facts.sender_unreadable = readable == 1;
	facts.lookup_failed = owned < 0;
	facts.content_missing = s->envelope_only && session_needs_content(s->snap);
	facts.sender_limit = s->limit;
	for (char **arg = argv + 1; *arg; arg++) {
		if (decide_parse_size_param(*arg, &s->declared_size) < 0)
			s->declared_size = 0;	/* Sendmail has refused a malformed SIZE= already */
	}
	facts.declared_size = s->declared_size;
	decide_mail(&facts, &d);
	if (d.action != DECIDE_CONTINUE) {
		session_log(s, "mail", NULL, &d);
		session_message_end(s);	/* refused at MAIL: no message under way */
	}
	return session_apply(ctx, &d);
}

static void
session_tempfail(struct decision *d, const char *rule, const char *xcode, const char *text)
{
	d->action = DECIDE_TEMPFAIL;
	d->rule = rule;
	d->rcode = "451";
	d->xcode = xcode;
	snprintf(d->text, sizeof(d->text), "%s", text);
	d->note[0] = '\0';
}

/* Remembers an accepted recipient and the rules its verdict will follow. */
static int
session_keep_rcpt(struct session *s, const char *arg, const struct rcpt_lookup *lookup)
{
	struct eom_rcpt *r;

	if (s->nrcpts == s->rcpt_cap) {
		unsigned cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		struct eom_rcpt *grown = realloc(s->rcpts, cap * sizeof(*grown));

		if (!grown)
			return -1;
		s->rcpts = grown;
		s->rcpt_cap = cap;
	}
	r = &s->rcpts[s->nrcpts];
	if (!(r->arg = strdup(arg)))
		return -1;
	session_copy_address(r->text, sizeof(r->text), arg);
	r->sender_allowed = lookup->sender_allowed;
	r->rules = lookup->recipient.rules;
	memcpy(r->mailbox, lookup->recipient.mailbox, sizeof(r->mailbox));
	s->nrcpts++;
	return 0;
}

/* Remembers an allowed charge, to give it back if the message is abandoned. */
static void
session_charges_add(struct session *s, const struct rate_charge *charge, const struct ratelimit_limit *limit,
		    const struct ratelimit_result *result)
{
	struct session_charges *c = &s->charges;

	if (c->key && strcmp(c->key, charge->key) != 0)
		return;	/* one payer per message; nothing else to give back */
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 8;
		struct ratelimit_result *grown = realloc(c->results, cap * sizeof(*grown));

		if (!grown)
			return;	/* not given back: counted, as a completed message would be */
		c->results = grown;
		c->cap = cap;
	}
	if (!c->key && !(c->key = strdup(charge->key)))
		return;
	c->limit = *limit;
	c->results[c->n++] = *result;
}

/* Who was limited, by what limit, for how long: the decision's log line says it. */
static void
session_rate_note(struct decision *d, const struct rate_charge *charge, const struct ratelimit_result *result)
{
	snprintf(d->note, sizeof(d->note), "key=%.120s limit=%u/h burst=%u retry_after=%llus store=%s%s", charge->key,
		 charge->per_hour, charge->burst, (unsigned long long)result->retry_after_s, result->store,
		 result->fallback ? " fallback" : "");
}

/*
 * The last RCPT check (DESIGN: rate limits): charge the recipient to whoever
 * pays for it.  Over the limit, this recipient gets 451 4.7.1 (RateLimit
 * warn: logged only); a store that failed under OnRateLimitStoreFailure
 * tempfail, 451 4.3.0.
 */
static void
session_rate_limit(struct session *s, struct decision *d)
{
	const struct hm_conf *conf = &s->snap->conf;
	struct rate_payer payer = { .auth_mailbox = s->facts.auth_mailbox ? s->mailbox : NULL,
				    .network = s->relay_network, .family = s->client_family,
				    .addr = s->client_family ? s->client_addr : NULL, .certificate = s->cert_right,
				    .cert_identity = s->cert_identity, .cert_issuer = s->cert_issuer,
				    .cert_subject = s->cert_subject, .bulk = s->bulk };
	struct policy_mailbox mailbox = { .rate = s->auth_rate };
	struct rate_charge charge;
	struct ratelimit_limit limit;
	struct ratelimit_result result;
	enum decide_rate_outcome outcome;
	int rc;

	if (!session_ratelimit || conf->rate_limit == CONF_RATE_LIMIT_OFF)
		return;
	payer.mailbox = s->auth_rate_known ? &mailbox : NULL;
	rc = facts_rate_charge(s->snap->db, &payer, &charge);
	if (rc < 0)	/* a key that would not fit: never charged under a cut one, another payer's */
		session_tempfail(d, "rate-limit-key", "4.3.0", "Rate limit cannot be checked");
	if (rc <= 0)
		return;
	limit = (struct ratelimit_limit){ charge.per_hour, charge.burst };
	ratelimit_charge(session_ratelimit, charge.key, &limit, &result);
	stats_ratelimit(&result);
	outcome = result.verdict == RATELIMIT_LIMITED	     ? DECIDE_RATE_LIMITED
		  : result.verdict == RATELIMIT_STORE_FAILED ? DECIDE_RATE_STORE_FAILED
							     : DECIDE_RATE_ALLOWED;
	if (outcome == DECIDE_RATE_ALLOWED)
		session_charges_add(s, &charge, &limit, &result);
	decide_rate(outcome, conf->rate_limit == CONF_RATE_LIMIT_WARN, charge.who, charge.per_hour,
		    result.retry_after_s, d);
	if (outcome != DECIDE_RATE_ALLOWED)
		session_rate_note(d, &charge, &result);
}

static sfsistat
session_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = smfi_getpriv(ctx);
	struct rcpt_facts facts = { 0 };
	struct addr_envelope rcpt;
	struct rcpt_lookup lookup;
	char rcpt_text[SESSION_TEXT_MAX];
	struct decision d;

	if (!s || !s->snap || !argv || !argv[0])
		return SMFIS_TEMPFAIL;
	addr_envelope_parse(argv[0], &rcpt);
	session_copy_address(rcpt_text, sizeof(rcpt_text), argv[0]);
	facts.client = &s->facts;
	facts.rcpt = &rcpt;
	facts.declared_size = s->declared_size;
	facts.accepted = s->accepted;
	facts.max_recipients = (unsigned)s->snap->conf.max_recipients;
	facts.lookup_failed = facts_rcpt_lookup(s->snap->db, &rcpt, &s->sender, &lookup) < 0;
	facts_rcpt_apply(&lookup, &facts);
	decide_rcpt(&facts, &d);
	d.mailbox = lookup.recipient.mailbox[0] ? lookup.recipient.mailbox : NULL;	/* whose rules, for the log */
	if (d.action == DECIDE_CONTINUE)
		session_rate_limit(s, &d);
	if (d.action == DECIDE_CONTINUE && session_keep_rcpt(s, argv[0], &lookup) < 0)
		session_tempfail(&d, "policy-unavailable", "4.3.0", "Recipient policy unavailable, try again later");
	facts_rcpt_lookup_free(&lookup);
	session_log(s, "rcpt", rcpt_text, &d);
	if (d.action == DECIDE_CONTINUE) {
		s->accepted++;
		s->limit = decide_message_limit(s->limit, facts.rcpt_limit);
	}
	return session_apply(ctx, &d);
}

/*
 * Headers, the end of the headers and body chunks get no reply (session_negotiate):
 * a refusal there is logged and counted when it is made, the rest of the message is
 * ignored, and session_eom gives Sendmail the reply.  The client sees the same
 * refusal after its final dot as it would with a reply per chunk, since SMTP cannot
 * interrupt DATA; what is saved is a round trip per header and per 64 KB.
 */
static void
session_refuse(struct session *s, const struct decision *d)
{
	session_log(s, "data", NULL, d);
	s->refusal = *d;
	s->refused = true;
	spool_free(s->spool);	/* releases memory or disk now, not at the end of the message */
	s->spool = NULL;
}

/*
 * Counts a piece of the message as Sendmail counts it (LF line ends: what
 * MaxMessageSize and {msg_size} say; a CRLF counts one byte).  The final
 * answer at end of message is Sendmail's own {msg_size} when it was asked
 * for (session_negotiate); until then only the body, which is never more
 * than that, refuses early, since the headers as the milter sees them hold
 * Sendmail's own Received: line and may differ in their blanks.
 */
static bool
session_count(struct session *s, uint64_t header_bytes, uint64_t body_bytes)
{
	struct decision d;

	s->counted += header_bytes + body_bytes;
	s->counted_body += body_bytes;
	decide_size(s->size_asked ? s->counted_body : s->counted, s->limit, &d);
	if (d.action != DECIDE_CONTINUE)
		session_refuse(s, &d);
	return !s->refused;
}

/* A body chunk's bytes with its CRLFs counted as LFs (a CRLF may straddle two chunks). */
static uint64_t
session_lf_bytes(struct session *s, const unsigned char *data, size_t len)
{
	uint64_t n = len;

	for (const unsigned char *p = data, *end = data + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		if (p > data ? p[-1] == '\r' : s->body_cr)
			n--;
	if (len)
		s->body_cr = data[len - 1] == '\r';
	return n;
}

/* Scanning is needed when a scanner is configured or some recipient's rules block types. */
static bool
session_wants_scan(const struct session *s)
{
	if (scanners_count(session_scanners) > 0)
		return true;
	for (unsigned i = 0; i < s->nrcpts; i++)
		if (s->rcpts[i].rules.ntypes > 0)
			return true;
	return false;
}

/* Appends to the spool, made on first use; a write failure (disk full) tempfails the message. */
static bool
session_spool(struct session *s, const void *data, size_t len)
{
	struct decision d;

	if (!s->scan_decided) {
		s->scan_decided = true;
		s->scan = session_wants_scan(s);
		if (s->scan)
			s->spool = spool_new(s->snap->conf.spool_directory, (size_t)s->snap->conf.spool_memory);
		if (s->scan && !s->spool)
			msg_warn("%s: cannot make a spool: %s", s->qid[0] ? s->qid : "NOQUEUE", strerror(errno));
		if (s->spool && spool_expect(s->spool, s->declared_size) < 0) {
			int saved = errno;	/* for the warning below */

			spool_free(s->spool);
			s->spool = NULL;
			errno = saved;
		}
	}
	if (!s->scan || (s->spool && spool_append(s->spool, data, len) == 0))
		return true;
	msg_warn("%s: cannot spool the message in %s: %s", s->qid[0] ? s->qid : "NOQUEUE",
		 s->snap->conf.spool_directory, strerror(errno));
	session_tempfail(&d, "spool", "4.3.0", "Cannot store the message for scanning, try again later");
	session_refuse(s, &d);
	return false;
}

/* Counts (as session_count) and stores a piece of the message unless it is refused already. */
static void
session_take(struct session *s, const void *data, size_t len, uint64_t header_bytes, uint64_t body_bytes)
{
	if (s && s->in_message && !s->refused && session_count(s, header_bytes, body_bytes))
		session_spool(s, data, len);
}

static sfsistat
session_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = smfi_getpriv(ctx);
	char line[SESSION_SUBJECT_MAX * 2];
	uint64_t counted;
	int len, mark;

	if (!s || !s->in_message || s->refused)
		return SMFIS_NOREPLY;
	if (!s->has_subject && strcasecmp(name, "Subject") == 0) {
		s->has_subject = true;
		s->subject = strdup(value);	/* tagged whole at the end, never cut (NULL: tagged as empty) */
	}
	if ((mark = marks_owned(name, scanners_any(session_scanners, SCAN_KIND_VIRUS),
				scanners_any(session_scanners, SCAN_KIND_SPAM))) >= 0)
		s->marks_seen[mark]++;	/* forged or stale: removed at the end (session_mark) */
	/* "Name: value\n" as Sendmail counts it: a folded value holds a bare LF per fold, one byte
	 * each like every line end.  Spooled as "Name: value\r\n". */
	counted = strlen(name) + 2 + strlen(value) + 1;
	len = snprintf(line, sizeof(line), "%s: %s\r\n", name, value);
	if (len >= 0 && (size_t)len < sizeof(line)) {
		session_take(s, line, (size_t)len, counted, 0);
		return SMFIS_NOREPLY;
	}
	if (!session_count(s, counted, 0))
		return SMFIS_NOREPLY;
	if (session_spool(s, name, strlen(name)) && session_spool(s, ": ", 2)
	    && session_spool(s, value, strlen(value)))
		session_spool(s, "\r\n", 2);
	return SMFIS_NOREPLY;
}

/*
 * The blank line that ends the header block, spooled once: before the
 * first body chunk, or at the end of a message without a body.  The end of
 * the headers is declined at negotiation (session_negotiate); an MTA that
 * sends it anyway ends the block there.
 */
static void
session_end_headers(struct session *s)
{
	if (s && s->in_message && !s->headers_ended) {
		s->headers_ended = true;
		session_take(s, "\r\n", 2, 1, 0);
	}
}

static sfsistat
session_eoh(SMFICTX *ctx)
{
	session_end_headers(smfi_getpriv(ctx));
	return SMFIS_NOREPLY;
}

static sfsistat
session_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = smfi_getpriv(ctx);

	session_end_headers(s);
	if (s && s->in_message && !s->refused)
		session_take(s, chunk, len, 0, session_lf_bytes(s, chunk, len));
	return SMFIS_NOREPLY;
}

/* The message, as eom.h scans it. */
static sfsistat
session_scan(SMFICTX *ctx, struct session *s)
{
	struct eom_message m = { &s->snap->conf, s->qid, s->client, s->helo, s->sender_text, s->auth_user, s->rcpts,
				 s->nrcpts, s->spool, s->has_subject, s->subject, s->marks_seen };

	return eom_scan(ctx, &m, &s->quarantined);
}

/*
 * The message's size against its limit, once it is complete: Sendmail's
 * own count ({msg_size}, as MaxMessageSize counts) when Sendmail gave it,
 * else what hostmilter counted; a connection that negotiated the content
 * away and got no {msg_size} cannot tell, and tempfails a message that has
 * a limit rather than let it through unmeasured.
 */
static void
session_final_size(SMFICTX *ctx, struct session *s)
{
	struct decision d;
	uint64_t size;

	if (decide_parse_msg_size(session_macro(ctx, "{msg_size}"), &size))
		decide_size(size, s->limit, &d);
	else if (!s->envelope_only || !s->limit)
		decide_size(s->counted, s->limit, &d);
	else
		session_tempfail(&d, "size-unknown", "4.3.0", "Message size unknown, try again later");
	if (d.action != DECIDE_CONTINUE)
		session_refuse(s, &d);
}

static sfsistat
session_eom(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);
	sfsistat rc;

	if (!s || !s->in_message)
		return SMFIS_TEMPFAIL;	/* no session, or no MAIL seen: nothing to deliver safely */
	session_charges_end(s, false);	/* its data is complete: its recipients stay counted */
	if (!s->envelope_only)
		session_end_headers(s);	/* a message without a body */
	if (!s->refused)
		session_final_size(ctx, s);
	if (!s->refused && !s->scan_decided)
		session_spool(s, "", 0);	/* a message without headers or body */
	if (s->refused)
		rc = session_apply(ctx, &s->refusal);
	else
		rc = s->scan ? session_scan(ctx, s) : SMFIS_CONTINUE;
	session_outcome(s, rc == SMFIS_CONTINUE ? (s->quarantined ? STATS_QUARANTINED : STATS_ACCEPTED)
				   : rc == SMFIS_REJECT	  ? STATS_REJECTED
				   : rc == SMFIS_DISCARD  ? STATS_DISCARDED
							  : STATS_TEMPFAILED);
	session_message_end(s);
	return rc;
}

static sfsistat
session_abort(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s) {
		session_charges_end(s, true);
		session_message_end(s);
		session_next_event(s);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
session_close(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (!s)
		return SMFIS_CONTINUE;
	session_charges_end(s, true);	/* what an unfinished message charged */
	session_message_end(s);
	session_next_event(s);
	if (s->entered)
		fdlimit_leave();
	smfi_setpriv(ctx, NULL);
	snapshot_release(s->snap);
	free(s->rcpts);
	free(s);
	return SMFIS_CONTINUE;
}

/*
 * Asks Sendmail not to wait for a reply to HELO, the headers, the end of the
 * headers and the body chunks: nothing is decided there (session_refuse), and
 * each wait costs a round trip: a short message with two recipients waited
 * for 12 replies, and now for 4 (milter-load's replies_per_msg).  The end of
 * the headers is not sent at all: libmilter polls and reads twice for every
 * packet, and the end of the headers and its macros were two of a short
 * message's 18 packets (test/bench/milter-bench, hm+types).  An MTA that
 * sends it anyway gets the blank line spooled there (session_end_headers).
 * libmilter offers these steps even to an MTA without them and then replies
 * CONTINUE itself, so the callbacks can always answer SMFIS_NOREPLY.
 */
#define SESSION_NO_REPLY (SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
#define SESSION_NO_CONTENT (SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY)
/* What hostmilter reads at MAIL, HELO's macros included (FEATURE(`hostmilter') lists the same). */
#define SESSION_MAIL_MACROS "i {auth_authen} {auth_type} {mail_addr} {verify} {cert_subject} {cert_issuer}"

/*
 * Sendmail's own count of the message ({msg_size}) is asked for at end of
 * message, so that the size limit counts exactly what MaxMessageSize counts.
 * With it, a connection whose policy reads no content (no scanner, no rule
 * set blocking types) declines the headers and the body altogether: the
 * policy path then costs Sendmail what the protocol's floor costs --
 * connect, MAIL, RCPT and end of message (test/bench/milter-bench).  Should
 * a reload bring a policy that reads content, such a connection tempfails
 * its next MAIL (decide_mail, content_missing) and the client's retry
 * comes on a new one.
 */
static bool
session_content_needed_now(void)
{
	struct snapshot *snap = snapshot_acquire();
	bool needed = !snap || session_needs_content(snap);

	snapshot_release(snap);
	return needed;
}

static sfsistat
session_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long unused2,
		  unsigned long unused3, unsigned long *want_actions, unsigned long *want_steps,
		  unsigned long *want2, unsigned long *want3)
{
	struct session *s;

	(void)unused2;
	(void)unused3;
	if ((actions & session_filter.xxfi_flags) != session_filter.xxfi_flags
	    || (steps & SESSION_NO_REPLY) != SESSION_NO_REPLY) {
		msg_warn("the MTA offers actions 0x%lx and steps 0x%lx: not enough", actions, steps);
		return SMFIS_REJECT;
	}
	*want_actions = session_filter.xxfi_flags;
	*want_steps |= SESSION_NO_REPLY | (steps & (SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NOEOH));
	*want2 = *want3 = 0;
	if (!(s = session_of(ctx)))
		return SMFIS_TEMPFAIL;
	/* Sendmail 8.14 to 8.18 send a filter's own end-of-message list only when it also set one for
	 * the end of the headers (milter.c tests MI_LFLAGS_SYM(SMFIM_EOH) there): so both. */
	if ((actions & SMFIF_SETSYMLIST) && smfi_setsymlist(ctx, SMFIM_EOH, "i") == MI_SUCCESS
	    && smfi_setsymlist(ctx, SMFIM_EOM, "i {msg_size}") == MI_SUCCESS) {
		*want_actions |= SMFIF_SETSYMLIST;
		s->size_asked = true;
	}
	if (s->size_asked && (steps & SESSION_NO_CONTENT) == SESSION_NO_CONTENT && !session_content_needed_now()) {
		*want_steps |= SESSION_NO_CONTENT;
		s->envelope_only = true;
		/* HELO's macros ({verify} and the certificate's) then come with MAIL, and HELO is declined too:
		 * nothing but scanning reads the HELO name.  Macros that do not come mean "no right". */
		if ((steps & SMFIP_NOHELO) && smfi_setsymlist(ctx, SMFIM_ENVFROM, SESSION_MAIL_MACROS) == MI_SUCCESS)
			*want_steps = (*want_steps & ~(unsigned long)SMFIP_NR_HELO) | SMFIP_NOHELO;
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc session_filter = {
	.xxfi_name = "hostmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT | SMFIF_QUARANTINE,
	.xxfi_connect = session_connect,
	.xxfi_helo = session_helo,
	.xxfi_envfrom = session_envfrom,
	.xxfi_envrcpt = session_envrcpt,
	.xxfi_header = session_header,
	.xxfi_eoh = session_eoh,
	.xxfi_body = session_body,
	.xxfi_eom = session_eom,
	.xxfi_abort = session_abort,
	.xxfi_close = session_close,
	.xxfi_negotiate = session_negotiate,
};
