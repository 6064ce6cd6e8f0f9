/* SPDX-License-Identifier: MIT */
/*
 * For the round trips of the mkfs readers' tests (test-xfsfeat, test-btrfsfeat): a sparse
 * image file under /tmp, and a mkfs run on it with its output kept for a failure's message.
 * The mkfs programs come with scripts/deps test (xfsprogs, btrfs-progs); a test without them
 * is skipped, saying which is missing.
 */
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/strv.h"

/* The path of prog in the system directories, or NULL. */
static inline const char *mkfs_fixture_prog(const char *prog, char *buf, size_t size)
{
        static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin" };

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(buf, size, "%s/%s", dirs[i], prog);
                if (access(buf, X_OK) == 0)
                        return buf;
        }
        return NULL;
}

/* A new sparse file of size bytes; its path in tmpl (a mkstemp template). */
static inline void mkfs_fixture_image(char *tmpl, off_t size)
{
        int fd = mkstemp(tmpl);

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, size), 0);
        close(fd);
}

/* Runs argv (argv[0] a path) with its output in a file; prints it when the exit is not 0. */
static inline int mkfs_fixture_run(char **argv)
{
        char out[] = "/tmp/test-mkfs-out.XXXXXX";
        int fd = mkstemp(out), status;
        pid_t pid;

        assert_true(fd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execv(argv[0], argv);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                _cleanup_free_ char *cmd = strv_join(argv, " ");
                char buf[4096];
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

                buf[n > 0 ? n : 0] = '\0';
                print_error("%s: exit %d\n%s", cmd ? cmd : argv[0],
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1, buf);
        }
        close(fd);
        unlink(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* prog -q -f -K [options] image: the image made (-K: no discard on a file). */
static inline void mkfs_fixture_make(const char *prog, char *const *options, const char *image)
{
        _cleanup_strv_free_ char **argv = NULL;

        assert_int_equal(strv_extend(&argv, prog), 0);
        assert_int_equal(strv_extend(&argv, "-q"), 0);
        assert_int_equal(strv_extend(&argv, "-f"), 0);
        assert_int_equal(strv_extend(&argv, "-K"), 0);
        assert_int_equal(strv_extend_strv(&argv, options), 0);
        assert_int_equal(strv_extend(&argv, image), 0);
        assert_int_equal(mkfs_fixture_run(argv), 0);
}

/* Removes the images whose templates mkstemp() filled in (a teardown's, even after a
 * failure). */
static inline void mkfs_fixture_remove(const char *a, const char *b)
{
        if (!strstr(a, "XXXXXX"))
                unlink(a);
        if (!strstr(b, "XXXXXX"))
                unlink(b);
}
