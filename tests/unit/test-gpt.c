/* SPDX-License-Identifier: MIT */
/*
 * gpt.c: the layout arithmetic and comparison (pure), and the copy written through libfdisk onto
 * a regular file standing in for a disk (libfdisk works on files: no root, no loop device).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "gpt.h"
#include "util/macro.h"

#define LINUX_FS "0fc63daf-8483-4772-8e79-3d69d8477de4"

static struct gpt_part parts[] = {
        { .partno = 0,
          .start = 2048,
          .size = 65536,
          .type = (char *)GPT_TYPE_ESP,
          .uuid = (char *)"6a1e0c5b-0000-4a4a-8000-00000000e0e0",
          .name = (char *)"ESP0" },
        { .partno = 1,
          .start = 67584,
          .size = 32768,
          .type = (char *)LINUX_FS,
          .uuid = (char *)"6a1e0c5b-0000-4a4a-8000-0000000000f0",
          .name = NULL },
};
static const struct gpt_layout src = {
        .sector_size = 512,
        .nsectors = 131072,
        .disk_guid = (char *)"c0de0000-0000-4000-8000-00000000d150",
        .parts = parts,
        .n = 2,
};

static void test_min_bytes(void **state)
{
        struct gpt_layout four_k = src;

        (void)state;
        /* the last partition ends at sector 100351; 32 sectors of entries and the header */
        assert_int_equal(gpt_layout_min_bytes(&src), (100352 + 33) * 512);
        four_k.sector_size = 4096; /* 16 KiB of entries = 4 sectors, plus the header */
        assert_int_equal(gpt_layout_min_bytes(&four_k), (uint64_t)(100352 + 5) * 4096);
}

static void test_same(void **state)
{
        struct gpt_part p2[2] = { parts[0], parts[1] };
        struct gpt_layout other = src;
        _cleanup_free_ char *why = NULL;

        (void)state;
        other.parts = p2;
        p2[0].uuid = (char *)"11111111-0000-4a4a-8000-00000000e0e0"; /* GUIDs may differ */
        p2[0].name = NULL;
        p2[0].type = (char *)"C12A7328-F81F-11D2-BA4B-00A0C93EC93B"; /* any case */
        assert_true(gpt_layout_same(&src, &other, &why));
        assert_null(why);

        p2[1].size = 32767;
        assert_false(gpt_layout_same(&src, &other, &why));
        assert_string_equal(why, "partition 2 starts at sector 67584, is 32767 sectors long, of "
                                 "type " LINUX_FS "; expected partition 2 at 67584, 32768 "
                                 "sectors, type " LINUX_FS);
        other.n = 1;
        assert_false(gpt_layout_same(&src, &other, &why));
        assert_string_equal(why, "1 partition(s), not 2");
        other.n = 2;
        other.sector_size = 4096;
        assert_false(gpt_layout_same(&src, &other, &why));
        assert_string_equal(why, "sector size 4096, not 512");
}

static void test_find(void **state)
{
        (void)state;
        assert_ptr_equal(gpt_layout_find_type(&src, "C12A7328-f81f-11d2-ba4b-00a0c93ec93b"),
                         &parts[0]);
        assert_null(gpt_layout_find_type(&src, "21686148-6449-6e6f-744e-656564454649"));
        assert_ptr_equal(gpt_layout_find_partno(&src, 1), &parts[1]);
        assert_null(gpt_layout_find_partno(&src, 2));
}

static char *image(off_t size)
{
        const char *t = getenv("TMPDIR");
        char *p;
        int fd;

        assert_true(asprintf(&p, "%s/test-gpt.XXXXXX", t ? t : "/tmp") > 0);
        fd = mkostemp(p, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, size), 0);
        close(fd);
        return p;
}

static bool all_zero(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[65536];
        ssize_t n;
        bool z = true;

        assert_true(fd >= 0);
        while (z && (n = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i]) {
                                z = false;
                                break;
                        }
        close(fd);
        return z;
}

static void test_write_like(void **state)
{
        _cleanup_free_ char *img = image(64 << 20), *why = NULL;
        struct gpt_layout shown = {}, written = {}, read = {}, again = {};

        (void)state;
        /* test mode: the table is built, the file stays zeros */
        assert_int_equal(gpt_write_like(img, &src, true, &shown, &why), 0);
        assert_true(gpt_layout_same(&src, &shown, NULL));
        assert_true(all_zero(img));
        assert_int_equal(gpt_read(img, &read, &why), -ENODATA);
        assert_non_null(strstr(why, "has no partition table"));

        assert_int_equal(gpt_write_like(img, &src, false, &written, &why), 0);
        assert_int_equal(gpt_read(img, &read, &why), 0);
        assert_true(gpt_layout_same(&src, &read, NULL));
        assert_string_equal(read.disk_guid, written.disk_guid);
        assert_string_not_equal(read.disk_guid, src.disk_guid);
        assert_string_equal(read.parts[0].name, "ESP0");
        assert_null(read.parts[1].name);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(read.parts[i].uuid, written.parts[i].uuid);
                assert_string_not_equal(read.parts[i].uuid, src.parts[i].uuid);
                assert_int_equal(strlen(read.parts[i].uuid), 36);
        }
        assert_string_not_equal(read.parts[0].uuid, read.parts[1].uuid);

        /* written again: new GUIDs every time */
        assert_int_equal(gpt_write_like(img, &src, false, &again, &why), 0);
        assert_string_not_equal(again.disk_guid, written.disk_guid);
        assert_string_not_equal(again.parts[0].uuid, written.parts[0].uuid);

        gpt_layout_done(&shown);
        gpt_layout_done(&written);
        gpt_layout_done(&read);
        gpt_layout_done(&again);
        assert_int_equal(unlink(img), 0);
}

static void test_write_refuses_small(void **state)
{
        _cleanup_free_ char *img = image(40 << 20), *why = NULL;
        struct gpt_layout l = {};

        (void)state;
        assert_int_equal(gpt_write_like(img, &src, false, &l, &why), -ENOSPC);
        assert_non_null(strstr(why, "holds 41943040 bytes, the layout needs 51397120"));
        assert_true(all_zero(img));
        assert_int_equal(unlink(img), 0);
}

static void test_read_mbr(void **state)
{
        _cleanup_free_ char *img = image(1 << 20), *why = NULL;
        struct gpt_layout l = {};
        unsigned char mbr[512] = {};
        int fd;

        (void)state;
        /* one MBR partition of type 0x83 */
        mbr[446 + 4] = 0x83;
        mbr[446 + 8] = 1;
        mbr[446 + 12] = 100;
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        fd = open(img, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, mbr, sizeof(mbr)), 512);
        close(fd);
        assert_int_equal(gpt_read(img, &l, &why), -EMEDIUMTYPE);
        assert_non_null(strstr(why, "is not GPT (dos)"));
        assert_int_equal(unlink(img), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_min_bytes),
                cmocka_unit_test(test_same),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_write_like),
                cmocka_unit_test(test_write_refuses_small),
                cmocka_unit_test(test_read_mbr),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
