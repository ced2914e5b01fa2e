/*
 * install - atomic installation of generated files; see install.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbmap.h"
#include "install.h"
#include "msg.h"
#include "policy.h"

#define TMP_MARK ".hostmapgen-tmp."

void
install_init(struct install_set *set, const char *dir, const char *layout, const char *digest)
{
	memset(set, 0, sizeof(*set));
	set->dir = g_strdup(dir);
	set->layout = layout;
	set->digest = digest;
	set->lock_fd = -1;
}

static void
install_unlink_tmp(struct install_file *file)
{
	if (file->tmp_text)
		unlink(file->tmp_text);
	if (file->tmp_db)
		unlink(file->tmp_db);
	g_free(file->tmp_text);
	g_free(file->tmp_db);
	file->tmp_text = file->tmp_db = NULL;
}

void
install_free(struct install_set *set)
{
	install_abandon(set);
	for (unsigned i = 0; i < set->nfiles; i++) {
		install_unlink_tmp(&set->files[i]);
		g_free(set->files[i].path);
		if (set->files[i].text)
			g_string_free(set->files[i].text, TRUE);
	}
	if (set->lock_fd >= 0)
		close(set->lock_fd);
	g_free(set->dir);
}

int
install_lock(struct install_set *set, char *err, size_t errlen)
{
	char *path = g_build_filename(set->dir, INSTALL_LOCK, NULL);

	set->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (set->lock_fd < 0 || flock(set->lock_fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		g_free(path);
		return -1;
	}
	g_free(path);
	return 0;
}

void
install_clean_stale(struct install_set *set)
{
	DIR *dir = opendir(set->dir);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.' && strstr(entry->d_name, TMP_MARK)) {
			char *path = g_build_filename(set->dir, entry->d_name, NULL);

			msg_warn("removing %s, left behind by an interrupted run", path);
			unlink(path);
			g_free(path);
		}
	}
	closedir(dir);
}

struct install_file *
install_add(struct install_set *set, const char *name, enum textmap_style style, bool has_db)
{
	struct install_file *file = &set->files[set->nfiles++];

	memset(file, 0, sizeof(*file));
	file->name = name;
	file->path = g_build_filename(set->dir, name, NULL);
	file->style = style;
	file->has_db = has_db;
	return file;
}

/* ---- the state file ---- */

static void
state_line(GString *state, const char *path, const char *label)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		g_string_append_printf(state, "file %s %llu %llu %lld %lld.%09ld\n", label,
				       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
				       (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static char *
db_path(const struct install_file *file)
{
	return file->policy ? g_strdup(file->path) : g_strconcat(file->path, ".db", NULL);
}

/* What the state file would say about the directory as it is now. */
static GString *
state_render(const struct install_set *set)
{
	GString *state = g_string_new("hostmapgen-state 1 " PACKAGE_VERSION "\n");

	g_string_append_printf(state, "export %s %s\n", set->digest, set->layout);
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *db = db_path(file);

		if (!file->policy)
			state_line(state, file->path, file->name);
		if (file->has_db) {
			char *label = file->policy ? g_strdup(file->name) : g_strconcat(file->name, ".db", NULL);

			state_line(state, db, label);
			g_free(label);
		}
		g_free(db);
	}
	return state;
}

static char *
state_read(const struct install_set *set)
{
	char *path = g_build_filename(set->dir, INSTALL_STATE, NULL);
	char *text = NULL;

	g_file_get_contents(path, &text, NULL, NULL);
	g_free(path);
	return text;
}

bool
install_unchanged(struct install_set *set)
{
	char *old = state_read(set);
	GString *now = state_render(set);
	bool same = old && strcmp(old, now->str) == 0;

	g_free(old);
	g_string_free(now, TRUE);
	return same;
}

/* The state line for label, from the old state text, or NULL. */
static char *
state_find(const char *state, const char *label)
{
	char *needle = g_strdup_printf("file %s ", label);
	const char *p = state ? strstr(state, needle) : NULL;
	char *line = NULL;

	if (p && (p == state || p[-1] == '\n'))
		line = g_strndup(p, strcspn(p, "\n"));
	g_free(needle);
	return line;
}

static char *
state_now(const char *path, const char *label)
{
	GString *line = g_string_new(NULL);

	state_line(line, path, label);
	if (line->len)
		g_string_truncate(line, line->len - 1);
	return g_string_free(line, FALSE);
}

/* True when the old state recorded both the text and the .db as they are now. */
static bool
state_vouches(const char *state, const struct install_file *file)
{
	char *db = db_path(file), *label = g_strconcat(file->name, ".db", NULL);
	char *old_text = state_find(state, file->name), *old_db = state_find(state, label);
	char *now_text = state_now(file->path, file->name), *now_db = state_now(db, label);
	bool ok = old_text && old_db && strcmp(old_text, now_text) == 0 && strcmp(old_db, now_db) == 0;

	g_free(old_text);
	g_free(old_db);
	g_free(now_text);
	g_free(now_db);
	g_free(db);
	g_free(label);
	return ok;
}

/* ---- deciding what changes ---- */

static bool
text_differs(const struct install_file *file)
{
	gchar *old = NULL;
	gsize len = 0;
	bool differs;

	if (!g_file_get_contents(file->path, &old, &len, NULL))
		return true;
	differs = len != file->text->len || memcmp(old, file->text->str, len) != 0;
	g_free(old);
	return differs;
}

static bool
policy_differs(const struct install_file *file)
{
	char err[256], *value = NULL;
	size_t len = 0;
	struct dbmap_reader *reader = dbmap_open(file->path, err, sizeof(err));
	bool differs = true;

	if (!reader)
		return true;
	if (dbmap_get(reader, POLICY_KEY_DIGEST, strlen(POLICY_KEY_DIGEST), &value, &len) == 0)
		differs = len != strlen(file->records->digest) || memcmp(value, file->records->digest, len) != 0;
	free(value);
	dbmap_close(reader);
	return differs;
}

void
install_compare(struct install_set *set)
{
	char *state = state_read(set);

	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];

		if (file->policy) {
			if (!set->early)
				file->db_changed = policy_differs(file);
			continue;
		}
		file->text_changed = text_differs(file);
		if (file->has_db)
			file->db_changed = file->text_changed || !state_vouches(state, file);
	}
	g_free(state);
}

unsigned
install_changed_count(const struct install_set *set)
{
	unsigned count = 0;

	for (unsigned i = 0; i < set->nfiles; i++)
		count += set->files[i].text_changed + set->files[i].db_changed;
	return count;
}

void
install_diff(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];
		char *cmd, *quoted;
		FILE *diff;

		if (file->policy || !file->text_changed)
			continue;
		fflush(stdout);
		quoted = g_shell_quote(access(file->path, F_OK) == 0 ? file->path : "/dev/null");
		cmd = g_strdup_printf("diff -u --label %s --label %s.new %s -", file->name, file->name, quoted);
		if ((diff = popen(cmd, "w")) != NULL) {
			fwrite(file->text->str, 1, file->text->len, diff);
			pclose(diff);
		}
		g_free(cmd);
		g_free(quoted);
	}
}

/* ---- writing ---- */

static char *
tmp_path(const struct install_set *set, const struct install_file *file, const char *suffix)
{
	static gint serial;

	return g_strdup_printf("%s/.%s%s" TMP_MARK "%ld.%d", set->dir, file->name, suffix,
			       (long)getpid(), g_atomic_int_add(&serial, 1));
}

/* Owner and mode of the file being replaced, or NULL when it is new. */
static const struct stat *
old_attributes(const char *path, struct stat *st)
{
	return stat(path, st) == 0 ? st : NULL;
}

static int
write_text(struct install_set *set, struct install_file *file, char *err, size_t errlen)
{
	struct stat st;
	const struct stat *like = old_attributes(file->path, &st);
	int fd;

	file->tmp_text = tmp_path(set, file, "");
	fd = open(file->tmp_text, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (like && (fchown(fd, like->st_uid, like->st_gid) < 0 && errno != EPERM))
		goto fail_fd;
	if (like && fchmod(fd, like->st_mode & 07777) < 0)
		goto fail_fd;
	for (size_t done = 0; done < file->text->len;) {
		ssize_t n = write(fd, file->text->str + done, file->text->len - done);

		if (n < 0 && errno != EINTR)
			goto fail_fd;
		done += n > 0 ? (size_t)n : 0;
	}
	if (fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", file->tmp_text, strerror(errno));
	return -1;
fail_fd:
	snprintf(err, errlen, "%s: %s", file->tmp_text, strerror(errno));
	close(fd);
	return -1;
}

struct policy_build {
	struct dbmap_writer *writer;
};

static int
policy_store(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct policy_build *build = context;

	return dbmap_put(build->writer, key, keylen, value, valuelen) == 0 ? 0 : -1;
}

static int
write_policy(struct install_file *file, const struct stat *like, char *err, size_t errlen)
{
	const struct policy_records *records = file->records;
	struct policy_build build;

	build.writer = dbmap_create(file->tmp_db, records->count + 1, records->data->len, err, errlen);
	if (!build.writer)
		return -1;
	if (policy_records_each(records, policy_store, &build) != 0
	    || dbmap_put(build.writer, POLICY_KEY_DIGEST, strlen(POLICY_KEY_DIGEST),
			 records->digest, strlen(records->digest)) != 0) {
		snprintf(err, errlen, "%s: cannot store a record", file->tmp_db);
		dbmap_discard(build.writer);
		return -1;
	}
	if (like)
		return dbmap_finish(build.writer, like->st_mode & 07777, like->st_uid, like->st_gid, err, errlen);
	return dbmap_finish(build.writer, 0644, (uid_t)-1, (gid_t)-1, err, errlen);
}

static int
write_db(struct install_set *set, struct install_file *file, char *err, size_t errlen)
{
	char *target = db_path(file);
	struct stat st;
	const struct stat *like = old_attributes(target, &st);
	int rc;

	g_free(target);
	file->tmp_db = tmp_path(set, file, file->policy ? "" : ".db");
	if (file->policy)
		return write_policy(file, like, err, errlen);
	rc = textmap_write_db(file->style, file->name, file->text->str, file->text->len,
			      file->tmp_db, like, err, errlen);
	if (rc < 0) {
		g_free(file->tmp_db);
		file->tmp_db = NULL;
	}
	return rc;
}

struct db_job {
	struct install_set *set;
	struct install_file *file;
	char err[1024];
	int rc;
};

static gpointer
db_job_run(gpointer data)
{
	struct db_job *job = data;

	job->rc = write_db(job->set, job->file, job->err, sizeof(job->err));
	return NULL;
}

struct install_early {
	struct db_job job;
	GThread *thread;
	bool joined;
};

static struct install_file *
policy_file(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++)
		if (set->files[i].policy)
			return &set->files[i];
	return NULL;
}

void
install_start_policy(struct install_set *set, const struct policy_records *records)
{
	struct install_file *file = policy_file(set);

	if (!file || set->early)
		return;
	file->records = records;
	file->db_changed = policy_differs(file);
	set->early = g_new0(struct install_early, 1);
	if (!file->db_changed) {
		set->early->joined = true;	/* nothing to build */
		return;
	}
	set->early->job = (struct db_job){ .set = set, .file = file };
	set->early->thread = g_thread_new(file->name, db_job_run, &set->early->job);
}

/* 0 when the early build is done (or there was none); -1 with err when it failed. */
static int
install_join_early(struct install_set *set, char *err, size_t errlen)
{
	struct install_early *early = set->early;

	if (!early)
		return 0;
	if (!early->joined) {
		g_thread_join(early->thread);
		early->joined = true;
	}
	if (early->thread && early->job.rc < 0) {
		g_strlcpy(err, early->job.err, errlen);
		return -1;
	}
	return 0;
}

void
install_abandon(struct install_set *set)
{
	char err[16];
	struct install_file *file = policy_file(set);

	if (!set->early)
		return;
	install_join_early(set, err, sizeof(err));
	if (file)
		install_unlink_tmp(file);
	g_free(set->early);
	set->early = NULL;
}

/* The .db files are independent Berkeley DB handles, each used by one
 * thread only, so they are built side by side (hostmilter.db perhaps
 * already under way: install_start_policy). */
static int
prepare_dbs(struct install_set *set, char *err, size_t errlen)
{
	struct db_job jobs[G_N_ELEMENTS(set->files)];
	GThread *threads[G_N_ELEMENTS(set->files)];
	char spare[1024];
	unsigned n = 0;
	int rc = 0;

	for (unsigned i = 0; i < set->nfiles; i++) {
		if (!set->files[i].db_changed || (set->files[i].policy && set->early))
			continue;
		jobs[n] = (struct db_job){ .set = set, .file = &set->files[i] };
		threads[n] = g_thread_new(set->files[i].name, db_job_run, &jobs[n]);
		n++;
	}
	for (unsigned i = 0; i < n; i++) {
		g_thread_join(threads[i]);
		if (jobs[i].rc < 0 && rc == 0) {
			g_strlcpy(err, jobs[i].err, errlen);
			rc = -1;
		}
	}
	if (rc == 0)
		return install_join_early(set, err, errlen);
	install_join_early(set, spare, sizeof(spare));	/* the first error is the one reported */
	return rc;
}

static int
prepare_all(struct install_set *set, char *err, size_t errlen)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];

		if (file->text_changed && write_text(set, file, err, errlen) < 0)
			return -1;
	}
	return prepare_dbs(set, err, errlen);
}

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
rename_all(struct install_set *set, char *err, size_t errlen)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];
		char *db = db_path(file);

		if (file->tmp_text && rename(file->tmp_text, file->path) < 0)
			goto fail;
		g_free(file->tmp_text);
		file->tmp_text = NULL;
		if (file->tmp_db && rename(file->tmp_db, db) < 0)
			goto fail;
		g_free(file->tmp_db);
		file->tmp_db = NULL;
		g_free(db);
		continue;
fail:
		snprintf(err, errlen, "rename to %s: %s", file->tmp_text ? file->path : db, strerror(errno));
		g_free(db);
		return -1;
	}
	return sync_dir(set->dir);
}

static int
write_state(struct install_set *set)
{
	GString *state = state_render(set);
	char *path = g_build_filename(set->dir, INSTALL_STATE, NULL);
	GError *error = NULL;
	int rc = 0;

	/* g_file_set_contents writes a temporary file, fsyncs and renames. */
	if (!g_file_set_contents_full(path, state->str, (gssize)state->len,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &error)) {
		msg_warn("cannot record state in %s: %s", path, error->message);
		g_error_free(error);
		rc = -1;
	}
	g_free(path);
	g_string_free(state, TRUE);
	return rc;
}

int
install_commit(struct install_set *set, char *err, size_t errlen)
{
	if (prepare_all(set, err, errlen) < 0) {
		install_abandon(set);	/* waits for hostmilter.db's build before removing its file */
		for (unsigned i = 0; i < set->nfiles; i++)
			install_unlink_tmp(&set->files[i]);
		return -1;
	}
	if (rename_all(set, err, errlen) < 0)
		return -1;
	write_state(set);
	return 0;
}
