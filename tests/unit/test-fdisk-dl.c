/* SPDX-License-Identifier: MIT */
/*
 * fdisk-dl.c: libfdisk is not in the process until a partition table is read (DESIGN.md §15),
 * the functions gpt.c calls fail cleanly before that, and work through the library after.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libfdisk.h>
#include <stdlib.h>
#include <string.h>

#include "fdisk-dl.h"
#include "gpt.h"
#include "util/fileio.h"
#include "util/macro.h"

/* True when the process maps a file whose name contains libfdisk. */
static bool libfdisk_mapped(void)
{
        _cleanup_free_ char *maps = NULL;

        assert_int_equal(read_full_file("/proc/self/maps", 1 << 20, &maps, NULL), 0);
        return strstr(maps, "libfdisk") != NULL;
}

/* Runs first: nothing has loaded the library yet. */
static void test_not_loaded_until_needed(void **state)
{
        (void)state;
        assert_false(libfdisk_mapped());
        errno = 0;
        assert_null(fdisk_new_context());
        assert_int_equal(errno, ELIBACC);
        assert_null(fdisk_new_partition());
        assert_null(fdisk_new_iter(FDISK_ITER_FORWARD));
        fdisk_unref_context(NULL); /* what a cleanup does with nothing made: no-op */
        assert_false(libfdisk_mapped());
}

static void test_loaded_by_a_read(void **state)
{
        char img[] = "/tmp/test-fdisk-dl.XXXXXX";
        _cleanup_free_ char *why = NULL;
        struct gpt_layout l = {};
        int fd;

        (void)state;
        fd = mkostemp(img, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 1 << 20), 0);
        close(fd);
        /* a file of zeros: read through libfdisk, which finds no table */
        assert_int_equal(gpt_read(img, &l, &why), -ENODATA);
        assert_non_null(strstr(why, "has no partition table"));
        assert_true(libfdisk_mapped());
        assert_int_equal(fdisk_dl_open(NULL), 0); /* again: no-op */
        assert_int_equal(unlink(img), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_not_loaded_until_needed),
                cmocka_unit_test(test_loaded_by_a_read),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
