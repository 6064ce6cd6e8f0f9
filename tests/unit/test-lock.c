/* SPDX-License-Identifier: MIT */
/*
 * lock.c, one sync at a time per destination (DESIGN.md §5 rule 7). flock(2) locks belong to an
 * open file description, so two open()s of one directory in this process contend just as
 * two processes do; a forked child stands in for another dual-root holding the lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lock.h"
#include "util/macro.h"

#define MSEC(x) (USEC_PER_MSEC * (x))
#define SEC(x) (USEC_PER_SEC * (x))

struct fixture {
        char *dir;    /* the destination to lock, under mkdtemp */
        char *link;   /* a symlink to it: another path to the same directory */
        pid_t holder; /* a forked lock holder still to reap, 0 when none */
        int said;     /* the holder's pipe: "L" once it holds the lock, "U" as it exits */
};

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        f->said = -1;
        *state = f;
        if (asprintf(&f->dir, "%s/test-lock-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0) {
                f->dir = NULL;
                return -1;
        }
        if (!mkdtemp(f->dir))
                return -1;
        if (asprintf(&f->link, "%s.link", f->dir) < 0) {
                f->link = NULL;
                return -1;
        }
        return symlink(f->dir, f->link);
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (!f)
                return 0;
        if (f->said >= 0)
                close(f->said);
        if (f->holder > 0) {
                (void)kill(f->holder, SIGKILL);
                (void)waitpid(f->holder, NULL, 0);
        }
        if (f->link)
                (void)unlink(f->link);
        if (f->dir)
                (void)rmdir(f->dir);
        free(f->link);
        free(f->dir);
        free(f);
        return 0;
}

/* A lock result, for messages: "fd 4" or "-EWOULDBLOCK (Resource temporarily unavailable)". */
static const char *result_str(int r, char *buf, size_t size)
{
        if (r >= 0)
                snprintf(buf, size, "fd %d", r);
        else
                snprintf(buf, size, "-%s (%s)", strerrorname_np(-r) ?: "?", strerror(-r));
        return buf;
}

static void check_result(int r, int expected, const char *expr, const char *file, int line)
{
        char a[96], e[96];

        if (r == expected)
                return;
        if (r >= 0)
                close(r);
        print_error("%s returned %s, expected %s\n", expr, result_str(r, a, sizeof(a)),
                    result_str(expected, e, sizeof(e)));
        _fail(file, line);
}

/* For failures only: a lock taken by mistake is closed, so it cannot leak. */
#define assert_lock_result(expr, expected)                                                         \
        check_result((expr), (expected), #expr, __FILE__, __LINE__)

static int try_ok(const char *dir)
{
        int fd = lock_dir_try(dir);

        if (fd < 0)
                fail_msg("lock_dir_try('%s') failed: %s", dir, strerror(-fd));
        return fd;
}

/* Forks a child that takes the lock, says so through a pipe, holds it for hold, says it is
 * going, then exits (the kernel drops the lock with its last fd). Returns once the child
 * holds it. */
static void fork_holder(struct fixture *f, usec_t hold)
{
        int p[2];
        char c;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        f->holder = fork();
        assert_true(f->holder >= 0);
        if (f->holder == 0) {
                int fd = lock_dir_try(f->dir);

                if (fd < 0)
                        _exit(1);
                if (write(p[1], "L", 1) != 1)
                        _exit(2);
                usleep((useconds_t)hold);
                if (write(p[1], "U", 1) != 1)
                        _exit(3);
                _exit(0);
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1 || c != 'L')
                fail_msg("the lock holder (pid %d) did not take the lock", (int)f->holder);
        f->said = p[0];
}

/* True once the holder has said it is going: its lock cannot have been free before. */
static bool holder_went(const struct fixture *f)
{
        char c;

        return fcntl(f->said, F_SETFL, O_NONBLOCK) == 0 && read(f->said, &c, 1) == 1 && c == 'U';
}

static void reap_holder(struct fixture *f)
{
        int status;

        assert_int_equal(waitpid(f->holder, &status, 0), f->holder);
        f->holder = 0;
        close(f->said);
        f->said = -1;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_elapsed(usec_t elapsed, usec_t min, usec_t max, const char *what)
{
        if (elapsed < min || elapsed >= max)
                fail_msg("%s took %" PRIu64 " ms, expected %" PRIu64 " to %" PRIu64 " ms", what,
                         elapsed / USEC_PER_MSEC, min / USEC_PER_MSEC, max / USEC_PER_MSEC);
}

/* ---------------------------------------------------------------------------------------- */
/* lock_dir_try */

static void test_try_locks_a_free_directory(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = try_ok(f->dir);
        struct stat a, b;
        int flags;

        /* the fd is the directory itself, and is not inherited by rsync */
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(stat(f->dir, &b), 0);
        assert_true(S_ISDIR(a.st_mode));
        assert_int_equal(a.st_ino, b.st_ino);
        flags = fcntl(fd, F_GETFD);
        assert_true(flags >= 0 && (flags & FD_CLOEXEC));
}

static void test_try_second_open_gets_wouldblock(void **state)
{
        struct fixture *f = *state;
        int fd = try_ok(f->dir);

        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        assert_int_equal(close(fd), 0);
}

static void test_try_other_path_to_same_directory_gets_wouldblock(void **state)
{
        /* the lock is on the directory, not the name: bind mounts and links share it */
        struct fixture *f = *state;
        int fd = try_ok(f->link);

        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        assert_int_equal(close(fd), 0);
}

static void test_try_lock_is_released_on_close(void **state)
{
        struct fixture *f = *state;
        int fd = try_ok(f->dir);
        int fd2;

        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        assert_int_equal(close(fd), 0);
        fd2 = try_ok(f->dir);
        assert_int_equal(close(fd2), 0);
}

static void test_try_lock_held_by_another_process_gets_wouldblock(void **state)
{
        struct fixture *f = *state;
        int fd;

        fork_holder(f, MSEC(300));
        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        reap_holder(f);
        /* a process that ends drops its lock, however it ends */
        fd = try_ok(f->dir);
        close(fd);
}

static void test_try_lock_of_killed_holder_is_released(void **state)
{
        struct fixture *f = *state;
        int fd;

        fork_holder(f, SEC(30));
        assert_int_equal(kill(f->holder, SIGKILL), 0);
        assert_int_equal(waitpid(f->holder, NULL, 0), f->holder);
        f->holder = 0;
        assert_false(holder_went(f)); /* killed: it said nothing, its lock went anyway */
        fd = try_ok(f->dir);
        close(fd);
}

static void test_try_missing_directory_is_enoent(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *missing = NULL;

        assert_true(asprintf(&missing, "%s/missing", f->dir) >= 0);
        assert_lock_result(lock_dir_try(missing), -ENOENT);
}

static void test_try_regular_file_is_enotdir(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *file = NULL;
        int fd;

        assert_true(asprintf(&file, "%s/file", f->dir) >= 0);
        fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        assert_lock_result(lock_dir_try(file), -ENOTDIR);
        assert_int_equal(unlink(file), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* lock_dir_wait */

static void test_wait_free_directory_locks_at_once(void **state)
{
        struct fixture *f = *state;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        int fd = lock_dir_wait(f->dir, SEC(60));

        /* Bounds far apart, so a loaded machine cannot blur them: not the 60 s timeout. */
        assert_true(fd >= 0);
        assert_elapsed(now_usec(CLOCK_MONOTONIC) - t0, 0, SEC(30), "locking a free directory");
        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        close(fd);
}

static void test_wait_times_out_while_held(void **state)
{
        struct fixture *f = *state;
        int holder = try_ok(f->dir);
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        int r = lock_dir_wait(f->dir, MSEC(300));

        assert_lock_result(r, -ETIMEDOUT);
        /* Never before the timeout; after it, as soon as a loaded machine lets it run. */
        assert_elapsed(now_usec(CLOCK_MONOTONIC) - t0, MSEC(300), MSEC(300) + SEC(10),
                       "timing out after 300 ms");
        assert_int_equal(close(holder), 0);
}

static void test_wait_zero_timeout_tries_once(void **state)
{
        struct fixture *f = *state;
        int holder = try_ok(f->dir);
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        assert_lock_result(lock_dir_wait(f->dir, 0), -ETIMEDOUT);
        /* 0 is not "forever": the holder never lets go. */
        assert_elapsed(now_usec(CLOCK_MONOTONIC) - t0, 0, SEC(10), "a 0 s wait");
        assert_int_equal(close(holder), 0);
}

static void test_wait_succeeds_when_holder_releases(void **state)
{
        struct fixture *f = *state;
        usec_t t0, elapsed;
        int fd;

        fork_holder(f, MSEC(300));
        t0 = now_usec(CLOCK_MONOTONIC);
        fd = lock_dir_wait(f->dir, SEC(60));
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        if (fd < 0)
                fail_msg("lock_dir_wait failed after %" PRIu64 " ms: %s", elapsed / USEC_PER_MSEC,
                         strerror(-fd));
        /* It waited for the holder (which said so before its lock went), not the timeout. */
        assert_true(holder_went(f));
        assert_elapsed(elapsed, 0, SEC(30), "waiting for a 300 ms holder");
        reap_holder(f);
        assert_lock_result(lock_dir_try(f->dir), -EWOULDBLOCK);
        close(fd);
}

static void test_wait_missing_directory_is_enoent_at_once(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *missing = NULL;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        assert_true(asprintf(&missing, "%s/missing", f->dir) >= 0);
        assert_lock_result(lock_dir_wait(missing, SEC(60)), -ENOENT);
        assert_elapsed(now_usec(CLOCK_MONOTONIC) - t0, 0, SEC(30), "failing on a missing path");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
                T(test_try_locks_a_free_directory),
                T(test_try_second_open_gets_wouldblock),
                T(test_try_other_path_to_same_directory_gets_wouldblock),
                T(test_try_lock_is_released_on_close),
                T(test_try_lock_held_by_another_process_gets_wouldblock),
                T(test_try_lock_of_killed_holder_is_released),
                T(test_try_missing_directory_is_enoent),
                T(test_try_regular_file_is_enotdir),

                T(test_wait_free_directory_locks_at_once),
                T(test_wait_times_out_while_held),
                T(test_wait_zero_timeout_tries_once),
                T(test_wait_succeeds_when_holder_releases),
                T(test_wait_missing_directory_is_enoent_at_once),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
