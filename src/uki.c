/* SPDX-License-Identifier: MIT */
/*
 * A PE image's sections, as far as a kernel started directly by the firmware needs them
 * (DESIGN.md §11b L11). The PE/COFF layout (Microsoft PE/COFF specification): "MZ", the
 * 32-bit e_lfanew at 0x3c, "PE\0\0", the 20-byte COFF header (NumberOfSections at +2,
 * SizeOfOptionalHeader at +16), the optional header, then 40-byte section headers (name,
 * VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData). systemd-stub's UKI sections
 * are named ".linux", ".initrd", ".cmdline" (UAPI.5, Unified Kernel Images).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uki.h"
#include "util/errmsg.h"
#include "util/macro.h"
#include "util/utf8.h"

#define DOS_E_LFANEW 0x3c
#define COFF_SIZE 24 /* "PE\0\0" and the COFF header */
#define SECTION_SIZE 40
#define MAX_SECTIONS 96
#define KERNEL_SIG_END 0x206 /* x86's "HdrS" at 0x202 is the last signature read */

struct src {
        int fd;
        const uint8_t *data; /* non-NULL: read from memory */
        uint64_t size;
};

static int src_read(const struct src *s, uint64_t off, void *buf, size_t n, char **why)
{
        size_t done = 0;

        if (off > s->size || n > s->size - off)
                return errmsg(why, -EBADMSG,
                              "truncated: bytes %" PRIu64 "-%" PRIu64 " lie beyond its %" PRIu64
                              " bytes",
                              off, off + n, s->size);
        if (s->data) {
                memcpy(buf, s->data + off, n);
                return 0;
        }
        while (done < n) {
                ssize_t k = pread(s->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errmsg(why, -errno, "cannot read: %m");
                if (k == 0)
                        return errmsg(why, -EBADMSG, "truncated while being read");
                done += (size_t)k;
        }
        return 0;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void uki_image_done(struct uki_image *u)
{
        free(u->cmdline);
        *u = (struct uki_image){};
}

const char *uki_kind_to_string(enum uki_kind k)
{
        return k == UKI_UKI      ? "unified kernel image"
               : k == UKI_KERNEL ? "EFI-stub kernel"
                                 : "EFI program";
}

/* The kernel's own boot signature in its first bytes (the EFI stub is part of the kernel). */
static bool kernel_signature(const uint8_t *h, size_t n)
{
        if (n >= 0x206 && memcmp(h + 0x202, "HdrS", 4) == 0) /* x86 boot protocol */
                return true;
        if (n >= 0x3c && memcmp(h + 0x38, "ARM\x64", 4) == 0) /* arm64 Image header */
                return true;
        if (n >= 0x3c && memcmp(h + 0x38, "RSC\x05", 4) == 0) /* RISC-V Image header */
                return true;
        return false;
}

/* The .cmdline section's bytes as text: trailing NULs and white space cut; any other NUL or
 * control character but tab and newline refused. */
static int cmdline_text(const struct src *s, uint64_t off, uint64_t len, char **ret, char **why)
{
        _cleanup_free_ char *t = NULL;
        size_t n;
        int r;

        if (len > UKI_CMDLINE_MAX)
                return errmsg(why, -EBADMSG,
                              "its .cmdline section is %" PRIu64 " bytes, more than the %u "
                              "accepted",
                              len, UKI_CMDLINE_MAX);
        t = malloc(len + 1);
        if (!t)
                return -ENOMEM;
        r = src_read(s, off, t, len, why);
        if (r < 0)
                return errmsg_prefix(why, r, "its .cmdline section");
        n = len;
        while (n > 0 && (t[n - 1] == 0 || t[n - 1] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\r'))
                n--;
        t[n] = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)t[i];

                if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                        return errmsg(why, -EBADMSG,
                                      "its .cmdline section holds byte 0x%02x at offset %zu: not "
                                      "a command line",
                                      c, i);
        }
        for (size_t i = 0, l; i < n; i += l)
                if ((l = utf8_valid_len((const unsigned char *)t + i, n - i)) == 0)
                        return errmsg(why, -EBADMSG,
                                      "its .cmdline section is not UTF-8 (at offset %zu)", i);
        *ret = TAKE_PTR(t);
        return 0;
}

static int read_image(const struct src *s, struct uki_image *ret, char **why)
{
        _cleanup_(uki_image_done) struct uki_image u = {};
        uint8_t h[KERNEL_SIG_END] = {}, coff[COFF_SIZE], sec[SECTION_SIZE];
        size_t got = s->size < sizeof(h) ? (size_t)s->size : sizeof(h);
        uint64_t pe, table;
        uint16_t n;
        bool linux_section = false;
        int r;

        r = src_read(s, 0, h, got, why);
        if (r < 0)
                return r;
        if (got < 2 || h[0] != 'M' || h[1] != 'Z')
                return errmsg(why, -EBADMSG, "not a PE image: no \"MZ\" at byte 0");
        if (got < DOS_E_LFANEW + 4)
                return errmsg(why, -EBADMSG, "truncated: %zu bytes, less than a DOS header", got);
        pe = le32(h + DOS_E_LFANEW);
        r = src_read(s, pe, coff, sizeof(coff), why);
        if (r < 0)
                return errmsg_prefix(why, r, "its PE header (e_lfanew 0x%" PRIx64 ")", pe);
        if (memcmp(coff, "PE\0\0", 4) != 0)
                return errmsg(why, -EBADMSG,
                              "not a PE image: no \"PE\\0\\0\" at byte 0x%" PRIx64 " (e_lfanew)",
                              pe);
        n = le16(coff + 6);
        if (n > MAX_SECTIONS)
                return errmsg(why, -EBADMSG,
                              "its PE header declares %u sections, more than the %u a PE image "
                              "can have",
                              n, MAX_SECTIONS);
        table = pe + COFF_SIZE + le16(coff + 20);
        for (unsigned i = 0; i < n; i++) {
                uint64_t vsize, raw, ptr, len;

                r = src_read(s, table + (uint64_t)i * SECTION_SIZE, sec, sizeof(sec), why);
                if (r < 0)
                        return errmsg_prefix(why, r, "its PE section table (section %u of %u)",
                                             i + 1, n);
                vsize = le32(sec + 8);
                raw = le32(sec + 16);
                ptr = le32(sec + 20);
                /* What a section holds: its raw data up to its size in memory, when smaller
                 * (the rest pads to the file alignment). */
                len = vsize > 0 && vsize < raw ? vsize : raw;
                if (memcmp(sec, ".linux\0\0", 8) == 0)
                        linux_section = true;
                else if (memcmp(sec, ".initrd\0", 8) == 0)
                        u.has_initrd = true;
                else if (memcmp(sec, ".cmdline", 8) == 0 && !u.cmdline) {
                        r = cmdline_text(s, ptr, len, &u.cmdline, why);
                        if (r < 0)
                                return r;
                }
        }
        u.kind = linux_section ? UKI_UKI : kernel_signature(h, got) ? UKI_KERNEL : UKI_NONE;
        *ret = u;
        u = (struct uki_image){};
        return 0;
}

int uki_read_fd(int fd, struct uki_image *ret, char **why)
{
        off_t size = lseek(fd, 0, SEEK_END);

        if (size < 0)
                return errmsg(why, -errno, "cannot find its size: %m");
        return read_image(&(struct src){ .fd = fd, .size = (uint64_t)size }, ret, why);
}

int uki_read_buffer(const void *data, size_t size, struct uki_image *ret, char **why)
{
        static const uint8_t none[1];

        return read_image(&(struct src){ .fd = -1, .data = data ? data : none, .size = size }, ret,
                          why);
}

int uki_optional_cmdline(const uint8_t *data, size_t size, char **ret, char **why)
{
        _cleanup_free_ char *t = NULL;
        size_t units, len = 0;

        *ret = NULL;
        if (size == 0)
                return 0;
        /* efibootmgr without -u writes the arguments as bytes: the kernel's stub reads them as
         * UCS-2 and finds no "root=" but CJK characters. */
        if (size >= 4 && data[1] != 0 && data[3] != 0) {
                size_t ascii = 0;

                while (ascii < size && data[ascii] >= 0x20 && data[ascii] < 0x7f)
                        ascii++;
                if (ascii == size || (ascii > 0 && data[ascii] == 0))
                        return errmsg(why, -EBADMSG,
                                      "its optional data is ASCII text (\"%.*s\"), not UCS-2: "
                                      "the kernel's EFI stub reads it as UCS-2 (write it with "
                                      "efibootmgr -u)",
                                      (int)(ascii < 64 ? ascii : 64), (const char *)data);
        }
        if (size % 2 != 0)
                return errmsg(why, -EBADMSG,
                              "its optional data is %zu bytes, an odd number: not UCS-2 text "
                              "(efibootmgr -u)",
                              size);
        units = size / 2;
        if (units > UKI_CMDLINE_MAX)
                return errmsg(why, -EBADMSG,
                              "its optional data holds %zu characters, more than the %u accepted",
                              units, UKI_CMDLINE_MAX);
        t = malloc(units * 3 + 1);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < units; i++) {
                uint16_t c = le16(data + 2 * i);

                if (c == 0)
                        break;
                if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ||
                    (c >= 0xd800 && c <= 0xdfff))
                        return errmsg(why, -EBADMSG,
                                      "its optional data holds U+%04X at character %zu: not a "
                                      "UCS-2 command line (efibootmgr -u)",
                                      c, i);
                len += utf8_encode(t + len, c);
        }
        while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\n'))
                len--;
        t[len] = 0;
        *ret = TAKE_PTR(t);
        return 0;
}
