/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A small encoder for efivarfs files, EFI_LOAD_OPTIONs (UEFI 2.10 §3.1.3) and device-path
 * nodes (§10.3). Test-only: mkefivar writes what it builds and the unit tests feed it to the
 * parser. It shares no code with src/ on purpose, so that a misreading of the spec in the
 * parser is not mirrored here (the hand-assembled fixtures in tests/fixtures/efivars/ check
 * both against bytes written out by hand).
 *
 * Everything is static inline so that a user may use any subset without warnings.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENC_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define ENC_LOADER_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* efivarfs attribute bits (§8.2): NON_VOLATILE, BOOTSERVICE_ACCESS, RUNTIME_ACCESS. */
#define ENC_ATTR_NV 0x1u
#define ENC_ATTR_BS 0x2u
#define ENC_ATTR_RT 0x4u
#define ENC_LOAD_OPTION_ACTIVE 0x1u

/* A growing byte buffer; after a failed allocation `failed` is set and appends do nothing. */
struct blob {
        uint8_t *data;
        size_t size, alloc;
        bool failed;
};

static inline void blob_done(struct blob *b)
{
        free(b->data);
        *b = (struct blob){};
}

static inline void blob_put(struct blob *b, const void *p, size_t n)
{
        if (b->failed)
                return;
        if (b->size + n > b->alloc) {
                size_t na = b->alloc ? b->alloc : 64;
                uint8_t *t;

                while (na < b->size + n)
                        na *= 2;
                t = realloc(b->data, na);
                if (!t) {
                        b->failed = true;
                        return;
                }
                b->data = t;
                b->alloc = na;
        }
        if (n > 0)
                memcpy(b->data + b->size, p, n);
        b->size += n;
}

static inline void blob_u8(struct blob *b, uint8_t v)
{
        blob_put(b, &v, 1);
}

static inline void blob_u16(struct blob *b, uint16_t v)
{
        uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

        blob_put(b, x, sizeof(x));
}

static inline void blob_u32(struct blob *b, uint32_t v)
{
        blob_u16(b, (uint16_t)v);
        blob_u16(b, (uint16_t)(v >> 16));
}

static inline void blob_u64(struct blob *b, uint64_t v)
{
        blob_u32(b, (uint32_t)v);
        blob_u32(b, (uint32_t)(v >> 32));
}

static inline int enc_hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Text GUID (either case) to the 16 bytes of an EFI_GUID: the first three fields are stored
 * little-endian, the last two as written (Appendix A). -EINVAL on malformed text. */
static inline int enc_guid(const char *text, uint8_t ret[16])
{
        /* Byte i of the result comes from the hex pair at text[pos[i]]. */
        static const uint8_t pos[16] = {
                6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34
        };

        if (strlen(text) != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
            text[23] != '-')
                return -EINVAL;
        for (size_t i = 0; i < 36; i++)
                if (i != 8 && i != 13 && i != 18 && i != 23 && enc_hexval(text[i]) < 0)
                        return -EINVAL;
        for (size_t i = 0; i < 16; i++)
                ret[i] = (uint8_t)(enc_hexval(text[pos[i]]) << 4 | enc_hexval(text[pos[i] + 1]));
        return 0;
}

/* UTF-8 to UTF-16LE code units (surrogate pairs above U+FFFF), optionally NUL-terminated.
 * -EINVAL on invalid UTF-8. */
static inline int blob_utf16(struct blob *b, const char *s, bool nul)
{
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                uint32_t c;
                int extra;

                if (*p < 0x80) {
                        c = *p;
                        extra = 0;
                } else if ((*p & 0xe0) == 0xc0) {
                        c = *p & 0x1f;
                        extra = 1;
                } else if ((*p & 0xf0) == 0xe0) {
                        c = *p & 0x0f;
                        extra = 2;
                } else if ((*p & 0xf8) == 0xf0) {
                        c = *p & 0x07;
                        extra = 3;
                } else
                        return -EINVAL;
                p++;
                for (int i = 0; i < extra; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return -EINVAL;
                        c = c << 6 | (*p & 0x3f);
                }
                if (c >= 0x10000) {
                        c -= 0x10000;
                        blob_u16(b, (uint16_t)(0xd800 | c >> 10));
                        blob_u16(b, (uint16_t)(0xdc00 | (c & 0x3ff)));
                } else
                        blob_u16(b, (uint16_t)c);
        }
        if (nul)
                blob_u16(b, 0);
        return 0;
}

/* ---- device-path nodes (§10.2: u8 type, u8 subtype, u16 length incl. header) ---- */

static inline void dp_header(struct blob *b, uint8_t type, uint8_t subtype, uint16_t length)
{
        blob_u8(b, type);
        blob_u8(b, subtype);
        blob_u16(b, length);
}

/* ACPI PNP0A03, i.e. PciRoot(uid) (§10.3.3). */
static inline void dp_pciroot(struct blob *b, uint32_t uid)
{
        dp_header(b, 2, 1, 12);
        blob_u32(b, 0x0a0341d0);
        blob_u32(b, uid);
}

/* Pci(device,function) (§10.3.2.1); note the function byte comes first. */
static inline void dp_pci(struct blob *b, uint8_t device, uint8_t function)
{
        dp_header(b, 1, 1, 6);
        blob_u8(b, function);
        blob_u8(b, device);
}

static inline void dp_sata(struct blob *b, uint16_t hba_port, uint16_t pm_port, uint16_t lun)
{
        dp_header(b, 3, 18, 10);
        blob_u16(b, hba_port);
        blob_u16(b, pm_port);
        blob_u16(b, lun);
}

static inline void dp_nvme(struct blob *b, uint32_t nsid, const uint8_t eui64[8])
{
        dp_header(b, 3, 23, 16);
        blob_u32(b, nsid);
        blob_put(b, eui64, 8);
}

/* Hard Drive node (§10.3.5.1), 42 bytes. */
static inline void dp_hd(struct blob *b, uint32_t number, uint64_t start, uint64_t size,
                         const uint8_t signature[16], uint8_t format, uint8_t signature_type)
{
        dp_header(b, 4, 1, 42);
        blob_u32(b, number);
        blob_u64(b, start);
        blob_u64(b, size);
        blob_put(b, signature, 16);
        blob_u8(b, format);
        blob_u8(b, signature_type);
}

static inline int dp_hd_gpt(struct blob *b, uint32_t number, uint64_t start, uint64_t size,
                            const char *partuuid)
{
        uint8_t g[16];

        if (enc_guid(partuuid, g) < 0)
                return -EINVAL;
        dp_hd(b, number, start, size, g, 2, 2);
        return 0;
}

static inline void dp_hd_mbr(struct blob *b, uint32_t number, uint64_t start, uint64_t size,
                             uint32_t disk_signature)
{
        uint8_t sig[16] = { (uint8_t)disk_signature, (uint8_t)(disk_signature >> 8),
                            (uint8_t)(disk_signature >> 16), (uint8_t)(disk_signature >> 24) };

        dp_hd(b, number, start, size, sig, 1, 1);
}

/* File(path) (§10.3.5.4): NUL-terminated UCS-2 filling the node. */
static inline int dp_file(struct blob *b, const char *path)
{
        struct blob s = {};
        int r;

        r = blob_utf16(&s, path, true);
        if (r < 0 || s.failed || s.size + 4 > UINT16_MAX) {
                blob_done(&s);
                return r < 0 ? r : -E2BIG;
        }
        dp_header(b, 4, 4, (uint16_t)(s.size + 4));
        blob_put(b, s.data, s.size);
        blob_done(&s);
        return 0;
}

static inline void dp_end_instance(struct blob *b)
{
        dp_header(b, 0x7f, 0x01, 4);
}

static inline void dp_end(struct blob *b)
{
        dp_header(b, 0x7f, 0xff, 4);
}

/* EFI_LOAD_OPTION (§3.1.3): Attributes, FilePathListLength, Description, FilePathList,
 * OptionalData. */
static inline int enc_load_option(struct blob *b, uint32_t attributes, const char *description,
                                  const struct blob *path, const void *optional, size_t n_optional)
{
        int r;

        if (path->size > UINT16_MAX)
                return -E2BIG;
        blob_u32(b, attributes);
        blob_u16(b, (uint16_t)path->size);
        r = blob_utf16(b, description, true);
        if (r < 0)
                return r;
        blob_put(b, path->data, path->size);
        blob_put(b, optional, n_optional);
        return 0;
}

/* Writes DIR/NAME (NAME = "Name-GUID") holding exactly the given bytes. */
static inline int efivar_write_raw(const char *dir, const char *name, const void *p, size_t n)
{
        char path[4096];
        int fd, r = 0;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        for (const uint8_t *q = p; n > 0;) {
                ssize_t k = write(fd, q, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                q += k;
                n -= (size_t)k;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

/* Writes an efivarfs-format file: attributes (u32 LE), then data. */
static inline int efivar_write(const char *dir, const char *name, uint32_t attributes,
                               const void *data, size_t size)
{
        struct blob b = {};
        int r;

        blob_u32(&b, attributes);
        blob_put(&b, data, size);
        r = b.failed ? -ENOMEM : efivar_write_raw(dir, name, b.data, b.size);
        blob_done(&b);
        return r;
}
