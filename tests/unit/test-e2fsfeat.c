/* SPDX-License-Identifier: MIT */
/*
 * e2fsfeat.c: the mkfs choices of ext2/3/4 superblocks (DESIGN.md §12b A2). The fixtures are
 * the superblocks (1024 bytes from offset 1024) of images made by mke2fs 1.47:
 *   ext4-default-4k     mkfs.ext4 -b 4096
 *   ext4-nocsum-1k-128  mkfs.ext4 -O ^metadata_csum -b 1024 -I 128
 *   ext4-bigalloc       mkfs.ext4 -O bigalloc -b 4096 (cluster 64 KiB)
 *   ext2-rev0           mkfs.ext2 -r 0 -b 2048
 *   ext4-mounted        mkfs.ext4 -b 4096, read while mounted (needs_recovery)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2fsfeat.h"
#include "util/fileio.h"
#include "util/strv.h"

static char *fixture(const char *name, size_t *size)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/e2fs/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, 4096, &data, size), 0);
        assert_int_equal(*size, E2FS_SUPERBLOCK_SIZE);
        return data;
}

static char *joined_args(const struct e2fs_params *p)
{
        _cleanup_strv_free_ char **a = NULL;

        assert_int_equal(e2fs_params_mkfs_args(p, &a), 0);
        return strv_join(a, " ");
}

#define DEFAULT_FEATURES                                                                           \
        "has_journal,ext_attr,resize_inode,dir_index,filetype,extent,64bit,flex_bg,sparse_super,"  \
        "large_file,huge_file,dir_nlink,extra_isize"

static void test_default(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("ext4-default-4k", &n);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_int_equal(p.block_size, 4096);
        assert_int_equal(p.inode_size, 256);
        assert_int_equal(p.cluster_size, 0);
        assert_int_equal(strv_length(p.state), 0);
        args = joined_args(&p);
        assert_string_equal(args, "-b 4096 -I 256 -O none," DEFAULT_FEATURES ",metadata_csum");
}

static void test_no_csum_small(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("ext4-nocsum-1k-128", &n);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_false(strv_contains(p.features, "metadata_csum"));
        args = joined_args(&p);
        assert_string_equal(args, "-b 1024 -I 128 -O none," DEFAULT_FEATURES);
}

static void test_bigalloc(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("ext4-bigalloc", &n);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_int_equal(p.cluster_size, 65536);
        args = joined_args(&p);
        assert_string_equal(args, "-b 4096 -I 256 -C 65536 -O none," DEFAULT_FEATURES
                                  ",bigalloc,metadata_csum");
}

static void test_rev0(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("ext2-rev0", &n);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_int_equal(p.block_size, 2048);
        assert_int_equal(p.inode_size, 128);
        assert_null(p.features);
        args = joined_args(&p);
        assert_string_equal(args, "-b 2048 -I 128 -O none");
}

/* needs_recovery is the journal's state: set apart, never passed to mke2fs */
static void test_mounted_state_apart(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("ext4-mounted", &n);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_true(strv_contains(p.state, "needs_recovery"));
        assert_false(strv_contains(p.features, "needs_recovery"));
        assert_true(strv_contains(p.features, "has_journal"));
        args = joined_args(&p);
        assert_null(strstr(args, "needs_recovery"));
        /* orphan_present (ro_compat 0x10000) too */
        sb[0x64 + 2] |= 0x01;
        e2fs_params_done(&p);
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), 0);
        assert_true(strv_contains(p.state, "orphan_present"));
        assert_false(strv_contains(p.features, "orphan_present"));
}

static void test_bad(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL;
        size_t n;

        sb = fixture("ext4-default-4k", &n);
        /* short */
        assert_int_equal(e2fs_params_parse(sb, 1000, &p, &why), -EBADMSG);
        assert_string_equal(why, "1000 bytes, not a whole superblock (1024)");
        /* an unknown incompat bit: no name, no twin alike */
        sb[0x60 + 3] |= 0x80;
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), -EOPNOTSUPP);
        assert_string_equal(why, "feature bits 0x80000000 of s_feature_incompat have no mke2fs "
                                 "name known to dual-root (a newer ext4?)");
        sb[0x60 + 3] &= 0x7f;
        /* inode size not a power of two */
        sb[0x58] = 0x20;
        sb[0x59] = 0x01;
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), -EBADMSG);
        assert_string_equal(why, "s_inode_size 288 (a power of two from 128 to the block size "
                                 "4096 expected)");
        sb[0x58] = 0x00;
        /* block size above 64 KiB */
        sb[0x18] = 7;
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), -EBADMSG);
        assert_string_equal(why, "s_log_block_size 7 (block size above 64 KiB)");
        sb[0x18] = 2;
        /* not ext */
        sb[0x38] = 0;
        assert_int_equal(e2fs_params_parse(sb, n, &p, &why), -EBADMSG);
        assert_string_equal(why, "no ext2/3/4 superblock (magic 0xef00, not 0xef53)");
}

static void test_read_device_offset(void **state)
{
        _cleanup_(e2fs_params_done) struct e2fs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *path = NULL;
        char tmpl[] = "/tmp/test-e2fsfeat.XXXXXX";
        size_t n;
        int fd;

        sb = fixture("ext4-nocsum-1k-128", &n);
        fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, sb, n, E2FS_SUPERBLOCK_OFFSET), (ssize_t)n);
        close(fd);
        assert_int_equal(e2fs_params_read(tmpl, &p, &why), 0);
        assert_int_equal(p.inode_size, 128);
        assert_int_equal(truncate(tmpl, 1500), 0);
        e2fs_params_done(&p);
        assert_int_equal(e2fs_params_read(tmpl, &p, &why), -EBADMSG);
        assert_true(asprintf(&path, "%s: 476 bytes, not a whole superblock (1024)", tmpl) >= 0);
        assert_string_equal(why, path);
        unlink(tmpl);
        assert_int_equal(e2fs_params_read(tmpl, &p, &why), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_no_csum_small),
                cmocka_unit_test(test_bigalloc),
                cmocka_unit_test(test_rev0),
                cmocka_unit_test(test_mounted_state_apart),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_read_device_offset),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
