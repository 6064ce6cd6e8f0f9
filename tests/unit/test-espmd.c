/* SPDX-License-Identifier: MIT */
/*
 * esp_md_of (DESIGN.md §11 rule S12): an ESP that carries an md superblock of metadata 1.0 (at
 * its end, behind a FAT that mounts alone) is seen through libblkid, on an image file written
 * with tests/tools/md-sb.h; an image without one is not an md member; an array device is
 * seen through sysfs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "esp.h"
#include "tools/md-sb.h"

static const uint8_t uuid[16] = { 0x3b, 0x2e, 0x5f, 0x0c, 0x91, 0xd4, 0x4b, 0x7a,
                                  0x8e, 0x21, 0x6c, 0x0f, 0x9a, 0x1d, 0x2e, 0x34 };

static char *image(int kind) /* 0 none, 1 md 1.0 */
{
        char *p = strdup("/tmp/test-espmd-XXXXXX");
        int fd;

        assert_non_null(p);
        fd = mkstemp(p);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 2 << 20), 0);
        if (kind)
                assert_int_equal(md_sb1_write(fd, 2 << 20, uuid), 0);
        close(fd);
        return p;
}

static void check(int kind, int want)
{
        char *p = image(kind), *array = (char *)"unset";

        /* 0:0 is no device sysfs knows: only the superblock can tell */
        setenv("DUAL_ROOT_SYSFS", "/nonexistent", 1);
        assert_int_equal(esp_md_of(p, makedev(0, 0), &array), want);
        assert_null(array); /* not assembled: no array named */
        unlink(p);
        free(p);
}

static void md_1_0_member_is_seen(void **state)
{
        (void)state;
        check(1, 1);
}

static void plain_image_is_no_member(void **state)
{
        (void)state;
        check(0, 0);
}

static void an_array_device_is_seen_through_sysfs(void **state)
{
        char *fixtures = getenv("FIXTURES"), *sysfs = NULL, *array = NULL;

        (void)state;
        assert_true(asprintf(&sysfs, "%s/sysfs-md/clean", fixtures) > 0);
        setenv("DUAL_ROOT_SYSFS", sysfs, 1);
        /* 9:0 is md0 there; the node is not even opened */
        assert_int_equal(esp_md_of("/nonexistent", makedev(9, 0), &array), 1);
        assert_string_equal(array, "md0");
        free(array);
        free(sysfs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(md_1_0_member_is_seen),
                cmocka_unit_test(plain_image_is_no_member),
                cmocka_unit_test(an_array_device_is_seen_through_sysfs),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
