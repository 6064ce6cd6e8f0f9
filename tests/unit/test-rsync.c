/* SPDX-License-Identifier: MIT */
/*
 * rsync.c (DESIGN.md §5): the argv built for every run (options, de-duplication, exclusions that
 * never accumulate), how it is shown and how an exit is described, and the child handling
 * (own process group, clean signal state, stdin from /dev/null, time limit with SIGTERM then
 * SIGKILL to the whole group) driven with small real programs instead of rsync.
 *
 * Every spawning test records the child's process group in `live_group`: the teardown
 * SIGKILLs and reaps whatever a failed assertion left running. As rsync_wait() requires, the
 * signals it waits for are blocked around every test (setup/teardown).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rsync.h"
#include "util/fileio.h"
#include "util/strv.h"

#define RSYNC "/usr/bin/rsync"
#define MSEC(x) (USEC_PER_MSEC * (x))
#define SEC(x) (USEC_PER_SEC * (x))

static char *tmpdir;
static pid_t live_group; /* a spawned child's pid = process group, 0 when none */
static pid_t live_grandchild;
static sigset_t saved_mask;

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

/* Compares a whole vector; on mismatch prints both as one line each, so the difference in
 * order or an extra word is visible at once. */
static void check_argv(char **actual, const char *const *expected, const char *file, int line)
{
        size_t i;

        assert_non_null(actual);
        for (i = 0; actual[i] && expected[i]; i++)
                if (!streq(actual[i], expected[i]))
                        break;
        if (!actual[i] && !expected[i])
                return;

        _cleanup_free_ char *a = strv_join(actual, " ");
        _cleanup_free_ char *e = strv_join((char **)expected, " ");

        print_error("argv differs at word %zu: '%s' instead of '%s'\n  actual:   %s\n"
                    "  expected: %s\n",
                    i, strna(actual[i]), strna(expected[i]), strna(a), strna(e));
        _fail(file, line);
}

#define assert_argv(actual, ...)                                                                   \
        check_argv((actual), (const char *const[]){ __VA_ARGS__, NULL }, __FILE__, __LINE__)

/* The user's rsync_opts as the config hands them over: split on blanks. */
static char **opts(const char *s)
{
        char **l = NULL;

        assert_int_equal(strv_split_blank(s, &l), 0);
        return l;
}

static char **build(const char *rsync_opts, char *const *excludes, bool test)
{
        _cleanup_strv_free_ char **o = opts(rsync_opts);
        char **argv = NULL;

        assert_int_equal(rsync_build_argv(RSYNC, o, excludes, test, "/efi0/", "/efi1/", &argv), 0);
        return argv;
}

static char *tmp_path(const char *name)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", tmpdir, name) >= 0);
        return p;
}

/* Waits up to 5 s for a file the child writes to hold a whole line; returns its content. */
static char *wait_for_line(const char *path)
{
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + SEC(5);

        for (;;) {
                char *text = NULL;

                if (read_full_file(path, 4096, &text, NULL) == 0) {
                        if (strchr(text, '\n'))
                                return text;
                        free(text);
                }
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        fail_msg("'%s' was not written within 5 s", path);
                usleep(10000);
        }
}

static pid_t read_pid(const char *path)
{
        _cleanup_free_ char *text = wait_for_line(path);
        long pid;
        char *end;

        pid = strtol(text, &end, 10);
        if (pid <= 1 || *end != '\n')
                fail_msg("'%s' holds '%s', expected a pid", path, text);
        return (pid_t)pid;
}

/* True while pid exists and is not a zombie (a killed grandchild is reparented, so it may
 * stay a zombie for a moment until its new parent reaps it). */
static bool process_alive(pid_t pid)
{
        _cleanup_free_ char *path = NULL, *stat = NULL;
        const char *p;

        assert_true(asprintf(&path, "/proc/%d/stat", (int)pid) >= 0);
        if (read_full_file(path, 4096, &stat, NULL) < 0)
                return false;
        /* "pid (comm) S ...": the state follows the last ')' */
        p = strrchr(stat, ')');
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void wait_for_comm(pid_t pid, const char *comm)
{
        _cleanup_free_ char *path = NULL;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + SEC(5);

        assert_true(asprintf(&path, "/proc/%d/comm", (int)pid) >= 0);
        for (;;) {
                _cleanup_free_ char *text = NULL;

                if (read_full_file(path, 4096, &text, NULL) == 0 &&
                    strncmp(text, comm, strlen(comm)) == 0 && text[strlen(comm)] == '\n')
                        return;
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        fail_msg("process %d is '%s', expected '%s'", (int)pid, strna(text), comm);
                usleep(10000);
        }
}

static void assert_process_gone(pid_t pid)
{
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + SEC(2);

        while (process_alive(pid)) {
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        fail_msg("process %d (the child's own child) still runs", (int)pid);
                usleep(10000);
        }
}

static void spawn_ok(char *const *argv, struct rsync_child *c)
{
        _cleanup_free_ char *why = NULL;
        int r;

        r = rsync_spawn(argv, c, &why);
        if (r < 0)
                fail_msg("rsync_spawn(%s) failed (%d): %s", argv[0], r, strna(why));
        assert_null(why);
        assert_true(c->pid > 0);
        live_group = c->pid;
}

/* rsync_wait, expecting no stop signal. */
static int wait_child(struct rsync_child *c, usec_t timeout, usec_t grace, int *code, int *status)
{
        int sig = 0;
        int r = rsync_wait(c, timeout, grace, code, status, &sig);

        if (r == 0 || r == -ETIMEDOUT || r == -EINTR)
                live_group = 0;
        if (sig != 0)
                fail_msg("rsync_wait returned %d with signal %d (%s), none was sent", r, sig,
                         strsignal(sig));
        return r;
}

static void assert_exit(int code, int status, int expected_code, int expected_status)
{
        if (code == expected_code && status == expected_status)
                return;
        _cleanup_free_ char *a = rsync_status_to_string(code, status);
        _cleanup_free_ char *e = rsync_status_to_string(expected_code, expected_status);
        fail_msg("child %s, expected it %s", strna(a), strna(e));
}

/* Runs argv to its end (10 s limit) and expects a normal exit 0. */
static void run(char *const *argv)
{
        struct rsync_child c;
        int code, status;

        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, SEC(10), MSEC(500), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 0);
}

static void run_sh(const char *script)
{
        char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };

        run(argv);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        sigset_t set;

        (void)state;
        if (asprintf(&tmpdir, "%s/test-rsync-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0)
                return -1;
        if (!mkdtemp(tmpdir)) {
                free(tmpdir);
                tmpdir = NULL;
                return -1;
        }
        live_group = 0;
        live_grandchild = 0;
        rsync_wait_signals(&set);
        return sigprocmask(SIG_BLOCK, &set, &saved_mask);
}

static int teardown(void **state)
{
        sigset_t set;
        int r = 0;

        (void)state;
        /* A failed assertion may have left children: end them, reap ours. */
        if (live_grandchild > 0)
                (void)kill(live_grandchild, SIGKILL);
        if (live_group > 0) {
                (void)kill(-live_group, SIGKILL);
                (void)kill(live_group, SIGKILL); /* in case it has no group of its own */
                (void)waitpid(live_group, NULL, 0);
        }
        live_group = live_grandchild = 0;
        /* Drop what is pending (SIGCHLD, or a stop signal a test sent itself and a failure
         * left unconsumed) before unblocking: a pending SIGTERM would end the run. */
        rsync_wait_signals(&set);
        while (sigtimedwait(&set, NULL, &(struct timespec){ 0, 0 }) > 0)
                ;
        (void)sigprocmask(SIG_SETMASK, &saved_mask, NULL);
        if (tmpdir)
                r = nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(tmpdir);
        tmpdir = NULL;
        return r;
}

/* ---------------------------------------------------------------------------------------- */
/* rsync_build_argv */

static void test_argv_default_options_then_always_options_then_source_and_dest(void **state)
{
        _cleanup_strv_free_ char **argv = build("-axHAXt", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_test_mode_adds_dry_run_and_itemize_after_options(void **state)
{
        _cleanup_strv_free_ char **argv = build("-axHAXt", NULL, true);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "-n", "-i", "/efi0/", "/efi1/");
}

static void test_argv_without_user_options_has_only_always_options(void **state)
{
        _cleanup_strv_free_ char **argv = NULL;

        (void)state;
        assert_int_equal(rsync_build_argv(RSYNC, NULL, NULL, false, "/a/", "/b/", &argv), 0);
        assert_argv(argv, RSYNC, "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/a/", "/b/");
}

static void test_argv_exact_duplicates_are_dropped_keeping_the_first(void **state)
{
        _cleanup_strv_free_ char **argv =
                build("--delete -axHAXt --atimes -axHAXt --delete --atimes", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "--delete", "-axHAXt", "--atimes", "--no-specials",
                    "--open-noatime", "--exclude=/lost+found/", "/efi0/", "/efi1/");
}

static void test_argv_short_flag_already_in_a_bundle_is_dropped(void **state)
{
        _cleanup_strv_free_ char **argv = build("-axHAXt -t -X -xA", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_test_mode_itemize_dropped_when_user_gave_it(void **state)
{
        _cleanup_strv_free_ char **argv = build("-ai", NULL, true);

        (void)state;
        assert_argv(argv, RSYNC, "-ai", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "-n", "/efi0/", "/efi1/");
}

static void test_argv_test_mode_dry_run_dropped_when_user_gave_it(void **state)
{
        _cleanup_strv_free_ char **argv = build("-ani", NULL, true);

        (void)state;
        assert_argv(argv, RSYNC, "-ani", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void said(const char *line, int want, const char *expected)
{
        _cleanup_free_ char *out = NULL;

        assert_int_equal(rsync_itemized_change(line, &out), want);
        if (expected)
                assert_string_equal(out, expected);
        else
                assert_null(out);
}

static void test_itemized_changes_are_worded(void **state)
{
        (void)state;
        said(">f+++++++++ vmlinuz-6.2", 1, "create vmlinuz-6.2");
        said("cd+++++++++ EFI/Linux/", 1, "create EFI/Linux/");
        said(">f.st...... EFI/BOOT/BOOTX64.EFI", 1, "replace EFI/BOOT/BOOTX64.EFI");
        said(">fc.t...... a b", 1, "replace a b");
        said("*deleting   vmlinuz-6.1", 1, "delete vmlinuz-6.1");
        said(".f...p..... x", 1, "set attributes of x");
        said(".d..t...... EFI/", 0, NULL); /* a directory's times */
        said("cL+++++++++ l -> t", 1, "create l -> t");
        /* not an item: as it is */
        said("building file list ... done", 1, "building file list ... done");
        said("", 1, "");
        said(">f+++++++++", 1, ">f+++++++++");
}

static void test_progress_reports_are_parsed(void **state)
{
        struct rsync_progress p;
        _cleanup_free_ char *line = NULL;

        (void)state;
        assert_true(rsync_parse_progress("      1,234,567  45%   12.34MB/s    0:00:05 (xfr#3, "
                                         "to-chk=2/40)",
                                         &p));
        assert_int_equal(p.bytes, 1234567);
        assert_int_equal(p.percent, 45);
        assert_int_equal(p.files, 3);
        assert_string_equal(p.rate, "12.34MB/s");
        assert_string_equal(p.left, "0:00:05");
        assert_int_equal(rsync_progress_line(&p, "/efi0/ -> /efi1/", &line), 0);
        assert_string_equal(line, "copying /efi0/ -> /efi1/: 1.2 MiB (45%), 3 files, 12.34MB/s, "
                                  "0:00:05 left");
        assert_true(rsync_parse_progress("          0   0%    0.00kB/s    0:00:00", &p));
        assert_int_equal(p.files, 0);
        /* not progress: a file name, an itemized line, nonsense */
        assert_false(rsync_parse_progress("vmlinuz-6.2", &p));
        assert_false(rsync_parse_progress(">f+++++++++ vmlinuz", &p));
        assert_false(rsync_parse_progress("12 files", &p));
        assert_false(rsync_parse_progress("1 150% 1kB/s 0:00:01", &p));
        assert_false(rsync_parse_progress("99999999999999999999999 1% 1kB/s 0:00:01", &p));
        assert_false(rsync_parse_progress("", &p));
}

static void test_argv_partially_new_bundle_is_kept_whole(void **state)
{
        _cleanup_strv_free_ char **argv = build("-axHAXt -tz -vt", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "-tz", "-vt", "--no-specials", "--atimes",
                    "--open-noatime", "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_bundle_flags_count_as_given_even_when_kept(void **state)
{
        /* "-az" is new (z) and kept; afterwards "-z" and "-a" are both already given. */
        _cleanup_strv_free_ char **argv = build("-az -z -a", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-az", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_bundles_with_argument_letters_are_never_dropped(void **state)
{
        /* In "-B1024" the digits are an argument, and a repeated "-B..." may carry another:
         * each letter of "BefTM@" takes one (rsync(1)), even after flags already given
         * ("-ae": the rest of the word is e's argument). */
        _cleanup_strv_free_ char **argv =
                build("-axHAXt -B1024 -B2048 -essh -fP -T/tmp -Mx -@1 -ae", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "-B1024", "-B2048", "-essh", "-fP", "-T/tmp", "-Mx",
                    "-@1", "-ae", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_exact_duplicate_with_argument_letter_is_dropped(void **state)
{
        _cleanup_strv_free_ char **argv = build("-a -B1024 -B1024", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-a", "-B1024", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_long_options_are_not_taken_as_short_bundles(void **state)
{
        /* "--times" shares letters with "-axHAXt" but is a different word: kept. */
        _cleanup_strv_free_ char **argv = build("-axHAXt --times --xattrs", NULL, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--times", "--xattrs", "--no-specials", "--atimes",
                    "--open-noatime", "--exclude=/lost+found/", "--delete", "/efi0/", "/efi1/");
}

static void test_argv_one_exclude_per_exclusion_after_options(void **state)
{
        char *excludes[] = { "/loader/random-seed", "*.bak", "dir with space/", NULL };
        _cleanup_strv_free_ char **argv = build("-axHAXt", excludes, true);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "-n", "-i",
                    "--exclude=/loader/random-seed", "--exclude=*.bak", "--exclude=dir with space/",
                    "/efi0/", "/efi1/");
}

static void test_argv_exclusion_equal_to_always_exclude_is_not_repeated(void **state)
{
        char *excludes[] = { "/lost+found/", "a", "a", NULL };
        _cleanup_strv_free_ char **argv = build("-axHAXt", excludes, false);

        (void)state;
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "--exclude=a", "/efi0/", "/efi1/");
}

static void test_argv_source_and_dest_come_last_even_if_they_look_like_options(void **state)
{
        _cleanup_strv_free_ char **o = opts("-axHAXt");
        _cleanup_strv_free_ char **argv = NULL;

        (void)state;
        /* Source and destination are never de-duplicated or taken for options. */
        assert_int_equal(rsync_build_argv(RSYNC, o, NULL, false, "--delete", "-axHAXt", &argv), 0);
        assert_argv(argv, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "--delete", "-axHAXt");
}

static void test_argv_exclusions_never_accumulate_between_builds(void **state)
{
        /* DESIGN.md §5 rule 5: the original appended exclusions to one shared list per sync. */
        char *ex1[] = { "/one", "/two", NULL };
        char *ex2[] = { "/three", NULL };
        _cleanup_strv_free_ char **o = opts("-axHAXt");
        _cleanup_strv_free_ char **first = NULL, **second = NULL, **third = NULL;

        (void)state;
        assert_int_equal(rsync_build_argv(RSYNC, o, ex1, false, "/efi0/", "/efi1/", &first), 0);
        assert_int_equal(rsync_build_argv(RSYNC, o, ex2, false, "/efi0/", "/efi2/", &second), 0);
        assert_int_equal(rsync_build_argv(RSYNC, o, NULL, false, "/efi0/", "/efi3/", &third), 0);
        assert_argv(first, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "--exclude=/one", "--exclude=/two",
                    "/efi0/", "/efi1/");
        assert_argv(second, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "--exclude=/three", "/efi0/", "/efi2/");
        assert_argv(third, RSYNC, "-axHAXt", "--no-specials", "--atimes", "--open-noatime",
                    "--exclude=/lost+found/", "--delete", "/efi0/", "/efi3/");

        /* Nothing shared: no vector and no word of one is part of another. */
        assert_ptr_not_equal(first, second);
        for (char **a = first; *a; a++)
                for (char **b = second; *b; b++)
                        assert_ptr_not_equal(*a, *b);
        /* The inputs were not changed either. */
        assert_int_equal(strv_length(o), 1);
        assert_string_equal(o[0], "-axHAXt");
        assert_string_equal(ex1[0], "/one");
        assert_null(ex1[2]);
}

static void test_argv_many_builds_stay_the_same_length(void **state)
{
        char *ex[] = { "/loader/random-seed", NULL };
        _cleanup_strv_free_ char **o = opts("-axHAXt");
        size_t n0 = 0;

        (void)state;
        for (int i = 0; i < 1000; i++) {
                _cleanup_strv_free_ char **argv = NULL;

                assert_int_equal(rsync_build_argv(RSYNC, o, ex, false, "/a/", "/b/", &argv), 0);
                if (i == 0)
                        n0 = strv_length(argv);
                else if (strv_length(argv) != n0)
                        fail_msg("build %d has %zu words, the first had %zu", i, strv_length(argv),
                                 n0);
        }
        assert_int_equal(n0, 10);
}

/* ---------------------------------------------------------------------------------------- */
/* rsync_argv_to_string */

static void check_to_string(char **argv, const char *expected)
{
        _cleanup_free_ char *s = rsync_argv_to_string(argv);

        assert_non_null(s);
        assert_string_equal(s, expected);
}

static void test_to_string_plain_words_unquoted(void **state)
{
        char *argv[] = { RSYNC,
                         "-axHAXt",
                         "--exclude=/lost+found/",
                         "--bwlimit=1.5m",
                         "/efi0/",
                         "user@host:%x,y",
                         NULL };

        (void)state;
        check_to_string(argv, RSYNC " -axHAXt --exclude=/lost+found/ --bwlimit=1.5m /efi0/ "
                                    "user@host:%x,y");
}

static void test_to_string_quotes_spaces_and_shell_characters(void **state)
{
        char *argv[] = {
                RSYNC, "--exclude=dir with space/", "*.bak", "a$b", "tab\there", "semi;colon", NULL
        };

        (void)state;
        check_to_string(argv, RSYNC " '--exclude=dir with space/' '*.bak' 'a$b' 'tab\there' "
                                    "'semi;colon'");
}

static void test_to_string_quotes_quotes(void **state)
{
        char *argv[] = { "/bin/echo", "it's", "say \"hi\"", "'", NULL };

        (void)state;
        check_to_string(argv, "/bin/echo 'it'\\''s' 'say \"hi\"' ''\\'''");
}

static void test_to_string_empty_word_is_two_quotes(void **state)
{
        char *argv[] = { RSYNC, "", "/b/", NULL };

        (void)state;
        check_to_string(argv, RSYNC " '' /b/");
}

static void test_to_string_round_trips_through_the_shell(void **state)
{
        /* The line is meant to be pasted into a shell: sh must split it back into the same
         * words. printf prints each word between < and >. */
        char *words[] = { "/usr/bin/printf", "<%s>", "it's", "a b",   "",
                          "$HOME",           "\\n",  "`x`",  "\"q\"", NULL };
        _cleanup_free_ char *line = rsync_argv_to_string(words);
        _cleanup_free_ char *out_path = tmp_path("out");
        _cleanup_free_ char *script = NULL, *out = NULL;

        (void)state;
        assert_non_null(line);
        assert_true(asprintf(&script, "%s > '%s'", line, out_path) >= 0);
        run_sh(script);
        assert_int_equal(read_full_file(out_path, 4096, &out, NULL), 0);
        assert_string_equal(out, "<it's><a b><><$HOME><\\n><`x`><\"q\">");
}

/* ---------------------------------------------------------------------------------------- */
/* rsync_status_to_string */

static void check_status(int code, int status, const char *expected)
{
        _cleanup_free_ char *s = rsync_status_to_string(code, status);

        assert_non_null(s);
        assert_string_equal(s, expected);
}

static void test_status_exit_0(void **state)
{
        (void)state;
        check_status(CLD_EXITED, 0, "exited with status 0");
}

static void test_status_exit_23_is_explained(void **state)
{
        (void)state;
        check_status(CLD_EXITED, 23, "exited with status 23 (partial transfer due to error)");
        check_status(CLD_EXITED, 24,
                     "exited with status 24 (partial transfer due to vanished source files)");
        check_status(CLD_EXITED, 1, "exited with status 1 (syntax or usage error)");
        check_status(CLD_EXITED, 30, "exited with status 30 (timeout in data send/receive)");
}

static void test_status_unknown_exit_code_has_no_explanation(void **state)
{
        (void)state;
        check_status(CLD_EXITED, 77, "exited with status 77");
        check_status(CLD_EXITED, 127, "exited with status 127");
        check_status(CLD_EXITED, 255, "exited with status 255");
}

static void test_status_killed_by_signal_names_it(void **state)
{
        (void)state;
        check_status(CLD_KILLED, SIGKILL, "was killed by signal 9 (Killed)");
        check_status(CLD_KILLED, SIGTERM, "was killed by signal 15 (Terminated)");
        check_status(CLD_DUMPED, SIGSEGV, "was killed by signal 11 (Segmentation fault)");
}

static void test_status_other_codes_are_reported_raw(void **state)
{
        (void)state;
        check_status(CLD_STOPPED, SIGSTOP, "ended in an unexpected way (code 5, status 19)");
}

/* ---------------------------------------------------------------------------------------- */
/* rsync_spawn, rsync_reap, rsync_wait */

static void test_spawn_true_exits_0(void **state)
{
        char *argv[] = { "/bin/true", NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, SEC(10), MSEC(500), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 0);
}

static void test_spawn_false_exits_1(void **state)
{
        char *argv[] = { "/bin/false", NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, 0, MSEC(500), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 1);
}

static void test_spawn_passes_arguments_and_exit_status(void **state)
{
        char *argv[] = { "/bin/sh", "-c", "exit $(($# + $1))", "sh", "20", "x", "y", NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, SEC(10), MSEC(500), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 23);
}

static void test_spawn_missing_program_names_it(void **state)
{
        char *argv[] = { "/nonexistent/dual-root-test/rsync", "-a", NULL };
        _cleanup_free_ char *why = NULL;
        struct rsync_child c = { .pid = -7, .started = 7 };

        (void)state;
        assert_int_equal(rsync_spawn(argv, &c, &why), -ENOENT);
        assert_non_null(why);
        assert_string_equal(why, "cannot run '/nonexistent/dual-root-test/rsync': "
                                 "No such file or directory");
        /* ret is written only on success */
        assert_int_equal(c.pid, -7);
        assert_int_equal(c.started, 7);
}

static void test_spawn_not_executable_is_refused(void **state)
{
        _cleanup_free_ char *path = tmp_path("not-executable");
        char *argv[] = { path, NULL };
        _cleanup_free_ char *why = NULL, *expected = NULL;
        _cleanup_close_ int fd = -1;
        struct rsync_child c;

        (void)state;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
        /* root may execute any file with an x bit; 0644 has none, so even root gets EACCES */
        assert_int_equal(rsync_spawn(argv, &c, &why), -EACCES);
        assert_true(asprintf(&expected, "cannot run '%s': Permission denied", path) >= 0);
        assert_string_equal(why, expected);
}

static void test_spawn_child_has_its_own_process_group(void **state)
{
        char *argv[] = { "/bin/sleep", "30", NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(getpgid(c.pid), c.pid);
        assert_int_not_equal(getpgid(c.pid), getpgrp());
        rsync_signal(&c, SIGKILL);
        assert_int_equal(wait_child(&c, SEC(10), MSEC(500), &code, &status), 0);
        assert_exit(code, status, CLD_KILLED, SIGKILL);
}

static void test_reap_returns_0_while_running_then_1(void **state)
{
        char *argv[] = { "/bin/sleep", "30", NULL };
        struct rsync_child c;
        usec_t deadline;
        int code = -1, status = -1, r;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(rsync_reap(&c, &code, &status), 0);
        assert_int_equal(code, -1); /* untouched while it runs */

        rsync_signal(&c, SIGTERM);
        deadline = now_usec(CLOCK_MONOTONIC) + SEC(10);
        while ((r = rsync_reap(&c, &code, &status)) == 0) {
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        fail_msg("sleep did not end within 10 s of SIGTERM");
                usleep(10000);
        }
        assert_int_equal(r, 1);
        live_group = 0;
        assert_exit(code, status, CLD_KILLED, SIGTERM);
        /* reaped: a second reap has nothing left */
        assert_int_equal(rsync_reap(&c, &code, &status), -ECHILD);
}

static void test_wait_timeout_kills_the_whole_process_group(void **state)
{
        _cleanup_free_ char *pidfile = tmp_path("grandchild.pid");
        _cleanup_free_ char *script = NULL;
        char *argv[] = { "/bin/sh", "-c", NULL, NULL };
        struct rsync_child c;
        int code = -1, status = -1;
        usec_t t0, elapsed;

        (void)state;
        /* The shell starts a grandchild and waits for it, as rsync waits for its helpers. */
        assert_true(asprintf(&script, "sleep 30 & echo $! > '%s'; wait", pidfile) >= 0);
        argv[2] = script;
        spawn_ok(argv, &c);
        live_grandchild = read_pid(pidfile);
        assert_true(process_alive(live_grandchild));
        assert_int_equal(getpgid(live_grandchild), c.pid);

        t0 = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(wait_child(&c, MSEC(200), SEC(5), &code, &status), -ETIMEDOUT);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        assert_exit(code, status, CLD_KILLED, SIGTERM);
        if (elapsed < MSEC(200) || elapsed > SEC(3))
                fail_msg("stopping took %" PRIu64 " ms, expected 200 ms and a bit",
                         elapsed / USEC_PER_MSEC);
        assert_process_gone(live_grandchild);
        live_grandchild = 0;
}

static void test_wait_sigkill_after_grace_when_sigterm_is_ignored(void **state)
{
        _cleanup_free_ char *pidfile = tmp_path("grandchild.pid");
        _cleanup_free_ char *script = NULL;
        char *argv[] = { "/bin/sh", "-c", NULL, NULL };
        struct rsync_child c;
        int code = -1, status = -1;
        usec_t t0, elapsed;

        (void)state;
        /* Both the shell and its sleep ignore SIGTERM (ignored signals stay so across
         * fork and exec). */
        assert_true(asprintf(&script, "trap '' TERM; sleep 30 & echo $! > '%s'; wait", pidfile) >=
                    0);
        argv[2] = script;
        spawn_ok(argv, &c);
        live_grandchild = read_pid(pidfile);

        t0 = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(wait_child(&c, MSEC(200), MSEC(300), &code, &status), -ETIMEDOUT);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        assert_exit(code, status, CLD_KILLED, SIGKILL);
        if (elapsed < MSEC(500) || elapsed > SEC(3))
                fail_msg("stopping took %" PRIu64 " ms, expected 200 ms + 300 ms grace",
                         elapsed / USEC_PER_MSEC);
        assert_process_gone(live_grandchild);
        live_grandchild = 0;
}

static void test_wait_timeout_also_kills_helpers_that_survive_sigterm(void **state)
{
        _cleanup_free_ char *pidfile = tmp_path("grandchild.pid");
        _cleanup_free_ char *script = NULL;
        char *argv[] = { "/bin/sh", "-c", NULL, NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        /* The shell dies on SIGTERM, its helper ignores it: once the shell is reaped the
         * group still holds the helper, which must not be left behind. */
        assert_true(asprintf(&script, "(trap '' TERM; exec sleep 30) & echo $! > '%s'; wait",
                             pidfile) >= 0);
        argv[2] = script;
        spawn_ok(argv, &c);
        live_grandchild = read_pid(pidfile);
        /* Once it runs sleep, the subshell has set its trap. */
        wait_for_comm(live_grandchild, "sleep");

        assert_int_equal(wait_child(&c, MSEC(200), SEC(5), &code, &status), -ETIMEDOUT);
        assert_exit(code, status, CLD_KILLED, SIGTERM);
        assert_process_gone(live_grandchild);
        live_grandchild = 0;
}

static void check_stop_signal(int sig, bool want_signal)
{
        _cleanup_free_ char *pidfile = tmp_path("grandchild.pid");
        _cleanup_free_ char *script = NULL;
        char *argv[] = { "/bin/sh", "-c", NULL, NULL };
        struct rsync_child c;
        int code = -1, status = -1, got = 0, r;
        usec_t t0, elapsed;

        assert_true(asprintf(&script, "sleep 30 & echo $! > '%s'; wait", pidfile) >= 0);
        argv[2] = script;
        spawn_ok(argv, &c);
        live_grandchild = read_pid(pidfile);

        /* blocked (setup), so it waits for rsync_wait to take it */
        assert_int_equal(kill(getpid(), sig), 0);
        t0 = now_usec(CLOCK_MONOTONIC);
        r = rsync_wait(&c, SEC(30), SEC(5), &code, &status, want_signal ? &got : NULL);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        if (r != -EINTR)
                fail_msg("rsync_wait returned %d (%s) after %s, expected -EINTR", r, strerror(-r),
                         strsignal(sig));
        live_group = 0;
        if (want_signal)
                assert_int_equal(got, sig);
        assert_exit(code, status, CLD_KILLED, SIGTERM);
        if (elapsed > SEC(3))
                fail_msg("stopping on %s took %" PRIu64 " ms", strsignal(sig),
                         elapsed / USEC_PER_MSEC);
        assert_process_gone(live_grandchild);
        live_grandchild = 0;
}

static void test_wait_stop_signal_stops_the_group_and_returns_eintr(void **state)
{
        /* The daemon or a one-shot run told to stop (SIGTERM, Ctrl-C, hang-up) must not
         * leave rsync running, nor wait for the time limit. */
        (void)state;
        check_stop_signal(SIGTERM, true);
        check_stop_signal(SIGINT, true);
        check_stop_signal(SIGHUP, true);
}

static void test_wait_stop_signal_without_ret_signal(void **state)
{
        (void)state;
        check_stop_signal(SIGTERM, false);
}

static void test_wait_child_that_already_exited_returns_at_once(void **state)
{
        /* SIGCHLD is blocked before the spawn, so an exit before the wait is not missed
         * even without a time limit. */
        char *argv[] = { "/bin/sh", "-c", "exit 5", NULL };
        struct rsync_child c;
        int code = -1, status = -1;
        usec_t t0, elapsed;

        (void)state;
        spawn_ok(argv, &c);
        usleep(200000);
        t0 = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(wait_child(&c, 0, SEC(1), &code, &status), 0);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        assert_exit(code, status, CLD_EXITED, 5);
        if (elapsed > SEC(1))
                fail_msg("waiting for an exited child took %" PRIu64 " ms",
                         elapsed / USEC_PER_MSEC);
}

static void test_wait_ignores_other_children(void **state)
{
        /* Another child's SIGCHLD wakes the wait up; it must neither end it nor reap that
         * child (the daemon has other children). */
        char *argv[] = { "/bin/sh", "-c", "sleep 0.3; exit 7", NULL };
        struct rsync_child c;
        int code = -1, status = -1, other_status;
        pid_t other;

        (void)state;
        spawn_ok(argv, &c);
        other = fork();
        assert_true(other >= 0);
        if (other == 0)
                _exit(42);
        assert_int_equal(wait_child(&c, SEC(10), SEC(1), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 7);
        assert_int_equal(waitpid(other, &other_status, 0), other);
        assert_true(WIFEXITED(other_status));
        assert_int_equal(WEXITSTATUS(other_status), 42);
}

static void test_wait_without_timeout_waits_for_the_end(void **state)
{
        char *argv[] = { "/bin/sh", "-c", "sleep 0.3; exit 3", NULL };
        struct rsync_child c;
        int code = -1, status = -1;
        usec_t t0, elapsed;

        (void)state;
        t0 = now_usec(CLOCK_MONOTONIC);
        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, 0, MSEC(1), &code, &status), 0);
        elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        assert_exit(code, status, CLD_EXITED, 3);
        assert_true(elapsed >= MSEC(300));
}

static void test_wait_child_ending_before_timeout_is_not_stopped(void **state)
{
        char *argv[] = { "/bin/sh", "-c", "sleep 0.1; exit 23", NULL };
        struct rsync_child c;
        int code = -1, status = -1;

        (void)state;
        spawn_ok(argv, &c);
        assert_int_equal(wait_child(&c, SEC(10), MSEC(1), &code, &status), 0);
        assert_exit(code, status, CLD_EXITED, 23);
}

/* Reads "SigBlk:\t<hex>" style lines from the child's own /proc/self/status copy. */
static uint64_t status_mask(const char *text, const char *field)
{
        const char *p = strstr(text, field);
        char *end;
        uint64_t v;

        if (!p)
                fail_msg("no '%s' in:\n%s", field, text);
        p += strlen(field);
        while (*p == ':' || *p == '\t' || *p == ' ')
                p++;
        v = strtoull(p, &end, 16);
        assert_true(end > p);
        return v;
}

#define SIGBIT(s) (UINT64_C(1) << ((s)-1))

static void test_spawn_child_signals_are_clean_even_when_parent_blocks_and_ignores(void **state)
{
        /* The daemon blocks SIGTERM etc. for its signalfd; a child inheriting that mask
         * could not be stopped by SIGTERM. Ignored dispositions survive exec too. */
        _cleanup_free_ char *out = tmp_path("status");
        _cleanup_free_ char *text = NULL;
        char *argv[] = { "/bin/cp", "/proc/self/status", out, NULL };
        sigset_t block, saved;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_term, old_hup;
        uint64_t blk, ign_mask;

        (void)state;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGHUP);
        sigaddset(&block, SIGCHLD);
        sigaddset(&block, SIGUSR1);
        assert_int_equal(sigprocmask(SIG_BLOCK, &block, &saved), 0);
        assert_int_equal(sigaction(SIGTERM, &ign, &old_term), 0);
        assert_int_equal(sigaction(SIGHUP, &ign, &old_hup), 0);

        /* cp reads its own /proc/self/status: a shell in between would not do, as dash
         * clears its signal mask when it starts */
        run(argv);

        assert_int_equal(sigaction(SIGHUP, &old_hup, NULL), 0);
        assert_int_equal(sigaction(SIGTERM, &old_term, NULL), 0);
        assert_int_equal(sigprocmask(SIG_SETMASK, &saved, NULL), 0);

        assert_int_equal(read_full_file(out, 4096, &text, NULL), 0);
        blk = status_mask(text, "SigBlk");
        ign_mask = status_mask(text, "SigIgn");
        if (blk != 0)
                fail_msg("the child's signal mask is %016" PRIx64 ", expected empty", blk);
        if (ign_mask & (SIGBIT(SIGTERM) | SIGBIT(SIGHUP)))
                fail_msg("the child ignores signals %016" PRIx64 ", SIGTERM and SIGHUP "
                         "must be at their defaults",
                         ign_mask);
}

static void test_spawn_stdin_is_dev_null(void **state)
{
        /* rsync must never read the daemon's or the user's stdin: give this process another
         * stdin (a test may well run with /dev/null already) and see that the child's is not
         * it. */
        _cleanup_free_ char *out = tmp_path("stdin");
        _cleanup_free_ char *ours = tmp_path("our-stdin");
        _cleanup_free_ char *script = NULL, *text = NULL;
        int saved, fd;

        (void)state;
        fd = open(ours, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        saved = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
        close(fd);

        assert_true(asprintf(&script, "readlink /proc/self/fd/0 > '%s'", out) >= 0);
        run_sh(script);

        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        assert_int_equal(read_full_file(out, 4096, &text, NULL), 0);
        assert_string_equal(text, "/dev/null\n");
}

/* rsync_opts_quiet: which option sets let sync.c take rsync's stdout for itemized changes */
static void test_quiet_options_are_recognised(void **state)
{
        char *quiet1[] = { "-axHAXt", NULL };
        char *quiet2[] = { "-axHAX", "--no-specials", "-B8192v", "--exclude=x", NULL };
        char *none[] = { NULL };

        assert_true(rsync_opts_quiet(quiet1));
        assert_true(rsync_opts_quiet(quiet2)); /* the v is B's argument */
        assert_true(rsync_opts_quiet(none));
        assert_true(rsync_opts_quiet(NULL));
}

static void test_loud_options_are_recognised(void **state)
{
        static const char *const loud[] = {
                "-v",
                "-axv",
                "-P",
                "-i",
                "-n",
                "--verbose",
                "--progress",
                "--stats",
                "--info=progress2",
                "--debug=ALL",
                "--itemize-changes",
                "--out-format=%n",
                "--log-format=%n",
                "--dry-run",
                "--list-only",
                /* not loud, but it empties the itemized list, which must stay trustworthy */
                "-q",
                "-aqx",
                "--quiet",
        };

        for (size_t i = 0; i < ELEMENTSOF(loud); i++) {
                char *opts[] = { "-axHAXt", (char *)loud[i], NULL };

                if (rsync_opts_quiet(opts))
                        fail_msg("'%s' was taken as quiet", loud[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_quiet_options_are_recognised),
                cmocka_unit_test(test_loud_options_are_recognised),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
                T(test_argv_default_options_then_always_options_then_source_and_dest),
                T(test_argv_test_mode_adds_dry_run_and_itemize_after_options),
                T(test_argv_without_user_options_has_only_always_options),
                T(test_argv_exact_duplicates_are_dropped_keeping_the_first),
                T(test_argv_short_flag_already_in_a_bundle_is_dropped),
                T(test_argv_test_mode_itemize_dropped_when_user_gave_it),
                T(test_argv_test_mode_dry_run_dropped_when_user_gave_it),
                T(test_itemized_changes_are_worded),
                T(test_progress_reports_are_parsed),
                T(test_argv_partially_new_bundle_is_kept_whole),
                T(test_argv_bundle_flags_count_as_given_even_when_kept),
                T(test_argv_bundles_with_argument_letters_are_never_dropped),
                T(test_argv_exact_duplicate_with_argument_letter_is_dropped),
                T(test_argv_long_options_are_not_taken_as_short_bundles),
                T(test_argv_one_exclude_per_exclusion_after_options),
                T(test_argv_exclusion_equal_to_always_exclude_is_not_repeated),
                T(test_argv_source_and_dest_come_last_even_if_they_look_like_options),
                T(test_argv_exclusions_never_accumulate_between_builds),
                T(test_argv_many_builds_stay_the_same_length),

                T(test_to_string_plain_words_unquoted),
                T(test_to_string_quotes_spaces_and_shell_characters),
                T(test_to_string_quotes_quotes),
                T(test_to_string_empty_word_is_two_quotes),
                T(test_to_string_round_trips_through_the_shell),

                T(test_status_exit_0),
                T(test_status_exit_23_is_explained),
                T(test_status_unknown_exit_code_has_no_explanation),
                T(test_status_killed_by_signal_names_it),
                T(test_status_other_codes_are_reported_raw),

                T(test_spawn_true_exits_0),
                T(test_spawn_false_exits_1),
                T(test_spawn_passes_arguments_and_exit_status),
                T(test_spawn_missing_program_names_it),
                T(test_spawn_not_executable_is_refused),
                T(test_spawn_child_has_its_own_process_group),
                T(test_reap_returns_0_while_running_then_1),
                T(test_wait_timeout_kills_the_whole_process_group),
                T(test_wait_sigkill_after_grace_when_sigterm_is_ignored),
                T(test_wait_timeout_also_kills_helpers_that_survive_sigterm),
                T(test_wait_stop_signal_stops_the_group_and_returns_eintr),
                T(test_wait_stop_signal_without_ret_signal),
                T(test_wait_child_that_already_exited_returns_at_once),
                T(test_wait_ignores_other_children),
                T(test_wait_without_timeout_waits_for_the_end),
                T(test_wait_child_ending_before_timeout_is_not_stopped),
                T(test_spawn_child_signals_are_clean_even_when_parent_blocks_and_ignores),
                T(test_spawn_stdin_is_dev_null),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
