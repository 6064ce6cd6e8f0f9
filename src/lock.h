/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One sync at a time per destination, across processes (DESIGN.md §5 rule 7): an exclusive
 * flock(2) on the destination directory itself. Every process that syncs into it (a one-shot
 * -s from a package hook, the daemon) takes the same lock; two paths reaching one directory
 * (bind mounts) share it; nothing is left behind by a crash, since the kernel drops the
 * lock with the last fd.
 */

#include "util/time-util.h"

/* Opens dir (O_DIRECTORY|O_CLOEXEC) and tries once to lock it. Returns the fd (>= 0),
 * -EWOULDBLOCK when another process holds the lock, or -errno. */
int lock_dir_try(const char *dir);

/* Like lock_dir_try, but waits up to timeout for the lock, checking every 50 ms.
 * -ETIMEDOUT when it stays held. */
int lock_dir_wait(const char *dir, usec_t timeout);
