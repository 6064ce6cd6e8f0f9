/* SPDX-License-Identifier: MIT */
/*
 * loaderfile.c: the files a loader starts judged from their headers (DESIGN.md §11 rule S8).
 * Valid images come from tests/tools/loaderimage.h (written apart from the reader); each is
 * then emptied, cut at every length short of whole, and given hostile header values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bootentry.h"
#include "loaderfile.h"
#include "util/macro.h"

#include "../tools/loaderimage.h"

#define PE_AT LI_PE_OFFSET
#define COFF (PE_AT + 4)
#define OPT (COFF + 20)
#define OPT_SIZE ((LI_PE32PLUS ? 112 : 96) + LI_DIRS * 8)
#define SECTIONS (OPT + OPT_SIZE)

static uint8_t *make(const char *kind, uint32_t size)
{
        uint8_t *b = calloc(1, size);

        assert_non_null(b);
        assert_int_equal(loaderimage_make(kind, b, size), 0);
        return b;
}

/* The verdict on size bytes of b, and the reason (NULL when plausible). */
static int judge(const uint8_t *b, size_t size, enum loaderfile_kind kind, char **why)
{
        *why = NULL;
        return loaderfile_check_buffer(b, size, kind, why);
}

static void expect_ok(const uint8_t *b, size_t size, enum loaderfile_kind kind)
{
        char *why = NULL;
        int r = judge(b, size, kind, &why);

        if (r != 0)
                fail_msg("a valid %s of %zu bytes was refused (%d): %s",
                         loaderfile_kind_to_string(kind), size, r, why ? why : "(no reason)");
        free(why);
}

static void expect_bad(const uint8_t *b, size_t size, enum loaderfile_kind kind, const char *reason)
{
        char *why = NULL;
        int r = judge(b, size, kind, &why);

        if (r != -EBADMSG)
                fail_msg("%s of %zu bytes: %d, expected -EBADMSG (%s)",
                         loaderfile_kind_to_string(kind), size, r, reason);
        assert_non_null(why);
        if (reason && strcmp(why, reason) != 0)
                fail_msg("%s of %zu bytes: reason \"%s\", expected \"%s\"",
                         loaderfile_kind_to_string(kind), size, why, reason);
        free(why);
}

static void test_valid_images_are_plausible(void **state)
{
        static const struct {
                const char *make;
                enum loaderfile_kind kind;
        } cases[] = {
                { "efi", LOADERFILE_EFI },       { "efi-signed", LOADERFILE_EFI },
                { "kernel", LOADERFILE_KERNEL }, { "kernel", LOADERFILE_EFI },
                { "uki", LOADERFILE_UKI },       { "uki", LOADERFILE_EFI },
                { "initrd", LOADERFILE_INITRD }, { "dtb", LOADERFILE_DEVICETREE },
        };
        const uint32_t sizes[] = { 8192, 65536, 1048576 };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (size_t j = 0; j < ELEMENTSOF(sizes); j++) {
                        _cleanup_free_ uint8_t *b = make(cases[i].make, sizes[j]);

                        expect_ok(b, sizes[j], cases[i].kind);
                }
#if defined(__x86_64__) || defined(__i386__)
        {
                _cleanup_free_ uint8_t *b = make("bzimage", 8192);

                expect_ok(b, 8192, LOADERFILE_KERNEL);
        }
#endif
}

static void test_empty_files_are_refused(void **state)
{
        (void)state;
        for (int k = LOADERFILE_EFI; k <= LOADERFILE_DEVICETREE; k++)
                expect_bad((const uint8_t *)"", 0, (enum loaderfile_kind)k, "empty (0 bytes)");
}

/* Every length short of the whole file is refused: the headers say where the file ends. */
static void test_every_cut_is_refused(void **state)
{
        static const struct {
                const char *make;
                enum loaderfile_kind kind;
        } cases[] = {
                { "efi", LOADERFILE_EFI },        { "efi-signed", LOADERFILE_EFI },
                { "kernel", LOADERFILE_KERNEL },  { "uki", LOADERFILE_UKI },
                { "dtb", LOADERFILE_DEVICETREE },
        };
        const uint32_t size = 8192;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ uint8_t *b = make(cases[i].make, size);

                for (uint32_t cut = 1; cut < size; cut++)
                        expect_bad(b, cut, cases[i].kind, NULL);
        }
}

static void test_a_cut_names_what_it_cut(void **state)
{
        _cleanup_free_ uint8_t *efi = make("efi", 8192), *signed_efi = make("efi-signed", 8192);
        _cleanup_free_ uint8_t *kernel = make("kernel", 8192), *dtb = make("dtb", 1024);

        (void)state;
        /* .text: 0x200 .. 8192 - 0x200; .data the last 512 bytes */
        expect_bad(efi, 4096, LOADERFILE_EFI,
                   "truncated: the PE section .text ends at byte 7680, the file has 4096");
        expect_bad(efi, 8000, LOADERFILE_EFI,
                   "truncated: the PE section .data ends at byte 8192, the file has 8000");
        {
                char m[128];

                snprintf(m, sizeof(m),
                         "truncated: the PE optional header ends at byte %d, the file has 100",
                         OPT + OPT_SIZE);
                expect_bad(efi, 100, LOADERFILE_EFI, m);
        }
        expect_bad(signed_efi, 8191, LOADERFILE_EFI,
                   "truncated: its signature (the PE certificate table) ends at byte 8192, the "
                   "file has 8191");
        expect_bad(efi, 40, LOADERFILE_EFI,
                   "truncated: the DOS header ends at byte 64, the file has 40");
        expect_bad(efi, 70, LOADERFILE_EFI,
                   "truncated or not a PE image: the PE header (e_lfanew 0x40) ends at byte 88, "
                   "the file has 70");
#if defined(__x86_64__) || defined(__i386__)
        {
                _cleanup_free_ uint8_t *bz = make("bzimage", 8192);

                expect_bad(bz, 6000, LOADERFILE_KERNEL,
                           "truncated: the bzImage header declares 4 setup sectors and 5632 "
                           "bytes of protected-mode code, so the kernel ends at byte 8192, the "
                           "file has 6000");
        }
        expect_bad(kernel, 6000, LOADERFILE_KERNEL,
                   "truncated: the PE section .text ends at byte 8192, the file has 6000");
#endif
        expect_bad(dtb, 1000, LOADERFILE_DEVICETREE,
                   "truncated: the devicetree (its header's totalsize) ends at byte 1024, the "
                   "file has 1000");
}

static void test_hostile_header_values(void **state)
{
        const uint32_t size = 8192;
        _cleanup_free_ uint8_t *good = make("efi", size);
        uint8_t *b = malloc(size);
        char expect[256];

        (void)state;
        assert_non_null(b);
#define FRESH() memcpy(b, good, size)

        FRESH();
        li_put32(b + 0x3c, 0xffffffff);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated or not a PE image: the PE header (e_lfanew 0xffffffff) ends at "
                   "byte 4294967319, the file has 8192");
        FRESH();
        li_put32(b + 0x3c, 0x10); /* inside the DOS header: no signature there */
        expect_bad(b, size, LOADERFILE_EFI,
                   "not a PE image: no \"PE\\0\\0\" signature at byte 0x10 (e_lfanew)");
        FRESH();
        b[0] = 'Z';
        expect_bad(b, size, LOADERFILE_EFI, "not a PE image: it starts with 0x5a 0x5a, not \"MZ\"");
        FRESH();
        li_put16(b + COFF, 0x1234);
        snprintf(expect, sizeof(expect),
                 "built for an unknown machine (PE machine 0x1234); this machine's firmware runs "
                 "%s (0x%04x) images",
                 LI_MACHINE == 0x8664   ? "x64"
                 : LI_MACHINE == 0xaa64 ? "aa64"
                                        : "?",
                 LI_MACHINE);
        if (LI_MACHINE == 0x8664 || LI_MACHINE == 0xaa64)
                expect_bad(b, size, LOADERFILE_EFI, expect);
        FRESH();
        li_put16(b + COFF, LI_MACHINE == 0xaa64 ? 0x8664 : 0xaa64);
        expect_bad(b, size, LOADERFILE_EFI, NULL);
        FRESH();
        li_put16(b + COFF + 2, 0);
        expect_bad(b, size, LOADERFILE_EFI, "the PE image has no sections: nothing to load");
        FRESH();
        li_put16(b + COFF + 2, 0xffff);
        expect_bad(b, size, LOADERFILE_EFI,
                   "the PE header declares 65535 sections, more than the 96 a PE image can have");
        FRESH();
        li_put16(b + COFF + 2, 96);         /* the table then runs over what follows it */
        expect_ok(b, size, LOADERFILE_EFI); /* zeros: empty sections */
        memset(b + SECTIONS + 2 * 40, 0xff, 40);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the PE section ???????? ends at byte 8589934590, the file has "
                   "8192");
        FRESH();
        li_put16(b + COFF + 16, 0);
        expect_bad(b, size, LOADERFILE_EFI, NULL);
        FRESH();
        li_put16(b + COFF + 16, 0xffff);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the PE optional header ends at byte 65623, the file has 8192");
        FRESH();
        li_put16(b + OPT, LI_PE32PLUS ? 0x10b : 0x20b);
        expect_bad(b, size, LOADERFILE_EFI, NULL);
        FRESH();
        li_put16(b + OPT + 68, 3); /* a Windows console program */
        expect_bad(b, size, LOADERFILE_EFI,
                   "PE subsystem 3: not an EFI application (10) or driver (11, 12)");
        FRESH();
        li_put32(b + OPT + 16, 0xfffff000);
        expect_bad(b, size, LOADERFILE_EFI,
                   "the PE entry point 0xfffff000 lies outside the image (SizeOfImage 0x3000)");
        FRESH();
        li_put32(b + OPT + 60, 0x7fffffff);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the PE header area (SizeOfHeaders) ends at byte 2147483647, the "
                   "file has 8192");
        /* A section's pointer and size near 2^32: added in 64 bits, never wrapped. */
        FRESH();
        li_put32(b + SECTIONS + 16, 0xffffffff);
        li_put32(b + SECTIONS + 20, 0xffffffff);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the PE section .text ends at byte 8589934590, the file has 8192");
        FRESH();
        memcpy(b + SECTIONS,
               "\x01\xff"
               "abcdef",
               8);
        li_put32(b + SECTIONS + 20, 0x10000);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the PE section ??abcdef ends at byte 72704, the file has 8192");
        FRESH();
        li_put32(b + OPT + OPT_SIZE - LI_DIRS * 8 + 32, 0xfffffff0);
        li_put32(b + OPT + OPT_SIZE - LI_DIRS * 8 + 36, 0xfffffff0);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: its signature (the PE certificate table) ends at byte 8589934560, "
                   "the file has 8192");
        FRESH();
        li_put32(b + COFF + 8, 0xffffff00); /* PointerToSymbolTable */
        li_put32(b + COFF + 12, 0xffffffff);
        expect_bad(b, size, LOADERFILE_EFI, NULL);
        FRESH();
        li_put32(b + COFF + 8, size); /* a symbol table of no symbols, at the very end */
        expect_ok(b, size, LOADERFILE_EFI);
        FRESH();
        li_put32(b + COFF + 8, size - 4); /* then a string table that claims more */
        li_put32(b + size - 4, 100);
        expect_bad(b, size, LOADERFILE_EFI,
                   "truncated: the COFF string table ends at byte 8288, the file has 8192");
        free(b);
#undef FRESH
}

static void test_kernels(void **state)
{
        _cleanup_free_ uint8_t *k = make("kernel", 8192);
        static const uint8_t gz[] = { 0x1f, 0x8b, 0x08, 0x00 };

        (void)state;
        expect_bad((const uint8_t *)"kernel\n", 7, LOADERFILE_KERNEL,
                   "not a kernel image: neither a PE image (\"MZ\" at byte 0) nor a bzImage "
                   "(\"HdrS\" at byte 0x202)");
        expect_ok(gz, sizeof(gz), LOADERFILE_KERNEL);
#if defined(__x86_64__) || defined(__i386__)
        {
                _cleanup_free_ uint8_t *bz = make("bzimage", 8192);

                li_put32(bz + 0x1f4, 0xffffffff); /* syssize */
                expect_bad(bz, 8192, LOADERFILE_KERNEL,
                           "truncated: the bzImage header declares 4 setup sectors and "
                           "68719476720 bytes of protected-mode code, so the kernel ends at byte "
                           "68719479280, the file has 8192");
                li_put32(bz + 0x1f4, 0);
                bz[0x1f1] = 0; /* 0 means 4 */
                expect_ok(bz, 8192, LOADERFILE_KERNEL);
                bz[0x1f1] = 255;
                expect_bad(bz, 8192, LOADERFILE_KERNEL, NULL);
                bz[0x1f1] = 4;
                li_put16(bz + 0x1fe, 0x1234);
                expect_bad(bz, 8192, LOADERFILE_KERNEL,
                           "the bzImage boot flag at byte 0x1fe is 0x1234, not 0xaa55");
        }
        /* an EFI-stub bzImage: the PE header is whole, the boot protocol's size is not */
        li_put32(k + 0x1f4, (8192 - 2560) / 16 + 1);
        expect_bad(k, 8192, LOADERFILE_KERNEL,
                   "truncated: the bzImage header declares 4 setup sectors and 5648 bytes of "
                   "protected-mode code, so the kernel ends at byte 8208, the file has 8192");
#endif
}

static void test_unified_kernel_images(void **state)
{
        _cleanup_free_ uint8_t *efi = make("efi", 8192), *uki = make("uki", 16384);

        (void)state;
        expect_bad(efi, 8192, LOADERFILE_UKI,
                   "no .linux section: an EFI program, not a unified kernel image");
        /* .linux at 0x600, 8192 bytes: its kernel's own header now claims more */
#if defined(__x86_64__) || defined(__i386__)
        li_put32(uki + 0x600 + 0x1f4, (8192 - 2560) / 16 + 32);
        expect_bad(uki, 16384, LOADERFILE_UKI,
                   "the kernel in its .linux section: truncated: the bzImage header declares 4 "
                   "setup sectors and 6144 bytes of protected-mode code, so the kernel ends at "
                   "byte 8704, the file has 8192");
#endif
        memset(uki + 0x600, 0, 512);
        expect_bad(uki, 16384, LOADERFILE_UKI, NULL);
}

static void test_initrds_need_only_bytes(void **state)
{
        (void)state;
        expect_ok((const uint8_t *)"x", 1, LOADERFILE_INITRD);
        expect_ok((const uint8_t *)"070701", 6, LOADERFILE_INITRD);
}

static void test_devicetrees(void **state)
{
        _cleanup_free_ uint8_t *d = make("dtb", 1024);

        (void)state;
        li_put32be(d + 4, 39);
        expect_bad(d, 1024, LOADERFILE_DEVICETREE,
                   "its devicetree header gives a total size of 39 bytes, less than the "
                   "header's 40");
        d[0] = 0;
        expect_bad(d, 1024, LOADERFILE_DEVICETREE,
                   "not a flattened devicetree: no magic 0xd00dfeed at byte 0 (0x000dfeed)");
        expect_bad(d, 5, LOADERFILE_DEVICETREE,
                   "not a flattened devicetree: 5 bytes, less than its header");
}

/* From a file descriptor: the same verdicts, the offset not moved, a directory refused. */
static void test_file_descriptors(void **state)
{
        _cleanup_free_ uint8_t *uki = make("uki", 16384);
        _cleanup_close_ int fd = memfd_create("test-loaderfile", MFD_CLOEXEC);
        _cleanup_close_ int dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *why = NULL;

        (void)state;
        assert_true(fd >= 0 && dir >= 0);
        assert_int_equal(write(fd, uki, 16384), 16384);
        assert_int_equal(loaderfile_check_fd(fd, LOADERFILE_UKI, &why), 0);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 16384);
        assert_int_equal(ftruncate(fd, 16000), 0);
        assert_int_equal(loaderfile_check_fd(fd, LOADERFILE_UKI, &why), -EBADMSG);
        assert_string_equal(why, "truncated: the PE section .initrd ends at byte 16384, the file "
                                 "has 16000");
        free(why);
        why = NULL;
        assert_int_equal(loaderfile_check_fd(dir, LOADERFILE_INITRD, &why), -EBADMSG);
        assert_string_equal(why, "not a regular file");
        free(why);
}

/* The real thing, where this machine has it: a false alarm here would fail every real disk. */
static void test_real_binaries_when_installed(void **state)
{
        static const struct {
                const char *path;
                enum loaderfile_kind kind;
        } real[] = {
                { "/usr/lib/systemd/boot/efi/systemd-boot" EFI_ARCH ".efi", LOADERFILE_EFI },
                { "/usr/lib/systemd/boot/efi/linux" EFI_ARCH ".efi.stub", LOADERFILE_EFI },
                { "/usr/lib/shim/shim" EFI_ARCH ".efi", LOADERFILE_EFI },
                { "/usr/lib/shim/shim" EFI_ARCH ".efi.signed", LOADERFILE_EFI },
        };
        unsigned seen = 0;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(real); i++) {
                _cleanup_close_ int fd = open(real[i].path, O_RDONLY | O_CLOEXEC);
                char *why = NULL;

                if (fd < 0)
                        continue;
                seen++;
                if (loaderfile_check_fd(fd, real[i].kind, &why) != 0)
                        fail_msg("%s: %s", real[i].path, why ? why : "refused");
        }
        if (seen == 0)
                skip();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test(f)
                T(test_valid_images_are_plausible),
                T(test_empty_files_are_refused),
                T(test_every_cut_is_refused),
                T(test_a_cut_names_what_it_cut),
                T(test_hostile_header_values),
                T(test_kernels),
                T(test_unified_kernel_images),
                T(test_initrds_need_only_bytes),
                T(test_devicetrees),
                T(test_file_descriptors),
                T(test_real_binaries_when_installed),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
