/* SPDX-License-Identifier: MIT */
/*
 * swapids.c, the pure half (DESIGN.md §5b): the identifier map built from pairs and lone
 * filesystems, and the rewrite of fstab, BLS entry and kernel command line texts.
 *
 * Disk A (the source) has an ESP, a root and a swap partition; disk B (the alternate) the
 * same. The sync list pairs the ESPs and the roots; the swaps are known, unpaired.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "swapids.h"
#include "util/strv.h"

#define A_ROOT_UUID "0b3c7f1e-5a55-4a8e-9d0e-1d8a2a1b0a01"
#define B_ROOT_UUID "7e9a4c22-6f3d-4b1a-8c44-2f0e3b9c0b02"
#define A_ROOT_PART "1a1a1a1a-0000-4000-8000-00000000000a"
#define B_ROOT_PART "2b2b2b2b-0000-4000-8000-00000000000b"
#define A_ESP_UUID "74B3-8D8F"
#define B_ESP_UUID "1C2D-3E4F"
#define A_SWAP_UUID "aaaaaaaa-1111-4111-8111-111111111111"
#define B_SWAP_UUID "bbbbbbbb-2222-4222-8222-222222222222"
#define NFS_UUID "cccccccc-3333-4333-8333-333333333333"
/* LUKS containers (blkid TYPE=crypto_LUKS: the superblock's UUID), one per disk, paired */
#define A_LUKS "d1d1d1d1-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define B_LUKS "e2e2e2e2-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
/* an md RAID1 across both disks: its members have the array's UUID (blkid, dashed) */
#define MD_UUID "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
#define MD_COLONS "0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9"

static struct swapids_map map;

static int setup(void **state)
{
        struct swapids_fs a_root = { .name = "/dev/vda2 (on /)",
                                     .uuid = A_ROOT_UUID,
                                     .partuuid = A_ROOT_PART,
                                     .label = "root0",
                                     .partlabel = "linux-a" };
        struct swapids_fs b_root = { .name = "/dev/vdb2 (on /mnt/root1)",
                                     .uuid = B_ROOT_UUID,
                                     .partuuid = B_ROOT_PART,
                                     .label = "root 1",
                                     .partlabel = "linux b" };
        struct swapids_fs a_luks = { .name = "/dev/vda4", .uuid = A_LUKS };
        struct swapids_fs b_luks = { .name = "/dev/vdb4", .uuid = B_LUKS };
        struct swapids_fs a_md = { .name = "/dev/vda5", .uuid = MD_UUID };
        struct swapids_fs b_md = { .name = "/dev/vdb5", .uuid = MD_UUID };
        struct swapids_fs a_esp = { .name = "/dev/vda1", .uuid = A_ESP_UUID, .label = "EFI" };
        struct swapids_fs b_esp = { .name = "/dev/vdb1", .uuid = B_ESP_UUID, .label = "EFI" };
        struct swapids_fs a_swap = { .name = "/dev/vda3", .uuid = A_SWAP_UUID };
        struct swapids_fs b_swap = { .name = "/dev/vdb3", .uuid = B_SWAP_UUID };
        _cleanup_free_ char *why = NULL;

        map = (struct swapids_map){};
        if (swapids_map_add_pair(&map, &a_root, &b_root, &why) < 0 ||
            swapids_map_add_pair(&map, &a_esp, &b_esp, &why) < 0 ||
            swapids_map_add_pair(&map, &a_luks, &b_luks, &why) < 0 ||
            swapids_map_add_pair(&map, &a_md, &b_md, &why) < 0 ||
            /* the same pair again (another item on the same filesystems): no conflict */
            swapids_map_add_pair(&map, &a_root, &b_root, &why) < 0 ||
            swapids_map_add_fs(&map, &a_swap, true) < 0 ||
            swapids_map_add_fs(&map, &b_swap, false) < 0 ||
            /* a paired filesystem seen again as a disk member keeps its counterpart */
            swapids_map_add_fs(&map, &a_root, true) < 0)
                fail_msg("building the map failed: %s", strna(why));
        return 0;
}

static int teardown(void **state)
{
        swapids_map_done(&map);
        return 0;
}

static void rewrite_ok(const char *in, const char *expected, size_t n_changes)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result res = {};
        int r = swapids_rewrite(&map, "fstab", in, strlen(in), &res, &why);

        if (r < 0)
                fail_msg("rewrite failed (%d): %s", r, strna(why));
        if (!streq(res.text, expected))
                fail_msg("rewrite of\n%s\ngave\n%s\nexpected\n%s", in, res.text, expected);
        assert_int_equal(res.size, strlen(expected));
        assert_int_equal(res.n_changes, n_changes);
        swapids_result_done(&res);
}

static void rewrite_error(const char *in, int expected_r, const char *expected_why)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result res = { .text = (char *)"untouched" };
        int r = swapids_rewrite(&map, "/etc/fstab", in, strlen(in), &res, &why);

        assert_int_equal(r, expected_r);
        assert_string_equal(res.text, "untouched"); /* not written on failure */
        if (!why || !strstr(why, expected_why))
                fail_msg("message '%s' lacks '%s'", strna(why), expected_why);
}

/* ---------------------------------------------------------------------------------------- */

static void test_map_lookup(void **state)
{
        const struct swapids_entry *e;

        e = swapids_map_find(&map, SWAPIDS_UUID, A_ROOT_UUID);
        assert_non_null(e);
        assert_string_equal(e->counterpart, B_ROOT_UUID);
        assert_true(e->source);
        /* the swap: B's names A's */
        e = swapids_map_find(&map, SWAPIDS_UUID, B_ROOT_UUID);
        assert_non_null(e);
        assert_string_equal(e->counterpart, A_ROOT_UUID);
        assert_false(e->source);
        /* case-insensitive for UUIDs, exact for labels */
        e = swapids_map_find(&map, SWAPIDS_UUID, "74b3-8d8f");
        assert_non_null(e);
        assert_string_equal(e->counterpart, B_ESP_UUID);
        assert_null(swapids_map_find(&map, SWAPIDS_LABEL, "ROOT0"));
        assert_non_null(swapids_map_find(&map, SWAPIDS_LABEL, "root0"));
        /* a label both sides share maps to itself */
        e = swapids_map_find(&map, SWAPIDS_LABEL, "EFI");
        assert_non_null(e);
        assert_string_equal(e->counterpart, "EFI");
        /* known, no counterpart */
        e = swapids_map_find(&map, SWAPIDS_UUID, A_SWAP_UUID);
        assert_non_null(e);
        assert_null(e->counterpart);
        /* neither disk: unknown */
        assert_null(swapids_map_find(&map, SWAPIDS_UUID, NFS_UUID));
        /* kinds are separate */
        assert_null(swapids_map_find(&map, SWAPIDS_PARTUUID, A_ROOT_UUID));
}

static void test_map_conflict(void **state)
{
        struct swapids_fs a = { .name = "/dev/vda2", .uuid = A_ROOT_UUID };
        struct swapids_fs c = { .name = "/dev/vdc2", .uuid = NFS_UUID };
        _cleanup_free_ char *why = NULL;

        assert_int_equal(swapids_map_add_pair(&map, &a, &c, &why), -EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, "UUID=" A_ROOT_UUID " (/dev/vda2) pairs with both " B_ROOT_UUID
                                    " (/dev/vdb2 (on /mnt/root1)) and " NFS_UUID " (/dev/vdc2)"));
}

static void test_map_both_directions_conflict(void **state)
{
        /* B's root as the source of another item whose destination is A's: ambiguous */
        struct swapids_fs b = { .name = "/dev/vdb2", .uuid = B_ROOT_UUID };
        struct swapids_fs c = { .name = "/dev/vdc2", .uuid = NFS_UUID };
        _cleanup_free_ char *why = NULL;

        assert_int_equal(swapids_map_add_pair(&map, &b, &c, &why), -EINVAL);
        assert_non_null(strstr(why, "both a source and a destination"));
}

static void test_map_format(void **state)
{
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(swapids_map_format(&map, &l), 0);
        assert_true(strv_contains(l, "UUID " A_ROOT_UUID " <-> " B_ROOT_UUID
                                     "  (/dev/vda2 (on /) <-> /dev/vdb2 (on /mnt/root1))"));
        assert_true(strv_contains(l, "LABEL root0 <-> root 1  (/dev/vda2 (on /) <-> /dev/vdb2 "
                                     "(on /mnt/root1))"));
        assert_true(strv_contains(l, "UUID " A_SWAP_UUID "  (/dev/vda3, source disk): no "
                                     "counterpart"));
        assert_true(strv_contains(l, "UUID " B_SWAP_UUID "  (/dev/vdb3, alternate disk): no "
                                     "counterpart"));
        /* each pair once */
        assert_false(strv_contains(l, "UUID " B_ROOT_UUID " <-> " A_ROOT_UUID
                                      "  (/dev/vdb2 (on /mnt/root1) <-> /dev/vda2 (on /))"));
}

/* The partitions no sync item pairs, paired by place (DESIGN.md §5b W1). Disk A: 1 ESP and
 * 2 root (paired by the sync list), 3 swap, 4 ext4, 6 ext4, 7 without a type, 8 paired by
 * the sync list with B's 9, 9 ext4. Disk B: 1, 2 (paired), 3 swap, 4 swap, 8 ext4, 9. */
#define A_DATA_UUID "aaaaaaaa-4444-4444-8444-444444444444"
#define B_DATA_UUID "bbbbbbbb-4444-4444-8444-444444444444"
#define A_SIX_UUID "aaaaaaaa-6666-4666-8666-666666666666"
#define A_SEVEN_PART "aaaaaaaa-7777-4777-8777-777777777777"
#define A_HOME_UUID "aaaaaaaa-8888-4888-8888-888888888888"
#define B_HOME_UUID "bbbbbbbb-9999-4999-8999-999999999999"
#define A_NINE_UUID "aaaaaaaa-9999-4999-8999-999999999999"
#define B_EIGHT_UUID "bbbbbbbb-8888-4888-8888-888888888888"

static void test_place_pairs(void **state)
{
        struct swapids_fs a_root = { .name = "/dev/vda2 (on /)", .uuid = A_ROOT_UUID };
        struct swapids_fs b_root = { .name = "/dev/vdb2 (on /mnt/root1)", .uuid = B_ROOT_UUID };
        struct swapids_fs a_swap = { .name = "/dev/vda3", .uuid = A_SWAP_UUID };
        struct swapids_fs b_swap = { .name = "/dev/vdb3", .uuid = B_SWAP_UUID };
        struct swapids_fs a_data = { .name = "/dev/vda4", .uuid = A_DATA_UUID };
        struct swapids_fs b_data = { .name = "/dev/vdb4", .uuid = B_DATA_UUID };
        struct swapids_fs a_six = { .name = "/dev/vda6", .uuid = A_SIX_UUID };
        struct swapids_fs a_seven = { .name = "/dev/vda7", .partuuid = A_SEVEN_PART };
        struct swapids_fs a_home = { .name = "/dev/vda8 (/home/)", .uuid = A_HOME_UUID };
        struct swapids_fs b_home = { .name = "/dev/vdb9 (/mnt/root1/home/)", .uuid = B_HOME_UUID };
        struct swapids_fs a_nine = { .name = "/dev/vda9", .uuid = A_NINE_UUID };
        struct swapids_fs b_eight = { .name = "/dev/vdb8", .uuid = B_EIGHT_UUID };
        const struct swapids_part a[] = {
                { &a_root, 2, "ext4", true },  { &a_swap, 3, "swap", false },
                { &a_data, 4, "ext4", false }, { &a_six, 6, "ext4", false },
                { &a_seven, 7, NULL, false },  { &a_home, 8, "ext4", true },
                { &a_nine, 9, "ext4", false },
        };
        const struct swapids_part b[] = {
                { &b_root, 2, "ext4", true },  { &b_swap, 3, "swap", false },
                { &b_data, 4, "swap", false }, { &b_eight, 8, "ext4", false },
                { &b_home, 9, "ext4", true },
        };
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *why = NULL;
        const struct swapids_entry *e;

        swapids_map_done(&map);
        if (swapids_map_add_pair(&map, &a_root, &b_root, &why) < 0 ||
            swapids_map_add_pair(&map, &a_home, &b_home, &why) < 0)
                fail_msg("building the map failed: %s", strna(why));
        if (swapids_map_add_disks(&map, a, ELEMENTSOF(a), b, ELEMENTSOF(b), &why) < 0)
                fail_msg("adding the disks failed: %s", strna(why));

        /* the swaps: same number, same type */
        e = swapids_map_find(&map, SWAPIDS_UUID, A_SWAP_UUID);
        assert_non_null(e);
        assert_string_equal(e->counterpart, B_SWAP_UUID);
        assert_true(e->by_place);
        e = swapids_map_find(&map, SWAPIDS_UUID, B_SWAP_UUID);
        assert_non_null(e);
        assert_string_equal(e->counterpart, A_SWAP_UUID);
        /* the sync list's pairs are not by place, and never re-paired by number */
        e = swapids_map_find(&map, SWAPIDS_UUID, A_ROOT_UUID);
        assert_false(e->by_place);
        e = swapids_map_find(&map, SWAPIDS_UUID, A_HOME_UUID);
        assert_string_equal(e->counterpart, B_HOME_UUID);
        assert_false(e->by_place);
        assert_null(swapids_map_find(&map, SWAPIDS_UUID, A_NINE_UUID)->counterpart);
        assert_null(swapids_map_find(&map, SWAPIDS_UUID, B_EIGHT_UUID)->counterpart);

        assert_int_equal(swapids_map_format(&map, &l), 0);
        assert_true(strv_contains(l, "UUID " A_SWAP_UUID " <-> " B_SWAP_UUID
                                     "  (/dev/vda3 <-> /dev/vdb3)  (same partition number)"));
        assert_true(strv_contains(l, "UUID " A_ROOT_UUID " <-> " B_ROOT_UUID
                                     "  (/dev/vda2 (on /) <-> /dev/vdb2 (on /mnt/root1))"));

        rewrite_ok("UUID=" A_SWAP_UUID " none swap sw 0 0\n",
                   "UUID=" B_SWAP_UUID " none swap sw 0 0\n", 1);
        rewrite_ok("resume=UUID=" B_SWAP_UUID "\n", "resume=UUID=" A_SWAP_UUID "\n", 1);
        /* every other one: an error saying what would pair it */
        rewrite_error("UUID=" A_DATA_UUID " /data ext4 defaults 0 2\n", -ENXIO,
                      "/etc/fstab:1: UUID=" A_DATA_UUID " names /dev/vda4 on the source disk, "
                      "which has no counterpart on the alternate one: no sync item copies it and "
                      "partition 4 of the alternate disk (/dev/vdb4) holds swap, not ext4");
        rewrite_error("UUID=" B_DATA_UUID " none swap sw 0 0\n", -ENXIO,
                      "UUID=" B_DATA_UUID " names /dev/vdb4 on the alternate disk, which has no "
                      "counterpart on the source one: no sync item copies it and partition 4 of "
                      "the source disk (/dev/vda4) holds ext4, not swap");
        rewrite_error("UUID=" A_SIX_UUID " /six ext4 defaults 0 2\n", -ENXIO,
                      "names /dev/vda6 on the source disk, which has no counterpart on the "
                      "alternate one: no sync item copies it and the alternate disk has no "
                      "partition 6");
        rewrite_error("PARTUUID=" A_SEVEN_PART " /seven auto defaults 0 2\n", -ENXIO,
                      "names /dev/vda7 on the source disk, which has no counterpart on the "
                      "alternate one: no sync item copies it and it has no filesystem type to "
                      "pair it with partition 7 of the alternate disk by");
        rewrite_error("UUID=" A_NINE_UUID " /nine ext4 defaults 0 2\n", -ENXIO,
                      "names /dev/vda9 on the source disk, which has no counterpart on the "
                      "alternate one: no sync item copies it and partition 9 of the alternate "
                      "disk (/dev/vdb9 (/mnt/root1/home/)) is paired by the sync list");
        rewrite_error("UUID=" B_EIGHT_UUID " /eight ext4 defaults 0 2\n", -ENXIO,
                      "names /dev/vdb8 on the alternate disk, which has no counterpart on the "
                      "source one: no sync item copies it and partition 8 of the source disk "
                      "(/dev/vda8 (/home/)) is paired by the sync list");
}

static void test_fstab(void **state)
{
        rewrite_ok("# /etc/fstab: static file system information.\n"
                   "UUID=" A_ROOT_UUID " / ext4 errors=remount-ro 0 1\n"
                   "UUID=" A_ESP_UUID " /efi vfat umask=0077 0 1\n"
                   "UUID=" B_ROOT_UUID " /mnt/root1 ext4 nofail 0 2\n"
                   "UUID=" B_ESP_UUID " /mnt/root1/efi vfat nofail 0 2\n"
                   "UUID=" NFS_UUID " /srv ext4 defaults 0 2\n"
                   "server:/export /net nfs defaults 0 0\n",
                   "# /etc/fstab: static file system information.\n"
                   "UUID=" B_ROOT_UUID " / ext4 errors=remount-ro 0 1\n"
                   "UUID=" B_ESP_UUID " /efi vfat umask=0077 0 1\n"
                   "UUID=" A_ROOT_UUID " /mnt/root1 ext4 nofail 0 2\n"
                   "UUID=" A_ESP_UUID " /mnt/root1/efi vfat nofail 0 2\n"
                   "UUID=" NFS_UUID " /srv ext4 defaults 0 2\n"
                   "server:/export /net nfs defaults 0 0\n",
                   4);
}

static void test_forms(void **state)
{
        /* PARTUUID, by-uuid, by-partuuid, by-label with udev escapes, LABEL with fstab's */
        rewrite_ok("PARTUUID=" A_ROOT_PART " / ext4 defaults 0 1\n"
                   "/dev/disk/by-uuid/" A_ROOT_UUID " /a ext4 defaults\n"
                   "/dev/disk/by-partuuid/" B_ROOT_PART " /b ext4 defaults\n"
                   "/dev/disk/by-label/root0 /c ext4 defaults\n"
                   "LABEL=root\\0401 /d ext4 defaults\n"
                   "/dev/disk/by-label/root\\x201 /e ext4 defaults\n"
                   "LABEL=\"root 1\" /f ext4 defaults\n",
                   "PARTUUID=" B_ROOT_PART " / ext4 defaults 0 1\n"
                   "/dev/disk/by-uuid/" B_ROOT_UUID " /a ext4 defaults\n"
                   "/dev/disk/by-partuuid/" A_ROOT_PART " /b ext4 defaults\n"
                   "/dev/disk/by-label/root\\x201 /c ext4 defaults\n"
                   "LABEL=root0 /d ext4 defaults\n"
                   "/dev/disk/by-label/root0 /e ext4 defaults\n"
                   "LABEL=\"root0\" /f ext4 defaults\n",
                   7);
}

/* GRUB names filesystems by bare values (DESIGN.md §11b): the ESP stub, grub-mkconfig's
 * menu lines with and without hints, Fedora's stub and bootuuid.cfg, labels. */
static void test_grub_forms(void **state)
{
        rewrite_ok("search.fs_uuid 74b3-8d8f root hd0,gpt1 \n"
                   "set prefix=($root)'/grub'\nconfigfile $prefix/grub.cfg\n",
                   "search.fs_uuid 1c2d-3e4f root hd0,gpt1 \n"
                   "set prefix=($root)'/grub'\nconfigfile $prefix/grub.cfg\n",
                   1);
        rewrite_ok("\t  search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 "
                   "--hint-baremetal=ahci0,gpt1 74B3-8D8F\n"
                   "\tsearch --no-floppy -u --set=root --hint hd0,gpt1 74B3-8D8F\n"
                   "\tlinux /vmlinuz root=UUID=" A_ROOT_UUID " ro\n",
                   "\t  search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 "
                   "--hint-baremetal=ahci0,gpt1 1C2D-3E4F\n"
                   "\tsearch --no-floppy -u --set=root --hint hd0,gpt1 1C2D-3E4F\n"
                   "\tlinux /vmlinuz root=UUID=" B_ROOT_UUID " ro\n",
                   3);
        rewrite_ok("set BOOT_UUID=\"" A_ROOT_UUID "\"\n", "set BOOT_UUID=\"" B_ROOT_UUID "\"\n", 1);
        rewrite_ok("search --label --set=root 'root0'\nsearch.fs_label \"root0\" root\n",
                   "search --label --set=root 'root 1'\nsearch.fs_label \"root 1\" root\n", 2);
        /* Files and unknown values stay; a search with no kind is no identifier. */
        rewrite_ok("search --file --set=root /EFI/debian/grub.cfg\nsearch.fs_uuid " NFS_UUID
                   "\nsearch --set=root 74B3-8D8F\n",
                   "search --file --set=root /EFI/debian/grub.cfg\nsearch.fs_uuid " NFS_UUID
                   "\nsearch --set=root 74B3-8D8F\n",
                   0);
}

/* DESIGN.md §11b L10: every command of a line, and a UUID given through a variable, are
 * swapped; a label through a variable is refused with file, line and the value. */
static void test_grub_commands_and_variables(void **state)
{
        rewrite_ok("insmod fat; search --fs-uuid --set=root 74B3-8D8F\n"
                   "if search --fs-uuid --set=root 74b3-8d8f; then true; fi\n"
                   "menuentry 'x' { search.fs_uuid 74B3-8D8F root ; linux /v root=UUID=" A_ROOT_UUID
                   " ; }\n"
                   "set uuid=74B3-8D8F\nsearch --fs-uuid --set=root $uuid\n"
                   "boot_uuid=\"" A_ROOT_UUID "\"\nsearch -u \"${boot_uuid}\" --set=root\n"
                   "set default=\"0\"; set timeout=5; set x=74B3-8D8F-1\n",
                   "insmod fat; search --fs-uuid --set=root 1C2D-3E4F\n"
                   "if search --fs-uuid --set=root 1c2d-3e4f; then true; fi\n"
                   "menuentry 'x' { search.fs_uuid 1C2D-3E4F root ; linux /v root=UUID=" B_ROOT_UUID
                   " ; }\n"
                   "set uuid=1C2D-3E4F\nsearch --fs-uuid --set=root $uuid\n"
                   "boot_uuid=\"" B_ROOT_UUID "\"\nsearch -u \"${boot_uuid}\" --set=root\n"
                   "set default=\"0\"; set timeout=5; set x=74B3-8D8F-1\n",
                   5);
        {
                _cleanup_free_ char *why = NULL;
                struct swapids_result res = { .text = (char *)"untouched" };
                const char *in = "set l=root0\ninsmod fat; search --label --set=root $l\n";

                assert_int_equal(swapids_rewrite(&map, "grub.cfg", in, strlen(in), &res, &why),
                                 -EINVAL);
                assert_string_equal(why,
                                    "grub.cfg:2: $l: a label GRUB reads from a variable, which "
                                    "swap_ids cannot follow to the filesystem it names (write the "
                                    "label itself): swap_ids cannot copy this line to the other "
                                    "disk");
                assert_string_equal(res.text, "untouched");
        }
}

static void test_grub_label_needs_quotes(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result res = {};
        const char *in = "search --label --set=root root0\n";

        assert_int_equal(swapids_rewrite(&map, "grub.cfg", in, strlen(in), &res, &why), -ENXIO);
        assert_string_equal(why,
                            "grub.cfg:1: the label \"root 1\" of /dev/vdb2 (on /mnt/root1) cannot "
                            "be written here as GRUB reads it: write it in single quotes, or "
                            "rename the label");
}

static void test_bls_entry(void **state)
{
        /* the manual's quoted form, resume= and PARTNROFF; no trailing newline kept so */
        rewrite_ok("title Debian\n"
                   "linux /vmlinuz-6.1.0-13-amd64\n"
                   "options root=\"UUID=" A_ROOT_UUID "\" rw quiet\n"
                   "options root=PARTUUID=" A_ROOT_PART "/PARTNROFF=1 ro\n"
                   "options root=UUID=" A_ROOT_UUID " resume=UUID=" NFS_UUID,
                   "title Debian\n"
                   "linux /vmlinuz-6.1.0-13-amd64\n"
                   "options root=\"UUID=" B_ROOT_UUID "\" rw quiet\n"
                   "options root=PARTUUID=" B_ROOT_PART "/PARTNROFF=1 ro\n"
                   "options root=UUID=" B_ROOT_UUID " resume=UUID=" NFS_UUID,
                   3);
}

static void test_case_kept(void **state)
{
        /* written upper case stays upper case, lower stays lower */
        rewrite_ok("root=UUID=0B3C7F1E-5A55-4A8E-9D0E-1D8A2A1B0A01\n"
                   "UUID=74b3-8d8f /efi vfat\n",
                   "root=UUID=7E9A4C22-6F3D-4B1A-8C44-2F0E3B9C0B02\n"
                   "UUID=1c2d-3e4f /efi vfat\n",
                   2);
}

static void test_word_boundaries(void **state)
{
        /* PARTLABEL= and a longer word ending in UUID= are not ours; a bare UUID neither */
        rewrite_ok("PARTLABEL=root0 /x ext4\n"
                   "rd.luks.xUUID=" A_ROOT_UUID "\n"
                   "# mentions " A_ROOT_UUID " without a tag\n"
                   "UUID= /empty ext4\n",
                   "PARTLABEL=root0 /x ext4\n"
                   "rd.luks.xUUID=" A_ROOT_UUID "\n"
                   "# mentions " A_ROOT_UUID " without a tag\n"
                   "UUID= /empty ext4\n",
                   0);
}

static void test_unchanged_and_empty(void **state)
{
        rewrite_ok("", "", 0);
        rewrite_ok("\n\n", "\n\n", 0);
        rewrite_ok("tmpfs /tmp tmpfs defaults 0 0\n", "tmpfs /tmp tmpfs defaults 0 0\n", 0);
}

static void test_no_counterpart(void **state)
{
        rewrite_error("UUID=" A_ROOT_UUID " / ext4 defaults 0 1\n"
                      "UUID=" A_SWAP_UUID " none swap sw 0 0\n",
                      -ENXIO,
                      "/etc/fstab:2: UUID=" A_SWAP_UUID " names /dev/vda3 on the source disk, "
                      "which has no counterpart on the alternate one");
        rewrite_error("\n\nresume=UUID=" B_SWAP_UUID "\n", -ENXIO,
                      "/etc/fstab:3: UUID=" B_SWAP_UUID " names /dev/vdb3 on the alternate "
                      "disk, which has no counterpart on the source one");
}

static void test_comment_never_fails(void **state)
{
        rewrite_ok("#UUID=" A_SWAP_UUID " none swap sw 0 0\n"
                   "  # was UUID=" A_ROOT_UUID "\n",
                   "#UUID=" A_SWAP_UUID " none swap sw 0 0\n"
                   "  # was UUID=" B_ROOT_UUID "\n",
                   1);
}

static void test_nul_byte(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result res = {};

        assert_int_equal(swapids_rewrite(&map, "/etc/fstab", "UUID=\0x", 7, &res, &why), -EBADMSG);
        assert_string_equal(why, "/etc/fstab holds a NUL byte: not a text file");
}

static void test_changes_listed(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result res = {};
        const char *in = "a\nUUID=" A_ROOT_UUID " /\nb\nLABEL=root0 /x\n";

        assert_int_equal(swapids_rewrite(&map, "f", in, strlen(in), &res, &why), 0);
        assert_int_equal(res.n_changes, 2);
        assert_int_equal(res.changes[0].line, 2);
        assert_string_equal(res.changes[0].before, "UUID=" A_ROOT_UUID " /");
        assert_string_equal(res.changes[0].after, "UUID=" B_ROOT_UUID " /");
        assert_int_equal(res.changes[1].line, 4);
        assert_string_equal(res.changes[1].after, "LABEL=root\\0401 /x");
        swapids_result_done(&res);
}

/* Swapping twice gives the original back: disk B's copy synced back onto A is A's file. */
static void test_round_trip(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct swapids_result once = {}, twice = {};
        const char *in = "UUID=" A_ROOT_UUID " / ext4 defaults 0 1\n"
                         "UUID=" B_ROOT_UUID " /mnt/root1 ext4 nofail 0 2\n"
                         "LABEL=root0 /x ext4\n"
                         "PARTUUID=" B_ROOT_PART " /y ext4\n";

        assert_int_equal(swapids_rewrite(&map, "f", in, strlen(in), &once, &why), 0);
        assert_int_equal(swapids_rewrite(&map, "f", once.text, once.size, &twice, &why), 0);
        assert_string_equal(twice.text, in);
        swapids_result_done(&once);
        swapids_result_done(&twice);
}

/* W8: every form a kernel command line (the kernel, systemd, dracut, mkinitcpio's encrypt
 * hook), crypttab, /etc/kernel/cmdline and initramfs-tools' conf.d/resume write an identifier
 * in: the source disk's (left) becomes the alternate's (right), and back (W3). */
static const struct {
        const char *a, *b;
} forms[] = {
        { "root=UUID=" A_ROOT_UUID, "root=UUID=" B_ROOT_UUID },
        { "root=PARTUUID=" A_ROOT_PART, "root=PARTUUID=" B_ROOT_PART },
        { "root=LABEL=root0", "root=LABEL=root\\0401" },
        { "root=PARTLABEL=linux-a", "root=PARTLABEL=linux\\040b" },
        { "root=/dev/disk/by-uuid/" A_ROOT_UUID, "root=/dev/disk/by-uuid/" B_ROOT_UUID },
        { "root=/dev/disk/by-partuuid/" A_ROOT_PART, "root=/dev/disk/by-partuuid/" B_ROOT_PART },
        { "root=/dev/disk/by-label/root0", "root=/dev/disk/by-label/root\\x201" },
        { "root=/dev/disk/by-partlabel/linux-a", "root=/dev/disk/by-partlabel/linux\\x20b" },
        { "cryptdevice=UUID=" A_LUKS ":cryptroot", "cryptdevice=UUID=" B_LUKS ":cryptroot" },
        { "cryptdevice=UUID=" A_LUKS ":cryptroot:allow-discards root=/dev/mapper/cryptroot",
          "cryptdevice=UUID=" B_LUKS ":cryptroot:allow-discards root=/dev/mapper/cryptroot" },
        { "cryptdevice=/dev/disk/by-uuid/" A_LUKS ":root",
          "cryptdevice=/dev/disk/by-uuid/" B_LUKS ":root" },
        { "cryptdevice=PARTUUID=" A_ROOT_PART ":root",
          "cryptdevice=PARTUUID=" B_ROOT_PART ":root" },
        { "cryptdevice=LABEL=root0:cr", "cryptdevice=LABEL=root\\0401:cr" },
        { "cryptkey=UUID=" A_ROOT_UUID ":ext4:/key", "cryptkey=UUID=" B_ROOT_UUID ":ext4:/key" },
        { "rd.luks.uuid=" A_LUKS, "rd.luks.uuid=" B_LUKS },
        { "rd.luks.uuid=luks-" A_LUKS, "rd.luks.uuid=luks-" B_LUKS },
        { "luks.uuid=" A_LUKS, "luks.uuid=" B_LUKS },
        { "rd.luks.name=" A_LUKS "=cryptroot root=/dev/mapper/cryptroot",
          "rd.luks.name=" B_LUKS "=cryptroot root=/dev/mapper/cryptroot" },
        { "luks.name=" A_LUKS "=cryptroot", "luks.name=" B_LUKS "=cryptroot" },
        { "rd.luks.options=" A_LUKS "=discard", "rd.luks.options=" B_LUKS "=discard" },
        { "luks.options=" A_LUKS "=discard", "luks.options=" B_LUKS "=discard" },
        { "rd.luks.key=" A_LUKS "=/key.bin:UUID=" A_ROOT_UUID,
          "rd.luks.key=" B_LUKS "=/key.bin:UUID=" B_ROOT_UUID },
        { "root=/dev/mapper/luks-" A_LUKS " rd.luks.uuid=" A_LUKS " rw",
          "root=/dev/mapper/luks-" B_LUKS " rd.luks.uuid=" B_LUKS " rw" },
        { "resume=UUID=" A_ROOT_UUID " resume_offset=34816",
          "resume=UUID=" B_ROOT_UUID " resume_offset=34816" },
        { "resume=PARTUUID=" A_ROOT_PART, "resume=PARTUUID=" B_ROOT_PART },
        { "resume=/dev/mapper/luks-" A_LUKS, "resume=/dev/mapper/luks-" B_LUKS },
        { "systemd.mount-extra=UUID=" A_ROOT_UUID ":/srv:ext4:defaults",
          "systemd.mount-extra=UUID=" B_ROOT_UUID ":/srv:ext4:defaults" },
        { "systemd.mount-extra=LABEL=root0:/srv", "systemd.mount-extra=LABEL=root\\0401:/srv" },
        { "systemd.swap-extra=UUID=" A_ROOT_UUID ":pri=1",
          "systemd.swap-extra=UUID=" B_ROOT_UUID ":pri=1" },
        /* md arrays span both disks: their UUID is the same on each, so it stays */
        { "rd.md.uuid=" MD_COLONS " root=UUID=" A_ROOT_UUID,
          "rd.md.uuid=" MD_COLONS " root=UUID=" B_ROOT_UUID },
        /* a vfat serial without its dash keeps its layout */
        { "UUID=74B38D8F /efi vfat", "UUID=1C2D3E4F /efi vfat" },
        /* initramfs-tools' conf.d/resume */
        { "RESUME=UUID=" A_ROOT_UUID, "RESUME=UUID=" B_ROOT_UUID },
        /* crypttab: name, device (UUID=, PARTUUID=, path), key file, options */
        { "cryptroot UUID=" A_LUKS " none luks,discard",
          "cryptroot UUID=" B_LUKS " none luks,discard" },
        { "cryptroot PARTUUID=" A_ROOT_PART " none luks",
          "cryptroot PARTUUID=" B_ROOT_PART " none luks" },
        { "cryptroot /dev/disk/by-uuid/" A_LUKS " /etc/keys/root.key luks",
          "cryptroot /dev/disk/by-uuid/" B_LUKS " /etc/keys/root.key luks" },
        { "luks-" A_LUKS " UUID=" A_LUKS " none luks,discard",
          "luks-" B_LUKS " UUID=" B_LUKS " none luks,discard" },
        { "cryptswap /dev/disk/by-partuuid/" A_ROOT_PART
          " /dev/urandom swap,cipher=aes-xts-plain64",
          "cryptswap /dev/disk/by-partuuid/" B_ROOT_PART
          " /dev/urandom swap,cipher=aes-xts-plain64" },
        /* not identifiers: kept */
        { "root=/dev/mapper/vg-root rd.lvm.lv=vg/root",
          "root=/dev/mapper/vg-root rd.lvm.lv=vg/root" },
        { "root=/dev/md0 rd.luks.options=discard", "root=/dev/md0 rd.luks.options=discard" },
        { "/dev/md/root / ext4 defaults 0 1", "/dev/md/root / ext4 defaults 0 1" },
        { "/dev/zram0 none swap sw 0 0", "/dev/zram0 none swap sw 0 0" },
        { "cryptroot luks-root none", "cryptroot luks-root none" },
        { "/srv/dev/sda1 /x none bind 0 0", "/srv/dev/sda1 /x none bind 0 0" },
        { "# root=/dev/sda1 by-id/x ID=y", "# root=/dev/sda1 by-id/x ID=y" },
};

static void test_form_table(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
                _cleanup_free_ char *why = NULL;
                struct swapids_result res = {}, back = {};
                int r = swapids_rewrite(&map, "cmdline", forms[i].a, strlen(forms[i].a), &res,
                                        &why);

                if (r < 0)
                        fail_msg("%s: rewrite failed (%d): %s", forms[i].a, r, strna(why));
                if (!streq(res.text, forms[i].b))
                        fail_msg("%s\ngave\n%s\nexpected\n%s", forms[i].a, res.text, forms[i].b);
                r = swapids_rewrite(&map, "cmdline", res.text, res.size, &back, &why);
                if (r < 0 || !streq(back.text, forms[i].a))
                        fail_msg("%s: not its own inverse: %s", forms[i].a,
                                 r < 0 ? strna(why) : back.text);
                swapids_result_done(&res);
                swapids_result_done(&back);
        }
}

/* W8: a form naming a device that swap_ids cannot pair is an error naming file, line and form;
 * so is an identifier that is not one. */
static const struct {
        const char *in, *why;
} bad_forms[] = {
        { "root=/dev/sda2 ro", "/etc/fstab:1: /dev/sda2: a disk named by its kernel name" },
        { "x\n/dev/nvme0n1p2 / ext4 defaults 0 1",
          "/etc/fstab:2: /dev/nvme0n1p2: a disk named by its kernel name" },
        { "RESUME=/dev/vda3", "/etc/fstab:1: /dev/vda3: a disk named by its kernel name" },
        { "cryptroot /dev/xvdb2 none luks", "/etc/fstab:1: /dev/xvdb2: a disk named" },
        { "resume=/dev/mmcblk0p3", "/etc/fstab:1: /dev/mmcblk0p3: a disk named" },
        { "root=/dev/dm-1", "/etc/fstab:1: /dev/dm-1: a disk named" },
        { "root=/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part2",
          "/etc/fstab:1: /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part2: a device named by "
          "hardware or by place" },
        { "cryptdevice=/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part3:root",
          "/etc/fstab:1: /dev/disk/by-path/pci-0000: a device named by hardware or by place" },
        { "/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1 /x ext4 defaults",
          "/etc/fstab:1: /dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1: a device named by "
          "hardware or by place" },
        { "PARTUUID=" A_ROOT_PART "x / ext4",
          "/etc/fstab:1: PARTUUID=" A_ROOT_PART "x: not a UUID" },
        { "ID=ata-QEMU_HARDDISK_QM00001 /x ext4",
          "/etc/fstab:1: ID=ata-QEMU_HARDDISK_QM00001: a device named by its hardware ID" },
        { "UUID=my-root / ext4", "/etc/fstab:1: UUID=my-root: not a UUID" },
        { "UUID=\"0b3c 7f1e\" / ext4", "/etc/fstab:1: UUID=\"0b3c 7f1e\": not a UUID" },
        { "rd.luks.uuid=cryptroot", "/etc/fstab:1: rd.luks.uuid=cryptroot: not a LUKS UUID" },
        { "rd.md.uuid=array0", "/etc/fstab:1: rd.md.uuid=array0: not an md array UUID" },
        { "cryptdevice=UUID=" A_SWAP_UUID ":swap",
          "/etc/fstab:1: UUID=" A_SWAP_UUID " names /dev/vda3" },
};

static void test_bad_forms(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(bad_forms); i++) {
                _cleanup_free_ char *why = NULL;
                struct swapids_result res = { .text = (char *)"untouched" };
                int r = swapids_rewrite(&map, "/etc/fstab", bad_forms[i].in,
                                        strlen(bad_forms[i].in), &res, &why);

                if (r >= 0 || !why || !strstr(why, bad_forms[i].why))
                        fail_msg("%s: %d '%s', expected an error with '%s'", bad_forms[i].in, r,
                                 strna(why), bad_forms[i].why);
                assert_string_equal(res.text, "untouched");
        }
}

/* --status: which root a copy names (root= on command lines, fstab's "/" line). */
static void test_find_roots(void **state)
{
        const char *entry = "title x\noptions quiet root=\"UUID=" B_ROOT_UUID "\" rw\n";
        const char *bad = "title x\n# root=UUID=" B_ROOT_UUID "\noptions root=UUID=" A_ROOT_UUID
                          " resume=UUID=" B_ROOT_UUID "\n";
        const char *fstab = "UUID=" B_ROOT_UUID " /mnt/root1 ext4 nofail 0 2\n"
                            "  PARTUUID=" A_ROOT_PART " / ext4 defaults 0 1\n";
        const struct swapids_entry *e = NULL;
        unsigned line = 0;

        /* disk B's entry names B's root: none of the source disk's */
        assert_int_equal(swapids_find_roots(&map, entry, strlen(entry), true, &line, &e), 0);
        assert_int_equal(swapids_find_roots(&map, entry, strlen(entry), false, &line, &e), 1);
        assert_int_equal(line, 2);
        assert_string_equal(e->value, B_ROOT_UUID);
        /* a copy naming A's root on line 3 (the comment and resume= do not count) */
        assert_int_equal(swapids_find_roots(&map, bad, strlen(bad), true, &line, &e), 1);
        assert_int_equal(line, 3);
        assert_string_equal(e->value, A_ROOT_UUID);
        assert_int_equal(swapids_find_roots(&map, bad, strlen(bad), false, &line, &e), 0);
        /* fstab: only the line that mounts "/" */
        assert_int_equal(swapids_find_roots(&map, fstab, strlen(fstab), true, &line, &e), 1);
        assert_int_equal(line, 2);
        assert_string_equal(e->value, A_ROOT_PART);
        assert_int_equal(swapids_find_roots(&map, fstab, strlen(fstab), false, &line, &e), 0);
        /* root=/dev/mapper/luks-UUID names the container it opens */
        {
                const char *luks =
                        "options rd.luks.uuid=" A_LUKS " root=/dev/mapper/luks-" A_LUKS "\n";

                assert_int_equal(swapids_find_roots(&map, luks, strlen(luks), true, &line, &e), 1);
                assert_string_equal(e->value, A_LUKS);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_map_lookup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_conflict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_both_directions_conflict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_map_format, setup, teardown),
                cmocka_unit_test_setup_teardown(test_place_pairs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fstab, setup, teardown),
                cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_grub_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_grub_label_needs_quotes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_grub_commands_and_variables, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bls_entry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_case_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_word_boundaries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unchanged_and_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_counterpart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_comment_never_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
                cmocka_unit_test_setup_teardown(test_changes_listed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find_roots, setup, teardown),
                cmocka_unit_test_setup_teardown(test_form_table, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_forms, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
