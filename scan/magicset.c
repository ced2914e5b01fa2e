/*
 * magicset - libmagic with only the rules that can name given types; see magicset.h.
 *
 * The compiled database (file(1)'s apprentice.c, format version 18) is a
 * header entry -- magic number, version, the number of entries in each of
 * the two sets (binary tests, then text tests) -- followed by fixed-size
 * entries.  An entry with continuation level 0 starts a rule; the entries
 * after it, up to the next level-0 one, are its continuations.  Of each
 * entry this reads the level, the test's type, its value (for "name" and
 * "use", the name of a named rule) and its MIME type, and copies whole
 * rules, in their order, into a database of the same format that
 * magic_load_buffers() takes.  libmagic only reads it, so the threads that
 * want the same types share one (reference-counted, under a mutex).
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "magictypes.h"
#include "policy.h"
#include "magicset.h"

#define MAGICSET_NO 0xF11E041Cu
#define MAGICSET_VERSION 18
#define MAGICSET_ENTRY 376	/* sizeof(struct magic) in file.h of version 18 */
#define MAGICSET_OFF_LEVEL 0	/* uint16_t cont_level */
#define MAGICSET_OFF_TYPE 6	/* uint8_t type */
#define MAGICSET_OFF_VALUE 32	/* union VALUETYPE, 128 bytes */
#define MAGICSET_VALUE_LEN 128
#define MAGICSET_OFF_MIME 224	/* char mimetype[80] */
#define MAGICSET_MIME_LEN 80
#define MAGICSET_INDIRECT 41	/* FILE_INDIRECT */
#define MAGICSET_NAME 45	/* FILE_NAME */
#define MAGICSET_USE 46		/* FILE_USE */
#define MAGICSET_NAMES_MAX 64	/* wanted types, families included */
/* Every name (at most POLICY_TYPE_LEN - 1 characters) and its '\n', and the final NUL. */
#define MAGICSET_KEY_MAX (MAGICSET_NAMES_MAX * POLICY_TYPE_LEN + 1)

struct magicset_rule {
	size_t first, count;	/* its entries, numbered from 0 after the header */
	unsigned set;
	bool indirect;		/* re-enters the database */
	bool wanted;		/* names a wanted type itself or through the rules it uses */
	bool keep;
};

static struct {
	unsigned char *db;	/* the whole file; NULL: nothing to choose from */
	size_t size;
	uint32_t nset[2];
	struct magicset_rule *rules;
	size_t nrules;
} magicset;

/* A chosen database, shared by the cookies of every thread that wants the same types:
 * libmagic reads the rules from it, so it lives as long as its last cookie. */
struct magicset_db {
	struct magicset_db *next;
	char key[MAGICSET_KEY_MAX];
	unsigned char *db;
	size_t size;
	bool text_rules;	/* it keeps tests of the text set */
	unsigned refs;
};

static pthread_mutex_t magicset_lock = PTHREAD_MUTEX_INITIALIZER;
static struct magicset_db *magicset_dbs;

struct magicset_cookie {
	magic_t magic;
	struct magicset_db *db;
	char key[MAGICSET_KEY_MAX];	/* the wanted names, sorted, one per line */
	char store[MAGICSET_KEY_MAX];	/* the same, each ending in a NUL: names point here */
	const char *names[MAGICSET_NAMES_MAX];
	size_t nnames;
};

static const unsigned char *
magicset_entry(size_t i)
{
	return magicset.db + MAGICSET_ENTRY * (i + 1);
}

static unsigned
magicset_level(size_t i)
{
	uint16_t level;

	memcpy(&level, magicset_entry(i) + MAGICSET_OFF_LEVEL, sizeof(level));
	return level;
}

static unsigned
magicset_type_of(size_t i)
{
	return magicset_entry(i)[MAGICSET_OFF_TYPE];
}

/* The value of a "name" or "use" entry, without the '^' that swaps byte order. */
static void
magicset_name(size_t i, char *out, size_t size)
{
	const char *value = (const char *)magicset_entry(i) + MAGICSET_OFF_VALUE;
	size_t len = strnlen(value, MAGICSET_VALUE_LEN);

	if (len > 0 && value[0] == '^')
		value++, len--;
	snprintf(out, size, "%.*s", (int)len, value);
}

static void
magicset_mime(size_t i, char *out, size_t size)
{
	const char *mime = (const char *)magicset_entry(i) + MAGICSET_OFF_MIME;

	snprintf(out, size, "%.*s", (int)strnlen(mime, MAGICSET_MIME_LEN), mime);
}

/* A rule that uses another ("use NAME"): the pairs, found once. */
static struct magicset_use {
	size_t rule, used;
} *magicset_uses;
static size_t magicset_nuses;

static ssize_t
magicset_named(const char *name)
{
	char other[MAGICSET_VALUE_LEN + 1];

	for (size_t r = 0; r < magicset.nrules; r++) {
		if (magicset_type_of(magicset.rules[r].first) != MAGICSET_NAME)
			continue;
		magicset_name(magicset.rules[r].first, other, sizeof(other));
		if (strcmp(name, other) == 0)
			return (ssize_t)r;
	}
	return -1;
}

static int
magicset_index_uses(void)
{
	char name[MAGICSET_VALUE_LEN + 1];
	size_t cap = 0;

	for (size_t r = 0; r < magicset.nrules; r++) {
		const struct magicset_rule *rule = &magicset.rules[r];

		for (size_t i = rule->first; i < rule->first + rule->count; i++) {
			ssize_t used;

			if (magicset_type_of(i) != MAGICSET_USE)
				continue;
			magicset_name(i, name, sizeof(name));
			if ((used = magicset_named(name)) < 0)
				continue;	/* libmagic ignores a use of an unknown name too */
			if (magicset_nuses == cap) {
				struct magicset_use *grown = realloc(magicset_uses, (cap = cap ? 2 * cap : 256) * sizeof(*grown));

				if (!grown)
					return -1;
				magicset_uses = grown;
			}
			magicset_uses[magicset_nuses++] = (struct magicset_use){ r, (size_t)used };
		}
	}
	return 0;
}

/* The rules: a level-0 entry and its continuations, never across the two sets. */
static int
magicset_index_rules(void)
{
	size_t total = (size_t)magicset.nset[0] + magicset.nset[1];

	if (!(magicset.rules = calloc(total ? total : 1, sizeof(*magicset.rules))))
		return -1;
	for (size_t i = 0; i < total; i++) {
		unsigned set = i < magicset.nset[0] ? 0 : 1;
		struct magicset_rule *last = magicset.nrules ? &magicset.rules[magicset.nrules - 1] : NULL;

		if (magicset_level(i) == 0 || !last || last->set != set) {
			if (magicset_level(i) != 0)
				return -1;	/* a continuation without its rule: not the format this reads */
			last = &magicset.rules[magicset.nrules++];
			*last = (struct magicset_rule){ .first = i, .set = set };
		}
		last->count++;
		last->indirect |= magicset_type_of(i) == MAGICSET_INDIRECT;
	}
	return magicset_index_uses();
}

/* A rule file with nothing but comments and blank lines, as Debian's /etc/magic. */
static bool
magicset_source_is_empty(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool empty = f != NULL;

	while (empty && fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t\r\n");

		empty = *p == '\0' || *p == '#';
	}
	if (f)
		fclose(f);
	return empty;
}

/* The compiled database magic_load(NULL) reads, or NULL when it reads anything else too. */
static int
magicset_find(char *path, size_t size)
{
	const char *list = magic_getpath(NULL, 0);
	char copy[1024], *save = NULL;
	int found = 0;

	if (!list || strlen(list) >= sizeof(copy))
		return -1;
	strcpy(copy, list);
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char mgc[1100];
		struct stat st;
		size_t len = strlen(p);

		snprintf(mgc, sizeof(mgc), len > 4 && strcmp(p + len - 4, ".mgc") == 0 ? "%s" : "%s.mgc", p);
		if (stat(mgc, &st) == 0 && S_ISREG(st.st_mode)) {
			if (found++)
				return -1;	/* two compiled databases: not what this chooses from */
			snprintf(path, size, "%s", mgc);
		} else if (stat(p, &st) == 0 && !magicset_source_is_empty(p))
			return -1;	/* local rules (/etc/magic) or a directory of sources */
	}
	return found == 1 ? 0 : -1;
}

static int
magicset_map(const char *path)
{
	struct stat st;
	uint32_t head[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *db;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < MAGICSET_ENTRY || st.st_size % MAGICSET_ENTRY != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	db = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (db == MAP_FAILED)
		return -1;
	memcpy(head, db, sizeof(head));
	magicset.db = db;
	magicset.size = (size_t)st.st_size;
	magicset.nset[0] = head[2];
	magicset.nset[1] = head[3];
	if (head[0] != MAGICSET_NO || head[1] != MAGICSET_VERSION
	    || ((uint64_t)head[2] + head[3] + 1) * MAGICSET_ENTRY != (uint64_t)st.st_size)
		return -1;	/* another format, or another byte order: the whole database is used */
	return 0;
}

void
magicset_init(void)
{
	char path[1100];

	if (magicset.db || magicset.rules)
		return;
	if (magicset_find(path, sizeof(path)) < 0 || magicset_map(path) < 0 || magicset_index_rules() < 0)
		magicset_shutdown();
}

void
magicset_shutdown(void)
{
	if (magicset.db)
		munmap(magicset.db, magicset.size);
	free(magicset.rules);
	free(magicset_uses);
	memset(&magicset, 0, sizeof(magicset));
	magicset_uses = NULL;
	magicset_nuses = 0;
}

/* ---- choosing ---- */

static bool
magicset_is_wanted(const char *type, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(type, names[i]) == 0)
			return true;
	return false;
}

static int
magicset_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The wanted names, families included, lower-case, sorted, once each, into c; 0 when none or too many. */
static size_t
magicset_names(const char *const *types, size_t ntypes, struct magicset_cookie *c)
{
	char lower[MAGICSET_NAMES_MAX][POLICY_TYPE_LEN];
	const char *family[8], *sorted[MAGICSET_NAMES_MAX] = { NULL };
	size_t n = 0, len = 0;

	for (size_t t = 0; t < ntypes; t++) {
		size_t count = magictypes_family(types[t], family, sizeof(family) / sizeof(*family));

		for (size_t f = 0; f < count; f++, n++) {
			if (n == MAGICSET_NAMES_MAX)
				return 0;
			snprintf(lower[n], sizeof(lower[n]), "%s", family[f]);
			for (char *p = lower[n]; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			sorted[n] = lower[n];
		}
	}
	qsort(sorted, n, sizeof(*sorted), magicset_compare);
	c->nnames = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		int w = snprintf(c->key + len, sizeof(c->key) - len, "%s\n", sorted[i]);

		if (w < 0 || (size_t)w >= sizeof(c->key) - len)
			return 0;	/* cannot happen with names of POLICY_TYPE_LEN; never cut one if it does */
		c->names[c->nnames++] = c->store + len;
		len += (size_t)w;
	}
	memcpy(c->store, c->key, len + 1);
	for (size_t i = 0; i < len; i++)
		c->store[i] = c->store[i] == '\n' ? '\0' : c->store[i];
	return c->nnames;
}

/* Which rules to keep: those naming a wanted type, through the rules they use too, and those re-entering. */
static void
magicset_select(const char *const *names, size_t n, bool *keep)
{
	char mime[MAGICSET_MIME_LEN + 1];
	bool changed = true;

	for (size_t r = 0; r < magicset.nrules; r++) {
		const struct magicset_rule *rule = &magicset.rules[r];

		for (size_t i = rule->first; i < rule->first + rule->count && !keep[r]; i++) {
			magicset_mime(i, mime, sizeof(mime));
			keep[r] = mime[0] && magicset_is_wanted(mime, names, n);
		}
	}
	while (changed) {	/* a rule that uses a wanted one is wanted */
		changed = false;
		for (size_t u = 0; u < magicset_nuses; u++)
			if (keep[magicset_uses[u].used] && !keep[magicset_uses[u].rule])
				keep[magicset_uses[u].rule] = changed = true;
	}
	for (size_t r = 0; r < magicset.nrules; r++)
		keep[r] |= magicset.rules[r].indirect;
	for (changed = true; changed;) {	/* and every rule a kept one uses is there to be used */
		changed = false;
		for (size_t u = 0; u < magicset_nuses; u++)
			if (keep[magicset_uses[u].rule] && !keep[magicset_uses[u].used])
				keep[magicset_uses[u].used] = changed = true;
	}
}

/* The kept rules as a database of the same format; *size its length, *text whether it holds text tests. */
static unsigned char *
magicset_build(const bool *keep, size_t *size, bool *text)
{
	uint32_t head[4] = { MAGICSET_NO, MAGICSET_VERSION, 0, 0 };
	size_t entries = 0, at = 1;
	unsigned char *db;

	*text = false;
	for (size_t r = 0; r < magicset.nrules; r++)
		if (keep[r]) {
			head[2 + magicset.rules[r].set] += (uint32_t)magicset.rules[r].count;
			entries += magicset.rules[r].count;
			/* a named rule is only ever used by another, never tried as a test of text */
			*text |= magicset.rules[r].set == 1 && magicset_type_of(magicset.rules[r].first) != MAGICSET_NAME;
		}
	*size = (entries + 1) * MAGICSET_ENTRY;
	if (!(db = calloc(1, *size)))
		return NULL;
	memcpy(db, magicset.db, MAGICSET_ENTRY);	/* whatever else the header holds */
	memcpy(db, head, sizeof(head));
	for (size_t r = 0; r < magicset.nrules; r++)	/* set 0 comes first, and rules are in file order */
		if (keep[r]) {
			memcpy(db + at * MAGICSET_ENTRY, magicset_entry(magicset.rules[r].first),
			       magicset.rules[r].count * MAGICSET_ENTRY);
			at += magicset.rules[r].count;
		}
	return db;
}

size_t
magicset_rules(const char *const *types, size_t ntypes)
{
	struct magicset_cookie key;
	bool *keep;
	size_t n = 0;

	if (!magicset.rules || magicset_names(types, ntypes, &key) == 0 || !(keep = calloc(magicset.nrules, 1)))
		return 0;
	magicset_select(key.names, key.nnames, keep);
	for (size_t r = 0; r < magicset.nrules; r++)
		n += keep[r];
	free(keep);
	return n;
}

static void
magicset_db_release(struct magicset_db *db)
{
	pthread_mutex_lock(&magicset_lock);
	if (db && --db->refs == 0) {
		for (struct magicset_db **p = &magicset_dbs; *p; p = &(*p)->next)
			if (*p == db) {
				*p = db->next;
				break;
			}
		free(db->db);
		free(db);
	}
	pthread_mutex_unlock(&magicset_lock);
}

/* The database chosen for c's names: the one another thread made, or a new one. */
static struct magicset_db *
magicset_db_get(const struct magicset_cookie *c)
{
	struct magicset_db *db;
	bool *keep;

	pthread_mutex_lock(&magicset_lock);
	for (db = magicset_dbs; db && strcmp(db->key, c->key) != 0; db = db->next)
		;
	if (!db && (db = calloc(1, sizeof(*db))) && (keep = calloc(magicset.nrules ? magicset.nrules : 1, sizeof(*keep)))) {
		magicset_select(c->names, c->nnames, keep);
		db->db = magicset_build(keep, &db->size, &db->text_rules);
		free(keep);
		memcpy(db->key, c->key, sizeof(db->key));
		db->next = magicset_dbs;
		magicset_dbs = db;
	}
	if (db)
		db->refs++;
	pthread_mutex_unlock(&magicset_lock);
	return db;
}

void
magicset_cookie_free(struct magicset_cookie *cookie)
{
	if (!cookie)
		return;
	if (cookie->magic)
		magic_close(cookie->magic);
	if (cookie->db)
		magicset_db_release(cookie->db);
	free(cookie);
}

/* Whether a wanted name is a text type: libmagic's own look at text can name one. */
static bool
magicset_wants_text(const struct magicset_cookie *c)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strncasecmp(c->names[i], "text/", 5) == 0)
			return true;
	return false;
}

/*
 * A cookie over the rules kept for c's names; -1 when libmagic refuses
 * them.  When no kept rule is a text rule and no wanted name a text type,
 * libmagic's look at text (its character set, then the text rules) cannot
 * name a wanted type, and is left out: on a short text part it was four
 * fifths of libmagic's time (test/bench/milter-bench, hm+types).  Such a
 * cookie names text application/octet-stream, as it names every type its
 * rules do not know; only a wanted type's name counts (magicset_type).
 */
static int
magicset_load(struct magicset_cookie *c, int flags)
{
	void *buffers[1];
	size_t size;

	if (!(c->db = magicset_db_get(c)) || !c->db->db)
		return -1;
	buffers[0] = c->db->db;
	size = c->db->size;
	if (!c->db->text_rules && !magicset_wants_text(c))
		flags |= MAGIC_NO_CHECK_TEXT | MAGIC_NO_CHECK_ENCODING;
	if (!(c->magic = magic_open(flags)) || magic_load_buffers(c->magic, buffers, &size, 1) != 0)
		return -1;
	return 0;
}

int
magicset_choose(struct magicset_cookie **cookie, int flags, const char *const *types, size_t ntypes)
{
	struct magicset_cookie fresh, *c;

	if (!magicset.rules || ntypes == 0 || magicset_names(types, ntypes, &fresh) == 0) {
		magicset_cookie_free(*cookie);	/* nothing to choose by: the whole database */
		*cookie = NULL;
		return 0;
	}
	if (*cookie && strcmp((*cookie)->key, fresh.key) == 0)
		return 0;	/* the same types as the last message on this thread */
	magicset_cookie_free(*cookie);
	*cookie = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return -1;
	memcpy(c->key, fresh.key, sizeof(c->key));
	memcpy(c->store, fresh.store, sizeof(c->store));
	for (c->nnames = 0; c->nnames < fresh.nnames; c->nnames++)
		c->names[c->nnames] = c->store + (fresh.names[c->nnames] - fresh.store);
	if (magicset_load(c, flags) < 0) {
		magicset_cookie_free(c);
		return -1;
	}
	*cookie = c;
	return 0;
}

const char *
magicset_type(struct magicset_cookie *cookie, magic_t full, const char *buf, size_t len)
{
	const char *type;

	if (!cookie)
		return magic_buffer(full, buf, len);
	type = magic_buffer(cookie->magic, buf, len);
	if (!type || magicset_is_wanted(type, cookie->names, cookie->nnames))
		return magic_buffer(full, buf, len);	/* libmagic's own answer, from every rule */
	return type;
}
