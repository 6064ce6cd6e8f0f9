/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "rsync.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/progress.h"
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
        return rsync_build_argv_full(rsync_path, opts, NULL, excludes, NULL, test, true, source,
                                     dest, ret);
}

int rsync_build_argv_full(const char *rsync_path, char *const *opts, char *const *extra,
                          char *const *excludes, char *const *filters, bool test, bool delete,
                          const char *source, const char *dest, char ***ret)
{
        static const char *const always[] = { RSYNC_BASE_OPTS };
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
                if (!delete &&streq(*o, "--delete"))
                        continue; /* this run deletes nothing, or says how in extra */
                r = push_opt(&argv, *o, seen);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(always); i++) {
                r = push_opt(&argv, always[i], seen);
                if (r < 0)
                        return r;
        }
        if (delete) {
                r = push_opt(&argv, "--delete", seen);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(o, extra)
        {
                r = push_opt(&argv, *o, seen);
                if (r < 0)
                        return r;
        }
        if (test) {
                /* each change itemized (rsync_itemized_change() words it), no byte counts */
                r = push_opt(&argv, "-n", seen);
                if (r >= 0)
                        r = push_opt(&argv, "-i", seen);
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
        /* Filters after the exclusions: rsync's first matching rule wins. */
        STRV_FOREACH(f, filters)
        {
                r = strv_extend(&argv, *f);
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
        char *const *passes[] = { argv, NULL };

        return rsync_spawn_passes(passes, stdout_fd, src_fd, dst_fd, -1, ret, why);
}

/* The signals the runner and rsync get at their defaults, whatever the caller set. */
static const int default_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT };

static _noreturn_ void child_fail(int err_fd, int e)
{
        if (err_fd >= 0)
                (void)!write(err_fd, &e, sizeof(e));
        _exit(127);
}

/* In the runner, after fork: dies with its parent (it may have died already), and so do
 * the rsyncs it starts. */
static void die_with_parent(pid_t parent, int err_fd)
{
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                child_fail(err_fd, errno);
        if (getppid() != parent)
                _exit(127);
}

/* One rsync of the runner: its own fds and signals, then exec. Never returns. */
static _noreturn_ void exec_pass(char *const *argv, size_t nth, size_t n, pid_t runner, int err_fd)
{
        char pass[48];
        sigset_t empty;

        /* Which run of how many, for wrappers named by rsync_path (the tests use it). */
        snprintf(pass, sizeof(pass), "%zu/%zu", nth + 1, n);
        if (setenv("DUAL_ROOT_RSYNC_PASS", pass, 1) < 0)
                child_fail(err_fd, errno);

        for (size_t i = 0; i < ELEMENTSOF(default_signals); i++)
                (void)signal(default_signals[i], SIG_DFL);
        sigemptyset(&empty);
        (void)sigprocmask(SIG_SETMASK, &empty, NULL);
        die_with_parent(runner, err_fd);
        execve(argv[0], argv, environ);
        child_fail(err_fd, errno);
}

int rsync_itemized_change(const char *line, char **ret)
{
        const char *name, *what;
        char *out;

        *ret = NULL;
        if (startswith(line, "*deleting")) {
                name = line + strlen("*deleting");
                name += strspn(name, " ");
                what = "delete";
        } else if (strlen(line) > 12 && line[11] == ' ' && strchr("<>ch.", line[0]) &&
                   strchr("fdLDS", line[1])) {
                name = line + 12;
                if (strspn(line + 2, "+") == 9)
                        what = "create";
                else if (line[0] == '.' || line[0] == 'h')
                        /* times or modes only: directories' times are not worth a line */
                        what = line[1] == 'd' ? NULL : "set attributes of";
                else
                        what = "replace";
                if (!what)
                        return 0;
        } else
                return asprintf(ret, "%s", line) < 0 ? -ENOMEM : 1;
        if (asprintf(&out, "%s %s", what, name) < 0)
                return -ENOMEM;
        *ret = out;
        return 1;
}

bool rsync_parse_progress(const char *s, struct rsync_progress *ret)
{
        struct rsync_progress p = {};
        const char *c = s + strspn(s, " ");
        size_t n;

        if (!(*c >= '0' && *c <= '9'))
                return false;
        for (; (*c >= '0' && *c <= '9') || *c == ','; c++)
                if (*c != ',') {
                        if (p.bytes > (UINT64_MAX - 9) / 10)
                                return false;
                        p.bytes = p.bytes * 10 + (uint64_t)(*c - '0');
                }
        c += strspn(c, " ");
        if (!(*c >= '0' && *c <= '9'))
                return false;
        for (; *c >= '0' && *c <= '9'; c++)
                p.percent = p.percent * 10 + (unsigned)(*c - '0');
        if (*c++ != '%' || p.percent > 100)
                return false;
        c += strspn(c, " ");
        n = strcspn(c, " ");
        if (n == 0 || n >= sizeof(p.rate) || !strstr(c, "/s"))
                return false;
        memcpy(p.rate, c, n);
        c += n + strspn(c + n, " ");
        n = strcspn(c, " ");
        if (n == 0 || n >= sizeof(p.left) || !strchr(c, ':'))
                return false;
        memcpy(p.left, c, n);
        c += n;
        c += strspn(c, " ");
        if (startswith(c, "(xfr#"))
                p.files = (unsigned)strtoul(c + 5, NULL, 10);
        *ret = p;
        return true;
}

int rsync_progress_line(const struct rsync_progress *p, const char *what, char **ret)
{
        double mib = (double)p->bytes / (1024.0 * 1024.0);

        return asprintf(ret, "copying %s: %.1f MiB (%u%%), %u file%s, %s, %s left", what, mib,
                        p->percent, p->files, p->files == 1 ? "" : "s", p->rate, p->left) < 0
                       ? -ENOMEM
                       : 0;
}

/* In the runner: what run i's rsync printed on fd. Progress reports (--info=progress2) are
 * shown on stderr (util/progress.h): on a terminal as one line rewritten in place, in a log at
 * most one line a minute. Other lines go to stdout: worded after "label: " with a label (a dry
 * run's changes, rsync_itemized_change()), else as they are (an itemized list for the
 * caller). */
static void relay(int fd, const char *label, const struct rsync_show *show)
{
        _cleanup_fclose_ FILE *in = fdopen(fd, "r");
        struct progress prog;
        char *line = NULL;
        size_t size = 0, len = 0;
        int ch;

        if (!in) {
                close(fd);
                return;
        }
        progress_begin_lines(&prog, show->progress != RSYNC_PROGRESS_NONE ? stderr : NULL,
                             show->progress == RSYNC_PROGRESS_TTY, now_usec(CLOCK_MONOTONIC));
        for (;;) {
                struct rsync_progress p;

                ch = getc(in);
                if (ch != EOF && ch != '\r' && ch != '\n') {
                        if (len + 2 > size) {
                                char *t = realloc(line, size ? 2 * size : 256);

                                if (!t)
                                        break;
                                line = t;
                                size = size ? 2 * size : 256;
                        }
                        line[len++] = (char)ch;
                        continue;
                }
                if (line)
                        line[len] = 0;
                if (len > 0 && show->progress != RSYNC_PROGRESS_NONE &&
                    rsync_parse_progress(line, &p)) {
                        _cleanup_free_ char *said = NULL;

                        if (rsync_progress_line(&p, show->what ? show->what : "", &said) >= 0)
                                progress_show(&prog, said, now_usec(CLOCK_MONOTONIC));
                } else if (len > 0 || ch == '\n') {
                        _cleanup_free_ char *said = NULL;

                        progress_clear(&prog);
                        if (!label)
                                (void)!dprintf(STDOUT_FILENO, "%s\n", line ? line : "");
                        else if (len > 0 && rsync_itemized_change(line, &said) > 0)
                                (void)!dprintf(STDOUT_FILENO, "%s: %s\n", label, said);
                }
                len = 0;
                if (ch == EOF)
                        break;
        }
        progress_clear(&prog);
        free(line);
}

/* The runner: each pass in turn, the first failure ends it with that pass's status (the
 * same exit code, or killed by the same signal). Never returns. */
static _noreturn_ void run_passes(char *const *const *passes, const struct rsync_after *after,
                                  const struct rsync_show *show, bool flush, int err_fd)
{
        pid_t self = getpid();
        size_t n = 0;

        while (passes[n])
                n++;
        for (size_t i = 0; passes[i]; i++) {
                siginfo_t si = {};
                int out[2] = { -1, -1 };
                const char *label = show && show->labels ? show->labels[i] : NULL;
                pid_t pid;

                if ((label || (show && show->progress != RSYNC_PROGRESS_NONE)) &&
                    pipe2(out, O_CLOEXEC) < 0)
                        child_fail(i == 0 ? err_fd : -1, errno);
                pid = fork();
                if (pid < 0)
                        child_fail(i == 0 ? err_fd : -1, errno);
                if (pid == 0) {
                        if (out[1] >= 0 && dup2(out[1], STDOUT_FILENO) < 0)
                                child_fail(i == 0 ? err_fd : -1, errno);
                        exec_pass(passes[i], i, n, self, i == 0 ? err_fd : -1);
                }
                if (i == 0 && err_fd >= 0) {
                        close(err_fd); /* the parent reads EOF once the first exec worked */
                        err_fd = -1;
                }
                if (out[1] >= 0) {
                        close(out[1]);
                        relay(out[0], label, show); /* until rsync (and its helpers) close it */
                }
                while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
                        if (errno != EINTR)
                                _exit(127);
                /* What one run renamed into place is on the disk before the next starts:
                 * a power cut must not keep a later run's entries and lose an earlier run's
                 * files (FAT puts a rename on the disk with the file, whenever that is). */
                if (si.si_code == CLD_EXITED && si.si_status == 0 && flush && passes[i + 1] &&
                    syncfs(RSYNC_LOCK_FD) < 0)
                        _exit(RSYNC_STATUS_FLUSH_FAILED);
                if (si.si_code == CLD_EXITED && si.si_status == 0)
                        continue;
                if (si.si_code == CLD_EXITED)
                        _exit(si.si_status);
                /* Killed: so is the runner, by the same signal. */
                (void)signal(si.si_status, SIG_DFL);
                (void)raise(si.si_status);
                _exit(128 + si.si_status);
        }
        if (err_fd >= 0)
                close(err_fd); /* no rsync: the parent reads EOF, the runner is set up */
        /* The in-process part of the copy, in this process of the group: stopped, timed
         * and holding the lock as the rsyncs were. */
        _exit(after ? after->run(after->userdata) : 0);
}

int rsync_spawn_passes(char *const *const *passes, int stdout_fd, int src_fd, int dst_fd,
                       int lock_fd, struct rsync_child *ret, char **why)
{
        return rsync_spawn_passes_then(passes, NULL, NULL, stdout_fd, src_fd, dst_fd, lock_fd, ret,
                                       why);
}

int rsync_spawn_passes_then(char *const *const *passes, const struct rsync_after *after,
                            const struct rsync_show *show, int stdout_fd, int src_fd, int dst_fd,
                            int lock_fd, struct rsync_child *ret, char **why)
{
        /* The descriptors the child keeps, first above the ones it sets up, so its dup2s
         * make new ones (without close-on-exec) whatever numbers they had. */
        _cleanup_close_ int src_high = -1, lock_high = -1, null_fd = -1;
        int err_pipe[2] = { -1, -1 }, e = 0, r;
        pid_t parent = getpid(), pid;
        ssize_t n;

        /* none: the runner only runs after (an in-process copy, DESIGN.md §5 rule 9) */
        const char *name = passes[0] ? passes[0][0] : "the copy";

        if (passes[0] ? !passes[0][0] : !after)
                return errmsg(why, -EINVAL, "no rsync to run");
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return errmsg(why, negative_errno(), "cannot open /dev/null: %m");
        if (src_fd >= 0 && (src_high = fcntl(src_fd, F_DUPFD_CLOEXEC, RSYNC_LOCK_FD + 1)) < 0)
                return errmsg(why, negative_errno(), "cannot prepare to run '%s': %m", name);
        if (lock_fd >= 0 && (lock_high = fcntl(lock_fd, F_DUPFD_CLOEXEC, RSYNC_LOCK_FD + 1)) < 0)
                return errmsg(why, negative_errno(), "cannot prepare to run '%s': %m", name);
        if (pipe2(err_pipe, O_CLOEXEC) < 0)
                return errmsg(why, negative_errno(), "cannot prepare to run '%s': %m", name);

        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(err_pipe[0]);
                close(err_pipe[1]);
                return errmsg(why, r, "cannot run '%s': %s", name, strerror(-r));
        }
        if (pid == 0) {
                int w = err_pipe[1];

                close(err_pipe[0]);
                /* Its own process group: rsync_signal() reaches the runner and every rsync
                 * (and their helpers) at once. */
                if (setpgid(0, 0) < 0)
                        child_fail(w, errno);
                die_with_parent(parent, w);
                /* The runner survives the stop signals (rsync gets them too and may clean
                 * up), and reports how rsync ended; SIGKILL ends it. */
                (void)signal(SIGTERM, SIG_IGN);
                (void)signal(SIGINT, SIG_IGN);
                (void)signal(SIGHUP, SIG_IGN);
                (void)signal(SIGPIPE, SIG_DFL);
                (void)signal(SIGCHLD, SIG_DFL);
                {
                        sigset_t empty;

                        sigemptyset(&empty);
                        if (sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
                                child_fail(w, errno);
                }
                if (dup2(null_fd, STDIN_FILENO) < 0)
                        child_fail(w, errno);
                if (dst_fd >= 0 && fchdir(dst_fd) < 0)
                        child_fail(w, errno);
                if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0)
                        child_fail(w, errno);
                if (src_high >= 0 && dup2(src_high, RSYNC_SOURCE_FD) < 0)
                        child_fail(w, errno);
                /* DESIGN.md §5 rule 7: the lock goes wherever rsync goes. Every rsync
                 * process (and any helper it forks) holds it open, so it is held until the
                 * last of them is gone, not only as long as we live. */
                if (lock_high >= 0 && dup2(lock_high, RSYNC_LOCK_FD) < 0)
                        child_fail(w, errno);
                run_passes(passes, after, show, lock_high >= 0, w);
        }
        close(err_pipe[1]);
        /* Make sure of the group before anyone signals it (the child sets it too). */
        (void)setpgid(pid, pid);
        do
                n = read(err_pipe[0], &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        close(err_pipe[0]);
        if (n == sizeof(e)) {
                /* exec (or the set-up before it) failed: the runner exits 127. */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return errmsg(why, -e, "cannot run '%s': %s", name, strerror(e));
        }

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
        case RSYNC_STATUS_FLUSH_FAILED:
                return "flushing the destination between two runs failed";
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
