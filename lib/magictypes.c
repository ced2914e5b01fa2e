/*
 * magictypes - MIME types libmagic names; see magictypes.h.
 *
 * The compiled database is an array of fixed-size entries (struct magic of
 * libmagic's file.h, 376 bytes in format 18) after one header entry; a
 * rule's MIME type is the NUL-padded field at offset 224.  scan/magicset.c
 * reads the same layout to choose rules.
 */
#include "config.h"

#include <fcntl.h>
#include <glib.h>
#include <magic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "magictypes.h"

#define MAGICTYPES_NO 0xF11E041Cu
#define MAGICTYPES_VERSION 18
#define MAGICTYPES_ENTRY 376
#define MAGICTYPES_OFF_MIME 224
#define MAGICTYPES_MIME_LEN 80

static const char *const magictypes_synonyms[][4] = {
	{ "application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
	  "application/x-ms-dos-executable" },
	{ "application/zip", "application/x-zip-compressed", "application/x-zip", NULL },
	{ "application/x-rar", "application/vnd.rar", "application/x-rar-compressed", NULL },
};

/* What libmagic 5.x's built-in tests (is_json, is_csv, is_tar, readcdf, encoding, the empty check) name. */
static const char *const magictypes_builtin[] = {
	"application/json", "text/csv", "application/x-tar", "application/msword", "application/vnd.ms-excel",
	"application/vnd.ms-powerpoint", "application/vnd.ms-outlook", "application/vnd.ms-msi", "application/x-msi",
	"application/x-rpt", "application/CDFV2", "application/CDFV2-corrupt", "application/vnd.ms-office",
	"text/plain", "application/octet-stream", "application/x-empty", "inode/x-empty", NULL,
};

static struct {
	bool loaded;
	const char *path;	/* magictypes_use's */
	GHashTable *types;	/* lower-case names; NULL: the database could not be read */
} magictypes;

static int
magictypes_family_of(const char *type)
{
	for (size_t f = 0; f < G_N_ELEMENTS(magictypes_synonyms); f++)
		for (size_t i = 0; i < 4 && magictypes_synonyms[f][i]; i++)
			if (strcasecmp(magictypes_synonyms[f][i], type) == 0)
				return (int)f;
	return -1;
}

bool
magictypes_same(const char *found, const char *blocked)
{
	int family = magictypes_family_of(found);

	return strcasecmp(found, blocked) == 0 || (family >= 0 && family == magictypes_family_of(blocked));
}

size_t
magictypes_family(const char *type, const char **names, size_t n)
{
	int family = magictypes_family_of(type);
	size_t count = 0;

	if (n > 1)
		names[count++] = type;
	for (size_t i = 0; family >= 0 && i < 4 && magictypes_synonyms[family][i] && count + 1 < n; i++)
		if (strcasecmp(magictypes_synonyms[family][i], type) != 0)
			names[count++] = magictypes_synonyms[family][i];
	if (n > 0)
		names[count] = NULL;
	return count;
}

void
magictypes_use(const char *path)
{
	if (magictypes.types)
		g_hash_table_destroy(magictypes.types);
	memset(&magictypes, 0, sizeof(magictypes));
	magictypes.path = path;
}

static void
magictypes_add(GHashTable *types, const char *name, size_t len)
{
	g_hash_table_add(types, g_ascii_strdown(name, (gssize)len));
}

/* Every MIME type the database names; NULL when it is not one this understands. */
static GHashTable *
magictypes_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *db;
	uint32_t head[2];
	GHashTable *types = NULL;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < MAGICTYPES_ENTRY || st.st_size % MAGICTYPES_ENTRY) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	db = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (db == MAP_FAILED)
		return NULL;
	memcpy(head, db, sizeof(head));
	if (head[0] == MAGICTYPES_NO && head[1] == MAGICTYPES_VERSION) {
		types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		for (off_t off = MAGICTYPES_ENTRY; off + MAGICTYPES_ENTRY <= st.st_size; off += MAGICTYPES_ENTRY) {
			const char *mime = (const char *)db + off + MAGICTYPES_OFF_MIME;
			size_t len = strnlen(mime, MAGICTYPES_MIME_LEN);

			if (len)
				magictypes_add(types, mime, len);
		}
	}
	munmap((void *)db, (size_t)st.st_size);
	return types;
}

/* The "!:mime TYPE" lines of a rule file in source form, as Debian's /etc/magic may hold. */
static void
magictypes_read_source(GHashTable *types, const char *path)
{
	char *text = NULL, **lines;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *line = g_strstrip(*l);

		if (g_str_has_prefix(line, "!:mime"))
			magictypes_add(types, g_strstrip(line + 6), strlen(g_strstrip(line + 6)));
	}
	g_strfreev(lines);
	g_free(text);
}

/* Each entry of libmagic's path, as magic_load(NULL) reads it: FILE.mgc when there is one, else FILE. */
static void
magictypes_load(void)
{
	const char *list;
	char **paths;
	GHashTable *compiled = NULL;
	struct stat st;

	if (magictypes.loaded)
		return;
	magictypes.loaded = true;
	list = magictypes.path ? magictypes.path : magic_getpath(NULL, 0);
	paths = g_strsplit(list ? list : "", ":", -1);
	magictypes.types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (char **p = paths; *p; p++) {
		char *mgc = g_str_has_suffix(*p, ".mgc") ? g_strdup(*p) : g_strconcat(*p, ".mgc", NULL);
		GHashTable *found;

		if (stat(mgc, &st) == 0 && S_ISREG(st.st_mode) && (found = magictypes_read(mgc))) {
			GHashTableIter iter;
			gpointer name;

			g_hash_table_iter_init(&iter, found);
			while (g_hash_table_iter_next(&iter, &name, NULL))
				magictypes_add(magictypes.types, name, strlen(name));
			g_hash_table_destroy(found);
			compiled = magictypes.types;
		} else if (stat(*p, &st) == 0 && S_ISREG(st.st_mode))
			magictypes_read_source(magictypes.types, *p);
		g_free(mgc);
	}
	g_strfreev(paths);
	if (!compiled) {	/* no database this can read: every type may be named */
		g_hash_table_destroy(magictypes.types);
		magictypes.types = NULL;
		return;
	}
	for (const char *const *b = magictypes_builtin; *b; b++)
		magictypes_add(magictypes.types, *b, strlen(*b));
}

bool
magictypes_known(const char *type)
{
	const char *family[8];
	size_t n;

	magictypes_load();
	if (!magictypes.types)
		return true;
	n = magictypes_family(type, family, G_N_ELEMENTS(family));
	for (size_t i = 0; i < n; i++) {
		char *lower = g_ascii_strdown(family[i], -1);
		bool found = g_hash_table_contains(magictypes.types, lower);

		g_free(lower);
		if (found)
			return true;
	}
	return false;
}
