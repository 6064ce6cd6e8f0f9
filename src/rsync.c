/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "rsync.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/strv.h"

extern char **environ;

/* rsync's short options that take an argument (rsync(1)): in "-B1024" the rest of the word
 * is the argument, not flags. */
static const char short_with_arg[] = "BefTM@";

static bool is_short_bundle(const char *w)
{
        return w[0] == '-' && w[1] && w[1] != '-';
}

/* True when every flag of a short bundle is in seen; adds them to seen either way. A bundle
 * with an argument is never redundant (its argument may differ). */
static bool bundle_redundant(const char *w, bool seen[256])
{
        bool all = true;

        for (const char *p = w + 1; *p; p++) {
                unsigned char c = (unsigned char)*p;

                if (strchr(short_with_arg, c))
                        return false;
                if (!seen[c])
                        all = false;
        }
        for (const char *p = w + 1; *p; p++)
                seen[(unsigned char)*p] = true;
        return all;
}

static int push_opt(char ***argv, const char *w, bool seen[256])
{
        if (strv_contains(*argv, w))
                return 0;
        if (is_short_bundle(w) && bundle_redundant(w, seen))
                return 0;
        return strv_extend(argv, w);
}

int rsync_build_argv(const char *rsync_path, char *const *opts, char *const *excludes, bool test,
                     const char *source, const char *dest, char ***ret)
{
        static const char *const always[] = { RSYNC_ALWAYS_OPTS };
        _cleanup_strv_free_ char **argv = calloc(1, sizeof(char *));
        bool seen[256] = {};
        int r;

        if (!argv)
                return -ENOMEM;
        r = strv_extend(&argv, rsync_path);
        if (r < 0)
                return r;
        STRV_FOREACH(o, opts)
        {
                r = push_opt(&argv, *o, seen);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(always); i++) {
                r = push_opt(&argv, always[i], seen);
                if (r < 0)
                        return r;
        }
        if (test) {
                r = push_opt(&argv, "-n", seen);
                if (r >= 0)
                        r = push_opt(&argv, "-v", seen);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(x, excludes)
        {
                _cleanup_free_ char *w = NULL;

                if (asprintf(&w, "--exclude=%s", *x) < 0)
                        return -ENOMEM;
                r = push_opt(&argv, w, seen);
                if (r < 0)
                        return r;
        }
        r = strv_extend(&argv, source);
        if (r >= 0)
                r = strv_extend(&argv, dest);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

static bool needs_quoting(const char *w)
{
        if (!*w)
                return true;
        for (const char *p = w; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "-_./=+,:@%",
                            *p))
                        return true;
        return false;
}

char *rsync_argv_to_string(char *const *argv)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        STRV_FOREACH(w, argv)
        {
                if (w != argv)
                        fputc(' ', f);
                if (!needs_quoting(*w)) {
                        fputs(*w, f);
                        continue;
                }
                fputc('\'', f);
                for (const char *p = *w; *p; p++) {
                        if (*p == '\'')
                                fputs("'\\''", f);
                        else
                                fputc(*p, f);
                }
                fputc('\'', f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void spawnattr_destroyp(posix_spawnattr_t **a)
{
        if (*a)
                posix_spawnattr_destroy(*a);
}

static void file_actions_destroyp(posix_spawn_file_actions_t **fa)
{
        if (*fa)
                posix_spawn_file_actions_destroy(*fa);
}

int rsync_spawn(char *const *argv, struct rsync_child *ret, char **why)
{
        return rsync_spawn_to(argv, -1, ret, why);
}

bool rsync_opt_dry_run(const char *o)
{
        if (o[0] == '-' && o[1] != '-') {
                for (const char *p = o + 1; *p && !strchr(short_with_arg, *p); p++)
                        if (*p == 'n')
                                return true;
                return false;
        }
        return streq(o, "--dry-run");
}

bool rsync_opts_quiet(char *const *opts)
{
        static const char *const loud[] = {
                "--verbose", "--progress",        "--stats",      "--info",
                "--debug",   "--itemize-changes", "--out-format", "--log-format",
                "--dry-run", "--list-only",       "--quiet", /* silences --itemize-changes too: no
                                                                list would not mean no change */
        };

        STRV_FOREACH(o, opts)
        {
                if ((*o)[0] == '-' && (*o)[1] != '-') {
                        /* short bundle: v, P, i, n print, q silences the list; stop at a
                         * letter taking an argument */
                        for (const char *p = *o + 1; *p && !strchr(short_with_arg, *p); p++)
                                if (strchr("vPinq", *p))
                                        return false;
                        continue;
                }
                for (size_t i = 0; i < ELEMENTSOF(loud); i++) {
                        const char *rest = startswith(*o, loud[i]);

                        if (rest && (!*rest || *rest == '='))
                                return false;
                }
        }
        return true;
}

int rsync_spawn_to(char *const *argv, int stdout_fd, struct rsync_child *ret, char **why)
{
        return rsync_spawn_in(argv, stdout_fd, -1, -1, ret, why);
}

int rsync_spawn_in(char *const *argv, int stdout_fd, int src_fd, int dst_fd,
                   struct rsync_child *ret, char **why)
{
        /* src_fd as a descriptor above the ones the child sets up, so dup2 makes a new one
         * (without close-on-exec) whatever number src_fd has. */
        _cleanup_close_ int src_high = -1;
        posix_spawnattr_t attr_storage;
        posix_spawn_file_actions_t fa_storage;
        /* These point at the storage above once it is initialised, so clean-up destroys
         * exactly what was set up. */
        _cleanup_(spawnattr_destroyp) posix_spawnattr_t *attr = NULL;
        _cleanup_(file_actions_destroyp) posix_spawn_file_actions_t *fa = NULL;
        sigset_t empty, defaults;
        pid_t pid;
        int r;

        r = posix_spawnattr_init(&attr_storage);
        if (r != 0)
                return errmsg(why, -r, "cannot prepare to run '%s': %s", argv[0], strerror(r));
        attr = &attr_storage;
        r = posix_spawn_file_actions_init(&fa_storage);
        if (r != 0)
                return errmsg(why, -r, "cannot prepare to run '%s': %s", argv[0], strerror(r));
        fa = &fa_storage;

        sigemptyset(&empty);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGHUP);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGCHLD);
        r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setpgroup(attr, 0);
        if (r == 0)
                r = posix_spawnattr_setsigmask(attr, &empty);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(attr, &defaults);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        /* First, while dst_fd is still what the caller opened: the dup2s below may reuse
         * its number. */
        if (r == 0 && dst_fd >= 0)
                r = posix_spawn_file_actions_addfchdir_np(fa, dst_fd);
        if (r == 0 && stdout_fd >= 0)
                r = posix_spawn_file_actions_adddup2(fa, stdout_fd, STDOUT_FILENO);
        if (r == 0 && src_fd >= 0) {
                src_high = fcntl(src_fd, F_DUPFD_CLOEXEC, RSYNC_SOURCE_FD + 1);
                r = src_high < 0 ? errno
                                 : posix_spawn_file_actions_adddup2(fa, src_high, RSYNC_SOURCE_FD);
        }
        if (r != 0)
                return errmsg(why, -r, "cannot prepare to run '%s': %s", argv[0], strerror(r));

        /* glibc's posix_spawn reports exec failures (ENOENT, EACCES, ...) as its result. */
        r = posix_spawn(&pid, argv[0], fa, attr, argv, environ);
        if (r != 0)
                return errmsg(why, -r, "cannot run '%s': %s", argv[0], strerror(r));

        *ret = (struct rsync_child){
                .pid = pid,
                .started = now_usec(CLOCK_MONOTONIC),
        };
        return 0;
}

void rsync_wait_signals(sigset_t *ret)
{
        sigemptyset(ret);
        sigaddset(ret, SIGCHLD);
        sigaddset(ret, SIGINT);
        sigaddset(ret, SIGTERM);
        sigaddset(ret, SIGHUP);
}

int rsync_reap(struct rsync_child *c, int *ret_code, int *ret_status)
{
        siginfo_t si = {};

        if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG) < 0)
                return negative_errno();
        if (si.si_pid == 0)
                return 0;
        *ret_code = si.si_code;
        *ret_status = si.si_status;
        return 1;
}

void rsync_signal(const struct rsync_child *c, int sig)
{
        (void)kill(-c->pid, sig);
}

/* Waits until the child is reaped (1), deadline passes (0), or a stop signal arrives (-EINTR,
 * *ret_signal set). Signals of rsync_wait_signals() must be blocked. */
static int wait_until(struct rsync_child *c, usec_t deadline, int *code, int *status,
                      int *ret_signal)
{
        sigset_t set;

        rsync_wait_signals(&set);
        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                struct timespec ts, *tsp = NULL;
                int r, sig;

                r = rsync_reap(c, code, status);
                if (r != 0)
                        return r;
                if (deadline != USEC_INFINITY) {
                        usec_t left = usec_sub(deadline, now);

                        if (left == 0)
                                return 0;
                        ts.tv_sec = (time_t)(left / USEC_PER_SEC);
                        ts.tv_nsec = (long)(left % USEC_PER_SEC) * 1000;
                        tsp = &ts;
                }
                sig = sigtimedwait(&set, NULL, tsp);
                if (sig < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (sig != SIGCHLD && ret_signal && *ret_signal == 0) {
                        *ret_signal = sig;
                        return -EINTR;
                }
        }
}

int rsync_wait(struct rsync_child *c, usec_t timeout, usec_t grace, int *ret_code, int *ret_status,
               int *ret_signal)
{
        usec_t deadline = timeout ? usec_add(now_usec(CLOCK_MONOTONIC), timeout) : USEC_INFINITY;
        int sig = 0, r;

        r = wait_until(c, deadline, ret_code, ret_status, &sig);
        if (r > 0)
                return 0;
        if (r < 0 && r != -EINTR)
                return r;

        /* Over time, or told to stop: the whole group, politely first. */
        rsync_signal(c, SIGTERM);
        r = wait_until(c, usec_add(now_usec(CLOCK_MONOTONIC), grace), ret_code, ret_status, NULL);
        if (r == 0) {
                rsync_signal(c, SIGKILL);
                r = wait_until(c, USEC_INFINITY, ret_code, ret_status, NULL);
        }
        if (r < 0)
                return r;
        /* Helpers rsync forked may outlive a killed parent: end the group too. */
        rsync_signal(c, SIGKILL);
        if (sig != 0) {
                if (ret_signal)
                        *ret_signal = sig;
                return -EINTR;
        }
        return -ETIMEDOUT;
}

/* rsync(1), EXIT VALUES. */
static const char *rsync_exit_meaning(int status)
{
        switch (status) {
        case 1:
                return "syntax or usage error";
        case 2:
                return "protocol incompatibility";
        case 3:
                return "errors selecting input/output files, dirs";
        case 4:
                return "requested action not supported";
        case 5:
                return "error starting client-server protocol";
        case 6:
                return "daemon unable to append to log-file";
        case 10:
                return "error in socket I/O";
        case 11:
                return "error in file I/O";
        case 12:
                return "error in rsync protocol data stream";
        case 13:
                return "errors with program diagnostics";
        case 14:
                return "error in IPC code";
        case 20:
                return "received SIGUSR1 or SIGINT";
        case 21:
                return "some error returned by waitpid()";
        case 22:
                return "error allocating core memory buffers";
        case 23:
                return "partial transfer due to error";
        case 24:
                return "partial transfer due to vanished source files";
        case 25:
                return "the --max-delete limit stopped deletions";
        case 30:
                return "timeout in data send/receive";
        case 35:
                return "timeout waiting for daemon connection";
        default:
                return NULL;
        }
}

char *rsync_status_to_string(int code, int status)
{
        char *s = NULL;
        int r;

        if (code == CLD_EXITED) {
                const char *m = rsync_exit_meaning(status);

                r = m ? asprintf(&s, "exited with status %d (%s)", status, m)
                      : asprintf(&s, "exited with status %d", status);
        } else if (code == CLD_KILLED || code == CLD_DUMPED) {
                r = asprintf(&s, "was killed by signal %d (%s)", status, strsignal(status));
        } else {
                r = asprintf(&s, "ended in an unexpected way (code %d, status %d)", code, status);
        }
        return r < 0 ? NULL : s;
}
