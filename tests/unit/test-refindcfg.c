/* SPDX-License-Identifier: MIT */
/*
 * refindcfg.c: rEFInd's refind.conf and refind_linux.conf (DESIGN.md §11b), fed the
 * fixtures in tests/fixtures/refind and hostile text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "refindcfg.h"
#include "util/fileio.h"
#include "util/strv.h"

static void read_fixture(const char *name, char **text, size_t *size)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL;

        if (!f)
                fail_msg("$FIXTURES is not set (run through meson test)");
        assert_true(asprintf(&path, "%s/refind/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, REFIND_CFG_MAX, text, size), 0);
}

static void assert_strv_is(char **l, const char *joined)
{
        _cleanup_free_ char *s = strv_join(l, "|");

        assert_non_null(s);
        assert_string_equal(s, joined);
}

static void test_refind_conf(void **state)
{
        _cleanup_free_ char *text = NULL, *why = NULL;
        struct refind_cfg c = {};
        size_t size;

        read_fixture("refind.conf", &text, &size);
        assert_int_equal(refind_cfg_parse(text, size, &c, &why), 0);
        assert_strv_is(c.scanfor, "internal|external|manual");
        assert_false(refind_cfg_manual_only(&c));
        assert_strv_is(c.also_scan_dirs, "boot|ESP2:EFI/linux/kernels");
        assert_strv_is(c.dont_scan_volumes, "Recovery HD");
        assert_strv_is(c.includes, "themes/minimal/theme.conf");
        assert_string_equal(c.default_selection, "Debian");
        assert_int_equal(c.n, 4);
        assert_string_equal(c.stanzas[0].title, "Debian");
        assert_int_equal(c.stanzas[0].line, 10);
        assert_string_equal(c.stanzas[0].volume, "ESP1");
        assert_string_equal(c.stanzas[0].loader, "/vmlinuz-6.1.0-27-amd64");
        assert_string_equal(c.stanzas[0].initrd, "/initrd.img-6.1.0-27-amd64");
        assert_string_equal(c.stanzas[0].options,
                            "root=UUID=0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80 ro quiet");
        assert_int_equal(c.stanzas[1].parent, 0);
        assert_string_equal(c.stanzas[1].options, "single");
        assert_null(c.stanzas[1].loader); /* inherits the parent's */
        assert_string_equal(c.stanzas[2].loader, "/vmlinuz-6.1.0-26-amd64");
        assert_string_equal(c.stanzas[3].loader, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
        assert_true(c.stanzas[3].disabled);
        assert_int_equal(c.stanzas[3].parent, -1);
        refind_cfg_done(&c);
}

static void test_manual_only(void **state)
{
        struct refind_cfg c = {};
        const char *t = "scanfor manual\n";

        assert_int_equal(refind_cfg_parse(t, strlen(t), &c, NULL), 0);
        assert_true(refind_cfg_manual_only(&c));
        refind_cfg_done(&c);
        /* No scanfor: rEFInd's default scans internal disks. */
        assert_int_equal(refind_cfg_parse("", 0, &c, NULL), 0);
        assert_false(refind_cfg_manual_only(&c));
        refind_cfg_done(&c);
}

static void refused(const char *text, const char *reason)
{
        struct refind_cfg c = {};
        _cleanup_free_ char *why = NULL;
        int r = refind_cfg_parse(text, strlen(text), &c, &why);

        if (r != -EBADMSG || !why || !strstr(why, reason))
                fail_msg("'%s': %d '%s', expected '%s'", text, r, why ? why : "", reason);
}

static void test_hostile(void **state)
{
        struct refind_cfg c = {};
        const char nul[] = "timeout 5\0\n";

        refused("menuentry \"a\" {\nloader /x\n", "the menuentry opened at line 1 is never closed");
        refused("}\n", "line 1: '}' closes no stanza");
        refused("menuentry \"a {\n}\n", "line 1: a quote that is never closed");
        refused("menuentry {\n}\n", "line 1: menuentry needs a title and '{'");
        refused("submenuentry \"s\" {\n}\n", "outside a menuentry");
        refused("menuentry \"a\" {\nmenuentry \"b\" {\n}\n}\n", "inside another menuentry");
        assert_int_equal(refind_cfg_parse(nul, sizeof(nul) - 1, &c, NULL), -EBADMSG);
}

static void test_refind_linux(void **state)
{
        _cleanup_free_ char *text = NULL, *why = NULL;
        struct refind_linux_line *l = NULL;
        size_t size, n = 0;

        read_fixture("refind_linux.conf", &text, &size);
        assert_int_equal(refind_linux_parse(text, size, &l, &n, &why), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].title, "Boot with standard options");
        assert_string_equal(l[0].options,
                            "root=UUID=0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80 ro quiet");
        assert_int_equal(l[2].line, 4);
        assert_string_equal(l[2].options, "ro");
        refind_linux_free(l, n);

        assert_int_equal(refind_linux_parse("\"only a title\"\n", 15, &l, &n, &why), -EBADMSG);
        assert_string_equal(why, "line 1: a title without options (write \"TITLE\" \"OPTIONS\")");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_refind_conf),
                cmocka_unit_test(test_manual_only),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_refind_linux),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
