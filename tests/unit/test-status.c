/* SPDX-License-Identifier: MIT */
/*
 * status.c and status-print.c (DESIGN.md §11): every check of --status on a model built by hand
 * over two temporary ESP trees, a mountinfo file naming them, an fstab file and an efivars
 * directory made with mkefivar; then the three outputs of one report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <linux/btrfs_tree.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MKEFIVAR_NO_MAIN
#include "../tools/mkefivar.c"
#include "env-fixture.h"
#include "../tools/loaderimage.h"

#include "blockdev.h"
#include "config.h"
#include "esp.h"
#include "guard.h"
#include "ignore.h"
#include "rootfs.h"
#include "status.h"
#include "util/fileio.h"
#include "util/strv.h"

#define PU0 "6a1e0c5b-0000-4a4a-8000-00000000e0e0"
#define PU1 "6a1e0c5b-1111-4a4a-8000-00000000e1e1"

struct env {
        char *base, *efivars, *esp0, *esp1, *boot, *mountinfo;
        struct config *config;
        struct esp_model *model;
        struct status_report report;
};

/* A plausible file of a kind a loader starts (tests/tools/loaderimage.h), size bytes. */
static void put_image(const char *root, const char *rel, const char *kind, uint32_t size)
{
        _cleanup_free_ char *p = join(root, rel);
        _cleanup_free_ uint8_t *b = calloc(1, size);
        FILE *f;

        assert_non_null(b);
        assert_int_equal(loaderimage_make(kind, b, size), 0);
        put(root, rel, "");
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
}

/* The first size bytes of a file (a cut copy). */
static void cut(const char *root, const char *rel, off_t size)
{
        _cleanup_free_ char *p = join(root, rel);

        assert_int_equal(truncate(p, size), 0);
}

static void rm(const char *root, const char *rel)
{
        _cleanup_free_ char *p = join(root, rel);

        assert_int_equal(unlink(p), 0);
}

/* Every file's modification time fixed, so two trees built alike fingerprint alike (the
 * rollback guard's fingerprint counts seconds). */
static int touch_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        const struct timespec t[2] = { { .tv_sec = 1700000000 }, { .tv_sec = 1700000000 } };

        return utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW);
}

/* The alternate's guard record as guard.c writes it after a sync: its tree's fingerprint
 * now, a time, the source; extra lines (an intent) appended. */
static void write_record(struct env *e, const char *extra)
{
        _cleanup_strv_free_ char **x = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open(e->esp1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t fp;

        assert_int_equal(esp_ignore_excludes(e->config ? e->config->esp_excludes : NULL, &x), 0);
        assert_int_equal(guard_fingerprint(fd, x, &fp, NULL), 0);
        assert_true(asprintf(&text,
                             "format=2\nfingerprint=%016" PRIx64
                             "\nsynced=2026-01-02T03:04:05Z\nsource=" PU0 "\n%s",
                             fp, extra) >= 0);
        put(e->esp1, ".dual-root-state", text);
}

/* The mount table: /efi0 and /boot hold 252:1, /efi1 252:17; fstype and root per test. */
static void write_mountinfo(struct env *e, const char *fstype, const char *efi1_root)
{
        _cleanup_free_ char *text = NULL;

        assert_true(asprintf(&text,
                             "21 1 252:1 / %s rw,relatime - %s /dev/vda1 rw\n"
                             "22 1 252:17 %s %s rw,relatime - %s /dev/vdb1 rw\n"
                             "23 1 252:1 / %s rw,relatime - %s /dev/vda1 rw\n",
                             e->esp0, fstype, efi1_root, e->esp1, fstype, e->boot, fstype) >= 0);
        put(e->base, "mountinfo", text);
}

/* A machine that boots from either disk: systemd-boot, one entry and its files on both ESPs,
 * a Boot#### per ESP in BootOrder, and the alternate's record of its last sync. */
static int setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));
        struct esp_model *m;

        assert_non_null(e);
        e->base = strdup("/tmp/test-status.XXXXXX");
        assert_non_null(mkdtemp(e->base));
        e->efivars = join(e->base, "efivars");
        e->esp0 = join(e->base, "efi0");
        e->esp1 = join(e->base, "efi1");
        e->boot = join(e->base, "boot");
        e->mountinfo = join(e->base, "mountinfo");
        e->config = config_new_default();
        assert_non_null(e->config);
        assert_int_equal(mkdir(e->efivars, 0755), 0);
        assert_int_equal(mkdir(e->boot, 0755), 0);
        assert_int_equal(mkdir(e->esp0, 0755), 0);
        assert_int_equal(mkdir(e->esp1, 0755), 0);
        for (int i = 0; i < 2; i++) {
                const char *d = i ? e->esp1 : e->esp0;

                put_image(d, "EFI/systemd/systemd-bootx64.efi", "efi", 8192);
                put(d, "loader/loader.conf", "default debian-*\n");
                put(d, "loader/entries/debian-6.1.conf",
                    "title Debian\nlinux /vmlinuz-6.1\ninitrd /initrd.img-6.1\n");
                put_image(d, "vmlinuz-6.1", "kernel", 8192);
                put_image(d, "initrd.img-6.1", "initrd", 512);
        }
        assert_int_equal(nftw(e->esp0, touch_one, 16, FTW_PHYS), 0);
        assert_int_equal(nftw(e->esp1, touch_one, 16, FTW_PHYS), 0);
        write_record(e, "");
        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, NULL);
        mkefivar(e->efivars, "bootentry", "0002", "Disk 1", "--hd", "1", PU1, "--full-nvme", NULL);
        mkefivar(e->efivars, "bootorder", "1,2", NULL);
        write_mountinfo(e, "vfat", "/");

        m = calloc(1, sizeof(*m));
        assert_non_null(m);
        m->boot_ok = m->device_ok = true;
        m->boot.boot_entry = -1;
        m->booted = (struct esp){ .mount = strdup(e->esp0),
                                  .mounted = true,
                                  .devnum = makedev(252, 1),
                                  .partuuid = strdup(PU0),
                                  .device = strdup("/dev/vda1") };
        m->alternates = calloc(1, sizeof(struct esp));
        assert_non_null(m->alternates);
        m->alternates[0] = (struct esp){ .mount = strdup(e->esp1),
                                         .mounted = true,
                                         .devnum = makedev(252, 17),
                                         .partuuid = strdup(PU1),
                                         .device = strdup("/dev/vdb1") };
        m->n_alternates = 1;
        e->model = m;
        unsetenv("DUAL_ROOT_ESP_FSTYPE");
        *state = e;
        return 0;
}

static int teardown(void **state)
{
        struct env *e = *state;

        status_report_done(&e->report);
        esp_model_free(e->model);
        config_free(e->config);
        nftw(e->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(e->base);
        free(e->efivars);
        free(e->esp0);
        free(e->esp1);
        free(e->boot);
        free(e->mountinfo);
        free(e);
        return 0;
}

static void check(struct env *e, struct libmnt_table *fstab)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;

        status_report_done(&e->report);
        assert_int_equal(mounts_load(e->mountinfo, &t), 0);
        assert_int_equal(
                status_check(e->config, e->model, t, fstab, e->efivars, e->boot, &e->report), 0);
}

/* The text of ESP i's findings of check, joined with " / " ("" when none). */
static char *findings_of(struct env *e, size_t i, const char *check, enum status_level *worst)
{
        _cleanup_strv_free_ char **l = NULL;
        const struct status_esp *s;
        char *r;

        assert_true(i < e->report.n_esps);
        s = &e->report.esps[i];
        *worst = STATUS_OK;
        for (size_t k = 0; k < s->n; k++)
                if (streq(s->findings[k].check, check)) {
                        assert_int_equal(strv_extend(&l, s->findings[k].text), 0);
                        if (s->findings[k].level > *worst)
                                *worst = s->findings[k].level;
                }
        r = l ? strv_join(l, " / ") : strdup("");
        assert_non_null(r);
        return r;
}

static void expect(struct env *e, size_t i, const char *check, enum status_level level,
                   const char *text)
{
        enum status_level worst;
        _cleanup_free_ char *got = findings_of(e, i, check, &worst);

        if (!strstr(got, text))
                fail_msg("ESP %zu %s: expected \"%s\", got \"%s\"", i, check, text, got);
        if (worst != level)
                fail_msg("ESP %zu %s: level %s, expected %s (%s)", i, check,
                         status_level_to_string(worst), status_level_to_string(level), got);
}

static void test_healthy_machine_boots_from_either_disk(void **state)
{
        struct env *e = *state;

        check(e, NULL);
        assert_int_equal(e->report.n_esps, 2);
        assert_true(e->report.esps[0].booted);
        assert_int_equal(e->report.esps[0].verdict, VERDICT_YES);
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
        expect(e, 0, "esp", STATUS_OK, "mounted read-write, vfat, GPT type not readable");
        expect(e, 1, "firmware", STATUS_OK,
               "Boot0002 \"Disk 1\" starts \\EFI\\systemd\\systemd-bootx64.efi, number 2 in "
               "BootOrder");
        expect(e, 1, "loader", STATUS_OK,
               "systemd-boot: 1 complete entry (0 unified kernel images), default \"debian-*\" "
               "is debian-6.1.conf");
        expect(e, 1, "sync", STATUS_OK, "identical to the booted ESP");
        expect(e, 1, "sync", STATUS_OK, "; last synced ");
        assert_int_equal(e->report.esps[1].last_sync, 1767323045);
        assert_string_equal(e->report.esps[1].last_sync_from, PU0);
        assert_int_equal(e->report.esps[1].level, STATUS_OK);
        assert_int_equal(e->report.esps[0].level, STATUS_OK);
}

static void test_esp_not_fat_is_critical(void **state)
{
        struct env *e = *state;

        write_mountinfo(e, "ext4", "/");
        check(e, NULL);
        expect(e, 1, "esp", STATUS_CRITICAL,
               "'s filesystem is ext4, not vfat: the firmware reads "
               "only FAT");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
        assert_int_equal(setenv("DUAL_ROOT_ESP_FSTYPE", "ext4", 1), 0);
        check(e, NULL);
        unsetenv("DUAL_ROOT_ESP_FSTYPE");
        expect(e, 1, "esp", STATUS_OK, "mounted read-write, ext4");
}

static void test_esp_that_is_a_bind_of_a_directory_is_critical(void **state)
{
        struct env *e = *state;

        write_mountinfo(e, "vfat", "/sub");
        check(e, NULL);
        expect(e, 1, "esp", STATUS_CRITICAL, "is a bind mount of /dev/vdb1's directory /sub");
}

static void test_too_little_free_space_warns(void **state)
{
        struct env *e = *state;

        e->config->esp_min_free = 1 << 20; /* a TiB */
        check(e, NULL);
        expect(e, 1, "esp", STATUS_WARNING,
               "less than the 1048576 MiB two kernel sets need: the next kernel install may "
               "not fit");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
}

static void test_firmware_without_entry_or_fallback_is_critical(void **state)
{
        struct env *e = *state;

        mkefivar(e->efivars, "bootentry", "0002", "Disk 1", "--hd", "1", PU1, "--file",
                 "\\EFI\\gone.efi", NULL);
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_CRITICAL,
               "/efi1 (PARTUUID " PU1 ") (Boot0002 \"Disk 1\" names a file this ESP "
               "does not hold: \\EFI\\gone.efi), and there is no fallback "
               "\\EFI\\BOOT\\BOOTX64.EFI: the firmware cannot start this disk");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
        assert_int_equal(e->report.esps[0].verdict, VERDICT_YES);
}

static void test_firmware_fallback_only_warns(void **state)
{
        struct env *e = *state;

        mkefivar(e->efivars, "bootorder", "1", NULL);
        mkefivar(e->efivars, "bootentry", "0002", "Disk 0 again", "--hd", "1", PU0, NULL);
        put_image(e->esp1, "EFI/BOOT/BOOTX64.EFI", "efi", 8192);
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_WARNING,
               "/efi1 (PARTUUID " PU1 "): only the removable-media fallback "
               "\\EFI\\BOOT\\BOOTX64.EFI can start it");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
}

/* DESIGN.md §11 S8: what the firmware starts must be a program it can start. */
static void test_firmware_entry_starting_a_cut_loader_is_critical(void **state)
{
        struct env *e = *state;

        cut(e->esp1, "EFI/systemd/systemd-bootx64.efi", 4096);
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_CRITICAL,
               "(Boot0002 \"Disk 1\" starts \\EFI\\systemd\\systemd-bootx64.efi, which is not a "
               "usable "
               "EFI program: truncated: the PE section .text ends at byte 7680, the file has "
               "4096), and there is no fallback \\EFI\\BOOT\\BOOTX64.EFI: the firmware cannot "
               "start this disk");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
        assert_int_equal(e->report.esps[0].verdict, VERDICT_YES);
}

static void test_firmware_empty_fallback_does_not_count(void **state)
{
        struct env *e = *state;

        mkefivar(e->efivars, "bootorder", "1", NULL);
        mkefivar(e->efivars, "bootentry", "0002", "Disk 0 again", "--hd", "1", PU0, NULL);
        put(e->esp1, "EFI/BOOT/BOOTX64.EFI", "");
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_CRITICAL,
               "/efi1 (PARTUUID " PU1 "), and the fallback "
               "\\EFI\\BOOT\\BOOTX64.EFI is not a usable EFI program: empty (0 bytes): the "
               "firmware cannot start this disk");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
}

static void test_firmware_cut_fallback_beside_an_entry_warns(void **state)
{
        struct env *e = *state;

        put_image(e->esp1, "EFI/BOOT/BOOTX64.EFI", "efi", 8192);
        cut(e->esp1, "EFI/BOOT/BOOTX64.EFI", 8000);
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_WARNING,
               "/efi1 cannot start it: \\EFI\\BOOT\\BOOTX64.EFI "
               "is not a usable EFI program: truncated: the PE section .data ends at byte 8192, "
               "the file has 8000");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
}

static void test_firmware_entry_not_in_boot_order_warns(void **state)
{
        struct env *e = *state;

        mkefivar(e->efivars, "bootorder", "1", NULL);
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_WARNING,
               "Boot0002 \"Disk 1\" starts \\EFI\\systemd\\systemd-bootx64.efi on ");
        expect(e, 1, "firmware", STATUS_WARNING, "/efi1 but is not in BootOrder");
}

static void test_firmware_shim_fallback_warns(void **state)
{
        struct env *e = *state;

        put(e->esp1, "EFI/BOOT/fbx64.efi", "shim fallback");
        check(e, NULL);
        expect(e, 1, "firmware", STATUS_WARNING, "holds shim's fallback \\EFI\\BOOT\\fbx64.efi");
}

static void test_loader_missing_initrd_is_critical_naming_entry_and_file(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "initrd.img-6.1");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_CRITICAL,
               "entry debian-6.1.conf names /initrd.img-6.1, which");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
        assert_int_equal(e->report.esps[0].verdict, VERDICT_YES);
        assert_int_equal(e->report.level, STATUS_CRITICAL);
}

/* DESIGN.md §11 S8: every file an entry names, at 0 bytes and cut, on either disk. */
static void test_loader_empty_or_cut_files_are_critical(void **state)
{
        static const struct {
                const char *file, *shown, *what;
                off_t cut;
                const char *reason;
        } cases[] = {
                { "vmlinuz-6.1", "/vmlinuz-6.1", "kernel", 0, "empty (0 bytes)" },
                { "vmlinuz-6.1", "/vmlinuz-6.1", "kernel", 6000,
#if defined(__x86_64__) || defined(__i386__)
                  "truncated: the PE section .text ends at byte 8192, the file has 6000"
#else
                  "truncated: the PE section .data ends at byte 8192, the file has 6000"
#endif
                },
                { "initrd.img-6.1", "/initrd.img-6.1", "initrd", 0, "empty (0 bytes)" },
        };
        struct env *e = *state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int d = 0; d < 2; d++) {
                        const char *esp = d ? e->esp1 : e->esp0;
                        _cleanup_free_ char *text = NULL;

                        put_image(esp, cases[i].file,
                                  strcmp(cases[i].what, "initrd") == 0 ? "initrd" : "kernel",
                                  strcmp(cases[i].what, "initrd") == 0 ? 512 : 8192);
                        cut(esp, cases[i].file, cases[i].cut);
                        check(e, NULL);
                        assert_true(asprintf(&text,
                                             "entry debian-6.1.conf names %s, but %s/%s is not a "
                                             "usable %s: %s",
                                             cases[i].shown, esp, cases[i].file, cases[i].what,
                                             cases[i].reason) >= 0);
                        expect(e, d, "loader", STATUS_CRITICAL, text);
                        assert_int_equal(e->report.esps[d].verdict, VERDICT_NO);
                        assert_int_equal(e->report.esps[!d].verdict, VERDICT_YES);
                        assert_int_equal(e->report.level, STATUS_CRITICAL);
                        put_image(esp, cases[i].file,
                                  strcmp(cases[i].what, "initrd") == 0 ? "initrd" : "kernel",
                                  strcmp(cases[i].what, "initrd") == 0 ? 512 : 8192);
                }
}

static void test_loader_cut_unified_kernel_image_is_critical(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        put_image(e->esp1, "EFI/Linux/debian-6.2.efi", "uki", 16384);
        check(e, NULL);
        expect(e, 1, "loader", STATUS_OK, "1 complete entry (1 unified kernel image)");
        cut(e->esp1, "EFI/Linux/debian-6.2.efi", 10000);
        check(e, NULL);
        expect(e, 1, "loader", STATUS_CRITICAL,
               "/efi1/EFI/Linux/debian-6.2.efi is not one systemd-boot can "
               "start: truncated: the PE section .initrd ends at byte 16384, the file has 10000");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
}

static void test_loader_default_matching_nothing_warns(void **state)
{
        struct env *e = *state;

        put(e->esp1, "loader/loader.conf", "timeout 2\n\ndefault arch-*\n");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_WARNING,
               "loader/loader.conf:3: default \"arch-*\" matches no complete entry");
}

static void test_loader_without_entries_is_critical(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_CRITICAL, "has no entry to boot");
}

static void test_loader_exhausted_boot_counters_warn(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        put(e->esp1, "loader/entries/debian-6.1+0-3.conf", "linux /vmlinuz-6.1\n");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_WARNING, "has used up its boot-counting tries (+0)");
}

static void test_loader_without_any_loader_is_critical(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        rm(e->esp1, "loader/loader.conf");
        rm(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_CRITICAL, "holds no boot loader");
}

static void test_loader_bare_fallback_is_judged(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        rm(e->esp1, "loader/loader.conf");
        rm(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        put_image(e->esp1, "EFI/BOOT/BOOTX64.EFI", "efi", 8192);
        check(e, NULL);
        expect(e, 1, "loader", STATUS_OK, "is started as it is, not checked further");
        cut(e->esp1, "EFI/BOOT/BOOTX64.EFI", 0);
        check(e, NULL);
        expect(e, 1, "loader", STATUS_CRITICAL,
               "holds no usable boot loader: no systemd-boot, no entries, and its fallback "
               "\\EFI\\BOOT\\BOOTX64.EFI is not a usable EFI program: empty (0 bytes)");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
}

/* DESIGN.md §11b: GRUB's chain is followed; a stub it cannot follow is "could not look". */
static void test_loader_grub_stub_not_understood_is_unknown(void **state)
{
        struct env *e = *state;

        rm(e->esp1, "loader/entries/debian-6.1.conf");
        rm(e->esp1, "loader/loader.conf");
        rm(e->esp1, "EFI/systemd/systemd-bootx64.efi");
        put(e->esp1, "EFI/debian/grub.cfg", "search ...");
        check(e, NULL);
        expect(e, 1, "loader", STATUS_UNKNOWN,
               "EFI/debian/grub.cfg:1: search: none of --fs-uuid, --label, --file");
        expect(e, 1, "loader", STATUS_UNKNOWN, "leads to no menu entry that loads a kernel");
}

static void test_sync_difference_warns_with_the_last_sync(void **state)
{
        struct env *e = *state;

        put(e->esp0, "vmlinuz-6.2", "new kernel");
        check(e, NULL);
        expect(e, 1, "sync", STATUS_WARNING, "a sync is pending (last synced ");
        expect(e, 1, "sync", STATUS_WARNING, "from PARTUUID " PU0 ")");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
}

static void test_sync_alternate_changed_on_its_own_is_named(void **state)
{
        struct env *e = *state;

        put(e->esp1, "vmlinuz-6.2", "installed while the other disk was away");
        check(e, NULL);
        expect(e, 1, "sync", STATUS_WARNING, "the rollback guard refuses a sync: ");
        expect(e, 1, "sync", STATUS_WARNING, "changed since the last sync recorded on it");
}

static void test_sync_unfinished_is_named(void **state)
{
        struct env *e = *state;

        write_record(e, "intent=" PU0 "\nintent_since=2026-01-03T00:00:00Z\nintent_target=1\n");
        check(e, NULL);
        expect(e, 1, "sync", STATUS_WARNING,
               "from PARTUUID " PU0 ", started 2026-01-03T00:00:00Z, did not finish: the next "
               "sync from it completes it");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_YES);
}

static void test_sync_names_the_last_content_comparison(void **state)
{
        struct env *e = *state;

        write_record(e, "verified=1767323045\n");
        check(e, NULL);
        expect(e, 1, "sync", STATUS_OK, "; content last compared byte for byte ");
}

static void test_sync_identical_without_a_record(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *p = join(e->esp1, ".dual-root-state");

        assert_int_equal(unlink(p), 0);
        check(e, NULL);
        expect(e, 1, "sync", STATUS_OK, "identical to the booted ESP");
        expect(e, 1, "sync", STATUS_OK, "(no sync record of dual-root)");
        assert_int_equal(e->report.esps[1].last_sync, -1);
}

static void test_missing_alternate_named_from_fstab(void **state)
{
        struct env *e = *state;
        _cleanup_mnt_table_ struct libmnt_table *fstab = mnt_new_table();
        _cleanup_free_ char *text = NULL, *path = join(e->base, "fstab");

        e->model->alternates[0].mounted = false;
        assert_true(asprintf(&text, "PARTUUID=" PU1 " %s vfat nofail 0 2\n", e->esp1) >= 0);
        put(e->base, "fstab", text);
        assert_int_equal(mnt_table_parse_file(fstab, path), 0);
        check(e, fstab);
        expect(e, 1, "esp", STATUS_CRITICAL,
               "is not mounted: fstab mounts PARTUUID=" PU1 " there, which is not present (disk "
               "missing or replaced?). This machine cannot lose its other disk now; on a "
               "replacement disk run: dual-root-tool --add-disk DEVICE");
        assert_int_equal(e->report.esps[1].verdict, VERDICT_NO);
        assert_false(e->report.esps[1].present);
}

static char *print(void (*fn)(FILE *, const struct status_report *), const struct status_report *r);

static void test_missing_alternate_partuuid_comes_from_fstab(void **state)
{
        struct env *e = *state;
        _cleanup_mnt_table_ struct libmnt_table *fstab = mnt_new_table();
        _cleanup_free_ char *text = NULL, *path = join(e->base, "fstab"), *out = NULL;
        _cleanup_free_ char *line = NULL;

        e->model->alternates[0].mounted = false;
        free(e->model->alternates[0].partuuid);
        e->model->alternates[0].partuuid = NULL;
        assert_true(asprintf(&text, "/dev/disk/by-partuuid/" PU1 " %s vfat nofail 0 2\n",
                             e->esp1) >= 0);
        put(e->base, "fstab", text);
        assert_int_equal(mnt_table_parse_file(fstab, path), 0);
        check(e, fstab);
        assert_string_equal(e->report.esps[1].partuuid, PU1);
        assert_true(e->report.esps[1].partuuid_from_fstab);
        out = print(status_print_prometheus, &e->report);
        assert_true(asprintf(&line,
                             "dualroot_esp_bootable{mountpoint=\"%s\",partuuid=\"" PU1 "\"} 0\n",
                             e->esp1) >= 0);
        assert_non_null(strstr(out, line));
        /* without fstab: no partuuid label at all, never an empty one */
        check(e, NULL);
        assert_null(e->report.esps[1].partuuid);
        free(out);
        out = print(status_print_prometheus, &e->report);
        assert_null(strstr(out, "partuuid=\"\""));
        free(line);
        assert_true(asprintf(&line, "dualroot_esp_bootable{mountpoint=\"%s\"} 0\n", e->esp1) >= 0);
        assert_non_null(strstr(out, line));
}

static void test_levels_rank_as_the_monitoring_plugins(void **state)
{
        /* max_state_alt(): CRITICAL > WARNING > UNKNOWN > OK */
        assert_int_equal(status_level_max(STATUS_UNKNOWN, STATUS_WARNING), STATUS_WARNING);
        assert_int_equal(status_level_max(STATUS_WARNING, STATUS_UNKNOWN), STATUS_WARNING);
        assert_int_equal(status_level_max(STATUS_CRITICAL, STATUS_UNKNOWN), STATUS_CRITICAL);
        assert_int_equal(status_level_max(STATUS_OK, STATUS_UNKNOWN), STATUS_UNKNOWN);
        assert_int_equal(status_level_max(STATUS_OK, STATUS_OK), STATUS_OK);
}

static void test_failed_report_is_unknown_in_every_form(void **state)
{
        struct status_report r = {};
        _cleanup_free_ char *text = NULL, *json = NULL, *prom = NULL;
        const char *why = "the configuration cannot be read: x.conf:1:1: unknown key 'y'";

        assert_int_equal(status_report_failed("config", why, &r), 0);
        assert_int_equal(r.level, STATUS_UNKNOWN);
        text = print(status_print_text, &r);
        /* the reason once: the first line says it, nothing below repeats it */
        assert_string_equal(text,
                            "UNKNOWN: the configuration cannot be read: x.conf:1:1: unknown key "
                            "'y' | 'bootable_esps'=0;;;0;0 'esps'=0;;;0\n");
        json = print(status_print_json, &r);
        assert_non_null(strstr(json, "\"status\": \"UNKNOWN\", \"code\": 3, "));
        assert_non_null(strstr(json, "\"error\": \"the configuration cannot be read: x.conf:1:1: "
                                     "unknown key 'y'\", \"can_lose_any_disk\": null"));
        prom = print(status_print_prometheus, &r);
        assert_non_null(strstr(prom, "\ndualroot_status 3\n"));
        assert_non_null(strstr(prom, "\ndualroot_status_info{status=\"UNKNOWN\",reason=\"the "
                                     "configuration cannot be read: x.conf:1:1: unknown key "
                                     "'y'\"} 1\n"));
        assert_non_null(strstr(prom, "\ndualroot_check_status{check=\"config\"} 3\n"));
        assert_null(strstr(prom, "\ndualroot_can_lose_any_disk "));
        assert_non_null(strstr(prom, "\ndualroot_textfile_timestamp_seconds "));
        status_report_done(&r);
}

static void test_unknown_verdict_is_said_with_its_reason_once(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *text = NULL, *prom = NULL, *want = NULL, *line = NULL;
        struct status_esp *a;

        check(e, NULL);
        /* as a check that could not open the alternate leaves it */
        a = &e->report.esps[1];
        a->verdict = VERDICT_UNKNOWN;
        a->unknown_why = strdup("cannot open x: Permission denied (needs root)");
        assert_non_null(a->unknown_why);
        for (size_t k = 0; k < a->n; k++)
                if (streq(a->findings[k].check, "loader")) {
                        a->findings[k].level = STATUS_UNKNOWN;
                        free(a->findings[k].text);
                        a->findings[k].text = strdup("loader not checked: cannot open x");
                        assert_non_null(a->findings[k].text);
                }
        a->level = STATUS_UNKNOWN;
        e->report.level = STATUS_UNKNOWN;
        text = print(status_print_text, &e->report);
        assert_true(asprintf(&want,
                             "UNKNOWN: boots alone: %s (booted) yes, %s unknown (cannot open x: "
                             "Permission denied (needs root)) | ",
                             e->esp0, e->esp1) >= 0);
        if (strncmp(text, want, strlen(want)) != 0)
                fail_msg("first line:\n%s\nexpected it to start with:\n%s", text, want);
        prom = print(status_print_prometheus, &e->report);
        assert_true(asprintf(&line, "dualroot_esp_bootable{mountpoint=\"%s\"", e->esp1) >= 0);
        assert_null(strstr(prom, line));
        assert_null(strstr(prom, "\ndualroot_can_lose_any_disk "));
        assert_non_null(strstr(prom, "reason=\"cannot open x: Permission denied (needs root)\""));
}

static void test_boot_mount_of_another_esp_is_critical(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *text = NULL;

        assert_true(asprintf(&text,
                             "21 1 252:1 / %s rw - vfat /dev/vda1 rw\n"
                             "22 1 252:17 / %s rw - vfat /dev/vdb1 rw\n"
                             "23 1 252:17 / %s rw - vfat /dev/vdb1 rw\n",
                             e->esp0, e->esp1, e->boot) >= 0);
        put(e->base, "mountinfo", text);
        check(e, NULL);
        assert_int_equal(e->report.level, STATUS_CRITICAL);
        assert_string_equal(e->report.findings[0].check, "boot");
        assert_int_equal(e->report.findings[0].level, STATUS_CRITICAL);
}

/* /boot as a systemd automount of the booted ESP (x-systemd.automount): autofs on /boot, the
 * real mount stacked on it once accessed; judged by what it mounts (DESIGN.md §11 S3). */
static void boot_automount(struct env *e, const char *fstab_source, bool triggered)
{
        _cleanup_mnt_table_ struct libmnt_table *fstab = mnt_new_table();
        _cleanup_free_ char *text = NULL, *ft = NULL, *path = join(e->base, "fstab");

        assert_true(asprintf(&text,
                             "21 1 252:1 / %s rw - vfat /dev/vda1 rw\n"
                             "22 1 252:17 / %s rw - vfat /dev/vdb1 rw\n"
                             "30 1 0:44 / %s rw,relatime - autofs systemd-1 "
                             "rw,fd=51,pgrp=1,timeout=0,minproto=5,maxproto=5,direct\n"
                             "%s",
                             e->esp0, e->esp1, e->boot,
                             triggered ? "31 30 252:1 / BOOT rw,relatime - vfat /dev/vda1 rw\n"
                                       : "") >= 0);
        if (triggered) {
                char *at = strstr(text, "BOOT");
                _cleanup_free_ char *fixed = NULL;

                *at = 0;
                assert_true(asprintf(&fixed, "%s%s%s", text, e->boot, at + 4) >= 0);
                free(text);
                text = TAKE_PTR(fixed);
        }
        put(e->base, "mountinfo", text);
        assert_true(asprintf(&ft, "%s %s vfat noauto,x-systemd.automount,umask=0077 0 2\n",
                             fstab_source, e->boot) >= 0);
        put(e->base, "fstab", ft);
        assert_int_equal(mnt_table_parse_file(fstab, path), 0);
        check(e, fstab);
}

static void test_boot_automount_of_the_booted_esp_is_ok(void **state)
{
        struct env *e = *state;

        boot_automount(e, "PARTUUID=" PU0, false);
        assert_string_equal(e->report.findings[0].check, "boot");
        assert_int_equal(e->report.findings[0].level, STATUS_OK);
        assert_non_null(strstr(e->report.findings[0].text,
                               "is an automount (x-systemd.automount) of the booted ESP /dev/vda1 "
                               "(fstab: PARTUUID=" PU0 "): each access mounts it"));
        /* accessed: the vfat on top of the autofs is judged */
        boot_automount(e, "PARTUUID=" PU0, true);
        assert_int_equal(e->report.findings[0].level, STATUS_OK);
        assert_non_null(strstr(e->report.findings[0].text, "holds the booted ESP /dev/vda1"));
}

static void test_boot_automount_of_another_esp_is_critical(void **state)
{
        struct env *e = *state;

        boot_automount(e, "PARTUUID=" PU1, false);
        assert_int_equal(e->report.findings[0].level, STATUS_CRITICAL);
        assert_non_null(strstr(e->report.findings[0].text,
                               "is an automount of PARTUUID=" PU1 " (fstab), not of the booted "
                               "ESP /dev/vda1"));
}

/* The root check's profile rules (DESIGN.md §11 rule S6); the ioctls themselves are exercised
 * on a real btrfs by tests/integration/t-rootfs.sh. */
static void test_root_profiles_that_survive_a_lost_disk(void **state)
{
        char buf[64];

        assert_true(rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_RAID1));
        assert_true(
                rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_RAID1C3 | BTRFS_BLOCK_GROUP_RAID10));
        assert_true(rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_RAID6));
        assert_false(rootfs_profiles_redundant(0));
        assert_false(rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_DUP));
        assert_false(rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_RAID0));
        /* a conversion half done: raid1 and single chunks side by side */
        assert_false(rootfs_profiles_redundant(BTRFS_BLOCK_GROUP_RAID1 | ROOTFS_PROFILE_SINGLE));
        assert_string_equal(
                rootfs_profiles_to_string(BTRFS_BLOCK_GROUP_RAID1 | ROOTFS_PROFILE_SINGLE, buf,
                                          sizeof(buf)),
                "single+raid1");
        assert_string_equal(rootfs_profiles_to_string(0, buf, sizeof(buf)), "none");
}

static char *print(void (*fn)(FILE *, const struct status_report *), const struct status_report *r)
{
        char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        fn(f, r);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_text_first_line_is_the_plugin_line(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *out = NULL, *want = NULL;

        rm(e->esp1, "vmlinuz-6.1");
        check(e, NULL);
        out = print(status_print_text, &e->report);
        assert_true(asprintf(&want,
                             "CRITICAL: entry debian-6.1.conf names /vmlinuz-6.1, which %s lacks; "
                             "boots alone: %s (booted) yes, %s NO | 'bootable_esps'=1;;;0;2 "
                             "'esps'=2;;;0 'last_sync_age'=",
                             e->esp1, e->esp0, e->esp1) >= 0);
        if (strncmp(out, want, strlen(want)) != 0)
                fail_msg("first line:\n%s\nexpected it to start with:\n%s", out, want);
        assert_non_null(strstr(out, "\n  CRITICAL loader: entry debian-6.1.conf names "));
}

static void test_json_has_each_esp_and_its_checks(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *out = NULL;

        check(e, NULL);
        out = print(status_print_json, &e->report);
        assert_true(strncmp(out,
                            "{\"status\": \"OK\", \"code\": 0, \"summary\": \"this machine can "
                            "lose any disk\", \"error\": null, \"can_lose_any_disk\": true, "
                            "\"bootable_esps\": 2, \"esps\": [{\"mount\": ",
                            150) == 0);
        assert_non_null(strstr(
                out, "\"partuuid\": \"" PU1 "\", \"uuid\": null, \"booted\": false, "
                     "\"present\": true, \"bootable\": true, \"bootable_unknown_why\": null, "
                     "\"level\": \"OK\", "
                     "\"last_sync\": 1767323045, \"last_sync_from\": \"" PU0 "\""));
        assert_non_null(strstr(out, "{\"check\": \"firmware\", \"level\": \"OK\", \"text\": "
                                    "\"Boot0002 \\\"Disk 1\\\" starts "
                                    "\\\\EFI\\\\systemd\\\\systemd-bootx64.efi"));
}

static void test_prometheus_series(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *out = NULL, *line = NULL;

        check(e, NULL);
        out = print(status_print_prometheus, &e->report);
        assert_non_null(strstr(out, "# TYPE dualroot_status gauge\ndualroot_status 0\n"));
        assert_non_null(strstr(out, "dualroot_can_lose_any_disk 1\n"));
        assert_true(asprintf(&line,
                             "dualroot_esp_bootable{mountpoint=\"%s\",partuuid=\"" PU1 "\"} 1\n",
                             e->esp1) >= 0);
        assert_non_null(strstr(out, line));
        free(line);
        assert_true(
                asprintf(&line,
                         "dualroot_last_sync_timestamp_seconds{mountpoint=\"%s\",partuuid=\"" PU1
                         "\"} 1767323045\n",
                         e->esp1) >= 0);
        assert_non_null(strstr(out, line));
        free(line);
        assert_true(asprintf(&line,
                             "dualroot_esp_check_status{mountpoint=\"%s\",partuuid=\"" PU0
                             "\",check=\"loader\"} 0\n",
                             e->esp0) >= 0);
        assert_non_null(strstr(out, line));
        /* the booted ESP is the source: it has no last sync of its own */
        free(line);
        assert_true(asprintf(&line, "dualroot_last_sync_timestamp_seconds{mountpoint=\"%s\"",
                             e->esp0) >= 0);
        assert_null(strstr(out, line));
}

static void test_textfile_is_replaced_atomically(void **state)
{
        struct env *e = *state;
        _cleanup_free_ char *path = join(e->base, "dual-root.prom"), *text = NULL, *why = NULL;
        size_t n, entries = 0;
        struct dirent *de;
        DIR *d;

        check(e, NULL);
        put(e->base, "dual-root.prom", "old\n");
        assert_int_equal(status_write_textfile(path, &e->report, &why), 0);
        assert_int_equal(read_full_file(path, 1 << 16, &text, &n), 0);
        assert_true(strncmp(text, "# HELP dualroot_build_info ", 27) == 0);
        d = opendir(e->base);
        assert_non_null(d);
        while ((de = readdir(d)))
                entries += de->d_name[0] == '.' && de->d_name[1] && de->d_name[1] != '.';
        closedir(d);
        assert_int_equal(entries, 0); /* no temporary file left */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
                T(test_healthy_machine_boots_from_either_disk),
                T(test_esp_not_fat_is_critical),
                T(test_esp_that_is_a_bind_of_a_directory_is_critical),
                T(test_too_little_free_space_warns),
                T(test_firmware_without_entry_or_fallback_is_critical),
                T(test_firmware_fallback_only_warns),
                T(test_firmware_entry_starting_a_cut_loader_is_critical),
                T(test_firmware_empty_fallback_does_not_count),
                T(test_firmware_cut_fallback_beside_an_entry_warns),
                T(test_firmware_entry_not_in_boot_order_warns),
                T(test_firmware_shim_fallback_warns),
                T(test_loader_missing_initrd_is_critical_naming_entry_and_file),
                T(test_loader_empty_or_cut_files_are_critical),
                T(test_loader_cut_unified_kernel_image_is_critical),
                T(test_loader_default_matching_nothing_warns),
                T(test_loader_without_entries_is_critical),
                T(test_loader_exhausted_boot_counters_warn),
                T(test_loader_without_any_loader_is_critical),
                T(test_loader_bare_fallback_is_judged),
                T(test_loader_grub_stub_not_understood_is_unknown),
                T(test_sync_difference_warns_with_the_last_sync),
                T(test_sync_alternate_changed_on_its_own_is_named),
                T(test_sync_unfinished_is_named),
                T(test_sync_names_the_last_content_comparison),
                T(test_sync_identical_without_a_record),
                T(test_missing_alternate_named_from_fstab),
                T(test_missing_alternate_partuuid_comes_from_fstab),
                T(test_levels_rank_as_the_monitoring_plugins),
                T(test_failed_report_is_unknown_in_every_form),
                T(test_unknown_verdict_is_said_with_its_reason_once),
                T(test_boot_mount_of_another_esp_is_critical),
                T(test_boot_automount_of_the_booted_esp_is_ok),
                T(test_boot_automount_of_another_esp_is_critical),
                T(test_root_profiles_that_survive_a_lost_disk),
                T(test_text_first_line_is_the_plugin_line),
                T(test_json_has_each_esp_and_its_checks),
                T(test_prometheus_series),
                T(test_textfile_is_replaced_atomically),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
