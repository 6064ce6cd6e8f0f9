/* SPDX-License-Identifier: MIT */
/*
 * mkefivar: writes efivarfs-format files (u32 LE attributes, then the data) into a directory,
 * so that integration tests and the demo can point DUAL_ROOT_EFIVARS at a fake
 * /sys/firmware/efi/efivars. A test tool; not installed.
 *
 *   mkefivar DIR loader PARTUUID [--upper] [--no-nul]
 *   mkefivar DIR bootcurrent NUM
 *   mkefivar DIR bootentry NUM DESCRIPTION PATH [--full-sata|--full-nvme] [--file EFIPATH]
 *            [--start LBA] [--size SECTORS] [--inactive] [--optional-ucs2 TEXT]
 *       PATH is one of  --hd PARTNUM PARTUUID | --hd-mbr PARTNUM SIGNATURE | --whole-disk
 *   mkefivar DIR bootorder NUM[,NUM...]
 *   mkefivar DIR raw NAME-GUID HEXBYTES
 *   mkefivar DIR truncate NAME-GUID NBYTES
 *   common option: --attr HEX (attributes word for loader, bootcurrent, bootentry)
 *
 * Blobs are built with tests/tools/efi-encode.h, which shares no code with the parser. The
 * unit tests include this file with MKEFIVAR_NO_MAIN defined and call mkefivar_run().
 * Exit status: 0 written, 1 could not write, 2 usage error.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "util/macro.h"

#include "efi-encode.h"

#define MKEFIVAR_USAGE                                                                             \
        "usage: mkefivar DIR COMMAND ARGS... [OPTIONS]\n"                                          \
        "\n"                                                                                       \
        "Writes efivarfs-format files (4-byte little-endian attributes, then the data) into\n"     \
        "DIR, creating DIR if needed, for use as DUAL_ROOT_EFIVARS=DIR. Test tool.\n"              \
        "\n"                                                                                       \
        "  loader PARTUUID [--upper] [--no-nul]\n"                                                 \
        "        LoaderDevicePartUUID-" ENC_LOADER_GUID ": the PARTUUID as\n"                      \
        "        UTF-16LE text, lower case unless --upper, NUL-terminated unless --no-nul.\n"      \
        "  bootcurrent NUM\n"                                                                      \
        "        BootCurrent-" ENC_GLOBAL_GUID ": NUM (hex, 0..FFFF) as u16.\n"                    \
        "  bootentry NUM DESCRIPTION PATH [--full-sata|--full-nvme] [--file EFIPATH]\n"            \
        "            [--start LBA] [--size SECTORS]\n"                                             \
        "        BootNUM-" ENC_GLOBAL_GUID " (NUM as 4 upper-case hex\n"                           \
        "        digits): an active EFI_LOAD_OPTION whose device path PATH is one of\n"            \
        "          --hd PARTNUM PARTUUID     HD(PARTNUM,GPT,PARTUUID,...)/File(EFIPATH)\n"         \
        "          --hd-mbr PARTNUM SIG      HD(PARTNUM,MBR,0xSIG,...)/File(EFIPATH)\n"            \
        "          --whole-disk              PciRoot(0x0)/Pci(0x5,0x0) (OVMF's \"UEFI Misc\n"      \
        "                                    Device\"; no File() unless --file is given)\n"        \
        "        HD() paths are short form (starting at HD, as bootctl and efibootmgr write)\n"    \
        "        unless prefixed as firmware writes them:\n"                                       \
        "          --full-sata   PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(...)\n"        \
        "          --full-nvme   PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-...-00)/HD(...)\n"          \
        "        --file EFIPATH  default \\EFI\\systemd\\systemd-bootx64.efi; \"\" for none\n"     \
        "        --start LBA, --size SECTORS  default 0x800 + (PARTNUM-1)*0x100000, 0x100000\n"    \
        "        --inactive  the load option's LOAD_OPTION_ACTIVE bit cleared\n"                   \
        "        --optional-ucs2 TEXT  OptionalData: TEXT as NUL-terminated UCS-2 (a kernel's\n"   \
        "                    command line, as efibootmgr -u writes it)\n"                          \
        "  bootorder NUM[,NUM...]\n"                                                               \
        "        BootOrder-" ENC_GLOBAL_GUID ": the hex numbers as u16s.\n"                        \
        "  raw NAME-GUID HEXBYTES\n"                                                               \
        "        DIR/NAME-GUID holding exactly HEXBYTES (attributes included; spaces and\n"        \
        "        ':' between bytes are allowed; \"\" writes an empty file).\n"                     \
        "  truncate NAME-GUID NBYTES\n"                                                            \
        "        cut DIR/NAME-GUID to its first NBYTES bytes (attributes included).\n"             \
        "\n"                                                                                       \
        "  --attr HEX   attributes word for loader, bootcurrent, bootentry and bootorder\n"        \
        "               (default 0x6, BS|RT, for the volatile loader and bootcurrent, 0x7,\n"      \
        "               NV|BS|RT, for bootentry and bootorder)\n"                                  \
        "  -h, --help   this text\n"                                                               \
        "\n"                                                                                       \
        "Exit status: 0 written, 1 could not write, 2 usage error.\n"

#define DEFAULT_EFI_FILE "\\EFI\\systemd\\systemd-bootx64.efi"
#define DEFAULT_PART_SIZE UINT64_C(0x100000)
#define FIRST_PART_START UINT64_C(0x800)

_printf_(1, 2) static int mkefivar_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("mkefivar: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see mkefivar --help)\n", stderr);
        return 2;
}

static int mkefivar_write_error(const char *dir, const char *name, int r)
{
        fprintf(stderr, "mkefivar: cannot write %s/%s: %s\n", dir, name, strerror(-r));
        return 1;
}

/* Unsigned number in the given base with nothing after it; "0x" accepted for base 16. */
static bool mkefivar_parse_u64(const char *s, int base, uint64_t max, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (base == 16 && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
                s += 2;
        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return false;
        errno = 0;
        v = strtoull(s, &end, base);
        if (errno != 0 || *end || v > max)
                return false;
        *ret = v;
        return true;
}

/* Options after the command: each takes a fixed number of arguments. */
struct mkefivar_opts {
        const char *positional[4];
        size_t n_positional;
        bool upper, no_nul, full_sata, full_nvme, whole_disk, inactive, help;
        const char *hd_num, *hd_uuid, *mbr_num, *mbr_sig, *file, *start, *size, *attr;
        const char *optional;
};

static int mkefivar_parse_opts(int argc, char **argv, struct mkefivar_opts *o)
{
        bool options_done = false;

        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                int need = 0;

                if (options_done || a[0] != '-' || a[1] == 0) {
                        if (o->n_positional >= ELEMENTSOF(o->positional))
                                return mkefivar_usage_error("unexpected argument '%s'", a);
                        o->positional[o->n_positional++] = a;
                        continue;
                }
                if (streq(a, "--"))
                        options_done = true;
                else if (streq(a, "-h") || streq(a, "--help"))
                        o->help = true;
                else if (streq(a, "--upper"))
                        o->upper = true;
                else if (streq(a, "--no-nul"))
                        o->no_nul = true;
                else if (streq(a, "--full-sata"))
                        o->full_sata = true;
                else if (streq(a, "--full-nvme"))
                        o->full_nvme = true;
                else if (streq(a, "--whole-disk"))
                        o->whole_disk = true;
                else if (streq(a, "--inactive"))
                        o->inactive = true;
                else if (streq(a, "--hd") || streq(a, "--hd-mbr"))
                        need = 2;
                else if (streq(a, "--file") || streq(a, "--start") || streq(a, "--size") ||
                         streq(a, "--attr") || streq(a, "--optional-ucs2"))
                        need = 1;
                else
                        return mkefivar_usage_error("unknown option '%s'", a);

                if (need == 0)
                        continue;
                if (i + need >= argc)
                        return mkefivar_usage_error("%s needs %d argument%s", a, need,
                                                    need > 1 ? "s" : "");
                if (streq(a, "--hd")) {
                        o->hd_num = argv[i + 1];
                        o->hd_uuid = argv[i + 2];
                } else if (streq(a, "--hd-mbr")) {
                        o->mbr_num = argv[i + 1];
                        o->mbr_sig = argv[i + 2];
                } else if (streq(a, "--file"))
                        o->file = argv[i + 1];
                else if (streq(a, "--start"))
                        o->start = argv[i + 1];
                else if (streq(a, "--size"))
                        o->size = argv[i + 1];
                else if (streq(a, "--optional-ucs2"))
                        o->optional = argv[i + 1];
                else
                        o->attr = argv[i + 1];
                i += need;
        }
        return 0;
}

static int mkefivar_attr(const struct mkefivar_opts *o, uint32_t def, uint32_t *ret)
{
        uint64_t v;

        if (!o->attr) {
                *ret = def;
                return 0;
        }
        if (!mkefivar_parse_u64(o->attr, 16, UINT32_MAX, &v))
                return mkefivar_usage_error("--attr: '%s' is not a hex u32", o->attr);
        *ret = (uint32_t)v;
        return 0;
}

static int mkefivar_loader(const char *dir, const struct mkefivar_opts *o)
{
        const char *name = "LoaderDevicePartUUID-" ENC_LOADER_GUID;
        char text[37];
        uint8_t g[16];
        struct blob b = {};
        uint32_t attr = 0;
        int r;

        if (o->n_positional != 3)
                return mkefivar_usage_error("loader takes one PARTUUID");
        /* Validated, so that a typo does not silently make a "malformed variable" test. Use
         * raw for malformed contents. */
        if (enc_guid(o->positional[2], g) < 0)
                return mkefivar_usage_error("'%s' is not a GUID", o->positional[2]);
        r = mkefivar_attr(o, ENC_ATTR_BS | ENC_ATTR_RT, &attr);
        if (r != 0)
                return r;
        for (size_t i = 0; i <= 36; i++)
                text[i] = (char)(o->upper ? toupper(o->positional[2][i])
                                          : tolower(o->positional[2][i]));
        (void)blob_utf16(&b, text, !o->no_nul);
        r = b.failed ? -ENOMEM : efivar_write(dir, name, attr, b.data, b.size);
        blob_done(&b);
        return r < 0 ? mkefivar_write_error(dir, name, r) : 0;
}

static int mkefivar_bootcurrent(const char *dir, const struct mkefivar_opts *o)
{
        const char *name = "BootCurrent-" ENC_GLOBAL_GUID;
        uint64_t num;
        uint8_t v[2];
        uint32_t attr = 0;
        int r;

        if (o->n_positional != 3)
                return mkefivar_usage_error("bootcurrent takes one NUM");
        if (!mkefivar_parse_u64(o->positional[2], 16, 0xffff, &num))
                return mkefivar_usage_error("'%s' is not a hex number 0..FFFF", o->positional[2]);
        r = mkefivar_attr(o, ENC_ATTR_BS | ENC_ATTR_RT, &attr);
        if (r != 0)
                return r;
        v[0] = (uint8_t)num;
        v[1] = (uint8_t)(num >> 8);
        r = efivar_write(dir, name, attr, v, sizeof(v));
        return r < 0 ? mkefivar_write_error(dir, name, r) : 0;
}

/* BootOrder from one comma-separated list of hex numbers ("" for an empty one). */
static int mkefivar_bootorder(const char *dir, const struct mkefivar_opts *o)
{
        const char *name = "BootOrder-" ENC_GLOBAL_GUID;
        uint8_t v[2 * 64];
        size_t n = 0;
        uint32_t attr = 0;
        char list[512], *save = NULL;
        int r;

        if (o->n_positional != 3)
                return mkefivar_usage_error("bootorder takes one NUM[,NUM...] list");
        if (strlen(o->positional[2]) >= sizeof(list))
                return mkefivar_usage_error("bootorder list too long");
        strcpy(list, o->positional[2]);
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                uint64_t num;

                if (n >= ELEMENTSOF(v) / 2)
                        return mkefivar_usage_error("bootorder: at most 64 entries");
                if (!mkefivar_parse_u64(t, 16, 0xffff, &num))
                        return mkefivar_usage_error("'%s' is not a hex number 0..FFFF", t);
                v[2 * n] = (uint8_t)num;
                v[2 * n + 1] = (uint8_t)(num >> 8);
                n++;
        }
        r = mkefivar_attr(o, ENC_ATTR_NV | ENC_ATTR_BS | ENC_ATTR_RT, &attr);
        if (r != 0)
                return r;
        r = efivar_write(dir, name, attr, v, 2 * n);
        return r < 0 ? mkefivar_write_error(dir, name, r) : 0;
}

static int mkefivar_bootentry(const char *dir, const struct mkefivar_opts *o)
{
        static const uint8_t zero_eui[8];
        char name[sizeof("Boot0000-" ENC_GLOBAL_GUID)];
        struct blob path = {}, option = {}, optional = {};
        const char *file = o->file ? o->file : o->whole_disk ? "" : DEFAULT_EFI_FILE;
        uint64_t num, part = 0, sig = 0, start, size;
        int kinds = !!o->hd_num + !!o->mbr_num + o->whole_disk, r;
        uint32_t attr = 0;

        if (o->n_positional != 4)
                return mkefivar_usage_error("bootentry takes NUM and DESCRIPTION");
        if (!mkefivar_parse_u64(o->positional[2], 16, 0xffff, &num))
                return mkefivar_usage_error("'%s' is not a hex number 0..FFFF", o->positional[2]);
        if (kinds != 1)
                return mkefivar_usage_error("bootentry needs exactly one of --hd, --hd-mbr, "
                                            "--whole-disk");
        if (o->full_sata && o->full_nvme)
                return mkefivar_usage_error("--full-sata and --full-nvme exclude each other");
        if (o->whole_disk && (o->full_sata || o->full_nvme || o->start || o->size))
                return mkefivar_usage_error("--whole-disk has no partition to place");
        if (o->hd_num && !mkefivar_parse_u64(o->hd_num, 10, UINT32_MAX, &part))
                return mkefivar_usage_error("'%s' is not a partition number", o->hd_num);
        if (o->mbr_num && !mkefivar_parse_u64(o->mbr_num, 10, UINT32_MAX, &part))
                return mkefivar_usage_error("'%s' is not a partition number", o->mbr_num);
        if (o->mbr_sig && !mkefivar_parse_u64(o->mbr_sig, 16, UINT32_MAX, &sig))
                return mkefivar_usage_error("'%s' is not a hex 32-bit MBR signature", o->mbr_sig);
        start = FIRST_PART_START + (part > 0 ? part - 1 : 0) * DEFAULT_PART_SIZE;
        size = DEFAULT_PART_SIZE;
        if (o->start && !mkefivar_parse_u64(o->start, 0, UINT64_MAX, &start))
                return mkefivar_usage_error("--start: '%s' is not a number", o->start);
        if (o->size && !mkefivar_parse_u64(o->size, 0, UINT64_MAX, &size))
                return mkefivar_usage_error("--size: '%s' is not a number", o->size);
        r = mkefivar_attr(o, ENC_ATTR_NV | ENC_ATTR_BS | ENC_ATTR_RT, &attr);
        if (r != 0)
                return r;
        snprintf(name, sizeof(name), "Boot%04X-%s", (unsigned)num, ENC_GLOBAL_GUID);

        if (o->whole_disk) {
                dp_pciroot(&path, 0);
                dp_pci(&path, 0x5, 0x0);
        } else {
                if (o->full_sata) {
                        dp_pciroot(&path, 0);
                        dp_pci(&path, 0x1f, 0x2);
                        dp_sata(&path, 0, 0xffff, 0);
                } else if (o->full_nvme) {
                        dp_pciroot(&path, 0);
                        dp_pci(&path, 0x4, 0x0);
                        dp_nvme(&path, 1, zero_eui);
                }
                if (o->hd_num) {
                        if (dp_hd_gpt(&path, (uint32_t)part, start, size, o->hd_uuid) < 0) {
                                blob_done(&path);
                                return mkefivar_usage_error("'%s' is not a GUID", o->hd_uuid);
                        }
                } else
                        dp_hd_mbr(&path, (uint32_t)part, start, size, (uint32_t)sig);
        }
        if (*file && dp_file(&path, file) < 0) {
                blob_done(&path);
                return mkefivar_usage_error("--file: '%s' is not valid UTF-8 or too long", file);
        }
        dp_end(&path);

        if (o->optional && blob_utf16(&optional, o->optional, true) < 0) {
                blob_done(&path);
                blob_done(&optional);
                return mkefivar_usage_error("--optional-ucs2: '%s' is not valid UTF-8",
                                            o->optional);
        }
        r = enc_load_option(&option, o->inactive ? 0 : ENC_LOAD_OPTION_ACTIVE, o->positional[3],
                            &path, optional.data, optional.size);
        if (r == 0 && optional.failed)
                r = -ENOMEM;
        blob_done(&optional);
        if (r == -EINVAL) {
                blob_done(&path);
                blob_done(&option);
                return mkefivar_usage_error("DESCRIPTION is not valid UTF-8");
        }
        if (r == 0 && (path.failed || option.failed))
                r = -ENOMEM;
        if (r == 0)
                r = efivar_write(dir, name, attr, option.data, option.size);
        blob_done(&path);
        blob_done(&option);
        return r < 0 ? mkefivar_write_error(dir, name, r) : 0;
}

static int mkefivar_raw(const char *dir, const struct mkefivar_opts *o)
{
        const char *name, *s;
        struct blob b = {};
        int r;

        if (o->n_positional != 4)
                return mkefivar_usage_error("raw takes NAME-GUID and HEXBYTES");
        name = o->positional[2];
        if (strchr(name, '/') || !*name)
                return mkefivar_usage_error("'%s' is not a variable file name", name);
        for (s = o->positional[3]; *s;) {
                if (*s == ' ' || *s == ':' || *s == '\n' || *s == '\t') {
                        s++;
                        continue;
                }
                if (enc_hexval(s[0]) < 0 || enc_hexval(s[1]) < 0) {
                        blob_done(&b);
                        return mkefivar_usage_error("HEXBYTES: '%.2s' at offset %zu is not a "
                                                    "hex byte",
                                                    s, (size_t)(s - o->positional[3]));
                }
                blob_u8(&b, (uint8_t)(enc_hexval(s[0]) << 4 | enc_hexval(s[1])));
                s += 2;
        }
        r = b.failed ? -ENOMEM : efivar_write_raw(dir, name, b.data, b.size);
        blob_done(&b);
        return r < 0 ? mkefivar_write_error(dir, name, r) : 0;
}

static int mkefivar_truncate(const char *dir, const struct mkefivar_opts *o)
{
        char path[4096];
        struct stat st;
        uint64_t n;

        if (o->n_positional != 4)
                return mkefivar_usage_error("truncate takes NAME-GUID and NBYTES");
        if (strchr(o->positional[2], '/') || !*o->positional[2])
                return mkefivar_usage_error("'%s' is not a variable file name", o->positional[2]);
        if (!mkefivar_parse_u64(o->positional[3], 10, INT64_MAX, &n))
                return mkefivar_usage_error("'%s' is not a byte count", o->positional[3]);
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, o->positional[2]) >= sizeof(path))
                return mkefivar_write_error(dir, o->positional[2], -ENAMETOOLONG);
        if (stat(path, &st) < 0)
                return mkefivar_write_error(dir, o->positional[2], -errno);
        /* Only ever shorter: the point is a variable cut short, not one padded with zeros. */
        if ((uint64_t)st.st_size < n)
                return mkefivar_usage_error("%s is %lld bytes, cannot cut it to %" PRIu64, path,
                                            (long long)st.st_size, n);
        if (truncate(path, (off_t)n) < 0)
                return mkefivar_write_error(dir, o->positional[2], -errno);
        return 0;
}

/* argv[0] is the program name, as for main(). Returns the exit status. */
static int mkefivar_run(int argc, char **argv)
{
        struct mkefivar_opts o = {};
        const char *dir, *cmd;
        int r;

        r = mkefivar_parse_opts(argc - 1, argv + 1, &o);
        if (r != 0)
                return r;
        if (o.help) {
                fputs(MKEFIVAR_USAGE, stdout);
                return 0;
        }
        if (o.n_positional < 2)
                return mkefivar_usage_error("need DIR and COMMAND");
        dir = o.positional[0];
        cmd = o.positional[1];

        if (!streq(cmd, "loader") && (o.upper || o.no_nul))
                return mkefivar_usage_error("--upper and --no-nul are for loader");
        if (!streq(cmd, "bootentry") && (o.hd_num || o.mbr_num || o.whole_disk || o.full_sata ||
                                         o.full_nvme || o.file || o.start || o.size))
                return mkefivar_usage_error("path options are for bootentry");
        if (o.attr && (streq(cmd, "raw") || streq(cmd, "truncate")))
                return mkefivar_usage_error("--attr is not for %s", cmd);

        if (!streq(cmd, "truncate") && mkdir(dir, 0755) < 0 && errno != EEXIST)
                return mkefivar_write_error(dir, "", -errno);

        if (streq(cmd, "loader"))
                return mkefivar_loader(dir, &o);
        if (streq(cmd, "bootcurrent"))
                return mkefivar_bootcurrent(dir, &o);
        if (streq(cmd, "bootentry"))
                return mkefivar_bootentry(dir, &o);
        if (streq(cmd, "bootorder"))
                return mkefivar_bootorder(dir, &o);
        if (streq(cmd, "raw"))
                return mkefivar_raw(dir, &o);
        if (streq(cmd, "truncate"))
                return mkefivar_truncate(dir, &o);
        return mkefivar_usage_error("unknown command '%s'", cmd);
}

#ifndef MKEFIVAR_NO_MAIN
int main(int argc, char **argv)
{
        return mkefivar_run(argc, argv);
}
#endif
