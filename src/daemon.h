/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sync daemon (DESIGN.md §6): one process, one epoll loop over a signalfd (SIGTERM, SIGINT,
 * SIGHUP, and SIGCHLD for the one rsync that may be running), one timerfd, the watcher's
 * fds and /proc/self/mountinfo (POLLPRI on mount changes). No threads, no polling: with
 * nothing pending the timer is disarmed and the process sleeps in epoll_wait until
 * something happens.
 *
 * Each item (the ESP item, each sync list entry) is scheduled by sched.h from the events on
 * its source tree; a round syncs it to each of its destinations through sync.h, one rsync at
 * a time. Mount changes rebuild the ESP model and the plan, keeping the state of items that
 * did not change; a destination that comes back is synced; a source that was unmounted is
 * watched again when it returns. SIGHUP reloads the config (an invalid one is reported and
 * the old one kept); SIGTERM/SIGINT run pending syncs at once, then exit.
 */

#include <stdbool.h>

#include "config.h"

struct daemon_args {
        const char *config_path;
        bool config_given;
        bool test;  /* rsync -n, nothing written */
        bool force; /* rollback guard off (for the first round only) */
};

/* Runs until SIGTERM/SIGINT. Takes ownership of cfg. Returns the exit status: 0 when the
 * final syncs succeeded, 1 otherwise or when the daemon could not start. */
int daemon_run(struct config *cfg, const struct daemon_args *args);
