/* SPDX-License-Identifier: MIT */
/*
 * swap_ids: the identifier map and the rewrite of one text (DESIGN.md §5b). Pure: no I/O.
 */
#include <ctype.h>
#include <strings.h>

#include "swapids.h"
#include "util/errmsg.h"
#include "util/strv.h"

const char *swapids_kind_to_string(enum swapids_kind k)
{
        static const char *const names[] = {
                [SWAPIDS_UUID] = "UUID",
                [SWAPIDS_PARTUUID] = "PARTUUID",
                [SWAPIDS_LABEL] = "LABEL",
                [SWAPIDS_PARTLABEL] = "PARTLABEL",
        };
        return (unsigned)k < ELEMENTSOF(names) ? names[k] : "?";
}

void swapids_fs_done(struct swapids_fs *fs)
{
        free(fs->name);
        free(fs->uuid);
        free(fs->partuuid);
        free(fs->label);
        free(fs->partlabel);
        *fs = (struct swapids_fs){};
}

static void entry_done(struct swapids_entry *e)
{
        free(e->value);
        free(e->counterpart);
        free(e->fs);
        free(e->other_fs);
        free(e->alone);
}

void swapids_map_done(struct swapids_map *m)
{
        for (size_t i = 0; i < m->n; i++)
                entry_done(&m->entries[i]);
        free(m->entries);
        *m = (struct swapids_map){};
}

static bool is_label(enum swapids_kind k)
{
        return k == SWAPIDS_LABEL || k == SWAPIDS_PARTLABEL;
}

/* Two UUIDs name the same thing when their hex digits do, whatever the separators: blkid
 * prints an md array's UUID with dashes, mdadm and rd.md.uuid= with colons, and a vfat
 * serial may be written without its dash. */
static bool uuid_eq(const char *a, const char *b)
{
        for (;;) {
                while (*a == '-' || *a == ':')
                        a++;
                while (*b == '-' || *b == ':')
                        b++;
                if (!*a || !*b)
                        return !*a && !*b;
                if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                        return false;
                a++;
                b++;
        }
}

static bool value_eq(enum swapids_kind k, const char *a, const char *b)
{
        /* UUIDs are hex: blkid prints vfat's upper case, ext4's lower, and users write
         * either. Labels are case-sensitive (mount and udev compare them exactly). */
        return is_label(k) ? streq(a, b) : uuid_eq(a, b);
}

static struct swapids_entry *find(const struct swapids_map *m, enum swapids_kind k,
                                  const char *value)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->entries[i].kind == k && value_eq(k, m->entries[i].value, value))
                        return &m->entries[i];
        return NULL;
}

const struct swapids_entry *swapids_map_find(const struct swapids_map *m, enum swapids_kind k,
                                             const char *value)
{
        return find(m, k, value);
}

static const char *fs_value(const struct swapids_fs *fs, enum swapids_kind k)
{
        switch (k) {
        case SWAPIDS_UUID:
                return fs->uuid;
        case SWAPIDS_PARTUUID:
                return fs->partuuid;
        case SWAPIDS_LABEL:
                return fs->label;
        case SWAPIDS_PARTLABEL:
                return fs->partlabel;
        default:
                return NULL;
        }
}

static int add(struct swapids_map *m, enum swapids_kind k, const char *value,
               const char *counterpart, const char *fs, const char *other_fs, bool source,
               const char *alone, char **why)
{
        struct swapids_entry *e = find(m, k, value), *t;

        if (e) {
                if (!counterpart)
                        return 0; /* known already; a pair says more */
                if (!e->counterpart) {
                        /* Known without a counterpart until now: this pair gives it one. */
                        char *c = strdup(counterpart), *o = strdup(other_fs);

                        if (!c || !o) {
                                free(c);
                                free(o);
                                return -ENOMEM;
                        }
                        e->counterpart = c;
                        e->other_fs = o;
                        e->source = source;
                        return 0;
                }
                if (value_eq(k, e->counterpart, counterpart) && e->source == source)
                        return 0;
                if (e->source != source)
                        return errmsg(why, -EINVAL,
                                      "%s=%s (%s) is both a source and a destination of the "
                                      "sync list, so its counterpart is ambiguous",
                                      swapids_kind_to_string(k), value, fs);
                return errmsg(why, -EINVAL,
                              "%s=%s (%s) pairs with both %s (%s) and %s (%s): swap_ids needs "
                              "one counterpart per filesystem (one alternate disk, each item's "
                              "destination on the filesystem matching its source's)",
                              swapids_kind_to_string(k), value, fs, e->counterpart, e->other_fs,
                              counterpart, other_fs);
        }
        t = reallocarray(m->entries, m->n + 1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        m->entries = t;
        e = &m->entries[m->n];
        *e = (struct swapids_entry){ .kind = k, .source = source };
        e->value = strdup(value);
        e->fs = strdup(fs);
        e->counterpart = counterpart ? strdup(counterpart) : NULL;
        e->other_fs = other_fs ? strdup(other_fs) : NULL;
        e->alone = alone && !counterpart ? strdup(alone) : NULL;
        if (!e->value || !e->fs || (counterpart && !e->counterpart) || (other_fs && !e->other_fs) ||
            (alone && !counterpart && !e->alone)) {
                entry_done(e);
                return -ENOMEM;
        }
        m->n++;
        return 0;
}

int swapids_map_add_pair(struct swapids_map *m, const struct swapids_fs *src,
                         const struct swapids_fs *dst, char **why)
{
        int r;

        for (enum swapids_kind k = 0; k < _SWAPIDS_KIND_MAX; k++) {
                const char *a = fs_value(src, k), *b = fs_value(dst, k);

                if (isempty(a) && isempty(b))
                        continue;
                if (!isempty(a)) {
                        r = add(m, k, a, isempty(b) ? NULL : b, strna(src->name),
                                isempty(b) ? NULL : strna(dst->name), true, NULL, why);
                        if (r < 0)
                                return r;
                }
                if (!isempty(b)) {
                        /* Equal on both sides (a cloned label): one identity entry. */
                        if (!isempty(a) && value_eq(k, a, b))
                                continue;
                        r = add(m, k, b, isempty(a) ? NULL : a, strna(dst->name),
                                isempty(a) ? NULL : strna(src->name), false, NULL, why);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int add_fs(struct swapids_map *m, const struct swapids_fs *fs, bool source,
                  const char *alone)
{
        for (enum swapids_kind k = 0; k < _SWAPIDS_KIND_MAX; k++) {
                const char *v = fs_value(fs, k);
                int r;

                if (isempty(v))
                        continue;
                r = add(m, k, v, NULL, strna(fs->name), NULL, source, alone, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int swapids_map_add_fs(struct swapids_map *m, const struct swapids_fs *fs, bool source)
{
        return add_fs(m, fs, source, NULL);
}

static const struct swapids_part *part_numbered(const struct swapids_part *l, size_t n,
                                                unsigned number)
{
        for (size_t i = 0; i < n; i++)
                if (l[i].number == number)
                        return &l[i];
        return NULL;
}

/* Marks every identifier of fs as paired by place. */
static void mark_by_place(struct swapids_map *m, const struct swapids_fs *fs)
{
        for (enum swapids_kind k = 0; k < _SWAPIDS_KIND_MAX; k++) {
                const char *v = fs_value(fs, k);
                struct swapids_entry *e = isempty(v) ? NULL : find(m, k, v);

                if (e && e->counterpart)
                        e->by_place = true;
        }
}

/* Whether p (on the side source says) pairs with its namesake in other by place; when not,
 * *ret_alone says why. */
static int place_pair(const struct swapids_part *p, const struct swapids_part *other,
                      size_t n_other, bool source, const struct swapids_part **ret,
                      char **ret_alone)
{
        const char *there = source ? "the alternate disk" : "the source disk";
        const struct swapids_part *o = p->number ? part_numbered(other, n_other, p->number) : NULL;
        int k;

        *ret = NULL;
        *ret_alone = NULL;
        if (!p->number)
                k = asprintf(ret_alone,
                             "no sync item copies it and its partition number is unknown");
        else if (!p->type)
                k = asprintf(ret_alone,
                             "no sync item copies it and it has no filesystem type to pair it "
                             "with partition %u of %s by",
                             p->number, there);
        else if (!o)
                k = asprintf(ret_alone, "no sync item copies it and %s has no partition %u", there,
                             p->number);
        else if (o->paired)
                k = asprintf(ret_alone,
                             "no sync item copies it and partition %u of %s (%s) is paired by "
                             "the sync list",
                             p->number, there, strna(o->fs->name));
        else if (!o->type || !streq(o->type, p->type))
                k = asprintf(ret_alone,
                             "no sync item copies it and partition %u of %s (%s) holds %s, not %s",
                             p->number, there, strna(o->fs->name),
                             o->type ? o->type : "nothing libblkid knows", p->type);
        else {
                *ret = o;
                return 0;
        }
        if (k < 0) {
                *ret_alone = NULL;
                return -ENOMEM;
        }
        return 0;
}

int swapids_map_add_disks(struct swapids_map *m, const struct swapids_part *src, size_t n_src,
                          const struct swapids_part *dst, size_t n_dst, char **why)
{
        /* Pairs first: a lone identifier added before its pair would be given the pair's
         * counterpart anyway, but its reason would stay. */
        for (size_t i = 0; i < n_src; i++) {
                const struct swapids_part *o;
                _cleanup_free_ char *alone = NULL;
                int r;

                if (src[i].paired)
                        continue;
                r = place_pair(&src[i], dst, n_dst, true, &o, &alone);
                if (r >= 0 && o)
                        r = swapids_map_add_pair(m, src[i].fs, o->fs, why);
                if (r < 0)
                        return r;
                if (o) {
                        mark_by_place(m, src[i].fs);
                        mark_by_place(m, o->fs);
                }
        }
        for (int side = 0; side < 2; side++) {
                const struct swapids_part *l = side == 0 ? src : dst,
                                          *other = side == 0 ? dst : src;
                size_t n = side == 0 ? n_src : n_dst, n_other = side == 0 ? n_dst : n_src;

                for (size_t i = 0; i < n; i++) {
                        const struct swapids_part *o;
                        _cleanup_free_ char *alone = NULL;
                        int r;

                        if (l[i].paired) {
                                r = add_fs(m, l[i].fs, side == 0, NULL);
                        } else {
                                r = place_pair(&l[i], other, n_other, side == 0, &o, &alone);
                                if (r >= 0)
                                        r = add_fs(m, l[i].fs, side == 0, alone);
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int swapids_map_format(const struct swapids_map *m, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < m->n; i++) {
                        const struct swapids_entry *e = &m->entries[i];
                        char *s;
                        int k;

                        if (pass == 0 && (!e->counterpart || !e->source))
                                continue; /* each pair once, from its source side */
                        if (pass == 1 && e->counterpart)
                                continue;
                        if (pass == 0)
                                k = asprintf(&s, "%s %s <-> %s  (%s <-> %s)%s",
                                             swapids_kind_to_string(e->kind), e->value,
                                             e->counterpart, e->fs, e->other_fs,
                                             e->by_place ? "  (same partition number)" : "");
                        else
                                k = asprintf(&s, "%s %s  (%s, %s): no counterpart",
                                             swapids_kind_to_string(e->kind), e->value, e->fs,
                                             e->source ? "source disk" : "alternate disk");
                        if (k < 0 || strv_push(&l, s) < 0) {
                                if (k >= 0)
                                        free(s);
                                return -ENOMEM;
                        }
                }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void swapids_result_done(struct swapids_result *r)
{
        free(r->text);
        for (size_t i = 0; i < r->n_changes; i++) {
                free(r->changes[i].before);
                free(r->changes[i].after);
        }
        free(r->changes);
        *r = (struct swapids_result){};
}

/* ---------------------------------------------------------------------------------------- */
/* The rewrite */

/* A growing output buffer; ok turns false on ENOMEM and stays so. */
struct buf {
        char *p;
        size_t n, cap;
        bool ok;
};

static void put(struct buf *b, const char *s, size_t n)
{
        if (!b->ok)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *t;

                while (cap < b->n + n + 1)
                        cap *= 2;
                t = realloc(b->p, cap);
                if (!t) {
                        b->ok = false;
                        return;
                }
                b->p = t;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = 0;
}

static void put_c(struct buf *b, char c)
{
        put(b, &c, 1);
}

/* How an identifier is written (DESIGN.md §5b W8). */
enum form {
        FORM_TAG,        /* KIND=value, as fstab and command lines write it */
        FORM_LINK,       /* /dev/disk/by-KIND/value, udev's escaping */
        FORM_LUKS_UUID,  /* rd.luks.uuid=[luks-]UUID, luks.uuid= */
        FORM_LUKS_KEYED, /* rd.luks.name=UUID=NAME, .options=, .key=: a UUID before '=', or none */
        FORM_MD,         /* rd.md.uuid=UUID: an md array's, mdadm writes it with colons */
        FORM_LUKS_NAME,  /* luks-UUID: the device-mapper name systemd and dracut give a LUKS
                            container (/dev/mapper/luks-UUID, crypttab's first column) */
        FORM_BAD_LINK,   /* /dev/disk/by-id/, by-path/, ...: not an identifier we can pair */
        FORM_DEV,        /* /dev/NAME: a disk's kernel name is an error, else not ours */
        FORM_BAD_TAG,    /* ID=: libmount's by-id tag */
        FORM_GRUB,       /* a bare value GRUB searches for (search --fs-uuid, bootuuid.cfg) */
};

struct pattern {
        const char *text;
        enum swapids_kind kind;
        enum form form;
};

/* At one position the first that matches wins: the by-KIND links before /dev/disk/by-, which
 * comes before /dev/. Tags and keys need a word boundary before them, so "UUID=" never
 * matches inside "PARTUUID=" nor "luks.uuid=" inside "rd.luks.uuid=". */
static const struct pattern patterns[] = {
        { "/dev/disk/by-partuuid/", SWAPIDS_PARTUUID, FORM_LINK },
        { "/dev/disk/by-uuid/", SWAPIDS_UUID, FORM_LINK },
        { "/dev/disk/by-partlabel/", SWAPIDS_PARTLABEL, FORM_LINK },
        { "/dev/disk/by-label/", SWAPIDS_LABEL, FORM_LINK },
        { "/dev/disk/by-", SWAPIDS_UUID, FORM_BAD_LINK },
        { "/dev/", SWAPIDS_UUID, FORM_DEV },
        { "PARTUUID=", SWAPIDS_PARTUUID, FORM_TAG },
        { "PARTLABEL=", SWAPIDS_PARTLABEL, FORM_TAG },
        { "UUID=", SWAPIDS_UUID, FORM_TAG },
        { "LABEL=", SWAPIDS_LABEL, FORM_TAG },
        { "ID=", SWAPIDS_UUID, FORM_BAD_TAG },
        { "rd.luks.uuid=", SWAPIDS_UUID, FORM_LUKS_UUID },
        { "luks.uuid=", SWAPIDS_UUID, FORM_LUKS_UUID },
        { "rd.luks.name=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "luks.name=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "rd.luks.options=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "luks.options=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "rd.luks.key=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "luks.key=", SWAPIDS_UUID, FORM_LUKS_KEYED },
        { "rd.md.uuid=", SWAPIDS_UUID, FORM_MD },
        { "luks-", SWAPIDS_UUID, FORM_LUKS_NAME },
};

static bool word_char(char c)
{
        return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool hex_char(char c)
{
        return isxdigit((unsigned char)c);
}

/* The words whose values are lists separated by ':' (a label there ends at the first ':'):
 * cryptdevice=DEV:NAME[:OPTIONS] and cryptkey=DEV:FSTYPE:PATH (mkinitcpio's encrypt hook),
 * systemd.mount-extra=WHAT:WHERE[:TYPE[:OPTIONS]], systemd.swap-extra=WHAT[:OPTIONS]. */
static bool colon_list(const char *s, size_t start)
{
        static const char *const keys[] = { "cryptdevice=", "cryptkey=", "systemd.mount-extra=",
                                            "systemd.swap-extra=" };
        size_t w = start;

        while (w > 0 && !isspace((unsigned char)s[w - 1]) && s[w - 1] != '"' && s[w - 1] != '\'')
                w--;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (start - w >= strlen(keys[k]) && memcmp(s + w, keys[k], strlen(keys[k])) == 0)
                        return true;
        return false;
}

/* Where a label starting at s (n bytes left on the line) ends. */
static size_t label_len(const char *s, size_t n, bool colons)
{
        size_t i = 0;

        for (; i < n; i++) {
                char c = s[i];

                if (isspace((unsigned char)c) || c == '"' || c == '\'' || c == ',' ||
                    (colons && c == ':'))
                        break;
        }
        return i;
}

/* A UUID's run of hex digits and separators ('-', and ':' where colons) from s. */
static size_t uuid_len(const char *s, size_t n, bool colons)
{
        size_t i = 0;

        while (i < n && (hex_char(s[i]) || s[i] == '-' || (colons && s[i] == ':')))
                i++;
        return i;
}

static unsigned hex_digits(const char *s, size_t n)
{
        unsigned k = 0;

        for (size_t i = 0; i < n; i++)
                k += hex_char(s[i]);
        return k;
}

/* What follows a UUID must end it: not a letter, digit, '_' or '.' ("UUID=12ab.x" is no
 * UUID). */
static bool uuid_ends(const char *s, size_t n, size_t i)
{
        return i >= n || !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.');
}

/* The kernel names of disks and their partitions (sd, hd, vd, xvd, nvme, mmcblk, dm-): these
 * name whichever disk the kernel found first at this boot, so no swap can be right. */
static size_t kernel_disk_name(const char *s, size_t n)
{
        static const struct {
                const char *prefix;
                bool digit; /* a digit must follow (else a letter) */
        } names[] = {
                { "sd", false },  { "hd", false },    { "vd", false }, { "xvd", false },
                { "nvme", true }, { "mmcblk", true }, { "dm-", true },
        };

        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                size_t l = strlen(names[k].prefix), i = l;

                if (n <= l || memcmp(s, names[k].prefix, l) != 0)
                        continue;
                if (names[k].digit ? !isdigit((unsigned char)s[l]) : !islower((unsigned char)s[l]))
                        continue;
                while (i < n && isalnum((unsigned char)s[i]))
                        i++;
                return i;
        }
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char)tolower((unsigned char)c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* A label as written -> as the filesystem holds it: \ooo (fstab) and \xHH (udev). */
static char *label_decode(const char *s, size_t n)
{
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && n - i >= 4) {
                        const char *e = s + i + 1;

                        if ((e[0] == 'x' || e[0] == 'X') && hexval(e[1]) >= 0 &&
                            hexval(e[2]) >= 0) {
                                *o++ = (char)(hexval(e[1]) * 16 + hexval(e[2]));
                                i += 3;
                                continue;
                        }
                        if (e[0] >= '0' && e[0] <= '3' && e[1] >= '0' && e[1] <= '7' &&
                            e[2] >= '0' && e[2] <= '7') {
                                *o++ = (char)((e[0] - '0') * 64 + (e[1] - '0') * 8 + (e[2] - '0'));
                                i += 3;
                                continue;
                        }
                }
                *o++ = s[i];
        }
        *o = 0;
        return out;
}

static void label_encode(struct buf *b, const char *label, enum form f, bool colons)
{
        char esc[8];

        for (const char *p = label; *p; p++) {
                unsigned char c = (unsigned char)*p;
                bool plain;

                if (f == FORM_LINK)
                        /* udev's safe set; bytes of UTF-8 sequences pass as they are */
                        plain = isalnum(c) || strchr("#+-.:=@_", c) || c >= 0x80;
                else
                        plain = !isspace(c) && c != '\\' && c != '"' && c != '\'' && c != ',' &&
                                c >= 0x20;
                if (colons && c == ':')
                        plain = false;
                if (plain) {
                        put_c(b, (char)c);
                        continue;
                }
                snprintf(esc, sizeof(esc), f == FORM_LINK ? "\\x%02x" : "\\%03o", c);
                put(b, esc, strlen(esc));
        }
}

/* A UUID in the letter case and the separators the original was written with (a dashed
 * UUID in mdadm's colons for rd.md.uuid=); as the map has it when the digits differ in
 * number. */
static void uuid_encode(struct buf *b, const char *uuid, const char *orig, size_t n)
{
        bool lower = false, upper = false;
        unsigned digits = 0;

        for (size_t i = 0; i < n; i++) {
                lower = lower || islower((unsigned char)orig[i]);
                upper = upper || isupper((unsigned char)orig[i]);
        }
        for (const char *p = uuid; *p; p++)
                digits += hex_char(*p);
#define CASED(c)                                                                                   \
        (lower && !upper   ? (char)tolower((unsigned char)(c))                                     \
         : upper && !lower ? (char)toupper((unsigned char)(c))                                     \
                           : (c))
        if (digits != hex_digits(orig, n)) {
                for (const char *p = uuid; *p; p++)
                        put_c(b, CASED(*p));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (!hex_char(orig[i])) {
                        put_c(b, orig[i]);
                        continue;
                }
                while (*uuid && !hex_char(*uuid))
                        uuid++;
                put_c(b, CASED(*uuid));
                uuid++;
        }
#undef CASED
}

static bool comment_line(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '#')
                        return true;
                if (!isspace((unsigned char)s[i]))
                        return false;
        }
        return false;
}

/* An identifier on a line: where its pattern starts, its value (quotes excluded); or a form
 * we do not understand (bad, with why). */
struct token {
        const struct pattern *pat;
        size_t start;    /* of the pattern */
        size_t vstart;   /* of the value */
        size_t vlen;     /* 0: a pattern with no value after it */
        bool quoted;     /* the value is between quotes (LABEL="my root") */
        bool colons;     /* in a ':'-separated list (a label there escapes ':') */
        const char *bad; /* not understood: why, the form being s[start..end) */
        size_t end;
};

/* Reads the value of the pattern matched at t->start; false when what is there is not an
 * identifier at all (the scan goes on after the pattern's first byte). */
static bool token_value_at(const char *s, size_t n, struct token *t)
{
        size_t v = t->vstart, l;

        t->end = v;
        switch (t->pat->form) {
        case FORM_TAG:
        case FORM_LINK:
                t->colons = colon_list(s, t->start);
                /* blkid and libmount also take LABEL="my root" */
                if (t->pat->form == FORM_TAG && v < n && (s[v] == '"' || s[v] == '\'')) {
                        const char *close = memchr(s + v + 1, s[v], n - v - 1);

                        if (close) {
                                t->quoted = true;
                                t->vstart = v + 1;
                                t->vlen = (size_t)(close - (s + v + 1));
                                t->end = t->vstart + t->vlen + 1;
                                if (!is_label(t->pat->kind) &&
                                    uuid_len(s + t->vstart, t->vlen, false) != t->vlen)
                                        t->bad = "not a UUID";
                                return true;
                        }
                }
                if (is_label(t->pat->kind)) {
                        t->vlen = label_len(s + v, n - v, t->colons);
                        t->end = v + t->vlen;
                        return true;
                }
                t->vlen = uuid_len(s + v, n - v, false);
                t->end = v + t->vlen;
                if (!uuid_ends(s, n, t->end)) {
                        t->bad = "not a UUID";
                        t->end = v + label_len(s + v, n - v, t->colons);
                }
                return true;
        case FORM_LUKS_UUID:
                if (n - v >= 5 && memcmp(s + v, "luks-", 5) == 0)
                        t->vstart = v = v + 5;
                t->vlen = uuid_len(s + v, n - v, false);
                t->end = v + t->vlen;
                if (t->vlen == 0 || !uuid_ends(s, n, t->end)) {
                        t->bad = "not a LUKS UUID";
                        t->end = v + label_len(s + v, n - v, false);
                }
                return true;
        case FORM_LUKS_KEYED:
                /* rd.luks.options=discard names no container: not an identifier */
                l = uuid_len(s + v, n - v, false);
                if (l == 0 || v + l >= n || s[v + l] != '=')
                        return false;
                t->vlen = l;
                t->end = v + l;
                return true;
        case FORM_MD:
                t->vlen = uuid_len(s + v, n - v, true);
                t->end = v + t->vlen;
                if (t->vlen == 0 || !uuid_ends(s, n, t->end)) {
                        t->bad = "not an md array UUID";
                        t->end = v + label_len(s + v, n - v, false);
                }
                return true;
        case FORM_LUKS_NAME:
                /* only a whole UUID: luks-root is just a name */
                l = uuid_len(s + v, n - v, false);
                if (hex_digits(s + v, l) != 32 || !uuid_ends(s, n, v + l))
                        return false;
                t->vlen = l;
                t->end = v + l;
                return true;
        case FORM_BAD_LINK:
                t->end = v + label_len(s + v, n - v, colon_list(s, t->start));
                t->bad = "a device named by hardware or by place, which swap_ids cannot pair "
                         "(name it by UUID=, PARTUUID=, LABEL= or PARTLABEL=)";
                return true;
        case FORM_DEV:
                l = kernel_disk_name(s + v, n - v);
                if (l == 0)
                        return false; /* /dev/mapper/..., /dev/md0, /dev/zram0: not a disk's */
                t->end = v + l;
                t->bad = "a disk named by its kernel name, which names whichever disk the kernel "
                         "found first, so no swap can be right (name it by UUID=, PARTUUID=, "
                         "LABEL= or PARTLABEL=)";
                return true;
        case FORM_BAD_TAG:
                t->end = v + label_len(s + v, n - v, false);
                t->bad = "a device named by its hardware ID, which swap_ids cannot pair (name it "
                         "by UUID=, PARTUUID=, LABEL= or PARTLABEL=)";
                return true;
        case FORM_GRUB:
                return false; /* grub_token() reads these, not the pattern scan */
        }
        return false;
}

static bool next_token_pattern(const char *s, size_t n, size_t i, struct token *t);

static const struct pattern grub_patterns[] = {
        { "", SWAPIDS_UUID, FORM_GRUB },
        { "", SWAPIDS_LABEL, FORM_GRUB },
};

/* The word of s (n bytes) starting at i: [*ret_start, *ret_end), quotes included. */
static size_t grub_word(const char *s, size_t n, size_t i, size_t *ret_start)
{
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        *ret_start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != ';') {
                if (s[i] == '\'' || s[i] == '"') {
                        const char *close = memchr(s + i + 1, s[i], n - i - 1);

                        i = close ? (size_t)(close - s) + 1 : n;
                } else
                        i++;
        }
        return i;
}

static bool grub_word_is(const char *s, size_t a, size_t b, const char *w)
{
        return b - a == strlen(w) && memcmp(s + a, w, b - a) == 0;
}

/* A value word [a, b) as a token, its quotes excluded. */
static void grub_value(const char *s, size_t a, size_t b, enum swapids_kind k, struct token *t)
{
        *t = (struct token){ .pat = &grub_patterns[k == SWAPIDS_LABEL],
                             .start = a,
                             .vstart = a,
                             .vlen = b - a,
                             .end = b };
        if (b - a >= 2 && (s[a] == '\'' || s[a] == '"') && s[b - 1] == s[a]) {
                t->quoted = true;
                t->vstart = a + 1;
                t->vlen = b - a - 2;
        }
}

/* A GRUB value naming a filesystem through a variable ("$lbl", "${BOOT_UUID}"). */
static bool grub_has_variable(const char *s, size_t a, size_t b)
{
        return memchr(s + a, '$', b - a) != NULL;
}

/* `[set] NAME=VALUE` with VALUE a whole UUID (quotes allowed): the value a later `search
 * --fs-uuid $NAME` reads (DESIGN.md §11b L10). bootuuid.cfg's BOOT_UUID takes any value. */
static bool grub_assignment(const char *s, size_t a, size_t b, struct token *t)
{
        size_t eq = a, digits;

        while (eq < b && (isalnum((unsigned char)s[eq]) || s[eq] == '_'))
                eq++;
        if (eq == a || eq >= b || s[eq] != '=')
                return false;
        grub_value(s, eq + 1, b, SWAPIDS_UUID, t);
        if (t->vlen == 0)
                return false;
        if (eq - a == 9 && memcmp(s + a, "BOOT_UUID", 9) == 0)
                return true;
        digits = hex_digits(s + t->vstart, t->vlen);
        return uuid_len(s + t->vstart, t->vlen, false) == t->vlen &&
               (digits == 32 || digits == 16 || digits == 8) && s[t->vstart] != '-';
}

/*
 * The filesystem one GRUB command (from c) names by a bare value (DESIGN.md §11b L5, L10):
 * `search.fs_uuid VALUE`, `search.fs_label VALUE`, `search [options] --fs-uuid|-u|--label|-l
 * [options] VALUE` (hints skipped: they name devices, not filesystems), and a UUID assigned to
 * a variable (`set BOOT_UUID=VALUE`, `set uuid=VALUE`). A UUID through a variable is the
 * assignment's; a label through one cannot be followed: a token with bad set. False when the
 * command has none.
 */
static bool grub_command_token(const char *s, size_t n, size_t c, struct token *t)
{
        size_t a, b = grub_word(s, n, c, &a);
        enum swapids_kind kind = _SWAPIDS_KIND_MAX;

        if (grub_word_is(s, a, b, "set"))
                b = grub_word(s, n, b, &a);
        if (grub_assignment(s, a, b, t))
                return true;
        if (grub_word_is(s, a, b, "search.fs_uuid") || grub_word_is(s, a, b, "search.fs_label")) {
                kind = s[a + 10] == 'u' ? SWAPIDS_UUID : SWAPIDS_LABEL;
                b = grub_word(s, n, b, &a);
                if (a == b)
                        return false;
        } else if (grub_word_is(s, a, b, "search")) {
                for (;;) {
                        b = grub_word(s, n, b, &a);
                        if (a == b)
                                return false;
                        if (grub_word_is(s, a, b, "--fs-uuid") || grub_word_is(s, a, b, "-u"))
                                kind = SWAPIDS_UUID;
                        else if (grub_word_is(s, a, b, "--label") || grub_word_is(s, a, b, "-l"))
                                kind = SWAPIDS_LABEL;
                        else if (grub_word_is(s, a, b, "--file") || grub_word_is(s, a, b, "-f"))
                                return false;
                        else if (grub_word_is(s, a, b, "--hint") || grub_word_is(s, a, b, "-h"))
                                b = grub_word(s, n, b, &a); /* its value */
                        else if (s[a] != '-') {
                                if (kind == _SWAPIDS_KIND_MAX)
                                        return false;
                                break;
                        }
                }
        } else
                return false;
        grub_value(s, a, b, kind, t);
        if (!grub_has_variable(s, a, b))
                return true;
        if (kind == SWAPIDS_UUID)
                return false; /* its assignment is the token */
        t->vstart = t->start;
        t->vlen = b - a;
        t->bad = "a label GRUB reads from a variable, which swap_ids cannot follow to the "
                 "filesystem it names (write the label itself)";
        return true;
}

/* Where the command after the one at c starts: after a ';' or a '{'/'}' word, else n. */
static size_t grub_next_command(const char *s, size_t n, size_t c)
{
        for (;;) {
                size_t a, b = grub_word(s, n, c, &a);

                if (a == b)
                        return a < n ? a + 1 : n;
                if (grub_word_is(s, a, b, "{") || grub_word_is(s, a, b, "}"))
                        return b;
                c = b;
        }
}

/* The first GRUB token of the line s (n bytes) starting at or after i, in any of its commands
 * (`insmod fat; search ...`, `if search ...; then`), reserved words skipped. */
static bool grub_token(const char *s, size_t n, size_t i, struct token *t)
{
        static const char *const reserved[] = { "if",    "then",  "else", "elif", "do",
                                                "while", "until", "!",    "{",    "}" };

        for (size_t c = 0; c < n; c = grub_next_command(s, n, c)) {
                for (;;) {
                        size_t a, b = grub_word(s, n, c, &a);
                        bool skip = false;

                        for (size_t k = 0; k < ELEMENTSOF(reserved) && !skip; k++)
                                skip = grub_word_is(s, a, b, reserved[k]);
                        if (!skip)
                                break;
                        c = b;
                }
                if (grub_command_token(s, n, c, t) && t->start >= i)
                        return true;
        }
        return false;
}

/* The next identifier (or form not understood) of the line s (n bytes) at or after i; false
 * when there is none. */
static bool next_token(const char *s, size_t n, size_t i, struct token *t)
{
        struct token g;

        if (grub_token(s, n, i, &g)) {
                /* A GRUB value comes first unless a pattern starts before it. */
                if (!next_token_pattern(s, n, i, t) || t->start > g.start)
                        *t = g;
                return true;
        }
        return next_token_pattern(s, n, i, t);
}

/* The next identifier of the line s (n bytes) at or after i among the patterns. */
static bool next_token_pattern(const char *s, size_t n, size_t i, struct token *t)
{
        for (; i < n; i++)
                for (size_t k = 0; k < ELEMENTSOF(patterns); k++) {
                        const struct pattern *pat = &patterns[k];
                        size_t l = strlen(pat->text);
                        bool boundary = pat->form != FORM_LINK && pat->form != FORM_BAD_LINK;

                        if (l > n - i || memcmp(s + i, pat->text, l) != 0)
                                continue;
                        /* /dev/ inside a path (/mnt/dev/sda) names no device; luks-UUID
                         * follows /dev/mapper/ */
                        if (boundary && i > 0 &&
                            (word_char(s[i - 1]) || (pat->form == FORM_DEV && s[i - 1] == '/')))
                                continue;
                        *t = (struct token){ .pat = pat, .start = i, .vstart = i + l };
                        if (!token_value_at(s, n, t))
                                break; /* not an identifier here: on from the next byte */
                        return true;
                }
        return false;
}

static char *token_value(const char *s, const struct token *t)
{
        return is_label(t->pat->kind) ? label_decode(s + t->vstart, t->vlen)
                                      : strndup(s + t->vstart, t->vlen);
}

/* One line (n bytes, no newline) into b. Returns 0, or -ENXIO/-EINVAL/-ENOMEM with *why. */
static int rewrite_line(const struct swapids_map *m, const char *name, unsigned line, const char *s,
                        size_t n, struct buf *b, char **why)
{
        bool comment = comment_line(s, n);
        struct token t;
        size_t i = 0;

        while (next_token(s, n, i, &t)) {
                _cleanup_free_ char *value = NULL;
                const struct swapids_entry *e;

                if (t.bad) {
                        /* W8: never a silent copy of what we cannot read; a comment is left */
                        if (!comment)
                                return errmsg(why, -EINVAL,
                                              "%s:%u: %.*s: %s: swap_ids cannot copy this "
                                              "line to the other disk",
                                              name, line, (int)(t.end - t.start), s + t.start,
                                              t.bad);
                        put(b, s + i, t.end - i);
                        i = t.end;
                        continue;
                }
                put(b, s + i, t.vstart - i); /* up to the value, the pattern and quote included */
                i = t.vstart;
                if (t.vlen == 0)
                        continue;
                value = token_value(s, &t);
                if (!value)
                        return -ENOMEM;
                e = find(m, t.pat->kind, value);
                if (!e || (!e->counterpart && comment)) {
                        put(b, s + i, t.vlen);
                } else if (!e->counterpart) {
                        if (e->alone)
                                return errmsg(why, -ENXIO,
                                              "%s:%u: %.*s names %s on the %s disk, which has "
                                              "no counterpart on the %s one: %s",
                                              name, line, (int)(t.vstart + t.vlen - t.start),
                                              s + t.start, e->fs,
                                              e->source ? "source" : "alternate",
                                              e->source ? "alternate" : "source", e->alone);
                        return errmsg(why, -ENXIO,
                                      "%s:%u: %.*s names %s on the %s disk, which has no "
                                      "counterpart on the %s one (add a sync item whose source "
                                      "and destination pair it, or name it otherwise)",
                                      name, line, (int)(t.vstart + t.vlen - t.start), s + t.start,
                                      e->fs, e->source ? "source" : "alternate",
                                      e->source ? "alternate" : "source");
                } else if (t.pat->kind == SWAPIDS_LABEL && t.pat->form == FORM_GRUB) {
                        /* Written as it is: refused where GRUB would read it otherwise
                         * (unquoted with blanks or specials, or holding its own quote, and
                         * in "..." a $ or \). */
                        if (!t.quoted ? strpbrk(e->counterpart, " \t;'\"\\$") != NULL
                                      : strchr(e->counterpart, s[t.vstart - 1]) != NULL ||
                                                (s[t.vstart - 1] == '"' &&
                                                 strpbrk(e->counterpart, "$\\")))
                                return errmsg(why, -ENXIO,
                                              "%s:%u: the label \"%s\" of %s cannot be written "
                                              "here as GRUB reads it: write it in single quotes, "
                                              "or rename the label",
                                              name, line, e->counterpart, e->other_fs);
                        put(b, e->counterpart, strlen(e->counterpart));
                } else if (is_label(t.pat->kind)) {
                        label_encode(b, e->counterpart, t.pat->form, t.colons);
                } else {
                        uuid_encode(b, e->counterpart, s + i, t.vlen);
                }
                i += t.vlen;
        }
        put(b, s + i, n - i);
        return b->ok ? 0 : -ENOMEM;
}

/* True when the token names the root filesystem: root=... on a command line, or the
 * device of an fstab line that mounts "/". */
static bool token_is_root(const char *s, size_t n, const struct token *t)
{
        size_t i = t->start, k;

        if (t->pat->form == FORM_LUKS_NAME)
                return i >= 17 && memcmp(s + i - 17, "root=/dev/mapper/", 17) == 0;
        if ((i >= 5 && memcmp(s + i - 5, "root=", 5) == 0) ||
            (i >= 6 && memcmp(s + i - 6, "root=", 5) == 0 && (s[i - 1] == '"' || s[i - 1] == '\'')))
                return true;
        for (k = 0; k < i; k++)
                if (!isspace((unsigned char)s[k]))
                        return false; /* not the first field */
        k = t->vstart + t->vlen + (t->quoted ? 1 : 0);
        while (k < n && !isspace((unsigned char)s[k]))
                k++; /* the rest of the first field (a /PARTNROFF suffix, say) */
        while (k < n && isspace((unsigned char)s[k]))
                k++;
        return k < n && s[k] == '/' && (k + 1 == n || isspace((unsigned char)s[k + 1]));
}

int swapids_find_roots(const struct swapids_map *m, const char *text, size_t size, bool source,
                       unsigned *ret_line, const struct swapids_entry **ret)
{
        unsigned line = 1;

        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t n = nl ? (size_t)(nl - (text + start)) : size - start;
                const char *s = text + start;
                struct token t;

                for (size_t i = 0; !comment_line(s, n) && next_token(s, n, i, &t);
                     i = t.bad ? t.end : t.vstart + t.vlen) {
                        _cleanup_free_ char *value = NULL;
                        const struct swapids_entry *e;

                        if (t.bad || t.vlen == 0 || !token_is_root(s, n, &t))
                                continue;
                        value = token_value(s, &t);
                        if (!value)
                                return -ENOMEM;
                        e = find(m, t.pat->kind, value);
                        if (e && e->source == source) {
                                *ret_line = line;
                                *ret = e;
                                return 1;
                        }
                }
                start += n + (nl ? 1 : 0);
        }
        return 0;
}

static int add_change(struct swapids_result *res, unsigned line, const char *before, size_t nb,
                      const char *after, size_t na)
{
        struct swapids_change *t = reallocarray(res->changes, res->n_changes + 1, sizeof(*t));
        struct swapids_change *c;

        if (!t)
                return -ENOMEM;
        res->changes = t;
        c = &res->changes[res->n_changes];
        *c = (struct swapids_change){ .line = line };
        c->before = strndup(before, nb);
        c->after = strndup(after, na);
        if (!c->before || !c->after) {
                free(c->before);
                free(c->after);
                return -ENOMEM;
        }
        res->n_changes++;
        return 0;
}

int swapids_rewrite(const struct swapids_map *m, const char *name, const char *text, size_t size,
                    struct swapids_result *ret, char **why)
{
        struct swapids_result res = {};
        struct buf b = { .ok = true };
        unsigned line = 1;
        int r = 0;

        if (memchr(text, 0, size)) {
                r = errmsg(why, -EBADMSG, "%s holds a NUL byte: not a text file", name);
                goto fail;
        }
        put(&b, "", 0); /* an empty text is an empty string, not NULL */
        for (size_t start = 0; start < size; line++) {
                const char *nl = memchr(text + start, '\n', size - start);
                size_t n = nl ? (size_t)(nl - (text + start)) : size - start;
                size_t at = b.n;

                r = rewrite_line(m, name, line, text + start, n, &b, why);
                if (r < 0)
                        goto fail;
                if (b.n - at != n || memcmp(b.p + at, text + start, n) != 0) {
                        r = add_change(&res, line, text + start, n, b.p + at, b.n - at);
                        if (r < 0)
                                goto fail;
                }
                if (nl)
                        put_c(&b, '\n');
                start += n + (nl ? 1 : 0);
        }
        if (!b.ok) {
                r = -ENOMEM;
                goto fail;
        }
        res.text = b.p;
        res.size = b.n;
        *ret = res;
        return 0;
fail:
        free(b.p);
        swapids_result_done(&res);
        return r;
}
