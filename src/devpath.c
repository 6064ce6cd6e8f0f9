/* SPDX-License-Identifier: MIT */
/*
 * What EFI variables hold: LoaderDevicePartUUID text, EFI_LOAD_OPTION (UEFI 2.10 §3.1.3) and
 * device paths (§10.2-§10.3, text notation §10.6). No I/O here. Every byte parsed comes from
 * firmware or from whoever could write an EFI variable, so: every length is checked against
 * the bytes present before anything is read, multi-byte fields are assembled byte by byte
 * (the data has no alignment), and nothing is guessed: a structure that does not add up is an
 * error saying which field and why.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "efivars.h"
#include "util/errmsg.h"
#include "util/utf8.h"

/* Device path node types and the subtypes we look at (UEFI 2.10 §10.3). */
enum {
        DP_HW = 0x01,
        DP_ACPI = 0x02,
        DP_MSG = 0x03,
        DP_MEDIA = 0x04,
        DP_BBS = 0x05,
        DP_END = 0x7f,
};
#define DP_END_INSTANCE 0x01
#define DP_END_ENTIRE 0xff
#define DP_HEADER_SIZE 4
#define DP_MEDIA_HD 0x01
#define DP_HD_LENGTH 42 /* §10.3.5.1: header + 4 + 8 + 8 + 16 + 1 + 1 */

/* Hard Drive node: PartitionFormat (the spec's "MBRType") and SignatureType. */
#define HD_FORMAT_MBR 0x01
#define HD_FORMAT_GPT 0x02
#define HD_SIG_NONE 0x00
#define HD_SIG_MBR 0x01
#define HD_SIG_GUID 0x02

/* EISA ID compression (§10.3.3): "PNP" in the low 16 bits, product number in the high ones. */
#define EISA_PNP 0x41d0u
#define PNP_PCI_ROOT 0x0a03u
#define PNP_PCIE_ROOT 0x0a08u

/* A vendor node's data is shown in hex up to this many bytes: the text is for messages. */
#define VENDOR_DATA_SHOWN 16

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
        return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* EFI_GUID in memory: Data1 (u32), Data2 and Data3 (u16) little-endian, then 8 bytes in order
 * (§Appendix A). Text is always lower case, as Linux shows PARTUUIDs. */
static void guid_to_string(const uint8_t *g, char ret[GUID_STRING_MAX])
{
        snprintf(ret, GUID_STRING_MAX, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 get32(g), (unsigned)get16(g + 4), (unsigned)get16(g + 6), g[8], g[9], g[10], g[11],
                 g[12], g[13], g[14], g[15]);
}

/* A growing string; once an allocation failed every later append is a no-op and the result
 * is -ENOMEM. */
struct sbuf {
        char *s;
        size_t len, alloc;
        bool oom;
};

static void sbuf_done(struct sbuf *b)
{
        free(b->s);
        *b = (struct sbuf){};
}

__attribute__((format(printf, 2, 0))) static void sbuf_vprintf(struct sbuf *b, const char *fmt,
                                                               va_list ap)
{
        va_list aq;
        int n;

        if (b->oom)
                return;
        va_copy(aq, ap);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->alloc - b->len : 0, fmt, aq);
        va_end(aq);
        if (n < 0) {
                b->oom = true;
                return;
        }
        if (!b->s || b->len + (size_t)n + 1 > b->alloc) {
                size_t na = b->alloc * 2;
                char *t;

                if (na < b->len + (size_t)n + 1)
                        na = b->len + (size_t)n + 1;
                if (na < 64)
                        na = 64;
                t = realloc(b->s, na);
                if (!t) {
                        b->oom = true;
                        return;
                }
                b->s = t;
                b->alloc = na;
                va_copy(aq, ap);
                n = vsnprintf(b->s + b->len, b->alloc - b->len, fmt, aq);
                va_end(aq);
                if (n < 0) {
                        b->oom = true;
                        return;
                }
        }
        b->len += (size_t)n;
}

_printf_(2, 3) static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        sbuf_vprintf(b, fmt, ap);
        va_end(ap);
}

/* Takes the string out (never NULL on success). */
static int sbuf_take(struct sbuf *b, char **ret)
{
        if (!b->oom && !b->s)
                sbuf_printf(b, "%s", "");
        if (b->oom) {
                sbuf_done(b);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(b->s);
        sbuf_done(b);
        return 0;
}

static void sbuf_put_codepoint(struct sbuf *b, uint32_t c)
{
        char u[4];

        sbuf_printf(b, "%.*s", (int)utf8_encode(u, c), u);
}

/*
 * Appends n UTF-16LE code units as UTF-8. UEFI strings are UCS-2 (§2.3.1), but firmware and
 * tools do store surrogate pairs; those are combined. A lone surrogate, and any control
 * character (the text ends up on a terminal or in a log line), becomes U+FFFD.
 */
static void sbuf_put_utf16(struct sbuf *b, const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                uint32_t c = get16(p + 2 * i);

                if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && get16(p + 2 * (i + 1)) >= 0xdc00 &&
                    get16(p + 2 * (i + 1)) <= 0xdfff) {
                        c = 0x10000 + ((c - 0xd800) << 10) + (get16(p + 2 * (i + 1)) - 0xdc00u);
                        i++;
                } else if (c >= 0xd800 && c <= 0xdfff)
                        c = 0xfffd;
                if (c < 0x20 || (c >= 0x7f && c < 0xa0))
                        c = 0xfffd;
                sbuf_put_codepoint(b, c);
        }
}

/* Number of UTF-16 code units before the first NUL in the first `size` bytes (a trailing odd
 * byte is not a unit). */
static size_t utf16_units(const uint8_t *p, size_t size)
{
        size_t n = 0;

        while (2 * n + 1 < size && get16(p + 2 * n) != 0)
                n++;
        return n;
}

/* One device path node (§10.2: u8 Type, u8 SubType, u16 Length including the header). */
struct dp_node {
        uint8_t type, subtype;
        size_t length;
        const uint8_t *p; /* the node, header included */
        size_t offset;    /* in the path, for messages */
        unsigned index;   /* 1-based, for messages */
};

/* Reads the node at offset, checking its header and length against the bytes left. */
static int dp_read_node(const uint8_t *path, size_t size, size_t offset, unsigned index,
                        struct dp_node *ret, char **why)
{
        size_t left = size - offset, length;

        if (left < DP_HEADER_SIZE)
                return errmsg(why, -EBADMSG,
                              "device path node %u at offset %zu: %zu bytes left, too few for "
                              "the 4-byte node header",
                              index, offset, left);
        length = get16(path + offset + 2);
        if (length < DP_HEADER_SIZE)
                /* A zero length would make a naive walker loop forever (§10.2 requires the
                 * length to include the 4-byte header). */
                return errmsg(why, -EBADMSG,
                              "device path node %u at offset %zu (type 0x%02X, subtype 0x%02X): "
                              "length %zu is less than the 4-byte node header",
                              index, offset, path[offset], path[offset + 1], length);
        if (length > left)
                return errmsg(why, -EBADMSG,
                              "device path node %u at offset %zu (type 0x%02X, subtype 0x%02X): "
                              "length %zu exceeds the %zu bytes left",
                              index, offset, path[offset], path[offset + 1], length, left);
        *ret = (struct dp_node){
                .type = path[offset],
                .subtype = path[offset + 1],
                .length = length,
                .p = path + offset,
                .offset = offset,
                .index = index,
        };
        return 0;
}

/*
 * A device path is a sequence of nodes; End Instance (0x7F/0x01) separates instances and End
 * Entire (0x7F/0xFF) terminates the whole list (§10.3.1). We require the list to end with End
 * Entire exactly at its last byte: FilePathListLength covers the list and nothing else.
 */
static int dp_check(const uint8_t *path, size_t size, char **why)
{
        size_t offset = 0;

        for (unsigned index = 1;; index++) {
                struct dp_node n;
                int r;

                if (offset >= size)
                        return errmsg(why, -EBADMSG,
                                      "device path (%zu bytes) does not end with an End Entire "
                                      "node (0x7F/0xFF)",
                                      size);
                r = dp_read_node(path, size, offset, index, &n, why);
                if (r < 0)
                        return r;
                if (n.type == DP_END) {
                        if (n.subtype == DP_END_ENTIRE) {
                                if (offset + n.length != size)
                                        return errmsg(why, -EBADMSG,
                                                      "device path has %zu bytes after its End "
                                                      "Entire node (node %u at offset %zu)",
                                                      size - offset - n.length, index, offset);
                                return 0;
                        }
                        if (n.subtype != DP_END_INSTANCE)
                                return errmsg(why, -EBADMSG,
                                              "device path node %u at offset %zu is an End node "
                                              "of unknown subtype 0x%02X",
                                              index, offset, n.subtype);
                }
                offset += n.length;
        }
}

/* Iterates over a path that dp_check() accepted. The bounds are re-checked anyway, so a walk
 * can never leave the buffer. */
static bool dp_next(const uint8_t *path, size_t size, size_t *offset, unsigned *index,
                    struct dp_node *ret)
{
        if (*offset >= size || dp_read_node(path, size, *offset, *index + 1, ret, NULL) < 0)
                return false;
        *offset += ret->length;
        (*index)++;
        return true;
}

/* Hard Drive media node (§10.3.5.1). */
struct hd_node {
        uint32_t number;
        uint64_t start, size;
        const uint8_t *signature; /* 16 bytes */
        uint8_t format, signature_type;
};

static int hd_parse(const struct dp_node *n, struct hd_node *ret, char **why)
{
        if (n->length != DP_HD_LENGTH)
                return errmsg(why, -EBADMSG,
                              "Hard Drive node (device path node %u) has length %zu, expected %d",
                              n->index, n->length, DP_HD_LENGTH);
        *ret = (struct hd_node){
                .number = get32(n->p + 4),
                .start = get64(n->p + 8),
                .size = get64(n->p + 16),
                .signature = n->p + 24,
                .format = n->p[40],
                .signature_type = n->p[41],
        };
        return 0;
}

int efi_devpath_find_gpt_partuuid(const uint8_t *path, size_t size, char ret[GUID_STRING_MAX],
                                  char **why)
{
        size_t offset = 0;
        unsigned index = 0;
        struct dp_node n;
        int r;

        r = dp_check(path, size, why);
        if (r < 0)
                return r;

        while (dp_next(path, size, &offset, &index, &n)) {
                static const uint8_t zero[16];
                char guid[GUID_STRING_MAX];
                struct hd_node hd;

                /* Only the first instance is what the firmware loaded from; later instances
                 * (rare in Boot####) are alternatives we must not mistake for it. */
                if (n.type == DP_END)
                        break;
                if (n.type != DP_MEDIA || n.subtype != DP_MEDIA_HD)
                        continue;

                r = hd_parse(&n, &hd, why);
                if (r < 0)
                        return r;
                switch (hd.signature_type) {
                case HD_SIG_GUID:
                        if (hd.format != HD_FORMAT_GPT)
                                return errmsg(why, -EBADMSG,
                                              "Hard Drive node for partition %" PRIu32
                                              " has a GUID signature but partition format "
                                              "0x%02X, not GPT (0x02)",
                                              hd.number, hd.format);
                        if (memcmp(hd.signature, zero, sizeof(zero)) == 0)
                                return errmsg(why, -EBADMSG,
                                              "Hard Drive node for partition %" PRIu32
                                              " has an all-zero GPT partition GUID",
                                              hd.number);
                        guid_to_string(hd.signature, guid);
                        memcpy(ret, guid, GUID_STRING_MAX);
                        return 0;
                case HD_SIG_MBR:
                        return errmsg(why, -EMEDIUMTYPE,
                                      "Hard Drive node for partition %" PRIu32
                                      " has an MBR disk signature (0x%08" PRIX32
                                      "), not a GPT partition GUID",
                                      hd.number, get32(hd.signature));
                case HD_SIG_NONE:
                        return errmsg(why, -EMEDIUMTYPE,
                                      "Hard Drive node for partition %" PRIu32
                                      " has no signature, so no PARTUUID",
                                      hd.number);
                default:
                        return errmsg(why, -EBADMSG,
                                      "Hard Drive node for partition %" PRIu32
                                      " has unknown signature type 0x%02X",
                                      hd.number, hd.signature_type);
                }
        }

        return errmsg(why, -ENOENT,
                      "device path has no Hard Drive node (type 4, subtype 1) in its first "
                      "instance");
}

int efi_devpath_find_file(const uint8_t *path, size_t size, char **ret, char **why)
{
        struct sbuf b = {};
        size_t offset = 0;
        unsigned index = 0, found = 0;
        struct dp_node n;
        int r;

        r = dp_check(path, size, why);
        if (r < 0)
                return r;
        /* §10.3.5.4: a path may be split over several File() nodes; the firmware joins them. */
        while (dp_next(path, size, &offset, &index, &n) && n.type != DP_END) {
                size_t bytes = n.length - DP_HEADER_SIZE;

                if (n.type != DP_MEDIA || n.subtype != 0x04)
                        continue;
                if (bytes % 2 != 0) {
                        sbuf_done(&b);
                        return errmsg(why, -EBADMSG,
                                      "File node (device path node %u) has an odd length %zu",
                                      n.index, n.length);
                }
                sbuf_put_utf16(&b, n.p + DP_HEADER_SIZE, utf16_units(n.p + DP_HEADER_SIZE, bytes));
                found++;
        }
        if (found == 0) {
                sbuf_done(&b);
                return errmsg(why, -ENOENT, "device path has no File node in its first instance");
        }
        return sbuf_take(&b, ret);
}

/* ---- text notation (§10.6.1) ---- */

static void put_guid(struct sbuf *b, const uint8_t *g)
{
        char s[GUID_STRING_MAX];

        guid_to_string(g, s);
        sbuf_printf(b, "%s", s);
}

/* VenHw/VenMsg/VenMedia(GUID[,data]) (§10.3.2.4, §10.3.4.8, §10.3.5.3). */
static int put_vendor(struct sbuf *b, const char *name, const struct dp_node *n)
{
        size_t data;

        if (n->length < DP_HEADER_SIZE + 16)
                return -EBADMSG;
        sbuf_printf(b, "%s(", name);
        put_guid(b, n->p + 4);
        data = n->length - 20;
        if (data > 0) {
                sbuf_printf(b, ",");
                for (size_t i = 0; i < data && i < VENDOR_DATA_SHOWN; i++)
                        sbuf_printf(b, "%02X", n->p[20 + i]);
                if (data > VENDOR_DATA_SHOWN)
                        sbuf_printf(b, "...");
        }
        sbuf_printf(b, ")");
        return 0;
}

/* Acpi(HID,UID) with the HID decoded from its EISA compression when it is one (§10.3.3). */
static void put_acpi(struct sbuf *b, uint32_t hid, uint32_t uid)
{
        char v[3] = {
                (char)('@' + (hid >> 10 & 0x1f)),
                (char)('@' + (hid >> 5 & 0x1f)),
                (char)('@' + (hid & 0x1f)),
        };

        if ((hid & 0xffff) == EISA_PNP && hid >> 16 == PNP_PCI_ROOT)
                sbuf_printf(b, "PciRoot(0x%" PRIX32 ")", uid);
        else if ((hid & 0xffff) == EISA_PNP && hid >> 16 == PNP_PCIE_ROOT)
                sbuf_printf(b, "PcieRoot(0x%" PRIX32 ")", uid);
        else if (v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' && v[2] >= 'A' &&
                 v[2] <= 'Z' && !(hid & 0x8000))
                sbuf_printf(b, "Acpi(%c%c%c%04" PRIX32 ",0x%" PRIX32 ")", v[0], v[1], v[2],
                            hid >> 16, uid);
        else
                sbuf_printf(b, "Acpi(0x%08" PRIX32 ",0x%" PRIX32 ")", hid, uid);
}

static const char *ip_protocol(uint16_t p)
{
        return p == 6 ? "TCP" : p == 17 ? "UDP" : NULL;
}

static void put_ip_protocol(struct sbuf *b, uint16_t p)
{
        if (ip_protocol(p))
                sbuf_printf(b, "%s", ip_protocol(p));
        else
                sbuf_printf(b, "0x%X", (unsigned)p);
}

/* IPv4(remote,protocol,DHCP|Static,local) (§10.3.4.12); the node grew from 19 to 27 bytes in
 * UEFI 2.0 (gateway, subnet), which we do not show. */
static int put_ipv4(struct sbuf *b, const struct dp_node *n)
{
        char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];

        if (n->length < 19)
                return -EBADMSG;
        if (!inet_ntop(AF_INET, n->p + 4, local, sizeof(local)) ||
            !inet_ntop(AF_INET, n->p + 8, remote, sizeof(remote)))
                return -EBADMSG;
        sbuf_printf(b, "IPv4(%s,", remote);
        put_ip_protocol(b, get16(n->p + 16));
        sbuf_printf(b, ",%s,%s)", n->p[18] ? "Static" : "DHCP", local);
        return 0;
}

/* IPv6(remote,protocol,origin,local) (§10.3.4.13); 43 bytes before UEFI 2.3, 60 since. */
static int put_ipv6(struct sbuf *b, const struct dp_node *n)
{
        static const char *const origin[] = { "Static", "StatelessAutoConfigure",
                                              "StatefulAutoConfigure" };
        char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];

        if (n->length < 43)
                return -EBADMSG;
        if (!inet_ntop(AF_INET6, n->p + 4, local, sizeof(local)) ||
            !inet_ntop(AF_INET6, n->p + 20, remote, sizeof(remote)))
                return -EBADMSG;
        sbuf_printf(b, "IPv6(%s,", remote);
        put_ip_protocol(b, get16(n->p + 40));
        if (n->p[42] < ELEMENTSOF(origin))
                sbuf_printf(b, ",%s,%s)", origin[n->p[42]], local);
        else
                sbuf_printf(b, ",0x%X,%s)", n->p[42], local);
        return 0;
}

/* MAC(address,IfType) (§10.3.4.11): 32 address bytes, of which IfType 0/1 (Ethernet) uses 6. */
static int put_mac(struct sbuf *b, const struct dp_node *n)
{
        size_t shown;

        if (n->length < 37)
                return -EBADMSG;
        shown = n->p[36] <= 1 ? 6 : 32;
        sbuf_printf(b, "MAC(");
        for (size_t i = 0; i < shown; i++)
                sbuf_printf(b, "%02x", n->p[4 + i]);
        sbuf_printf(b, ",0x%X)", n->p[36]);
        return 0;
}

/* Uri(...) (§10.3.4.24): the rest of the node, not NUL-terminated; bytes outside printable
 * ASCII are shown as '?' (a URI has none; this text goes to a terminal). */
static void put_uri(struct sbuf *b, const struct dp_node *n)
{
        sbuf_printf(b, "Uri(");
        for (size_t i = DP_HEADER_SIZE; i < n->length && n->p[i] != 0; i++)
                sbuf_printf(b, "%c", n->p[i] >= 0x20 && n->p[i] < 0x7f ? (char)n->p[i] : '?');
        sbuf_printf(b, ")");
}

/* File(...) (§10.3.5.4): a NUL-terminated UCS-2 path filling the node. */
static int put_file(struct sbuf *b, const struct dp_node *n)
{
        size_t bytes = n->length - DP_HEADER_SIZE;

        if (bytes % 2 != 0)
                return -EBADMSG;
        sbuf_printf(b, "File(");
        sbuf_put_utf16(b, n->p + DP_HEADER_SIZE, utf16_units(n->p + DP_HEADER_SIZE, bytes));
        sbuf_printf(b, ")");
        return 0;
}

static int put_hd(struct sbuf *b, const struct dp_node *n)
{
        struct hd_node hd;

        if (hd_parse(n, &hd, NULL) < 0)
                return -EBADMSG;
        sbuf_printf(b, "HD(%" PRIu32 ",", hd.number);
        if (hd.signature_type == HD_SIG_GUID) {
                sbuf_printf(b, "GPT,");
                put_guid(b, hd.signature);
        } else if (hd.signature_type == HD_SIG_MBR)
                sbuf_printf(b, "MBR,0x%08" PRIX32, get32(hd.signature));
        else
                sbuf_printf(b, "%u,0", hd.signature_type);
        sbuf_printf(b, ",0x%" PRIX64 ",0x%" PRIX64 ")", hd.start, hd.size);
        return 0;
}

/* Renders one node; -EBADMSG if it is too short for the fields its kind has. Fixed-size nodes
 * may be longer than we know (the spec has grown nodes before); the extra bytes are ignored. */
static int put_node(struct sbuf *b, const struct dp_node *n)
{
        const uint8_t *p = n->p;
        size_t len = n->length;

#define NEED(x)                                                                                    \
        do {                                                                                       \
                if (len < (x))                                                                     \
                        return -EBADMSG;                                                           \
        } while (0)

        switch (n->type) {
        case DP_HW:
                switch (n->subtype) {
                case 0x01: /* §10.3.2.1 PCI: Function, Device */
                        NEED(6);
                        sbuf_printf(b, "Pci(0x%X,0x%X)", p[5], p[4]);
                        return 0;
                case 0x02:
                        NEED(5);
                        sbuf_printf(b, "PcCard(0x%X)", p[4]);
                        return 0;
                case 0x03:
                        NEED(24);
                        sbuf_printf(b, "MemoryMapped(0x%" PRIX32 ",0x%" PRIX64 ",0x%" PRIX64 ")",
                                    get32(p + 4), get64(p + 8), get64(p + 16));
                        return 0;
                case 0x04:
                        return put_vendor(b, "VenHw", n);
                case 0x05:
                        NEED(8);
                        sbuf_printf(b, "Ctrl(0x%" PRIX32 ")", get32(p + 4));
                        return 0;
                }
                break;
        case DP_ACPI:
                switch (n->subtype) {
                case 0x01: /* §10.3.3 ACPI: HID, UID */
                        NEED(12);
                        put_acpi(b, get32(p + 4), get32(p + 8));
                        return 0;
                case 0x03: /* _ADR */
                        NEED(8);
                        sbuf_printf(b, "AcpiAdr(0x%" PRIX32 ")", get32(p + 4));
                        return 0;
                }
                break;
        case DP_MSG:
                switch (n->subtype) {
                case 0x01: /* §10.3.4.1 ATAPI */
                        NEED(8);
                        sbuf_printf(b, "Ata(%s,%s,0x%X)", p[4] ? "Secondary" : "Primary",
                                    p[5] ? "Slave" : "Master", (unsigned)get16(p + 6));
                        return 0;
                case 0x02: /* §10.3.4.2 SCSI: target, LUN */
                        NEED(8);
                        sbuf_printf(b, "Scsi(0x%X,0x%X)", (unsigned)get16(p + 4),
                                    (unsigned)get16(p + 6));
                        return 0;
                case 0x05: /* §10.3.4.5 USB: parent port, interface */
                        NEED(6);
                        sbuf_printf(b, "USB(0x%X,0x%X)", p[4], p[5]);
                        return 0;
                case 0x0a:
                        return put_vendor(b, "VenMsg", n);
                case 0x0b:
                        return put_mac(b, n);
                case 0x0c:
                        return put_ipv4(b, n);
                case 0x0d:
                        return put_ipv6(b, n);
                case 0x11:
                        NEED(5);
                        sbuf_printf(b, "Unit(0x%X)", p[4]);
                        return 0;
                case 0x12: /* §10.3.4.6 SATA: HBA port, port multiplier port, LUN */
                        NEED(10);
                        sbuf_printf(b, "Sata(0x%X,0x%X,0x%X)", (unsigned)get16(p + 4),
                                    (unsigned)get16(p + 6), (unsigned)get16(p + 8));
                        return 0;
                case 0x14:
                        NEED(6);
                        sbuf_printf(b, "Vlan(%u)", (unsigned)get16(p + 4));
                        return 0;
                case 0x17: /* §10.3.4.19 NVMe namespace: NSID, EUI-64 (shown in stored order,
                            * as efibootmgr does) */
                        NEED(16);
                        sbuf_printf(
                                b, "NVMe(0x%" PRIX32 ",%02X-%02X-%02X-%02X-%02X-%02X-%02X-%02X)",
                                get32(p + 4), p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);
                        return 0;
                case 0x18:
                        put_uri(b, n);
                        return 0;
                case 0x19:
                        NEED(6);
                        sbuf_printf(b, "UFS(0x%X,0x%X)", p[4], p[5]);
                        return 0;
                case 0x1a:
                        NEED(5);
                        sbuf_printf(b, "SD(0x%X)", p[4]);
                        return 0;
                case 0x1d:
                        NEED(5);
                        sbuf_printf(b, "eMMC(0x%X)", p[4]);
                        return 0;
                }
                break;
        case DP_MEDIA:
                switch (n->subtype) {
                case DP_MEDIA_HD:
                        return put_hd(b, n);
                case 0x02: /* §10.3.5.2 CD-ROM: boot entry, start, size */
                        NEED(24);
                        sbuf_printf(b, "CDROM(0x%" PRIX32 ",0x%" PRIX64 ",0x%" PRIX64 ")",
                                    get32(p + 4), get64(p + 8), get64(p + 16));
                        return 0;
                case 0x03:
                        return put_vendor(b, "VenMedia", n);
                case 0x04:
                        return put_file(b, n);
                case 0x05: /* §10.3.5.5 media protocol */
                case 0x06: /* §10.3.5.6 PIWG firmware file */
                case 0x07: /* §10.3.5.7 PIWG firmware volume */
                        NEED(20);
                        sbuf_printf(b, "%s(",
                                    n->subtype == 0x05   ? "Media"
                                    : n->subtype == 0x06 ? "FvFile"
                                                         : "Fv");
                        put_guid(b, p + 4);
                        sbuf_printf(b, ")");
                        return 0;
                case 0x08:
                        NEED(24);
                        sbuf_printf(b, "Offset(0x%" PRIX64 ",0x%" PRIX64 ")", get64(p + 8),
                                    get64(p + 16));
                        return 0;
                }
                break;
        case DP_BBS:
                if (n->subtype == 0x01) {
                        NEED(8);
                        sbuf_printf(b, "BBS(0x%X)", (unsigned)get16(p + 4));
                        return 0;
                }
                break;
        }
#undef NEED
        sbuf_printf(b, "Path(%u,%u)", n->type, n->subtype);
        return 0;
}

int efi_devpath_to_string(const uint8_t *path, size_t size, char **ret)
{
        struct sbuf b = {};
        size_t offset = 0;
        unsigned index = 0;
        bool first = true;
        struct dp_node n;
        int r;

        r = dp_check(path, size, NULL);
        if (r < 0)
                return r;

        while (dp_next(path, size, &offset, &index, &n)) {
                if (n.type == DP_END) {
                        /* Instances are separated by ',' in the text form (§10.6.1.1). */
                        if (n.subtype == DP_END_INSTANCE) {
                                sbuf_printf(&b, ",");
                                first = true;
                        }
                        continue;
                }
                if (!first)
                        sbuf_printf(&b, "/");
                first = false;
                r = put_node(&b, &n);
                if (r < 0) {
                        sbuf_done(&b);
                        return r;
                }
        }
        return sbuf_take(&b, ret);
}

/* One node as text, for messages about it; "?" when it cannot be rendered. */
static char *node_to_string(const struct dp_node *n)
{
        struct sbuf b = {};
        char *s = NULL;

        if (put_node(&b, n) < 0) {
                sbuf_done(&b);
                return strdup("?");
        }
        return sbuf_take(&b, &s) < 0 ? NULL : s;
}

int efi_devpath_pci_chain(const uint8_t *path, size_t size, struct efi_pci_chain *ret, char **why)
{
        struct efi_pci_chain c = {};
        size_t offset = 0;
        unsigned index = 0;
        struct dp_node n;
        int r;

        r = dp_check(path, size, why);
        if (r < 0)
                return r;

        while (dp_next(path, size, &offset, &index, &n)) {
                _cleanup_free_ char *text = NULL;

                if (n.type == DP_END)
                        break;
                if (index == 1) {
                        uint32_t hid;

                        /* §10.3.3: PciRoot() is the ACPI node of a PNP0A03 (PCI) or PNP0A08
                         * (PCIe) host bridge; its UID is the bridge's _UID. */
                        if (n.type == DP_ACPI && n.subtype == 0x01 && n.length >= 12) {
                                hid = get32(n.p + 4);
                                if ((hid & 0xffff) == EISA_PNP &&
                                    (hid >> 16 == PNP_PCI_ROOT || hid >> 16 == PNP_PCIE_ROOT)) {
                                        c.root_uid = get32(n.p + 8);
                                        continue;
                                }
                        }
                        text = node_to_string(&n);
                        return errmsg(why, -ENOENT,
                                      "device path starts with %s, not with a PCI root bridge",
                                      text ? text : "?");
                }
                if (n.type != DP_HW || n.subtype != 0x01 || n.length < 6) {
                        text = node_to_string(&n);
                        return errmsg(why, -ENOENT,
                                      "device path node %u is %s, not a PCI function: the path "
                                      "names more than a PCI device",
                                      n.index, text ? text : "?");
                }
                if (c.n >= EFI_PCI_CHAIN_MAX)
                        return errmsg(why, -E2BIG, "device path has more than %d PCI hops",
                                      EFI_PCI_CHAIN_MAX);
                c.hop[c.n].function = n.p[4];
                c.hop[c.n].device = n.p[5];
                c.n++;
        }
        if (c.n == 0)
                return errmsg(why, -ENOENT, "device path names no PCI function");
        *ret = c;
        return 0;
}

/* ---- LoaderDevicePartUUID (Boot Loader Interface) ---- */

#define GUID_TEXT_LEN 36

/* A character of the LoaderDevicePartUUID text, for messages. */
static void describe_char(uint16_t c, char buf[16])
{
        if (c > 0x20 && c < 0x7f)
                snprintf(buf, 16, "'%c'", (char)c);
        else
                snprintf(buf, 16, "U+%04X", (unsigned)c);
}

int efi_parse_loader_partuuid(const uint8_t *data, size_t size, char ret[GUID_STRING_MAX],
                              char **why)
{
        char guid[GUID_STRING_MAX], c_text[16];
        size_t n;

        /* The Boot Loader Interface stores the PARTUUID as UTF-16LE text; systemd-boot writes
         * it upper case with a terminating NUL, others may not terminate it. */
        if (size % 2 != 0)
                return errmsg(why, -EBADMSG, "%zu bytes, not a whole number of UTF-16 characters",
                              size);
        n = size / 2;
        if (n > 0 && data[2 * n - 2] == 0 && data[2 * n - 1] == 0)
                n--;
        for (size_t i = 0; i < n; i++)
                if (data[2 * i] == 0 && data[2 * i + 1] == 0)
                        return errmsg(why, -EBADMSG, "embedded NUL at character %zu of %zu", i + 1,
                                      n);
        if (n != GUID_TEXT_LEN)
                return errmsg(why, -EBADMSG, "%zu characters, expected %d (a GUID as text)", n,
                              GUID_TEXT_LEN);

        for (size_t i = 0; i < n; i++) {
                uint16_t c = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                describe_char(c, c_text);
                if (dash) {
                        if (c != '-')
                                return errmsg(why, -EBADMSG, "character %zu is %s, expected '-'",
                                              i + 1, c_text);
                        guid[i] = '-';
                } else if (c < 0x80 && isxdigit(c))
                        guid[i] = (char)tolower(c);
                else
                        return errmsg(why, -EBADMSG, "character %zu is %s, not a hex digit", i + 1,
                                      c_text);
        }
        guid[n] = 0;
        memcpy(ret, guid, GUID_STRING_MAX);
        return 0;
}

/* ---- EFI_LOAD_OPTION (§3.1.3) ---- */

#define LOAD_OPTION_HEADER 6 /* u32 Attributes, u16 FilePathListLength */

int efi_parse_load_option(const uint8_t *data, size_t size, struct efi_load_option *ret, char **why)
{
        _cleanup_free_ char *description = NULL;
        struct sbuf b = {};
        size_t units, offset, path_size;
        int r;

        if (size < LOAD_OPTION_HEADER)
                return errmsg(why, -EBADMSG,
                              "load option is %zu bytes, shorter than its 6-byte header "
                              "(Attributes, FilePathListLength)",
                              size);
        path_size = get16(data + 4);

        /* Description: NUL-terminated UCS-2, which must end inside the data. */
        units = utf16_units(data + LOAD_OPTION_HEADER, size - LOAD_OPTION_HEADER);
        if (LOAD_OPTION_HEADER + 2 * units + 2 > size)
                return errmsg(why, -EBADMSG,
                              "Description is not NUL-terminated within the %zu bytes left",
                              size - LOAD_OPTION_HEADER);
        offset = LOAD_OPTION_HEADER + 2 * units + 2;

        if (path_size > size - offset)
                return errmsg(why, -EBADMSG, "FilePathListLength %zu exceeds the %zu bytes left",
                              path_size, size - offset);
        r = dp_check(data + offset, path_size, why);
        if (r < 0)
                return r;

        sbuf_put_utf16(&b, data + LOAD_OPTION_HEADER, units);
        r = sbuf_take(&b, &description);
        if (r < 0)
                return r;

        /* What follows FilePathList is OptionalData, opaque to us. */
        *ret = (struct efi_load_option){
                .attributes = get32(data),
                .description = TAKE_PTR(description),
                .path = data + offset,
                .path_size = path_size,
                .optional = data + offset + path_size,
                .optional_size = size - offset - path_size,
        };
        return 0;
}

void efi_load_option_done(struct efi_load_option *o)
{
        free(o->description);
        *o = (struct efi_load_option){};
}
