/* SPDX-License-Identifier: MIT */
/*
 * xfsfeat.c: the mkfs choices of xfs superblocks (DESIGN.md §12b A2). The fixtures are the
 * first 512 bytes of 512 MiB images made by mkfs.xfs 6.1 (xfsprogs, Debian 12):
 *   default       mkfs.xfs
 *   reflink-rmap  -m rmapbt=1,reflink=1,bigtime=0,inobtcount=0,finobt=1
 *                 -i size=1024,sparse=0,nrext64=1 -s size=4096 -n size=16384
 *   nofinobt      -m finobt=0,reflink=0,bigtime=1,inobtcount=0 -b size=1024
 *                 -i size=512,sparse=0
 *   v4            -m crc=0 -b size=2048 -i size=512,projid32bit=0 -l lazy-count=0
 *                 -n ftype=0,version=ci
 * The round trip makes images with several option sets, reads them, makes a second image with
 * the argv built from what was read and reads it back: the same choices.
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

#include "xfsfeat.h"
#include "mkfs-fixture.h"
#include "util/fileio.h"
#include "util/strv.h"

static char *fixture(const char *name, size_t *size)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/xfs/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, 4096, &data, size), 0);
        assert_int_equal(*size, XFS_SUPERBLOCK_SIZE);
        return data;
}

static char *parse_args(const char *name, struct xfs_params *p)
{
        _cleanup_free_ char *sb = NULL, *why = NULL;
        _cleanup_strv_free_ char **a = NULL;
        size_t n;

        sb = fixture(name, &n);
        assert_int_equal(xfs_params_parse(sb, n, p, &why), 0);
        assert_int_equal(xfs_params_mkfs_args(p, &a), 0);
        return strv_join(a, " ");
}

static void test_default(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *args = parse_args("default", &p);

        assert_int_equal(p.version, 5);
        assert_null(p.state);
        assert_string_equal(args, "-b size=4096 -s size=512 -m crc=1,finobt=1,rmapbt=0,reflink=1,"
                                  "bigtime=1,inobtcount=1 -i size=512,sparse=1,nrext64=0 -n "
                                  "size=4096,ftype=1");
}

static void test_reflink_rmap(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *args = parse_args("reflink-rmap", &p);

        assert_string_equal(args, "-b size=4096 -s size=4096 -m crc=1,finobt=1,rmapbt=1,reflink=1,"
                                  "bigtime=0,inobtcount=0 -i size=1024,sparse=0,nrext64=1 -n "
                                  "size=16384,ftype=1");
}

static void test_nofinobt(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *args = parse_args("nofinobt", &p);

        assert_string_equal(args, "-b size=1024 -s size=512 -m crc=1,finobt=0,rmapbt=0,reflink=0,"
                                  "bigtime=1,inobtcount=0 -i size=512,sparse=0,nrext64=0 -n "
                                  "size=4096,ftype=1");
}

static void test_v4(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *args = parse_args("v4", &p);

        assert_int_equal(p.version, 4);
        assert_string_equal(args, "-b size=2048 -s size=512 -m crc=0 -i size=512,projid32bit=0 "
                                  "-l lazy-count=0 -n size=4096,ftype=0,version=ci");
}

/* needsrepair, a changed UUID, the log's bits, quota inodes: state, set apart and named */
static void test_state_apart(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        _cleanup_strv_free_ char **a = NULL;
        size_t n;

        sb = fixture("default", &n);
        sb[0xDB] |= 0x14; /* incompat: meta_uuid, needsrepair */
        sb[0xDF] = 0x01;  /* log_incompat: logged xattrs */
        sb[0x65] |= 0x40; /* versionnum: quota */
        assert_int_equal(xfs_params_parse(sb, n, &p, &why), 0);
        assert_int_equal(strv_length(p.state), 4);
        assert_string_equal(p.state[0], "meta_uuid (state: the UUID was changed after mkfs)");
        assert_string_equal(p.state[1], "needsrepair (state: xfs_repair must run)");
        assert_string_equal(p.state[2], "sb_features_log_incompat 0x00000001 (state: the log's)");
        assert_string_equal(p.state[3],
                            "quota (state: quota inodes, made by mounting with quota options)");
        assert_int_equal(xfs_params_mkfs_args(&p, &a), 0);
        args = strv_join(a, " ");
        assert_string_equal(args, "-b size=4096 -s size=512 -m crc=1,finobt=1,rmapbt=0,reflink=1,"
                                  "bigtime=1,inobtcount=1 -i size=512,sparse=1,nrext64=0 -n "
                                  "size=4096,ftype=1");
}

static void expect_bad(char *sb, size_t n, int err, const char *msg)
{
        struct xfs_params p = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(xfs_params_parse(sb, n, &p, &why), err);
        assert_string_equal(why, msg);
        assert_null(p.state);
}

static void test_bad(void **state)
{
        _cleanup_free_ char *sb = NULL, *v4 = NULL;
        size_t n;

        sb = fixture("default", &n);
        expect_bad(sb, 511, -EBADMSG, "511 bytes, not a whole superblock sector (512)");
        /* an unknown incompat bit: no option, no twin alike */
        sb[0xD8] = 0x80;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "feature bits 0x80000000 of sb_features_incompat have no mkfs.xfs option "
                   "known to dual-root (a newer xfs?)");
        sb[0xD8] = 0;
        sb[0xD7] |= 0x10;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "feature bits 0x00000010 of sb_features_ro_compat have no mkfs.xfs option "
                   "known to dual-root (a newer xfs?)");
        sb[0xD7] &= ~0x10;
        sb[0xD3] = 0x01;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "feature bits 0x00000001 of sb_features_compat have no mkfs.xfs option known "
                   "to dual-root (a newer xfs?)");
        sb[0xD3] = 0;
        sb[0xD7] &= ~0x01; /* inobtcount without finobt */
        expect_bad(sb, n, -EBADMSG, "inobtcount without finobt (sb_features_ro_compat 0x0000000c)");
        sb[0xD7] |= 0x01;
        sb[0xDB] &= ~0x01; /* v5 without ftype */
        expect_bad(sb, n, -EOPNOTSUPP,
                   "a v5 filesystem without ftype (mkfs.xfs makes none: -m crc=1 needs -n "
                   "ftype=1)");
        sb[0xDB] |= 0x01;
        sb[0x06] = 0x30; /* blocksize 0x3000 */
        expect_bad(sb, n, -EBADMSG,
                   "sb_blocksize 12288 (a power of two from 512 to 65536 expected)");
        sb[0x06] = 0x10;
        sb[0x66] = 0x20; /* sectsize 8192 > 4096 */
        sb[0x67] = 0x00;
        expect_bad(sb, n, -EBADMSG,
                   "sb_sectsize 8192 (a power of two from 512 to 32768, at most the block size "
                   "4096, expected)");
        sb[0x66] = 0x02;
        sb[0x68] = 0x00; /* inodesize 128 */
        sb[0x69] = 0x80;
        expect_bad(sb, n, -EBADMSG,
                   "sb_inodesize 128 (a power of two from 256 to 2048, at most half the block "
                   "size 4096, expected)");
        sb[0x68] = 0x08; /* inodesize 2048 with 1024-byte blocks */
        sb[0x69] = 0x00;
        sb[0x06] = 0x04;
        sb[0x66] = 0x02;
        expect_bad(sb, n, -EBADMSG,
                   "sb_inodesize 2048 (a power of two from 256 to 2048, at most half the block "
                   "size 1024, expected)");
        sb[0x06] = 0x10;
        sb[0x68] = 0x02;
        sb[0x69] = 0x00;
        sb[0xC0] = 5; /* 4096 << 5 */
        expect_bad(sb, n, -EBADMSG,
                   "sb_dirblklog 5 with sb_blocksize 4096 (directory blocks up to 65536 bytes "
                   "expected)");
        sb[0xC0] = 0;
        sb[0x65] = (char)((sb[0x65] & 0xf0) | 6);
        expect_bad(sb, n, -EOPNOTSUPP, "sb_versionnum 0xb4a6: version 6 (mkfs.xfs makes 4 and 5)");
        sb[0x65] = (char)((sb[0x65] & 0xf0) | 3);
        expect_bad(sb, n, -EBADMSG, "sb_versionnum 0xb4a3: version 3 (mkfs.xfs makes 4 and 5)");
        sb[0x65] = (char)((sb[0x65] & 0xf0) | 5);
        sb[0xCA] &= ~0x01; /* v5 without features2's crc bit */
        expect_bad(sb, n, -EBADMSG,
                   "a version 5 superblock without the crc bit of sb_features2 (0x0000008a)");
        sb[0] = 'x';
        expect_bad(sb, n, -EBADMSG,
                   "no xfs superblock (magic 0x78465342, not 0x58465342 \"XFSB\")");

        v4 = fixture("v4", &n);
        v4[0xCB] &= ~0x08; /* attr1 */
        expect_bad(v4, n, -EOPNOTSUPP,
                   "attr1 (sb_features2 0x00000000 lacks attr2): mkfs.xfs 6.1 makes only attr2");
        v4[0xCB] |= 0x18; /* parent pointers */
        expect_bad(v4, n, -EOPNOTSUPP,
                   "parent pointers (sb_features2 0x00000018): mkfs.xfs 6.1 makes none");
}

static void test_read_file(void **state)
{
        _cleanup_(xfs_params_done) struct xfs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *msg = NULL;
        char tmpl[] = "/tmp/test-xfsfeat.XXXXXX";
        size_t n;
        int fd;

        sb = fixture("reflink-rmap", &n);
        fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, sb, n, 0), (ssize_t)n);
        close(fd);
        assert_int_equal(xfs_params_read(tmpl, &p, &why), 0);
        assert_int_equal(p.inode_size, 1024);
        assert_int_equal(truncate(tmpl, 300), 0);
        xfs_params_done(&p);
        assert_int_equal(xfs_params_read(tmpl, &p, &why), -EBADMSG);
        assert_true(asprintf(&msg, "%s: 300 bytes, not a whole superblock sector (512)", tmpl) >=
                    0);
        assert_string_equal(why, msg);
        unlink(tmpl);
        assert_int_equal(xfs_params_read(tmpl, &p, &why), -ENOENT);
}

static void assert_same(const struct xfs_params *a, const struct xfs_params *b)
{
        assert_int_equal(a->version, b->version);
        assert_int_equal(a->block_size, b->block_size);
        assert_int_equal(a->sect_size, b->sect_size);
        assert_int_equal(a->inode_size, b->inode_size);
        assert_int_equal(a->dir_block_size, b->dir_block_size);
        assert_int_equal(a->ftype, b->ftype);
        assert_int_equal(a->ascii_ci, b->ascii_ci);
        assert_int_equal(a->lazy_count, b->lazy_count);
        assert_int_equal(a->projid32bit, b->projid32bit);
        assert_int_equal(a->finobt, b->finobt);
        assert_int_equal(a->rmapbt, b->rmapbt);
        assert_int_equal(a->reflink, b->reflink);
        assert_int_equal(a->bigtime, b->bigtime);
        assert_int_equal(a->inobtcount, b->inobtcount);
        assert_int_equal(a->sparse, b->sparse);
        assert_int_equal(a->nrext64, b->nrext64);
}

/* the round trip's images, removed by its teardown even when it fails */
static char image_a[] = "/tmp/test-xfsfeat-a.XXXXXX", image_b[] = "/tmp/test-xfsfeat-b.XXXXXX";

static int remove_images(void **state)
{
        mkfs_fixture_remove(image_a, image_b);
        return 0;
}

static void test_round_trip(void **state)
{
        static const char *const sets[] = {
                "",
                "-m reflink=0,rmapbt=1,bigtime=0 -i sparse=0,nrext64=1 -n size=8192",
                "-b size=1024 -s size=1024 -m finobt=0,inobtcount=0 -i size=512",
                "-b size=4096 -i size=2048 -m bigtime=0",
                "-s size=4096 -m inobtcount=0 -i size=1024 -n size=65536",
                "-m crc=0 -b size=2048 -i size=256,projid32bit=0 -l lazy-count=0 -n ftype=0",
                "-m crc=0 -i size=1024 -n version=ci",
        };
        char buf[64], *a = image_a, *b = image_b;
        const char *prog = mkfs_fixture_prog("mkfs.xfs", buf, sizeof(buf));

        if (!prog) {
                print_message("mkfs.xfs missing (xfsprogs): round trip skipped\n");
                skip();
        }
        mkfs_fixture_image(a, 320 << 20);
        mkfs_fixture_image(b, 320 << 20);
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
                _cleanup_(xfs_params_done) struct xfs_params p = {}, q = {};
                _cleanup_strv_free_ char **options = NULL, **alike = NULL;
                _cleanup_free_ char *why = NULL;

                assert_int_equal(strv_split_blank(sets[i], &options), 0);
                mkfs_fixture_make(prog, options, a);
                assert_int_equal(xfs_params_read(a, &p, &why), 0);
                assert_int_equal(xfs_params_mkfs_args(&p, &alike), 0);
                mkfs_fixture_make(prog, alike, b);
                assert_int_equal(xfs_params_read(b, &q, &why), 0);
                assert_same(&p, &q);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_reflink_rmap),
                cmocka_unit_test(test_nofinobt),
                cmocka_unit_test(test_v4),
                cmocka_unit_test(test_state_apart),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_read_file),
                cmocka_unit_test_teardown(test_round_trip, remove_images),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
