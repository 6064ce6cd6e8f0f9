/* SPDX-License-Identifier: MIT */
/*
 * espcopy.c (DESIGN.md §5 rules 9, 10, 12, 13): our leftovers, pass 2 (the entries, then
 * loader.conf, each entry only with its files delivered) and pass 3 (the deletions), on
 * directories under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "espcopy.h"
#include "util/macro.h"
#include "util/strv.h"

struct dirs {
        char root[64];
        char src[96], dst[96];
        int sfd, dfd;
};

static int setup(void **state)
{
        struct dirs *d = calloc(1, sizeof(*d));

        assert_non_null(d);
        strcpy(d->root, "/tmp/test-espcopy-XXXXXX");
        assert_non_null(mkdtemp(d->root));
        snprintf(d->src, sizeof(d->src), "%s/src", d->root);
        snprintf(d->dst, sizeof(d->dst), "%s/dst", d->root);
        assert_int_equal(mkdir(d->src, 0755), 0);
        assert_int_equal(mkdir(d->dst, 0755), 0);
        d->sfd = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d->dfd = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->sfd >= 0 && d->dfd >= 0);
        *state = d;
        return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st, (void)flag, (void)f;
        return remove(p);
}

static int teardown(void **state)
{
        struct dirs *d = *state;

        close(d->sfd);
        close(d->dfd);
        nftw(d->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
        return 0;
}

/* put(dir, "a/b/c", text, mtime): the file, its directories made. */
static void put(const char *dir, const char *rel, const char *text, time_t mtime)
{
        _cleanup_free_ char *p = NULL;
        struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
        for (char *s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                (void)mkdir(p, 0755);
                *s = '/';
        }
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static bool there(const char *dir, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;

        assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
        return lstat(p, &st) == 0;
}

static char *text_of(const char *dir, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        char buf[256] = {};
        int fd;
        ssize_t n;

        assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        assert_true(n >= 0);
        return strdup(buf);
}

/* What was told on out (a memfd). */
static char *told(int out)
{
        char buf[4096] = {};
        ssize_t n = pread(out, buf, sizeof(buf) - 1, 0);

        assert_true(n >= 0);
        return strdup(buf);
}

/* out emptied, the next change told at its start (a write goes where the offset is). */
static void forget(int out)
{
        assert_int_equal(ftruncate(out, 0), 0);
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
}

static void test_leftover_names(void **state)
{
        (void)state;
        assert_true(espcopy_is_leftover_name(".~tmp~"));
        assert_true(espcopy_is_leftover_name(".vmlinuz-6.2.aB3dE9"));
        assert_true(espcopy_is_leftover_name(".x.conf.~dr~"));
        assert_false(espcopy_is_leftover_name("vmlinuz-6.2.aB3dE9"));  /* no leading dot */
        assert_false(espcopy_is_leftover_name(".vmlinuz-6.2.aB3d-9")); /* not alphanumeric */
        assert_false(espcopy_is_leftover_name(".aB3dE9"));             /* no name before */
        assert_false(espcopy_is_leftover_name(".~dr~"));
        assert_false(espcopy_is_leftover_name("loader"));
        assert_false(espcopy_is_leftover_name(".dual-root-state"));
}

static void test_leftovers_are_removed_unless_the_source_holds_them(void **state)
{
        struct dirs *d = *state;
        char *protect[] = { "/EFI/.kept.Abc123", NULL };
        uint64_t bytes = 0;
        unsigned count = 0;

        put(d->dst, ".~tmp~/vmlinuz-6.2", "a whole new kernel", 1000);
        put(d->dst, "EFI/BOOT/.BOOTX64.EFI.q1W2e3", "half a loader", 1000);
        put(d->dst, "loader/entries/.new.conf.~dr~", "title x\n", 1000);
        put(d->dst, "EFI/.kept.Abc123", "an entry names it", 1000);
        put(d->dst, ".real.abcdef", "the source has it too", 1000);
        put(d->src, ".real.abcdef", "the source has it too", 1000);
        put(d->dst, "vmlinuz-6.1", "old kernel", 1000);

        /* dry: counted, nothing removed */
        assert_int_equal(
                espcopy_clear_leftovers(d->sfd, d->dfd, protect, true, &bytes, &count, NULL), 0);
        assert_int_equal(count, 3);
        assert_true(bytes > 0);
        assert_true(there(d->dst, ".~tmp~/vmlinuz-6.2"));

        assert_int_equal(
                espcopy_clear_leftovers(d->sfd, d->dfd, protect, false, &bytes, &count, NULL), 0);
        assert_int_equal(count, 3);
        assert_false(there(d->dst, ".~tmp~"));
        assert_false(there(d->dst, "EFI/BOOT/.BOOTX64.EFI.q1W2e3"));
        assert_false(there(d->dst, "loader/entries/.new.conf.~dr~"));
        assert_true(there(d->dst, "EFI/.kept.Abc123"));
        assert_true(there(d->dst, ".real.abcdef"));
        assert_true(there(d->dst, "vmlinuz-6.1"));
        assert_true(there(d->dst, "EFI/BOOT"));
}

static void test_entries_then_loader_conf_then_old_entries(void **state)
{
        struct dirs *d = *state;
        _cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC);
        _cleanup_free_ char *said = NULL, *conf = NULL, *entry = NULL;
        char *ex[] = { "/loader/random-seed", NULL };
        struct espcopy_args a = {
                .src_fd = d->sfd,
                .dst_fd = d->dfd,
                .excludes = ex,
                .out_fd = out,
        };
        const char *e, *c, *o;

        /* pass 1 delivered the new kernel; the entries are still the old ones */
        put(d->src, "vmlinuz-6.2", "kernel 6.2", 2000);
        put(d->dst, "vmlinuz-6.2", "kernel 6.2", 2000);
        put(d->src, "loader/entries/debian-6.2.conf", "title 6.2\nlinux /vmlinuz-6.2\n", 2000);
        put(d->src, "loader/loader.conf", "default debian-6.2.conf\n", 2000);
        put(d->dst, "loader/loader.conf", "default debian-6.1.conf\n", 1000);
        put(d->dst, "loader/entries/debian-6.1.conf", "title 6.1\nlinux /vmlinuz-6.1\n", 1000);
        put(d->dst, "loader/random-seed", "this disk's own", 1000);
        put(d->dst, "vmlinuz-6.1", "kernel 6.1", 1000);

        assert_int_equal(espcopy_entries(&a, NULL), 0);
        conf = text_of(d->dst, "loader/loader.conf");
        entry = text_of(d->dst, "loader/entries/debian-6.2.conf");
        assert_string_equal(conf, "default debian-6.2.conf\n");
        assert_string_equal(entry, "title 6.2\nlinux /vmlinuz-6.2\n");
        assert_false(there(d->dst, "loader/entries/debian-6.1.conf"));
        assert_true(there(d->dst, "loader/random-seed")); /* excluded: left alone */
        assert_true(there(d->dst, "vmlinuz-6.1"));        /* pass 3's */
        assert_false(there(d->dst, "loader/entries/.debian-6.2.conf.~dr~"));

        /* told in the order done: the entry, loader.conf, then the old entry */
        said = told(out);
        e = strstr(said, "pass 2 (entries): create loader/entries/debian-6.2.conf\n");
        c = strstr(said, "pass 2 (entries): replace loader/loader.conf\n");
        o = strstr(said, "pass 2 (entries): delete loader/entries/debian-6.1.conf\n");
        assert_non_null(e);
        assert_non_null(c);
        assert_non_null(o);
        assert_true(e < c && c < o);

        /* a second run has nothing to do */
        forget(out);
        assert_int_equal(espcopy_entries(&a, NULL), 0);
        free(said);
        said = told(out);
        assert_string_equal(said, "");
}

/* Pass 1 in-process: what the quick check (or, with verify, content) finds different is
 * copied whole under a temporary name then renamed in; /loader/, the ignored names, the
 * excluded and our leftovers' names are left alone; nothing is deleted. */
static void test_files_pass_copies_what_differs_and_deletes_nothing(void **state)
{
        struct dirs *d = *state;
        _cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC);
        _cleanup_free_ char *said = NULL, *k = NULL, *n = NULL, *t = NULL;
        char *ex[] = { "/loader/random-seed", "/skip", NULL };
        struct espcopy_args a = {
                .src_fd = d->sfd,
                .dst_fd = d->dfd,
                .excludes = ex,
                .out_fd = out,
        };
        struct stat st;
        char target[64] = {};

        put(d->src, "vmlinuz-6.2", "kernel 6.2", 2000);
        put(d->src, "EFI/systemd/systemd-bootx64.efi", "loader new", 2000);
        put(d->dst, "EFI/systemd/systemd-bootx64.efi", "loader old", 1000);
        put(d->src, "same", "same bytes", 1500);
        put(d->dst, "same", "same bytes", 1500);
        put(d->src, "torn", "good bytes", 1500); /* same size and time, other content */
        put(d->dst, "torn", "XXXX XXXXX", 1500);
        put(d->src, "loader/entries/x.conf", "title x\nlinux /vmlinuz-6.2\n", 2000);
        put(d->src, "skip", "excluded", 2000);
        put(d->src, ".vmlinuz.~dr~", "a leftover of a copy on the source", 2000);
        put(d->dst, "old-only", "pass 3's", 1000);
        assert_int_equal(symlinkat("vmlinuz-6.2", d->sfd, "vmlinuz"), 0);
        assert_int_equal(chmod(d->src, 0755), 0);

        assert_int_equal(espcopy_files(&a, NULL), 0);
        k = text_of(d->dst, "vmlinuz-6.2");
        n = text_of(d->dst, "EFI/systemd/systemd-bootx64.efi");
        t = text_of(d->dst, "torn");
        assert_string_equal(k, "kernel 6.2");
        assert_string_equal(n, "loader new");
        assert_string_equal(t, "XXXX XXXXX"); /* the quick check trusts size and time */
        assert_int_equal(fstatat(d->dfd, "vmlinuz-6.2", &st, 0), 0);
        assert_int_equal(st.st_mtim.tv_sec, 2000);
        assert_true(readlinkat(d->dfd, "vmlinuz", target, sizeof(target) - 1) > 0);
        assert_string_equal(target, "vmlinuz-6.2");
        assert_false(there(d->dst, "loader")); /* pass 2's */
        assert_false(there(d->dst, "skip"));
        assert_false(there(d->dst, ".vmlinuz.~dr~"));
        assert_false(there(d->dst, ".vmlinuz-6.2.~dr~"));
        assert_true(there(d->dst, "old-only")); /* pass 3's */
        said = told(out);
        assert_non_null(strstr(said, "pass 1 (files): replace EFI/systemd/systemd-bootx64.efi\n"));
        assert_non_null(strstr(said, "pass 1 (files): create vmlinuz-6.2\n"));
        assert_non_null(strstr(said, "pass 1 (files): create vmlinuz\n"));
        assert_null(strstr(said, "same"));
        assert_null(strstr(said, "old-only"));

        /* with verify, content: the torn copy is replaced; a second run then has nothing */
        a.verify = true;
        forget(out);
        assert_int_equal(espcopy_files(&a, NULL), 0);
        free(t);
        t = text_of(d->dst, "torn");
        assert_string_equal(t, "good bytes");
        free(said);
        said = told(out);
        assert_string_equal(said, "pass 1 (files): replace torn\n");
        forget(out);
        assert_int_equal(espcopy_files(&a, NULL), 0);
        free(said);
        said = told(out);
        assert_string_equal(said, "");
        /* a dry run tells and writes nothing */
        put(d->src, "vmlinuz-6.3", "kernel 6.3", 3000);
        a.test = true;
        assert_int_equal(espcopy_files(&a, NULL), 0);
        free(said);
        said = told(out);
        assert_string_equal(said, "pass 1 (files): create vmlinuz-6.3\n");
        assert_false(there(d->dst, "vmlinuz-6.3"));
        assert_false(there(d->dst, ".vmlinuz-6.3.~dr~"));
}

static void test_an_entry_ahead_of_its_files_moves_nothing(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *why = NULL, *conf = NULL;
        struct espcopy_args a = { .src_fd = d->sfd, .dst_fd = d->dfd, .out_fd = -1 };

        /* written on the source after pass 1 copied the files: the initrd is not there */
        put(d->src, "vmlinuz-6.3", "kernel 6.3", 3000);
        put(d->dst, "vmlinuz-6.3", "kernel 6.3", 3000);
        put(d->src, "initrd-6.3", "initrd 6.3", 3000);
        put(d->src, "loader/entries/debian-6.3.conf",
            "title 6.3\nlinux /vmlinuz-6.3\ninitrd /initrd-6.3\n", 3000);
        put(d->src, "loader/loader.conf", "default debian-6.3.conf\n", 3000);
        put(d->dst, "loader/loader.conf", "default debian-6.1.conf\n", 1000);
        put(d->dst, "loader/entries/debian-6.1.conf", "title 6.1\n", 1000);

        assert_int_equal(espcopy_entries(&a, &why), ESPCOPY_SOURCE_CHANGED);
        assert_non_null(why);
        assert_non_null(strstr(why, "'loader/entries/debian-6.3.conf' names '/initrd-6.3'"));
        assert_false(there(d->dst, "loader/entries/debian-6.3.conf"));
        assert_true(there(d->dst, "loader/entries/debian-6.1.conf"));
        conf = text_of(d->dst, "loader/loader.conf");
        assert_string_equal(conf, "default debian-6.1.conf\n");

        /* an initrd there but not as the source holds it now (rewritten meanwhile) */
        put(d->dst, "initrd-6.3", "initrd 6.3", 2999);
        free(why);
        why = NULL;
        assert_int_equal(espcopy_entries(&a, &why), ESPCOPY_SOURCE_CHANGED);
        /* delivered: placed */
        put(d->dst, "initrd-6.3", "initrd 6.3", 3000);
        assert_int_equal(espcopy_entries(&a, NULL), 0);
        assert_true(there(d->dst, "loader/entries/debian-6.3.conf"));
        assert_false(there(d->dst, "loader/entries/debian-6.1.conf"));
}

static void test_deletions_keep_exclusions_and_protected(void **state)
{
        struct dirs *d = *state;
        _cleanup_close_ int out = memfd_create("out", MFD_CLOEXEC);
        _cleanup_free_ char *said = NULL;
        char *ex[] = { "/loader/random-seed", "*.keep", NULL };
        char *protect[] = { "/vmlinuz-named", NULL };
        struct espcopy_args a = {
                .src_fd = d->sfd,
                .dst_fd = d->dfd,
                .excludes = ex,
                .protect = protect,
                .out_fd = out,
        };

        put(d->src, "EFI/BOOT/BOOTX64.EFI", "loader", 1000);
        put(d->dst, "EFI/BOOT/BOOTX64.EFI", "loader", 1000);
        put(d->dst, "EFI/old/a", "old", 1000);
        put(d->dst, "EFI/old/b.keep", "excluded", 1000);
        put(d->dst, "vmlinuz-old", "old kernel", 1000);
        put(d->dst, "vmlinuz-named", "an entry there names it", 1000);
        put(d->dst, "loader/random-seed", "seed", 1000);
        put(d->dst, ".dual-root-state", "record", 1000);

        /* a dry run tells and keeps */
        a.test = true;
        assert_int_equal(espcopy_deletions(&a, NULL), 0);
        assert_true(there(d->dst, "vmlinuz-old"));
        said = told(out);
        assert_non_null(strstr(said, "pass 3 (deletions): delete vmlinuz-old\n"));
        assert_null(strstr(said, "vmlinuz-named"));
        assert_null(strstr(said, "random-seed"));

        a.test = false;
        assert_int_equal(espcopy_deletions(&a, NULL), 0);
        assert_false(there(d->dst, "vmlinuz-old"));
        assert_false(there(d->dst, "EFI/old/a"));
        assert_true(there(d->dst, "EFI/old/b.keep")); /* and so its directory */
        assert_true(there(d->dst, "vmlinuz-named"));
        assert_true(there(d->dst, "loader/random-seed"));
        assert_true(there(d->dst, ".dual-root-state"));
        assert_true(there(d->dst, "EFI/BOOT/BOOTX64.EFI"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_leftover_names),
                cmocka_unit_test_setup_teardown(
                        test_leftovers_are_removed_unless_the_source_holds_them, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_files_pass_copies_what_differs_and_deletes_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entries_then_loader_conf_then_old_entries,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_an_entry_ahead_of_its_files_moves_nothing,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_deletions_keep_exclusions_and_protected, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
