/* SPDX-License-Identifier: MIT */
/*
 * grubcfg.c: GRUB script as GRUB's lexer reads it (DESIGN.md §11b). Fed the configuration
 * files distributions write (tests/fixtures/grub: Debian's and Ubuntu's ESP stubs, Fedora's
 * stub, bootuuid.cfg and BLS menu, a grub-mkconfig menu with a submenu) and hostile text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "grubcfg.h"
#include "util/fileio.h"
#include "util/strv.h"

static void parse_fixture(const char *name, struct grub_cfg *cfg)
{
        const char *f = getenv("FIXTURES");
        _cleanup_free_ char *path = NULL, *text = NULL, *why = NULL;
        size_t size = 0;
        int r;

        if (!f)
                fail_msg("$FIXTURES is not set (run through meson test)");
        assert_true(asprintf(&path, "%s/grub/%s", f, name) >= 0);
        assert_int_equal(read_full_file(path, GRUB_CFG_MAX, &text, &size), 0);
        r = grub_cfg_parse(text, size, cfg, &why);
        if (r < 0)
                fail_msg("%s: %s", name, why ? why : "no reason");
}

static int parse_text(const char *text, struct grub_cfg *cfg, char **why)
{
        return grub_cfg_parse(text, strlen(text), cfg, why);
}

/* The n-th command whose first word is cmd, or NULL. */
static const struct grub_cmd *find_cmd(const struct grub_cfg *cfg, const char *cmd, size_t n)
{
        for (size_t i = 0; i < cfg->n_cmds; i++)
                if (streq(cfg->cmds[i].argv[0], cmd) && n-- == 0)
                        return &cfg->cmds[i];
        return NULL;
}

static const char *lookup_table(const char *name, void *userdata)
{
        const char *const *t = userdata;

        for (; t[0]; t += 2)
                if (streq(t[0], name))
                        return t[1];
        return NULL;
}

static void test_debian_stub(void **state)
{
        struct grub_cfg cfg = {};
        struct grub_search s;
        const struct grub_cmd *c;
        const char *vars[] = { "root", "hd1,gpt2", NULL, NULL };
        _cleanup_free_ char *prefix = NULL, *file = NULL, *rendered = NULL;
        bool unknown;

        parse_fixture("debian-stub.cfg", &cfg);
        assert_int_equal(cfg.n_cmds, 3);
        assert_int_equal(cfg.n_entries, 0);

        assert_int_equal(grub_search_parse(cfg.cmds[0].argv, &s, NULL), 0);
        assert_int_equal(s.kind, GRUB_SEARCH_FS_UUID);
        assert_string_equal(s.value, "0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80");
        assert_string_equal(s.var, "root");
        assert_int_equal(cfg.cmds[0].line, 1);

        /* set prefix=($root)'/boot/grub': one word, a reference and a quoted part. */
        c = find_cmd(&cfg, "set", 0);
        assert_non_null(c);
        assert_int_equal(c->line, 2);
        prefix = grub_word_expand(c->argv[1], lookup_table, (void *)vars, &unknown);
        assert_string_equal(prefix, "prefix=(hd1,gpt2)/boot/grub");
        assert_false(unknown);
        rendered = grub_word_render(c->argv[1]);
        assert_string_equal(rendered, "prefix=(${root})/boot/grub");

        c = find_cmd(&cfg, "configfile", 0);
        assert_non_null(c);
        assert_false(grub_word_is_literal(c->argv[1]));
        file = grub_word_expand(c->argv[1], lookup_table, (void *)vars, &unknown);
        assert_string_equal(file, "/grub.cfg"); /* $prefix unknown to this table */
        assert_true(unknown);
        grub_cfg_done(&cfg);
}

static void test_fedora_stub_and_bootuuid(void **state)
{
        struct grub_cfg cfg = {};
        struct grub_search s;
        const struct grub_cmd *c;

        parse_fixture("fedora-stub.cfg", &cfg);
        assert_int_equal(grub_search_parse(cfg.cmds[0].argv, &s, NULL), 0);
        assert_int_equal(s.kind, GRUB_SEARCH_FS_UUID);
        assert_string_equal(s.var, "dev");
        assert_true(s.no_floppy);
        assert_string_equal(s.value, "2c7d1f00-8e4a-4a6b-b3c1-5d6e7f809a1b");
        grub_cfg_done(&cfg);

        parse_fixture("bootuuid.cfg", &cfg);
        c = find_cmd(&cfg, "set", 0);
        assert_non_null(c);
        assert_string_equal(c->argv[1], "BOOT_UUID=2c7d1f00-8e4a-4a6b-b3c1-5d6e7f809a1b");
        grub_cfg_done(&cfg);
}

static void test_ubuntu_stub_trailing_blank(void **state)
{
        struct grub_cfg cfg = {};
        struct grub_search s;

        parse_fixture("ubuntu-stub.cfg", &cfg);
        assert_int_equal(grub_search_parse(cfg.cmds[0].argv, &s, NULL), 0);
        assert_string_equal(s.value, "6c1e2b3a-0d4f-4b5e-8c7d-9e0f1a2b3c4d");
        assert_string_equal(s.var, "root");
        grub_cfg_done(&cfg);
}

static void test_mkconfig_menu(void **state)
{
        struct grub_cfg cfg = {};
        const struct grub_entry *e;
        const struct grub_cmd *c;
        size_t n_linux = 0;

        parse_fixture("debian-grub.cfg", &cfg);
        /* Top entry, the submenu, its two entries, and the firmware entry inside an if. */
        assert_int_equal(cfg.n_entries, 5);
        e = &cfg.entries[0];
        assert_string_equal(e->title, "Debian GNU/Linux");
        assert_string_equal(e->id, "gnulinux-simple-0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80");
        assert_false(e->submenu);
        assert_int_equal(e->parent, -1);
        assert_true(cfg.entries[1].submenu);
        assert_int_equal(cfg.entries[2].parent, 1);
        assert_int_equal(cfg.entries[3].parent, 1);
        assert_string_equal(cfg.entries[3].title,
                            "Debian GNU/Linux, with Linux 6.1.0-27-amd64 (recovery mode)");
        assert_string_equal(cfg.entries[4].title, "UEFI Firmware Settings");

        /* Each kernel entry's commands lie within its range and name the kernel. */
        for (size_t i = 0; i < cfg.n_entries; i++) {
                e = &cfg.entries[i];
                for (size_t k = e->first_cmd; k < e->first_cmd + e->n_cmds; k++) {
                        c = &cfg.cmds[k];
                        if (!grub_cmd_is_linux(c->argv[0]))
                                continue;
                        n_linux++;
                        assert_string_equal(c->argv[1], "/boot/vmlinuz-6.1.0-27-amd64");
                        assert_string_equal(c->argv[2],
                                            "root=UUID=0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80");
                }
        }
        /* 3 kernel entries, and the submenu's range holds its two entries' lines again. */
        assert_int_equal(n_linux, 5);

        /* `set default="0"` is inside if/else: conditional; `set linux_gfx_mode=` is not. */
        c = find_cmd(&cfg, "set", 1);
        assert_non_null(c);
        assert_string_equal(c->argv[1], "default=\001next_entry\002");
        assert_true(c->conditional);
        c = find_cmd(&cfg, "linux", 0);
        assert_false(c->conditional);
        assert_int_equal(c->entry, 0);
        /* Inside a function body. */
        c = find_cmd(&cfg, "insmod", 0);
        assert_true(c->in_function);
        grub_cfg_done(&cfg);
}

static void test_fedora_bls_menu(void **state)
{
        struct grub_cfg cfg = {};
        const struct grub_cmd *c;
        struct grub_search s;

        parse_fixture("fedora-bls.cfg", &cfg);
        assert_int_equal(cfg.n_entries, 0);
        c = find_cmd(&cfg, "search", 0);
        assert_non_null(c);
        assert_false(c->conditional);
        assert_int_equal(grub_search_parse(c->argv, &s, NULL), 0);
        assert_string_equal(s.value, "2c7d1f00-8e4a-4a6b-b3c1-5d6e7f809a1b"); /* hints skipped */
        assert_non_null(find_cmd(&cfg, "blscfg", 0));
        grub_cfg_done(&cfg);
}

static void test_quoting(void **state)
{
        struct grub_cfg cfg = {};
        _cleanup_free_ char *why = NULL;

        assert_int_equal(parse_text("echo 'a b'\"c $x d\"e\\ f '$lit' \\$esc\n"
                                    "echo one\\\n two; echo three\n",
                                    &cfg, &why),
                         0);
        assert_int_equal(cfg.n_cmds, 3);
        assert_string_equal(cfg.cmds[0].argv[1], "a bc \001x\002 de f");
        assert_string_equal(cfg.cmds[0].argv[2], "$lit");
        assert_string_equal(cfg.cmds[0].argv[3], "$esc");
        assert_true(grub_word_is_literal(cfg.cmds[0].argv[2]));
        /* A continued line is one command; the second command keeps its first line. */
        assert_string_equal(cfg.cmds[1].argv[1], "one");
        assert_string_equal(cfg.cmds[1].argv[2], "two");
        assert_int_equal(cfg.cmds[2].line, 3);
        grub_cfg_done(&cfg);

        /* '' is a word; a quoted brace is no brace; # inside a word is no comment. */
        assert_int_equal(parse_text("set x='' '}' a#b # comment\n", &cfg, &why), 0);
        assert_int_equal(strv_length(cfg.cmds[0].argv), 4);
        assert_string_equal(cfg.cmds[0].argv[1], "x=");
        assert_string_equal(cfg.cmds[0].argv[2], "}");
        assert_string_equal(cfg.cmds[0].argv[3], "a#b");
        grub_cfg_done(&cfg);

        /* A block on one line. */
        assert_int_equal(
                parse_text("menuentry --id=x 'T' { linux /k a=b; initrd /i; }\n", &cfg, &why), 0);
        assert_int_equal(cfg.n_entries, 1);
        assert_string_equal(cfg.entries[0].id, "x");
        assert_int_equal(cfg.entries[0].n_cmds, 2);
        assert_true(grub_cmd_is_initrd(cfg.cmds[cfg.entries[0].first_cmd + 1].argv[0]));
        grub_cfg_done(&cfg);
}

static void refused(const char *text, const char *reason_part)
{
        struct grub_cfg cfg = {};
        _cleanup_free_ char *why = NULL;
        int r = parse_text(text, &cfg, &why);

        if (r != -EBADMSG)
                fail_msg("'%s' gave %d, expected -EBADMSG", text, r);
        assert_non_null(why);
        if (!strstr(why, reason_part))
                fail_msg("'%s': reason '%s' lacks '%s'", text, why, reason_part);
}

static void test_hostile(void **state)
{
        struct grub_cfg cfg = {};
        const char nul[] = "echo a\0b\n";

        refused("echo 'open\n", "line 1: a single quote that is never closed");
        refused("echo \"open\n", "double quote that is never closed");
        refused("menuentry 'a' {\n linux /v\n", "menuentry opened at line 1 is never closed");
        refused("}\n", "line 1: '}' closes no block");
        refused("fi\n", "'fi' closes no if");
        refused("if true; then\n echo\n", "the if opened at line 1 is never closed");
        refused("menuentry 'a'\n{\n}\n", "line 1: menuentry without its '{'");
        refused("menuentry --class x {\n}\n", "without a title");
        refused("echo ${}\n", "'${' without a name");
        refused("echo ${a b}\n", "in a variable name");
        refused("echo a | b\n", "'|' is not GRUB script");
        refused("if true; then menuentry 'x' {\n fi\n}\n", "'fi' closes no if");
        assert_int_equal(grub_cfg_parse(nul, sizeof(nul) - 1, &cfg, NULL), -EBADMSG);
        {
                _cleanup_free_ char *deep = NULL;
                size_t n = 0;
                FILE *f = open_memstream(&deep, &n);

                assert_non_null(f);
                for (int i = 0; i < GRUB_DEPTH_MAX + 1; i++)
                        fputs("if a; then\n", f);
                fclose(f);
                refused(deep, "nested deeper than");
        }
}

static void test_search_forms(void **state)
{
        struct grub_search s;
        _cleanup_free_ char *why = NULL;
        char *lbl[] = { "search", "-l", "--set=boot", "BOOT0", NULL };
        char *file[] = { "search.file", "/EFI/debian/grub.cfg", NULL };
        char *hint[] = { "search", "-u", "--hint", "hd0,gpt1", "UUID1", NULL };
        char *bad[] = { "search", "--frobnicate", "x", NULL };
        char *none[] = { "search", "--set=root", "x", NULL };
        char *noval[] = { "search", "--fs-uuid", NULL };
        char *other[] = { "linux", "/k", NULL };

        assert_int_equal(grub_search_parse(lbl, &s, &why), 0);
        assert_int_equal(s.kind, GRUB_SEARCH_LABEL);
        assert_string_equal(s.var, "boot");
        assert_string_equal(s.value, "BOOT0");
        assert_int_equal(grub_search_parse(file, &s, &why), 0);
        assert_int_equal(s.kind, GRUB_SEARCH_FILE);
        assert_string_equal(s.value, "/EFI/debian/grub.cfg");
        assert_int_equal(grub_search_parse(hint, &s, &why), 0);
        assert_string_equal(s.value, "UUID1");
        assert_int_equal(grub_search_parse(other, &s, &why), -ENOENT);
        assert_int_equal(grub_search_parse(bad, &s, &why), -EINVAL);
        assert_string_equal(why, "search: unknown option '--frobnicate'");
        assert_int_equal(grub_search_parse(none, &s, &why), -EINVAL);
        assert_string_equal(why, "search: none of --fs-uuid, --label, --file");
        assert_int_equal(grub_search_parse(noval, &s, &why), -EINVAL);
        assert_string_equal(why, "search: no identifier to search for");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_debian_stub),
                cmocka_unit_test(test_fedora_stub_and_bootuuid),
                cmocka_unit_test(test_ubuntu_stub_trailing_blank),
                cmocka_unit_test(test_mkconfig_menu),
                cmocka_unit_test(test_fedora_bls_menu),
                cmocka_unit_test(test_quoting),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_search_forms),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
