/*
 * state - the state file's content; see state.h.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "state.h"

#define STATE_FORMAT "2"

void
state_init(struct state *state)
{
	memset(state, 0, sizeof(*state));
	state->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	state->reloaded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void
state_free(struct state *state)
{
	g_free(state->version);
	g_free(state->digest);
	g_free(state->layout);
	g_hash_table_destroy(state->files);
	g_hash_table_destroy(state->reloaded);
	memset(state, 0, sizeof(*state));
}

/* "file LABEL IDENTITY..." into table; an identity is the rest of the line. */
static void
state_parse_entry(GHashTable *table, char **words)
{
	if (words[1] && words[2])
		g_hash_table_replace(table, g_strdup(words[1]), g_strjoinv(" ", words + 2));
}

static void
state_parse_line(struct state *state, const char *line)
{
	char **words = g_strsplit(line, " ", 0);

	if (!words[0] || !words[1]) {
		g_strfreev(words);
		return;
	}
	if (strcmp(words[0], "hostmapgen-state") == 0 && words[2]) {
		g_free(state->version);
		state->version = g_strdup(words[2]);
	} else if (strcmp(words[0], "export") == 0 && words[2]) {
		g_free(state->digest);
		g_free(state->layout);
		state->digest = g_strdup(words[1]);
		state->layout = g_strdup(words[2]);
	} else if (strcmp(words[0], "file") == 0) {
		state_parse_entry(state->files, words);
	} else if (strcmp(words[0], "reloaded") == 0) {
		state_parse_entry(state->reloaded, words);
	}
	g_strfreev(words);
}

void
state_parse(struct state *state, const char *text)
{
	char **lines;

	if (!text)
		return;
	lines = g_strsplit(text, "\n", 0);
	for (char **line = lines; *line; line++)
		state_parse_line(state, *line);
	g_strfreev(lines);
}

/* Entries sorted by label, so that equal states format alike. */
static void
state_format_entries(GString *out, const char *word, GHashTable *table)
{
	GList *labels = g_list_sort(g_hash_table_get_keys(table), (GCompareFunc)strcmp);

	for (GList *l = labels; l; l = l->next)
		g_string_append_printf(out, "%s %s %s\n", word, (const char *)l->data,
				       (const char *)g_hash_table_lookup(table, l->data));
	g_list_free(labels);
}

GString *
state_format(const struct state *state)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "hostmapgen-state " STATE_FORMAT " %s\n", state->version ? state->version : "-");
	g_string_append_printf(out, "export %s %s\n", state->digest ? state->digest : STATE_INCOMPLETE,
			       state->layout ? state->layout : "-");
	state_format_entries(out, "file", state->files);
	state_format_entries(out, "reloaded", state->reloaded);
	return out;
}

char *
state_identity(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return NULL;
	return g_strdup_printf("%llu %llu %lld %lld.%09ld", (unsigned long long)st.st_dev,
			       (unsigned long long)st.st_ino, (long long)st.st_size,
			       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static bool
state_same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static bool
state_tables_equal(GHashTable *a, GHashTable *b)
{
	GHashTableIter iter;
	gpointer label, identity;

	if (g_hash_table_size(a) != g_hash_table_size(b))
		return false;
	g_hash_table_iter_init(&iter, a);
	while (g_hash_table_iter_next(&iter, &label, &identity))
		if (!state_same(identity, g_hash_table_lookup(b, label)))
			return false;
	return true;
}

bool
state_unchanged(const struct state *old, const struct state *now)
{
	return state_same(old->version, now->version) && state_same(old->digest, now->digest)
	       && strcmp(old->digest, STATE_INCOMPLETE) != 0 && state_same(old->layout, now->layout)
	       && state_tables_equal(old->files, now->files);
}

bool
state_vouches(const struct state *old, const char *text_label, const char *text_now,
	      const char *db_label, const char *db_now)
{
	return state_same(g_hash_table_lookup(old->files, text_label), text_now)
	       && state_same(g_hash_table_lookup(old->files, db_label), db_now);
}

bool
state_reload_due(const struct state *old, const char *name, const char *now)
{
	const char *covered = g_hash_table_lookup(old->reloaded, name);

	if (!now)
		return false;	/* nothing to reload for; removing it is the admin's doing */
	return !state_same(covered, now);
}
