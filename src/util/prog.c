/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/errmsg.h"
#include "util/macro.h"
#include "util/prog.h"

extern char **environ;

char *prog_find(const char *name)
{
        static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char *p;

                if (asprintf(&p, "%s/%s", dirs[i], name) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

int prog_spawn(char *const *argv, bool show, pid_t *ret, char **why)
{
        _cleanup_free_ char *path = prog_find(argv[0]);
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none;
        int r;

        if (!path)
                return errmsg(why, -ENOENT,
                              "cannot run %s: not installed in /usr/sbin, /usr/bin, /sbin or /bin",
                              argv[0]);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (!show)
                posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        fflush(stdout);
        r = posix_spawn(ret, path, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return errmsg(why, -r, "cannot run %s: %s", path, strerror(r));
        return 0;
}

int prog_reap(pid_t pid, const char *what, bool nohang, char **why)
{
        pid_t k;
        int st;

        while ((k = waitpid(pid, &st, nohang ? WNOHANG : 0)) < 0)
                if (errno != EINTR)
                        return errmsg(why, negative_errno(), "cannot wait for '%s': %m", strna(what));
        if (k == 0)
                return 0;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 1;
        if (WIFEXITED(st))
                return errmsg(why, -EIO, "'%s' exited with status %d", strna(what), WEXITSTATUS(st));
        return errmsg(why, -EIO, "'%s' was killed by signal %d", strna(what),
                      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int prog_run(char *const *argv, const char *what, bool show, char **why)
{
        pid_t pid;
        int r = prog_spawn(argv, show, &pid, why);

        if (r < 0)
                return r;
        r = prog_reap(pid, what, false, why);
        return r < 0 ? r : 0;
}
