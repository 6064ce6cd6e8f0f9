/* SPDX-License-Identifier: MIT */
/*
 * disk.c (DESIGN.md §10): the answers about disks and partitions read through a fake sysfs
 * tree, as $DUAL_ROOT_SYSFS gives one: a partition's disk, number, start and size, a disk's
 * partitions, the disk under a device-mapper device, none under an md array over two disks,
 * the disks with partitions, the seam itself. disk-stack.c reads the kernel's /sys and loop
 * devices: tests/integration/t-adddisk*.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"
#include "util/strv.h"

_printf_(1, 2) static void sh(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&cmd, fmt, ap);
        va_end(ap);
        assert_true(r >= 0);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *root, const char *path, const char *text)
{
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", root, path) >= 0);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/*
 * A sysfs as the kernel lays it out: disk vdx (252:0, 4096-byte logical blocks) with
 * partitions vdx1 (252:1) and vdx2 (252:2); disk vdy (252:16) with vdy1 (252:17); dm-0 (253:0)
 * over vdx2; md0 (9:0) over vdx1 and vdy1; vdz (252:32) with no partition.
 */
static int setup(void **state)
{
        char *root = strdup("/tmp/test-disk.XXXXXX");
        const char *dev = "devices/virtual/block";

        assert_non_null(root);
        assert_non_null(mkdtemp(root));
        sh("cd '%s' && mkdir -p %s/vdx/vdx1 %s/vdx/vdx2 %s/vdx/queue %s/vdy/vdy1 %s/dm-0/slaves "
           "%s/md0/slaves %s/vdz block dev/block",
           root, dev, dev, dev, dev, dev, dev, dev);
        put(root, "devices/virtual/block/vdx/dev", "252:0\n");
        put(root, "devices/virtual/block/vdx/queue/logical_block_size", "4096\n");
        put(root, "devices/virtual/block/vdx/vdx1/dev", "252:1\n");
        put(root, "devices/virtual/block/vdx/vdx1/partition", "1\n");
        put(root, "devices/virtual/block/vdx/vdx1/start", "2048\n");
        put(root, "devices/virtual/block/vdx/vdx1/size", "1024\n");
        put(root, "devices/virtual/block/vdx/vdx2/dev", "252:2\n");
        put(root, "devices/virtual/block/vdx/vdx2/partition", "2\n");
        put(root, "devices/virtual/block/vdx/vdx2/start", "4096\n");
        put(root, "devices/virtual/block/vdx/vdx2/size", "8192\n");
        put(root, "devices/virtual/block/vdy/dev", "252:16\n");
        put(root, "devices/virtual/block/vdy/vdy1/dev", "252:17\n");
        put(root, "devices/virtual/block/vdy/vdy1/partition", "1\n");
        put(root, "devices/virtual/block/vdy/vdy1/start", "2048\n");
        put(root, "devices/virtual/block/vdy/vdy1/size", "1024\n");
        put(root, "devices/virtual/block/dm-0/dev", "253:0\n");
        put(root, "devices/virtual/block/md0/dev", "9:0\n");
        put(root, "devices/virtual/block/vdz/dev", "252:32\n");
        sh("cd '%s/%s' && ln -s ../../vdx/vdx2 dm-0/slaves/vdx2 && "
           "ln -s ../../vdx/vdx1 md0/slaves/vdx1 && ln -s ../../vdy/vdy1 md0/slaves/vdy1",
           root, dev);
        sh("cd '%s/block' && for d in vdx vdy dm-0 md0 vdz; do ln -s ../%s/$d $d; done", root, dev);
        sh("cd '%s/dev/block' && ln -s ../../%s/vdx 252:0 && ln -s ../../%s/vdx/vdx1 252:1 && "
           "ln -s ../../%s/vdx/vdx2 252:2 && ln -s ../../%s/vdy 252:16 && "
           "ln -s ../../%s/vdy/vdy1 252:17 && ln -s ../../%s/dm-0 253:0 && "
           "ln -s ../../%s/md0 9:0 && ln -s ../../%s/vdz 252:32",
           root, dev, dev, dev, dev, dev, dev, dev, dev);
        *state = root;
        return 0;
}

static int teardown(void **state)
{
        sh("rm -rf -- '%s'", (char *)*state);
        free(*state);
        return 0;
}

static void test_the_whole_disk_of_a_partition_and_of_a_disk(void **state)
{
        const char *root = *state;
        _cleanup_free_ char *a = NULL, *b = NULL, *name = NULL, *disk = NULL, *dir = NULL;
        unsigned partno = 99;

        assert_int_equal(disk_whole_name(root, makedev(252, 2), &a), 0);
        assert_string_equal(a, "vdx");
        assert_int_equal(disk_whole_name(root, makedev(252, 0), &b), 0);
        assert_string_equal(b, "vdx");
        assert_true(asprintf(&dir, "%s/dev/block/252:17", root) >= 0);
        assert_int_equal(disk_names_of_dir(dir, &name, &disk, &partno), 0);
        assert_string_equal(name, "vdy1");
        assert_string_equal(disk, "vdy");
        assert_int_equal(partno, 1);
}

static void test_where_a_partition_is(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct disk_partition p = {};

        assert_int_equal(disk_partition_of(*state, makedev(252, 2), &p, &why), 0);
        assert_int_equal(p.number, 2);
        assert_int_equal(p.start, 4096);
        assert_int_equal(p.size, 8192);
        assert_int_equal(p.logical_block_size, 4096);
        assert_string_equal(p.disk, "vdx");
        disk_partition_done(&p);

        /* vdy says no block size: 512 */
        assert_int_equal(disk_partition_of(*state, makedev(252, 17), &p, &why), 0);
        assert_int_equal(p.logical_block_size, 512);
        assert_string_equal(p.disk, "vdy");
        disk_partition_done(&p);
}

static void test_a_disk_is_no_partition_and_says_why(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct disk_partition p = {};

        assert_int_equal(disk_partition_of(*state, makedev(252, 0), &p, &why), -ENOTBLK);
        assert_non_null(why);
        assert_non_null(strstr(why, "/vdx is not a partition ("));
        assert_null(p.disk);
}

static void test_a_start_that_is_no_number_is_named(void **state)
{
        const char *root = *state;
        _cleanup_free_ char *why = NULL;
        struct disk_partition p = {};

        put(root, "devices/virtual/block/vdx/vdx1/start", "banana\n");
        assert_int_equal(disk_partition_of(root, makedev(252, 1), &p, &why), -EBADMSG);
        put(root, "devices/virtual/block/vdx/vdx1/start", "2048\n");
        assert_non_null(why);
        assert_non_null(strstr(why, "/vdx1/start holds \"banana"));
        assert_non_null(strstr(why, "not a number"));
}

static void test_the_partitions_of_a_disk(void **state)
{
        _cleanup_free_ struct disk_slot *s = NULL;
        size_t n = 0;
        bool one = false, two = false;

        assert_int_equal(disk_partitions(*state, makedev(252, 0), &s, &n), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                one |= s[i].devnum == makedev(252, 1) && s[i].number == 1;
                two |= s[i].devnum == makedev(252, 2) && s[i].number == 2;
        }
        assert_true(one && two);
        free(s);
        s = NULL;
        /* a disk with none, a device sysfs does not know: none */
        assert_int_equal(disk_partitions(*state, makedev(252, 32), &s, &n), 0);
        assert_int_equal(n, 0);
        free(s);
        s = NULL;
        assert_int_equal(disk_partitions(*state, makedev(1, 99), &s, &n), 0);
        assert_int_equal(n, 0);
}

static void test_the_disk_under_a_stacked_device(void **state)
{
        /* dm-0 over one partition of vdx: vdx */
        assert_true(disk_holding(*state, makedev(253, 0)) == makedev(252, 0));
        /* a partition: its disk */
        assert_true(disk_holding(*state, makedev(252, 17)) == makedev(252, 16));
        /* md0 over two disks has no one disk; a disk is its own; unknown stays itself */
        assert_true(disk_holding(*state, makedev(9, 0)) == makedev(9, 0));
        assert_true(disk_holding(*state, makedev(252, 32)) == makedev(252, 32));
        assert_true(disk_holding(*state, makedev(1, 99)) == makedev(1, 99));
}

static void test_the_disks_with_partitions(void **state)
{
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(disk_list_partitioned(*state, &l), 0);
        assert_int_equal(strv_length(l), 2);
        assert_true(strv_contains(l, "vdx"));
        assert_true(strv_contains(l, "vdy"));
}

static void test_the_seam(void **state)
{
        assert_int_equal(setenv("DUAL_ROOT_SYSFS", "", 1), 0);
        assert_null(disk_sysfs_seam());
        assert_string_equal(disk_sysfs_root(), "/sys");
        assert_int_equal(setenv("DUAL_ROOT_SYSFS", *state, 1), 0);
        assert_string_equal(disk_sysfs_seam(), *state);
        assert_string_equal(disk_sysfs_root(), *state);
        assert_int_equal(unsetenv("DUAL_ROOT_SYSFS"), 0);
        assert_null(disk_sysfs_seam());
        assert_string_equal(disk_sysfs_root(), DISK_KERNEL_SYSFS);
}

static void test_a_partition_table_of_no_partition(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct disk_parts d = {};

        /* a disk, and a device sysfs does not know: no disk holding a partition */
        assert_int_equal(disk_partition_table(*state, makedev(252, 0), &d, &why), -ENOTBLK);
        assert_int_equal(disk_partition_table(*state, makedev(1, 99), &d, &why), -ENOTBLK);
        assert_null(d.disk);
        assert_null(why);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_whole_disk_of_a_partition_and_of_a_disk),
                cmocka_unit_test(test_where_a_partition_is),
                cmocka_unit_test(test_a_disk_is_no_partition_and_says_why),
                cmocka_unit_test(test_a_start_that_is_no_number_is_named),
                cmocka_unit_test(test_the_partitions_of_a_disk),
                cmocka_unit_test(test_the_disk_under_a_stacked_device),
                cmocka_unit_test(test_the_disks_with_partitions),
                cmocka_unit_test(test_the_seam),
                cmocka_unit_test(test_a_partition_table_of_no_partition),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
