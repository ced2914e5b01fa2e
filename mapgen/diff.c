/*
 * diff - per-object changes of a run; see diff.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbmap.h"
#include "diff.h"
#include "policy.h"
#include "safefile.h"

/*
 * One side of a file: folded record key -> "KEY\0VALUE", the key as its
 * line wrote it (for people) and the value, as strings.
 */
typedef GHashTable records_t;

static records_t *
records_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static const char *
record_value(const char *record)
{
	return record ? record + strlen(record) + 1 : NULL;
}

/* First record of a key wins, as makemap and newaliases keep it. */
static int
records_put(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	records_t *records = context;
	char *k, *record;

	/* newaliases' records end in a NUL; makemap folds keys. */
	if (keylen && key[keylen - 1] == '\0')
		keylen--;
	if (valuelen && value[valuelen - 1] == '\0')
		valuelen--;
	k = g_ascii_strdown(key, (gssize)keylen);
	if (g_hash_table_contains(records, k)) {
		g_free(k);
		return 0;
	}
	record = g_malloc(keylen + valuelen + 2);
	memcpy(record, key, keylen);
	record[keylen] = '\0';
	memcpy(record + keylen + 1, value, valuelen);
	record[keylen + valuelen + 1] = '\0';
	g_hash_table_insert(records, k, record);
	return 0;
}

static int
records_put_db(const void *key, size_t keylen, const void *value, size_t valuelen, void *context)
{
	return records_put(key, keylen, value, valuelen, context);
}

/* A text file's records as its tool would store them; sendmail.cw's lines as names. */
static void
records_of_text(enum textmap_style style, const char *text, size_t len, records_t *records)
{
	if (style != TEXTMAP_CLASS) {
		textmap_records(style, text, len, records_put, records);
		return;
	}
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = g_strstrip(g_strndup(p, n));

		if (*line && *line != '#')
			records_put(line, strlen(line), "listed", 6, records);
		g_free(line);
		p += n + 1;
	}
}

/* ---- changes ---- */

static json_t *
change(const char *file, const char *object, const char *name, const char *key, json_t *old, json_t *new)
{
	return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o}", "file", file, "object", object, "name", name, "key", key,
			 "old", old ? old : json_null(), "new", new ? new : json_null());
}

static json_t *
string_or_null(const char *text)
{
	return text ? json_string(text) : json_null();
}

/* The object a text map's key belongs to, and its name. */
static const char *
text_object(const struct install_file *file, const char *key, char **name)
{
	const char *eq = strchr(key, '=');

	*name = g_strdup(key);
	if (file->style == TEXTMAP_CLASS)
		return "name";
	if (strcmp(file->name, "mailertable") == 0)
		return "route";
	if (file->style == TEXTMAP_ALIASES && eq) {
		g_free(*name);
		*name = eq == key + 1 && key[0] == '*' ? g_strdup(eq + 1) : g_strdup_printf("%.*s@%s", (int)(eq - key),
											key, eq + 1);
		return eq == key + 1 && key[0] == '*' ? "domain" : "address";
	}
	if (file->style == TEXTMAP_ALIASES)
		return "alias";
	if (strchr(key, ':'))
		return "access";
	if (key[0] == '@') {
		g_free(*name);
		*name = g_strdup(key + 1);
		return "domain";
	}
	return "address";
}

static void
diff_records(const struct install_file *file, records_t *old, records_t *new, json_t *out)
{
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, new);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		const char *before = record_value(g_hash_table_lookup(old, key));
		char *name;
		const char *object;

		if (before && strcmp(before, record_value(value)) == 0)
			continue;
		object = text_object(file, value, &name);
		json_array_append_new(out, change(file->name, object, name, file->name, string_or_null(before),
						  json_string(record_value(value))));
		g_free(name);
	}
	g_hash_table_iter_init(&iter, old);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		char *name;
		const char *object;

		if (g_hash_table_contains(new, key))
			continue;
		object = text_object(file, value, &name);
		json_array_append_new(out, change(file->name, object, name, file->name, json_string(record_value(value)),
						  NULL));
		g_free(name);
	}
}

/* hostmilter-mailers.m4: each "Mname," definition with its continuation lines. */
static void
records_of_mailers(const char *text, records_t *records)
{
	char **lines = g_strsplit(text ? text : "", "\n", -1);
	GString *def = g_string_new(NULL);
	char *name = NULL;

	for (char **l = lines;; l++) {
		if (name && (!*l || (*l)[0] != '\t')) {
			g_strstrip(def->str);
			records_put(name, strlen(name), def->str, strlen(def->str), records);
			g_free(name);
			name = NULL;
		}
		if (!*l)
			break;
		if ((*l)[0] == 'M' && strchr(*l, ',')) {
			name = g_strndup(*l + 1, (gsize)(strchr(*l, ',') - *l - 1));
			g_string_assign(def, *l);
		} else if (name)
			g_string_append_printf(def, " %s", g_strstrip(*l));
	}
	g_string_free(def, TRUE);
	g_strfreev(lines);
}

static void
diff_text_file(const struct install_file *file, json_t *out)
{
	records_t *old = records_new(), *new = records_new();
	char *text = NULL, err[256];
	size_t len = 0;
	bool mailers = g_str_has_suffix(file->name, ".m4");

	if (safefile_read(file->path, SAFEFILE_NO_CAP, &text, &len, err, sizeof(err)) != SAFEFILE_OK)
		text = NULL;
	if (mailers) {
		records_of_mailers(text, old);
		records_of_mailers(file->text->str, new);
	} else {
		records_of_text(file->style, text ? text : "", text ? len : 0, old);
		records_of_text(file->style, file->text->str, file->text->len, new);
	}
	if (mailers) {
		/* "mailer hm2603: hostmilter-mailers.m4 ..." */
		json_t *part = json_array();
		size_t i;
		json_t *c;

		diff_records(file, old, new, part);
		json_array_foreach(part, i, c) {
			json_object_set_new(c, "object", json_string("mailer"));
		}
		json_array_extend(out, part);
		json_decref(part);
	} else
		diff_records(file, old, new, out);
	g_free(text);
	g_hash_table_destroy(old);
	g_hash_table_destroy(new);
}

/* ---- hostmilter.db ---- */

struct policy_side {
	records_t *records;
	GPtrArray *rules;	/* json_t* by id */
	bool same_rules;	/* (new side) every id means what it meant: equal records are equal */
};

static void
diff_side_init(struct policy_side *side)
{
	side->records = records_new();
	side->rules = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
}

static void
diff_side_free(struct policy_side *side)
{
	g_hash_table_destroy(side->records);
	g_ptr_array_free(side->rules, TRUE);
}

static void
diff_side_rules(struct policy_side *side)
{
	for (guint id = 0;; id++) {
		char key[32];
		const char *text;

		snprintf(key, sizeof(key), "r:%u", id);
		if (!(text = record_value(g_hash_table_lookup(side->records, key))))
			break;
		g_ptr_array_add(side->rules, json_loads(text, 0, NULL));
	}
}

static int
records_put_policy(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	return records_put(key, keylen, value, valuelen, context);
}

/* Leaves of value into flat, "spam.reject_score" -> 15.0; arrays are leaves. */
static void
flatten(json_t *flat, const char *prefix, json_t *value)
{
	const char *key;
	json_t *member;

	if (!json_is_object(value)) {
		json_object_set(flat, prefix, value);
		return;
	}
	json_object_foreach(value, key, member) {
		char *path = *prefix ? g_strdup_printf("%s.%s", prefix, key) : g_strdup(key);

		flatten(flat, path, member);
		g_free(path);
	}
}

/* A D: or M: record with its rule set spelled out in place of the id. */
static json_t *
flat_record(const struct policy_side *side, const char *text)
{
	json_t *json = json_loads(text, 0, NULL), *flat = json_object(), *rules;
	json_int_t id;

	if (!json)
		return json_pack("{s:s}", "record", text);
	rules = json_object_get(json, "rules");
	if (json_is_integer(rules) && (id = json_integer_value(rules)) >= 0 && (guint)id < side->rules->len
	    && side->rules->pdata[id])
		flatten(flat, "", side->rules->pdata[id]);
	json_object_del(json, "rules");
	flatten(flat, "", json);
	json_decref(json);
	return flat;
}

/*
 * "CIDR\tPER_HOUR\tBURST\tBULK_PER_HOUR\tBULK_BURST" lines, or the same after
 * "ISSUER\tSUBJECT" (lib/policy.h): name -> {rate_limit...}.
 */
static json_t *
flat_lines(const char *text, int name_fields)
{
	static const char *const keys[] = { "rate_limit.recipients_per_hour", "rate_limit.burst",
					    "rate_limit.bulk_recipients_per_hour", "rate_limit.bulk_burst" };
	json_t *all = json_object();
	char **lines = g_strsplit(text ? text : "", "\n", -1);

	for (char **l = lines; *l; l++) {
		char **f = g_strsplit(*l, "\t", -1);

		if (g_strv_length(f) == (guint)name_fields + 4) {
			char *name = name_fields == 1 ? g_strdup(f[0]) : g_strdup_printf("%s %s", f[0], *f[1] ? f[1] : "(any)");
			json_t *rate = json_object();

			for (int k = 0; k < 4; k++)
				json_object_set_new(rate, keys[k], json_integer((json_int_t)strtoul(f[name_fields + k], NULL, 10)));
			json_object_set_new(all, name, rate);
			g_free(name);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	return all;
}

static void
diff_flat(const char *object, const char *name, json_t *old, json_t *new, json_t *out)
{
	const char *key;
	json_t *value;

	if (!old || !new) {
		json_array_append_new(out, change("hostmilter.db", object, name, NULL, json_incref(old),
						  json_incref(new)));
		return;
	}
	json_object_foreach(new, key, value) {
		if (!json_equal(json_object_get(old, key), value))
			json_array_append_new(out, change("hostmilter.db", object, name, key,
							  json_incref(json_object_get(old, key)), json_incref(value)));
	}
	json_object_foreach(old, key, value) {
		if (!json_object_get(new, key))
			json_array_append_new(out, change("hostmilter.db", object, name, key, json_incref(value), NULL));
	}
}

static void
diff_lines(const char *object, const char *old, const char *new, int name_fields, json_t *out)
{
	json_t *o = flat_lines(old, name_fields), *n = flat_lines(new, name_fields), *value;
	const char *name;

	json_object_foreach(n, name, value) {
		diff_flat(object, name, json_object_get(o, name), value, out);
	}
	json_object_foreach(o, name, value) {
		if (!json_object_get(n, name))
			diff_flat(object, name, value, NULL, out);
	}
	json_decref(o);
	json_decref(n);
}

/* One record key present on either side. */
static void
diff_policy_record(const struct policy_side *old, const struct policy_side *new, const char *key, json_t *out)
{
	const char *a = record_value(g_hash_table_lookup(old->records, key));
	const char *b = record_value(g_hash_table_lookup(new->records, key));
	static const struct { const char *prefix, *object; } kinds[] = {
		{ "d:", "domain" }, { "m:", "mailbox" }, { "@defaults", "defaults" }, { "@server", "server" },
		{ "@defaults-set", "defaults" }, { "@format", "file" },
	};
	json_t *fa, *fb;

	if ((a && b && strcmp(a, b) == 0 && (new->same_rules || key[0] == 'a')) || g_str_has_prefix(key, "r:")
	    || strcmp(key, "@digest") == 0)
		return;
	if (key[0] == 'a' && key[1] == ':') {
		diff_flat("address", key + 2, a ? json_pack("{s:s}", "mailboxes", a) : NULL,
			  b ? json_pack("{s:s}", "mailboxes", b) : NULL, out);
		return;
	}
	if (strcmp(key, "@relay-networks") == 0 || strcmp(key, "@relay-certificates") == 0) {
		diff_lines(key[7] == 'n' ? "relay-network" : "relay-certificate", a, b, key[7] == 'n' ? 1 : 2, out);
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (!g_str_has_prefix(key, kinds[i].prefix) || (kinds[i].prefix[0] == '@' && strcmp(key, kinds[i].prefix) != 0))
			continue;
		fa = a ? flat_record(old, a) : NULL;
		fb = b ? flat_record(new, b) : NULL;
		if (strcmp(key, "@defaults-set") == 0) {
			json_t *wrap_a = fa ? json_pack("{s:o}", "set_by_export", fa) : NULL;
			json_t *wrap_b = fb ? json_pack("{s:o}", "set_by_export", fb) : NULL;

			fa = wrap_a, fb = wrap_b;
		}
		diff_flat(kinds[i].object, kinds[i].prefix[0] == '@' ? "" : key + 2, fa, fb, out);
		json_decref(fa);
		json_decref(fb);
		return;
	}
}

static void
diff_policy(const struct install_file *file, json_t *out)
{
	struct policy_side old, new;
	struct dbmap_reader *reader = NULL;
	char err[256];
	GHashTableIter iter;
	gpointer key;

	diff_side_init(&old);
	diff_side_init(&new);
	if (safefile_check_target(file->path, false, err, sizeof(err)) == 0 && access(file->path, F_OK) == 0
	    && (reader = dbmap_open(file->path, err, sizeof(err)))) {
		dbmap_each(reader, records_put_db, old.records);
		dbmap_close(reader);
	}
	emit_policy_records_each(file->records, records_put_policy, new.records);
	diff_side_rules(&old);
	diff_side_rules(&new);
	new.same_rules = old.rules->len == new.rules->len;
	for (guint i = 0; new.same_rules && i < new.rules->len; i++)
		new.same_rules = json_equal(old.rules->pdata[i], new.rules->pdata[i]);
	g_hash_table_iter_init(&iter, new.records);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		diff_policy_record(&old, &new, key, out);
	g_hash_table_iter_init(&iter, old.records);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		if (!g_hash_table_contains(new.records, key))
			diff_policy_record(&old, &new, key, out);
	diff_side_free(&old);
	diff_side_free(&new);
}

static gint
change_order(gconstpointer a, gconstpointer b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const fields[] = { "object", "name", "file", "key" };

	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		const char *p = json_string_value(json_object_get(x, fields[i])), *q = json_string_value(json_object_get(y, fields[i]));
		int c = strcmp(p ? p : "", q ? q : "");

		if (c)
			return c;
	}
	return 0;
}

static json_t *
sorted(json_t *changes)
{
	GPtrArray *items = g_ptr_array_sized_new((guint)json_array_size(changes));
	json_t *out = json_array();

	for (size_t i = 0; i < json_array_size(changes); i++)
		g_ptr_array_add(items, json_array_get(changes, i));
	g_ptr_array_sort(items, change_order);
	for (guint i = 0; i < items->len; i++)
		json_array_append(out, items->pdata[i]);
	g_ptr_array_free(items, TRUE);
	json_decref(changes);
	return out;
}

json_t *
diff_changes(const struct install_set *set)
{
	json_t *out = json_array();

	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];

		if (file->policy && file->db_changed)
			diff_policy(file, out);
		else if (!file->policy && file->text_changed)
			diff_text_file(file, out);
		else if (file->db_changed) {
			char *db = g_strconcat(file->name, ".db", NULL);
			json_t *c = change(db, "file", db, NULL, NULL, NULL);

			json_object_set_new(c, "note", json_string("rebuilt from its text, which it did not match"));
			json_array_append_new(out, c);
			g_free(db);
		}
	}
	return sorted(out);
}

/* ---- text ---- */

static char *
value_text(const json_t *value, bool rule)
{
	GString *out;
	size_t i;
	json_t *item;

	if (!value || json_is_null(value))
		return g_strdup(rule ? "(inherited)" : "(none)");
	if (json_is_string(value))
		return g_strdup(*json_string_value(value) ? json_string_value(value) : "(none)");
	if (json_is_integer(value))
		return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
	if (json_is_real(value))
		return g_strdup_printf("%g", json_real_value(value));
	if (json_is_boolean(value))
		return g_strdup(json_is_true(value) ? "true" : "false");
	if (json_is_object(value)) {
		const char *k;
		json_t *v;

		out = g_string_new(NULL);
		json_object_foreach((json_t *)value, k, v) {
			char *text = value_text(v, false);

			g_string_append_printf(out, "%s%s %s", out->len ? ", " : "", k, text);
			g_free(text);
		}
		return g_string_free(out, FALSE);
	}
	if (!json_is_array(value))
		return json_dumps(value, JSON_COMPACT);
	out = g_string_new("[");
	json_array_foreach(value, i, item) {
		char *text = value_text(item, false);

		g_string_append_printf(out, "%s%s", i ? ", " : "", text);
		g_free(text);
	}
	g_string_append_c(out, ']');
	return g_string_free(out, FALSE);
}

/* Keys of a rule set: absent means inherited, not none. */
static bool
rule_key(const char *key)
{
	return key && (g_str_has_prefix(key, "spam.") || strcmp(key, "virus") == 0 || strcmp(key, "max_size") == 0
		       || strcmp(key, "blocked_types") == 0);
}

void
diff_print(const json_t *changes, FILE *out)
{
	size_t i;
	json_t *c;

	json_array_foreach(changes, i, c) {
		const char *object = json_string_value(json_object_get(c, "object"));
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *key = json_string_value(json_object_get(c, "key"));
		const json_t *old = json_object_get(c, "old"), *new = json_object_get(c, "new");
		char *a, *b;

		fprintf(out, "%s%s%s: ", object, *name ? " " : "", name);
		if (json_object_get(c, "note")) {
			fprintf(out, "%s\n", json_string_value(json_object_get(c, "note")));
			continue;
		}
		if (!key) {
			char *fields = value_text(json_is_null(old) ? new : old, false);

			fprintf(out, "%s in %s: %s\n", json_is_null(old) ? "added" : "removed",
				json_string_value(json_object_get(c, "file")), fields);
			g_free(fields);
			continue;
		}
		if (strcmp(object, "name") == 0) {
			fprintf(out, "%s %s\n", json_is_null(old) ? "added to" : "removed from", key);
			continue;
		}
		a = value_text(old, rule_key(key));
		b = value_text(new, rule_key(key));
		fprintf(out, "%s %s -> %s\n", key, a, b);
		g_free(a);
		g_free(b);
	}
}
