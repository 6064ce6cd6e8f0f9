/* SPDX-License-Identifier: MIT */
/*
 * fstab.c: the ESP line, the lookups that make --add-disk idempotent, and the atomic edit with
 * its backup (DESIGN.md §12 rule 5), on files under a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "fstab.h"
#include "util/fileio.h"
#include "util/macro.h"

#define PU "6a1e0c5b-2222-4a4a-8000-00000000e2e2"
#define ESPLINE                                                                                    \
        "PARTUUID=" PU " /efi2 vfat umask=0077,nofail,x-systemd.device-timeout=30s,"               \
        "x-systemd.before=bind-mount-efi.service 0 2"

static const char *text =
        "# /etc/fstab\n"
        "UUID=0e5f0000-aaaa-4bbb-8ccc-000000000000 / btrfs defaults 0 0\n"
        "  PARTUUID=6A1E0C5B-0000-4A4A-8000-00000000E0E0\t/efi0/ vfat umask=0077 0 2\n"
        "#PARTUUID=" PU " /efi9 vfat defaults 0 2\n"
        "PARTUUID=6a1e0c5b-1111-4a4a-8000-00000000e1e1 /efi1 vfat umask=0077 0 2";

static void test_esp_line(void **state)
{
        _cleanup_free_ char *l = fstab_esp_line(PU, "/efi2");

        (void)state;
        assert_string_equal(l, ESPLINE);
}

static void test_find_partuuid(void **state)
{
        _cleanup_free_ char *t = NULL;

        (void)state;
        /* any case, leading blanks, tabs; the target as written */
        assert_int_equal(fstab_text_find_partuuid(text, "6a1e0c5b-0000-4a4a-8000-00000000e0e0", &t),
                         1);
        assert_string_equal(t, "/efi0/");
        /* a commented-out line does not count */
        assert_int_equal(fstab_text_find_partuuid(text, PU, NULL), 0);
        /* the last line has no newline */
        assert_int_equal(
                fstab_text_find_partuuid(text, "6a1e0c5b-1111-4a4a-8000-00000000e1e1", NULL), 1);
        assert_int_equal(fstab_text_find_partuuid("", PU, NULL), 0);
        /* by another tag: UUID= never matches PARTUUID= (nor the reverse) */
        free(t);
        t = NULL;
        assert_int_equal(fstab_text_find_tagged("uuid=ABCD-1234 /efi vfat defaults 0 2\n"
                                                "PARTUUID=abcd-1234 /x ext4 defaults 0 2\n",
                                                "UUID=", "abcd-1234", &t),
                         1);
        assert_string_equal(t, "/efi");
        assert_int_equal(fstab_text_find_tagged("PARTUUID=abcd-1234 /x ext4 defaults 0 2\n",
                                                "UUID=", "abcd-1234", NULL),
                         0);
}

static void test_has_target(void **state)
{
        (void)state;
        assert_true(fstab_text_has_target(text, "/efi0")); /* trailing slash in the file */
        assert_true(fstab_text_has_target(text, "/efi1/"));
        assert_true(fstab_text_has_target(text, "/"));
        assert_false(fstab_text_has_target(text, "/efi9")); /* commented out */
        assert_false(fstab_text_has_target(text, "/efi"));
}

static void test_append(void **state)
{
        _cleanup_free_ char *a = fstab_text_append("x 1", "y 2");
        _cleanup_free_ char *b = fstab_text_append("x 1\n", "y 2");
        _cleanup_free_ char *c = fstab_text_append("", "y 2");

        (void)state;
        assert_string_equal(a, "x 1\ny 2\n");
        assert_string_equal(b, "x 1\ny 2\n");
        assert_string_equal(c, "y 2\n");
}

static char *tmpdir(void)
{
        const char *t = getenv("TMPDIR");
        char *d;

        assert_true(asprintf(&d, "%s/test-fstab.XXXXXX", t ? t : "/tmp") > 0);
        assert_non_null(mkdtemp(d));
        return d;
}

static void write_file(const char *path, const char *s, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *slurp(const char *path)
{
        char *s = NULL;

        assert_int_equal(read_full_file(path, 1 << 20, &s, NULL), 0);
        return s;
}

static void cleanup_dir(const char *d)
{
        char *p;
        const char *names[] = { "fstab", "fstab" FSTAB_BACKUP_SUFFIX, "fstab" FSTAB_TMP_SUFFIX,
                                "link", "new" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_true(asprintf(&p, "%s/%s", d, names[i]) > 0);
                (void)unlink(p);
                free(p);
        }
        assert_int_equal(rmdir(d), 0);
}

static void test_add_line(void **state)
{
        _cleanup_free_ char *d = tmpdir(), *path = NULL, *bak = NULL, *tmp = NULL, *why = NULL;
        _cleanup_free_ char *after = NULL, *backup = NULL, *expect = NULL, *again = NULL;
        struct stat st;

        (void)state;
        assert_true(asprintf(&path, "%s/fstab", d) > 0);
        assert_true(asprintf(&bak, "%s/fstab" FSTAB_BACKUP_SUFFIX, d) > 0);
        assert_true(asprintf(&tmp, "%s/fstab" FSTAB_TMP_SUFFIX, d) > 0);
        write_file(path, text, 0640);
        write_file(tmp, "torn edit of a crashed run", 0600);

        /* test mode: says it would add, writes nothing */
        assert_int_equal(fstab_add_line(path, PU, "/efi2", ESPLINE, true, &why), 1);
        after = slurp(path);
        assert_string_equal(after, text);
        assert_int_equal(access(bak, F_OK), -1);
        free(after);

        assert_int_equal(fstab_add_line(path, PU, "/efi2", ESPLINE, false, &why), 1);
        after = slurp(path);
        assert_true(asprintf(&expect, "%s\n%s\n", text, ESPLINE) > 0);
        assert_string_equal(after, expect);
        backup = slurp(bak);
        assert_string_equal(backup, text);
        assert_int_equal(access(tmp, F_OK), -1); /* the torn temporary file is gone */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640); /* the mode is kept */
        assert_int_equal(stat(bak, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);

        /* again: present, nothing written (the backup still holds the original) */
        assert_int_equal(fstab_add_line(path, PU, "/efi2", ESPLINE, false, &why), 0);
        again = slurp(path);
        assert_string_equal(again, expect);
        free(backup);
        backup = slurp(bak);
        assert_string_equal(backup, text);

        /* the PARTUUID elsewhere, or the target taken: refused, naming it */
        assert_int_equal(fstab_add_line(path, PU, "/efi3", ESPLINE, false, &why), -EEXIST);
        assert_non_null(strstr(why, "already mounts PARTUUID=" PU " on /efi2, not /efi3"));
        assert_int_equal(fstab_add_line(path, "6a1e0c5b-3333-4a4a-8000-00000000e3e3", "/efi1", "x",
                                        false, &why),
                         -EEXIST);
        assert_non_null(strstr(why, "already mounts something else on /efi1"));
        cleanup_dir(d);
}

static void test_missing_and_symlink(void **state)
{
        _cleanup_free_ char *d = tmpdir(), *path = NULL, *link = NULL, *why = NULL, *s = NULL;
        _cleanup_free_ char *bak = NULL;

        (void)state;
        assert_true(asprintf(&path, "%s/new", d) > 0);
        assert_true(asprintf(&bak, "%s/new" FSTAB_BACKUP_SUFFIX, d) > 0);
        /* no fstab yet: created with the one line, no backup */
        assert_int_equal(fstab_add_line(path, PU, "/efi2", ESPLINE, false, &why), 1);
        s = slurp(path);
        assert_string_equal(s, ESPLINE "\n");
        assert_int_equal(access(bak, F_OK), -1);
        assert_int_equal(unlink(path), 0);

        assert_true(asprintf(&link, "%s/link", d) > 0);
        free(path);
        assert_true(asprintf(&path, "%s/fstab", d) > 0);
        write_file(path, text, 0644);
        assert_int_equal(symlink("fstab", link), 0);
        assert_int_equal(fstab_write_atomic(link, "x\n", &why), -ELOOP);
        assert_non_null(strstr(why, "is a symbolic link"));
        free(s);
        s = slurp(path);
        assert_string_equal(s, text);
        cleanup_dir(d);
}

/* DESIGN.md §12 rule 9: the missing disk's line gets the new source, all else byte for byte. */
static void test_replace_source_text(void **state)
{
        _cleanup_free_ char *out = NULL, *o = NULL, *n = NULL;

        (void)state;
        /* leading blanks, a tab, a trailing slash on the target: kept */
        assert_int_equal(fstab_text_replace_source(text, "/efi0",
                                                   "PARTUUID=6A1E0C5B-0000-4A4A-8000-00000000E0E0",
                                                   "PARTUUID=" PU, &out, &o, &n),
                         0);
        assert_string_equal(o, "  PARTUUID=6A1E0C5B-0000-4A4A-8000-00000000E0E0\t/efi0/ vfat "
                               "umask=0077 0 2");
        assert_string_equal(n, "  PARTUUID=" PU "\t/efi0/ vfat umask=0077 0 2");
        assert_string_equal(out, "# /etc/fstab\n"
                                 "UUID=0e5f0000-aaaa-4bbb-8ccc-000000000000 / btrfs defaults 0 0\n"
                                 "  PARTUUID=" PU "\t/efi0/ vfat umask=0077 0 2\n"
                                 "#PARTUUID=" PU " /efi9 vfat defaults 0 2\n"
                                 "PARTUUID=6a1e0c5b-1111-4a4a-8000-00000000e1e1 /efi1 vfat "
                                 "umask=0077 0 2");
        free(out);
        out = NULL;
        /* the last line, without a newline */
        assert_int_equal(fstab_text_replace_source(text, "/efi1",
                                                   "PARTUUID=6a1e0c5b-1111-4a4a-8000-00000000e1e1",
                                                   "UUID=X", &out, NULL, NULL),
                         0);
        assert_true(strstr(out, "\nUUID=X /efi1 vfat umask=0077 0 2") != NULL);
        assert_true(out[strlen(out) - 1] == '2');
        /* the source on another target, a commented-out line, a source only a prefix: none */
        assert_int_equal(fstab_text_replace_source(text, "/efi1",
                                                   "PARTUUID=6A1E0C5B-0000-4A4A-8000-00000000E0E0",
                                                   "X", NULL, NULL, NULL),
                         -ENOENT);
        assert_int_equal(
                fstab_text_replace_source(text, "/efi9", "PARTUUID=" PU, "X", NULL, NULL, NULL),
                -ENOENT);
        assert_int_equal(
                fstab_text_replace_source(text, "/", "UUID=0e5f0000", "X", NULL, NULL, NULL),
                -ENOENT);
}

static void test_replace_source_file(void **state)
{
        _cleanup_free_ char *d = tmpdir(), *path = NULL, *bak = NULL, *why = NULL;
        _cleanup_free_ char *o = NULL, *n = NULL, *after = NULL, *backup = NULL;
#define OLD "PARTUUID=6a1e0c5b-1111-4a4a-8000-00000000e1e1"
        const char *old = OLD;

        (void)state;
        assert_true(asprintf(&path, "%s/fstab", d) > 0);
        assert_true(asprintf(&bak, "%s/fstab" FSTAB_BACKUP_SUFFIX, d) > 0);
        write_file(path, text, 0644);

        /* test mode: both lines said, nothing written */
        assert_int_equal(fstab_replace_source(path, "/efi1", old, PU, true, &o, &n, &why), 1);
        assert_string_equal(o, OLD " /efi1 vfat umask=0077 0 2");
        assert_string_equal(n, "PARTUUID=" PU " /efi1 vfat umask=0077 0 2");
        after = slurp(path);
        assert_string_equal(after, text);
        assert_int_equal(access(bak, F_OK), -1);
        free(after);
        free(o);
        free(n);
        o = n = NULL;

        assert_int_equal(fstab_replace_source(path, "/efi1", old, PU, false, &o, &n, &why), 1);
        after = slurp(path);
        assert_true(strstr(after, "\nPARTUUID=" PU " /efi1 vfat umask=0077 0 2") != NULL);
        assert_null(strstr(after, old));
        backup = slurp(bak);
        assert_string_equal(backup, text);

        /* again (a run to continue): the line is the new ESP's, kept */
        assert_int_equal(fstab_replace_source(path, "/efi1", old, PU, false, NULL, NULL, &why), 0);
        /* the new PARTUUID on another mount point: refused, naming it */
        assert_int_equal(
                fstab_replace_source(path, "/efi0", "PARTUUID=x", PU, false, NULL, NULL, &why),
                -EEXIST);
        assert_non_null(strstr(why, "already mounts PARTUUID=" PU " on /efi1, not /efi0"));
        free(why);
        why = NULL;
        /* the old line gone meanwhile */
        assert_int_equal(fstab_replace_source(path, "/efi0", "PARTUUID=gone",
                                              "6a1e0c5b-3333-4a4a-8000-00000000e3e3", false, NULL,
                                              NULL, &why),
                         -ENOENT);
        assert_non_null(strstr(why, "no longer mounts PARTUUID=gone on /efi0"));
        cleanup_dir(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_esp_line),
                cmocka_unit_test(test_find_partuuid),
                cmocka_unit_test(test_has_target),
                cmocka_unit_test(test_append),
                cmocka_unit_test(test_add_line),
                cmocka_unit_test(test_missing_and_symlink),
                cmocka_unit_test(test_replace_source_text),
                cmocka_unit_test(test_replace_source_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
