/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Running a helper program (mkfs, mdadm, btrfs, udevadm) without a shell: argv[0] is a name
 * looked up in /usr/sbin, /usr/bin, /sbin and /bin only (never $PATH), stdin /dev/null, stdout
 * ours or /dev/null, stderr ours, the signal mask cleared. Returns -errno with *why (errmsg).
 */

#include <stdbool.h>
#include <sys/types.h>

/* The program's path in the system directories, or NULL (not installed, or ENOMEM). */
char *prog_find(const char *name);

/* Starts argv, its stdout on ours when show, else on /dev/null. */
int prog_spawn(char *const *argv, bool show, pid_t *ret, char **why);

/* Reaps pid (what: its command line, for messages), blocking unless nohang: 1 when it exited
 * 0, 0 when it still runs (nohang), else -errno with *why. */
int prog_reap(pid_t pid, const char *what, bool nohang, char **why);

/* prog_spawn, then prog_reap: 0 when it exited 0. */
int prog_run(char *const *argv, const char *what, bool show, char **why);
