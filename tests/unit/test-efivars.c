/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/efivars.c and src/devpath.c: booted-ESP detection from EFI variables (DESIGN.md
 * §3).
 *
 * Every test that touches files gets a fresh efivars directory under mkdtemp (setup/teardown).
 * Blobs are built with tests/tools/efi-encode.h (independent of the parser), cross-checked
 * against the hand-assembled fixtures in tests/fixtures/efivars/, and mkefivar itself is run
 * in-process (its source is included below with MKEFIVAR_NO_MAIN).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>

#define MKEFIVAR_NO_MAIN
#include "../tools/mkefivar.c"

#include "efivars-fixture.h"
#include "efivars.h"
#include "pcidisk.h"
#include "util/errmsg.h"
#include "util/fileio.h"

#define UUID1 "c0ffee00-1234-4abc-8def-0123456789ab"
#define UUID1_UPPER "C0FFEE00-1234-4ABC-8DEF-0123456789AB"
#define UUID2 "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
#define SDBOOT_FILE "\\EFI\\systemd\\systemd-bootx64.efi"
#define LOADER_VAR "LoaderDevicePartUUID-" EFI_LOADER_GUID
#define BOOTCURRENT_VAR "BootCurrent-" EFI_GLOBAL_GUID
#define BOOT0003_VAR "Boot0003-" EFI_GLOBAL_GUID

/* ---- temporary efivars directories ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup_dir(void **state)
{
        const char *tmp = getenv("TMPDIR");
        char *dir;

        if (asprintf(&dir, "%s/test-efivars-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0)
                return -1;
        if (!mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int teardown_dir(void **state)
{
        char *dir = *state;
        int r;

        r = nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
        return r;
}

/* ---- writing variables ---- */

static void put_var(const char *dir, const char *name, uint32_t attr, const void *p, size_t n)
{
        assert_int_equal(efivar_write(dir, name, attr, p, n), 0);
}

static void put_loader(const char *dir, const char *text, bool nul)
{
        struct blob b = {};

        assert_int_equal(blob_utf16(&b, text, nul), 0);
        assert_false(b.failed);
        put_var(dir, LOADER_VAR, 0x6, b.data, b.size);
        blob_done(&b);
}

static void put_bootcurrent(const char *dir, uint16_t n)
{
        uint8_t v[2] = { (uint8_t)n, (uint8_t)(n >> 8) };

        put_var(dir, BOOTCURRENT_VAR, 0x6, v, sizeof(v));
}

/* Boot#### from a device path built by the caller (End node included). */
static void put_entry(const char *dir, uint16_t n, const char *description, const struct blob *path)
{
        struct blob o = {};
        char name[64];

        assert_false(path->failed);
        assert_int_equal(enc_load_option(&o, ENC_LOAD_OPTION_ACTIVE, description, path, NULL, 0),
                         0);
        assert_false(o.failed);
        snprintf(name, sizeof(name), "Boot%04X-%s", n, EFI_GLOBAL_GUID);
        put_var(dir, name, 0x7, o.data, o.size);
        blob_done(&o);
}

enum shape { SHAPE_SHORT, SHAPE_SATA, SHAPE_NVME };

/* The three shapes DESIGN.md §3 names, for a GPT partition, ending in File(systemd-boot). */
static void build_path(struct blob *b, enum shape s, uint32_t part, const char *uuid)
{
        static const uint8_t eui[8] = { 0x00, 0x25, 0x38, 0x5a, 0x91, 0xb0, 0x2c, 0x4d };

        if (s == SHAPE_SATA) {
                dp_pciroot(b, 0);
                dp_pci(b, 0x1f, 0x2);
                dp_sata(b, 0, 0xffff, 0);
        } else if (s == SHAPE_NVME) {
                dp_pciroot(b, 0);
                dp_pci(b, 0x4, 0x0);
                dp_nvme(b, 1, eui);
        }
        assert_int_equal(
                dp_hd_gpt(b, part, 0x800 + (uint64_t)(part - 1) * 0x100000, 0x100000, uuid), 0);
        assert_int_equal(dp_file(b, SDBOOT_FILE), 0);
        dp_end(b);
}

/* ---- checking results ---- */

static void expect_found(const char *dir, enum boot_method method, const char *partuuid, int entry,
                         const char *description, const char *path, const char *note)
{
        _cleanup_free_ char *why = NULL;
        struct efi_boot b = {};
        int r;

        r = efi_find_booted_partuuid(dir, &b, &why);
        if (r < 0)
                fail_msg("efi_find_booted_partuuid() failed: %s (%s)", strerror(-r), strna(why));
        assert_null(why);
        assert_string_equal(boot_method_to_string(b.method), boot_method_to_string(method));
        assert_string_equal(b.partuuid, partuuid);
        assert_int_equal(b.boot_entry, entry);
        if (description)
                assert_string_equal(strna(b.entry_description), description);
        else
                assert_null(b.entry_description);
        if (path)
                assert_string_equal(strna(b.device_path), path);
        else
                assert_null(b.device_path);
        if (note)
                assert_string_equal(strna(b.note), note);
        else
                assert_null(b.note);
        efi_boot_done(&b);
}

static void expect_failure(const char *dir, int error, const char *message)
{
        _cleanup_free_ char *why = NULL;
        struct efi_boot b = { .method = 99 };
        int r;

        r = efi_find_booted_partuuid(dir, &b, &why);
        if (r >= 0)
                fail_msg("expected failure \"%s\", got PARTUUID %s", message, b.partuuid);
        assert_string_equal(strna(why), message);
        assert_string_equal(strerror(-r), strerror(-error));
        assert_int_equal(b.method, 99); /* *ret untouched on failure */
}

/* A PARTUUID as we promise it: 36 characters, lower-case hex and dashes in place. */
static void assert_guid_text(const char *s)
{
        assert_int_equal(strlen(s), 36);
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        assert_int_equal(s[i], '-');
                else
                        assert_true((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
        }
}

/* ---- efi_vars_dir, efi_read_var ---- */

static void test_vars_dir_env_override(void **state)
{
        (void)state;
        assert_int_equal(setenv("DUAL_ROOT_EFIVARS", "/x/efivars", 1), 0);
        assert_string_equal(efi_vars_dir(), "/x/efivars");
        assert_int_equal(setenv("DUAL_ROOT_EFIVARS", "", 1), 0);
        assert_string_equal(efi_vars_dir(), "/sys/firmware/efi/efivars");
        assert_int_equal(unsetenv("DUAL_ROOT_EFIVARS"), 0);
        assert_string_equal(efi_vars_dir(), "/sys/firmware/efi/efivars");
}

static void test_read_var_strips_attributes_and_pads(void **state)
{
        const char *dir = *state;
        _cleanup_free_ uint8_t *data = NULL;
        uint8_t v[3] = { 0xaa, 0xbb, 0xcc };
        uint32_t attr;
        size_t size;

        put_var(dir, "Test-" EFI_GLOBAL_GUID, 0x80000007, v, sizeof(v));
        assert_int_equal(efi_read_var(dir, "Test", EFI_GLOBAL_GUID, &attr, &data, &size), 0);
        assert_int_equal(attr, 0x80000007);
        assert_int_equal(size, 3);
        assert_memory_equal(data, "\xaa\xbb\xcc\0\0", 5);
}

static void test_read_var_empty_data_is_fine(void **state)
{
        const char *dir = *state;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 99;

        put_var(dir, "Test-" EFI_GLOBAL_GUID, 0x7, NULL, 0);
        assert_int_equal(efi_read_var(dir, "Test", EFI_GLOBAL_GUID, NULL, &data, &size), 0);
        assert_int_equal(size, 0);
        assert_memory_equal(data, "\0\0", 2);
}

static void test_read_var_missing_is_enoent(void **state)
{
        assert_int_equal(efi_read_var(*state, "Nope", EFI_GLOBAL_GUID, NULL, NULL, NULL), -ENOENT);
}

static void test_read_var_shorter_than_attributes_is_ebadmsg(void **state)
{
        const char *dir = *state;

        assert_int_equal(efivar_write_raw(dir, "Test-" EFI_GLOBAL_GUID, "\x07\0\0", 3), 0);
        assert_int_equal(efi_read_var(dir, "Test", EFI_GLOBAL_GUID, NULL, NULL, NULL), -EBADMSG);
}

static void test_read_var_caps_at_64k(void **state)
{
        const char *dir = *state;
        _cleanup_free_ uint8_t *big = calloc(1, 64 * 1024);
        size_t size;

        assert_non_null(big);
        /* 64 KiB in all, attributes included: the largest accepted. */
        put_var(dir, "Test-" EFI_GLOBAL_GUID, 0x7, big, 64 * 1024 - 4);
        assert_int_equal(efi_read_var(dir, "Test", EFI_GLOBAL_GUID, NULL, NULL, &size), 0);
        assert_int_equal(size, 64 * 1024 - 4);
        put_var(dir, "Test-" EFI_GLOBAL_GUID, 0x7, big, 64 * 1024 - 3);
        assert_int_equal(efi_read_var(dir, "Test", EFI_GLOBAL_GUID, NULL, NULL, &size), -E2BIG);
}

/* ---- method 1: LoaderDevicePartUUID ---- */

static void test_loader_upper_with_nul(void **state)
{
        put_loader(*state, UUID1_UPPER, true);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_loader_upper_without_nul(void **state)
{
        put_loader(*state, UUID1_UPPER, false);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_loader_lower_with_nul(void **state)
{
        put_loader(*state, UUID1, true);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_loader_lower_without_nul(void **state)
{
        put_loader(*state, UUID1, false);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_loader_mixed_case(void **state)
{
        put_loader(*state, "C0ffEE00-1234-4aBC-8DEF-0123456789aB", true);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

/* efi_parse_loader_partuuid() on raw bytes, expecting exactly this message. */
static void expect_loader_bad(const void *p, size_t n, const char *message)
{
        _cleanup_free_ char *why = NULL;
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
        char out[GUID_STRING_MAX] = "untouched";

        assert_non_null(copy);
        if (n)
                memcpy(copy, p, n);
        assert_int_equal(efi_parse_loader_partuuid(copy, n, out, &why), -EBADMSG);
        assert_string_equal(strna(why), message);
        assert_string_equal(out, "untouched");
}

static void expect_loader_text_bad(const char *text, bool nul, const char *message)
{
        struct blob b = {};

        assert_int_equal(blob_utf16(&b, text, nul), 0);
        expect_loader_bad(b.data, b.size, message);
        blob_done(&b);
}

static void test_loader_odd_size(void **state)
{
        struct blob b = {};

        (void)state;
        assert_int_equal(blob_utf16(&b, UUID1, true), 0);
        expect_loader_bad(b.data, b.size - 1, "73 bytes, not a whole number of UTF-16 characters");
        blob_done(&b);
}

static void test_loader_too_short(void **state)
{
        (void)state;
        expect_loader_text_bad("c0ffee00-1234-4abc-8def-0123456789a", true,
                               "35 characters, expected 36 (a GUID as text)");
}

static void test_loader_too_long(void **state)
{
        (void)state;
        expect_loader_text_bad(UUID1 "0", false, "37 characters, expected 36 (a GUID as text)");
}

static void test_loader_empty(void **state)
{
        (void)state;
        expect_loader_bad("", 0, "0 characters, expected 36 (a GUID as text)");
        expect_loader_bad("\0\0", 2, "0 characters, expected 36 (a GUID as text)");
}

static void test_loader_non_hex(void **state)
{
        (void)state;
        expect_loader_text_bad("c0ffee00-1234-4abc-8def-0123456789ag", true,
                               "character 36 is 'g', not a hex digit");
        expect_loader_text_bad("c0ffee00-1234-4abc-8def 0123456789ab", true,
                               "character 24 is U+0020, expected '-'");
}

static void test_loader_non_ascii(void **state)
{
        (void)state;
        /* U+FF10 FULLWIDTH DIGIT ZERO: a digit to isxdigit() in some locales, not to us. */
        expect_loader_text_bad("\xef\xbc\x90"
                               "0ffee00-1234-4abc-8def-0123456789ab",
                               true, "character 1 is U+FF10, not a hex digit");
}

static void test_loader_misplaced_dashes(void **state)
{
        (void)state;
        expect_loader_text_bad("c0ffee0-01234-4abc-8def-0123456789ab", true,
                               "character 8 is '-', not a hex digit");
        expect_loader_text_bad("c0ffee001234-4abc-8def-0123456789ab-", true,
                               "character 9 is '1', expected '-'");
}

static void test_loader_embedded_nul(void **state)
{
        struct blob b = {};

        (void)state;
        assert_int_equal(blob_utf16(&b, "c0ffee00-1234", true), 0);
        assert_int_equal(blob_utf16(&b, "-4abc-8def-0123456789ab", true), 0);
        expect_loader_bad(b.data, b.size, "embedded NUL at character 14 of 37");
        blob_done(&b);
        /* Two NULs at the end: only one terminator is allowed. */
        assert_int_equal(blob_utf16(&b, UUID1, true), 0);
        blob_u16(&b, 0);
        expect_loader_bad(b.data, b.size, "embedded NUL at character 37 of 37");
        blob_done(&b);
}

/* ---- method 2: BootCurrent -> Boot#### ---- */

static void check_method2(const char *dir, enum shape s, uint32_t part, const char *uuid,
                          const char *text)
{
        struct blob p = {};

        build_path(&p, s, part, uuid);
        put_bootcurrent(dir, 0x0003);
        put_entry(dir, 0x0003, "Linux Boot Manager", &p);
        blob_done(&p);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, uuid, 3, "Linux Boot Manager", text, NULL);
}

static void test_bootcurrent_short_form_partition_1(void **state)
{
        check_method2(*state, SHAPE_SHORT, 1, UUID1,
                      "HD(1,GPT," UUID1 ",0x800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_short_form_partition_2(void **state)
{
        check_method2(*state, SHAPE_SHORT, 2, UUID2,
                      "HD(2,GPT," UUID2 ",0x100800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_full_sata_partition_1(void **state)
{
        check_method2(*state, SHAPE_SATA, 1, UUID1,
                      "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT," UUID1
                      ",0x800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_full_sata_partition_2(void **state)
{
        check_method2(*state, SHAPE_SATA, 2, UUID2,
                      "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(2,GPT," UUID2
                      ",0x100800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_full_nvme_partition_1(void **state)
{
        check_method2(*state, SHAPE_NVME, 1, UUID1,
                      "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-25-38-5A-91-B0-2C-4D)/HD(1,GPT," UUID1
                      ",0x800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_full_nvme_partition_2(void **state)
{
        check_method2(*state, SHAPE_NVME, 2, UUID2,
                      "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-25-38-5A-91-B0-2C-4D)/HD(2,GPT," UUID2
                      ",0x100800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_bootcurrent_entry_number_is_upper_hex(void **state)
{
        const char *dir = *state;
        struct blob p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        put_bootcurrent(dir, 0x00ab);
        put_entry(dir, 0x00ab, "x", &p);
        blob_done(&p);
        {
                _cleanup_free_ char *f = NULL;

                assert_true(asprintf(&f, "%s/Boot00AB-%s", dir, EFI_GLOBAL_GUID) > 0);
                assert_int_equal(access(f, F_OK), 0);
        }
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 0xab, "x",
                     "HD(1,GPT," UUID1 ",0x800,0x100000)/File(" SDBOOT_FILE ")", NULL);
}

static void test_bootcurrent_hd_in_first_of_two_instances(void **state)
{
        const char *dir = *state;
        struct blob p = {};

        assert_int_equal(dp_hd_gpt(&p, 1, 0x800, 0x100000, UUID1), 0);
        dp_end_instance(&p);
        assert_int_equal(dp_hd_gpt(&p, 2, 0x100800, 0x100000, UUID2), 0);
        dp_end(&p);
        put_bootcurrent(dir, 3);
        put_entry(dir, 3, "two", &p);
        blob_done(&p);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 3, "two",
                     "HD(1,GPT," UUID1 ",0x800,0x100000),HD(2,GPT," UUID2 ",0x100800,0x100000)",
                     NULL);
}

/* ---- precedence and fallback ---- */

static void test_loader_wins_over_bootcurrent(void **state)
{
        const char *dir = *state;
        struct blob p = {};

        build_path(&p, SHAPE_SHORT, 2, UUID2);
        put_bootcurrent(dir, 3);
        put_entry(dir, 3, "Linux Boot Manager", &p);
        blob_done(&p);
        put_loader(dir, UUID1_UPPER, true);
        expect_found(dir, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_malformed_loader_falls_back_with_note(void **state)
{
        const char *dir = *state;
        struct blob p = {};

        build_path(&p, SHAPE_SHORT, 2, UUID2);
        put_bootcurrent(dir, 3);
        put_entry(dir, 3, "Linux Boot Manager", &p);
        blob_done(&p);
        put_loader(dir, "not-a-guid", true);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID2, 3, "Linux Boot Manager",
                     "HD(2,GPT," UUID2 ",0x100800,0x100000)/File(" SDBOOT_FILE ")",
                     "LoaderDevicePartUUID is malformed (10 characters, expected 36 (a GUID "
                     "as text)), ignoring");
}

static void test_truncated_loader_file_falls_back_with_note(void **state)
{
        const char *dir = *state;
        struct blob p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        put_bootcurrent(dir, 3);
        put_entry(dir, 3, "L", &p);
        blob_done(&p);
        assert_int_equal(efivar_write_raw(dir, LOADER_VAR, "\x06\x00", 2), 0);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 3, "L",
                     "HD(1,GPT," UUID1 ",0x800,0x100000)/File(" SDBOOT_FILE ")",
                     "LoaderDevicePartUUID is malformed (its efivarfs file is shorter than the "
                     "4-byte attributes word), ignoring");
}

/* ---- failures of the whole search ---- */

static void test_not_uefi_when_dir_missing(void **state)
{
        _cleanup_free_ char *dir = NULL, *msg = NULL;

        assert_true(asprintf(&dir, "%s/missing", (char *)*state) > 0);
        assert_true(asprintf(&msg, "not booted with UEFI (%s does not exist)", dir) > 0);
        expect_failure(dir, -EOPNOTSUPP, msg);
}

static void test_nothing_set(void **state)
{
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is not set, and BootCurrent is not set");
}

static void test_bootcurrent_wrong_size(void **state)
{
        const char *dir = *state;

        put_var(dir, BOOTCURRENT_VAR, 0x6, "\x03", 1);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and BootCurrent is 1 bytes, expected 2");
        put_var(dir, BOOTCURRENT_VAR, 0x6, "\x03\x00\x00", 3);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and BootCurrent is 3 bytes, expected 2");
}

static void test_bootcurrent_file_shorter_than_attributes(void **state)
{
        const char *dir = *state;

        assert_int_equal(efivar_write_raw(dir, BOOTCURRENT_VAR, "\x06\x00\x00", 3), 0);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and BootCurrent is malformed (its "
                       "efivarfs file is shorter than the 4-byte attributes word)");
}

static void test_boot_entry_missing(void **state)
{
        put_bootcurrent(*state, 3);
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is not set, and BootCurrent is 0x0003 but Boot0003 "
                       "is not set");
}

static void test_boot_entry_too_big(void **state)
{
        const char *dir = *state;
        _cleanup_free_ uint8_t *big = calloc(1, 70000);

        assert_non_null(big);
        put_bootcurrent(dir, 3);
        put_var(dir, BOOT0003_VAR, 0x7, big, 70000);
        expect_failure(dir, -E2BIG,
                       "LoaderDevicePartUUID is not set, and Boot0003 is larger than 64 KiB");
}

static void test_malformed_loader_and_no_bootcurrent(void **state)
{
        put_loader(*state, UUID1 "x", true);
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is malformed (37 characters, expected 36 (a GUID "
                       "as text)), and BootCurrent is not set");
}

static void test_unreadable_variable_says_why(void **state)
{
        _cleanup_free_ char *var = NULL;
        const char *dir = *state;

        /* A directory where the variable should be: read() fails with EISDIR. */
        assert_true(asprintf(&var, "%s/%s", dir, BOOTCURRENT_VAR) > 0);
        assert_int_equal(mkdir(var, 0755), 0);
        expect_failure(dir, -EISDIR,
                       "LoaderDevicePartUUID is not set, and cannot read BootCurrent: Is a "
                       "directory");
}

static void test_unreadable_loader_falls_back_with_note(void **state)
{
        _cleanup_free_ char *var = NULL;
        const char *dir = *state;
        struct blob p = {};

        assert_true(asprintf(&var, "%s/%s", dir, LOADER_VAR) > 0);
        assert_int_equal(mkdir(var, 0755), 0);
        build_path(&p, SHAPE_SHORT, 1, UUID1);
        put_bootcurrent(dir, 3);
        put_entry(dir, 3, "L", &p);
        blob_done(&p);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 3, "L",
                     "HD(1,GPT," UUID1 ",0x800,0x100000)/File(" SDBOOT_FILE ")",
                     "cannot read LoaderDevicePartUUID: Is a directory, ignoring");
}

static void test_efivars_path_not_a_directory(void **state)
{
        _cleanup_free_ char *file = NULL, *msg = NULL;

        assert_true(asprintf(&file, "%s/file", (char *)*state) > 0);
        assert_int_equal(efivar_write_raw(*state, "file", "", 0), 0);
        assert_true(asprintf(&msg, "%s is not a directory", file) > 0);
        expect_failure(file, -ENOTDIR, msg);
}

static void test_null_dir_uses_env(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct efi_boot b = {};

        put_loader(*state, UUID1, true);
        assert_int_equal(setenv("DUAL_ROOT_EFIVARS", *state, 1), 0);
        assert_int_equal(efi_find_booted_partuuid(NULL, &b, &why), 0);
        assert_int_equal(unsetenv("DUAL_ROOT_EFIVARS"), 0);
        assert_string_equal(b.partuuid, UUID1);
        assert_string_equal(boot_method_to_string(b.method), "LoaderDevicePartUUID");
        assert_string_equal(boot_method_to_string(BOOT_METHOD_BOOTCURRENT), "BootCurrent");
        assert_string_equal(boot_method_to_string(BOOT_METHOD_NONE), "none");
        efi_boot_done(&b);
}

/* Boot0003 with exactly these bytes, BootCurrent = 3, no LoaderDevicePartUUID. */
static void expect_entry_failure(const char *dir, const struct blob *entry, int error,
                                 const char *message)
{
        _cleanup_free_ char *full = NULL;

        assert_false(entry->failed);
        put_bootcurrent(dir, 3);
        put_var(dir, BOOT0003_VAR, 0x7, entry->data, entry->size);
        assert_true(asprintf(&full, "LoaderDevicePartUUID is not set, and %s", message) > 0);
        expect_failure(dir, error, full);
}

/* A load option header, description and raw path bytes, with a FilePathListLength of our
 * choosing (which is the point of most malformed cases). */
static void build_option(struct blob *o, uint16_t path_length, const char *description,
                         const struct blob *path)
{
        blob_u32(o, ENC_LOAD_OPTION_ACTIVE);
        blob_u16(o, path_length);
        assert_int_equal(blob_utf16(o, description, true), 0);
        if (path)
                blob_put(o, path->data, path->size);
}

static void test_load_option_shorter_than_header(void **state)
{
        struct blob o = {};

        blob_put(&o, "\x01\0\0\0\x10", 5);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: load option is 5 bytes, shorter than its 6-byte header "
                             "(Attributes, FilePathListLength)");
        blob_done(&o);
}

static void test_load_option_description_unterminated(void **state)
{
        struct blob o = {};

        blob_u32(&o, 1);
        blob_u16(&o, 4);
        assert_int_equal(blob_utf16(&o, "Linux", false), 0);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: Description is not NUL-terminated within the 10 bytes "
                             "left");
        blob_done(&o);
}

static void test_load_option_description_odd_tail(void **state)
{
        struct blob o = {};

        blob_u32(&o, 1);
        blob_u16(&o, 4);
        assert_int_equal(blob_utf16(&o, "Li", false), 0);
        blob_u8(&o, 0); /* half a NUL */
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: Description is not NUL-terminated within the 5 bytes "
                             "left");
        blob_done(&o);
}

static void test_load_option_path_length_exceeds_data(void **state)
{
        struct blob o = {}, p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        p.size = 40; /* the first 40 bytes of a 116-byte path */
        build_option(&o, 120, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: FilePathListLength 120 exceeds the 40 bytes left");
        blob_done(&o);
        blob_done(&p);
}

static void test_load_option_empty_path(void **state)
{
        struct blob o = {};

        build_option(&o, 0, "L", NULL);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path (0 bytes) does not end with an End Entire "
                             "node (0x7F/0xFF)");
        blob_done(&o);
}

static void test_node_length_zero(void **state)
{
        struct blob o = {}, p = {};

        /* A zero-length node: a naive walker would spin on it forever. */
        dp_header(&p, 4, 1, 0);
        dp_end(&p);
        build_option(&o, (uint16_t)p.size, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path node 1 at offset 0 (type 0x04, subtype "
                             "0x01): length 0 is less than the 4-byte node header");
        blob_done(&o);
        blob_done(&p);
}

static void test_node_length_below_header(void **state)
{
        struct blob o = {}, p = {};

        assert_int_equal(dp_hd_gpt(&p, 1, 0x800, 0x100000, UUID1), 0);
        dp_header(&p, 4, 4, 3);
        dp_end(&p);
        build_option(&o, (uint16_t)p.size, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path node 2 at offset 42 (type 0x04, subtype "
                             "0x04): length 3 is less than the 4-byte node header");
        blob_done(&o);
        blob_done(&p);
}

static void test_node_length_exceeds_path(void **state)
{
        struct blob o = {}, p = {};

        build_path(&p, SHAPE_SATA, 1, UUID1);
        /* FilePathListLength ends inside the HD node (offset 28, 42 bytes long). */
        build_option(&o, 28 + 30, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path node 4 at offset 28 (type 0x04, subtype "
                             "0x01): length 42 exceeds the 30 bytes left");
        blob_done(&o);
        blob_done(&p);
}

static void test_node_header_cut(void **state)
{
        struct blob o = {}, p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        build_option(&o, 42 + 2, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path node 2 at offset 42: 2 bytes left, too few "
                             "for the 4-byte node header");
        blob_done(&o);
        blob_done(&p);
}

static void test_path_without_end_entire(void **state)
{
        struct blob o = {}, p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        build_option(&o, (uint16_t)(p.size - 4), "L", &p); /* End node left outside */
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path (112 bytes) does not end with an End Entire "
                             "node (0x7F/0xFF)");
        blob_done(&o);
        blob_done(&p);
}

static void test_path_ending_with_end_instance(void **state)
{
        struct blob o = {}, p = {};

        assert_int_equal(dp_hd_gpt(&p, 1, 0x800, 0x100000, UUID1), 0);
        dp_end_instance(&p);
        build_option(&o, (uint16_t)p.size, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path (46 bytes) does not end with an End Entire "
                             "node (0x7F/0xFF)");
        blob_done(&o);
        blob_done(&p);
}

static void test_path_bytes_after_end_entire(void **state)
{
        struct blob o = {}, p = {};

        build_path(&p, SHAPE_SHORT, 1, UUID1);
        dp_end(&p);
        build_option(&o, (uint16_t)p.size, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path has 4 bytes after its End Entire node (node "
                             "3 at offset 112)");
        blob_done(&o);
        blob_done(&p);
}

static void test_path_end_node_unknown_subtype(void **state)
{
        struct blob o = {}, p = {};

        dp_header(&p, 0x7f, 0x02, 4);
        dp_end(&p);
        build_option(&o, (uint16_t)p.size, "L", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003: device path node 1 at offset 0 is an End node of "
                             "unknown subtype 0x02");
        blob_done(&o);
        blob_done(&p);
}

static void test_hd_node_wrong_length(void **state)
{
        struct blob o = {}, p = {};

        dp_header(&p, 4, 1, 40);
        blob_put(&p, (uint8_t[36]){ 1 }, 36);
        dp_end(&p);
        build_option(&o, (uint16_t)p.size, "Linux", &p);
        expect_entry_failure(*state, &o, -EBADMSG,
                             "Boot0003 (\"Linux\"): Hard Drive node (device path node 1) has "
                             "length 40, expected 42");
        blob_done(&o);
        blob_done(&p);
}

static void test_whole_disk_entry_names_no_partition(void **state)
{
        struct blob p = {};

        dp_pciroot(&p, 0);
        dp_pci(&p, 0x5, 0x0);
        dp_end(&p);
        put_bootcurrent(*state, 1);
        put_entry(*state, 1, "UEFI Misc Device", &p);
        blob_done(&p);
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI Misc Device\") "
                       "names no partition: PciRoot(0x0)/Pci(0x5,0x0)");
}

static void test_hd_only_in_second_instance_is_not_used(void **state)
{
        struct blob p = {};

        dp_pciroot(&p, 0);
        dp_pci(&p, 0x5, 0x0);
        dp_end_instance(&p);
        assert_int_equal(dp_hd_gpt(&p, 1, 0x800, 0x100000, UUID1), 0);
        dp_end(&p);
        put_bootcurrent(*state, 1);
        put_entry(*state, 1, "M", &p);
        blob_done(&p);
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"M\") names no "
                       "partition: PciRoot(0x0)/Pci(0x5,0x0),HD(1,GPT," UUID1 ",0x800,0x100000)");
}

static void test_mbr_hd_node(void **state)
{
        struct blob p = {};

        dp_hd_mbr(&p, 1, 0x800, 0x100000, 0x1234abcd);
        assert_int_equal(dp_file(&p, "\\EFI\\debian\\grubx64.efi"), 0);
        dp_end(&p);
        put_bootcurrent(*state, 3);
        put_entry(*state, 3, "debian", &p);
        blob_done(&p);
        expect_failure(*state, -EMEDIUMTYPE,
                       "LoaderDevicePartUUID is not set, and Boot0003 (\"debian\"): Hard Drive "
                       "node for partition 1 has an MBR disk signature (0x1234ABCD), not a GPT "
                       "partition GUID: HD(1,MBR,0x1234ABCD,0x800,0x100000)/"
                       "File(\\EFI\\debian\\grubx64.efi)");
}

static void test_hd_node_without_signature(void **state)
{
        static const uint8_t zero[16];
        struct blob p = {};

        dp_hd(&p, 1, 0x800, 0x100000, zero, 2, 0);
        dp_end(&p);
        put_bootcurrent(*state, 3);
        put_entry(*state, 3, "x", &p);
        blob_done(&p);
        expect_failure(
                *state, -EMEDIUMTYPE,
                "LoaderDevicePartUUID is not set, and Boot0003 (\"x\"): Hard Drive node "
                "for partition 1 has no signature, so no PARTUUID: HD(1,0,0,0x800,0x100000)");
}

static void test_hd_node_zero_guid(void **state)
{
        static const uint8_t zero[16];
        struct blob p = {};

        dp_hd(&p, 1, 0x800, 0x100000, zero, 2, 2);
        dp_end(&p);
        put_bootcurrent(*state, 3);
        put_entry(*state, 3, "x", &p);
        blob_done(&p);
        expect_failure(*state, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and Boot0003 (\"x\"): Hard Drive node "
                       "for partition 1 has an all-zero GPT partition GUID: "
                       "HD(1,GPT,00000000-0000-0000-0000-000000000000,0x800,0x100000)");
}

static void test_hd_node_guid_signature_on_mbr_format(void **state)
{
        uint8_t g[16];
        struct blob p = {};

        assert_int_equal(enc_guid(UUID1, g), 0);
        dp_hd(&p, 1, 0x800, 0x100000, g, 1, 2);
        dp_end(&p);
        put_bootcurrent(*state, 3);
        put_entry(*state, 3, "x", &p);
        blob_done(&p);
        expect_failure(*state, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and Boot0003 (\"x\"): Hard Drive node "
                       "for partition 1 has a GUID signature but partition format 0x01, not GPT "
                       "(0x02): HD(1,GPT," UUID1 ",0x800,0x100000)");
}

static void test_hd_node_unknown_signature_type(void **state)
{
        uint8_t g[16];
        struct blob p = {};

        assert_int_equal(enc_guid(UUID1, g), 0);
        dp_hd(&p, 7, 0x800, 0x100000, g, 2, 3);
        dp_end(&p);
        put_bootcurrent(*state, 3);
        put_entry(*state, 3, "x", &p);
        blob_done(&p);
        expect_failure(*state, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and Boot0003 (\"x\"): Hard Drive node "
                       "for partition 7 has unknown signature type 0x03: "
                       "HD(7,3,0,0x800,0x100000)");
}

/* ---- description UCS-2 -> UTF-8 ---- */

static void expect_description(const struct blob *desc_units, const char *utf8)
{
        _cleanup_free_ char *why = NULL;
        struct efi_load_option opt = {};
        struct blob o = {}, p = {};

        dp_end(&p);
        blob_u32(&o, 1);
        blob_u16(&o, (uint16_t)p.size);
        blob_put(&o, desc_units->data, desc_units->size);
        blob_u16(&o, 0);
        blob_put(&o, p.data, p.size);
        assert_int_equal(efi_parse_load_option(o.data, o.size, &opt, &why), 0);
        assert_string_equal(opt.description, utf8);
        assert_int_equal(opt.attributes, 1);
        assert_int_equal(opt.path_size, 4);
        efi_load_option_done(&opt);
        blob_done(&o);
        blob_done(&p);
}

static void test_description_utf16_to_utf8(void **state)
{
        struct blob d = {};

        (void)state;
        assert_int_equal(blob_utf16(&d, "Caf\xc3\xa9 \xe2\x82\xac", false), 0);
        expect_description(&d, "Caf\xc3\xa9 \xe2\x82\xac");
        blob_done(&d);

        /* U+1F600 as a surrogate pair. */
        assert_int_equal(blob_utf16(&d, "a\xf0\x9f\x98\x80z", false), 0);
        assert_int_equal(d.size, 8);
        expect_description(&d, "a\xf0\x9f\x98\x80z");
        blob_done(&d);
}

static void test_description_lone_surrogates_become_fffd(void **state)
{
        struct blob d = {};

        (void)state;
        blob_u16(&d, 'a');
        blob_u16(&d, 0xd83d); /* high surrogate, then no low one */
        blob_u16(&d, 'b');
        blob_u16(&d, 0xde00); /* low surrogate alone */
        blob_u16(&d, 0xd800); /* high surrogate at the very end */
        expect_description(&d, "a\xef\xbf\xbd"
                               "b\xef\xbf\xbd\xef\xbf\xbd");
        blob_done(&d);
}

static void test_description_control_characters_become_fffd(void **state)
{
        struct blob d = {};

        (void)state;
        blob_u16(&d, 'a');
        blob_u16(&d, 0x1b); /* ESC: would let firmware drive the terminal */
        blob_u16(&d, 0x9b); /* C1 CSI */
        blob_u16(&d, 'b');
        expect_description(&d, "a\xef\xbf\xbd\xef\xbf\xbd"
                               "b");
        blob_done(&d);
}

static void test_optional_data_is_ignored(void **state)
{
        _cleanup_free_ char *why = NULL;
        char uuid[GUID_STRING_MAX];
        struct efi_load_option opt = {};
        struct blob o = {}, p = {};

        (void)state;
        build_path(&p, SHAPE_SHORT, 1, UUID1);
        assert_int_equal(enc_load_option(&o, 1, "L", &p, "\x7f\xff\x04\x00junk", 8), 0);
        assert_int_equal(efi_parse_load_option(o.data, o.size, &opt, &why), 0);
        assert_int_equal(opt.path_size, p.size);
        assert_int_equal(efi_devpath_find_gpt_partuuid(opt.path, opt.path_size, uuid, &why), 0);
        assert_string_equal(uuid, UUID1);
        efi_load_option_done(&opt);
        blob_done(&o);
        blob_done(&p);
}

/* ---- efi_devpath_to_string ---- */

static void expect_text(struct blob *nodes, const char *text)
{
        _cleanup_free_ char *s = NULL;
        _cleanup_free_ uint8_t *copy = NULL;

        dp_end(nodes);
        assert_false(nodes->failed);
        copy = malloc(nodes->size);
        assert_non_null(copy);
        memcpy(copy, nodes->data, nodes->size);
        assert_int_equal(efi_devpath_to_string(copy, nodes->size, &s), 0);
        assert_string_equal(s, text);
        blob_done(nodes);
}

static void node(struct blob *b, uint8_t type, uint8_t subtype, const void *payload, size_t n)
{
        dp_header(b, type, subtype, (uint16_t)(4 + n));
        blob_put(b, payload, n);
}

static void node_guid(struct blob *b, uint8_t type, uint8_t subtype, const char *guid,
                      const void *extra, size_t n)
{
        uint8_t g[16];

        assert_int_equal(enc_guid(guid, g), 0);
        dp_header(b, type, subtype, (uint16_t)(20 + n));
        blob_put(b, g, 16);
        blob_put(b, extra, n);
}

#define G "12345678-9abc-def0-1234-56789abcdef0"

static void test_text_acpi(void **state)
{
        struct blob b = {};

        (void)state;
        dp_pciroot(&b, 0);
        expect_text(&b, "PciRoot(0x0)");
        node(&b, 2, 1, "\xd0\x41\x08\x0a\x01\0\0\0", 8);
        expect_text(&b, "PcieRoot(0x1)");
        node(&b, 2, 1, "\xd0\x41\x01\x05\x00\0\0\0", 8);
        expect_text(&b, "Acpi(PNP0501,0x0)");
        node(&b, 2, 1, "\xff\xff\xff\xff\x02\0\0\0", 8);
        expect_text(&b, "Acpi(0xFFFFFFFF,0x2)");
        node(&b, 2, 3, "\x00\x01\x00\x80", 4);
        expect_text(&b, "AcpiAdr(0x80000100)");
}

static void test_text_hardware(void **state)
{
        struct blob b = {};

        (void)state;
        dp_pci(&b, 0x1f, 0x2);
        expect_text(&b, "Pci(0x1F,0x2)");
        node(&b, 1, 5, "\x01\0\0\0", 4);
        expect_text(&b, "Ctrl(0x1)");
        node_guid(&b, 1, 4, G, NULL, 0);
        expect_text(&b, "VenHw(" G ")");
        node(&b, 1, 3,
             "\x01\0\0\0"
             "\0\0\0\xfe\0\0\0\0"
             "\xff\xff\xff\xfe\0\0\0\0",
             20);
        expect_text(&b, "MemoryMapped(0x1,0xFE000000,0xFEFFFFFF)");
}

static void test_text_messaging(void **state)
{
        static const uint8_t eui[8] = { 1, 2, 3, 4, 5, 6, 7, 0xab };
        uint8_t mac[33] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        struct blob b = {};

        (void)state;
        dp_sata(&b, 1, 0xffff, 0);
        expect_text(&b, "Sata(0x1,0xFFFF,0x0)");
        node(&b, 3, 2, "\x01\0\x02\0", 4);
        expect_text(&b, "Scsi(0x1,0x2)");
        node(&b, 3, 5, "\x03\x00", 2);
        expect_text(&b, "USB(0x3,0x0)");
        dp_nvme(&b, 1, eui);
        expect_text(&b, "NVMe(0x1,01-02-03-04-05-06-07-AB)");
        mac[32] = 1;
        node(&b, 3, 11, mac, sizeof(mac));
        expect_text(&b, "MAC(525400123456,0x1)");
        node(&b, 3, 1, "\x01\x00\x00\x00", 4);
        expect_text(&b, "Ata(Secondary,Master,0x0)");
        node_guid(&b, 3, 10, G, "\x01\x02", 2);
        expect_text(&b, "VenMsg(" G ",0102)");
        node(&b, 3, 24, "http://boot.example/x.efi", 25);
        expect_text(&b, "Uri(http://boot.example/x.efi)");
        node(&b, 3, 24,
             "a\x1b"
             "b",
             3);
        expect_text(&b, "Uri(a?b)");
        node(&b, 3, 20, "\x64\x00", 2);
        expect_text(&b, "Vlan(100)");
        node(&b, 3, 25, "\x01\x02", 2);
        expect_text(&b, "UFS(0x1,0x2)");
        node(&b, 3, 26, "\x01", 1);
        expect_text(&b, "SD(0x1)");
        node(&b, 3, 29, "\x00", 1);
        expect_text(&b, "eMMC(0x0)");
        node(&b, 3, 17, "\x02", 1);
        expect_text(&b, "Unit(0x2)");
}

static void test_text_ip(void **state)
{
        struct blob b = {};
        uint8_t v4[23] = { 10, 0, 0, 2, 192, 168, 1, 1, 0, 0, 0, 0, 6, 0, 1 };
        uint8_t v6[56] = { 0 };

        (void)state;
        node(&b, 3, 12, v4, sizeof(v4));
        expect_text(&b, "IPv4(192.168.1.1,TCP,Static,10.0.0.2)");
        v4[12] = 0;
        v4[14] = 0;
        v4[4] = v4[5] = v4[6] = v4[7] = 0;
        node(&b, 3, 12, v4, 15); /* the 19-byte node of UEFI before 2.0 */
        expect_text(&b, "IPv4(0.0.0.0,0x0,DHCP,10.0.0.2)");
        v6[0] = 0xfe;
        v6[1] = 0x80;
        v6[15] = 1;
        v6[16] = 0x20;
        v6[17] = 0x01;
        v6[18] = 0x0d;
        v6[19] = 0xb8;
        v6[31] = 2;
        v6[36] = 17;
        v6[38] = 1;
        node(&b, 3, 13, v6, sizeof(v6));
        expect_text(&b, "IPv6(2001:db8::2,UDP,StatelessAutoConfigure,fe80::1)");
        v6[38] = 9;
        node(&b, 3, 13, v6, 39); /* the 43-byte node of UEFI before 2.3 */
        expect_text(&b, "IPv6(2001:db8::2,UDP,0x9,fe80::1)");
}

static void test_text_media(void **state)
{
        struct blob b = {};
        uint8_t vendata[20];

        (void)state;
        assert_int_equal(dp_hd_gpt(&b, 2, 0x100800, 0x200000, UUID2), 0);
        expect_text(&b, "HD(2,GPT," UUID2 ",0x100800,0x200000)");
        dp_hd_mbr(&b, 1, 0x3f, 0x1000, 0xcafe);
        expect_text(&b, "HD(1,MBR,0x0000CAFE,0x3F,0x1000)");
        node(&b, 4, 2,
             "\0\0\0\0"
             "\x2c\0\0\0\0\0\0\0"
             "\0\x10\0\0\0\0\0\0",
             20);
        expect_text(&b, "CDROM(0x0,0x2C,0x1000)");
        assert_int_equal(dp_file(&b, "\\EFI\\BOOT\\BOOTX64.EFI"), 0);
        expect_text(&b, "File(\\EFI\\BOOT\\BOOTX64.EFI)");
        node_guid(&b, 4, 6, "7c04a583-9e3e-4f1c-ad65-e05268d0b4d1", NULL, 0);
        expect_text(&b, "FvFile(7c04a583-9e3e-4f1c-ad65-e05268d0b4d1)");
        node_guid(&b, 4, 7, G, NULL, 0);
        expect_text(&b, "Fv(" G ")");
        node_guid(&b, 4, 5, G, NULL, 0);
        expect_text(&b, "Media(" G ")");
        node_guid(&b, 4, 3, G, NULL, 0);
        expect_text(&b, "VenMedia(" G ")");
        for (size_t i = 0; i < sizeof(vendata); i++)
                vendata[i] = (uint8_t)i;
        node_guid(&b, 4, 3, G, vendata, sizeof(vendata));
        expect_text(&b, "VenMedia(" G ",000102030405060708090A0B0C0D0E0F...)");
        node(&b, 4, 8,
             "\0\0\0\0"
             "\x38\0\0\0\0\0\0\0"
             "\xff\x1d\x01\0\0\0\0\0",
             20);
        expect_text(&b, "Offset(0x38,0x11DFF)");
}

static void test_text_unknown_and_instances(void **state)
{
        struct blob b = {};

        (void)state;
        node(&b, 3, 15, "\0\0\0\0\0\0\0", 7);
        expect_text(&b, "Path(3,15)");
        node(&b, 0x42, 7, NULL, 0);
        expect_text(&b, "Path(66,7)");
        dp_pciroot(&b, 0);
        dp_end_instance(&b);
        dp_pciroot(&b, 1);
        dp_pci(&b, 0, 0);
        expect_text(&b, "PciRoot(0x0),PciRoot(0x1)/Pci(0x0,0x0)");
        expect_text(&b, ""); /* only End Entire */
}

static void test_text_malformed(void **state)
{
        char *s = NULL;
        struct blob b = {};

        (void)state;
        node(&b, 1, 1, "\x01", 1); /* Pci node one byte short */
        dp_end(&b);
        assert_int_equal(efi_devpath_to_string(b.data, b.size, &s), -EBADMSG);
        blob_done(&b);
        node(&b, 4, 4, "\\\0E\0F", 5); /* File node with half a character */
        dp_end(&b);
        assert_int_equal(efi_devpath_to_string(b.data, b.size, &s), -EBADMSG);
        blob_done(&b);
        dp_pciroot(&b, 0); /* no End node */
        assert_int_equal(efi_devpath_to_string(b.data, b.size, &s), -EBADMSG);
        blob_done(&b);
        assert_null(s);
}

/* ---- hand-assembled fixtures ---- */

static void test_fixture_loader_upper(void **state)
{
        put_fixture(*state, "loader-upper.hex", LOADER_VAR);
        expect_found(*state, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_fixture_sdboot_short(void **state)
{
        put_bootcurrent(*state, 3);
        put_fixture(*state, "sdboot-short.hex", BOOT0003_VAR);
        expect_found(*state, BOOT_METHOD_BOOTCURRENT, UUID1, 3, "Linux Boot Manager",
                     "HD(1,GPT," UUID1 ",0x800,0x100000)/File(" SDBOOT_FILE ")", NULL);
}

static void test_fixture_matches_encoder(void **state)
{
        struct blob fixture = {}, path = {}, option = {}, file = {};

        (void)state;
        /* The encoder's idea of the same entry must be byte-identical. */
        load_fixture("sdboot-short.hex", &fixture);
        build_path(&path, SHAPE_SHORT, 1, UUID1);
        blob_u32(&file, 7);
        assert_int_equal(enc_load_option(&option, 1, "Linux Boot Manager", &path, NULL, 0), 0);
        blob_put(&file, option.data, option.size);
        assert_int_equal(file.size, fixture.size);
        assert_memory_equal(file.data, fixture.data, fixture.size);
        blob_done(&fixture);
        blob_done(&path);
        blob_done(&option);
        blob_done(&file);
}

static void test_fixture_firmware_sata_full(void **state)
{
        put_bootcurrent(*state, 4);
        put_fixture(*state, "firmware-sata-full.hex", "Boot0004-" EFI_GLOBAL_GUID);
        expect_found(*state, BOOT_METHOD_BOOTCURRENT, UUID2, 4, "debian",
                     "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(2,GPT," UUID2
                     ",0x100800,0x200000)/File(\\EFI\\debian\\shimx64.efi)",
                     NULL);
}

static void test_fixture_firmware_nvme_full(void **state)
{
        put_bootcurrent(*state, 2);
        put_fixture(*state, "firmware-nvme-full.hex", "Boot0002-" EFI_GLOBAL_GUID);
        expect_found(*state, BOOT_METHOD_BOOTCURRENT, "0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9", 2,
                     "UEFI OS",
                     "PciRoot(0x0)/Pci(0x1D,0x0)/Pci(0x0,0x0)/NVMe(0x1,00-25-38-5A-91-B0-2C-4D)/"
                     "HD(1,GPT,0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9,0x800,0x100000)/"
                     "File(\\EFI\\BOOT\\BOOTX64.EFI)",
                     NULL);
}

static void test_fixture_ovmf_misc_device(void **state)
{
        put_bootcurrent(*state, 1);
        put_fixture(*state, "ovmf-misc-device.hex", "Boot0001-" EFI_GLOBAL_GUID);
        expect_failure(*state, -ENOENT,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI Misc Device\") "
                       "names no partition: PciRoot(0x0)/Pci(0x5,0x0)");
}

/* ---- mkefivar, run in-process ---- */

#define MKEFIVAR(...)                                                                              \
        mkefivar_run((int)ELEMENTSOF(((char *[]){ "mkefivar", __VA_ARGS__ })),                     \
                     (char *[]){ "mkefivar", __VA_ARGS__ })

static void test_mkefivar_loader_round_trip(void **state)
{
        const char *dir = *state;
        _cleanup_free_ uint8_t *data = NULL;
        uint32_t attr;
        size_t size;

        assert_int_equal(MKEFIVAR((char *)dir, "loader", UUID1, "--upper"), 0);
        assert_int_equal(
                efi_read_var(dir, "LoaderDevicePartUUID", EFI_LOADER_GUID, &attr, &data, &size), 0);
        assert_int_equal(attr, 0x6);
        assert_int_equal(size, 74); /* 36 characters and a NUL */
        assert_memory_equal(data,
                            "C\0"
                            "0\0"
                            "F\0",
                            6);
        expect_found(dir, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);

        free(data);
        data = NULL;
        assert_int_equal(MKEFIVAR((char *)dir, "loader", UUID1_UPPER, "--no-nul"), 0);
        assert_int_equal(
                efi_read_var(dir, "LoaderDevicePartUUID", EFI_LOADER_GUID, NULL, &data, &size), 0);
        assert_int_equal(size, 72);
        assert_memory_equal(data,
                            "c\0"
                            "0\0"
                            "f\0",
                            6);
        expect_found(dir, BOOT_METHOD_LOADER, UUID1, -1, NULL, NULL, NULL);
}

static void test_mkefivar_bootentry_shapes(void **state)
{
        const char *dir = *state;

        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "0x000a"), 0);
        assert_int_equal(MKEFIVAR((char *)dir, "bootentry", "A", "Linux Boot Manager", "--hd", "2",
                                  UUID2, "--full-sata"),
                         0);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID2, 10, "Linux Boot Manager",
                     "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(2,GPT," UUID2
                     ",0x100800,0x100000)/File(" SDBOOT_FILE ")",
                     NULL);

        assert_int_equal(MKEFIVAR((char *)dir, "bootentry", "000a", "nvme", "--full-nvme", "--hd",
                                  "1", UUID1_UPPER, "--file", "\\EFI\\BOOT\\BOOTX64.EFI", "--start",
                                  "2048", "--size", "0x200000"),
                         0);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 10, "nvme",
                     "PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)/HD(1,GPT," UUID1
                     ",0x800,0x200000)/File(\\EFI\\BOOT\\BOOTX64.EFI)",
                     NULL);

        assert_int_equal(
                MKEFIVAR((char *)dir, "bootentry", "a", "short", "--hd", "1", UUID1, "--file", ""),
                0);
        expect_found(dir, BOOT_METHOD_BOOTCURRENT, UUID1, 10, "short",
                     "HD(1,GPT," UUID1 ",0x800,0x100000)", NULL);
}

static void test_mkefivar_whole_disk_and_mbr(void **state)
{
        const char *dir = *state;

        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "1"), 0);
        assert_int_equal(
                MKEFIVAR((char *)dir, "bootentry", "1", "UEFI Misc Device", "--whole-disk"), 0);
        expect_failure(dir, -ENOENT,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI Misc Device\") "
                       "names no partition: PciRoot(0x0)/Pci(0x5,0x0)");

        assert_int_equal(
                MKEFIVAR((char *)dir, "bootentry", "1", "old", "--hd-mbr", "1", "0xdeadbeef"), 0);
        expect_failure(dir, -EMEDIUMTYPE,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"old\"): Hard Drive node "
                       "for partition 1 has an MBR disk signature (0xDEADBEEF), not a GPT "
                       "partition GUID: HD(1,MBR,0xDEADBEEF,0x800,0x100000)/File(" SDBOOT_FILE ")");
}

static void test_mkefivar_raw_and_truncate(void **state)
{
        const char *dir = *state;

        assert_int_equal(MKEFIVAR((char *)dir, "raw", BOOTCURRENT_VAR, "06 00 00 00:03"), 0);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and BootCurrent is 1 bytes, expected 2");

        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "3"), 0);
        assert_int_equal(MKEFIVAR((char *)dir, "bootentry", "3", "L", "--hd", "1", UUID1), 0);
        /* 4 attributes + 6 header + 4 description: cut in the device path. */
        assert_int_equal(MKEFIVAR((char *)dir, "truncate", BOOT0003_VAR, "60"), 0);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and Boot0003: FilePathListLength 116 "
                       "exceeds the 46 bytes left");
        assert_int_equal(MKEFIVAR((char *)dir, "truncate", BOOT0003_VAR, "2"), 0);
        expect_failure(dir, -EBADMSG,
                       "LoaderDevicePartUUID is not set, and Boot0003 is malformed (its "
                       "efivarfs file is shorter than the 4-byte attributes word)");
        assert_int_equal(MKEFIVAR((char *)dir, "raw", "Empty-" EFI_GLOBAL_GUID, ""), 0);
        assert_int_equal(efi_read_var(dir, "Empty", EFI_GLOBAL_GUID, NULL, NULL, NULL), -EBADMSG);
}

static void test_mkefivar_usage_errors(void **state)
{
        const char *dir = *state;

        assert_int_equal(MKEFIVAR((char *)dir), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "frobnicate"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "loader", "not-a-guid"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "10000"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "bootentry", "1", "x"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "bootentry", "1", "x", "--hd", "1"), 2);
        assert_int_equal(
                MKEFIVAR((char *)dir, "bootentry", "1", "x", "--whole-disk", "--hd", "1", UUID1),
                2);
        assert_int_equal(MKEFIVAR((char *)dir, "raw", "X-" EFI_GLOBAL_GUID, "0g"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "raw", "a/b", "00"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "loader", UUID1, "--bogus"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "1", "--upper"), 2);
        /* Growing a file is refused: truncate only cuts. */
        assert_int_equal(MKEFIVAR((char *)dir, "bootcurrent", "1"), 0);
        assert_int_equal(MKEFIVAR((char *)dir, "truncate", BOOTCURRENT_VAR, "7"), 2);
        assert_int_equal(MKEFIVAR((char *)dir, "truncate", "Missing-" EFI_GLOBAL_GUID, "1"), 1);
}

/* ---- extension: a whole disk named by its PCI function, resolved through sysfs ---- */

#define ESP_TYPE "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define LINUX_TYPE "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define DISK_SECTORS 8192 /* 4 MiB */

static void write_file_at(const char *root, const char *rel, const char *content)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
        f = fopen(path, "we");
        if (!f)
                fail_msg("cannot create %s: %s", path, strerror(errno));
        assert_true(fputs(content, f) >= 0);
}

/* mkdir -p root/rel */
static void mkdirs(const char *root, const char *rel)
{
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", root, rel) > 0);
        for (char *p = path + strlen(root) + 1;; p++) {
                if (*p == '/' || *p == 0) {
                        char c = *p;

                        *p = 0;
                        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                                fail_msg("mkdir %s: %s", path, strerror(errno));
                        *p = c;
                        if (!c)
                                break;
                }
        }
}

/* A block device directory as sysfs shows it; partition > 0 makes it a partition. */
static void fake_block(const char *root, const char *rel, unsigned partition, bool hidden)
{
        _cleanup_free_ char *link = NULL, *attr = NULL;

        mkdirs(root, rel);
        assert_true(asprintf(&link, "%s/%s/subsystem", root, rel) > 0);
        assert_int_equal(symlink("../../../../../../../class/block", link), 0);
        assert_true(asprintf(&attr, "%s/dev", rel) > 0);
        write_file_at(root, attr, "252:0\n");
        if (partition > 0) {
                char num[16];

                free(attr);
                assert_true(asprintf(&attr, "%s/partition", rel) > 0);
                snprintf(num, sizeof(num), "%u\n", partition);
                write_file_at(root, attr, num);
        }
        if (hidden) {
                free(attr);
                assert_true(asprintf(&attr, "%s/hidden", rel) > 0);
                write_file_at(root, attr, "1\n");
        }
}

/* A host bridge with the given ACPI _UID (NULL: no firmware_node). */
static void fake_pci_root(const char *root, const char *name, const char *uid)
{
        _cleanup_free_ char *rel = NULL;

        assert_true(asprintf(&rel, "sys/devices/%s/firmware_node", name) > 0);
        mkdirs(root, rel);
        if (uid) {
                free(rel);
                assert_true(asprintf(&rel, "sys/devices/%s/firmware_node/uid", name) > 0);
                write_file_at(root, rel, uid);
        }
}

/* OVMF's virtio disk: PCI 0000:00:05.0 -> virtio2 -> block/vda with partitions. */
static void fake_virtio_disk(const char *root, const char *name)
{
        _cleanup_free_ char *rel = NULL, *part = NULL, *drv = NULL;

        assert_true(asprintf(&rel, "sys/devices/pci0000:00/0000:00:05.0/virtio2/block/%s", name) >
                    0);
        fake_block(root, rel, 0, false);
        assert_true(asprintf(&part, "%s/%s1", rel, name) > 0);
        fake_block(root, part, 1, false);
        /* Symlinks such as driver/ must not be followed. */
        assert_true(asprintf(&drv, "%s/sys/devices/pci0000:00/0000:00:05.0/driver", root) > 0);
        if (symlink("../../../bus/pci/drivers/virtio-pci", drv) < 0)
                assert_int_equal(errno, EEXIST);
}

static uint32_t crc32_gpt(const uint8_t *p, size_t n)
{
        uint32_t c = 0xffffffff;

        for (size_t i = 0; i < n; i++) {
                c ^= p[i];
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0xedb88320 : c >> 1;
        }
        return ~c;
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

struct gpt_part {
        const char *type, *uuid;
};

/* A disk image with a protective MBR and a primary GPT (UEFI 2.10 §5.3) holding the given
 * partitions, 1 MiB each from LBA 2048; or, with mbr_esp, a DOS table with one ESP (0xEF). */
static void make_disk_image(const char *root, const char *name, const struct gpt_part *parts,
                            size_t n, bool mbr_esp)
{
        _cleanup_free_ uint8_t *img = calloc(DISK_SECTORS, 512);
        _cleanup_free_ char *path = NULL;
        uint8_t *mbr, *hdr, *ent;

        assert_non_null(img);
        mbr = img;
        mbr[446 + 4] = mbr_esp ? 0xef : 0xee;
        put_le32(mbr + 446 + 8, mbr_esp ? 2048 : 1);
        put_le32(mbr + 446 + 12, mbr_esp ? 2048 : DISK_SECTORS - 1);
        mbr[446 + 1] = 0;
        mbr[446 + 2] = 2; /* CHS start 0/0/2 */
        mbr[446 + 5] = mbr[446 + 6] = mbr[446 + 7] = 0xff;
        mbr[510] = 0x55;
        mbr[511] = 0xaa;

        if (!mbr_esp) {
                hdr = img + 512;
                ent = img + 1024;
                for (size_t i = 0; i < n; i++) {
                        uint8_t *e = ent + 128 * i;

                        assert_int_equal(enc_guid(parts[i].type, e), 0);
                        assert_int_equal(enc_guid(parts[i].uuid, e + 16), 0);
                        put_le64(e + 32, 2048 + 2048 * i);
                        put_le64(e + 40, 2048 + 2048 * i + 2047);
                }
                memcpy(hdr, "EFI PART", 8);
                put_le32(hdr + 8, 0x00010000);
                put_le32(hdr + 12, 92);
                put_le64(hdr + 24, 1);
                put_le64(hdr + 32, DISK_SECTORS - 1);
                put_le64(hdr + 40, 34);
                put_le64(hdr + 48, DISK_SECTORS - 34);
                assert_int_equal(enc_guid("d15c0000-0000-4000-8000-000000000001", hdr + 56), 0);
                put_le64(hdr + 72, 2);
                put_le32(hdr + 80, 128);
                put_le32(hdr + 84, 128);
                put_le32(hdr + 88, crc32_gpt(ent, 128 * 128));
                put_le32(hdr + 16, crc32_gpt(hdr, 92));
        }
        mkdirs(root, "dev");
        assert_true(asprintf(&path, "%s/dev/%s", root, name) > 0);
        assert_int_equal(
                efivar_write_raw(root, path + strlen(root) + 1, img, (size_t)DISK_SECTORS * 512),
                0);
}

static const struct gpt_part one_esp[] = {
        { ESP_TYPE, UUID1 },
        { LINUX_TYPE, UUID2 },
};

/* efivars in root/efivars: BootCurrent = 1, Boot0001 = the given path. */
static void put_whole_disk_entry(const char *root, struct blob *path)
{
        _cleanup_free_ char *dir = NULL;

        assert_true(asprintf(&dir, "%s/efivars", root) > 0);
        (void)mkdir(dir, 0755);
        put_bootcurrent(dir, 1);
        put_entry(dir, 1, "UEFI Misc Device", path);
        blob_done(path);
}

static void put_ovmf_entry(const char *root)
{
        struct blob p = {};

        dp_pciroot(&p, 0);
        dp_pci(&p, 0x5, 0x0);
        dp_end(&p);
        put_whole_disk_entry(root, &p);
}

static void expect_disk_failure(const char *root, int error, const char *detail)
{
        _cleanup_free_ char *dir = NULL, *sys = NULL, *dev = NULL, *why = NULL, *msg = NULL;
        struct efi_boot b = {};
        int r;

        assert_true(asprintf(&dir, "%s/efivars", root) > 0);
        assert_true(asprintf(&sys, "%s/sys", root) > 0);
        assert_true(asprintf(&dev, "%s/dev", root) > 0);
        r = efi_find_booted_partuuid_full(dir, sys, dev, &b, &why);
        assert_true(r < 0);
        assert_true(asprintf(&msg,
                             "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI Misc "
                             "Device\") names no partition: PciRoot(0x0)/Pci(0x5,0x0) (%s)",
                             detail) > 0);
        assert_string_equal(strna(why), msg);
        assert_string_equal(strerror(-r), strerror(-error));
}

static void test_whole_disk_resolved_to_its_only_esp(void **state)
{
        const char *root = *state;
        _cleanup_free_ char *dir = NULL, *sys = NULL, *dev = NULL, *why = NULL;
        struct efi_boot b = {};

        fake_pci_root(root, "pci0000:00", "0\n");
        fake_virtio_disk(root, "vda");
        make_disk_image(root, "vda", one_esp, 2, false);
        put_ovmf_entry(root);

        assert_true(asprintf(&dir, "%s/efivars", root) > 0);
        assert_true(asprintf(&sys, "%s/sys", root) > 0);
        assert_true(asprintf(&dev, "%s/dev", root) > 0);
        if (efi_find_booted_partuuid_full(dir, sys, dev, &b, &why) < 0)
                fail_msg("%s", strna(why));
        assert_string_equal(boot_method_to_string(b.method), "BootCurrent-whole-disk");
        assert_string_equal(b.partuuid, UUID1);
        assert_int_equal(b.boot_entry, 1);
        assert_string_equal(b.entry_description, "UEFI Misc Device");
        assert_string_equal(b.device_path, "PciRoot(0x0)/Pci(0x5,0x0)");
        assert_string_equal(strna(b.note),
                            "Boot0001 (\"UEFI Misc Device\") names the whole disk "
                            "PciRoot(0x0)/Pci(0x5,0x0); took its only ESP, partition 1 of vda "
                            "(PCI 0000:00:05.0)");
        efi_boot_done(&b);

        /* Without a sysfs root nothing is resolved: the plain call never guesses. */
        expect_failure(dir, -ENOENT,
                       "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI Misc Device\") "
                       "names no partition: PciRoot(0x0)/Pci(0x5,0x0)");
}

static void test_whole_disk_behind_bridge_on_second_root(void **state)
{
        const char *root = *state;
        _cleanup_free_ char *why = NULL;
        char uuid[GUID_STRING_MAX];
        _cleanup_free_ char *sys = NULL, *dev = NULL, *where = NULL;
        struct efi_pci_chain chain = { .root_uid = 1, .n = 2 };
        static const struct gpt_part parts[] = { { LINUX_TYPE, UUID1 }, { ESP_TYPE, UUID2 } };

        fake_pci_root(root, "pci0000:00", "0\n");
        fake_pci_root(root, "pci0000:80", "1\n");
        fake_pci_root(root, "pci0001:00", NULL);
        /* A root-bus function with the same dev.fn on the other bridge, to be ignored. */
        mkdirs(root, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0");
        fake_block(root,
                   "sys/devices/pci0000:80/0000:80:1c.0/0000:81:00.0/ata1/host0/"
                   "target0:0:0/0:0:0:0/block/sdb",
                   0, false);
        fake_block(root,
                   "sys/devices/pci0000:80/0000:80:1c.0/0000:81:00.0/ata1/host0/"
                   "target0:0:0/0:0:0:0/block/sdb/sdb2",
                   2, false);
        /* Hidden and nested devices do not count as a second disk. */
        fake_block(root,
                   "sys/devices/pci0000:80/0000:80:1c.0/0000:81:00.0/nvme/nvme0/"
                   "nvme0c0n1",
                   0, true);
        fake_block(root,
                   "sys/devices/pci0000:80/0000:80:1c.0/0000:81:00.0/0000:82:00.0/"
                   "block/sdz",
                   0, false);
        make_disk_image(root, "sdb", parts, 2, false);

        chain.hop[0].device = 0x1c;
        chain.hop[1].device = 0;
        assert_true(asprintf(&sys, "%s/sys", root) > 0);
        assert_true(asprintf(&dev, "%s/dev", root) > 0);
        if (efi_resolve_disk_esp(&chain, sys, dev, uuid, &where, &why) < 0)
                fail_msg("%s", strna(why));
        assert_string_equal(uuid, UUID2);
        assert_string_equal(where, "partition 2 of sdb (PCI 0000:81:00.0)");
}

static void test_whole_disk_with_two_esps_is_refused(void **state)
{
        static const struct gpt_part two[] = { { ESP_TYPE, UUID1 }, { ESP_TYPE, UUID2 } };
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vda");
        make_disk_image(*state, "vda", two, 2, false);
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg,
                             "%s/dev/vda has 2 EFI System Partitions (partitions 1 and 2), so "
                             "which one the firmware used is unknown",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -ENOTUNIQ, msg);
}

static void test_whole_disk_without_esp_is_refused(void **state)
{
        static const struct gpt_part none[] = { { LINUX_TYPE, UUID1 } };
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vda");
        make_disk_image(*state, "vda", none, 1, false);
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "%s/dev/vda has no EFI System Partition", (char *)*state) > 0);
        expect_disk_failure(*state, -ENOENT, msg);
}

static void test_whole_disk_with_mbr_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vda");
        make_disk_image(*state, "vda", NULL, 0, true);
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "%s/dev/vda has a dos partition table, not GPT",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -EMEDIUMTYPE, msg);
}

static void test_whole_disk_with_two_disks_is_refused(void **state)
{
        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vdb");
        fake_virtio_disk(*state, "vda");
        put_ovmf_entry(*state);
        expect_disk_failure(*state, -ENOTUNIQ,
                            "PCI function 0000:00:05.0 has more than one disk (vda, vdb), so "
                            "which one the firmware used is unknown");
}

static void test_whole_disk_without_disk_is_refused(void **state)
{
        fake_pci_root(*state, "pci0000:00", "0\n");
        mkdirs(*state, "sys/devices/pci0000:00/0000:00:05.0/virtio2");
        put_ovmf_entry(*state);
        expect_disk_failure(*state, -ENOENT, "PCI function 0000:00:05.0 has no disk");
}

static void test_whole_disk_unknown_pci_root_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "5\n");
        fake_pci_root(*state, "pci0000:40", NULL);
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg,
                             "no PCI host bridge in %s/sys/devices has ACPI _UID 0 (2 bridges, "
                             "1 with firmware_node/uid)",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -ENOENT, msg);
}

static void test_whole_disk_missing_pci_function_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0x0\n");
        mkdirs(*state, "sys/devices/pci0000:00/0000:00:04.0");
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "no PCI function 05.0 under %s/sys/devices/pci0000:00",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -ENOENT, msg);
}

static void test_whole_disk_duplicate_pci_root_uid_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_pci_root(*state, "pci0001:00", "0\n");
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "2 PCI host bridges in %s/sys/devices have ACPI _UID 0",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -ENOTUNIQ, msg);
}

static void test_whole_disk_without_device_node_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;

        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vda");
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "cannot open %s/dev/vda: No such file or directory",
                             (char *)*state) > 0);
        expect_disk_failure(*state, -ENOENT, msg);
}

static void test_whole_disk_blank_is_refused(void **state)
{
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ uint8_t *zero = calloc(1, 1 << 20);

        assert_non_null(zero);
        fake_pci_root(*state, "pci0000:00", "0\n");
        fake_virtio_disk(*state, "vda");
        mkdirs(*state, "dev");
        assert_int_equal(efivar_write_raw(*state, "dev/vda", zero, 1 << 20), 0);
        put_ovmf_entry(*state);
        assert_true(asprintf(&msg, "%s/dev/vda has no partition table", (char *)*state) > 0);
        expect_disk_failure(*state, -ENOENT, msg);
}

static void test_pci_chain_shapes(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct efi_pci_chain c;
        struct blob p = {};

        (void)state;
        dp_pciroot(&p, 3);
        dp_pci(&p, 0x1c, 0x4);
        dp_pci(&p, 0x0, 0x1);
        dp_end(&p);
        assert_int_equal(efi_devpath_pci_chain(p.data, p.size, &c, &why), 0);
        assert_int_equal(c.root_uid, 3);
        assert_int_equal(c.n, 2);
        assert_int_equal(c.hop[0].device, 0x1c);
        assert_int_equal(c.hop[0].function, 0x4);
        assert_int_equal(c.hop[1].device, 0x0);
        assert_int_equal(c.hop[1].function, 0x1);
        blob_done(&p);

        dp_pciroot(&p, 0);
        dp_pci(&p, 0x1f, 0x2);
        dp_sata(&p, 0, 0xffff, 0);
        dp_end(&p);
        assert_int_equal(efi_devpath_pci_chain(p.data, p.size, &c, &why), -ENOENT);
        assert_string_equal(why, "device path node 3 is Sata(0x0,0xFFFF,0x0), not a PCI "
                                 "function: the path names more than a PCI device");
        blob_done(&p);

        dp_pci(&p, 0x1f, 0x2);
        dp_end(&p);
        assert_int_equal(efi_devpath_pci_chain(p.data, p.size, &c, &why), -ENOENT);
        assert_string_equal(why, "device path starts with Pci(0x1F,0x2), not with a PCI root "
                                 "bridge");
        blob_done(&p);

        dp_pciroot(&p, 0);
        dp_end(&p);
        assert_int_equal(efi_devpath_pci_chain(p.data, p.size, &c, &why), -ENOENT);
        assert_string_equal(why, "device path names no PCI function");
        blob_done(&p);

        dp_pciroot(&p, 0);
        for (int i = 0; i < EFI_PCI_CHAIN_MAX + 1; i++)
                dp_pci(&p, 1, 0);
        dp_end(&p);
        assert_int_equal(efi_devpath_pci_chain(p.data, p.size, &c, &why), -E2BIG);
        assert_string_equal(why, "device path has more than 8 PCI hops");
        blob_done(&p);
}

static void test_whole_disk_path_not_a_pci_chain(void **state)
{
        struct blob p = {};

        fake_pci_root(*state, "pci0000:00", "0\n");
        dp_pciroot(&p, 0);
        dp_pci(&p, 0x5, 0x0);
        node(&p, 3, 15, "\0\0\0\0\0\0\0", 7);
        dp_end(&p);
        put_whole_disk_entry(*state, &p);
        {
                _cleanup_free_ char *dir = NULL, *sys = NULL, *why = NULL;
                struct efi_boot b = {};

                assert_true(asprintf(&dir, "%s/efivars", (char *)*state) > 0);
                assert_true(asprintf(&sys, "%s/sys", (char *)*state) > 0);
                assert_int_equal(efi_find_booted_partuuid_full(dir, sys, NULL, &b, &why), -ENOENT);
                assert_string_equal(why, "LoaderDevicePartUUID is not set, and Boot0001 (\"UEFI "
                                         "Misc Device\") names no partition: "
                                         "PciRoot(0x0)/Pci(0x5,0x0)/Path(3,15) (device path "
                                         "node 3 is Path(3,15), not a PCI function: the path "
                                         "names more than a PCI device)");
        }
}

/* ---- robustness: truncations and random corruption ---- */

/* Runs every parser entry point on exactly n bytes in their own allocation (so ASan catches
 * a read past them); any result is fine except a crash or an inconsistent answer. */
static void parse_everything(const uint8_t *p, size_t n)
{
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
        char uuid[GUID_STRING_MAX];
        struct efi_load_option opt = {};
        struct efi_pci_chain chain;
        char *why = NULL, *text = NULL;
        int r;

        assert_non_null(copy);
        if (n)
                memcpy(copy, p, n);

        r = efi_parse_load_option(copy, n, &opt, &why);
        if (r < 0) {
                assert_int_equal(r, -EBADMSG);
                assert_non_null(why);
        } else {
                assert_null(why);
                assert_non_null(opt.description);
                assert_true(opt.path >= copy && opt.path + opt.path_size <= copy + n);
                r = efi_devpath_find_gpt_partuuid(opt.path, opt.path_size, uuid, &why);
                if (r == 0)
                        assert_guid_text(uuid);
                else {
                        assert_true(r == -ENOENT || r == -EBADMSG || r == -EMEDIUMTYPE);
                        assert_non_null(why);
                }
                r = efi_devpath_to_string(opt.path, opt.path_size, &text);
                assert_true(r == 0 || r == -EBADMSG);
                free(text);
                text = NULL;
        }
        free(why);
        why = NULL;
        efi_load_option_done(&opt);

        /* The same bytes as a bare device path and as LoaderDevicePartUUID text. */
        r = efi_devpath_find_gpt_partuuid(copy, n, uuid, &why);
        if (r == 0)
                assert_guid_text(uuid);
        free(why);
        why = NULL;
        r = efi_devpath_pci_chain(copy, n, &chain, &why);
        if (r == 0)
                assert_true(chain.n >= 1 && chain.n <= EFI_PCI_CHAIN_MAX);
        else
                assert_true(r == -ENOENT || r == -EBADMSG || r == -E2BIG);
        free(why);
        why = NULL;
        r = efi_devpath_to_string(copy, n, &text);
        assert_true(r == 0 || r == -EBADMSG);
        free(text);
        r = efi_parse_loader_partuuid(copy, n, uuid, &why);
        if (r == 0)
                assert_guid_text(uuid);
        free(why);
}

/* A valid entry with many node kinds, optional data and a second instance. */
static void build_rich_entry(struct blob *o)
{
        uint8_t mac[33] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
        struct blob p = {};

        build_path(&p, SHAPE_NVME, 2, UUID2);
        p.size -= 4; /* reopen: replace the End Entire by a second instance */
        dp_end_instance(&p);
        dp_pciroot(&p, 0);
        dp_pci(&p, 3, 0);
        mac[32] = 1;
        node(&p, 3, 11, mac, sizeof(mac));
        node(&p, 3, 24, "http://x/y", 10);
        dp_end(&p);
        assert_int_equal(enc_load_option(o, 1, "Rich \xe2\x82\xac", &p, "OPTDATA", 7), 0);
        assert_false(o->failed);
        blob_done(&p);
}

static void test_every_prefix_of_a_valid_entry(void **state)
{
        struct blob o = {};
        size_t optional_start;
        _cleanup_free_ char *why = NULL;
        struct efi_load_option opt = {};

        (void)state;
        build_rich_entry(&o);
        optional_start = o.size - 7;
        for (size_t n = 0; n <= o.size; n++) {
                int r;

                parse_everything(o.data, n);
                r = efi_parse_load_option(o.data, n, &opt, &why);
                /* Cut anywhere before OptionalData, the option cannot be whole. */
                if (n < optional_start)
                        assert_int_equal(r, -EBADMSG);
                else
                        assert_int_equal(r, 0);
                efi_load_option_done(&opt);
        }
        blob_done(&o);
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * UINT64_C(2685821657736338717);
}

static void test_random_corruption_never_crashes(void **state)
{
        uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
        struct blob o = {};

        (void)state;
        build_rich_entry(&o);
        for (unsigned i = 0; i < 5000; i++) {
                _cleanup_free_ uint8_t *m = malloc(o.size);
                size_t n = o.size, flips;

                assert_non_null(m);
                memcpy(m, o.data, o.size);
                flips = 1 + rng_next(&seed) % 4;
                for (size_t k = 0; k < flips; k++) {
                        size_t at = rng_next(&seed) % o.size;

                        /* Half the time aim at length-like values, which matter most. */
                        m[at] = rng_next(&seed) % 2 ? (uint8_t)rng_next(&seed)
                                                    : (uint8_t)(rng_next(&seed) % 8);
                }
                if (rng_next(&seed) % 4 == 0)
                        n = rng_next(&seed) % (o.size + 1);
                parse_everything(m, n);
        }
        blob_done(&o);
}

static void test_random_bytes_never_crash(void **state)
{
        uint64_t seed = 42;

        (void)state;
        for (unsigned i = 0; i < 3000; i++) {
                uint8_t buf[256];
                size_t n = rng_next(&seed) % sizeof(buf);

                for (size_t k = 0; k < n; k++)
                        buf[k] = (uint8_t)(rng_next(&seed) % 4 == 0 ? rng_next(&seed) % 8
                                                                    : rng_next(&seed));
                parse_everything(buf, n);
        }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vars_dir_env_override),
                T(test_read_var_strips_attributes_and_pads),
                T(test_read_var_empty_data_is_fine),
                T(test_read_var_missing_is_enoent),
                T(test_read_var_shorter_than_attributes_is_ebadmsg),
                T(test_read_var_caps_at_64k),

                T(test_loader_upper_with_nul),
                T(test_loader_upper_without_nul),
                T(test_loader_lower_with_nul),
                T(test_loader_lower_without_nul),
                T(test_loader_mixed_case),
                cmocka_unit_test(test_loader_odd_size),
                cmocka_unit_test(test_loader_too_short),
                cmocka_unit_test(test_loader_too_long),
                cmocka_unit_test(test_loader_empty),
                cmocka_unit_test(test_loader_non_hex),
                cmocka_unit_test(test_loader_non_ascii),
                cmocka_unit_test(test_loader_misplaced_dashes),
                cmocka_unit_test(test_loader_embedded_nul),

                T(test_bootcurrent_short_form_partition_1),
                T(test_bootcurrent_short_form_partition_2),
                T(test_bootcurrent_full_sata_partition_1),
                T(test_bootcurrent_full_sata_partition_2),
                T(test_bootcurrent_full_nvme_partition_1),
                T(test_bootcurrent_full_nvme_partition_2),
                T(test_bootcurrent_entry_number_is_upper_hex),
                T(test_bootcurrent_hd_in_first_of_two_instances),

                T(test_loader_wins_over_bootcurrent),
                T(test_malformed_loader_falls_back_with_note),
                T(test_truncated_loader_file_falls_back_with_note),

                T(test_not_uefi_when_dir_missing),
                T(test_nothing_set),
                T(test_bootcurrent_wrong_size),
                T(test_bootcurrent_file_shorter_than_attributes),
                T(test_boot_entry_missing),
                T(test_boot_entry_too_big),
                T(test_malformed_loader_and_no_bootcurrent),
                T(test_unreadable_variable_says_why),
                T(test_unreadable_loader_falls_back_with_note),
                T(test_efivars_path_not_a_directory),
                T(test_null_dir_uses_env),
                T(test_load_option_shorter_than_header),
                T(test_load_option_description_unterminated),
                T(test_load_option_description_odd_tail),
                T(test_load_option_path_length_exceeds_data),
                T(test_load_option_empty_path),
                T(test_node_length_zero),
                T(test_node_length_below_header),
                T(test_node_length_exceeds_path),
                T(test_node_header_cut),
                T(test_path_without_end_entire),
                T(test_path_ending_with_end_instance),
                T(test_path_bytes_after_end_entire),
                T(test_path_end_node_unknown_subtype),
                T(test_hd_node_wrong_length),
                T(test_whole_disk_entry_names_no_partition),
                T(test_hd_only_in_second_instance_is_not_used),
                T(test_mbr_hd_node),
                T(test_hd_node_without_signature),
                T(test_hd_node_zero_guid),
                T(test_hd_node_guid_signature_on_mbr_format),
                T(test_hd_node_unknown_signature_type),

                cmocka_unit_test(test_description_utf16_to_utf8),
                cmocka_unit_test(test_description_lone_surrogates_become_fffd),
                cmocka_unit_test(test_description_control_characters_become_fffd),
                cmocka_unit_test(test_optional_data_is_ignored),

                cmocka_unit_test(test_text_acpi),
                cmocka_unit_test(test_text_hardware),
                cmocka_unit_test(test_text_messaging),
                cmocka_unit_test(test_text_ip),
                cmocka_unit_test(test_text_media),
                cmocka_unit_test(test_text_unknown_and_instances),
                cmocka_unit_test(test_text_malformed),

                T(test_fixture_loader_upper),
                T(test_fixture_sdboot_short),
                cmocka_unit_test(test_fixture_matches_encoder),
                T(test_fixture_firmware_sata_full),
                T(test_fixture_firmware_nvme_full),
                T(test_fixture_ovmf_misc_device),

                T(test_mkefivar_loader_round_trip),
                T(test_mkefivar_bootentry_shapes),
                T(test_mkefivar_whole_disk_and_mbr),
                T(test_mkefivar_raw_and_truncate),
                T(test_mkefivar_usage_errors),

                T(test_whole_disk_resolved_to_its_only_esp),
                T(test_whole_disk_behind_bridge_on_second_root),
                T(test_whole_disk_with_two_esps_is_refused),
                T(test_whole_disk_without_esp_is_refused),
                T(test_whole_disk_with_mbr_is_refused),
                T(test_whole_disk_with_two_disks_is_refused),
                T(test_whole_disk_without_disk_is_refused),
                T(test_whole_disk_unknown_pci_root_is_refused),
                T(test_whole_disk_missing_pci_function_is_refused),
                T(test_whole_disk_duplicate_pci_root_uid_is_refused),
                T(test_whole_disk_without_device_node_is_refused),
                T(test_whole_disk_blank_is_refused),
                cmocka_unit_test(test_pci_chain_shapes),
                T(test_whole_disk_path_not_a_pci_chain),

                cmocka_unit_test(test_every_prefix_of_a_valid_entry),
                cmocka_unit_test(test_random_corruption_never_crashes),
                cmocka_unit_test(test_random_bytes_never_crash),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
