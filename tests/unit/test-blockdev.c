/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of blockdev.c (DESIGN.md §3): the mount table read from a file, the mount on top
 * at a path, every mount point of a device, path normalisation. Mount tables come from
 * $FIXTURES/mountinfo (see its README.md for what each holds); nothing here needs root or
 * touches the host's mounts beyond reading /proc/self/mountinfo once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/sysmacros.h>

#include "blockdev.h"
#include "util/strv.h"

#define DEV_ESP0 makedev(259, 1) /* nvme0n1p1, the booted ESP */
#define DEV_ESP1 makedev(8, 1)   /* sda1, the alternate ESP */
#define DEV_BTRFS makedev(0, 27) /* the root filesystem */
#define DEV_TMPFS makedev(0, 45) /* stacked over /boot */
#define DEV_USB makedev(8, 17)

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static char *fixture_path(const char *name)
{
        const char *dir = getenv("FIXTURES");
        char *p;

        if (!dir)
                fail_msg("$FIXTURES is not set (run through meson test)");
        assert_true(asprintf(&p, "%s/mountinfo/%s", dir, name) >= 0);
        return p;
}

static struct libmnt_table *load_fixture(const char *name)
{
        _cleanup_free_ char *path = fixture_path(name);
        struct libmnt_table *t = NULL;
        int r;

        r = mounts_load(path, &t);
        if (r < 0)
                fail_msg("mounts_load('%s') failed: %s", path, strerror(-r));
        assert_non_null(t);
        return t;
}

static int setup_dual_esp(void **state)
{
        *state = load_fixture("dual-esp.mountinfo");
        return 0;
}

static int teardown_table(void **state)
{
        mnt_unref_table(*state);
        return 0;
}

/* The mount found at target must be mountinfo line `id` (the first field). */
static void check_found(struct libmnt_table *t, const char *target, int id, const char *file,
                        int line)
{
        struct libmnt_fs *fs = mounts_find_target(t, target);

        if (!fs) {
                print_error("mounts_find_target('%s') found nothing, expected mount %d\n", target,
                            id);
                _fail(file, line);
        }
        if (mnt_fs_get_id(fs) != id) {
                print_error("mounts_find_target('%s') found mount %d (%s on %s), expected %d\n",
                            target, mnt_fs_get_id(fs), strna(mnt_fs_get_fstype(fs)),
                            strna(mnt_fs_get_target(fs)), id);
                _fail(file, line);
        }
}

#define assert_found(t, target, id) check_found((t), (target), (id), __FILE__, __LINE__)

static void check_not_found(struct libmnt_table *t, const char *target, const char *file, int line)
{
        struct libmnt_fs *fs = mounts_find_target(t, target);

        if (fs) {
                print_error("mounts_find_target('%s') found mount %d (%s on %s), expected "
                            "nothing\n",
                            target, mnt_fs_get_id(fs), strna(mnt_fs_get_fstype(fs)),
                            strna(mnt_fs_get_target(fs)));
                _fail(file, line);
        }
}

#define assert_not_found(t, target) check_not_found((t), (target), __FILE__, __LINE__)

/* The mount points of devnum, joined with spaces, must be `expected`. */
static void check_mounts_of(struct libmnt_table *t, dev_t devnum, const char *expected,
                            const char *file, int line)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *got = NULL;
        int r;

        r = mounts_of_devnum(t, devnum, &l);
        if (r < 0) {
                print_error("mounts_of_devnum(%u:%u) failed: %s\n", major(devnum), minor(devnum),
                            strerror(-r));
                _fail(file, line);
        }
        /* an empty result is an empty vector, never NULL */
        if (!l) {
                print_error("mounts_of_devnum(%u:%u) returned NULL\n", major(devnum),
                            minor(devnum));
                _fail(file, line);
        }
        got = strv_join(l, " | ");
        assert_non_null(got);
        if (!streq(got, expected)) {
                print_error("mounts of %u:%u are '%s', expected '%s'\n", major(devnum),
                            minor(devnum), got, expected);
                _fail(file, line);
        }
}

#define assert_mounts_of(t, devnum, expected)                                                      \
        check_mounts_of((t), (devnum), (expected), __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------- */
/* mounts_load */

static void test_load_reads_every_line(void **state)
{
        struct libmnt_table *t = *state;

        assert_int_equal(mnt_table_get_nents(t), 13);
}

static void test_load_keeps_the_fields_of_an_esp_line(void **state)
{
        struct libmnt_table *t = *state;
        struct libmnt_fs *fs = mounts_find_target(t, "/efi1");

        assert_non_null(fs);
        assert_int_equal(mnt_fs_get_id(fs), 41);
        assert_int_equal(mnt_fs_get_parent_id(fs), 21);
        assert_true(mnt_fs_get_devno(fs) == DEV_ESP1);
        assert_string_equal(mnt_fs_get_root(fs), "/");
        assert_string_equal(mnt_fs_get_fstype(fs), "vfat");
        assert_string_equal(mnt_fs_get_srcpath(fs), "/dev/sda1");
}

static void test_load_keeps_the_root_of_a_subvolume_and_a_bind_mount(void **state)
{
        struct libmnt_table *t = *state;
        struct libmnt_fs *home = mounts_find_target(t, "/home");
        struct libmnt_fs *tree = mounts_find_target(t, "/srv/efi-tree");

        assert_non_null(home);
        assert_string_equal(mnt_fs_get_root(home), "/@home");
        assert_string_equal(mnt_fs_get_fstype(home), "btrfs");
        assert_non_null(tree);
        assert_string_equal(mnt_fs_get_root(tree), "/EFI");
        assert_true(mnt_fs_get_devno(tree) == DEV_ESP0);
}

static void test_load_unescapes_space_in_mount_point(void **state)
{
        struct libmnt_table *t = *state;

        assert_found(t, "/media/usb stick", 45);
        assert_not_found(t, "/media/usb\\040stick");
        assert_mounts_of(t, DEV_USB, "/media/usb stick");
}

static void test_load_missing_file_is_enoent(void **state)
{
        struct libmnt_table *t = (struct libmnt_table *)(uintptr_t)0x1; /* must stay untouched */

        (void)state;
        assert_int_equal(mounts_load("/nonexistent/dual-root-test/mountinfo", &t), -ENOENT);
        assert_ptr_equal(t, (struct libmnt_table *)(uintptr_t)0x1);
}

static void test_load_empty_file_is_an_empty_table(void **state)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        _cleanup_strv_free_ char **l = NULL;

        (void)state;
        assert_int_equal(mounts_load("/dev/null", &t), 0);
        assert_non_null(t);
        assert_int_equal(mnt_table_get_nents(t), 0);
        assert_null(mounts_find_target(t, "/"));
        assert_int_equal(mounts_of_devnum(t, DEV_ESP0, &l), 0);
        assert_non_null(l);
        assert_null(l[0]);
}

static void test_load_skips_a_truncated_line(void **state)
{
        _cleanup_mnt_table_ struct libmnt_table *t = load_fixture("truncated-line.mountinfo");

        (void)state;
        assert_int_equal(mnt_table_get_nents(t), 3);
        assert_found(t, "/efi0", 40);
        assert_found(t, "/boot", 42);
        assert_not_found(t, "/efi1");
}

static void test_load_null_path_reads_own_mount_table(void **state)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;

        (void)state;
        assert_int_equal(mounts_load(NULL, &t), 0);
        assert_non_null(t);
        /* every process has a root mount */
        assert_non_null(mounts_find_target(t, "/"));
}

/* ---------------------------------------------------------------------------------------- */
/* mounts_find_target */

static void test_find_target_plain_mount(void **state)
{
        struct libmnt_table *t = *state;

        assert_found(t, "/efi1", 41);
        assert_found(t, "/home", 26);
        assert_found(t, "/", 21);
}

static void test_find_target_topmost_mount_wins(void **state)
{
        struct libmnt_table *t = *state;

        /* /boot: the ESP bind (42) is covered by a tmpfs (43) */
        assert_found(t, "/boot", 43);
        assert_string_equal(mnt_fs_get_fstype(mounts_find_target(t, "/boot")), "tmpfs");
        /* /efi0: the ESP mounted again on top of itself */
        assert_found(t, "/efi0", 44);
}

static void test_find_target_ignores_trailing_slashes(void **state)
{
        struct libmnt_table *t = *state;

        assert_found(t, "/efi1/", 41);
        assert_found(t, "/boot//", 43);
        assert_found(t, "/efi0///", 44);
        assert_found(t, "//", 21);
        assert_found(t, "///", 21);
}

static void test_find_target_no_match_is_null(void **state)
{
        struct libmnt_table *t = *state;

        assert_not_found(t, "/efi");
        assert_not_found(t, "/efi2");
        assert_not_found(t, "/efi0/EFI");
        assert_not_found(t, "/boo");
        assert_not_found(t, "/boot/efi");
        assert_not_found(t, "efi0");
        assert_not_found(t, "");
        /* no canonicalisation through the filesystem: another spelling is another path */
        assert_not_found(t, "/./efi0");
        assert_not_found(t, "//efi0");
}

/* ---------------------------------------------------------------------------------------- */
/* mounts_of_devnum */

static void test_mounts_of_devnum_in_mount_order_without_duplicates(void **state)
{
        struct libmnt_table *t = *state;

        /* bind mounts share the device number: /boot and the EFI subtree count; /efi0,
         * mounted twice, is listed once, where it first appeared */
        assert_mounts_of(t, DEV_ESP0, "/efi0 | /boot | /srv/efi-tree");
}

static void test_mounts_of_devnum_single_mount(void **state)
{
        struct libmnt_table *t = *state;

        assert_mounts_of(t, DEV_ESP1, "/efi1");
        assert_mounts_of(t, DEV_TMPFS, "/boot");
}

static void test_mounts_of_devnum_subvolumes_share_the_device(void **state)
{
        struct libmnt_table *t = *state;

        assert_mounts_of(t, DEV_BTRFS, "/ | /home");
}

static void test_mounts_of_devnum_unknown_device_is_empty(void **state)
{
        struct libmnt_table *t = *state;

        assert_mounts_of(t, makedev(7, 7), "");
        assert_mounts_of(t, makedev(259, 2), "");
}

/* ---------------------------------------------------------------------------------------- */
/* path_strip_trailing_slashes */

static void check_strip(const char *in, const char *expected)
{
        _cleanup_free_ char *s = path_strip_trailing_slashes(in);

        assert_non_null(s);
        if (!streq(s, expected))
                fail_msg("path_strip_trailing_slashes('%s') is '%s', expected '%s'", in, s,
                         expected);
}

static void test_strip_removes_trailing_slashes(void **state)
{
        (void)state;
        check_strip("/efi0/", "/efi0");
        check_strip("/efi0///", "/efi0");
        check_strip("efi0/", "efi0");
}

static void test_strip_keeps_a_lone_root(void **state)
{
        (void)state;
        check_strip("/", "/");
        check_strip("//", "/");
        check_strip("////", "/");
}

static void test_strip_leaves_other_paths_alone(void **state)
{
        (void)state;
        check_strip("/efi0", "/efi0");
        check_strip("", "");
        check_strip("a", "a");
        /* only trailing slashes: inner ones and dots are not normalised */
        check_strip("//a//b/./", "//a//b/.");
}

static void test_strip_returns_a_new_string(void **state)
{
        const char *in = "/efi0";
        _cleanup_free_ char *s = path_strip_trailing_slashes(in);

        (void)state;
        assert_non_null(s);
        assert_ptr_not_equal(s, in);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dual_esp, teardown_table)
                T(test_load_reads_every_line),
                T(test_load_keeps_the_fields_of_an_esp_line),
                T(test_load_keeps_the_root_of_a_subvolume_and_a_bind_mount),
                T(test_load_unescapes_space_in_mount_point),
                cmocka_unit_test(test_load_missing_file_is_enoent),
                cmocka_unit_test(test_load_empty_file_is_an_empty_table),
                cmocka_unit_test(test_load_skips_a_truncated_line),
                cmocka_unit_test(test_load_null_path_reads_own_mount_table),

                T(test_find_target_plain_mount),
                T(test_find_target_topmost_mount_wins),
                T(test_find_target_ignores_trailing_slashes),
                T(test_find_target_no_match_is_null),

                T(test_mounts_of_devnum_in_mount_order_without_duplicates),
                T(test_mounts_of_devnum_single_mount),
                T(test_mounts_of_devnum_subvolumes_share_the_device),
                T(test_mounts_of_devnum_unknown_device_is_empty),

                cmocka_unit_test(test_strip_removes_trailing_slashes),
                cmocka_unit_test(test_strip_keeps_a_lone_root),
                cmocka_unit_test(test_strip_leaves_other_paths_alone),
                cmocka_unit_test(test_strip_returns_a_new_string),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
