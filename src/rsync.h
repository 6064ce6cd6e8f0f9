/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rsync, the copy engine (DESIGN.md §5): argv built fresh for every run, exec'd directly (never
 * through a shell) in its own process group, waited for with a time limit.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ignore.h"
#include "util/time-util.h"

/* Always added to the user's rsync_opts (DESIGN.md §5). */
#define RSYNC_BASE_OPTS                                                                            \
        "--no-specials", "--atimes", "--open-noatime", "--exclude=" IGNORED_LOST_FOUND
#define RSYNC_ALWAYS_OPTS RSYNC_BASE_OPTS, "--delete"

/*
 * argv = rsync_path, the user's options, RSYNC_ALWAYS_OPTS, "-n -i" (itemized) in test
 * mode, then with
 * exact duplicates and short-flag bundles whose every flag was already given removed (order
 * kept), one --exclude= per exclusion, source, destination. A new vector every call: nothing
 * is shared between runs, so exclusions can never accumulate (DESIGN.md §5 rule 5).
 */
int rsync_build_argv(const char *rsync_path, char *const *opts, char *const *excludes, bool test,
                     const char *source, const char *dest, char ***ret);

/* rsync_build_argv with more: extra options after RSYNC_BASE_OPTS (and before the test
 * mode's), filter words (e.g. "--include=/loader/") after the exclusions, and --delete only
 * when delete (a "--delete" in opts is then dropped too). */
int rsync_build_argv_full(const char *rsync_path, char *const *opts, char *const *extra,
                          char *const *excludes, char *const *filters, bool test, bool delete,
                          const char *source, const char *dest, char ***ret);

/* argv as one line a user could paste into a shell (words quoted where needed). */
char *rsync_argv_to_string(char *const *argv);

struct rsync_child {
        pid_t pid;      /* also the process group: kill(-pid, ...) reaches rsync's helpers */
        usec_t started; /* CLOCK_MONOTONIC */
};

/* The signals rsync_wait() waits for: the caller blocks them (sigprocmask) before
 * rsync_spawn(), so none is lost between the spawn and the wait. */
void rsync_wait_signals(sigset_t *ret);

/*
 * Starts argv[0] (exec'd with argv, never through a shell) under a small runner process of
 * our own: own process group, signal mask cleared and SIGTERM, SIGINT, SIGHUP, SIGPIPE,
 * SIGCHLD at their defaults in rsync (the daemon blocks them for signalfd), stdin from
 * /dev/null, stdout and stderr inherited. The runner and rsync die with their parent
 * (PR_SET_PDEATHSIG): a killed tool leaves no rsync writing on. Returns 0, or -errno with
 * *why (e.g. "cannot run '/usr/bin/rsync': No such file or directory").
 */
int rsync_spawn(char *const *argv, struct rsync_child *ret, char **why);
/* The same with rsync's stdout on stdout_fd (-1: inherited). */
int rsync_spawn_to(char *const *argv, int stdout_fd, struct rsync_child *ret, char **why);

/* The child's descriptor for the source directory given to rsync_spawn_in(): rsync reads
 * it as RSYNC_SOURCE_FD_PATH. */
#define RSYNC_SOURCE_FD 3
#define RSYNC_SOURCE_FD_PATH "/proc/self/fd/3/"

/* The child's descriptor for the destination's lock (see rsync_spawn_passes). */
#define RSYNC_LOCK_FD 4
/* The child's exit status when flushing the destination between two runs failed. */
#define RSYNC_STATUS_FLUSH_FAILED 122

/* rsync_spawn_to() working in directories held open rather than named: the child starts in
 * dst_fd (its argv names the destination ".") with src_fd as RSYNC_SOURCE_FD (its argv names
 * the source RSYNC_SOURCE_FD_PATH), so an unmount of either path meanwhile cannot send
 * rsync to the directory underneath. */
int rsync_spawn_in(char *const *argv, int stdout_fd, int src_fd, int dst_fd,
                   struct rsync_child *ret, char **why);

/*
 * rsync_spawn_in() for several runs in a row (passes: a NULL-terminated list of argvs), one
 * after the other in the same child: the first that fails ends it, with that run's status
 * (exit code, or killed by the same signal), so rsync_wait()/rsync_reap() see it as one
 * rsync. lock_fd (or -1) is passed down as RSYNC_LOCK_FD to every rsync: a flock on it
 * stays held as long as any of them (or a helper it forked) still runs, even if we die
 * (DESIGN.md §5 rule 7). Only the first run's exec failure is reported here; a later one
 * ends the child with status 127. Each run has DUAL_ROOT_RSYNC_PASS=I/N in its environment.
 * With a lock_fd, its filesystem is flushed (syncfs) between two runs: what a run renamed
 * into place is on the disk before the next run starts (RSYNC_STATUS_FLUSH_FAILED if not).
 */
int rsync_spawn_passes(char *const *const *passes, int stdout_fd, int src_fd, int dst_fd,
                       int lock_fd, struct rsync_child *ret, char **why);

/* Work of our own the runner does after every run succeeded (no flush in between: it
 * flushes what it needs itself): run(userdata) in the runner process (a fork of ours: it sees our
 * memory as it was and the descriptors we had, stdout as the runs had it), its return value
 * the runner's exit status (0: all went well; 120-121 are free for its own meanings). */
struct rsync_after {
        int (*run)(void *userdata);
        void *userdata;
};
/* How the runner shows what rsync prints (NULL: rsync's stdout as it is). */
enum { RSYNC_PROGRESS_NONE, RSYNC_PROGRESS_TTY, RSYNC_PROGRESS_LOG };
struct rsync_show {
        /* or NULL: run i's output told on stdout worded by rsync_itemized_change(), each
         * line after "labels[i]: " (a dry run's list of changes) */
        char *const *labels;
        /* RSYNC_PROGRESS_*: --info=progress2 reports shown on stderr, on a terminal as one
         * line rewritten in place, in a log (the journal) a line a minute at most */
        int progress;
        const char *what; /* named in the progress line: "/efi0/ -> /efi1/" */
};
int rsync_spawn_passes_then(char *const *const *passes, const struct rsync_after *after,
                            const struct rsync_show *show, int stdout_fd, int src_fd, int dst_fd,
                            int lock_fd, struct rsync_child *ret, char **why);

/* One --info=progress2 report ("  1,234,567  45%   12.34MB/s    0:00:05 (xfr#3,
 * to-chk=2/40)"): false when s is not one. */
struct rsync_progress {
        uint64_t bytes;
        unsigned percent, files;
        char rate[24], left[24];
};
bool rsync_parse_progress(const char *s, struct rsync_progress *ret);
/* "copying WHAT: 1.2 MiB (45%), 3 files, 12.34MB/s, 0:00:05 left" */
int rsync_progress_line(const struct rsync_progress *p, const char *what, char **ret);

/* One line of rsync's --itemize-changes worded for a user: "create NAME", "replace NAME",
 * "delete NAME", "set attributes of NAME"; a line that is not an item as it is. Returns 1
 * with *ret, 0 for a line not worth telling (a directory's times), -ENOMEM. */
int rsync_itemized_change(const char *line, char **ret);

/* True when none of opts makes rsync print anything while all is well (no -v, --progress,
 * --stats, --info=, -i, --out-format= ...): then its stdout may be taken over (see sync.c). */
bool rsync_opts_quiet(char *const *opts);

/* True when the option o (one word) asks rsync for a dry run: -n in a short bundle (before
 * a letter taking an argument) or --dry-run. */
bool rsync_opt_dry_run(const char *o);

/* Non-blocking reap. Returns 1 with *ret_code and *ret_status (as waitid's si_code/si_status)
 * when the child has exited, 0 when it still runs, -errno on error. We are the only one who
 * reaps it, so its pid cannot be reused before this returns 1. */
int rsync_reap(struct rsync_child *c, int *ret_code, int *ret_status);

/* Sends sig to rsync's whole process group. */
void rsync_signal(const struct rsync_child *c, int sig);

/*
 * Blocks until the child exits or timeout (0 = none) passes; then SIGTERM to the group,
 * up to grace more, then SIGKILL. Always reaps. SIGINT, SIGTERM or SIGHUP arriving
 * meanwhile (blocked by the caller, see rsync_wait_signals) stop rsync the same way and
 * return -EINTR with *ret_signal. Returns 0, or -ETIMEDOUT when it had to be stopped
 * (code/status then tell how it died), or -errno.
 */
int rsync_wait(struct rsync_child *c, usec_t timeout, usec_t grace, int *ret_code, int *ret_status,
               int *ret_signal);

/* "exited with status 23 (partial transfer due to error)", "was killed by signal 9 (Killed)";
 * NULL on ENOMEM. */
char *rsync_status_to_string(int code, int status);
