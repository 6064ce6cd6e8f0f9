/* SPDX-License-Identifier: MIT */
/*
 * src/util/progress.h: the numbers of a line, and how often lines appear on a terminal and
 * off one, driven by times the tests state (nothing sleeps).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/macro.h"
#include "util/progress.h"

#define SEC(x) (USEC_PER_SEC * (x))
#define MSEC(x) (USEC_PER_MSEC * (x))
#define GIB (UINT64_C(1) << 30)

static void expect_format(enum progress_unit unit, uint64_t done, uint64_t total, usec_t elapsed,
                          const char *expected)
{
        _cleanup_free_ char *s = progress_format(unit, done, total, elapsed);

        assert_non_null(s);
        assert_string_equal(s, expected);
}

static void test_format_bytes_rate_and_time_left(void **state)
{
        /* 1.5 GiB in 60 s: 25.6 MiB/s, the 2.5 GiB left take 100 s. */
        expect_format(PROGRESS_BYTES, 3 * GIB / 2, 4 * GIB, SEC(60),
                      "1.5 GiB of 4.0 GiB (37.5%), 25.6 MiB/s, 1m40s left");
        /* Nothing done yet, or under a second: no rate, no guess. */
        expect_format(PROGRESS_BYTES, 0, 1024, SEC(5), "0 B of 1.0 KiB (0.0%)");
        expect_format(PROGRESS_BYTES, 512, 1024, MSEC(500), "512 B of 1.0 KiB (50.0%)");
        /* Total unknown: what is done and the rate. */
        expect_format(PROGRESS_BYTES, 10 << 20, 0, SEC(10), "10.0 MiB, 1.0 MiB/s");
        /* Done: no time left. */
        expect_format(PROGRESS_BYTES, 2048, 2048, SEC(2), "2.0 KiB of 2.0 KiB (100.0%), 1.0 KiB/s");
}

static void test_format_items_permille_and_wait(void **state)
{
        expect_format(PROGRESS_ITEMS, 3, 10, SEC(6), "3 of 10 (30.0%), 14s left");
        expect_format(PROGRESS_ITEMS, 12, 10, SEC(6), "10 of 10 (100.0%)"); /* clamped */
        expect_format(PROGRESS_ITEMS, 7, 0, SEC(6), "7");
        /* btrfs replace reports per mille: 42.3% in 423 s leaves 577 s. */
        expect_format(PROGRESS_PERMILLE, 423, 0, SEC(423), "42.3%, 9m37s left");
        expect_format(PROGRESS_WAIT, 0, SEC(30), SEC(4), "4s so far, at most 30s");
        expect_format(PROGRESS_WAIT, 0, 0, SEC(75), "1m15s so far");
}

static void test_duration(void **state)
{
        char b[16];

        assert_string_equal(progress_duration(SEC(0), b, sizeof(b)), "0s");
        assert_string_equal(progress_duration(SEC(59), b, sizeof(b)), "59s");
        assert_string_equal(progress_duration(SEC(60), b, sizeof(b)), "1m00s");
        assert_string_equal(progress_duration(SEC(3725), b, sizeof(b)), "1h02m");
        /* A wild estimate still fits the buffer. */
        assert_non_null(progress_duration(USEC_INFINITY, b, sizeof(b)));
}

/* Everything written to f so far (f is a tmpfile). */
static char *contents(FILE *f)
{
        long n;
        char *s;

        fflush(f);
        n = ftell(f);
        assert_true(n >= 0);
        s = calloc(1, (size_t)n + 1);
        assert_non_null(s);
        rewind(f);
        assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
        return s;
}

/* Off a terminal (the journal): a line when it begins, at most one a minute, one at the end. */
static void test_journal_lines_are_a_minute_apart(void **state)
{
        FILE *f = tmpfile();
        struct progress p;
        _cleanup_free_ char *s = NULL;

        assert_non_null(f);
        assert_int_equal(
                progress_begin(&p, f, PROGRESS_NORMAL, PROGRESS_ITEMS, "balancing", SEC(1)), 0);
        assert_false(p.live);
        for (usec_t t = SEC(2); t <= SEC(130); t += SEC(1))
                progress_update(&p, (t - SEC(1)) / USEC_PER_SEC, 200, t);
        progress_end(&p, "done", SEC(131));
        s = contents(f);
        /* At 61 s and 121 s: 60 s after the line before. */
        assert_string_equal(s, "balancing...\n"
                               "balancing: 60 of 200 (30.0%), 2m20s left\n"
                               "balancing: 120 of 200 (60.0%), 1m20s left\n"
                               "balancing: done (in 2m10s)\n");
        fclose(f);
}

static void test_verbose_lines_are_ten_seconds_apart(void **state)
{
        FILE *f = tmpfile();
        struct progress p;
        _cleanup_free_ char *s = NULL;
        size_t lines = 0;

        assert_non_null(f);
        assert_int_equal(
                progress_begin(&p, f, PROGRESS_VERBOSE, PROGRESS_PERMILLE, "replacing", SEC(1)), 0);
        for (usec_t t = SEC(1); t <= SEC(60); t += MSEC(500))
                progress_update(&p, 10, 1000, t);
        progress_end(&p, "done", SEC(60));
        s = contents(f);
        for (const char *c = s; (c = strchr(c, '\n')); c++)
                lines++;
        /* begin, 11 21 31 41 51, end */
        assert_int_equal(lines, 7);
        fclose(f);
}

static void test_quiet_prints_nothing(void **state)
{
        FILE *f = tmpfile();
        struct progress p;
        _cleanup_free_ char *s = NULL;

        assert_non_null(f);
        assert_int_equal(progress_begin(&p, f, PROGRESS_QUIET, PROGRESS_BYTES, "copying", SEC(1)),
                         0);
        progress_update(&p, 1, 2, SEC(100));
        progress_end(&p, "done", SEC(200));
        s = contents(f);
        assert_string_equal(s, "");
        fclose(f);
        /* No stream at all: the same. */
        assert_int_equal(progress_begin(&p, NULL, PROGRESS_VERBOSE, PROGRESS_BYTES, "x", 1), 0);
        progress_update(&p, 1, 2, SEC(100));
        progress_end(&p, "done", SEC(200));
}

/* On a terminal: one line rewritten in place (\r, erase to the end), at most every 200 ms. */
static void test_terminal_line_is_rewritten_in_place(void **state)
{
        int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        struct progress p;
        char buf[4096];
        ssize_t n;
        FILE *f;
        int fd;

        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
                if (master >= 0)
                        close(master);
                skip(); /* no pseudo-terminals here */
        }
        fd = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        assert_non_null(f);
        assert_int_equal(progress_begin(&p, f, PROGRESS_NORMAL, PROGRESS_ITEMS, "adding", SEC(1)),
                         0);
        assert_true(p.live);
        progress_update(&p, 1, 4, SEC(2));             /* drawn */
        progress_update(&p, 2, 4, SEC(2) + MSEC(100)); /* too soon */
        progress_update(&p, 3, 4, SEC(2) + MSEC(250)); /* drawn */
        progress_end(&p, "done", SEC(3));
        fclose(f);
        /* A pty hands the text over in pieces; with the other side closed, the end of it
         * reads as EIO. */
        n = 0;
        for (ssize_t k; (size_t)n < sizeof(buf) - 1 &&
                        (k = read(master, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0;)
                n += k;
        assert_true(n > 0);
        buf[n] = 0;
        /* The terminal turns \n into \r\n (ONLCR). */
        assert_string_equal(buf, "\radding: 1 of 4 (25.0%), 3s left\033[K"
                                 "\radding: 3 of 4 (75.0%), 0s left\033[K"
                                 "\r\033[Kadding: done (in 2s)\r\n");
        close(master);
}

/* Lines the caller makes (a sync's copy, rsync.c): off a terminal none of its own, the first
 * a minute after the start, then one a minute. */
static void test_caller_lines_off_a_terminal_are_a_minute_apart(void **state)
{
        FILE *f = tmpfile();
        struct progress p;
        _cleanup_free_ char *s = NULL;

        assert_non_null(f);
        progress_begin_lines(&p, f, false, SEC(1));
        for (usec_t t = SEC(2); t <= SEC(130); t += SEC(1)) {
                char line[32];

                snprintf(line, sizeof(line), "copying: %u s", (unsigned)(t / USEC_PER_SEC));
                progress_show(&p, line, t);
        }
        progress_clear(&p); /* nothing drawn in place: nothing to erase */
        s = contents(f);
        assert_string_equal(s, "copying: 61 s\ncopying: 121 s\n");
        fclose(f);
        /* No stream: nothing, and no crash. */
        progress_begin_lines(&p, NULL, true, SEC(1));
        progress_show(&p, "x", SEC(2));
        progress_clear(&p);
}

/* Live: drawn at once, then at most every 200 ms; cleared once before other output. */
static void test_caller_lines_live_are_drawn_and_cleared(void **state)
{
        FILE *f = tmpfile();
        struct progress p;
        _cleanup_free_ char *s = NULL;

        assert_non_null(f);
        progress_begin_lines(&p, f, true, SEC(1));
        progress_show(&p, "one", SEC(1));
        progress_show(&p, "two", SEC(1) + MSEC(100)); /* too soon */
        progress_show(&p, "three", SEC(1) + MSEC(250));
        progress_clear(&p);
        progress_clear(&p); /* erased already */
        s = contents(f);
        assert_string_equal(s, "\rone\033[K\rthree\033[K\r\033[K");
        fclose(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_bytes_rate_and_time_left),
                cmocka_unit_test(test_format_items_permille_and_wait),
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_journal_lines_are_a_minute_apart),
                cmocka_unit_test(test_verbose_lines_are_ten_seconds_apart),
                cmocka_unit_test(test_quiet_prints_nothing),
                cmocka_unit_test(test_caller_lines_off_a_terminal_are_a_minute_apart),
                cmocka_unit_test(test_caller_lines_live_are_drawn_and_cleared),
                cmocka_unit_test(test_terminal_line_is_rewritten_in_place),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
