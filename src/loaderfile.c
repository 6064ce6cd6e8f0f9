/* SPDX-License-Identifier: MIT */
/*
 * Headers of the files a loader starts (DESIGN.md §11 rule S8). Every offset and length read
 * from a file is checked against the file's size in 64-bit arithmetic before it is used: the
 * file is hostile until proven otherwise, and a truncated one says where it should end.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "loaderfile.h"
#include "util/errmsg.h"
#include "util/macro.h"

/* Microsoft PE/COFF specification: the fields read here. */
#define DOS_HEADER_SIZE 64
#define DOS_E_LFANEW 0x3c
#define COFF_HEADER_SIZE 20
#define PE_SECTION_SIZE 40
#define PE_MAX_SECTIONS 96 /* "the Windows loader limits the number of sections to 96" */
#define PE32_MAGIC 0x10b
#define PE32PLUS_MAGIC 0x20b
#define OPT_ENTRY_POINT 16
#define OPT_SIZE_OF_IMAGE 56
#define OPT_SIZE_OF_HEADERS 60
#define OPT_SUBSYSTEM 68
#define DIR_SECURITY 4 /* IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset, not an RVA */

/* The x86 boot protocol (Documentation/arch/x86/boot.rst). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_SYSSIZE 0x1f4
#define BZ_BOOT_FLAG 0x1fe
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_HEADER_END 0x208

#define FDT_MAGIC 0xd00dfeedU
#define FDT_HEADER_SIZE 40

#if defined(__x86_64__)
#define MACHINE 0x8664
#define OPT_MAGIC PE32PLUS_MAGIC
#elif defined(__i386__)
#define MACHINE 0x014c
#define OPT_MAGIC PE32_MAGIC
#elif defined(__aarch64__)
#define MACHINE 0xaa64
#define OPT_MAGIC PE32PLUS_MAGIC
#elif defined(__arm__)
#define MACHINE 0x01c2
#define OPT_MAGIC PE32_MAGIC
#elif defined(__riscv) && __riscv_xlen == 64
#define MACHINE 0x5064
#define OPT_MAGIC PE32PLUS_MAGIC
#elif defined(__loongarch64)
#define MACHINE 0x6264
#define OPT_MAGIC PE32PLUS_MAGIC
#else
#error "unknown EFI architecture"
#endif

const char *loaderfile_kind_to_string(enum loaderfile_kind k)
{
        static const char *const names[] = {
                [LOADERFILE_EFI] = "EFI program",       [LOADERFILE_UKI] = "unified kernel image",
                [LOADERFILE_KERNEL] = "kernel",         [LOADERFILE_INITRD] = "initrd",
                [LOADERFILE_DEVICETREE] = "devicetree",
        };

        return (unsigned)k < ELEMENTSOF(names) ? names[k] : "file";
}

uint16_t loaderfile_machine(void)
{
        return MACHINE;
}

static const char *machine_name(uint16_t m)
{
        switch (m) {
        case 0x014c:
                return "ia32";
        case 0x8664:
                return "x64";
        case 0xaa64:
                return "aa64";
        case 0x01c0:
        case 0x01c2:
        case 0x01c4:
                return "arm";
        case 0x5032:
                return "riscv32";
        case 0x5064:
                return "riscv64";
        case 0x6264:
                return "loongarch64";
        case 0x0ebc:
                return "EFI byte code";
        default:
                return "an unknown machine";
        }
}

/* Where the bytes come from: a file (pread) or memory; base and size delimit the image judged
 * (a whole file, or a unified kernel image's .linux section). */
struct src {
        int fd;
        const uint8_t *data;
        uint64_t base;
        uint64_t size;
};

/* Reads len bytes at off of the image; the caller has checked off + len <= size. */
static int src_read(const struct src *s, uint64_t off, void *buf, size_t len, char **why)
{
        uint8_t *p = buf;

        if (s->data) {
                memcpy(buf, s->data + s->base + off, len);
                return 0;
        }
        while (len > 0) {
                ssize_t n = pread(s->fd, p, len, (off_t)(s->base + off));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errmsg(why, negative_errno(), "cannot read byte %" PRIu64 ": %m",
                                      s->base + off);
                if (n == 0)
                        return errmsg(why, -EIO,
                                      "the file shrank while it was read (at byte %" PRIu64 ")",
                                      s->base + off);
                p += n;
                off += (uint64_t)n;
                len -= (size_t)n;
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

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A section's name as printable text (8 bytes, NUL-padded, possibly not terminated). */
static void section_name(const uint8_t *raw, char out[static 9])
{
        size_t i;

        for (i = 0; i < 8 && raw[i]; i++)
                out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
        out[i] = 0;
}

static int truncated(char **why, const char *what, uint64_t end, uint64_t size)
{
        return errmsg(why, -EBADMSG,
                      "truncated: %s ends at byte %" PRIu64 ", the file has %" PRIu64, what, end,
                      size);
}

/* The section a unified kernel image needs, found by check_pe: offset and length in the image
 * as the loader reads it. */
struct pe_section {
        bool found;
        uint64_t offset, length;
};

/* A PE image for this machine's firmware; linux (may be NULL) receives its .linux section. */
static int check_pe(const struct src *s, struct pe_section *linux_section, char **why)
{
        uint8_t dos[DOS_HEADER_SIZE], coff[4 + COFF_HEADER_SIZE], opt[240];
        uint8_t sections[PE_MAX_SECTIONS * PE_SECTION_SIZE];
        uint64_t pe, opt_off, table, end;
        uint16_t machine, n, opt_size, magic, subsystem;
        uint32_t fixed, dirs_off, n_dirs;
        int r;

        if (s->size < 2)
                return errmsg(why, -EBADMSG, "not a PE image: %" PRIu64 " byte, no \"MZ\"",
                              s->size);
        r = src_read(s, 0, dos, 2, why);
        if (r < 0)
                return r;
        if (dos[0] != 'M' || dos[1] != 'Z')
                return errmsg(why, -EBADMSG,
                              "not a PE image: it starts with 0x%02x 0x%02x, not \"MZ\"", dos[0],
                              dos[1]);
        if (s->size < DOS_HEADER_SIZE)
                return truncated(why, "the DOS header", DOS_HEADER_SIZE, s->size);
        r = src_read(s, 0, dos, sizeof(dos), why);
        if (r < 0)
                return r;

        pe = le32(dos + DOS_E_LFANEW);
        end = pe + sizeof(coff);
        if (end > s->size)
                return errmsg(why, -EBADMSG,
                              "truncated or not a PE image: the PE header (e_lfanew 0x%" PRIx64
                              ") ends at byte %" PRIu64 ", the file has %" PRIu64,
                              pe, end, s->size);
        r = src_read(s, pe, coff, sizeof(coff), why);
        if (r < 0)
                return r;
        if (memcmp(coff, "PE\0\0", 4) != 0)
                return errmsg(why, -EBADMSG,
                              "not a PE image: no \"PE\\0\\0\" signature at byte 0x%" PRIx64
                              " (e_lfanew)",
                              pe);
        machine = le16(coff + 4);
        n = le16(coff + 6);
        opt_size = le16(coff + 20);
        if (machine != MACHINE)
                return errmsg(why, -EBADMSG,
                              "built for %s (PE machine 0x%04x); this machine's firmware runs %s "
                              "(0x%04x) images",
                              machine_name(machine), machine, machine_name(MACHINE), MACHINE);
        if (n == 0)
                return errmsg(why, -EBADMSG, "the PE image has no sections: nothing to load");
        if (n > PE_MAX_SECTIONS)
                return errmsg(why, -EBADMSG,
                              "the PE header declares %u sections, more than the %u a PE image "
                              "can have",
                              n, PE_MAX_SECTIONS);

        opt_off = end;
        fixed = OPT_MAGIC == PE32PLUS_MAGIC ? 112 : 96;
        if (opt_size < fixed)
                return errmsg(why, -EBADMSG,
                              "the PE optional header is %u bytes, less than the %u of a %s "
                              "header",
                              opt_size, fixed, OPT_MAGIC == PE32PLUS_MAGIC ? "PE32+" : "PE32");
        end = opt_off + opt_size;
        if (end > s->size)
                return truncated(why, "the PE optional header", end, s->size);
        r = src_read(s, opt_off, opt, opt_size < sizeof(opt) ? (size_t)opt_size : sizeof(opt), why);
        if (r < 0)
                return r;
        magic = le16(opt);
        if (magic != OPT_MAGIC)
                return errmsg(why, -EBADMSG,
                              "the PE optional header's magic is 0x%03x, not 0x%03x (%s) as %s "
                              "images have",
                              magic, OPT_MAGIC, OPT_MAGIC == PE32PLUS_MAGIC ? "PE32+" : "PE32",
                              machine_name(MACHINE));
        subsystem = le16(opt + OPT_SUBSYSTEM);
        if (subsystem < 10 || subsystem > 12)
                return errmsg(why, -EBADMSG,
                              "PE subsystem %u: not an EFI application (10) or driver (11, 12)",
                              subsystem);
        if (le32(opt + OPT_ENTRY_POINT) >= le32(opt + OPT_SIZE_OF_IMAGE))
                return errmsg(why, -EBADMSG,
                              "the PE entry point 0x%" PRIx32 " lies outside the image "
                              "(SizeOfImage 0x%" PRIx32 ")",
                              le32(opt + OPT_ENTRY_POINT), le32(opt + OPT_SIZE_OF_IMAGE));
        if (le32(opt + OPT_SIZE_OF_HEADERS) > s->size)
                return truncated(why, "the PE header area (SizeOfHeaders)",
                                 le32(opt + OPT_SIZE_OF_HEADERS), s->size);

        table = opt_off + opt_size;
        end = table + (uint64_t)n * PE_SECTION_SIZE;
        if (end > s->size)
                return truncated(why, "the PE section table", end, s->size);
        r = src_read(s, table, sections, (size_t)n * PE_SECTION_SIZE, why);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++) {
                const uint8_t *sec = sections + (size_t)i * PE_SECTION_SIZE;
                uint64_t vsize = le32(sec + 8), raw_size = le32(sec + 16), ptr = le32(sec + 20);
                char name[9];

                /* All its raw data is in the file (a signed image's hash covers it too). */
                section_name(sec, name);
                if (raw_size > 0 && ptr + raw_size > s->size) {
                        char what[32];

                        snprintf(what, sizeof(what), "the PE section %s", name);
                        return truncated(why, what, ptr + raw_size, s->size);
                }
                /* What the section holds: its raw data up to its size in memory, when that is
                 * smaller (the rest is the file alignment's padding). */
                if (linux_section && !linux_section->found && memcmp(sec, ".linux\0\0", 8) == 0)
                        *linux_section = (struct pe_section){
                                .found = true,
                                .offset = ptr,
                                .length = vsize > 0 && vsize < raw_size ? vsize : raw_size
                        };
        }
        /* The Authenticode signature, when there is one, is appended: cut, Secure Boot fails. */
        dirs_off = fixed;
        n_dirs = le32(opt + fixed - 4);
        if (n_dirs > DIR_SECURITY && opt_size >= dirs_off + (DIR_SECURITY + 1) * 8 &&
            dirs_off + (DIR_SECURITY + 1) * 8 <= sizeof(opt)) {
                const uint8_t *d = opt + dirs_off + DIR_SECURITY * 8;
                uint64_t cert = le32(d), cert_size = le32(d + 4);

                if (cert_size > 0 && cert + cert_size > s->size)
                        return truncated(why, "its signature (the PE certificate table)",
                                         cert + cert_size, s->size);
        }

        /* A COFF symbol table (left in by some builds), then its string table, whose first
         * four bytes are its own length: the last bytes of such a file. */
        if (le32(coff + 12) != 0) {
                uint64_t sym = le32(coff + 12), strtab = sym + (uint64_t)le32(coff + 16) * 18;
                uint8_t len[4];

                if (strtab > s->size)
                        return truncated(why, "the COFF symbol table", strtab, s->size);
                if (strtab == s->size)
                        return 0; /* no string table (nothing needs one) */
                if (strtab + 4 > s->size)
                        return truncated(why, "the COFF string table", strtab + 4, s->size);
                r = src_read(s, strtab, len, sizeof(len), why);
                if (r < 0)
                        return r;
                if (strtab + le32(len) > s->size)
                        return truncated(why, "the COFF string table", strtab + le32(len), s->size);
        }

        return 0;
}

/* A compressed kernel (arm64's Image.gz, say): not judged beyond being there. */
static bool compressed(const uint8_t *p, uint64_t size)
{
        static const struct {
                uint8_t len;
                uint8_t magic[6];
        } magics[] = {
                { 2, { 0x1f, 0x8b } },                     /* gzip */
                { 4, { 0x28, 0xb5, 0x2f, 0xfd } },         /* zstd */
                { 6, { 0xfd, '7', 'z', 'X', 'Z', 0x00 } }, /* xz */
                { 4, { 0x02, 0x21, 0x4c, 0x18 } },         /* lz4 (legacy) */
                { 3, { 'B', 'Z', 'h' } },                  /* bzip2 */
                { 4, { 0x89, 'L', 'Z', 'O' } },            /* lzop */
                { 3, { 0x5d, 0x00, 0x00 } },               /* lzma */
        };

        for (size_t i = 0; i < ELEMENTSOF(magics); i++)
                if (size >= magics[i].len && memcmp(p, magics[i].magic, magics[i].len) == 0)
                        return true;
        return false;
}

static int check_kernel(const struct src *s, char **why)
{
        uint8_t h[BZ_HEADER_END] = {};
        size_t got = s->size < sizeof(h) ? (size_t)s->size : sizeof(h);
        bool mz, hdrs;
        int r;

        r = src_read(s, 0, h, got, why);
        if (r < 0)
                return r;
        mz = got >= 2 && h[0] == 'M' && h[1] == 'Z';
        hdrs = got >= BZ_HEADER + 4 && memcmp(h + BZ_HEADER, "HdrS", 4) == 0;
        if (!mz && !hdrs) {
                if (compressed(h, got))
                        return 0;
                return errmsg(why, -EBADMSG,
                              "not a kernel image: neither a PE image (\"MZ\" at byte 0) nor a "
                              "bzImage (\"HdrS\" at byte 0x%x)",
                              BZ_HEADER);
        }
        if (mz) {
                r = check_pe(s, NULL, why);
                if (r < 0)
                        return r;
        }
        if (hdrs) {
                unsigned setup = h[BZ_SETUP_SECTS] ? h[BZ_SETUP_SECTS] : 4;
                uint16_t version = got >= BZ_HEADER_END ? le16(h + BZ_VERSION) : 0;
                /* syssize: 16-byte paragraphs, 32 bits wide since protocol 2.04 */
                uint64_t sys = version >= 0x0204 ? le32(h + BZ_SYSSIZE) : le16(h + BZ_SYSSIZE);
                uint64_t need = ((uint64_t)setup + 1) * 512 + sys * 16;

                if (le16(h + BZ_BOOT_FLAG) != 0xaa55)
                        return errmsg(why, -EBADMSG,
                                      "the bzImage boot flag at byte 0x%x is 0x%04x, not 0xaa55",
                                      BZ_BOOT_FLAG, le16(h + BZ_BOOT_FLAG));
                if (need > s->size)
                        return errmsg(why, -EBADMSG,
                                      "truncated: the bzImage header declares %u setup sectors "
                                      "and %" PRIu64 " bytes of protected-mode code, so the "
                                      "kernel ends at byte %" PRIu64 ", the file has %" PRIu64,
                                      setup, sys * 16, need, s->size);
        }
        return 0;
}

static int check_uki(const struct src *s, char **why)
{
        struct pe_section linux_section = {};
        struct src k;
        int r;

        r = check_pe(s, &linux_section, why);
        if (r < 0)
                return r;
        if (!linux_section.found)
                return errmsg(why, -EBADMSG,
                              "no .linux section: an EFI program, not a unified kernel image");
        if (linux_section.length == 0)
                return errmsg(why, -EBADMSG, "its .linux section is empty");
        k = (struct src){ .fd = s->fd,
                          .data = s->data,
                          .base = s->base + linux_section.offset,
                          .size = linux_section.length };
        r = check_kernel(&k, why);
        if (r == -EBADMSG)
                return errmsg_prefix(why, r, "the kernel in its .linux section");
        return r;
}

static int check_devicetree(const struct src *s, char **why)
{
        uint8_t h[8];
        uint32_t total;
        int r;

        if (s->size < sizeof(h))
                return errmsg(why, -EBADMSG,
                              "not a flattened devicetree: %" PRIu64 " bytes, less than its "
                              "header",
                              s->size);
        r = src_read(s, 0, h, sizeof(h), why);
        if (r < 0)
                return r;
        if (be32(h) != FDT_MAGIC)
                return errmsg(why, -EBADMSG,
                              "not a flattened devicetree: no magic 0x%08x at byte 0 (0x%08" PRIx32
                              ")",
                              FDT_MAGIC, be32(h));
        total = be32(h + 4);
        if (total < FDT_HEADER_SIZE)
                return errmsg(why, -EBADMSG,
                              "its devicetree header gives a total size of %" PRIu32
                              " bytes, less than the header's %u",
                              total, FDT_HEADER_SIZE);
        if (total > s->size)
                return truncated(why, "the devicetree (its header's totalsize)", total, s->size);
        return 0;
}

static int check(const struct src *s, enum loaderfile_kind kind, char **why)
{
        if (s->size == 0)
                return errmsg(why, -EBADMSG, "empty (0 bytes)");
        switch (kind) {
        case LOADERFILE_EFI:
                return check_pe(s, NULL, why);
        case LOADERFILE_UKI:
                return check_uki(s, why);
        case LOADERFILE_KERNEL:
                return check_kernel(s, why);
        case LOADERFILE_INITRD:
                /* cpio ("070701"), compressed or not: the kernel unpacks what it can. Only
                 * nothing at all is certainly wrong. */
                return 0;
        case LOADERFILE_DEVICETREE:
                return check_devicetree(s, why);
        }
        return -EINVAL;
}

int loaderfile_check_fd(int fd, enum loaderfile_kind kind, char **why)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat: %m");
        if (!S_ISREG(st.st_mode))
                return errmsg(why, -EBADMSG, "not a regular file");
        return check(&(struct src){ .fd = fd, .size = (uint64_t)st.st_size }, kind, why);
}

int loaderfile_check_buffer(const void *data, size_t size, enum loaderfile_kind kind, char **why)
{
        /* A non-NULL pointer even for 0 bytes: src_read tells memory from a file by it. */
        static const uint8_t none[1];

        return check(&(struct src){ .fd = -1, .data = data ? data : none, .size = size }, kind,
                     why);
}
