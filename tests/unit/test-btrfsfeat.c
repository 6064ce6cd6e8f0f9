/* SPDX-License-Identifier: MIT */
/*
 * btrfsfeat.c: the mkfs choices of btrfs superblocks (DESIGN.md §12b A2). The fixtures are
 * the primary superblocks (4096 bytes at 64 KiB) of 512 MiB images made by mkfs.btrfs 6.2
 * (btrfs-progs, Debian 12):
 *   default  mkfs.btrfs
 *   old      -O ^no-holes,^extref,^skinny-metadata -R ^free-space-tree -n 32768 --csum xxhash
 *   mixed    -M -O raid56,raid1c34 --csum sha256 -n 4096
 *   blake    --csum blake2 -n 65536 -R ^free-space-tree
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

#include "btrfsfeat.h"
#include "mkfs-fixture.h"
#include "util/fileio.h"
#include "util/strv.h"

static char *fixture(const char *name, size_t *size)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL;
        char *data = NULL;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/btrfs/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, 8192, &data, size), 0);
        assert_int_equal(*size, BTRFS_SUPERBLOCK_SIZE);
        return data;
}

static char *args_of(const struct btrfs_params *p)
{
        _cleanup_strv_free_ char **a = NULL;

        assert_int_equal(btrfs_params_mkfs_args(p, &a), 0);
        return strv_join(a, " ");
}

static char *parse_args(const char *name, struct btrfs_params *p)
{
        _cleanup_free_ char *sb = NULL, *why = NULL;
        size_t n;

        sb = fixture(name, &n);
        assert_int_equal(btrfs_params_parse(sb, n, p, &why), 0);
        return args_of(p);
}

static void test_default(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *args = parse_args("default", &p);

        assert_null(p.state);
        assert_string_equal(args, "-s 4096 -n 16384 --csum crc32c -O extref,skinny-metadata,"
                                  "no-holes -R free-space-tree");
}

static void test_old(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *args = parse_args("old", &p);

        assert_null(p.features);
        assert_string_equal(args, "-s 4096 -n 32768 --csum xxhash -O ^extref,^skinny-metadata,"
                                  "^no-holes -R ^free-space-tree");
}

static void test_mixed(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *args = parse_args("mixed", &p);

        assert_string_equal(args, "-s 4096 -n 4096 --csum sha256 -O mixed-bg,extref,raid56,"
                                  "skinny-metadata,no-holes,raid1c34 -R free-space-tree");
}

static void test_blake(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *args = parse_args("blake", &p);

        assert_string_equal(args, "-s 4096 -n 65536 --csum blake2 -O extref,skinny-metadata,"
                                  "no-holes -R ^free-space-tree");
}

/* compression used, a default subvolume, a changed fsid, fs-verity: state, set apart */
static void test_state_apart(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *args = NULL;
        size_t n;

        sb = fixture("default", &n);
        sb[0xBC] |= 0x1A; /* default-subvol, compress-lzo, compress-zstd */
        sb[0xBD] |= 0x14; /* metadata-uuid, zoned */
        sb[0xB4] |= 0x04; /* verity */
        assert_int_equal(btrfs_params_parse(sb, n, &p, &why), 0);
        assert_int_equal(strv_length(p.state), 5);
        assert_string_equal(p.state[0], "verity (state: files with fs-verity)");
        assert_string_equal(p.state[1], "default-subvol (state: a default subvolume was set)");
        assert_string_equal(p.state[2], "compress-lzo (state: lzo compression was used)");
        assert_string_equal(p.state[3], "compress-zstd (state: zstd compression was used)");
        assert_string_equal(p.state[4], "metadata-uuid (state: the fsid was changed after mkfs)");
        args = args_of(&p);
        assert_string_equal(args, "-s 4096 -n 16384 --csum crc32c -O extref,skinny-metadata,"
                                  "no-holes,zoned -R free-space-tree");
}

static void expect_bad(char *sb, size_t n, int err, const char *msg)
{
        struct btrfs_params p = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(btrfs_params_parse(sb, n, &p, &why), err);
        assert_string_equal(why, msg);
        assert_null(p.features);
        assert_null(p.state);
}

static void test_bad(void **state)
{
        _cleanup_free_ char *sb = NULL;
        size_t n;

        sb = fixture("default", &n);
        expect_bad(sb, 4095, -EBADMSG, "4095 bytes, not a whole superblock (4096)");
        /* an unknown incompat flag: no name, no twin alike */
        sb[0xBC + 5] = 0x01;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "flags 0x0000010000000000 of incompat_flags have no mkfs.btrfs name known to "
                   "dual-root (a newer btrfs?)");
        sb[0xBC + 5] = 0;
        sb[0xBE] = 0x01;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "simple-quota (incompat_flags 0x10000): newer than mkfs.btrfs 6.2");
        sb[0xBE] = 0;
        sb[0xB4] |= 0x08;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "block-group-tree (compat_ro_flags 0x8): Debian 12's mkfs.btrfs 6.2 makes it "
                   "only in an experimental build");
        sb[0xB4] = 0x13;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "flags 0x0000000000000010 of compat_ro_flags have no mkfs.btrfs name known to "
                   "dual-root (a newer btrfs?)");
        sb[0xB4] = 0x03;
        sb[0xAC] = 0x01;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "flags 0x0000000000000001 of compat_flags have no mkfs.btrfs name known to "
                   "dual-root (a newer btrfs?)");
        sb[0xAC] = 0;
        sb[0xC4] = 4;
        expect_bad(sb, n, -EOPNOTSUPP,
                   "csum_type 4 has no mkfs.btrfs --csum name known to dual-root (a newer "
                   "btrfs?)");
        sb[0xC4] = 0;
        sb[0xBC] |= 0x04; /* mixed-bg with nodesize 16384 */
        expect_bad(sb, n, -EBADMSG,
                   "mixed-bg with nodesize 16384 and sectorsize 4096 (equal "
                   "expected)");
        sb[0xBC] &= ~0x04;
        sb[0x95] = 0x08; /* nodesize 2048 */
        sb[0x96] = 0x00;
        expect_bad(sb, n, -EBADMSG,
                   "nodesize 2048 (a power of two from the sector size 4096 to 65536 expected)");
        sb[0x95] = 0x40;
        sb[0x91] = 0x30; /* sectorsize 12288 */
        expect_bad(sb, n, -EBADMSG,
                   "sectorsize 12288 (a power of two from 4096 to 65536 expected)");
        sb[0x91] = 0x10;
        sb[0x40] = '-';
        expect_bad(sb, n, -EBADMSG,
                   "no btrfs superblock (magic 0x4d5f53665248422d, not \"_BHRfS_M\")");
}

static void test_read_file(void **state)
{
        _cleanup_(btrfs_params_done) struct btrfs_params p = {};
        _cleanup_free_ char *sb = NULL, *why = NULL, *msg = NULL;
        char tmpl[] = "/tmp/test-btrfsfeat.XXXXXX";
        size_t n;
        int fd;

        sb = fixture("old", &n);
        fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, sb, n, BTRFS_SUPERBLOCK_OFFSET), (ssize_t)n);
        close(fd);
        assert_int_equal(btrfs_params_read(tmpl, &p, &why), 0);
        assert_int_equal(p.node_size, 32768);
        assert_int_equal(truncate(tmpl, BTRFS_SUPERBLOCK_OFFSET + 100), 0);
        btrfs_params_done(&p);
        assert_int_equal(btrfs_params_read(tmpl, &p, &why), -EBADMSG);
        assert_true(asprintf(&msg, "%s: 100 bytes, not a whole superblock (4096)", tmpl) >= 0);
        assert_string_equal(why, msg);
        unlink(tmpl);
        assert_int_equal(btrfs_params_read(tmpl, &p, &why), -ENOENT);
}

/* the round trip's images, removed by its teardown even when it fails */
static char image_a[] = "/tmp/test-btrfsfeat-a.XXXXXX", image_b[] = "/tmp/test-btrfsfeat-b.XXXXXX";

static int remove_images(void **state)
{
        mkfs_fixture_remove(image_a, image_b);
        return 0;
}

static void test_round_trip(void **state)
{
        static const char *const sets[] = {
                "",
                "-O ^no-holes,^extref,^skinny-metadata -R ^free-space-tree -n 32768 --csum xxhash",
                "-M -O raid56,raid1c34 --csum sha256",
                "--csum blake2 -n 65536 -O ^no-holes",
                "-n 8192 -O ^skinny-metadata,raid1c34",
        };
        char buf[64], *a = image_a, *b = image_b;
        const char *prog = mkfs_fixture_prog("mkfs.btrfs", buf, sizeof(buf));

        if (!prog) {
                print_message("mkfs.btrfs missing (btrfs-progs): round trip skipped\n");
                skip();
        }
        mkfs_fixture_image(a, 256 << 20);
        mkfs_fixture_image(b, 256 << 20);
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
                _cleanup_(btrfs_params_done) struct btrfs_params p = {}, q = {};
                _cleanup_strv_free_ char **options = NULL, **alike = NULL, **again = NULL;
                _cleanup_free_ char *why = NULL, *x = NULL, *y = NULL;

                assert_int_equal(strv_split_blank(sets[i], &options), 0);
                mkfs_fixture_make(prog, options, a);
                assert_int_equal(btrfs_params_read(a, &p, &why), 0);
                assert_int_equal(btrfs_params_mkfs_args(&p, &alike), 0);
                mkfs_fixture_make(prog, alike, b);
                assert_int_equal(btrfs_params_read(b, &q, &why), 0);
                assert_int_equal(btrfs_params_mkfs_args(&q, &again), 0);
                /* the same choices: every field is in the argv */
                x = strv_join(alike, " ");
                y = strv_join(again, " ");
                assert_string_equal(x, y);
                assert_int_equal(strv_length(p.state), strv_length(q.state));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_old),
                cmocka_unit_test(test_mixed),
                cmocka_unit_test(test_blake),
                cmocka_unit_test(test_state_apart),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_read_file),
                cmocka_unit_test_teardown(test_round_trip, remove_images),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
