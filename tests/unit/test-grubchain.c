/* SPDX-License-Identifier: MIT */
/*
 * grubchain.c: GRUB's chain on one disk judged as if the other disk were gone (DESIGN.md
 * §11b). Two ESP trees are built per test under mkdtemp: ESP 0 on the other disk, ESP 1 on
 * the disk judged, each with Debian's stub, grub/grub.cfg (approach 1: the ESP is /boot),
 * a kernel and an initrd; each test breaks one link.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "grubchain.h"
#include "util/strv.h"
#include "tree-fixture.h"

#define UUID0 "1A2B-0000"
#define UUID1 "1A2B-0001"

struct tree {
        char dir[64];
        int fd[2];
        struct chain_fs fs[2];
};

#define MENU_FMT                                                                                   \
        "if [ -s $prefix/grubenv ]; then\n"                                                        \
        "  load_env\n"                                                                             \
        "fi\n"                                                                                     \
        "if [ \"${next_entry}\" ] ; then\n"                                                        \
        "   set default=\"${next_entry}\"\n"                                                       \
        "else\n"                                                                                   \
        "   set default=\"0\"\n"                                                                   \
        "fi\n"                                                                                     \
        "menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple' {\n"   \
        "\tinsmod part_gpt\n"                                                                      \
        "\tset root='hd0,gpt1'\n"                                                                  \
        "\tif [ x$feature_platform_search_hint = xy ]; then\n"                                     \
        "\t  search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 %s\n"                     \
        "\telse\n"                                                                                 \
        "\t  search --no-floppy --fs-uuid --set=root %s\n"                                         \
        "\tfi\n"                                                                                   \
        "\tlinux\t/vmlinuz-6.1.0-27-amd64 root=UUID=77777777-aaaa-bbbb-cccc-000000000000 ro "      \
        "quiet\n"                                                                                  \
        "\tinitrd\t/initrd.img-6.1.0-27-amd64\n"                                                   \
        "}\n"                                                                                      \
        "submenu 'Advanced options' {\n"                                                           \
        "\tmenuentry 'Debian, with Linux 6.1.0-26-amd64' {\n"                                      \
        "\t\tsearch --no-floppy --fs-uuid --set=root %s\n"                                         \
        "\t\tlinux\t/vmlinuz-6.1.0-26-amd64 root=UUID=77777777-aaaa-bbbb-cccc-000000000000 ro\n"   \
        "\t\tinitrd\t/initrd.img-6.1.0-26-amd64\n"                                                 \
        "\t}\n"                                                                                    \
        "}\n"

static void esp(int dir_fd, const char *stub_uuid, const char *menu_uuid)
{
        _cleanup_free_ char *stub = NULL, *menu = NULL;

        assert_true(asprintf(&stub,
                             "search.fs_uuid %s root hd0,gpt1 \nset prefix=($root)'/grub'\n"
                             "configfile $prefix/grub.cfg\n",
                             stub_uuid) >= 0);
        assert_true(asprintf(&menu, MENU_FMT, menu_uuid, menu_uuid, menu_uuid) >= 0);
        put(dir_fd, "EFI/debian/grub.cfg", stub);
        put_image(dir_fd, "EFI/debian/grubx64.efi", "efi");
        put(dir_fd, "grub/grub.cfg", menu);
        put_image(dir_fd, "vmlinuz-6.1.0-27-amd64", "kernel");
        put_image(dir_fd, "initrd.img-6.1.0-27-amd64", "initrd");
        put_image(dir_fd, "vmlinuz-6.1.0-26-amd64", "kernel");
        put_image(dir_fd, "initrd.img-6.1.0-26-amd64", "initrd");
}

static int setup(void **state)
{
        struct tree *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        strcpy(t->dir, "/tmp/test-grubchain.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        for (int i = 0; i < 2; i++) {
                char sub[96];

                snprintf(sub, sizeof(sub), "%s/efi%d", t->dir, i);
                assert_int_equal(mkdir(sub, 0755), 0);
                t->fd[i] = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(t->fd[i] >= 0);
        }
        esp(t->fd[0], UUID0, UUID0);
        esp(t->fd[1], UUID1, UUID1);
        t->fs[0] = (struct chain_fs){ .name = "/efi0", .uuid = UUID0, .fd = t->fd[0] };
        t->fs[1] = (struct chain_fs){
                .name = "/efi1", .uuid = UUID1, .fd = t->fd[1], .this_disk = true
        };
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tree *t = *state;

        close(t->fd[0]);
        close(t->fd[1]);
        tree_remove(t->dir);
        free(t);
        return 0;
}

static void check(struct tree *t, struct chain_result *c)
{
        assert_int_equal(grub_chain_check(t->fs, 2, 1, "EFI/debian/grub.cfg", c), 0);
}

/* The findings of at least level l, joined, for messages and substring checks. */
static char *joined(const struct chain_result *c, enum chain_level l)
{
        _cleanup_strv_free_ char **v = NULL;

        for (size_t i = 0; i < c->n; i++)
                if (c->findings[i].level >= l)
                        assert_int_equal(strv_extend(&v, c->findings[i].text), 0);
        return v ? strv_join(v, "\n") : strdup("");
}

static void assert_finding(const struct chain_result *c, enum chain_level l, const char *part)
{
        for (size_t i = 0; i < c->n; i++)
                if (c->findings[i].level == l && strstr(c->findings[i].text, part))
                        return;
        {
                _cleanup_free_ char *all = joined(c, CHAIN_NOTE);

                fail_msg("no finding of level %d with '%s' among:\n%s", l, part, all);
        }
}

static void test_own_disk_boots(void **state)
{
        struct chain_result c = {};
        _cleanup_free_ char *all = NULL;

        check(*state, &c);
        all = joined(&c, CHAIN_WARNING);
        if (c.worst >= CHAIN_WARNING)
                fail_msg("unexpected findings:\n%s", all);
        assert_int_equal(c.n_entries, 2);
        assert_int_equal(c.n_bootable, 2);
        assert_string_equal(c.default_title, "Debian GNU/Linux");
        assert_true(c.default_bootable);
        chain_result_done(&c);
}

/* The alternate's stub still names the booted disk's ESP: the bug of a plain copy. */
static void test_stub_names_the_other_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        esp(t->fd[1], UUID0, UUID1);
        check(t, &c);
        assert_int_equal(c.worst, CHAIN_CRITICAL);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/EFI/debian/grub.cfg:1: search --fs-uuid " UUID0
                       " finds /efi0, on the other disk");
        chain_result_done(&c);
}

/* The menu's entries search the other disk's ESP: the stub is fine, the kernel is not. */
static void test_menu_names_the_other_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        esp(t->fd[1], UUID1, UUID0);
        check(t, &c);
        assert_int_equal(c.worst, CHAIN_CRITICAL);
        assert_finding(&c, CHAIN_CRITICAL, "/efi1/grub/grub.cfg:13 (entry \"Debian GNU/Linux\")");
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

static void test_default_initrd_missing(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        assert_int_equal(unlinkat(t->fd[1], "initrd.img-6.1.0-27-amd64", 0), 0);
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/grub/grub.cfg:18 (entry \"Debian GNU/Linux\"): initrd "
                       "/initrd.img-6.1.0-27-amd64: /efi1 lacks it");
        assert_int_equal(c.n_bootable, 1);
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

/* Another entry's kernel missing: the default still boots unattended; a warning. */
static void test_other_entry_missing_is_a_warning(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        assert_int_equal(unlinkat(t->fd[1], "vmlinuz-6.1.0-26-amd64", 0), 0);
        check(t, &c);
        assert_int_equal(c.worst, CHAIN_WARNING);
        assert_finding(&c, CHAIN_WARNING, "linux /vmlinuz-6.1.0-26-amd64: /efi1 lacks it");
        assert_true(c.default_bootable);
        chain_result_done(&c);
}

/* grubenv's next_entry selects the submenu's entry, whose kernel is gone. */
static void test_grubenv_next_entry(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "grub/grubenv",
            "# GRUB Environment Block\nnext_entry=1>0\n##################\n");
        assert_int_equal(unlinkat(t->fd[1], "vmlinuz-6.1.0-26-amd64", 0), 0);
        check(t, &c);
        assert_string_equal(c.default_title, "Debian, with Linux 6.1.0-26-amd64");
        assert_false(c.default_bootable);
        assert_int_equal(c.worst, CHAIN_CRITICAL);
        chain_result_done(&c);
}

static void test_stub_missing_menu(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        assert_int_equal(unlinkat(t->fd[1], "grub/grub.cfg", 0), 0);
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "configfile: loads (/efi1)/grub/grub.cfg: /efi1 lacks it");
        chain_result_done(&c);
}

static void test_unparsable_menu(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "grub/grub.cfg", "menuentry 'x' {\n linux /vmlinuz-6.1.0-27-amd64\n");
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/grub/grub.cfg: GRUB cannot read it: the menuentry opened at line 1 "
                       "is never closed");
        chain_result_done(&c);
}

/* Not mounted: could not look, never "broken". */
static void test_unreadable_is_unknown(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        struct chain_fs fs[3] = {
                t->fs[0],
                t->fs[1],
                { .name = "/dev/vdb2", .uuid = "0f3a9c2e", .fd = -1, .this_disk = true }
        };

        put(t->fd[1], "EFI/debian/grub.cfg",
            "search.fs_uuid 0f3a9c2e root\nset prefix=($root)'/boot/grub'\n"
            "configfile $prefix/grub.cfg\n");
        assert_int_equal(grub_chain_check(fs, 3, 1, "EFI/debian/grub.cfg", &c), 0);
        assert_int_equal(c.worst, CHAIN_UNKNOWN);
        assert_finding(&c, CHAIN_UNKNOWN, "is on /dev/vdb2, which is not mounted");
        chain_result_done(&c);
}

/* Approach 2: the entry's root= names the other disk's root filesystem. */
static void test_root_on_the_other_disk(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        struct chain_fs fs[4] = { t->fs[0],
                                  t->fs[1],
                                  { .name = "/mnt/root1 (disk 0's root)",
                                    .uuid = "77777777-AAAA-bbbb-cccc-000000000000",
                                    .fd = -1 },
                                  { .name = "/",
                                    .uuid = "88888888-aaaa-bbbb-cccc-000000000000",
                                    .fd = -1,
                                    .this_disk = true } };

        assert_int_equal(grub_chain_check(fs, 4, 1, "EFI/debian/grub.cfg", &c), 0);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/grub/grub.cfg:17 (entry \"Debian GNU/Linux\"): the kernel's root= "
                       "names /mnt/root1 (disk 0's root), on the other disk");
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

/* DESIGN.md §11 S8: an empty or truncated kernel is no kernel. */
static void test_truncated_kernel(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};
        int fd = openat(t->fd[1], "vmlinuz-6.1.0-27-amd64", O_WRONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 4096), 0);
        close(fd);
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL, "linux /vmlinuz-6.1.0-27-amd64 on /efi1: truncated");
        assert_false(c.default_bootable);
        chain_result_done(&c);
}

static void test_shim_without_grub(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put_image(t->fd[1], "EFI/debian/shimx64.efi", "efi");
        check(t, &c);
        assert_finding(&c, CHAIN_NOTE,
                       "/efi1/EFI/debian/shimx64.efi: shim (Secure Boot in the chain) starts "
                       "EFI/debian/grubx64.efi beside it");
        chain_result_done(&c);
        assert_int_equal(unlinkat(t->fd[1], "EFI/debian/grubx64.efi", 0), 0);
        check(t, &c);
        assert_finding(&c, CHAIN_CRITICAL,
                       "/efi1/EFI/debian/shimx64.efi: shim starts grubx64.efi beside it, which "
                       "/efi1 lacks");
        chain_result_done(&c);
}

/* Debian's stub searching the root (or /boot) by a UUID none of the ESPs has: the status
 * check gives only the ESPs (partial), so what follows is not judged, never "lacks it". */
static void test_partial_stub_to_another_filesystem(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/debian/grub.cfg",
            "search.fs_uuid 0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80 root hd0,gpt2 \n"
            "set prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n");
        assert_int_equal(grub_chain_check_partial(t->fs, 2, 1, "EFI/debian/grub.cfg", &c), 0);
        assert_int_equal(c.worst, CHAIN_UNKNOWN);
        assert_finding(&c, CHAIN_UNKNOWN, "names none of the filesystems checked (the ESPs)");
        assert_finding(&c, CHAIN_UNKNOWN, "is on the filesystem of a search not followed");
        for (size_t i = 0; i < c.n; i++)
                assert_true(c.findings[i].level != CHAIN_CRITICAL);
        chain_result_done(&c);
}

static void test_firmware_order_device(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/debian/grub.cfg", "set root='hd0,gpt1'\nconfigfile /grub/grub.cfg\n");
        check(t, &c);
        assert_finding(&c, CHAIN_UNKNOWN, "is on device hd0,gpt1");
        chain_result_done(&c);
}

static void test_configfile_loop_is_bounded(void **state)
{
        struct tree *t = *state;
        struct chain_result c = {};

        put(t->fd[1], "EFI/debian/grub.cfg", "source $prefix/grub.cfg\n");
        check(t, &c);
        assert_finding(&c, CHAIN_UNKNOWN, "nested deeper than");
        chain_result_done(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_own_disk_boots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stub_names_the_other_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_menu_names_the_other_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_default_initrd_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_entry_missing_is_a_warning, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_grubenv_next_entry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stub_missing_menu, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unparsable_menu, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_is_unknown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_on_the_other_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated_kernel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shim_without_grub, setup, teardown),
                cmocka_unit_test_setup_teardown(test_partial_stub_to_another_filesystem, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_firmware_order_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_configfile_loop_is_bounded, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
