/* SPDX-License-Identifier: MIT */
/*
 * copyorder.c (DESIGN.md §5 rule 9): the three passes' command lines, the options that would
 * break the order, and the room the copy needs beside the old set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "copyorder.h"
#include "rsync.h"
#include "util/exclude.h"
#include "util/strv.h"

static char *joined(char **argv)
{
        return strv_join(argv, " ");
}

static void test_files_pass_is_rsyncs_one_run(void **state)
{
        char *opts[] = { "-axHAXt", "--delete", NULL };
        char *ex[] = { "/loader/random-seed", NULL };
        struct copy_args a = {
                .rsync_path = "/usr/bin/rsync",
                .opts = opts,
                .excludes = ex,
                .source = "/efi0/",
                .dest = "/efi1/",
        };
        struct copy_passes p = {};
        (void)state;

        assert_int_equal(copy_order_passes(&a, &p), 0);
        {
                _cleanup_free_ char *one = joined(p.argv[0]);

                /* everything but /loader/, under temporary names, nothing deleted: passes
                 * 2 and 3 are the runner's own (espcopy.c) */
                assert_string_equal(one, "/usr/bin/rsync -axHAXt --no-specials --atimes "
                                         "--open-noatime --exclude=/lost+found/ --delay-updates "
                                         "--exclude=/loader/random-seed --exclude=/loader/ /efi0/ "
                                         "/efi1/");
        }
        assert_null(p.argv[1]);
        assert_false(strv_contains(p.argv[0], "--delete"));
        copy_passes_done(&p);
}

static void test_verify_compares_content_where_files_are_copied(void **state)
{
        struct copy_args a = {
                .rsync_path = "rsync",
                .verify = true,
                .itemize = true,
                .progress = true,
                .source = "s/",
                .dest = "d",
        };
        struct copy_passes p = {};
        (void)state;

        assert_int_equal(copy_order_passes(&a, &p), 0);
        assert_true(strv_contains(p.argv[0], "--checksum"));
        assert_true(strv_contains(p.argv[0], "--itemize-changes"));
        assert_true(strv_contains(p.argv[0], "--info=progress2"));
        assert_null(p.argv[1]);
        copy_passes_done(&p);
}

static void test_breakers(void **state)
{
        char *fine[] = { "-axHAXt", "--delete", "--delay-updates", "--numeric-ids", NULL };
        const char *bad[] = { "--inplace",
                              "--append",
                              "--append-verify",
                              "--del",
                              "--delete-during",
                              "--delete-before",
                              "--delete-delay",
                              "--delete-excluded",
                              "--remove-source-files",
                              "--partial-dir=.p",
                              "--temp-dir=/tmp",
                              "-aT/tmp" };
        (void)state;

        assert_null(copy_order_breaker(fine));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *o[] = { "-axHAXt", (char *)bad[i], NULL };
                const char *b = copy_order_breaker(o);

                if (!b || !streq(b, bad[i]))
                        fail_msg("'%s' not named as breaking the copy order", bad[i]);
        }
}

static void put(const char *dir, const char *name, size_t size, time_t t)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1;
        struct timespec ts[2] = { { t, 0 }, { t, 0 } };

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        assert_int_equal(futimens(fd, ts), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static void write_text(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* DESIGN.md §5b: what the destination's entries name, as anchored patterns matching those
 * paths alone, kept by pass 3 only. */
static void test_deletions_pass_keeps_what_the_entries_name(void **state)
{
        char base[] = "/tmp/test-copyorder-XXXXXX";
        _cleanup_free_ char *dir = NULL;
        _cleanup_strv_free_ char **named = NULL;
        _cleanup_close_ int fd = -1;
        char *why = NULL;

        (void)state;
        assert_non_null(mkdtemp(base));
        assert_true(asprintf(&dir, "%s/loader/entries", base) >= 0);
        assert_int_equal(mkdir(strndupa(dir, strlen(dir) - strlen("/entries")), 0755), 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        write_text(dir, "a.conf",
                   "title A\nlinux /vmlinuz-6.1\ninitrd \\EFI\\deb\\initrd*[1]?.img\n"
                   "devicetree //dtb//./board.dtb\n");
        write_text(dir, "b.conf", "title B\nlinux vmlinuz-6.1\ninitrd /../outside\n");
        write_text(dir, "c.conf", "title broken\nlinux\n");
        fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(copy_entries_named(fd, &named, &why), 0);
        assert_null(why);
        {
                _cleanup_free_ char *j = joined(named);

                /* sorted, once each, '\' and "//" and "." read as the boot loader does, the
                 * wildcard characters escaped, ".." left out */
                assert_string_equal(j,
                                    "/EFI/deb/initrd\\*\\[1]\\?.img /dtb/board.dtb /vmlinuz-6.1");
        }
        /* what pass 3 keeps (espcopy_deletions() matches them as rsync would: test-espcopy) */
        assert_true(exclude_match(named, "vmlinuz-6.1", false));
        assert_true(exclude_match(named, "EFI/deb/initrd*[1]?.img", false));
        assert_false(exclude_match(named, "EFI/deb/initrdX1].img", false));
        assert_false(exclude_match(named, "vmlinuz-6.2", false));
        assert_int_equal(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_space_counts_new_and_changed_files_only(void **state)
{
        char base[] = "/tmp/test-copyorder.XXXXXX";
        _cleanup_free_ char *src = NULL, *dst = NULL;
        _cleanup_close_ int sfd = -1, dfd = -1;
        char *ex[] = { "/skip", NULL };
        uint64_t need = 0, avail = 0, b;
        struct statfs sf;
        char *why = NULL;
        (void)state;

        assert_non_null(mkdtemp(base));
        assert_true(asprintf(&src, "%s/src", base) >= 0 && asprintf(&dst, "%s/dst", base) >= 0);
        assert_int_equal(mkdir(src, 0755), 0);
        assert_int_equal(mkdir(dst, 0755), 0);
        put(src, "same", 10000, 1000);
        put(dst, "same", 10000, 1000);
        put(src, "changed", 5000, 2000);
        put(dst, "changed", 5000, 1999);
        put(src, "new", 100, 3000);
        put(src, "skip", 1000000, 3000);       /* excluded */
        put(src, "lost+found", 1000000, 3000); /* ignored at the root */
        put(dst, "old-only", 50000, 1000);     /* deleted last: counts as taken */
        sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(copy_space_needed(sfd, dfd, ex, &need, &avail, &why), 0);
        assert_null(why);
        assert_int_equal(fstatfs(dfd, &sf), 0);
        b = (uint64_t)sf.f_bsize;
        assert_int_equal(need, (5000 + b - 1) / b * b + (100 + b - 1) / b * b);
        /* free blocks, not the unprivileged caller's share; /tmp is shared with whatever else
         * runs, so its free space may move a few blocks between the two looks (CI saw one) */
        {
                uint64_t now = (uint64_t)sf.f_bfree * b, slack = 16u << 20;

                assert_true(avail % b == 0);
                assert_true(avail + slack >= now && avail <= now + slack);
                if ((sf.f_bfree - sf.f_bavail) * b > 4 * slack)
                        assert_true(avail > (uint64_t)sf.f_bavail * b + 2 * slack);
        }
        assert_int_equal(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static unsigned passes_of(const char *src, const char *dst)
{
        _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *ex[] = { "/loader/random-seed", NULL };
        struct copy_survey sv;
        char *why = NULL;

        assert_true(sfd >= 0 && dfd >= 0);
        assert_int_equal(copy_survey(sfd, dfd, ex, &sv, &why), 0);
        assert_null(why);
        return sv.passes;
}

static void mkdirs(const char *root, const char *rel)
{
        _cleanup_free_ char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", root, rel) >= 0);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void test_survey_finds_which_passes_have_work(void **state)
{
        char base[] = "/tmp/test-copyorder.XXXXXX";
        _cleanup_free_ char *src = NULL, *dst = NULL, *p = NULL;
        (void)state;

        assert_non_null(mkdtemp(base));
        assert_true(asprintf(&src, "%s/src", base) >= 0 && asprintf(&dst, "%s/dst", base) >= 0);
        for (int i = 0; i < 2; i++) {
                const char *r = i ? dst : src;

                assert_int_equal(mkdir(r, 0755), 0);
                mkdirs(r, "loader");
                mkdirs(r, "loader/entries");
                put(r, "vmlinuz", 1000, 1000);
                put(r, "loader/entries/a.conf", 10, 1000);
        }
        put(dst, "loader/random-seed", 32, 5); /* excluded: no work */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES);
        put(src, "vmlinuz", 2000, 1001); /* a kernel replaced: the files pass only */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES);
        put(dst, "vmlinuz", 2000, 1001);
        put(src, "loader/entries/b.conf", 10, 1000); /* a new entry */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES | COPY_PASS_ENTRIES);
        put(dst, "loader/entries/b.conf", 10, 1000);
        put(dst, "loader/entries/old.conf", 10, 1000); /* an old entry to remove */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES | COPY_PASS_ENTRIES);
        assert_true(asprintf(&p, "%s/loader/entries/old.conf", dst) >= 0);
        assert_int_equal(unlink(p), 0);
        put(dst, "vmlinuz-old", 10, 1000); /* a file only an old entry named */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES | COPY_PASS_DELETIONS);
        free(p);
        assert_true(asprintf(&p, "%s/vmlinuz-old", dst) >= 0);
        assert_int_equal(unlink(p), 0);
        mkdirs(dst, "loader/entries/.~tmp~"); /* a cut run's leftover */
        assert_int_equal(passes_of(src, dst), COPY_PASS_FILES | COPY_PASS_DELETIONS);
        assert_int_equal(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_pass_is_rsyncs_one_run),
                cmocka_unit_test(test_verify_compares_content_where_files_are_copied),
                cmocka_unit_test(test_breakers),
                cmocka_unit_test(test_space_counts_new_and_changed_files_only),
                cmocka_unit_test(test_survey_finds_which_passes_have_work),
                cmocka_unit_test(test_deletions_pass_keeps_what_the_entries_name),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
