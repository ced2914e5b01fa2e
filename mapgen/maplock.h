/*
 * maplock - the exclusive lock that serializes hostmapgen runs on one
 * directory of maps.
 *
 * Promise: the lock file is used only when it is a regular file with one
 * name, not a symbolic link, owned by this user; its mode is tightened to
 * 0600 so that nobody else can open it to hold the lock.  Taking the lock
 * never waits more than the timeout given: it tries at once, and when
 * another process holds it, says which (pid, command, user, from
 * /proc/locks) and waits at most timeout seconds before giving up, naming
 * the holder again.  The lock lasts until the descriptor is closed.
 */
#ifndef HM_MAPLOCK_H
#define HM_MAPLOCK_H

#include <stddef.h>
#include <sys/types.h>

/* The lock's descriptor, or -1 with err. */
int maplock_acquire(const char *path, unsigned timeout, char *err, size_t errlen);
/* The pid holding a flock on device major:minor, inode ino, by the text
 * of /proc/locks; -1 when none is listed.  Waiters ("->") do not count. */
long maplock_holder_pid(const char *proc_locks, unsigned major, unsigned minor, unsigned long ino);

#endif
