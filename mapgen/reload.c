/*
 * reload - the reload command with a deadline; see reload.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "reload.h"

extern char **environ;

static pid_t
reload_spawn(const char *command, const sigset_t *child_mask, int *err)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	pid_t pid = -1;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	/* A group of its own, so that a timeout reaches what the shell started. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, child_mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
	*err = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	return *err ? -1 : pid;
}

/*
 * Waits up to seconds (SIGCHLD blocked) for pid to exit; 1 when it has,
 * 0 when it still runs.  The child is left a zombie (WNOWAIT), so its pid,
 * and with it the process group's id, cannot be reused before the caller
 * has signalled the group and reaped it.
 */
static int
reload_wait(pid_t pid, unsigned seconds)
{
	uint64_t deadline = monotime_ms() + (uint64_t)seconds * 1000, now;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		struct timespec left;
		siginfo_t info = { 0 };

		if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
			return 1;
		if (info.si_pid == pid)
			return 1;
		if ((now = monotime_ms()) >= deadline)
			return 0;
		left.tv_sec = (time_t)((deadline - now) / 1000);
		left.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
		sigtimedwait(&chld, NULL, &left);	/* a SIGCHLD, or the deadline */
	}
}

static void
reload_describe(int status, char *why, size_t whylen)
{
	if (WIFEXITED(status))
		snprintf(why, whylen, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, whylen, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, whylen, "status %d", status);
}

int
reload_run(const char *command, unsigned timeout, char *why, size_t whylen)
{
	sigset_t chld, saved;
	int status = 0, err;
	pid_t pid;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &saved);
	pid = reload_spawn(command, &saved, &err);
	if (pid < 0) {
		snprintf(why, whylen, "cannot run /bin/sh: %s", strerror(err));
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return -1;
	}
	if (reload_wait(pid, timeout)) {
		waitpid(pid, &status, 0);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		reload_describe(status, why, whylen);
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	}
	kill(-pid, SIGTERM);
	reload_wait(pid, RELOAD_KILL_GRACE);
	kill(-pid, SIGKILL);	/* whatever of the group is left, the shell perhaps gone */
	waitpid(pid, &status, 0);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	snprintf(why, whylen, "still running after %u s; killed", timeout);
	return -1;
}
