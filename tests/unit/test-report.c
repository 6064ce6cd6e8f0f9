/* SPDX-License-Identifier: MIT */
/*
 * report.c: every end of a sync job as -s prints it (stdout for progress, stderr for
 * problems) and as the daemon logs it (stderr, and the sd_notify STATUS= line), exactly.
 * stdout and stderr are redirected into files for each call; $NOTIFY_SOCKET names a
 * datagram socket of the test's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "report.h"
#include "util/fileio.h"

struct captured {
        char *out, *err, *status; /* status: the datagram sent, or NULL */
};

static char *tmpdir;
static int notify_fd = -1;

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *sock = NULL;

        if (asprintf(&tmpdir, "%s/test-report-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0 ||
            !mkdtemp(tmpdir) || asprintf(&sock, "%s/notify", tmpdir) < 0 ||
            strlen(sock) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, sock);
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        setenv("NOTIFY_SOCKET", sock, 1);
        unsetenv("JOURNAL_STREAM");
        return 0;
}

static int teardown(void **state)
{
        _cleanup_free_ char *sock = NULL;

        if (asprintf(&sock, "%s/notify", tmpdir) > 0)
                unlink(sock);
        close(notify_fd);
        rmdir(tmpdir);
        free(tmpdir);
        return 0;
}

/* Runs fd onto a file of its own while report_job() runs; returns what was written. */
static int redirect(int fd, const char *name, char **ret_path)
{
        int saved = dup(fd), f;

        assert_true(saved >= 0);
        assert_true(asprintf(ret_path, "%s/%s", tmpdir, name) > 0);
        f = open(*ret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(f >= 0);
        assert_true(dup2(f, fd) == fd);
        close(f);
        return saved;
}

static void restore(int fd, int saved)
{
        assert_true(dup2(saved, fd) == fd);
        close(saved);
}

static char *slurp(const char *path)
{
        char *text = NULL;

        assert_int_equal(read_full_file(path, 1 << 16, &text, NULL), 0);
        return text;
}

static struct captured capture(const struct sync_job *j, enum report_mode mode, bool quiet)
{
        _cleanup_free_ char *out_path = NULL, *err_path = NULL;
        struct captured c = {};
        char buf[512];
        ssize_t n;
        int out, err;

        fflush(stdout);
        out = redirect(STDOUT_FILENO, "out", &out_path);
        err = redirect(STDERR_FILENO, "err", &err_path);
        report_job(j, mode, quiet);
        fflush(stdout);
        fflush(stderr);
        restore(STDOUT_FILENO, out);
        restore(STDERR_FILENO, err);
        c.out = slurp(out_path);
        c.err = slurp(err_path);
        n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
        if (n >= 0) {
                buf[n] = 0;
                c.status = strdup(buf);
                assert_non_null(c.status);
        }
        /* One datagram per job at most. */
        assert_true(recv(notify_fd, buf, sizeof(buf), 0) < 0);
        return c;
}

static void check(const struct sync_job *j, enum report_mode mode, bool quiet, const char *out,
                  const char *err, const char *status)
{
        struct captured c = capture(j, mode, quiet);

        assert_string_equal(c.out, out);
        assert_string_equal(c.err, err);
        if (status)
                assert_string_equal(strna(c.status), status);
        else if (c.status)
                fail_msg("sent '%s', expected no STATUS", c.status);
        free(c.out);
        free(c.err);
        free(c.status);
}

static struct sync_job job(enum sync_state state, const char *why)
{
        return (struct sync_job){
                .item = (char *)"ESP",
                .source = (char *)"/efi0/",
                .dest = (char *)"/efi1/",
                .state = state,
                .why = (char *)why,
                .duration = 1234567, /* 1.23 s */
        };
}

/* ---------------------------------------------------------------------------------------- */

static void test_one_shot_progress_goes_to_stdout(void **state)
{
        struct sync_job done = job(SYNC_DONE, NULL), tested = job(SYNC_TESTED, NULL);

        check(&done, REPORT_ONE_SHOT, false, "synced /efi0/ -> /efi1/ (1.23s)\n", "", NULL);
        check(&tested, REPORT_ONE_SHOT, false, "tested /efi0/ -> /efi1/: nothing was changed\n", "",
              NULL);
}

static void test_long_durations_read_as_hours_and_minutes(void **state)
{
        struct sync_job done = job(SYNC_DONE, NULL), failed = job(SYNC_FAILED, "rsync stopped");

        done.duration = failed.duration = 3723 * USEC_PER_SEC + 400000;
        check(&done, REPORT_ONE_SHOT, false, "synced /efi0/ -> /efi1/ (1h2m3s)\n", "", NULL);
        check(&done, REPORT_DAEMON, false, "",
              "dual-root-tool: synced /efi0/ -> /efi1/ in 1h2m3s\n",
              "STATUS=synced /efi0/ -> /efi1/ in 1h2m3s");
        done.duration = 59 * 60 * USEC_PER_SEC + 12 * USEC_PER_SEC;
        check(&done, REPORT_ONE_SHOT, false, "synced /efi0/ -> /efi1/ (59m12s)\n", "", NULL);
        check(&failed, REPORT_DAEMON, false, "",
              "dual-root-tool: failed /efi0/ -> /efi1/ after 1h2m3s: rsync stopped\n",
              "STATUS=failed /efi0/ -> /efi1/: rsync stopped");
}

static void test_one_shot_quiet_prints_no_progress(void **state)
{
        struct sync_job done = job(SYNC_DONE, NULL),
                        skipped = job(SYNC_SKIPPED, "'/efi1' is not a mount point");

        check(&done, REPORT_ONE_SHOT, true, "", "", NULL);
        /* Problems are never quiet. */
        check(&skipped, REPORT_ONE_SHOT, true, "",
              "dual-root-tool: warning: skipped /efi0/ -> /efi1/: '/efi1' is not a mount point\n",
              NULL);
}

static void test_one_shot_problems_go_to_stderr(void **state)
{
        struct sync_job refused = job(SYNC_REFUSED, "the rollback guard says no"),
                        failed = job(SYNC_FAILED, "rsync exited with status 23");

        check(&refused, REPORT_ONE_SHOT, false, "",
              "dual-root-tool: refused /efi0/ -> /efi1/: the rollback guard says no\n", NULL);
        check(&failed, REPORT_ONE_SHOT, false, "",
              "dual-root-tool: failed /efi0/ -> /efi1/: rsync exited with status 23\n", NULL);
}

static void test_job_refused_when_planned_names_its_item(void **state)
{
        struct sync_job j = job(SYNC_REFUSED, "the booted ESP is unknown");

        j.source = j.dest = NULL;
        check(&j, REPORT_ONE_SHOT, false, "",
              "dual-root-tool: refused ESP: the booted ESP is unknown\n", NULL);
        check(&j, REPORT_DAEMON, false, "",
              "dual-root-tool: refused ESP: the booted ESP is unknown\n",
              "STATUS=refused ESP: the booted ESP is unknown");
}

static void test_daemon_logs_everything_and_tells_systemd(void **state)
{
        struct sync_job done = job(SYNC_DONE, NULL), tested = job(SYNC_TESTED, NULL),
                        skipped = job(SYNC_SKIPPED, "'/efi1' is not a mount point"),
                        failed = job(SYNC_FAILED, "rsync exited with status 23");

        check(&done, REPORT_DAEMON, false, "", "dual-root-tool: synced /efi0/ -> /efi1/ in 1.23s\n",
              "STATUS=synced /efi0/ -> /efi1/ in 1.23s");
        /* A dry run changes nothing worth a STATUS. */
        check(&tested, REPORT_DAEMON, false, "",
              "dual-root-tool: tested /efi0/ -> /efi1/ (dry run) in 1.23s\n", NULL);
        check(&skipped, REPORT_DAEMON, false, "",
              "dual-root-tool: warning: skipped /efi0/ -> /efi1/: '/efi1' is not a mount point\n",
              "STATUS=skipped /efi0/ -> /efi1/: '/efi1' is not a mount point");
        /* With no summary line after it, a failure says how long it ran. */
        check(&failed, REPORT_DAEMON, false, "",
              "dual-root-tool: failed /efi0/ -> /efi1/ after 1.23s: rsync exited with status 23\n",
              "STATUS=failed /efi0/ -> /efi1/: rsync exited with status 23");
}

static void test_pending_job_says_nothing(void **state)
{
        struct sync_job j = job(SYNC_PENDING, NULL);

        check(&j, REPORT_ONE_SHOT, false, "", "", NULL);
        check(&j, REPORT_DAEMON, false, "", "", NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_shot_progress_goes_to_stdout),
                cmocka_unit_test(test_long_durations_read_as_hours_and_minutes),
                cmocka_unit_test(test_one_shot_quiet_prints_no_progress),
                cmocka_unit_test(test_one_shot_problems_go_to_stderr),
                cmocka_unit_test(test_job_refused_when_planned_names_its_item),
                cmocka_unit_test(test_daemon_logs_everything_and_tells_systemd),
                cmocka_unit_test(test_pending_job_says_nothing),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
