/* SPDX-License-Identifier: MIT */
/*
 * bootentry.c and efiwrite.c (DESIGN.md §11): what we write into NVRAM is byte for byte what
 * the independent encoder of tests/tools (efi-encode.h, via mkefivar) builds; efi_write_var's
 * attributes word, replacement and immutable flag; reading Boot#### and BootOrder; which entry
 * starts which ESP; and --fix-boot-entries on a model built by hand over temporary ESP trees, a
 * fake sysfs and an efivars directory (DUAL_ROOT_EFIVARS, DUAL_ROOT_SYSFS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MKEFIVAR_NO_MAIN
#include "../tools/mkefivar.c"
#include "env-fixture.h"
#include "../tools/loaderimage.h"

#include "bootentry.h"
#include "efiwrite.h"
#include "efivars.h"
#include "esp.h"
#include "util/fileio.h"
#include "util/strv.h"

#define PU0 "6a1e0c5b-0000-4a4a-8000-00000000e0e0"
#define PU1 "6a1e0c5b-1111-4a4a-8000-00000000e1e1"
#define GUID "-" EFI_GLOBAL_GUID

struct env {
        char *base, *efivars, *sys, *esp0, *esp1;
};

/* A plausible EFI program (tests/tools/loaderimage.h) of 8 KiB. */
static void put_efi(const char *root, const char *rel)
{
        _cleanup_free_ char *p = join(root, rel);
        uint8_t b[8192] = {};
        FILE *f;

        assert_int_equal(loaderimage_make("efi", b, sizeof(b)), 0);
        put(root, rel, "");
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, sizeof(b), f), sizeof(b));
        assert_int_equal(fclose(f), 0);
}

/* A fake sysfs partition: <sys>/dev/block/MAJ:MIN -> devices/virtual/block/DISK/PART, holding
 * partition, start and size; DISK/queue/logical_block_size when lbs is not NULL. */
static void fake_partition(const char *sys, dev_t dev, const char *disk, const char *part,
                           const char *number, const char *start, const char *size, const char *lbs)
{
        _cleanup_free_ char *d = NULL, *f = NULL, *link = NULL, *target = NULL;

        assert_true(asprintf(&d, "devices/virtual/block/%s/%s", disk, part) >= 0);
        f = join(d, "partition");
        put(sys, f, number);
        free(f);
        f = join(d, "start");
        put(sys, f, start);
        free(f);
        f = join(d, "size");
        put(sys, f, size);
        free(f);
        f = NULL;
        if (lbs) {
                assert_true(asprintf(&f, "devices/virtual/block/%s/queue/logical_block_size",
                                     disk) >= 0);
                put(sys, f, lbs);
        }
        assert_true(asprintf(&link, "%s/dev/block/%u:%u", sys, major(dev), minor(dev)) >= 0);
        put(sys, "dev/block/.keep", "");
        assert_true(asprintf(&target, "../../%s", d) >= 0);
        assert_int_equal(symlink(target, link), 0);
}

static int setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));

        assert_non_null(e);
        e->base = strdup("/tmp/test-bootentry.XXXXXX");
        assert_non_null(mkdtemp(e->base));
        e->efivars = join(e->base, "efivars");
        e->sys = join(e->base, "sys");
        e->esp0 = join(e->base, "efi0");
        e->esp1 = join(e->base, "efi1");
        assert_int_equal(mkdir(e->efivars, 0755), 0);
        assert_int_equal(mkdir(e->sys, 0755), 0);
        assert_int_equal(mkdir(e->esp0, 0755), 0);
        assert_int_equal(mkdir(e->esp1, 0755), 0);
        assert_int_equal(setenv("DUAL_ROOT_EFIVARS", e->efivars, 1), 0);
        assert_int_equal(setenv("DUAL_ROOT_SYSFS", e->sys, 1), 0);
        *state = e;
        return 0;
}

static int teardown(void **state)
{
        struct env *e = *state;

        nftw(e->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(e->base);
        free(e->efivars);
        free(e->sys);
        free(e->esp0);
        free(e->esp1);
        free(e);
        unsetenv("DUAL_ROOT_EFIVARS");
        unsetenv("DUAL_ROOT_SYSFS");
        return 0;
}

static void read_file(const char *dir, const char *name, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *p = join(dir, name);

        if (read_full_file(p, 1 << 16, ret, ret_size) < 0)
                fail_msg("cannot read %s", p);
}

/* ---- encoding ---- */

static void test_guid_from_string_is_mixed_endian(void **state)
{
        static const uint8_t want[16] = { 0x5b, 0x0c, 0x1e, 0x6a, 0x00, 0x00, 0x4a, 0x4a,
                                          0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0xe0 };
        uint8_t g[16];

        assert_int_equal(efi_guid_from_string(PU0, g), 0);
        assert_memory_equal(g, want, 16);
        assert_int_equal(efi_guid_from_string("6A1E0C5B-0000-4A4A-8000-00000000E0E0", g), 0);
        assert_memory_equal(g, want, 16);
        assert_int_equal(efi_guid_from_string("6a1e0c5b-0000-4a4a-8000-00000000e0e", g), -EINVAL);
        assert_int_equal(efi_guid_from_string("6a1e0c5b+0000-4a4a-8000-00000000e0e0", g), -EINVAL);
        assert_int_equal(efi_guid_from_string("6a1e0c5b-0000-4a4a-8000-00000000e0eg", g), -EINVAL);
}

static void test_encoded_entry_equals_the_independent_encoder(void **state)
{
        struct env *e = *state;
        _cleanup_free_ uint8_t *path = NULL, *option = NULL;
        _cleanup_free_ char *theirs = NULL;
        size_t path_size, option_size, their_size;

        mkefivar(e->efivars, "bootentry", "0005", "dual-root-tool /efi1 (vdb)", "--hd", "2", PU1,
                 "--start", "0x4b000", "--size", "0x25800", NULL);
        read_file(e->efivars, "Boot0005" GUID, &theirs, &their_size);
        assert_int_equal(efi_encode_hd_file_path(2, 0x4b000, 0x25800, PU1, EFI_SDBOOT_PATH, &path,
                                                 &path_size),
                         0);
        assert_int_equal(efi_encode_load_option(LOAD_OPTION_ACTIVE, "dual-root-tool /efi1 (vdb)",
                                                path, path_size, &option, &option_size),
                         0);
        assert_int_equal(their_size, 4 + option_size);
        assert_memory_equal(theirs + 4, option, option_size);
}

static void test_encoded_path_reads_back(void **state)
{
        _cleanup_free_ uint8_t *path = NULL;
        _cleanup_free_ char *text = NULL, *file = NULL;
        char guid[GUID_STRING_MAX];
        size_t size;

        assert_int_equal(
                efi_encode_hd_file_path(1, 0x800, 0x100000, PU0, EFI_FALLBACK_PATH, &path, &size),
                0);
        assert_int_equal(efi_devpath_find_gpt_partuuid(path, size, guid, NULL), 0);
        assert_string_equal(guid, PU0);
        assert_int_equal(efi_devpath_find_file(path, size, &file, NULL), 0);
        assert_string_equal(file, EFI_FALLBACK_PATH);
        assert_int_equal(efi_devpath_to_string(path, size, &text), 0);
        assert_string_equal(text,
                            "HD(1,GPT," PU0 ",0x800,0x100000)/File(\\EFI\\BOOT\\BOOTX64.EFI)");
}

static void test_encoding_refuses_what_it_cannot_write(void **state)
{
        uint8_t *p = NULL;
        size_t n;

        assert_int_equal(efi_encode_hd_file_path(1, 0, 1, "not-a-guid", "\\x.efi", &p, &n),
                         -EINVAL);
        assert_int_equal(efi_encode_hd_file_path(1, 0, 1, PU0, "", &p, &n), -EINVAL);
        assert_int_equal(efi_encode_hd_file_path(1, 0, 1, PU0, "\\caf\xc3\xa9.efi", &p, &n),
                         -EINVAL);
        assert_int_equal(efi_encode_load_option(1, "t\xc3\xa9st", (const uint8_t *)"", 0, &p, &n),
                         -EINVAL);
        assert_null(p);
}

/* ---- writing efivarfs files ---- */

static void test_write_creates_with_the_attributes_word(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *got = NULL;
        size_t n;

        assert_int_equal(efi_write_var(e->efivars, "BootOrder", EFI_GLOBAL_GUID, EFI_NV_BS_RT,
                                       "\x01\x00\x02\x00", 4, NULL),
                         0);
        read_file(e->efivars, "BootOrder" GUID, &got, &n);
        assert_int_equal(n, 8);
        assert_memory_equal(got, "\x07\x00\x00\x00\x01\x00\x02\x00", 8);
}

static void test_write_replaces_a_longer_variable(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *got = NULL;
        size_t n;

        mkefivar(e->efivars, "bootorder", "1,2,3,4", NULL);
        assert_int_equal(efi_write_var(e->efivars, "BootOrder", EFI_GLOBAL_GUID, EFI_NV_BS_RT,
                                       "\x09\x00", 2, NULL),
                         0);
        read_file(e->efivars, "BootOrder" GUID, &got, &n);
        assert_int_equal(n, 6);
        assert_memory_equal(got, "\x07\x00\x00\x00\x09\x00", 6);
}

static void test_write_clears_and_restores_the_immutable_flag(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *p = join(e->efivars, "BootOrder" GUID), *got = NULL;
        _cleanup_close_ int fd = -1;
        unsigned flags = FS_IMMUTABLE_FL;
        size_t n;

        mkefivar(e->efivars, "bootorder", "1", NULL);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
                skip(); /* not root, or a filesystem without the flag */
        assert_int_equal(efi_write_var(e->efivars, "BootOrder", EFI_GLOBAL_GUID, EFI_NV_BS_RT,
                                       "\x02\x00", 2, NULL),
                         0);
        flags = 0;
        assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
        assert_true(flags & FS_IMMUTABLE_FL);
        flags = 0;
        assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0); /* so teardown can remove it */
        read_file(e->efivars, "BootOrder" GUID, &got, &n);
        assert_memory_equal(got, "\x07\x00\x00\x00\x02\x00", 6);
}

static void test_write_names_the_directory_it_cannot_use(void **state)
{
        _cleanup_free_ char *why = NULL;

        assert_int_equal(efi_write_var("/nonexistent/efivars", "BootOrder", EFI_GLOBAL_GUID,
                                       EFI_NV_BS_RT, "", 0, &why),
                         -ENOENT);
        assert_string_equal(why, "cannot write EFI variables in /nonexistent/efivars: No such file "
                                 "or directory");
}

/* ---- reading NVRAM, evaluating an ESP ---- */

static void test_read_nvram_lists_entries_and_order(void **state)
{
        struct env *e = *state;
        struct boot_nvram nv;

        mkefivar(e->efivars, "bootentry", "0003", "Disk 1", "--hd", "1", PU1, "--full-sata", NULL);
        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, NULL);
        mkefivar(e->efivars, "bootentry", "000A", "UEFI Misc Device", "--whole-disk", NULL);
        mkefivar(e->efivars, "raw", "Boot0002" GUID, "07000000 0100", NULL);
        mkefivar(e->efivars, "bootorder", "3,1", NULL);
        mkefivar(e->efivars, "bootcurrent", "1", NULL);
        assert_int_equal(bootentry_read_nvram(e->efivars, &nv, NULL), 0);
        assert_int_equal(nv.n, 4);
        assert_int_equal(nv.options[0].number, 1);
        assert_string_equal(nv.options[0].partuuid, PU0);
        assert_string_equal(nv.options[0].file, EFI_SDBOOT_PATH);
        assert_int_equal(nv.options[0].order, 1);
        assert_int_equal(nv.options[1].number, 2);
        assert_non_null(nv.options[1].error);
        assert_int_equal(nv.options[2].number, 3);
        assert_string_equal(nv.options[2].partuuid, PU1);
        assert_int_equal(nv.options[2].order, 0);
        assert_int_equal(nv.options[3].number, 10);
        assert_null(nv.options[3].partuuid);
        assert_int_equal(nv.options[3].order, -1);
        assert_true(nv.have_order);
        assert_int_equal(nv.n_order, 2);
        boot_nvram_done(&nv);
}

static void test_read_nvram_flags_a_malformed_boot_order(void **state)
{
        struct env *e = *state;
        struct boot_nvram nv;

        mkefivar(e->efivars, "raw", "BootOrder" GUID, "07000000 010002", NULL);
        assert_int_equal(bootentry_read_nvram(e->efivars, &nv, NULL), 0);
        assert_string_equal(nv.order_error, "BootOrder has an odd length (3 bytes)");
        boot_nvram_done(&nv);
}

static enum bootentry_reach reach_of(struct env *e, const char *esp, const char *partuuid,
                                     char **ret_broken)
{
        _cleanup_close_ int fd = open(esp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct bootentry_eval ev;
        struct boot_nvram nv;
        enum bootentry_reach r;

        assert_true(fd >= 0);
        assert_int_equal(bootentry_read_nvram(e->efivars, &nv, NULL), 0);
        assert_int_equal(bootentry_evaluate(&nv, partuuid, fd, &ev), 0);
        r = ev.reach;
        if (ret_broken)
                *ret_broken = ev.broken ? strv_join(ev.broken, "; ") : NULL;
        bootentry_eval_done(&ev);
        boot_nvram_done(&nv);
        return r;
}

static void test_evaluate_each_level(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *broken = NULL;

        /* nothing at all */
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_NONE);
        /* the fallback file only */
        put_efi(e->esp1, "EFI/BOOT/BOOTX64.EFI");
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_FALLBACK_ONLY);
        /* an entry naming a file the ESP lacks: still only the fallback, and it is named */
        mkefivar(e->efivars, "bootentry", "0002", "Disk 1", "--hd", "1", PU1, NULL);
        assert_int_equal(reach_of(e, e->esp1, PU1, &broken), REACH_FALLBACK_ONLY);
        assert_string_equal(broken, "Boot0002 \"Disk 1\" names a file this ESP does not hold: "
                                    "\\EFI\\systemd\\systemd-bootx64.efi");
        /* the file there: an entry, but not in BootOrder */
        put_efi(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_NOT_IN_ORDER);
        mkefivar(e->efivars, "bootorder", "1,2", NULL);
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_ENTRY);
        /* an entry for another ESP does not count for this one */
        assert_int_equal(reach_of(e, e->esp0, PU0, NULL), REACH_NONE);
}

/* DESIGN.md §11 S8: a loader the firmware would start must be a program it can start. */
static void test_evaluate_judges_the_loaders(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *broken = NULL, *sd = join(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        _cleanup_free_ char *fb = join(e->esp1, "EFI/BOOT/BOOTX64.EFI");

        put_efi(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        mkefivar(e->efivars, "bootentry", "0002", "Disk 1", "--hd", "1", PU1, NULL);
        mkefivar(e->efivars, "bootorder", "2", NULL);
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_ENTRY);
        assert_int_equal(truncate(sd, 4096), 0);
        assert_int_equal(reach_of(e, e->esp1, PU1, &broken), REACH_NONE);
        assert_string_equal(broken,
                            "Boot0002 \"Disk 1\" starts \\EFI\\systemd\\systemd-bootx64.efi, "
                            "which is not a usable EFI program: truncated: the PE section .text "
                            "ends at byte 7680, the file has 4096");
        /* an empty fallback is no fallback */
        put(e->esp1, "EFI/BOOT/BOOTX64.EFI", "");
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_NONE);
        put_efi(e->esp1, "EFI/BOOT/BOOTX64.EFI");
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_FALLBACK_ONLY);
        assert_int_equal(truncate(fb, 8191), 0);
        assert_int_equal(reach_of(e, e->esp1, PU1, NULL), REACH_NONE);
}

/* DESIGN.md §11b L8: what the start file leads to. */
static void start_of(const char *esp, const char *file, struct boot_start *ret)
{
        _cleanup_close_ int fd = open(esp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(bootentry_start(fd, "/efi1", file, ret), 0);
}

static void test_start_follows_the_entrys_file(void **state)
{
        struct env *e = *state;
        struct boot_start b = {};

        put_efi(e->esp1, "EFI/debian/shimx64.efi");
        put_efi(e->esp1, "EFI/debian/grubx64.efi");
        put(e->esp1, "EFI/debian/grub.cfg", "configfile /grub/grub.cfg\n");
        put_efi(e->esp1, "EFI/refind/refind_x64.efi");
        put(e->esp1, "EFI/refind/refind.conf", "timeout 5\n");
        put_efi(e->esp1, "EFI/systemd/systemd-bootx64.efi");

        start_of(e->esp1, "\\EFI\\debian\\shimx64.efi", &b);
        assert_int_equal(b.kind, START_GRUB);
        assert_string_equal(b.config, "EFI/debian/grub.cfg");
        assert_string_equal(b.shim, "EFI/debian/shimx64.efi");
        assert_null(b.critical);
        boot_start_done(&b);
        start_of(e->esp1, "\\EFI\\DEBIAN\\GRUBX64.EFI", &b);
        assert_int_equal(b.kind, START_GRUB);
        assert_null(b.shim);
        boot_start_done(&b);
        start_of(e->esp1, "\\EFI\\refind\\refind_x64.efi", &b);
        assert_int_equal(b.kind, START_REFIND);
        assert_string_equal(b.config, "EFI/refind/refind.conf");
        boot_start_done(&b);
        start_of(e->esp1, "\\EFI\\systemd\\systemd-bootx64.efi", &b);
        assert_int_equal(b.kind, START_UNKNOWN);
        assert_null(b.config);
        boot_start_done(&b);

        /* The fallback: shim with GRUB beside it, no fb: shim's second stage in EFI/BOOT. */
        put_efi(e->esp1, "EFI/BOOT/BOOTX64.EFI");
        put_efi(e->esp1, "EFI/BOOT/grubx64.efi");
        put(e->esp1, "EFI/BOOT/grub.cfg", "configfile /grub/grub.cfg\n");
        start_of(e->esp1, EFI_FALLBACK_PATH, &b);
        assert_int_equal(b.kind, START_GRUB);
        assert_string_equal(b.config, "EFI/BOOT/grub.cfg");
        assert_string_equal(b.shim, "EFI/BOOT/BOOTX64.EFI");
        boot_start_done(&b);

        /* With fb beside it: the first CSV (by directory name) names the loader. */
        put_efi(e->esp1, "EFI/BOOT/fbx64.efi");
        start_of(e->esp1, EFI_FALLBACK_PATH, &b);
        assert_int_equal(b.kind, START_UNKNOWN);
        assert_non_null(b.critical);
        assert_non_null(strstr(b.critical, "no EFI/<vendor>/BOOTX64.CSV"));
        boot_start_done(&b);
        {
                /* "refind_x64.efi,rEFInd\n" in UCS-2 with its byte order mark */
                const char *t = "refind_x64.efi,rEFInd\n";
                _cleanup_free_ char *p = join(e->esp1, "EFI/refind/BOOTX64.CSV");
                FILE *f = fopen(p, "we");

                assert_non_null(f);
                fputc(0xff, f);
                fputc(0xfe, f);
                for (const char *c = t; *c; c++) {
                        fputc(*c, f);
                        fputc(0, f);
                }
                assert_int_equal(fclose(f), 0);
        }
        start_of(e->esp1, EFI_FALLBACK_PATH, &b);
        assert_null(b.critical);
        assert_int_equal(b.kind, START_REFIND);
        assert_string_equal(b.config, "EFI/refind/refind.conf");
        assert_int_equal(strv_length(b.links), 2);
        assert_string_equal(b.links[1], "/efi1/EFI/refind/BOOTX64.CSV:1: the fallback creates the "
                                        "entry \"rEFInd\" for \\EFI\\refind\\refind_x64.efi");
        boot_start_done(&b);
        /* A CSV of a directory before it by name wins; its file missing is the finding. */
        {
                _cleanup_free_ char *p = join(e->esp1, "EFI/debian/BOOT.CSV");
                FILE *f = fopen(p, "we");

                assert_non_null(f);
                fwrite("\xff\xfeg\0o\0n\0e\0,\0x\0", 1, 14, f);
                assert_int_equal(fclose(f), 0);
        }
        start_of(e->esp1, EFI_FALLBACK_PATH, &b);
        assert_string_equal(b.critical, "/efi1/EFI/debian/BOOT.CSV:1 names gone, which /efi1 "
                                        "lacks: shim's fallback creates an entry for a file that "
                                        "is not there");
        boot_start_done(&b);
}

static void test_partition_from_sysfs(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *why = NULL;
        struct bootentry_partition p;

        fake_partition(e->sys, makedev(252, 17), "vdb", "vdb1", "1\n", "2048\n", "307200\n", NULL);
        fake_partition(e->sys, makedev(259, 1), "nvme0n1", "nvme0n1p2", "2\n", "4096\n", "8192\n",
                       "4096\n");
        assert_int_equal(bootentry_partition_of(e->sys, makedev(252, 17), &p, &why), 0);
        assert_int_equal(p.number, 1);
        assert_int_equal(p.start, 2048);
        assert_int_equal(p.size, 307200);
        assert_string_equal(p.disk, "vdb");
        free(p.disk);
        /* 4Kn: sysfs counts 512-byte sectors, the Hard Drive node logical blocks */
        assert_int_equal(bootentry_partition_of(e->sys, makedev(259, 1), &p, &why), 0);
        assert_int_equal(p.number, 2);
        assert_int_equal(p.start, 512);
        assert_int_equal(p.size, 1024);
        free(p.disk);
}

static void test_partition_of_a_whole_disk_is_refused(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *why = NULL, *want = NULL;
        struct bootentry_partition p;

        put(e->sys, "devices/virtual/block/loop3/size", "100\n");
        put(e->sys, "dev/block/.keep", "");
        {
                _cleanup_free_ char *link = join(e->sys, "dev/block/7:3");

                assert_int_equal(symlink("../../devices/virtual/block/loop3", link), 0);
        }
        assert_int_equal(bootentry_partition_of(e->sys, makedev(7, 3), &p, &why), -ENOTBLK);
        assert_true(asprintf(&want,
                             "%s/devices/virtual/block/loop3 is not a partition (%s/devices/"
                             "virtual/block/loop3/partition does not exist): a boot entry needs "
                             "the partition's number, start and size",
                             e->sys, e->sys) >= 0);
        assert_string_equal(why, want);
}

/* ---- --fix-boot-entries ---- */

/* Booted /efi0 (PU0, partition 1 of vda), alternate /efi1 (PU1, partition 1 of vdb), each
 * with systemd-boot; Boot0001 for /efi0 in BootOrder. */
static struct esp_model *two_esps(struct env *e)
{
        struct esp_model *m = calloc(1, sizeof(*m));

        assert_non_null(m);
        m->boot_ok = m->device_ok = true;
        m->boot.boot_entry = -1;
        m->booted = (struct esp){ .mount = strdup(e->esp0),
                                  .mounted = true,
                                  .device = strdup("/dev/vda1"),
                                  .devnum = makedev(252, 1),
                                  .partuuid = strdup(PU0) };
        m->alternates = calloc(1, sizeof(struct esp));
        assert_non_null(m->alternates);
        m->alternates[0] = (struct esp){ .mount = strdup(e->esp1),
                                         .mounted = true,
                                         .device = strdup("/dev/vdb1"),
                                         .devnum = makedev(252, 17),
                                         .partuuid = strdup(PU1) };
        m->n_alternates = 1;
        fake_partition(e->sys, makedev(252, 1), "vda", "vda1", "1\n", "2048\n", "307200\n", NULL);
        fake_partition(e->sys, makedev(252, 17), "vdb", "vdb1", "1\n", "2048\n", "307200\n", NULL);
        put_efi(e->esp0, "EFI/systemd/systemd-bootx64.efi");
        put_efi(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, "--start",
                 "0x800", "--size", "0x4b000", NULL);
        mkefivar(e->efivars, "bootorder", "1", NULL);
        return m;
}

/* Runs bootentry_fix, its output into *ret_out. */
static int fix(const struct esp_model *m, bool test, char **ret_out, char **why)
{
        size_t size;
        FILE *f = open_memstream(ret_out, &size);
        int r;

        assert_non_null(f);
        r = bootentry_fix(m, NULL, test, f, why);
        assert_int_equal(fclose(f), 0);
        return r;
}

/* DESIGN.md §11 E3: a new entry goes right after the last entry starting a disk's loader, before
 * what the firmware falls back to last (OVMF's shell, which never returns). */
static void test_fix_adds_the_entry_before_the_firmwares_own(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *order = NULL;
        size_t n;

        mkefivar(e->efivars, "bootentry", "0005", "EFI Internal Shell", "--whole-disk", "--file",
                 "", NULL);
        mkefivar(e->efivars, "bootorder", "1,5", NULL);
        assert_int_equal(fix(m, false, &out, &why), 1);
        assert_non_null(strstr(out, "setting BootOrder 0001,0000,0005\n"));
        read_file(e->efivars, "BootOrder" GUID, &order, &n);
        assert_int_equal(n, 10);
        assert_memory_equal(order, "\x07\x00\x00\x00\x01\x00\x00\x00\x05\x00", 10);
        /* nothing starts a disk's loader: at the end */
        free(out);
        out = NULL;
        mkefivar(e->efivars, "bootorder", "5", NULL);
        {
                _cleanup_free_ char *b0 = join(e->efivars, "Boot0000" GUID),
                                    *b1 = join(e->efivars, "Boot0001" GUID);

                assert_int_equal(unlink(b0), 0);
                assert_int_equal(unlink(b1), 0);
        }
        assert_true(fix(m, false, &out, &why) >= 0);
        assert_non_null(strstr(out, "setting BootOrder 0005,"));
        esp_model_free(m);
}

static void test_fix_creates_the_missing_entry_and_appends_it(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *order = NULL, *want = NULL, *theirs = NULL,
                            *ours = NULL;
        size_t n, n2;

        assert_int_equal(fix(m, false, &out, &why), 1);
        assert_true(asprintf(&want,
                             "%s: Boot0001 \"Linux Boot Manager\" starts it "
                             "(\\EFI\\systemd\\systemd-bootx64.efi), in BootOrder: nothing to do\n"
                             "%s: creating Boot0000 \"dual-root-tool %s (vdb)\": HD(1,GPT," PU1
                             ",0x800,0x4B000)/File(\\EFI\\systemd\\systemd-bootx64.efi)\n"
                             "setting BootOrder 0001,0000\n",
                             e->esp0, e->esp1, e->esp1) >= 0);
        assert_string_equal(out, want);
        read_file(e->efivars, "BootOrder" GUID, &order, &n);
        assert_int_equal(n, 8);
        assert_memory_equal(order, "\x07\x00\x00\x00\x01\x00\x00\x00", 8);
        /* the same bytes the independent encoder writes */
        read_file(e->efivars, "Boot0000" GUID, &ours, &n);
        {
                _cleanup_free_ char *label = NULL;

                assert_true(asprintf(&label, "dual-root-tool %s (vdb)", e->esp1) >= 0);
                mkefivar(e->efivars, "bootentry", "0009", label, "--hd", "1", PU1, "--start",
                         "0x800", "--size", "0x4b000", NULL);
        }
        read_file(e->efivars, "Boot0009" GUID, &theirs, &n2);
        assert_int_equal(n, n2);
        assert_memory_equal(ours, theirs, n);
        /* and now there is nothing left to do */
        free(out);
        out = NULL;
        assert_int_equal(fix(m, false, &out, &why), 0);
        esp_model_free(m);
}

static void test_fix_in_test_mode_changes_nothing(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *order = NULL, *p = NULL;
        struct stat st;
        size_t n;

        assert_int_equal(fix(m, true, &out, &why), 1);
        assert_non_null(strstr(out, ": would create Boot0000 \"dual-root-tool "));
        assert_non_null(strstr(out, "would set BootOrder 0001,0000\n"));
        p = join(e->efivars, "Boot0000" GUID);
        assert_int_equal(stat(p, &st), -1);
        read_file(e->efivars, "BootOrder" GUID, &order, &n);
        assert_int_equal(n, 6);
        esp_model_free(m);
}

static void test_fix_never_rewrites_an_entry_it_did_not_create(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *before = NULL, *after = NULL, *order = NULL;
        size_t n1, n2;

        /* someone else's entry for /efi1, naming a file /efi1 lacks */
        mkefivar(e->efivars, "bootentry", "0000", "Other", "--hd", "1", PU1, "--file",
                 "\\EFI\\other\\grubx64.efi", NULL);
        mkefivar(e->efivars, "bootorder", "1,0", NULL);
        read_file(e->efivars, "Boot0000" GUID, &before, &n1);
        assert_int_equal(fix(m, false, &out, &why), 1);
        read_file(e->efivars, "Boot0000" GUID, &after, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(before, after, n1);
        assert_non_null(strstr(out, "creating Boot0002 \"dual-root-tool "));
        read_file(e->efivars, "BootOrder" GUID, &order, &n1);
        assert_int_equal(n1, 10);
        assert_memory_equal(order, "\x07\x00\x00\x00\x01\x00\x00\x00\x02\x00", 10);
        esp_model_free(m);
}

static void test_fix_rewrites_its_own_stale_entry_in_place(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *p = NULL;
        struct stat st;

        mkefivar(e->efivars, "bootentry", "0007", "dual-root-tool /efi1 (old disk)", "--hd", "1",
                 PU1, "--file", "\\EFI\\gone.efi", NULL);
        assert_int_equal(fix(m, false, &out, &why), 1);
        assert_non_null(strstr(out, "rewriting our Boot0007 \"dual-root-tool "));
        assert_non_null(strstr(out, "setting BootOrder 0001,0007\n"));
        p = join(e->efivars, "Boot0000" GUID);
        assert_int_equal(stat(p, &st), -1);
        esp_model_free(m);
}

static void test_fix_appends_a_valid_entry_missing_from_boot_order(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL;

        mkefivar(e->efivars, "bootentry", "0004", "Disk 1", "--hd", "1", PU1, NULL);
        assert_int_equal(fix(m, false, &out, &why), 0);
        assert_non_null(strstr(out, "Boot0004 \"Disk 1\" starts it but is not in BootOrder: "
                                    "adding it\n"));
        assert_non_null(strstr(out, "setting BootOrder 0001,0004\n"));
        esp_model_free(m);
}

static void test_fix_uses_the_fallback_without_systemd_boot(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *p = join(e->esp1, &EFI_SDBOOT_PATH[1]);

        for (char *s = p; *s; s++)
                if (*s == '\\')
                        *s = '/';
        assert_int_equal(unlink(p), 0);
        put_efi(e->esp1, "EFI/BOOT/BOOTX64.EFI");
        assert_int_equal(fix(m, false, &out, &why), 1);
        assert_non_null(strstr(out, ")/File(\\EFI\\BOOT\\BOOTX64.EFI)\n"));
        esp_model_free(m);
}

static void test_fix_names_an_esp_without_a_loader_and_fixes_the_others(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *want = NULL, *p = NULL;
        struct stat st;

        {
                _cleanup_free_ char *sd = join(e->esp1, "EFI/systemd/systemd-bootx64.efi");

                assert_int_equal(unlink(sd), 0);
        }
        assert_int_equal(fix(m, false, &out, &why), -ENOENT);
        assert_true(asprintf(&want,
                             "%s holds no boot loader to start (neither "
                             "\\EFI\\systemd\\systemd-bootx64.efi nor \\EFI\\BOOT\\BOOTX64.EFI): "
                             "sync it from the booted ESP first",
                             e->esp1) >= 0);
        assert_string_equal(why, want);
        p = join(e->efivars, "Boot0000" GUID);
        assert_int_equal(stat(p, &st), -1);
        esp_model_free(m);
}

static void test_fix_never_points_an_entry_at_a_broken_loader(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *want = NULL;
        _cleanup_free_ char *sd = join(e->esp1, "EFI/systemd/systemd-bootx64.efi");

        assert_int_equal(truncate(sd, 0), 0);
        put(e->esp1, "EFI/BOOT/BOOTX64.EFI", "not a program");
        assert_int_equal(fix(m, true, &out, &why), -ENOEXEC);
        assert_true(asprintf(&want,
                             "%s holds no boot loader a new entry could start "
                             "(\\EFI\\systemd\\systemd-bootx64.efi is not a usable EFI program: "
                             "empty (0 bytes); \\EFI\\BOOT\\BOOTX64.EFI is not a usable EFI "
                             "program: not a PE image: it starts with 0x6e 0x6f, not \"MZ\"): sync "
                             "it from the booted ESP first",
                             e->esp1) >= 0);
        assert_string_equal(why, want);
        /* a good fallback beside the broken systemd-boot: the entry starts the fallback */
        put_efi(e->esp1, "EFI/BOOT/BOOTX64.EFI");
        free(out);
        out = NULL;
        assert_int_equal(fix(m, true, &out, &why), 1);
        assert_non_null(strstr(out, ")/File(\\EFI\\BOOT\\BOOTX64.EFI)\n"));
        esp_model_free(m);
}

static void test_fix_refuses_an_esp_that_is_no_partition(void **state)
{
        struct env *e = *state;
        struct esp_model *m = two_esps(e);
        _cleanup_free_ char *out = NULL, *why = NULL;

        m->alternates[0].devnum = makedev(7, 9); /* not in the fake sysfs */
        assert_true(fix(m, false, &out, &why) < 0);
        assert_non_null(strstr(why, "(/dev/vdb1): cannot resolve "));
        esp_model_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
                T(test_guid_from_string_is_mixed_endian),
                T(test_encoded_entry_equals_the_independent_encoder),
                T(test_encoded_path_reads_back),
                T(test_encoding_refuses_what_it_cannot_write),
                T(test_write_creates_with_the_attributes_word),
                T(test_write_replaces_a_longer_variable),
                T(test_write_clears_and_restores_the_immutable_flag),
                T(test_write_names_the_directory_it_cannot_use),
                T(test_read_nvram_lists_entries_and_order),
                T(test_read_nvram_flags_a_malformed_boot_order),
                T(test_fix_adds_the_entry_before_the_firmwares_own),
                T(test_evaluate_each_level),
                T(test_evaluate_judges_the_loaders),
                T(test_start_follows_the_entrys_file),
                T(test_partition_from_sysfs),
                T(test_partition_of_a_whole_disk_is_refused),
                T(test_fix_creates_the_missing_entry_and_appends_it),
                T(test_fix_in_test_mode_changes_nothing),
                T(test_fix_never_rewrites_an_entry_it_did_not_create),
                T(test_fix_rewrites_its_own_stale_entry_in_place),
                T(test_fix_appends_a_valid_entry_missing_from_boot_order),
                T(test_fix_uses_the_fallback_without_systemd_boot),
                T(test_fix_names_an_esp_without_a_loader_and_fixes_the_others),
                T(test_fix_never_points_an_entry_at_a_broken_loader),
                T(test_fix_refuses_an_esp_that_is_no_partition),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
