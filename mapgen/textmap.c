/*
 * textmap - text maps with a generated block; see textmap.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dbmap.h"
#include "msg.h"
#include "safefile.h"
#include "textmap.h"

void
textmap_init(struct textmap *map, const char *name, enum textmap_style style, bool dedupe)
{
	memset(map, 0, sizeof(*map));
	map->name = name;
	map->style = style;
	map->before = g_string_new(NULL);
	map->after = g_string_new(NULL);
	map->block = g_string_sized_new(1 << 16);
	map->admin_keys = g_hash_table_new(g_str_hash, g_str_equal);
	if (dedupe)
		map->generated_keys = g_hash_table_new(g_str_hash, g_str_equal);
	map->keys = g_string_chunk_new(1 << 12);
}

void
textmap_free(struct textmap *map)
{
	g_string_free(map->before, TRUE);
	g_string_free(map->after, TRUE);
	g_string_free(map->block, TRUE);
	g_hash_table_destroy(map->admin_keys);
	if (map->generated_keys)
		g_hash_table_destroy(map->generated_keys);
	g_string_chunk_free(map->keys);
}

static char *
textmap_fold(struct textmap *map, const char *key, size_t len)
{
	char *copy = g_string_chunk_insert_len(map->keys, key, (gssize)len);

	for (char *p = copy; *p; p++)
		*p = g_ascii_tolower(*p);
	return copy;
}

static int
textmap_admin_key(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct textmap *map = context;
	char *folded;

	/* Records come with a trailing NUL in aliases style; fold without it. */
	if (keylen && key[keylen - 1] == '\0')
		keylen--;
	folded = textmap_fold(map, key, keylen);
	if (g_hash_table_add(map->admin_keys, folded))
		return 0;
	if (map->report)
		report_add(map->report, RC_ADMIN_DUPLICATE_KEY, "", "%s: the admin's lines have key \"%s\" twice; the "
			   "first one counts", map->name, folded);
	else
		msg_warn("%s: the admin's lines have key \"%s\" twice; the first one counts", map->name, folded);
	return 0;
}

static void
textmap_collect_admin_keys(struct textmap *map)
{
	if (map->style == TEXTMAP_CLASS)
		return;
	textmap_records(map->style, map->before->str, map->before->len, textmap_admin_key, map);
	textmap_records(map->style, map->after->str, map->after->len, textmap_admin_key, map);
}

static const char *
next_line(const char *p, const char *limit)
{
	const char *nl = memchr(p, '\n', (size_t)(limit - p));

	return nl ? nl + 1 : limit;
}

/* Does the line at p, which ends before limit, start with marker? */
static bool
line_starts(const char *p, const char *limit, const char *marker)
{
	size_t n = strlen(marker);

	return (size_t)(limit - p) >= n && memcmp(p, marker, n) == 0;
}

/* Splits the file into admin text before and after the generated block. */
static int
textmap_split(struct textmap *map, const char *text, size_t len, char *err, size_t errlen)
{
	const char *begin = NULL, *end = NULL, *p = text, *limit = text + len;

	for (; p < limit; p = next_line(p, limit)) {
		if (!begin && line_starts(p, limit, TEXTMAP_BEGIN))
			begin = p;
		else if (begin && line_starts(p, limit, TEXTMAP_END)) {
			end = p;
			break;
		}
	}
	if (begin && !end) {
		snprintf(err, errlen, "%s: the generated block has no \"%s\" line; mend the file by hand",
			 map->name, TEXTMAP_END);
		return -1;
	}
	if (!begin) {
		g_string_append_len(map->before, text, (gssize)len);
		if (len && text[len - 1] != '\n')
			g_string_append_c(map->before, '\n');
		return 0;
	}
	g_string_append_len(map->before, text, begin - text);
	end = next_line(end, limit);
	g_string_append_len(map->after, end, limit - end);
	return 0;
}

int
textmap_load(struct textmap *map, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	enum safefile_status status = safefile_read(path, SAFEFILE_NO_CAP, &text, &len, err, errlen);
	int rc;

	if (status == SAFEFILE_MISSING)
		return 0;
	if (status != SAFEFILE_OK)
		return -1;
	rc = textmap_load_text(map, text, len, err, errlen);
	g_free(text);
	return rc;
}

int
textmap_load_text(struct textmap *map, const char *text, size_t len, char *err, size_t errlen)
{
	int rc = textmap_split(map, text, len, err, errlen);

	if (rc == 0)
		textmap_collect_admin_keys(map);
	return rc;
}

static const char *
textmap_separator(const struct textmap *map)
{
	return map->style == TEXTMAP_ALIASES ? ": " : "\t";
}

bool
textmap_add(struct textmap *map, const char *key, const char *value)
{
	if (map->generated_keys) {
		char *folded = textmap_fold(map, key, strlen(key));
		const char *seen = g_hash_table_lookup(map->generated_keys, folded);

		if (seen)
			return strcmp(seen, value ? value : "") == 0;
		g_hash_table_insert(map->generated_keys, folded,
				    g_string_chunk_insert(map->keys, value ? value : ""));
	}
	map->generated++;
	if (g_hash_table_size(map->admin_keys) && map->style != TEXTMAP_CLASS) {
		char *folded = g_ascii_strdown(key, -1);
		gboolean shadowed = g_hash_table_contains(map->admin_keys, folded);

		g_free(folded);
		if (shadowed) {
			map->shadowed++;
			if (map->report)
				report_add(map->report, RC_ADMIN_LINE_OVERRIDES, "", "%s: the admin's line for \"%s\" "
					   "overrides the generated entry \"%s%s%s\"", map->name, key, key,
					   textmap_separator(map), value);
			else
				msg_warn("%s: the admin's line for \"%s\" overrides the generated entry \"%s%s%s\"",
					 map->name, key, key, textmap_separator(map), value);
			g_string_append_printf(map->block, "# overridden by the admin's line: %s%s%s\n",
					       key, textmap_separator(map), value);
			return true;
		}
	}
	g_string_append(map->block, key);
	if (value) {
		g_string_append(map->block, textmap_separator(map));
		g_string_append(map->block, value);
	}
	g_string_append_c(map->block, '\n');
	return true;
}

void
textmap_note(struct textmap *map, const char *comment)
{
	g_string_append_printf(map->block, "# %s\n", comment);
}

/* The block grows into the whole file in place: a million lines are not copied again. */
GString *
textmap_render(struct textmap *map)
{
	GString *out = map->block;

	g_string_prepend(out, TEXTMAP_BEGIN ": generated from the panel export; edit outside this block\n");
	g_string_prepend_len(out, map->before->str, (gssize)map->before->len);
	g_string_append(out, TEXTMAP_END "\n");
	g_string_append_len(out, map->after->str, (gssize)map->after->len);
	map->block = g_string_new(NULL);
	return out;
}

/* ---- reading records the way makemap and newaliases do ---- */

static int
textmap_makemap_line(const char *line, size_t len, textmap_record_fn fn, void *context)
{
	size_t keylen = 0, start;

	while (keylen < len && line[keylen] != ' ' && line[keylen] != '\t' && line[keylen] != '\0')
		keylen++;
	if (keylen == 0 || line[0] == '#')
		return 0;
	for (start = keylen; start < len && (line[start] == ' ' || line[start] == '\t'); start++)
		;
	if (start == len)
		return 0;	/* makemap refuses an empty value; so do we, silently */
	return fn(line, keylen, line + start, len - start, context);
}

static int
textmap_makemap_records(const char *text, size_t len, textmap_record_fn fn, void *context)
{
	const char *p = text, *limit = text + len;

	while (p < limit) {
		const char *nl = memchr(p, '\n', (size_t)(limit - p));
		size_t linelen = nl ? (size_t)(nl - p) : (size_t)(limit - p);
		int rc = textmap_makemap_line(p, linelen, fn, context);

		if (rc)
			return rc;
		p += linelen + 1;
	}
	return 0;
}

/* One logical aliases line: continuation lines start with a blank and are joined as is. */
static int
textmap_alias_entry(GString *logical, textmap_record_fn fn, void *context)
{
	char *colon = memchr(logical->str, ':', logical->len);
	GString *key;
	const char *rhs;
	int rc;

	if (!colon)
		return 0;
	key = g_string_new_len(logical->str, colon - logical->str);
	g_strstrip(key->str);
	key->len = strlen(key->str);
	for (char *k = key->str; *k; k++)
		*k = g_ascii_tolower(*k);
	for (rhs = colon + 1; *rhs == ' ' || *rhs == '\t'; rhs++)
		;
	rc = *rhs && key->len ? fn(key->str, key->len + 1, rhs, strlen(rhs) + 1, context) : 0;
	g_string_free(key, TRUE);
	return rc;
}

static int
textmap_aliases_records(const char *text, size_t len, textmap_record_fn fn, void *context)
{
	const char *p = text, *limit = text + len;
	GString *logical = g_string_new(NULL);
	int rc = 0;

	while (p < limit && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(limit - p));
		size_t linelen = nl ? (size_t)(nl - p) : (size_t)(limit - p);

		/* An empty line has linelen 0; cppcheck 2.10 believes otherwise. */
		/* cppcheck-suppress knownConditionTrueFalse */
		if (linelen && (p[0] == ' ' || p[0] == '\t')) {
			if (logical->len)
				g_string_append_len(logical, p, (gssize)linelen);
		} else {
			if (logical->len)
				rc = textmap_alias_entry(logical, fn, context);
			g_string_truncate(logical, 0);
			/* cppcheck-suppress knownConditionTrueFalse */
			if (linelen && p[0] != '#')
				g_string_append_len(logical, p, (gssize)linelen);
		}
		p += linelen + 1;
	}
	if (rc == 0 && logical->len)
		rc = textmap_alias_entry(logical, fn, context);
	g_string_free(logical, TRUE);
	return rc;
}

int
textmap_records(enum textmap_style style, const char *text, size_t len,
		textmap_record_fn fn, void *context)
{
	if (style == TEXTMAP_MAKEMAP)
		return textmap_makemap_records(text, len, fn, context);
	if (style == TEXTMAP_ALIASES)
		return textmap_aliases_records(text, len, fn, context);
	return 0;
}

struct db_build {
	struct dbmap_writer *writer;
	const char *name;
	enum textmap_style style;
	size_t count, bytes;
	int failed;
};

static int
textmap_count(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct db_build *build = context;

	build->count++;
	build->bytes += keylen + valuelen;
	return 0;
}

static int
textmap_store(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct db_build *build = context;
	char buf[1024];
	int rc;

	if (keylen >= sizeof(buf)) {
		msg_warn("%s: key \"%.40s...\" is longer than Sendmail reads; left out", build->name, key);
		return 0;
	}
	/* makemap folds keys to lower case; newaliases keys arrive folded, in a buffer of their own. */
	for (size_t i = 0; i < keylen; i++)
		buf[i] = g_ascii_tolower(key[i]);
	/* A makemap record points into the text, which outlives the writer: a key already in lower case
	 * (every generated one) is queued without a copy. */
	if (build->style == TEXTMAP_MAKEMAP && memcmp(buf, key, keylen) == 0)
		rc = dbmap_put_ref(build->writer, key, keylen, value, valuelen);
	else
		rc = dbmap_put(build->writer, buf, keylen, value, valuelen);
	if (rc < 0)
		build->failed = errno ? errno : EIO;
	return rc < 0 ? -1 : 0;
}

static void
textmap_duplicate(const void *key, size_t keylen, void *context)
{
	const struct db_build *build = context;

	msg_warn("%s: duplicate key \"%.*s\"; the first one counts", build->name, (int)keylen,
		 (const char *)key);
}

int
textmap_write_db(enum textmap_style style, const char *name, const char *text, size_t len,
		 const char *path, const struct stat *like, char *err, size_t errlen)
{
	struct db_build build = { .name = name, .style = style };

	textmap_records(style, text, len, textmap_count, &build);
	build.writer = dbmap_create(path, build.count + 1, build.bytes, err, errlen);
	if (!build.writer)
		return -1;
	dbmap_on_duplicate(build.writer, textmap_duplicate, &build);
	if (textmap_records(style, text, len, textmap_store, &build) != 0) {
		snprintf(err, errlen, "%s: cannot store a record: %s", path, strerror(build.failed));
		dbmap_discard(build.writer);
		return -1;
	}
	/* Readers wait for newaliases' "@" sentinel; the file appears complete
	 * (renamed into place), so it need not be stored last as newaliases does. */
	if (style == TEXTMAP_ALIASES && dbmap_put(build.writer, "@", 2, "@", 2) < 0) {
		snprintf(err, errlen, "%s: cannot store the @ sentinel", path);
		dbmap_discard(build.writer);
		return -1;
	}
	if (like)
		return dbmap_finish(build.writer, like->st_mode & 07777, like->st_uid, like->st_gid, err, errlen);
	return dbmap_finish(build.writer, 0644, (uid_t)-1, (gid_t)-1, err, errlen);
}
