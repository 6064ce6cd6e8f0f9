/* SPDX-License-Identifier: MIT */
/*
 * xbootldr.c (DESIGN.md §11c): an ESP's disk through a fake sysfs tree, the XBOOTLDR among a
 * disk's partitions, the fstab line that mounts a partition, the driver systemd-boot needs.
 * The partition table itself is read from real disks in tests/integration/t-xbootldr.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bootentry.h"
#include "util/strv.h"
#include "xbootldr.h"

static char *tmpdir(void)
{
        char *d = strdup("/tmp/test-xbootldr.XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void rm_rf(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf -- '%s'", dir) >= 0);
        assert_int_equal(system(cmd), 0);
}

static void mkdirs(const char *path)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "mkdir -p -- '%s'", path) >= 0);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* sysfs with a disk "dr-test-disk" (no such /dev node) holding partition 7:201, and a device
 * 7:200 that is no partition. */
static char *fake_sysfs(void)
{
        char *root = tmpdir();
        _cleanup_free_ char *p = NULL, *q = NULL, *l = NULL;

        assert_true(asprintf(&p, "%s/devices/virtual/block/dr-test-disk/dr-test-disk1", root) >= 0);
        mkdirs(p);
        assert_true(asprintf(&q, "%s/partition", p) >= 0);
        put(q, "1\n");
        free(q);
        assert_true(asprintf(&q, "%s/devices/virtual/block/dr-test-loop", root) >= 0);
        mkdirs(q);
        assert_true(asprintf(&l, "%s/dev/block", root) >= 0);
        mkdirs(l);
        free(l);
        assert_true(asprintf(&l, "%s/dev/block/7:201", root) >= 0);
        assert_int_equal(symlink("../../devices/virtual/block/dr-test-disk/dr-test-disk1", l), 0);
        free(l);
        assert_true(asprintf(&l, "%s/dev/block/7:200", root) >= 0);
        assert_int_equal(symlink("../../devices/virtual/block/dr-test-loop", l), 0);
        return root;
}

static void test_a_device_that_is_no_partition_has_no_disk(void **state)
{
        _cleanup_free_ char *root = fake_sysfs(), *why = NULL;
        _cleanup_(disk_parts_done) struct disk_parts d = {};

        assert_int_equal(disk_parts_of(root, makedev(7, 200), NULL, &d, &why), -ENOTBLK);
        /* a device sysfs does not know at all: no partition either */
        assert_int_equal(disk_parts_of(root, makedev(7, 202), NULL, &d, &why), -ENOTBLK);
        assert_null(why);
        rm_rf(root);
}

static void test_a_partitions_disk_that_cannot_be_read_says_so(void **state)
{
        _cleanup_free_ char *root = fake_sysfs(), *why = NULL;
        _cleanup_(disk_parts_done) struct disk_parts d = {};

        assert_int_equal(disk_parts_of(root, makedev(7, 201), NULL, &d, &why), -ENOENT);
        assert_string_equal(why, "cannot read /dev/dr-test-disk's partition table: No such file "
                                 "or directory");
        assert_null(d.parts);
        rm_rf(root);
}

static void test_the_xbootldr_is_the_first_partition_of_its_type(void **state)
{
        struct disk_part parts[] = {
                { .partno = 1, .type = (char *)"c12a7328-f81f-11d2-ba4b-00a0c93ec93b" },
                { .partno = 2, .type = (char *)"0fc63daf-8483-4772-8e79-3d69d8477de4" },
                { .partno = 3, .type = (char *)XBOOTLDR_GPT_TYPE },
                { .partno = 4, .type = (char *)XBOOTLDR_GPT_TYPE },
        };
        struct disk_parts d = { .parts = parts, .n = 4 };
        struct disk_parts none = { .parts = parts, .n = 2 };

        assert_ptr_equal(disk_parts_xbootldr(&d), &parts[2]);
        assert_null(disk_parts_xbootldr(&none));
}

static struct libmnt_table *fstab_of(const char *text)
{
        _cleanup_free_ char *dir = tmpdir(), *path = NULL;
        struct libmnt_table *t = mnt_new_table();

        assert_non_null(t);
        assert_true(asprintf(&path, "%s/fstab", dir) >= 0);
        put(path, text);
        assert_int_equal(mnt_table_parse_fstab(t, path), 0);
        rm_rf(dir);
        return t;
}

static void test_the_fstab_line_of_a_partition(void **state)
{
        struct disk_part p = { .partuuid = (char *)"7ab1e000-0001-4000-8000-00000000b011",
                               .uuid = (char *)"7ab1e000-0001-4000-8000-0000000f5b11",
                               .label = (char *)"boot1",
                               .partlabel = (char *)"xbootldr1" };
        static const struct {
                const char *fstab;
                const char *target; /* NULL: no line mounts it */
        } cases[] = {
                { "PARTUUID=7AB1E000-0001-4000-8000-00000000B011 /mnt/root1/boot ext4 nofail 0 2\n",
                  "/mnt/root1/boot" },
                { "UUID=7ab1e000-0001-4000-8000-0000000f5b11 /b ext4 defaults 0 2\n", "/b" },
                { "LABEL=boot1 /l ext4 defaults 0 2\n", "/l" },
                { "PARTLABEL=xbootldr1 /pl ext4 defaults 0 2\n", "/pl" },
                { "/dev/disk/by-partuuid/7ab1e000-0001-4000-8000-00000000b011 /d ext4 nofail 0 2\n",
                  "/d" },
                /* labels compare exactly; other disks' partitions are not it */
                { "LABEL=BOOT1 /l ext4 defaults 0 2\n"
                  "PARTUUID=7ab1e000-0000-4000-8000-00000000b000 /boot ext4 defaults 0 2\n"
                  "UUID=7ab1e000-0001-4000-8000-0000000f5a11 /mnt/root1 ext4 nofail 0 2\n",
                  NULL },
                { "", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct libmnt_table *t = fstab_of(cases[i].fstab);
                struct libmnt_fs *fs = disk_part_fstab_line(&p, t);

                if (cases[i].target) {
                        assert_non_null(fs);
                        assert_string_equal(mnt_fs_get_target(fs), cases[i].target);
                } else
                        assert_null(fs);
                mnt_unref_table(t);
        }
        assert_null(disk_part_fstab_line(&p, NULL));
}

static void test_the_driver_systemd_boot_needs(void **state)
{
        _cleanup_free_ char *ext4 = NULL, *xfs = NULL, *vfat = NULL, *none = NULL;

        assert_int_equal(xbootldr_driver_name("ext4", &ext4), 0);
        assert_string_equal(ext4, "ext4_" EFI_ARCH ".efi");
        assert_int_equal(xbootldr_driver_name("xfs", &xfs), 0);
        assert_string_equal(xfs, "xfs_" EFI_ARCH ".efi");
        /* FAT: the firmware reads it, no driver */
        assert_int_equal(xbootldr_driver_name("vfat", &vfat), 0);
        assert_null(vfat);
        assert_int_equal(xbootldr_driver_name(NULL, &none), 0);
        assert_null(none);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_device_that_is_no_partition_has_no_disk),
                cmocka_unit_test(test_a_partitions_disk_that_cannot_be_read_says_so),
                cmocka_unit_test(test_the_xbootldr_is_the_first_partition_of_its_type),
                cmocka_unit_test(test_the_fstab_line_of_a_partition),
                cmocka_unit_test(test_the_driver_systemd_boot_needs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
