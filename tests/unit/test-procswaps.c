/* SPDX-License-Identifier: MIT */
/* procswaps.c: the active swap files, from /proc/swaps text (DESIGN.md §12b A5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procswaps.h"
#include "util/fileio.h"
#include "util/strv.h"

static int parse_fixture(const char *name, char ***ret, char **why)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;

        assert_non_null(f);
        assert_true(asprintf(&path, "%s/procswaps/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, PROCSWAPS_MAX, &text, &size), 0);
        return procswaps_parse(text, size, ret, why);
}

static void test_files_only_unescaped(void **state)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_fixture("mixed", &l, &why), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "/swapfile");
        assert_string_equal(l[1], "/var/lib/swap space");
}

static void test_none(void **state)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_fixture("none", &l, &why), 0);
        assert_non_null(l);
        assert_int_equal(strv_length(l), 0);
}

static void expect_bad(const char *text, const char *msg)
{
        char **l = NULL;
        _cleanup_free_ char *why = NULL;

        assert_int_equal(procswaps_parse(text, strlen(text), &l, &why), -EBADMSG);
        assert_null(l);
        assert_string_equal(why, msg);
}

#define HEAD "Filename\tType\tSize\tUsed\tPriority\n"

static void test_bad(void **state)
{
        expect_bad("", "empty: no header line");
        expect_bad("/swapfile file 1 0 -2\n",
                   "line 1: no header (\"Filename Type Size Used Priority\")");
        expect_bad(HEAD "/swapfile file 1 0\n", "line 2: fewer than five fields (file name, "
                                                "type, size, used, priority)");
        expect_bad(HEAD "swapfile file 1 0 -2\n", "line 2: \"swapfile\" is no absolute path");
        expect_bad(HEAD "/a\\04 file 1 0 -2\n", "line 2: a bad octal escape in the file name");
        expect_bad(HEAD "/a\\000b file 1 0 -2\n", "line 2: a bad octal escape in the file name");
        expect_bad(HEAD "/a\\9999 file 1 0 -2\n", "line 2: a bad octal escape in the file name");
        {
                char **l = NULL;
                _cleanup_free_ char *why = NULL;
                const char t[] = HEAD "/a\0 file 1 0 -2\n";

                assert_int_equal(procswaps_parse(t, sizeof(t) - 1, &l, &why), -EBADMSG);
                assert_string_equal(why, "a NUL byte at offset 35");
        }
}

/* the last line may lack its newline; blank lines are skipped */
static void test_no_final_newline(void **state)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *why = NULL;
        const char *t = HEAD "\n/s\\134x file 4 0 -2";

        assert_int_equal(procswaps_parse(t, strlen(t), &l, &why), 0);
        assert_int_equal(strv_length(l), 1);
        assert_string_equal(l[0], "/s\\x");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_files_only_unescaped),
                cmocka_unit_test(test_none),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_no_final_newline),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
