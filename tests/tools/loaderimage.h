/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Minimal but well-formed files of the kinds a loader starts, for the tests (written from the
 * PE/COFF specification, the x86 boot protocol and the devicetree specification, apart from
 * src/loaderfile.c so the two check each other):
 *
 *   efi        a PE image for this machine (headers, .text, .data), an EFI application;
 *   efi-signed the same with a certificate table appended (its last 512 bytes);
 *   kernel     on x86 a bzImage whose setup is also a PE header (an EFI-stub kernel: 4 setup
 *              sectors, syssize covering the rest), elsewhere a PE image;
 *   bzimage    an x86 bzImage without the PE header (no "MZ");
 *   uki        a PE image with .osrel, .linux (a "kernel" of half its size) and .initrd;
 *              li_uki_cmdline() adds a .cmdline section (at most 511 bytes of text);
 *   initrd     a newc cpio header, then zeros;
 *   dtb        a flattened devicetree header whose totalsize is the file's size.
 *
 * Each fills exactly size bytes of a zeroed buffer; size is a multiple of 512, at least
 * loaderimage_min(kind). Returns 0, or -1 for a size it cannot lay out.
 */

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#define LI_MACHINE 0x8664
#define LI_PE32PLUS 1
#elif defined(__i386__)
#define LI_MACHINE 0x014c
#define LI_PE32PLUS 0
#elif defined(__aarch64__)
#define LI_MACHINE 0xaa64
#define LI_PE32PLUS 1
#elif defined(__arm__)
#define LI_MACHINE 0x01c2
#define LI_PE32PLUS 0
#elif defined(__riscv) && __riscv_xlen == 64
#define LI_MACHINE 0x5064
#define LI_PE32PLUS 1
#elif defined(__loongarch64)
#define LI_MACHINE 0x6264
#define LI_PE32PLUS 1
#endif

#define LI_PE_OFFSET 0x40
#define LI_DIRS 6

static inline void li_put16(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static inline void li_put32(uint8_t *p, uint32_t v)
{
        li_put16(p, v & 0xffff);
        li_put16(p + 2, v >> 16);
}

static inline void li_put32be(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

struct li_section {
        const char *name;
        uint32_t offset, size; /* in the file */
};

/* The PE header at LI_PE_OFFSET with the sections given (at most 5, all after byte 0x200). */
static inline void li_pe_header(uint8_t *b, const struct li_section *s, unsigned n,
                                uint32_t cert_offset, uint32_t cert_size)
{
        const unsigned opt_size = (LI_PE32PLUS ? 112 : 96) + LI_DIRS * 8;
        uint8_t *coff = b + LI_PE_OFFSET + 4, *opt = coff + 20, *table = opt + opt_size;
        uint32_t image_size = 0x1000 * (n + 1);

        b[0] = 'M';
        b[1] = 'Z';
        li_put32(b + 0x3c, LI_PE_OFFSET);
        memcpy(b + LI_PE_OFFSET, "PE\0\0", 4);
        li_put16(coff, LI_MACHINE);
        li_put16(coff + 2, n);
        li_put16(coff + 16, opt_size);
        li_put16(coff + 18, 0x0206); /* executable, line numbers stripped, debug stripped */

        li_put16(opt, LI_PE32PLUS ? 0x20b : 0x10b);
        li_put32(opt + 16, 0x1000); /* AddressOfEntryPoint: the first section */
        li_put32(opt + 20, 0x1000); /* BaseOfCode */
        li_put32(opt + 32, 0x1000); /* SectionAlignment */
        li_put32(opt + 36, 0x200);  /* FileAlignment */
        li_put32(opt + 56, image_size);
        li_put32(opt + 60, 0x200); /* SizeOfHeaders */
        li_put16(opt + 68, 10);    /* EFI application */
        li_put32(opt + opt_size - LI_DIRS * 8 - 4, LI_DIRS);
        li_put32(opt + opt_size - LI_DIRS * 8 + 4 * 8, cert_offset);
        li_put32(opt + opt_size - LI_DIRS * 8 + 4 * 8 + 4, cert_size);

        for (unsigned i = 0; i < n; i++) {
                uint8_t *e = table + 40 * i;

                memcpy(e, s[i].name, strlen(s[i].name) < 8 ? strlen(s[i].name) : 8);
                li_put32(e + 8, s[i].size);         /* VirtualSize */
                li_put32(e + 12, 0x1000 * (i + 1)); /* VirtualAddress */
                li_put32(e + 16, s[i].size);        /* SizeOfRawData */
                li_put32(e + 20, s[i].offset);      /* PointerToRawData */
                li_put32(e + 36, 0x60000020);       /* code, execute, read */
        }
}

static inline int li_efi(uint8_t *b, uint32_t size, int signed_image)
{
        uint32_t end = signed_image ? size - 0x200 : size;
        struct li_section s[2] = { { ".text", 0x200, end - 0x400 },
                                   { ".data", end - 0x200, 0x200 } };

        if (size % 512 || size < (signed_image ? 0x800u : 0x600u))
                return -1;
        li_pe_header(b, s, 2, signed_image ? end : 0, signed_image ? 0x200 : 0);
        if (signed_image) {
                li_put32(b + end, 0x200);      /* WIN_CERTIFICATE dwLength */
                li_put16(b + end + 4, 0x0200); /* revision 2.0 */
                li_put16(b + end + 6, 0x0002); /* PKCS#7 signed data */
        }
        memset(b + 0x200, 0xc3, 16);
        return 0;
}

/* x86: setup = 5 sectors (boot sector + setup_sects 4), then the protected-mode code. */
static inline int li_bzimage(uint8_t *b, uint32_t size, int with_pe)
{
        const uint32_t setup = 5 * 512;

        if (size % 512 || size < setup + 512)
                return -1;
        if (with_pe) {
                struct li_section s[2] = { { ".setup", 0x200, setup - 0x200 },
                                           { ".text", setup, size - setup } };

                li_pe_header(b, s, 2, 0, 0);
        }
        b[0x1f1] = 4;                             /* setup_sects */
        li_put32(b + 0x1f4, (size - setup) / 16); /* syssize */
        li_put16(b + 0x1fe, 0xaa55);              /* boot_flag */
        memcpy(b + 0x202, "HdrS", 4);
        li_put16(b + 0x206, 0x020f); /* protocol 2.15 */
        return 0;
}

static inline int li_kernel(uint8_t *b, uint32_t size)
{
#if defined(__x86_64__) || defined(__i386__)
        return li_bzimage(b, size, 1);
#else
        return li_efi(b, size, 0);
#endif
}

/* With cmdline (NULL: none), a .cmdline section of 0x200 bytes holding it, NUL-padded, its
 * VirtualSize the text's length plus its NUL (as ukify writes it). */
static inline int li_uki_cmdline(uint8_t *b, uint32_t size, const char *cmdline)
{
        uint32_t kernel = (size / 2) & ~511u, c = cmdline ? 0x200 : 0;
        struct li_section s[5] = { { ".text", 0x200, 0x200 },
                                   { ".osrel", 0x400, 0x200 },
                                   { ".linux", 0x600 + c, kernel },
                                   { ".initrd", 0x600 + c + kernel, size - 0x600 - c - kernel },
                                   { ".cmdline", 0x600, 0x200 } };

        if (size % 512 || kernel < 0xc00 || size < 0x600 + c + kernel + 0x200)
                return -1;
        if (cmdline && strlen(cmdline) >= 0x200)
                return -1;
        li_pe_header(b, s, cmdline ? 5 : 4, 0, 0);
        memcpy(b + 0x400, "ID=debian\n", 10);
        if (cmdline) {
                /* VirtualSize: the text and its NUL; SizeOfRawData stays the padded 0x200. */
                li_put32(b + LI_PE_OFFSET + 24 + (LI_PE32PLUS ? 112 : 96) + LI_DIRS * 8 + 4 * 40 +
                                 8,
                         (uint32_t)strlen(cmdline) + 1);
                memcpy(b + 0x600, cmdline, strlen(cmdline));
        }
        memcpy(b + 0x600 + c + kernel, "070701", 6);
        return li_kernel(b + 0x600 + c, kernel);
}

static inline int li_uki(uint8_t *b, uint32_t size)
{
        return li_uki_cmdline(b, size, NULL);
}

static inline int li_initrd(uint8_t *b, uint32_t size)
{
        if (size < 110)
                return -1;
        memcpy(b, "070701", 6);
        memset(b + 6, '0', 104);
        return 0;
}

static inline int li_dtb(uint8_t *b, uint32_t size)
{
        if (size < 64)
                return -1;
        li_put32be(b, 0xd00dfeed);
        li_put32be(b + 4, size); /* totalsize */
        li_put32be(b + 8, 56);   /* off_dt_struct */
        li_put32be(b + 12, 60);  /* off_dt_strings */
        li_put32be(b + 16, 40);  /* off_mem_rsvmap */
        li_put32be(b + 20, 17);  /* version */
        li_put32be(b + 24, 16);  /* last_comp_version */
        li_put32be(b + 36, 4);   /* size_dt_struct */
        li_put32be(b + 56, 9);   /* FDT_END */
        return 0;
}

/* By name; -1 for an unknown kind. */
static inline int loaderimage_make(const char *kind, uint8_t *b, uint32_t size)
{
        if (strcmp(kind, "efi") == 0)
                return li_efi(b, size, 0);
        if (strcmp(kind, "efi-signed") == 0)
                return li_efi(b, size, 1);
        if (strcmp(kind, "kernel") == 0)
                return li_kernel(b, size);
        if (strcmp(kind, "bzimage") == 0)
                return li_bzimage(b, size, 0);
        if (strcmp(kind, "uki") == 0)
                return li_uki(b, size);
        if (strcmp(kind, "initrd") == 0)
                return li_initrd(b, size);
        if (strcmp(kind, "dtb") == 0)
                return li_dtb(b, size);
        return -1;
}
