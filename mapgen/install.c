/*
 * install - atomic installation of generated files; see install.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbmap.h"
#include "install.h"
#include "maplock.h"
#include "msg.h"
#include "policy.h"
#include "safefile.h"

/* Every temporary name has it; Berkeley DB's own add "__db." in front. */
#define TMP_MARK ".hostmapgen-tmp."
#define BDB_TMP_PREFIX "__db."
/* What GLib's g_file_set_contents left of the state file (earlier versions). */
#define OLD_STATE_TMP INSTALL_STATE "."

static void __attribute__((format(printf, 3, 4)))
install_warn(const struct install_set *set, enum report_code code, const char *fmt, ...)
{
	char text[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (set->report)
		report_add(set->report, code, "", "%s", text);
	else
		msg_warn("%s", text);
}

static struct install_early *early_new(void);

void
install_init(struct install_set *set, const char *dir, const char *layout, const char *digest)
{
	memset(set, 0, sizeof(*set));
	set->dir = g_strdup(dir);
	set->layout = layout;
	set->digest = digest;
	set->lock_fd = -1;
	set->early = early_new();
	state_init(&set->old);
	set->reload_now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	set->reload_covered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

/* Berkeley DB's own temporary file for path (DIR/__db.NAME), which a write that failed half-way
 * (a full disk) leaves behind. */
static void
install_unlink_bdb_tmp(const char *path)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *side = g_strconcat(dir, "/" BDB_TMP_PREFIX, base, NULL);

	unlink(side);
	g_free(side);
	g_free(base);
	g_free(dir);
}

static void
install_unlink_tmp(struct install_file *file)
{
	if (file->tmp_text)
		unlink(file->tmp_text);
	if (file->tmp_db) {
		unlink(file->tmp_db);
		install_unlink_bdb_tmp(file->tmp_db);
	}
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
		g_free(set->files[i].db);
		g_free(set->files[i].text_dir);
		if (set->files[i].text)
			g_string_free(set->files[i].text, TRUE);
	}
	if (set->lock_fd >= 0)
		close(set->lock_fd);
	state_free(&set->old);
	g_hash_table_destroy(set->reload_now);
	g_hash_table_destroy(set->reload_covered);
	g_free(set->early);
	g_free(set->dir);
}

void
install_pause(const char *stage, const char *name)
{
	const char *want = getenv("HOSTMAPGEN_TEST_PAUSE");
	size_t len = strlen(stage);

	if (!want || strncmp(want, stage, len) != 0)
		return;
	if ((!name && want[len] == '\0') || (name && want[len] == ':' && strcmp(want + len + 1, name) == 0))
		raise(SIGSTOP);
}

int
install_lock(struct install_set *set, unsigned timeout, char *err, size_t errlen)
{
	char *path;

	if (safefile_check_dir(set->dir, err, errlen) < 0)
		return -1;
	path = g_build_filename(set->dir, INSTALL_LOCK, NULL);
	set->lock_fd = maplock_acquire(path, timeout, err, errlen);
	g_free(path);
	return set->lock_fd < 0 ? -1 : 0;
}

/* Ours: ".NAME.hostmapgen-tmp.X", Berkeley DB's "__db..NAME.hostmapgen-tmp.X", GLib's ".hostmapgen.state.XXXXXX". */
static bool
install_is_stale(const char *name)
{
	if (name[0] == '.' && strstr(name, TMP_MARK))
		return true;
	if (strncmp(name, BDB_TMP_PREFIX ".", strlen(BDB_TMP_PREFIX) + 1) == 0 && strstr(name, TMP_MARK))
		return true;
	return strncmp(name, OLD_STATE_TMP, strlen(OLD_STATE_TMP)) == 0
	       && strlen(name) == strlen(OLD_STATE_TMP) + 6;
}

/* Removes in dir the temporary files of a killed run: all of them, or only those of name. */
static void
install_clean_dir(const struct install_set *set, const char *dirname, const char *name)
{
	DIR *dir = opendir(dirname);
	struct dirent *entry;
	char *mine = name ? g_strconcat(".", name, TMP_MARK, NULL) : NULL;

	if (!dir) {
		g_free(mine);
		return;
	}
	while ((entry = readdir(dir)) != NULL) {
		if (mine ? strncmp(entry->d_name, mine, strlen(mine)) == 0 : install_is_stale(entry->d_name)) {
			char *path = g_build_filename(dirname, entry->d_name, NULL);

			if (set)
				install_warn(set, RC_STALE_FILE_REMOVED, "removing %s, left behind by an interrupted run", path);
			else	/* a followed link's directory, found while checking */
				msg_warn("removing %s, left behind by an interrupted run", path);
			unlink(path);
			g_free(path);
		}
	}
	closedir(dir);
	g_free(mine);
}

void
install_clean_stale(struct install_set *set)
{
	install_clean_dir(set, set->dir, NULL);
}

struct install_file *
install_add(struct install_set *set, const char *name, enum textmap_style style, bool has_db)
{
	struct install_file *file;

	g_assert(set->nfiles < INSTALL_MAX_FILES);
	file = &set->files[set->nfiles++];
	memset(file, 0, sizeof(*file));
	file->name = name;
	file->path = g_build_filename(set->dir, name, NULL);
	file->db = g_strconcat(file->path, ".db", NULL);
	file->text_dir = g_strdup(set->dir);
	file->style = style;
	file->has_db = has_db;
	return file;
}

static char *
db_path(const struct install_file *file)
{
	return g_strdup(file->policy ? file->path : file->db);
}

static char *
db_label(const struct install_file *file)
{
	return file->policy ? g_strdup(file->name) : g_strconcat(file->name, ".db", NULL);
}

/* ---- checking names, reading the state ---- */

/* A name that must be absent or a regular file of a trusted user. */
static int
check_name(const char *path, bool replacing, char *err, size_t errlen)
{
	if (safefile_check_target(path, replacing, err, errlen) < 0)
		return -1;
	return safefile_check_owner(path, err, errlen);
}

/*
 * Where the caller allows it, a trusted link at the name leads to the
 * text: from now on file->path is its target, and a killed run's
 * temporary file beside that target is removed as those in the directory.
 */
static int
follow_link(struct install_file *file, char *err, size_t errlen)
{
	char *target;
	int rc;

	if (!file->follow_link || (rc = safefile_follow_link(file->path, &target, err, errlen)) == 0)
		return 0;
	if (rc < 0)
		return -1;
	g_free(file->path);
	g_free(file->text_dir);
	file->path = target;
	file->text_dir = g_path_get_dirname(target);
	install_clean_dir(NULL, file->text_dir, file->name);
	return 0;
}

static int
check_file(struct install_file *file, bool replacing, char *err, size_t errlen)
{
	char *db = db_path(file);
	int rc = follow_link(file, err, errlen);

	if (rc == 0 && !file->policy)
		rc = check_name(file->path, replacing, err, errlen);
	if (rc == 0 && file->has_db)
		rc = check_name(db, replacing, err, errlen);
	g_free(db);
	return rc;
}

int
install_survey(struct install_set *set, bool replacing, char *err, size_t errlen)
{
	char *path = g_build_filename(set->dir, INSTALL_STATE, NULL), *text = NULL;
	size_t len;
	int rc = 0;

	for (unsigned i = 0; i < set->nfiles && rc == 0; i++)
		rc = check_file(&set->files[i], replacing, err, errlen);
	if (rc == 0 && check_name(path, replacing, err, errlen) < 0)
		rc = -1;
	if (rc == 0 && safefile_read(path, SAFEFILE_NO_CAP, &text, &len, err, errlen) < 0)
		rc = -1;
	if (rc == 0)
		state_parse(&set->old, text);
	g_free(text);
	g_free(path);
	return rc;
}

/* ---- the state file ---- */

/* Is every change this run meant for file in place (always, unless it failed half-way)? */
static bool
settled(const struct install_file *file)
{
	return (!file->text_changed || file->text_installed) && (!file->db_changed || file->db_installed);
}

static void
state_add_file(struct state *state, const char *label, const char *path)
{
	char *identity = state_identity(path);

	if (identity)
		g_hash_table_replace(state->files, g_strdup(label), identity);
}

/* What the state file should say about the directory as it is now. */
static void
state_now(const struct install_set *set, struct state *now)
{
	now->version = g_strdup(PACKAGE_VERSION);
	now->digest = g_strdup(set->partial ? STATE_INCOMPLETE : set->digest);
	now->layout = g_strdup(set->layout);
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *db = db_path(file), *label = db_label(file);

		/* A file left half-way gets no line: no rerun may take its .db for its text's. */
		if (settled(file)) {
			if (!file->policy)
				state_add_file(now, file->name, file->path);
			if (file->has_db)
				state_add_file(now, label, db);
		}
		g_free(db);
		g_free(label);
	}
}

bool
install_unchanged(struct install_set *set)
{
	struct state now;
	bool same;

	state_init(&now);
	state_now(set, &now);
	same = state_unchanged(&set->old, &now);
	state_free(&now);
	return same;
}

/* True when the old state recorded both the text and the .db as they are now. */
static bool
vouched(const struct install_set *set, const struct install_file *file)
{
	char *db = db_path(file), *label = db_label(file);
	char *text_now = state_identity(file->path), *db_now = state_identity(db);
	bool ok = state_vouches(&set->old, file->name, text_now, label, db_now);

	g_free(text_now);
	g_free(db_now);
	g_free(db);
	g_free(label);
	return ok;
}

/* ---- deciding what changes ---- */

static bool built_early(const struct install_set *set, const struct install_file *file);

static bool
text_differs(const struct install_file *file)
{
	char *old = NULL, err[256];
	size_t len = 0;
	bool differs;

	if (safefile_read(file->path, SAFEFILE_NO_CAP, &old, &len, err, sizeof(err)) != SAFEFILE_OK)
		return true;
	differs = len != file->text->len || memcmp(old, file->text->str, len) != 0;
	g_free(old);
	return differs;
}

static bool
install_policy_differs(const struct install_file *file)
{
	char err[256], *value = NULL;
	size_t len = 0;
	struct dbmap_reader *reader;
	bool differs = true;

	/* install_survey checked the name; look again right before Berkeley DB opens it. */
	if (safefile_check_target(file->path, false, err, sizeof(err)) < 0 || access(file->path, F_OK) < 0)
		return true;
	if (!(reader = dbmap_open(file->path, err, sizeof(err))))
		return true;
	if (dbmap_get(reader, POLICY_KEY_DIGEST, strlen(POLICY_KEY_DIGEST), &value, &len) == 0)
		differs = len != strlen(file->records->digest) || memcmp(value, file->records->digest, len) != 0;
	free(value);
	dbmap_close(reader);
	return differs;
}

static void
compare_text(struct install_set *set, struct install_file *file)
{
	file->text_changed = text_differs(file);
	if (file->has_db)
		file->db_changed = file->text_changed || !vouched(set, file);
}

void
install_compare(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];

		if (built_early(set, file))
			continue;
		if (file->policy)
			file->db_changed = install_policy_differs(file);
		else
			compare_text(set, file);
	}
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

/*
 * DIR/.NAME.hostmapgen-tmp.RANDOM: no other process can guess the name
 * and put something there first (nor would O_EXCL let it count), and a
 * killed run's leftovers never stand in a later run's way, whatever its
 * pid (always 1 in a container).  Berkeley DB makes its own temporary file
 * from this name, which inherits both properties.
 */
static char *
tmp_path(const char *dir, const char *name)
{
	guint64 random;

	if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random))
		random = g_random_int() ^ ((guint64)g_random_int() << 32);
	return g_strdup_printf("%s/.%s" TMP_MARK "%016" G_GINT64_MODIFIER "x", dir, name, random);
}

/* Owner and mode of the regular file being replaced, or NULL when there is none. */
static const struct stat *
old_attributes(const char *path, struct stat *st)
{
	return lstat(path, st) == 0 && S_ISREG(st->st_mode) ? st : NULL;
}

static int
write_all(int fd, const char *data, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno != EINTR)
			return -1;
		done += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* A new temporary file beside target holding data, flushed, with like's owner and mode; its name or NULL. */
static char *
write_tmp(const char *dir, const char *name, const char *data, size_t len, const struct stat *like,
	  char *err, size_t errlen)
{
	char *tmp = tmp_path(dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		goto fail;
	if (like && (fchown(fd, like->st_uid, like->st_gid) < 0 && errno != EPERM))
		goto fail_fd;
	if (like && fchmod(fd, like->st_mode & 07777) < 0)
		goto fail_fd;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto fail_fd;
	if (close(fd) == 0)
		return tmp;
	fd = -1;
fail_fd:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	g_free(tmp);
	return NULL;
fail:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	g_free(tmp);
	return NULL;
}

static int
write_text(struct install_set *set, struct install_file *file, char *err, size_t errlen)
{
	struct stat st;
	const struct stat *like = old_attributes(file->path, &st);

	file->tmp_text = write_tmp(file->text_dir, file->name, file->text->str, file->text->len, like, err, errlen);
	return file->tmp_text ? 0 : -1;
}

struct policy_build {
	struct dbmap_writer *writer;
};

static int
install_policy_store(const char *key, size_t keylen, const char *value, size_t valuelen, void *context)
{
	struct policy_build *build = context;

	/* The records stay until install_commit is over: queued without a copy. */
	return dbmap_put_ref(build->writer, key, keylen, value, valuelen) == 0 ? 0 : -1;
}

static int
write_policy(struct install_file *file, const struct stat *like, char *err, size_t errlen)
{
	const struct policy_records *records = file->records;
	struct policy_build build;

	build.writer = dbmap_create(file->tmp_db, records->count + 1, records->data->len, err, errlen);
	if (!build.writer)
		return -1;
	if (emit_policy_records_each(records, install_policy_store, &build) != 0
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
	char *target = db_path(file), *label = db_label(file);
	struct stat st;
	const struct stat *like = old_attributes(target, &st);
	int rc;

	file->tmp_db = tmp_path(set->dir, label);
	g_free(target);
	g_free(label);
	if (file->policy)
		rc = write_policy(file, like, err, errlen);
	else
		rc = textmap_write_db(file->style, file->name, file->text->str, file->text->len,
				      file->tmp_db, like, err, errlen);
	if (rc < 0) {
		install_unlink_bdb_tmp(file->tmp_db);	/* the writer removed what it made, but not Berkeley DB's */
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

/* A database built ahead, from install_start_policy or install_start_texts. */
struct early_build {
	bool started;		/* its changes were decided there, and a build started if it changed */
	GThread *thread;	/* NULL: nothing to build */
	struct db_job job;
};

/* One slot per file, each written only by the thread that starts its build. */
struct install_early {
	struct early_build builds[INSTALL_MAX_FILES];
};

static struct install_early *
early_new(void)
{
	return g_new0(struct install_early, 1);
}

static struct early_build *
early_of(const struct install_set *set, const struct install_file *file)
{
	return &set->early->builds[file - set->files];
}

/* Whether file's database is built ahead (its changes decided there). */
static bool
built_early(const struct install_set *set, const struct install_file *file)
{
	return early_of(set, file)->started;
}

static void
start_early(struct install_set *set, struct install_file *file)
{
	struct early_build *build = early_of(set, file);

	build->started = true;
	if (!file->db_changed)
		return;		/* nothing to build */
	build->job = (struct db_job){ .set = set, .file = file };
	build->thread = g_thread_new(file->name, db_job_run, &build->job);
}

static struct install_file *
install_policy_file(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++)
		if (set->files[i].policy)
			return &set->files[i];
	return NULL;
}

void
install_start_policy(struct install_set *set, const struct policy_records *records)
{
	struct install_file *file = install_policy_file(set);

	if (!file || built_early(set, file))
		return;
	file->records = records;
	file->db_changed = install_policy_differs(file);
	start_early(set, file);
}

static void compare_text(struct install_set *set, struct install_file *file);

void
install_start_texts(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		struct install_file *file = &set->files[i];

		if (file->policy || !file->has_db || !file->text || built_early(set, file))
			continue;
		compare_text(set, file);
		start_early(set, file);
	}
}

/* 0 when the early builds are done (or there were none); -1 with err (the first failure's) when one failed. */
static int
install_join_early(struct install_set *set, char *err, size_t errlen)
{
	int rc = 0;

	for (unsigned i = 0; i < set->nfiles; i++) {
		struct early_build *build = &set->early->builds[i];

		if (!build->thread)
			continue;
		g_thread_join(build->thread);
		build->thread = NULL;
		if (build->job.rc < 0 && rc == 0) {
			g_strlcpy(err, build->job.err, errlen);
			rc = -1;
		}
		build->job.rc = 0;	/* reported once */
	}
	return rc;
}

void
install_abandon(struct install_set *set)
{
	char err[16];

	install_join_early(set, err, sizeof(err));
	for (unsigned i = 0; i < set->nfiles; i++)
		if (set->early->builds[i].started) {
			install_unlink_tmp(&set->files[i]);
			set->early->builds[i].started = false;
		}
}

/*
 * The .db files are independent Berkeley DB handles, each used by one
 * thread only, so they are built side by side (hostmilter.db perhaps
 * already under way: install_start_policy), from the texts in memory,
 * while this thread writes and flushes the texts' temporary files.
 */
static int
prepare_all(struct install_set *set, char *err, size_t errlen)
{
	struct db_job jobs[G_N_ELEMENTS(set->files)];
	GThread *threads[G_N_ELEMENTS(set->files)];
	char spare[1024];
	unsigned n = 0;
	int rc = 0;

	for (unsigned i = 0; i < set->nfiles; i++) {
		if (!set->files[i].db_changed || built_early(set, &set->files[i]))
			continue;
		jobs[n] = (struct db_job){ .set = set, .file = &set->files[i] };
		threads[n] = g_thread_new(set->files[i].name, db_job_run, &jobs[n]);
		n++;
	}
	for (unsigned i = 0; i < set->nfiles && rc == 0; i++)
		if (set->files[i].text_changed && write_text(set, &set->files[i], err, errlen) < 0)
			rc = -1;
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

/* The output directory, and any other a followed link put a text in. */
static void
sync_dirs(const struct install_set *set)
{
	for (unsigned i = 0; i <= set->nfiles; i++) {
		const char *dir = i < set->nfiles ? set->files[i].text_dir : set->dir;

		if (i < set->nfiles && strcmp(dir, set->dir) == 0)
			continue;
		if (sync_dir(dir) < 0)
			msg_warn("cannot sync %s: %s; a crash may lose what was renamed", dir, strerror(errno));
	}
}

/* Every target is still one rename can replace; checked again now that the run is about to. */
static int
check_targets(const struct install_set *set, char *err, size_t errlen)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *db = db_path(file);
		int rc = 0;

		if (file->tmp_text)
			rc = safefile_check_target(file->path, true, err, errlen);
		if (rc == 0 && file->tmp_db)
			rc = safefile_check_target(db, true, err, errlen);
		g_free(db);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Renames *tmp over target; the temporary name is gone either way. */
static int
install_one(char **tmp, const char *target, const char *label, char *err, size_t errlen)
{
	int rc = rename(*tmp, target);

	if (rc < 0) {
		snprintf(err, errlen, "rename to %s: %s", target, strerror(errno));
		unlink(*tmp);
	}
	g_free(*tmp);
	*tmp = NULL;
	if (rc == 0)
		install_pause("renamed", label);
	return rc;
}

/*
 * A database's modification time not older than its text's, once the text is renamed into place.
 * Debian's /etc/mail/Makefile (run by its init script and by sendmail-reload) rebuilds a .db whose text
 * is newer, and rebuilds aliases.db with mode 0644 whatever mode the admin gave it; the text is written
 * after a database built ahead, so without this the next make redoes (and re-modes) what we just wrote.
 * Touches the new database before its rename, or the installed one when its content did not change.
 */
static void
db_not_older_than_text(const struct install_file *file, const char *db)
{
	const char *path = file->tmp_db ? file->tmp_db : db;
	struct stat st;

	if (file->policy || !file->has_db || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) < 0)
		msg_warn("cannot update the time of %s: %s; make may rebuild it", path, strerror(errno));
}

/* Renames until the first failure (*failed); returns how many renames succeeded. */
static unsigned
rename_all(struct install_set *set, bool *failed, char *err, size_t errlen)
{
	unsigned renamed = 0;

	*failed = false;
	for (unsigned i = 0; i < set->nfiles && !*failed; i++) {
		struct install_file *file = &set->files[i];
		char *db = db_path(file), *label = db_label(file);

		if (file->tmp_text) {
			file->text_installed = install_one(&file->tmp_text, file->path, file->name, err, errlen) == 0;
			*failed = !file->text_installed;
			renamed += file->text_installed;
			if (file->text_installed)
				db_not_older_than_text(file, db);
		}
		if (!*failed && file->tmp_db) {
			file->db_installed = install_one(&file->tmp_db, db, label, err, errlen) == 0;
			*failed = !file->db_installed;
			renamed += file->db_installed;
		}
		g_free(db);
		g_free(label);
	}
	return renamed;
}

static void
unlink_all_tmp(struct install_set *set)
{
	for (unsigned i = 0; i < set->nfiles; i++)
		install_unlink_tmp(&set->files[i]);
}

enum install_result
install_commit(struct install_set *set, char *err, size_t errlen)
{
	unsigned renamed;
	bool failed;

	if (prepare_all(set, err, errlen) < 0 || check_targets(set, err, errlen) < 0) {
		install_abandon(set);	/* waits for hostmilter.db's build before removing its file */
		unlink_all_tmp(set);
		return INSTALL_NOTHING;
	}
	install_pause("written", NULL);
	renamed = rename_all(set, &failed, err, errlen);
	unlink_all_tmp(set);	/* after a failure, those never to be renamed */
	if (failed && renamed == 0)
		return INSTALL_NOTHING;
	sync_dirs(set);
	if (failed) {
		set->partial = true;
		return INSTALL_PARTIAL;
	}
	install_pause("installed", NULL);
	return INSTALL_DONE;
}

void
install_list(const struct install_set *set, bool installed, GString *out)
{
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *label = db_label(file);

		if (!file->policy && file->text_changed && file->text_installed == installed)
			g_string_append_printf(out, " %s", file->name);
		if (file->db_changed && file->db_installed == installed)
			g_string_append_printf(out, " %s", label);
		g_free(label);
	}
}

/* ---- reloads ---- */

unsigned
install_reload_due(struct install_set *set, GString *names)
{
	g_hash_table_remove_all(set->reload_now);
	for (unsigned i = 0; i < set->nfiles; i++) {
		const struct install_file *file = &set->files[i];
		char *now;

		if (!file->reload)
			continue;
		now = state_identity(file->path);
		if (state_reload_due(&set->old, file->name, now)) {
			g_string_append_printf(names, "%s%s", names->len ? " " : "", file->name);
			g_hash_table_replace(set->reload_now, g_strdup(file->name), now);
		} else {
			g_free(now);
		}
	}
	return g_hash_table_size(set->reload_now);
}

void
install_reload_keep_due(struct install_set *set, const char *name)
{
	g_hash_table_remove(set->reload_now, name);
}

void
install_reload_covered(struct install_set *set)
{
	GHashTableIter iter;
	gpointer name, identity;

	g_hash_table_iter_init(&iter, set->reload_now);
	while (g_hash_table_iter_next(&iter, &name, &identity))
		g_hash_table_replace(set->reload_covered, g_strdup(name), g_strdup(identity));
}

/* The old state's reload lines, updated with what this run's reload covered. */
static void
state_reloads(const struct install_set *set, struct state *now)
{
	GHashTableIter iter;
	gpointer name, identity;

	g_hash_table_iter_init(&iter, set->old.reloaded);
	while (g_hash_table_iter_next(&iter, &name, &identity))
		g_hash_table_replace(now->reloaded, g_strdup(name), g_strdup(identity));
	g_hash_table_iter_init(&iter, set->reload_covered);
	while (g_hash_table_iter_next(&iter, &name, &identity))
		g_hash_table_replace(now->reloaded, g_strdup(name), g_strdup(identity));
}

int
install_record(struct install_set *set)
{
	char *path = g_build_filename(set->dir, INSTALL_STATE, NULL), *tmp, err[1024];
	struct state now;
	GString *text;
	int rc = 0;

	state_init(&now);
	state_now(set, &now);
	state_reloads(set, &now);
	text = state_format(&now);
	tmp = write_tmp(set->dir, INSTALL_STATE + 1, text->str, text->len, NULL, err, sizeof(err));
	if (!tmp || rename(tmp, path) < 0 || sync_dir(set->dir) < 0) {
		install_warn(set, RC_STATE_NOT_RECORDED, "cannot record the state in %s: %s", path,
			     tmp ? strerror(errno) : err);
		if (tmp)
			unlink(tmp);
		rc = -1;
	}
	g_free(tmp);
	g_string_free(text, TRUE);
	state_free(&now);
	g_free(path);
	return rc;
}
