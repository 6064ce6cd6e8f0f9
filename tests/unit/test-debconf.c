/* SPDX-License-Identifier: MIT */
/* debconf.c: debconf's database, for grub-efi/install_devices (DESIGN.md §11b L6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "debconf.h"
#include "util/fileio.h"
#include "util/strv.h"

static void test_install_devices(void **state)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL, *text = NULL, *value = NULL, *why = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t size;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/debconf/config.dat", f) >= 0);
        assert_int_equal(read_full_file(path, DEBCONF_DAT_MAX, &text, &size), 0);
        assert_int_equal(debconf_value(text, size, "grub-efi/install_devices", &value, &why), 0);
        assert_int_equal(debconf_split_list(value, &l), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[1], "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T000002-part1");
        free(value);
        value = NULL;
        /* A question without a Value, and one that is not there. */
        assert_int_equal(debconf_value(text, size, "grub-efi/install_devices_empty", &value, &why),
                         -ENOENT);
        assert_int_equal(debconf_value(text, size, "grub-pc/install_devices", &value, &why),
                         -ENOENT);
        /* The last stanza without a blank line after it. */
        {
                const char *t = "Name: a\nValue: x , y";

                assert_int_equal(debconf_value(t, strlen(t), "a", &value, &why), 0);
        }
        assert_string_equal(value, "x , y");
}

static void test_hostile(void **state)
{
        _cleanup_free_ char *value = NULL, *why = NULL;
        _cleanup_strv_free_ char **l = NULL;
        const char nul[] = "Name: a\0\nValue: x\n";

        assert_int_equal(debconf_value(nul, sizeof(nul) - 1, "a", &value, &why), -EBADMSG);
        assert_int_equal(debconf_value("Name: a\nno colon\n", 17, "a", &value, &why), -EBADMSG);
        assert_string_equal(why, "line 2: a field without a colon");
        assert_int_equal(debconf_split_list(" , a,,b ,", &l), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "a");
        assert_string_equal(l[1], "b");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_install_devices),
                cmocka_unit_test(test_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
