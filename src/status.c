/* SPDX-License-Identifier: MIT */
/*
 * --status: boot readiness per disk (DESIGN.md §11). Every check reads what the firmware and the
 * loader would use: the NVRAM entries, the files on each ESP, the root's devices. Nothing here
 * prints: main.c chooses the output (status_print_* are its formatters).
 */
#include <blkid.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>

#include "blockdev.h"
#include "bls.h"
#include "bootentry.h"
#include "debconf.h"
#include "disk.h"
#include "drill.h"
#include "grubchain.h"
#include "guard.h"
#include "ignore.h"
#include "loaderfile.h"
#include "refindchain.h"
#include "md.h"
#include "rootfs.h"
#include "status.h"
#include "swapfiles.h"
#include "swapids.h"
#include "ukichain.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "xbootldr.h"

#define ESP_GPT_TYPE "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define BTRFS_MAGIC 0x9123683EUL
#define MIB (UINT64_C(1) << 20)

const char *status_level_to_string(enum status_level l)
{
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

        return (unsigned)l < ELEMENTSOF(names) ? names[l] : "UNKNOWN";
}

/* The monitoring plugins' max_state_alt(): a problem found outranks what could not be looked at
 * (DESIGN.md §11 rule S13). */
int status_level_rank(enum status_level l)
{
        switch (l) {
        case STATUS_OK:
                return 0;
        case STATUS_UNKNOWN:
                return 1;
        case STATUS_WARNING:
                return 2;
        case STATUS_CRITICAL:
        default:
                return 3;
        }
}

enum status_level status_level_max(enum status_level a, enum status_level b)
{
        return status_level_rank(b) > status_level_rank(a) ? b : a;
}

const char *status_verdict_to_string(enum status_verdict v)
{
        static const char *const names[] = { "yes", "NO", "unknown" };

        return (unsigned)v < ELEMENTSOF(names) ? names[v] : "unknown";
}

static void findings_free(struct status_finding *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(f[i].text);
                free(f[i].source);
                free(f[i].destination);
        }
        free(f);
}

void status_report_done(struct status_report *r)
{
        findings_free(r->findings, r->n);
        for (size_t i = 0; i < r->n_esps; i++) {
                struct status_esp *e = &r->esps[i];

                free(e->mount);
                free(e->device);
                free(e->partuuid);
                free(e->uuid);
                free(e->last_sync_from);
                free(e->unknown_why);
                free(e->disk);
                free(e->xbootldr_device);
                free(e->xbootldr_partuuid);
                free(e->xbootldr_fstype);
                free(e->xbootldr_mount);
                findings_free(e->findings, e->n);
                strv_free(e->chain);
        }
        free(r->esps);
        for (size_t i = 0; i < r->n_dests; i++) {
                free(r->dests[i].item);
                free(r->dests[i].source);
                free(r->dests[i].dest);
        }
        free(r->dests);
        free(r->error);
        *r = (struct status_report){};
}

/* Could not look for lack of privileges: the one case a privilege would cure. As root, EACCES
 * (an LSM, a root-squashed mount) is reported as it is, without the advice. */
static bool denied(int err)
{
        err = abs(err);
        return (err == EACCES || err == EPERM) && geteuid() != 0;
}

/* ": Permission denied (needs root)", or ": <strerror>", for a message on err. */
static const char *err_suffix(int err, char *buf, size_t size)
{
        snprintf(buf, size, ": %s%s", strerror(abs(err)), denied(err) ? " (needs root)" : "");
        return buf;
}

/* Appends a finding like tmpl (level, check, denied; source and destination copied) with the
 * formatted text. */
static int vadd(struct status_finding **list, size_t *n, enum status_level *worst,
                const struct status_finding *tmpl, const char *format, va_list ap) _printf_(5, 0);
static int vadd(struct status_finding **list, size_t *n, enum status_level *worst,
                const struct status_finding *tmpl, const char *format, va_list ap)
{
        struct status_finding f = *tmpl, *t;

        f.text = f.source = f.destination = NULL;
        if (vasprintf(&f.text, format, ap) < 0)
                return -ENOMEM;
        if ((tmpl->source && !(f.source = strdup(tmpl->source))) ||
            (tmpl->destination && !(f.destination = strdup(tmpl->destination))))
                goto oom;
        t = reallocarray(*list, *n + 1, sizeof(*t));
        if (!t)
                goto oom;
        *list = t;
        t[(*n)++] = f;
        *worst = status_level_max(*worst, f.level);
        return 0;
oom:
        free(f.text);
        free(f.source);
        free(f.destination);
        return -ENOMEM;
}

/* A system-wide finding. */
static int add(struct status_report *r, enum status_level l, const char *check, const char *format,
               ...) _printf_(4, 5);
static int add(struct status_report *r, enum status_level l, const char *check, const char *format,
               ...)
{
        va_list ap;
        int k;

        va_start(ap, format);
        k = vadd(&r->findings, &r->n, &r->level,
                 &(struct status_finding){ .level = l, .check = check }, format, ap);
        va_end(ap);
        return k;
}

/* A system-wide finding of a sync-list item: labelled by its source and destination. */
static int item_add(struct status_report *r, enum status_level l, bool is_denied, const char *check,
                    const char *source, const char *destination, const char *format, ...)
        _printf_(7, 8);
static int item_add(struct status_report *r, enum status_level l, bool is_denied, const char *check,
                    const char *source, const char *destination, const char *format, ...)
{
        const struct status_finding tmpl = { .level = l,
                                             .check = check,
                                             .denied = is_denied,
                                             .source = (char *)source,
                                             .destination = (char *)destination };
        va_list ap;
        int k;

        va_start(ap, format);
        k = vadd(&r->findings, &r->n, &r->level, &tmpl, format, ap);
        va_end(ap);
        return k;
}

/* A finding of one ESP. */
static int esp_vadd(struct status_esp *e, enum status_level l, bool is_denied, const char *check,
                    const char *format, va_list ap) _printf_(5, 0);
static int esp_vadd(struct status_esp *e, enum status_level l, bool is_denied, const char *check,
                    const char *format, va_list ap)
{
        int k = vadd(&e->findings, &e->n, &e->level,
                     &(struct status_finding){ .level = l, .check = check, .denied = is_denied },
                     format, ap);

        if (k < 0 || streq(check, "sync"))
                return k;
        /* The verdict: NO on a CRITICAL of the checks that decide whether it boots, else
         * unknown while one of them could not look. */
        if (l == STATUS_CRITICAL)
                e->verdict = VERDICT_NO;
        else if (l == STATUS_UNKNOWN && e->verdict == VERDICT_YES) {
                e->verdict = VERDICT_UNKNOWN;
                if (!e->unknown_why && !(e->unknown_why = strdup(e->findings[e->n - 1].text)))
                        return -ENOMEM;
        }
        return 0;
}

static int esp_add(struct status_esp *e, enum status_level l, const char *check, const char *format,
                   ...) _printf_(4, 5);
static int esp_add(struct status_esp *e, enum status_level l, const char *check, const char *format,
                   ...)
{
        va_list ap;
        int k;

        va_start(ap, format);
        k = esp_vadd(e, l, false, check, format, ap);
        va_end(ap);
        return k;
}

static int esp_add_flagged(struct status_esp *e, enum status_level l, bool is_denied,
                           const char *check, const char *format, ...) _printf_(5, 6);
static int esp_add_flagged(struct status_esp *e, enum status_level l, bool is_denied,
                           const char *check, const char *format, ...)
{
        va_list ap;
        int k;

        va_start(ap, format);
        k = esp_vadd(e, l, is_denied, check, format, ap);
        va_end(ap);
        return k;
}

/* An UNKNOWN finding of one ESP: could not look, for the cause err (a negative or positive
 * errno), which is named at the end of the text: "...: Permission denied (needs root)". */
static int esp_unknown(struct status_esp *e, const char *check, int err, const char *format, ...)
        _printf_(4, 5);
static int esp_unknown(struct status_esp *e, const char *check, int err, const char *format, ...)
{
        _cleanup_free_ char *text = NULL;
        char suffix[128];
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&text, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return esp_add_flagged(e, STATUS_UNKNOWN, denied(err), check, "%s%s", text,
                               err_suffix(err, suffix, sizeof(suffix)));
}

/* ---- the guard's record: when and from where an ESP or destination was last synced ---- */

struct sync_record {
        int64_t synced; /* -1 when unknown */
        char *source;
        char *intent;       /* a sync from this source started and did not finish, or NULL */
        char *intent_since; /* when it started (as recorded) */
};

static void sync_record_done(struct sync_record *r)
{
        free(r->source);
        free(r->intent);
        free(r->intent_since);
}

/* The one place that reads the record guard.c writes (GUARD_STATE_FILE: "synced=" an ISO
 * 8601 UTC time, "source=" the source's PARTUUID, and while a sync is under way or after it
 * was cut, "intent=" its source and "intent_since=" its start, DESIGN.md §5 rule 10): the
 * facts guard_assess() does not return. -ENOENT when there is none. */
static int sync_record_read(int dir_fd, struct sync_record *ret)
{
        _cleanup_close_ int fd =
                openat(dir_fd, GUARD_STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_fclose_ FILE *f = NULL;
        struct sync_record s = { .synced = -1 };
        char line[256];

        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "r");
        if (!f)
                return -ENOMEM;
        fd = -1;
        while (fgets(line, sizeof(line), f)) {
                const char *v;
                struct tm tm = {};
                char *end;

                line[strcspn(line, "\n")] = 0;
                if ((v = startswith(line, "synced="))) {
                        end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
                        if (end && !*end)
                                s.synced = (int64_t)timegm(&tm);
                } else if ((v = startswith(line, "source=")) && !s.source) {
                        s.source = strdup(v);
                        if (!s.source)
                                goto oom;
                } else if ((v = startswith(line, "intent=")) && !s.intent) {
                        s.intent = strdup(v);
                        if (!s.intent)
                                goto oom;
                } else if ((v = startswith(line, "intent_since=")) && !s.intent_since) {
                        s.intent_since = strdup(v);
                        if (!s.intent_since)
                                goto oom;
                }
        }
        *ret = s;
        return 0;
oom:
        sync_record_done(&s);
        return -ENOMEM;
}

static void format_age(int64_t now, int64_t when, char *buf, size_t size)
{
        int64_t age = now - when;

        if (age < 0)
                snprintf(buf, size, "in the future: is the clock right?");
        else if (age < 120)
                snprintf(buf, size, "%" PRId64 " s ago", age);
        else if (age < 7200)
                snprintf(buf, size, "%" PRId64 " min ago", age / 60);
        else if (age < 172800)
                snprintf(buf, size, "%" PRId64 " h ago", age / 3600);
        else
                snprintf(buf, size, "%" PRId64 " days ago", age / 86400);
}

/* ---- the ESP itself ---- */

/* The filesystem an ESP must have (DESIGN.md §11 rule S1): vfat, or $DUAL_ROOT_ESP_FSTYPE, a
 * test seam (docs/TESTING.md: the test kernel cannot mount vfat, the suites use ext4). */
static const char *esp_fstype_expected(void)
{
        const char *e = secure_getenv("DUAL_ROOT_ESP_FSTYPE");

        return isempty(e) ? "vfat" : e;
}

/* The GPT partition type of node, lower case; NULL when not readable (no partition table in
 * view, as for a loop device, or no permission). */
static char *part_type_of(const char *node)
{
        blkid_probe pr;
        const char *v = NULL;
        char *s = NULL;

        if (!node)
                return NULL;
        pr = blkid_new_probe_from_filename(node);
        if (!pr)
                return NULL;
        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        if (blkid_do_safeprobe(pr) == 0 &&
            blkid_probe_lookup_value(pr, "PART_ENTRY_TYPE", &v, NULL) == 0 && v) {
                s = strdup(v);
                for (char *p = s; p && *p; p++)
                        *p = (char)tolower((unsigned char)*p);
        }
        blkid_free_probe(pr);
        return s;
}

/* Through the mount table and statvfs(), which need no permission on the ESP itself: an ESP
 * readable by root only is still checked this far. */
static int check_esp_itself(struct status_esp *e, struct libmnt_table *t, uint64_t min_free)
{
        struct libmnt_fs *fs = mounts_find_target(t, e->mount);
        const char *want = esp_fstype_expected(), *type = fs ? mnt_fs_get_fstype(fs) : NULL;
        _cleanup_free_ char *ptype = NULL;
        struct statvfs sv;
        uint64_t avail;
        char parts[128];
        int k;

        if (statvfs(e->mount, &sv) < 0)
                return esp_unknown(e, "esp", errno, "cannot read %s's free space", e->mount);
        if (fs && !streq_ptr(mnt_fs_get_root(fs), "/"))
                return esp_add(e, STATUS_CRITICAL, "esp",
                               "%s is a bind mount of %s's directory %s, not the ESP's own "
                               "mount",
                               e->mount, strna(mnt_fs_get_source(fs)), mnt_fs_get_root(fs));
        if (!streq_ptr(type, want)) {
                k = esp_add(e, STATUS_CRITICAL, "esp",
                            "%s's filesystem is %s, not %s: the firmware reads only FAT", e->mount,
                            strna(type), want);
                if (k < 0)
                        return k;
        }
        ptype = part_type_of(e->device);
        if (ptype && !streq(ptype, ESP_GPT_TYPE)) {
                k = esp_add(e, STATUS_CRITICAL, "esp",
                            "%s's partition %s has GPT type %s, not the EFI System Partition's "
                            "(" ESP_GPT_TYPE "): the firmware does not look there",
                            e->mount, strna(e->device), ptype);
                if (k < 0)
                        return k;
        }
        if (sv.f_flag & ST_RDONLY) {
                k = esp_add(e, STATUS_WARNING, "esp",
                            "%s is mounted read-only: kernels and syncs cannot reach it", e->mount);
                if (k < 0)
                        return k;
        }
        avail = (uint64_t)sv.f_bavail * sv.f_frsize;
        if (avail < min_free) {
                k = esp_add(e, STATUS_WARNING, "esp",
                            "%s has %" PRIu64 " MiB free, less than the %" PRIu64
                            " MiB two kernel sets need: the next kernel install may not fit",
                            e->mount, avail / MIB, (min_free + MIB - 1) / MIB);
                if (k < 0)
                        return k;
        }
        if (e->level != STATUS_OK)
                return 0;
        snprintf(parts, sizeof(parts), "%s, %s", want,
                 ptype ? "GPT type ESP" : "GPT type not readable");
        return esp_add(e, STATUS_OK, "esp", "mounted read-write, %s, %" PRIu64 " MiB free", parts,
                       avail / MIB);
}

/* ---- reachable from the firmware ---- */

static int check_firmware(struct status_esp *e, int fd, const struct boot_nvram *nv,
                          const char *nv_error, char **ret_start,
                          const struct boot_option **ret_entry)
{
        _cleanup_(bootentry_eval_done) struct bootentry_eval ev = {};
        _cleanup_free_ char *broken = NULL;
        int k;

        if (nv_error)
                return esp_add(e, STATUS_UNKNOWN, "firmware", "cannot read the boot entries: %s",
                               nv_error);
        if (!e->partuuid)
                return esp_add(e, STATUS_UNKNOWN, "firmware",
                               "%s's PARTUUID is unknown: cannot match boot entries to it",
                               e->mount);
        k = bootentry_evaluate(nv, e->partuuid, fd, &ev);
        if (k < 0)
                return k;
        if (ev.broken) {
                _cleanup_free_ char *l = strv_join(ev.broken, "; ");

                if (!l || asprintf(&broken, " (%s)", l) < 0)
                        return -ENOMEM;
        }
        switch (ev.reach) {
        case REACH_ENTRY:
                k = esp_add(e, STATUS_OK, "firmware",
                            "Boot%04X \"%s\" starts %s, number %d in BootOrder", ev.entry->number,
                            strna(ev.entry->description), ev.entry->file, ev.entry->order + 1);
                break;
        case REACH_NOT_IN_ORDER:
                k = esp_add(e, STATUS_WARNING, "firmware",
                            "Boot%04X \"%s\" starts %s on %s but is not in BootOrder: the "
                            "firmware will not try it (dual-root-tool --fix-boot-entries "
                            "appends it)",
                            ev.entry->number, strna(ev.entry->description), ev.entry->file,
                            e->mount);
                break;
        case REACH_FALLBACK_ONLY:
                k = esp_add(e, STATUS_WARNING, "firmware",
                            "no boot entry names %s (PARTUUID %s)%s: only the removable-media "
                            "fallback %s can start it (dual-root-tool --fix-boot-entries creates "
                            "one)",
                            e->mount, e->partuuid, broken ? broken : "", EFI_FALLBACK_PATH);
                break;
        case REACH_NONE:
        default:
                if (ev.fallback_problem)
                        k = esp_add(e, STATUS_CRITICAL, "firmware",
                                    "no boot entry names %s (PARTUUID %s)%s, and the fallback "
                                    "%s: the firmware cannot start this disk",
                                    e->mount, e->partuuid, broken ? broken : "",
                                    ev.fallback_problem);
                else
                        k = esp_add(e, STATUS_CRITICAL, "firmware",
                                    "no boot entry names %s (PARTUUID %s)%s, and there is no "
                                    "fallback %s: the firmware cannot start this disk",
                                    e->mount, e->partuuid, broken ? broken : "", EFI_FALLBACK_PATH);
                break;
        }
        /* DESIGN.md §11 S8: the fallback is what starts this disk once its entry is gone. */
        if (k >= 0 && ev.fallback_problem && ev.reach <= REACH_NOT_IN_ORDER)
                k = esp_add(e, STATUS_WARNING, "firmware",
                            "the removable-media fallback on %s cannot start it: %s", e->mount,
                            ev.fallback_problem);
        if (k >= 0 && broken && ev.reach <= REACH_NOT_IN_ORDER)
                k = esp_add(e, STATUS_WARNING, "firmware", "another entry for it is broken%s",
                            broken);
        if (k >= 0 && ev.shim_fallback)
                k = esp_add(e, STATUS_WARNING, "firmware",
                            "%s holds shim's fallback %s: booted through the fallback path it "
                            "recreates boot entries and reboots",
                            e->mount, EFI_SHIM_FALLBACK_PATH);
        /* Where the chain starts (DESIGN.md §11b L8, L9): the entry's file, else the
         * removable-media fallback. */
        if (k >= 0 && ev.entry)
                k = strv_extendf(&e->chain, "Boot%04X \"%s\" starts %s on %s", ev.entry->number,
                                 strna(ev.entry->description), ev.entry->file, e->mount);
        else if (k >= 0 && ev.fallback)
                k = strv_extendf(&e->chain,
                                 "no boot entry: the firmware starts the removable-media "
                                 "fallback %s on %s",
                                 EFI_FALLBACK_PATH, e->mount);
        if (k >= 0 && (ev.entry || ev.fallback) &&
            !(*ret_start = strdup(ev.entry ? ev.entry->file : EFI_FALLBACK_PATH)))
                k = -ENOMEM;
        *ret_entry = ev.entry; /* points into nv */
        return k;
}

/* ---- the loader chain ---- */

static uint64_t file_size(int fd, const char *path)
{
        struct stat st;

        return bls_path_stat(fd, path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The bytes of the largest kernel set: one entry's files, or one UKI. */
static uint64_t largest_set(int fd, const struct bls_set *s)
{
        uint64_t max = 0;

        for (size_t i = 0; i < s->n; i++) {
                const struct bls_entry *b = &s->entries[i];
                _cleanup_strv_free_ char **files = NULL;
                uint64_t sum = b->uki ? b->size : 0;

                if (!b->uki && !b->error && bls_entry_files(b, &files) >= 0)
                        STRV_FOREACH(f, files)
                sum += file_size(fd, *f);
                if (sum > max)
                        max = sum;
        }
        return max;
}

static bool has_grub(int fd)
{
        static const char *const where[] = { "EFI/debian/grub.cfg", "EFI/ubuntu/grub.cfg",
                                             "EFI/fedora/grub.cfg", "EFI/centos/grub.cfg",
                                             "EFI/redhat/grub.cfg", "EFI/BOOT/grub.cfg",
                                             "grub/grub.cfg" };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(where); i++)
                if (bls_path_stat(fd, where[i], &st) == 0)
                        return true;
        return false;
}

/* A partition systemd-boot reads entries from (DESIGN.md §11c X2): the ESP, or its disk's
 * XBOOTLDR. where names it in messages ("/efi1", or "XBOOTLDR /boot (/dev/vda2, partition 2
 * of vda)"); other is the other one of the disk, -1 when there is none. */
struct entry_source {
        int fd;
        const struct bls_set *set;
        const char *where;
        const char *on; /* " on XBOOTLDR ..." after an entry's name, or "" on the ESP */
        int other_fd;
        const char *other_where;
};

/* A file an entry needs is there and plausible for what it is (DESIGN.md §11 rules S3, S8):
 * returns 1 when it is, 0 after a CRITICAL finding naming entry, file and partition (X2: the
 * entry's own; the other is named when it holds the file), 2 after an UNKNOWN one when it
 * could not be read (not known to be broken), or -ENOMEM. */
static int check_loader_file(struct status_esp *e, const struct entry_source *src,
                             const struct bls_entry *b, const struct bls_file *f)
{
        _cleanup_free_ char *why = NULL;
        const char *what = loaderfile_kind_to_string(f->kind);
        int fd = src->fd;
        int r = bls_path_check(fd, f->path, f->kind, &why), k;
        struct stat st;

        if (r == 0)
                return 1;
        if (r == -ENOMEM)
                return r;
        if (b->uki) {
                if (r == -EBADMSG)
                        k = esp_add(e, STATUS_CRITICAL, "loader",
                                    "unified kernel image %s/%s is not one systemd-boot can start: "
                                    "%s",
                                    src->where, f->path, strna(why));
                else
                        k = esp_add(e, STATUS_UNKNOWN, "loader", "cannot judge %s/%s: %s",
                                    src->where, f->path, strna(why));
                return k < 0 ? k : r == -EBADMSG ? 0 : 2;
        }
        if (r == -EBADMSG) {
                _cleanup_free_ char *shown = strdup(f->path);

                if (!shown)
                        return -ENOMEM;
                for (char *p = shown; *p; p++)
                        if (*p == '\\')
                                *p = '/';
                k = esp_add(e, STATUS_CRITICAL, "loader",
                            "entry %s%s names %s, but %s/%s is not a usable %s: %s", b->filename,
                            src->on, f->path, src->where, shown + strspn(shown, "/"), what,
                            strna(why));
                return k < 0 ? k : 0;
        }
        if (r == -ENOENT || r == -EMEDIUMTYPE) {
                /* X2: resolved on the entry's own partition only, whatever the other holds */
                bool elsewhere = r == -ENOENT && src->other_fd >= 0 &&
                                 bls_path_stat(src->other_fd, f->path, &st) == 0;

                k = esp_add(e, STATUS_CRITICAL, "loader", "entry %s%s names %s, which %s %s%s%s%s",
                            b->filename, src->on, f->path, src->where,
                            r == -ENOENT ? "lacks" : "holds as something other than a file",
                            elsewhere ? " (" : "", elsewhere ? src->other_where : "",
                            elsewhere ? " has it, but systemd-boot reads an entry's files from "
                                        "the partition that holds the entry)"
                                      : "");
                return k < 0 ? k : 0;
        }
        k = esp_add_flagged(e, STATUS_UNKNOWN, denied(r), "loader",
                            "entry %s%s names %s, which on %s cannot be judged: %s%s", b->filename,
                            src->on, f->path, src->where, strna(why),
                            denied(r) ? " (needs root)" : "");
        return k < 0 ? k : 2;
}

/* The ESP's disk and its partitions, read once per report (X1). err: 0 when read, -ENOTBLK
 * when the ESP is no partition (a loop device standing in for one: no disk to look at),
 * -ENODEV when the ESP is not mounted, another -errno when the table cannot be read. */
struct esp_disk {
        struct disk_parts parts;
        int err;
        char *why;
};

static void esp_disk_done(struct esp_disk *d)
{
        disk_parts_done(&d->parts);
        free(d->why);
        *d = (struct esp_disk){ .err = -ENODEV };
}

/* The disks' partitions for a loader chain (DESIGN.md §11b L1c): the ESP's own disk first. */
struct chain_disks {
        const struct esp_disk *disks; /* NULL: none read */
        size_t n, self;
};

/* The filesystems a loader chain may name (DESIGN.md §11b): the ESPs of the set, this one
 * (fss[0]) the disk judged. Returns how many of size were filled. */
static size_t chain_fss(struct status_esp *e, int fd, const struct esp_model *m,
                        const struct chain_disks *dk, struct chain_fs *fss, size_t size)
{
        size_t n = 0;

        fss[n++] = (struct chain_fs){ .name = e->mount,
                                      .uuid = e->uuid,
                                      .fstype = "vfat",
                                      .partuuid = e->partuuid,
                                      .fd = fd,
                                      .this_disk = true };
        if (m->booted.mount && !streq(m->booted.mount, e->mount) && n < size)
                fss[n++] = (struct chain_fs){ .name = m->booted.mount,
                                              .uuid = m->booted.uuid,
                                              .partuuid = m->booted.partuuid,
                                              .fd = -1 };
        for (size_t i = 0; i < m->n_alternates && n < size; i++) {
                const struct esp *a = &m->alternates[i];

                if (a->mount && !streq(a->mount, e->mount))
                        fss[n++] = (struct chain_fs){
                                .name = a->mount, .uuid = a->uuid, .partuuid = a->partuuid, .fd = -1
                        };
        }
        /* L1c: the other filesystems of the disks (approach 2: each disk's root, its /boot),
         * this disk's first, so that one on both disks (a btrfs raid1 root) is this disk's.
         * This disk's mounted ones are opened: a chain may read its files there. */
        for (size_t pass = 0; dk && dk->disks && pass < 2; pass++)
                for (size_t i = 0; i < dk->n; i++) {
                        const struct esp_disk *d = &dk->disks[i];
                        bool own = i == dk->self ||
                                   (dk->self < dk->n && dk->disks[dk->self].err == 0 &&
                                    streq_ptr(d->parts.disk, dk->disks[dk->self].parts.disk));

                        if (d->err < 0 || own != (pass == 0))
                                continue;
                        for (size_t j = 0; j < d->parts.n && n < size; j++) {
                                const struct disk_part *p = &d->parts.parts[j];
                                bool listed = false;

                                for (size_t k = 0; k < n && p->partuuid; k++)
                                        listed = listed ||
                                                 (fss[k].partuuid &&
                                                  strcasecmp(fss[k].partuuid, p->partuuid) == 0);
                                if (listed || (!p->uuid && !p->partuuid))
                                        continue;
                                fss[n++] = (struct chain_fs){
                                        .name = p->mount  ? p->mount
                                                : p->node ? p->node
                                                          : "?",
                                        .uuid = p->uuid,
                                        .label = p->label,
                                        .partuuid = p->partuuid,
                                        .partlabel = p->partlabel,
                                        .fstype = p->fstype,
                                        .fd = own && p->mount
                                                      ? open(p->mount,
                                                             O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                                      : -1,
                                        .this_disk = own,
                                };
                        }
                }
        return n;
}

/* Closes what chain_fss() opened (every descriptor but the ESP's, the first). */
static void chain_fss_close(struct chain_fs *fss, size_t n)
{
        for (size_t i = 1; i < n; i++)
                if (fss[i].fd >= 0)
                        close(fss[i].fd);
}

/* Every link in order for -v (L9), problems with their level as findings. */
static int chain_report(struct status_esp *e, const struct chain_result *c)
{
        for (size_t i = 0; i < c->n; i++) {
                static const enum status_level level[] = {
                        [CHAIN_LINK] = STATUS_OK,           [CHAIN_NOTE] = STATUS_OK,
                        [CHAIN_WARNING] = STATUS_WARNING,   [CHAIN_UNKNOWN] = STATUS_UNKNOWN,
                        [CHAIN_CRITICAL] = STATUS_CRITICAL,
                };
                int k = c->findings[i].level <= CHAIN_NOTE
                                ? strv_extend(&e->chain, c->findings[i].text)
                                : strv_extendf(&e->chain, "%s %s",
                                               status_level_to_string(level[c->findings[i].level]),
                                               c->findings[i].text);

                if (k >= 0 && c->findings[i].level != CHAIN_LINK)
                        k = esp_add(e, level[c->findings[i].level], "loader", "%s",
                                    c->findings[i].text);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* DESIGN.md §11b: GRUB's or rEFInd's chain on this ESP's disk, as if the other disks were
 * gone. The filesystems known are the ESPs of the set; this one is the disk judged. */
static int check_chain(struct status_esp *e, int fd, const struct esp_model *m,
                       const struct chain_disks *dk, const char *stub, const char *refind_conf,
                       const char *shim)
{
        _cleanup_(chain_result_done) struct chain_result c = {};
        struct chain_fs fss[1 + 64];
        size_t n = chain_fss(e, fd, m, dk, fss, ELEMENTSOF(fss)), self = 0;
        int k;

        k = stub ? grub_chain_check_started(fss, n, self, stub, shim, &c)
                 : refind_chain_check(fss, n, self, refind_conf, &c);
        chain_fss_close(fss, n);
        if (k < 0 || (k = chain_report(e, &c)) < 0)
                return k;
        if (c.worst >= CHAIN_UNKNOWN)
                return 0;
        return esp_add(e, STATUS_OK, "loader",
                       "%s (%s): %zu entr%s, %zu complete on this disk; default \"%s\" boots "
                       "from it",
                       stub ? "GRUB" : "rEFInd", stub ? stub : refind_conf, c.n_entries,
                       c.n_entries == 1 ? "y" : "ies", c.n_bootable, strna(c.default_title));
}

/* --status -v (DESIGN.md §11b L9): systemd-boot's links, the default entry (loader.conf's, else
 * every entry: systemd-boot then sorts them itself) and the files and root= it names. */
static int sdboot_links(struct status_esp *e, const struct bls_set *s, const char *where,
                        const char *first_default)
{
        int k = strv_extendf(&e->chain, "systemd-boot reads %s/loader/entries: %zu entr%s%s%s",
                             where, s->n, s->n == 1 ? "y" : "ies",
                             first_default ? "; loader.conf's default is " : "",
                             first_default ? first_default : "");

        for (size_t i = 0; k >= 0 && i < s->n; i++) {
                const struct bls_entry *b = &s->entries[i];
                _cleanup_free_ char *initrd = NULL, *options = NULL;
                const char *root = NULL;

                if (b->error || (first_default && !streq_ptr(b->id, first_default)))
                        continue;
                STRV_FOREACH(o, b->options)
                {
                        const char *r = strstr(*o, "root=");

                        while (r && r != *o && r[-1] != ' ' && r[-1] != '\t')
                                r = strstr(r + 1, "root=");
                        if (r && !root)
                                root = r;
                }
                initrd = b->initrd ? strv_join(b->initrd, ", ") : strdup("none");
                options = root ? strndup(root, strcspn(root, " \t")) : strdup("no root=");
                if (!initrd || !options)
                        return -ENOMEM;
                k = b->uki ? strv_extendf(&e->chain, "entry %s: unified kernel image %s/%s",
                                          b->filename, where, strna(b->uki_path))
                           : strv_extendf(&e->chain, "entry %s: %s %s, initrd %s, %s on %s",
                                          b->filename, b->linux_path ? "linux" : "efi",
                                          strna(b->linux_path ? b->linux_path : b->efi), initrd,
                                          options, where);
        }
        return k;
}

/* DESIGN.md §11b L11: a UKI or EFI-stub kernel the entry (or the fallback) starts directly,
 * with the entry's optional data as its command line. 1 when judged, 0 when start is no
 * kernel, -ENOMEM. */
static int check_direct(struct status_esp *e, int fd, const struct esp_model *m,
                        const struct chain_disks *dk, const char *start,
                        const struct boot_option *entry)
{
        _cleanup_(chain_result_done) struct chain_result c = {};
        struct chain_fs fss[1 + 64];
        size_t n = chain_fss(e, fd, m, dk, fss, ELEMENTSOF(fss));
        int k = uki_chain_check(fss, n, 0, start, entry ? entry->optional : NULL,
                                entry ? entry->optional_size : 0, true, &c);

        chain_fss_close(fss, n);
        if (k <= 0 || (k = chain_report(e, &c)) < 0)
                return k;
        if (c.worst < CHAIN_UNKNOWN)
                k = esp_add(e, STATUS_OK, "loader",
                            "%s: the firmware starts this kernel directly; %s", c.default_title,
                            c.root_unchecked ? "which disk its root= names is not checked (-v)"
                                             : "its root= is on this disk");
        return k < 0 ? k : 1;
}

/* DESIGN.md §11b L8: the loader the firmware's start file leads to (the entry's File(), else the
 * fallback, through shim and its fallback's CSV). 1 when it was judged here (GRUB, rEFInd),
 * 0 when the ESP's contents decide (systemd-boot, a UKI, a loader not recognised), -ENOMEM. */
static int check_started(struct status_esp *e, int fd, const struct esp_model *m,
                         const struct chain_disks *dk, const char *start,
                         const struct boot_option *entry)
{
        _cleanup_(boot_start_done) struct boot_start b = {};
        int k = bootentry_start(fd, e->mount, start, &b);

        if (k < 0)
                return k;
        if (b.links && (k = strv_extend_strv(&e->chain, b.links)) < 0)
                return k;
        if (b.critical || b.unknown) {
                k = strv_extendf(&e->chain, "%s %s", b.critical ? "CRITICAL" : "UNKNOWN",
                                 b.critical ? b.critical : b.unknown);
                if (k >= 0)
                        k = esp_add(e, b.critical ? STATUS_CRITICAL : STATUS_UNKNOWN, "loader",
                                    "%s", b.critical ? b.critical : b.unknown);
                return k < 0 ? k : 1;
        }
        if (b.kind == START_UNKNOWN && !b.links)
                return check_direct(e, fd, m, dk, start, entry);
        if (!b.config)
                return 0;
        k = check_chain(e, fd, m, dk, b.kind == START_GRUB ? b.config : NULL,
                        b.kind == START_REFIND ? b.config : NULL, b.shim ? b.shim : "");
        return k < 0 ? k : 1;
}

/* The XBOOTLDR of an ESP's disk as the loader on that ESP sees it (DESIGN.md §11c). */
struct xbl_view {
        const struct disk_part *p; /* NULL: none, or not looked for */
        char *name;                /* "XBOOTLDR /boot (/dev/vda2, partition 2 of vda)" */
        char *on;                  /* " on " name */
        int fd;                    /* its mount's root, -1 when its entries are not read */
        struct bls_set set;
        bool loaded;   /* set holds its entries, as the loader reads them */
        char *unknown; /* why the disk's partitions could not be looked at, or NULL */
        bool unknown_denied;
};

static void xbl_view_done(struct xbl_view *x)
{
        free(x->name);
        free(x->on);
        if (x->fd >= 0)
                close(x->fd);
        bls_set_done(&x->set);
        free(x->unknown);
        *x = (struct xbl_view){ .fd = -1 };
}

static int esp_disk_read(const struct esp *e, struct libmnt_table *t, struct esp_disk *ret)
{
        *ret = (struct esp_disk){ .err = -ENODEV };
        if (!e->device || !e->devnum)
                return 0;
        ret->err = disk_parts_of(disk_sysfs_root(), e->devnum, t, &ret->parts, &ret->why);
        return ret->err == -ENOMEM ? -ENOMEM : 0;
}

/* X3: systemd-boot reads a non-FAT XBOOTLDR only through a driver for its filesystem in
 * EFI/systemd/drivers/ of the ESP it runs from. Returns 1 when it can read it, 0 after a
 * CRITICAL or UNKNOWN finding, or -ENOMEM. *via: the driver's path, NULL for FAT. */
static int check_xbootldr_driver(struct status_esp *s, int esp_fd, const struct xbl_view *x,
                                 const char *fstype, char **via)
{
        _cleanup_free_ char *drv = NULL, *path = NULL, *why = NULL;
        int r, k;

        if (!fstype) {
                k = esp_add(s, STATUS_UNKNOWN, "xbootldr",
                            "%s: its filesystem is not known (not probed): whether systemd-boot "
                            "can read it is not checked",
                            x->name);
                return k < 0 ? k : 0;
        }
        if (xbootldr_driver_name(fstype, &drv) < 0)
                return -ENOMEM;
        if (!drv)
                return 1;
        if (asprintf(&path, SDBOOT_DRIVERS_DIR "/%s", drv) < 0)
                return -ENOMEM;
        r = bls_path_check(esp_fd, path, LOADERFILE_EFI, &why);
        if (r == -ENOMEM)
                return r;
        if (r == 0) {
                *via = TAKE_PTR(path);
                return 1;
        }
        if (r == -ENOENT || r == -EMEDIUMTYPE)
                k = esp_add(s, STATUS_CRITICAL, "xbootldr",
                            "systemd-boot on %s cannot read %s: it is %s, the firmware reads FAT "
                            "only, and %s/%s is missing (systemd-boot loads filesystem drivers "
                            "from " SDBOOT_DRIVERS_DIR "/ on its ESP): no entry there is shown",
                            s->mount, x->name, fstype, s->mount, path);
        else if (r == -EBADMSG)
                k = esp_add(s, STATUS_CRITICAL, "xbootldr",
                            "systemd-boot on %s cannot read %s (%s): %s/%s is not a usable EFI "
                            "driver: %s",
                            s->mount, x->name, fstype, s->mount, path, strna(why));
        else
                k = esp_add_flagged(s, STATUS_UNKNOWN, denied(r), "xbootldr",
                                    "whether systemd-boot on %s can read %s (%s) is not known: "
                                    "%s/%s: %s",
                                    s->mount, x->name, fstype, s->mount, path, strna(why));
        return k < 0 ? k : 0;
}

/* X1, X3, X4: the XBOOTLDR of this ESP's disk, found by partition type wherever it is
 * mounted; its entries read into x when the loader and we can both read them. */
static int check_xbootldr(struct status_esp *s, int esp_fd, const struct esp_disk *d,
                          struct libmnt_table *t, struct libmnt_table *fstab, struct xbl_view *x)
{
        _cleanup_free_ char *via = NULL, *why = NULL;
        const struct disk_part *p;
        struct libmnt_fs *line;
        const char *fstype;
        char suffix[128];
        int k, fd;

        if (d->err == -ENOTBLK || d->err == -ENODEV)
                return 0;
        if (d->err < 0) {
                /* Could not look (S13): said, and used only if the ESP alone does not boot. */
                x->unknown_denied = denied(d->err);
                if (asprintf(&x->unknown, "%s%s", strna(d->why),
                             x->unknown_denied ? " (needs root)" : "") < 0)
                        return -ENOMEM;
                return esp_add(s, STATUS_OK, "xbootldr",
                               "an XBOOTLDR partition was not looked for: %s", x->unknown);
        }
        s->disk = strdup(d->parts.disk);
        if (!s->disk)
                return -ENOMEM;
        p = disk_parts_xbootldr(&d->parts);
        if (!p)
                return 0;
        x->p = p;
        s->xbootldr = true;
        s->xbootldr_partno = p->partno;
        if ((p->node && !(s->xbootldr_device = strdup(p->node))) ||
            (p->partuuid && !(s->xbootldr_partuuid = strdup(p->partuuid))) ||
            (p->mount && !(s->xbootldr_mount = strdup(p->mount))))
                return -ENOMEM;
        fstype = p->fstype;
        if (!fstype && p->mount) {
                struct libmnt_fs *fs = mounts_find_target(t, p->mount);

                fstype = fs ? mnt_fs_get_fstype(fs) : NULL;
        }
        if (fstype && !(s->xbootldr_fstype = strdup(fstype)))
                return -ENOMEM;
        if (asprintf(&x->name, "XBOOTLDR %s (%s, partition %u of %s)",
                     p->mount ? p->mount : "(not mounted)", p->node ? p->node : "no device node",
                     p->partno, d->parts.disk) < 0 ||
            asprintf(&x->on, " on %s", x->name) < 0)
                return -ENOMEM;

        k = check_xbootldr_driver(s, esp_fd, x, fstype, &via);
        if (k <= 0)
                return k; /* the loader cannot read it (or may not): its entries do not count */
        if (!p->node)
                return esp_add(s, STATUS_UNKNOWN, "xbootldr",
                               "the XBOOTLDR partition %u (PARTUUID %s) of %s has no device node "
                               "(no " BY_PARTUUID_DIR " link): its entries are not checked",
                               p->partno, strna(p->partuuid), d->parts.disk);
        line = disk_part_fstab_line(p, fstab);
        if (!p->mount) {
                if (line)
                        return esp_add(s, STATUS_UNKNOWN, "xbootldr",
                                       "%s is not mounted (fstab mounts it on %s): its entries "
                                       "are not checked",
                                       x->name, strna(mnt_fs_get_target(line)));
                k = esp_add(s, STATUS_WARNING, "xbootldr",
                            "%s is mounted nowhere and fstab does not mount it: kernel updates "
                            "and syncs cannot reach it (add an fstab line PARTUUID=%s with "
                            "nofail)",
                            x->name, strna(p->partuuid));
                if (k >= 0)
                        k = esp_add(s, STATUS_UNKNOWN, "xbootldr",
                                    "%s is not mounted: its entries are not checked", x->name);
                return k;
        }
        if (!line) {
                k = esp_add(s, STATUS_WARNING, "xbootldr",
                            "%s is mounted on %s, but fstab does not mount it: after a reboot it "
                            "is not, and kernel updates and syncs miss it (add an fstab line "
                            "PARTUUID=%s with nofail)",
                            x->name, p->mount, strna(p->partuuid));
                if (k < 0)
                        return k;
        }
        fd = open(p->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return esp_add_flagged(s, STATUS_UNKNOWN, denied(errno), "xbootldr",
                                       "%s: its entries are not checked: cannot open %s%s", x->name,
                                       p->mount, err_suffix(errno, suffix, sizeof(suffix)));
        x->fd = fd;
        k = bls_load(fd, &x->set, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return esp_add_flagged(s, STATUS_UNKNOWN, denied(k), "xbootldr",
                                       "cannot read the boot entries of %s: %s%s", x->name,
                                       strna(why), denied(k) ? " (needs root)" : "");
        x->loaded = true;
        return esp_add(s, STATUS_OK, "xbootldr", "%s, %s%s%s%s: systemd-boot reads it%s%s", x->name,
                       strna(fstype), p->partuuid ? ", PARTUUID " : "",
                       p->partuuid ? p->partuuid : "", line ? ", in fstab" : "",
                       via ? " through " : " (FAT)", via ? via : "");
}

/* X5: the filesystems of the other disks (those not also on this one: a btrfs across both
 * disks is this disk's too), which no entry may name as its root. */
static int foreign_map(const struct esp_disk *disks, size_t n, size_t self, struct swapids_map *ret)
{
        _cleanup_(swapids_map_done) struct swapids_map m = {};
        const struct disk_parts *own = &disks[self].parts;

        if (disks[self].err < 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                const struct disk_parts *d = &disks[i].parts;

                if (i == self || disks[i].err < 0 || streq_ptr(d->disk, own->disk))
                        continue;
                for (size_t j = 0; j < d->n; j++) {
                        const struct disk_part *p = &d->parts[j];
                        _cleanup_free_ char *name = NULL;
                        bool shared = false;

                        for (size_t o = 0; o < own->n && p->uuid; o++)
                                shared = shared || (own->parts[o].uuid &&
                                                    strcasecmp(own->parts[o].uuid, p->uuid) == 0);
                        if (shared)
                                continue;
                        if (asprintf(&name, "%s (partition %u of %s)",
                                     p->node ? p->node : "no device node", p->partno, d->disk) < 0)
                                return -ENOMEM;
                        if (swapids_map_add_fs(&m,
                                               &(struct swapids_fs){ .name = name,
                                                                     .uuid = p->uuid,
                                                                     .partuuid = p->partuuid,
                                                                     .label = p->label,
                                                                     .partlabel = p->partlabel },
                                               true) < 0)
                                return -ENOMEM;
                }
        }
        *ret = m;
        m = (struct swapids_map){};
        return 0;
}

/* X5: an entry's kernel command line names the other disk's root: CRITICAL (booted alone,
 * this disk stops in the initramfs). Returns 1 when it does, 0 when not, -ENOMEM. */
static int check_entry_root(struct status_esp *e, const struct entry_source *src,
                            const struct bls_entry *b, const struct swapids_map *foreign)
{
        _cleanup_free_ char *text = NULL;
        const struct swapids_entry *hit = NULL;
        unsigned line = 0;
        int r, k;

        if (!foreign || foreign->n == 0 || !b->options)
                return 0;
        text = strv_join(b->options, "\n");
        if (!text)
                return -ENOMEM;
        r = swapids_find_roots(foreign, text, strlen(text), true, &line, &hit);
        if (r <= 0)
                return r == -ENOMEM ? r : 0;
        k = esp_add(e, STATUS_CRITICAL, "loader",
                    "entry %s%s names as its root %s=%s, which is %s on another disk: booted "
                    "alone, this disk stops in the initramfs (each disk's entries must name its "
                    "own root: swap_ids)",
                    b->filename, src->on, swapids_kind_to_string(hit->kind), hit->value,
                    strna(hit->fs));
        return k < 0 ? k : 1;
}

static int check_loader(struct status_esp *e, int fd, const struct esp_model *m,
                        const struct bls_set *s, int load_err, const char *why, const char *start,
                        const struct boot_option *entry, const struct xbl_view *x,
                        const struct swapids_map *foreign, const struct chain_disks *dk)
{
        size_t usable = 0, ukis = 0, exhausted = 0, n_default = 0, unchecked = 0, total = s->n;
        size_t on_xbl = 0;
        const char *first_default = NULL;
        struct stat st;
        bool sdboot = bls_path_stat(fd, EFI_SDBOOT_PATH, &st) == 0;
        bool xbl = x && x->loaded;
        const struct entry_source srcs[2] = {
                { fd, s, e->mount, "", xbl ? x->fd : -1, e->mount },
                { xbl ? x->fd : -1, xbl ? &x->set : NULL, xbl ? x->name : NULL, xbl ? x->on : "",
                  fd, e->mount },
        };
        int k;

        if (why)
                return esp_add_flagged(e, STATUS_UNKNOWN, denied(load_err), "loader",
                                       "cannot read %s's boot entries: %s%s", e->mount, why,
                                       denied(load_err) ? " (needs root)" : "");
        if (start) {
                k = check_started(e, fd, m, dk, start, entry);
                if (k != 0)
                        return k < 0 ? k : 0;
        }
        if (xbl)
                total += x->set.n;
        if (!sdboot && total == 0 && !s->have_loader_conf) {
                const char *stub = grub_find_stub(fd), *refind = refind_find_conf(fd);

                if (stub || refind)
                        return check_chain(e, fd, m, dk, stub, refind, NULL);
                if (has_grub(fd))
                        return esp_add(e, STATUS_UNKNOWN, "loader",
                                       "not systemd-boot: a GRUB configuration is present, but "
                                       "no stub in EFI/<distributor>/grub.cfg that the firmware's "
                                       "GRUB reads first: not checked");
                if (bls_path_stat(fd, EFI_FALLBACK_PATH, &st) == 0) {
                        _cleanup_free_ char *bad = NULL;
                        int r = bls_path_check(fd, EFI_FALLBACK_PATH, LOADERFILE_EFI, &bad);

                        if (r == -ENOMEM)
                                return r;
                        if (r == -EBADMSG)
                                return esp_add(e, STATUS_CRITICAL, "loader",
                                               "%s holds no usable boot loader: no systemd-boot, "
                                               "no entries, and its fallback %s is not a usable "
                                               "EFI program: %s",
                                               e->mount, EFI_FALLBACK_PATH, strna(bad));
                        return esp_add(e, STATUS_OK, "loader",
                                       "no systemd-boot and no entries: %s is started as it is, "
                                       "not checked further",
                                       EFI_FALLBACK_PATH);
                }
                if (x && (x->unknown || (x->p && !x->loaded)))
                        return esp_add_flagged(e, STATUS_UNKNOWN, x->unknown_denied, "loader",
                                               "%s holds no boot loader and no entries; its "
                                               "disk's XBOOTLDR was not read%s%s",
                                               e->mount, x->unknown ? ": " : "",
                                               x->unknown ? x->unknown : "");
                return esp_add(e, STATUS_CRITICAL, "loader",
                               "%s holds no boot loader (no %s, no %s, no loader entries)",
                               e->mount, EFI_SDBOOT_PATH, EFI_FALLBACK_PATH);
        }
        if (s->loader_conf_error) {
                k = esp_add(e, STATUS_WARNING, "loader", "%s: " BLS_LOADER_CONF " %s", e->mount,
                            s->loader_conf_error);
                if (k < 0)
                        return k;
        }

        /* X2: the ESP's entries, then the XBOOTLDR's, each read from its own partition; the
         * ESP's loader.conf default chooses among both. */
        for (size_t si = 0; si < (xbl ? 2u : 1u); si++) {
                const struct entry_source *src = &srcs[si];

                for (size_t i = 0; i < src->set->n; i++) {
                        const struct bls_entry *b = &src->set->entries[i];
                        _cleanup_free_ struct bls_file *files = NULL;
                        size_t n_files = 0;
                        bool complete = true;

                        if (b->error) {
                                k = esp_add(e, STATUS_WARNING, "loader",
                                            "entry %s%s is skipped by systemd-boot: %s",
                                            b->filename, src->on, b->error);
                                if (k < 0)
                                        return k;
                                continue;
                        }
                        if (b->uki) {
                                ukis++;
                        } else if (!b->linux_path && !b->efi) {
                                k = esp_add(e, STATUS_WARNING, "loader",
                                            "entry %s%s names no linux or efi file: systemd-boot "
                                            "skips it",
                                            b->filename, src->on);
                                if (k < 0)
                                        return k;
                                continue;
                        }
                        k = bls_entry_typed_files(b, &files, &n_files);
                        if (k < 0)
                                return k;
                        for (size_t j = 0; j < n_files; j++) {
                                k = check_loader_file(e, src, b, &files[j]);
                                if (k == 2)
                                        unchecked++; /* could not look (DESIGN.md §11 S13) */
                                if (k < 0)
                                        return k;
                                if (k != 1)
                                        complete = false;
                        }
                        k = check_entry_root(e, src, b, foreign);
                        if (k < 0)
                                return k;
                        if (k > 0 || !complete)
                                continue;
                        usable++;
                        on_xbl += si;
                        if (b->tries_left == 0)
                                exhausted++;
                        if (s->default_pattern && !bls_pattern_is_special(s->default_pattern) &&
                            bls_pattern_matches(s->default_pattern, b)) {
                                if (!first_default)
                                        first_default = b->id;
                                n_default++;
                        }
                }
        }

        if (total == 0 || (usable == 0 && unchecked == 0 && e->level != STATUS_CRITICAL)) {
                /* S13: the XBOOTLDR not read could hold what the ESP lacks */
                if (x && (x->unknown || (x->p && !x->loaded)) && e->level != STATUS_CRITICAL)
                        return esp_add_flagged(e, STATUS_UNKNOWN, x->unknown_denied, "loader",
                                               "systemd-boot on %s: no usable entry on the ESP; "
                                               "its disk's XBOOTLDR was not read%s%s",
                                               e->mount, x->unknown ? ": " : "",
                                               x->unknown ? x->unknown : "");
                if (xbl)
                        return esp_add(e, STATUS_CRITICAL, "loader",
                                       "systemd-boot on %s has no entry to boot (neither the ESP "
                                       "nor %s holds a usable entry in " BLS_ENTRIES_DIR
                                       " or image in " BLS_UKI_DIR ")",
                                       e->mount, x->name);
                return esp_add(e, STATUS_CRITICAL, "loader",
                               "systemd-boot on %s has no entry to boot (" BLS_ENTRIES_DIR
                               " holds no usable entry, " BLS_UKI_DIR " no image)",
                               e->mount);
        }
        if (s->default_pattern && !bls_pattern_is_special(s->default_pattern) && n_default == 0 &&
            usable > 0) {
                k = esp_add(e, STATUS_WARNING, "loader",
                            BLS_LOADER_CONF ":%u: default \"%s\" matches no complete entry: "
                                            "systemd-boot boots the first entry instead",
                            s->default_line, s->default_pattern);
                if (k < 0)
                        return k;
        }
        if (usable > 0 && exhausted == usable) {
                k = esp_add(e, STATUS_WARNING, "loader",
                            "every entry on %s has used up its boot-counting tries (+0): each "
                            "failed to boot",
                            e->mount);
                if (k < 0)
                        return k;
        }
        k = sdboot_links(e, s, e->mount, first_default);
        if (k >= 0 && xbl) /* DESIGN.md §11c X2: the XBOOTLDR's entries beside the ESP's */
                k = sdboot_links(e, &x->set, x->p && x->p->mount ? x->p->mount : x->name,
                                 first_default);
        if (k < 0)
                return k;
        if (e->level == STATUS_CRITICAL || usable == 0)
                return 0;
        {
                char where[64] = "";

                if (xbl)
                        snprintf(where, sizeof(where), ", %zu on the XBOOTLDR", on_xbl);
                if (first_default)
                        return esp_add(e, STATUS_OK, "loader",
                                       "systemd-boot: %zu complete entr%s (%zu unified kernel "
                                       "image%s%s), default \"%s\" is %s",
                                       usable, usable == 1 ? "y" : "ies", ukis,
                                       ukis == 1 ? "" : "s", where, s->default_pattern,
                                       first_default);
                return esp_add(e, STATUS_OK, "loader",
                               "systemd-boot: %zu complete entr%s (%zu unified kernel image%s%s)",
                               usable, usable == 1 ? "y" : "ies", ukis, ukis == 1 ? "" : "s",
                               where);
        }
}

/* ---- in sync with the booted ESP ---- */

static int check_sync(struct status_esp *e, int fd, int booted_fd, int booted_err,
                      const char *booted_mount, const char *booted_partuuid, char *const *excludes,
                      int64_t now)
{
        _cleanup_(guard_verdict_done) struct guard_verdict v = {};
        _cleanup_(sync_record_done) struct sync_record rec = { .synced = -1 };
        _cleanup_free_ char *why = NULL;
        uint64_t fp, fp_booted;
        char age[64] = "";
        int r, k;

        r = sync_record_read(fd, &rec);
        if (r == -ENOMEM)
                return r;
        if (r == 0) {
                e->last_sync = rec.synced;
                e->last_sync_from = TAKE_PTR(rec.source);
                if (rec.synced >= 0)
                        format_age(now, rec.synced, age, sizeof(age));
        }
        if (booted_fd < 0)
                return esp_unknown(e, "sync", booted_err,
                                   "not compared with the booted ESP: cannot open %s",
                                   booted_mount);

        /* The guard's own verdict on the next sync (DESIGN.md §5 rules 4, 10). */
        if (rec.intent)
                return esp_add(e, STATUS_WARNING, "sync",
                               "a sync into %s from PARTUUID %s, started %s, did not finish: "
                               "the next sync from it completes it (it boots with its old or "
                               "its new set meanwhile)",
                               e->mount, rec.intent, strna(rec.intent_since));
        k = guard_assess(booted_fd, booted_mount, booted_partuuid, fd, e->mount, excludes, &v,
                         &why);
        if (k == -ENOMEM)
                return k;
        if (k == -EEXIST)
                return esp_add(e, STATUS_WARNING, "sync", "the rollback guard refuses a sync: %s",
                               strna(why));
        if (k < 0)
                return esp_add_flagged(e, STATUS_UNKNOWN, denied(k), "sync",
                                       "cannot read %s's sync state: %s%s", e->mount, strna(why),
                                       denied(k) ? " (needs root)" : "");
        if (v.src_fp_known && v.dst_fp_known) {
                fp_booted = v.src_fp;
                fp = v.dst_fp;
        } else {
                /* No completed sync recorded: compare the trees themselves. */
                k = guard_fingerprint(booted_fd, excludes, &fp_booted, &why);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return esp_add_flagged(e, STATUS_UNKNOWN, denied(k), "sync",
                                               "cannot read the booted ESP %s: %s%s", booted_mount,
                                               strna(why), denied(k) ? " (needs root)" : "");
                free(why);
                why = NULL;
                k = guard_fingerprint(fd, excludes, &fp, &why);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return esp_add_flagged(e, STATUS_UNKNOWN, denied(k), "sync",
                                               "cannot read %s: %s%s", e->mount, strna(why),
                                               denied(k) ? " (needs root)" : "");
        }
        if (fp != fp_booted) {
                if (!v.recorded)
                        return esp_add(e, STATUS_WARNING, "sync",
                                       "%s differs from the booted ESP %s and was never synced "
                                       "by dual-root (dual-root-tool -s)",
                                       e->mount, booted_mount);
                return esp_add(e, STATUS_WARNING, "sync",
                               "%s differs from the booted ESP %s: a sync is pending (last "
                               "synced %s, from PARTUUID %s)",
                               e->mount, booted_mount, *age ? age : "at an unknown time",
                               strna(e->last_sync_from));
        }
        if (!v.recorded)
                return esp_add(e, STATUS_OK, "sync",
                               "identical to the booted ESP %s (no sync record of dual-root)",
                               booted_mount);
        if (v.verified > 0) {
                char compared[64];

                format_age(now, (int64_t)v.verified, compared, sizeof(compared));
                return esp_add(e, STATUS_OK, "sync",
                               "identical to the booted ESP %s; last synced %s from PARTUUID %s; "
                               "content last compared byte for byte %s",
                               booted_mount, *age ? age : "at an unknown time",
                               strna(e->last_sync_from), compared);
        }
        return esp_add(e, STATUS_OK, "sync",
                       "identical to the booted ESP %s; last synced %s from PARTUUID %s",
                       booted_mount, *age ? age : "at an unknown time", strna(e->last_sync_from));
}

/* ---- per ESP ---- */

static int esp_entry_init(struct status_esp *s, const struct esp *e, bool booted)
{
        *s = (struct status_esp){
                .booted = booted,
                .verdict = VERDICT_YES,
                .last_sync = -1,
                .last_proven = -1,
                .last_prove_failed = -1,
        };
        if ((e->mount && !(s->mount = strdup(e->mount))) ||
            (e->device && !(s->device = strdup(e->device))) ||
            (e->partuuid && !(s->partuuid = strdup(e->partuuid))) ||
            (e->uuid && !(s->uuid = strdup(e->uuid))))
                return -ENOMEM;
        return 0;
}

/* The PARTUUID an fstab line mounts (PARTUUID=, or a /dev/disk/by-partuuid/ path), or NULL. */
static const char *fstab_partuuid(struct libmnt_fs *fs)
{
        const char *name = NULL, *value = NULL, *src = fs ? mnt_fs_get_source(fs) : NULL;

        if (fs && mnt_fs_get_tag(fs, &name, &value) == 0 && streq_ptr(name, "PARTUUID"))
                return isempty(value) ? NULL : value;
        value = src ? startswith(src, "/dev/disk/by-partuuid/") : NULL;
        return isempty(value) ? NULL : value;
}

/* The fstab line for mount point, if any: what should be there when the disk is missing, and
 * the PARTUUID that names that disk in the report and the metrics. */
static int check_missing(struct status_esp *s, struct libmnt_table *fstab)
{
        struct libmnt_fs *fs =
                fstab ? mnt_table_find_target(fstab, s->mount, MNT_ITER_FORWARD) : NULL;
        const char *src = fs ? mnt_fs_get_source(fs) : NULL, *pu = fstab_partuuid(fs);

        s->verdict = VERDICT_NO;
        if (!s->partuuid && pu) {
                s->partuuid = strdup(pu);
                if (!s->partuuid)
                        return -ENOMEM;
                s->partuuid_from_fstab = true;
        }
        if (src)
                return esp_add(s, STATUS_CRITICAL, "esp",
                               "%s is not mounted: fstab mounts %s there, which is not present "
                               "(disk missing or replaced?). This machine cannot lose its other "
                               "disk now; on a replacement disk run: dual-root-tool --add-disk "
                               "DEVICE",
                               s->mount, src);
        return esp_add(s, STATUS_CRITICAL, "esp",
                       "%s is not mounted (disk missing or dead?): this machine cannot lose its "
                       "other disk now; on a replacement disk run: dual-root-tool --add-disk "
                       "DEVICE",
                       s->mount);
}

/* What check_one_esp() needs of the whole set: the disks of all ESPs (esps[0] the booted's),
 * whether alternates are compared with the booted ESP (S4: approach 1 only). */
struct esp_set_view {
        const struct esp_disk *disks;
        size_t n_disks;
        struct libmnt_table *fstab;
        bool compare;
};

static int check_one_esp(struct status_esp *s, const char *path, int booted_fd, int booted_err,
                         const char *booted_mount, const char *booted_partuuid,
                         struct libmnt_table *t, const struct boot_nvram *nv, const char *nv_error,
                         char *const *excludes, uint64_t min_free, int64_t now,
                         const struct esp_model *m, const struct esp_set_view *v, size_t idx)
{
        _cleanup_(bls_set_done) struct bls_set set = {};
        _cleanup_(xbl_view_done) struct xbl_view x = { .fd = -1 };
        _cleanup_(swapids_map_done) struct swapids_map foreign = {};
        _cleanup_free_ char *why = NULL, *start = NULL;
        const struct boot_option *entry = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int k, err = errno, load;

        s->present = true;
        if (fd < 0 && err == EIO)
                return esp_add(s, STATUS_CRITICAL, "esp", "cannot open %s: %s", path,
                               strerror(err));
        if (fd < 0) {
                /* Could not look inside (a vfat ESP mounted umask=0077, read as a user): what
                 * the mount table and statvfs() tell is still checked, the rest is UNKNOWN
                 * naming why (DESIGN.md §11 rule S13). */
                char suffix[128];

                char *u;

                if (asprintf(&u, "cannot open %s%s", path,
                             err_suffix(err, suffix, sizeof(suffix))) < 0)
                        return -ENOMEM;
                s->unknown_why = u;
                k = check_esp_itself(s, t, min_free);
                if (k >= 0)
                        k = esp_unknown(s, "firmware", err,
                                        "whether %s holds the file its boot entry starts is not "
                                        "checked: cannot open it",
                                        path);
                if (k >= 0)
                        k = esp_unknown(s, "loader", err,
                                        "%s's loader and entries are not checked: cannot open it",
                                        path);
                if (k >= 0 && !s->booted && v->compare)
                        k = esp_unknown(s, "sync", err,
                                        "not compared with the booted ESP: cannot open %s", path);
                return k;
        }
        load = bls_load(fd, &set, &why);
        if (load == -ENOMEM)
                return load;
        k = check_esp_itself(s, t, min_free ? min_free : 2 * largest_set(fd, &set));
        if (k >= 0)
                k = check_firmware(s, fd, nv, nv_error, &start, &entry);
        if (k >= 0 && idx < v->n_disks)
                k = check_xbootldr(s, fd, &v->disks[idx], t, v->fstab, &x);
        if (k >= 0 && idx < v->n_disks)
                k = foreign_map(v->disks, v->n_disks, idx, &foreign);
        if (k >= 0)
                k = check_loader(
                        s, fd, m, &set, load, why, start, entry, &x, &foreign,
                        &(struct chain_disks){ .disks = v->disks, .n = v->n_disks, .self = idx });
        if (k >= 0 && !s->booted && v->compare)
                k = check_sync(s, fd, booted_fd, booted_err, booted_mount, booted_partuuid,
                               excludes, now);
        return k;
}

static int add_esp(struct status_report *r)
{
        struct status_esp *t = reallocarray(r->esps, r->n_esps + 1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        r->esps = t;
        r->esps[r->n_esps] = (struct status_esp){};
        r->n_esps++;
        return 0;
}

/* Whether an fstab source (PARTUUID=, UUID=, PARTLABEL=/LABEL= not, a device path) names
 * the booted ESP. */
static bool source_is_booted(const struct esp_model *m, const char *src)
{
        const char *v;
        struct stat st;

        if (!src)
                return false;
        if ((v = startswith(src, "PARTUUID=")))
                return m->booted.partuuid && strcasecmp(v, m->booted.partuuid) == 0;
        if ((v = startswith(src, "UUID=")))
                return m->booted.uuid && strcasecmp(v, m->booted.uuid) == 0;
        if (src[0] == '/')
                return stat(src, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == m->booted.devnum;
        return false;
}

/* X6: the sync-list item that copies path (approach 2's /boot on the root), or NULL. */
static const struct sync_item *item_of_source(const struct config *c, const char *path)
{
        for (size_t i = 0; i < c->n_items; i++) {
                const char *s = c->items[i].source;
                size_t n = strlen(s);

                while (n > 1 && s[n - 1] == '/')
                        n--;
                if (strlen(path) == n && strncmp(s, path, n) == 0)
                        return &c->items[i];
        }
        return NULL;
}

/* The XBOOTLDR of the ESP i's disk, when its table was read and it has one. */
static const struct disk_part *disk_xbootldr(const struct esp_disk *disks, size_t n, size_t i)
{
        return i < n && disks[i].err == 0 ? disk_parts_xbootldr(&disks[i].parts) : NULL;
}

/* Whether an fstab source names partition p (PARTUUID=, UUID=, or its device). */
static bool source_is_part(const struct disk_part *p, const char *src)
{
        const char *v;
        struct stat st;

        if (!p || !src)
                return false;
        if ((v = startswith(src, "PARTUUID=")))
                return p->partuuid && strcasecmp(v, p->partuuid) == 0;
        if ((v = startswith(src, "UUID=")))
                return p->uuid && strcasecmp(v, p->uuid) == 0;
        if (src[0] == '/')
                return p->node && stat(src, &st) == 0 && S_ISBLK(st.st_mode) &&
                       st.st_rdev == p->devnum;
        return false;
}

/* EFI_MOUNT (/boot) per approach (S3, X6): approach 1, a mount (bind) of the booted ESP;
 * approach 2, the booted disk's own XBOOTLDR, or (no XBOOTLDR) a directory of its root that a
 * sync-list item copies. An automount (x-systemd.automount: autofs on EFI_MOUNT, the real
 * mount stacked on it once accessed) is judged by what it mounts: the mount on top when there
 * is one, else its fstab line's source (rule S3). */
static int check_boot_mount(const struct config *c, const struct esp_model *m,
                            struct libmnt_table *t, struct libmnt_table *fstab,
                            const char *efi_mount, const struct esp_disk *disks, size_t n_disks,
                            struct status_report *r)
{
        struct libmnt_fs *fs = mounts_find_target(t, efi_mount);
        const struct disk_part *xp = disk_xbootldr(disks, n_disks, 0);
        const struct sync_item *item = item_of_source(c, efi_mount);
        _cleanup_free_ char *xname = NULL;

        if (xp && asprintf(&xname, "XBOOTLDR %s (partition %u of %s)",
                           xp->node ? xp->node : "with no device node", xp->partno,
                           disks[0].parts.disk) < 0)
                return -ENOMEM;
        if (!fs) {
                if (xp)
                        return add(r, STATUS_WARNING, "boot",
                                   "%s is not a mount point, but the booted disk has the %s%s%s: "
                                   "kernels installed now land on the root, which systemd-boot "
                                   "does not read (mount it on %s)",
                                   efi_mount, xname, xp->mount ? ", mounted on " : "",
                                   xp->mount ? xp->mount : "", efi_mount);
                if (item)
                        return add(r, STATUS_OK, "boot",
                                   "%s is a directory of the root (approach 2), copied by the "
                                   "sync list from %s",
                                   efi_mount, item->source);
                return add(r, STATUS_WARNING, "boot",
                           "%s is not a mount point: kernels installed now do not reach the "
                           "booted ESP (is bind-mount-efi.service enabled?)",
                           efi_mount);
        }
        if (streq_ptr(mnt_fs_get_fstype(fs), "autofs")) {
                struct libmnt_fs *line =
                        fstab ? mnt_table_find_target(fstab, efi_mount, MNT_ITER_FORWARD) : NULL;
                const char *src = line ? mnt_fs_get_source(line) : NULL;

                if (!line)
                        return add(r, STATUS_WARNING, "boot",
                                   "%s is an automount with no fstab line: what it mounts is "
                                   "not known until it is accessed",
                                   efi_mount);
                if (source_is_part(xp, src))
                        return add(r, STATUS_OK, "boot",
                                   "%s is an automount (x-systemd.automount) of the booted "
                                   "disk's %s (fstab: %s): each access mounts it",
                                   efi_mount, xname, src);
                if (!source_is_booted(m, src))
                        return add(
                                r, STATUS_CRITICAL, "boot",
                                "%s is an automount of %s (fstab), not of the booted ESP %s%s%s: "
                                "kernels installed now land on the wrong %s",
                                efi_mount, strna(src), m->booted.device, xp ? " nor of the " : "",
                                xp ? xname : "", xp ? "partition" : "ESP");
                return add(r, STATUS_OK, "boot",
                           "%s is an automount (x-systemd.automount) of the booted ESP %s "
                           "(fstab: %s): each access mounts it",
                           efi_mount, m->booted.device, src);
        }
        if (mnt_fs_get_devno(fs) == m->booted.devnum)
                return add(r, STATUS_OK, "boot", "%s holds the booted ESP %s", efi_mount,
                           m->booted.device);
        if (xp && xp->node && mnt_fs_get_devno(fs) == xp->devnum)
                return add(r, STATUS_OK, "boot", "%s holds the booted disk's %s (approach 2)",
                           efi_mount, xname);
        if (n_disks > 0 && disks[0].err < 0 && disks[0].err != -ENOTBLK && disks[0].err != -ENODEV)
                /* S13: it may be the booted disk's XBOOTLDR, which could not be looked for */
                return item_add(r, STATUS_UNKNOWN, denied(disks[0].err), "boot", NULL, NULL,
                                "%s holds %s, not the booted ESP %s; whether it is the booted "
                                "disk's XBOOTLDR is not known: %s%s",
                                efi_mount, strna(mnt_fs_get_source(fs)), m->booted.device,
                                strna(disks[0].why), denied(disks[0].err) ? " (needs root)" : "");
        for (size_t i = 1; i < n_disks; i++) {
                const struct disk_part *o = disk_xbootldr(disks, n_disks, i);

                if (o && o->node && mnt_fs_get_devno(fs) == o->devnum &&
                    !streq_ptr(disks[i].parts.disk, disks[0].parts.disk))
                        return add(r, STATUS_CRITICAL, "boot",
                                   "%s holds %s, the XBOOTLDR of disk %s, not the booted disk's: "
                                   "kernels installed now land on the other disk",
                                   efi_mount, o->node, disks[i].parts.disk);
        }
        return add(r, STATUS_CRITICAL, "boot",
                   "%s holds %s, not the booted ESP %s%s%s: kernels installed now land on "
                   "the wrong %s",
                   efi_mount, strna(mnt_fs_get_source(fs)), m->booted.device,
                   xp ? " nor the booted disk's " : "", xp ? xname : "", xp ? "partition" : "ESP");
}

/* The free space an ESP should keep: the config's esp_min_free, or 0 for "twice the largest
 * kernel set on that ESP". */
static uint64_t esp_min_free(const struct config *c)
{
        return (uint64_t)c->esp_min_free * MIB;
}

/* DESIGN.md §5b: the swapped copies on dest are what a sync would write there, and none
 * names the source disk's root (CRITICAL: booted alone, it would not find its own). */
static int swapped_findings(const struct config *c, const struct esp_model *m,
                            struct libmnt_table *t, const char *source, const char *dest,
                            char *const *excludes, struct status_report *r, struct status_esp *e)
{
        _cleanup_strv_free_ char **warn = NULL, **crit = NULL, **ok = NULL;
        int k = swapfiles_check_dest(c, m, t, source, dest, excludes, &warn, &crit, &ok);
        char **lists[] = { crit, warn, ok };
        const enum status_level levels[] = { STATUS_CRITICAL, STATUS_WARNING, STATUS_OK };

        if (k < 0 && k != -ENOMEM) {
                /* Could not look (DESIGN.md §11 rule S13). */
                char suffix[128];

                err_suffix(k, suffix, sizeof(suffix));
                return e ? esp_add_flagged(e, STATUS_UNKNOWN, denied(k), "swap_ids",
                                           "cannot check the swapped files of %s -> %s%s", source,
                                           dest, suffix)
                         : item_add(r, STATUS_UNKNOWN, denied(k), "swap_ids", source, dest,
                                    "cannot check the swapped files of %s -> %s%s", source, dest,
                                    suffix);
        }
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(lists); i++)
                STRV_FOREACH(w, lists[i])
                {
                        k = e ? esp_add(e, levels[i], "swap_ids", "%s", *w)
                              : item_add(r, levels[i], false, "swap_ids", source, dest, "%s", *w);
                        if (k < 0)
                                break;
                }
        return k;
}

static int check_esps_on(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                         struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                         const struct esp_set_view *v, struct status_report *r)
{
        _cleanup_strv_free_ char **x = NULL;
        _cleanup_(boot_nvram_done) struct boot_nvram nv = {};
        _cleanup_free_ char *nv_error = NULL;
        _cleanup_close_ int booted_fd = -1;
        uint64_t min_free = 0;
        int k, booted_err = 0;

        _cleanup_strv_free_ char **swapped = NULL, **ids = NULL;
        _cleanup_free_ char *src = NULL;

        k = esp_ignore_excludes(c->esp_excludes, &x);
        if (k < 0)
                return k;
        /* The swapped files differ between ESPs by design: checked apart (swapped_findings). */
        if (m->booted.mount &&
            (asprintf(&src, "%s/", m->booted.mount) < 0 ||
             swapfiles_job_ids(c->swap_ids, src, &ids) < 0 ||
             swapfiles_excludes(ids, src, x, &swapped) < 0 || strv_extend_strv(&x, swapped) < 0))
                return -ENOMEM;
        min_free = esp_min_free(c);

        if (bootentry_read_nvram(efivars_dir, &nv, &nv_error) == -ENOMEM)
                return -ENOMEM;

        k = add_esp(r);
        if (k < 0)
                return k;
        k = esp_entry_init(&r->esps[0], &m->booted, true);
        if (k < 0)
                return k;
        if (!m->booted.mount) {
                r->esps[0].mount = strdup(m->booted.device);
                if (!r->esps[0].mount)
                        return -ENOMEM;
                k = esp_add(&r->esps[0], STATUS_CRITICAL, "esp",
                            "the booted ESP %s is not mounted on an ESP mount point: it cannot "
                            "be bound on %s nor synced",
                            m->booted.device, efi_mount);
                if (k < 0)
                        return k;
        } else {
                k = check_boot_mount(c, m, t, fstab, efi_mount, v->disks, v->n_disks, r);
                if (k < 0)
                        return k;
                booted_fd = open(m->booted.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                booted_err = booted_fd < 0 ? errno : 0;
                k = check_one_esp(&r->esps[0], m->booted.mount, -1, 0, NULL, NULL, t, &nv, nv_error,
                                  x, min_free, r->now, m, v, 0);
                if (k < 0)
                        return k;
        }

        if (m->n_alternates == 0)
                return add(r, STATUS_WARNING, "esp-set",
                           "no alternate ESP (%s): this machine cannot survive the loss of its "
                           "disk",
                           m->esp_set_from_config ? "esp_mounts names none"
                                                  : "no other /efi<N> directory");

        for (size_t i = 0; i < m->n_alternates; i++) {
                const struct esp *a = &m->alternates[i];
                struct status_esp *s;

                k = add_esp(r);
                if (k < 0)
                        return k;
                s = &r->esps[r->n_esps - 1];
                k = esp_entry_init(s, a, false);
                if (k < 0)
                        return k;
                if (!a->mounted)
                        k = check_missing(s, fstab);
                else
                        k = check_one_esp(s, a->mount, booted_fd, booted_err, m->booted.mount,
                                          m->booted.partuuid, t, &nv, nv_error, x, min_free, r->now,
                                          m, v, i + 1);
                if (k >= 0 && v->compare && a->mounted && src && swapped && *swapped) {
                        _cleanup_free_ char *dst = NULL;

                        if (asprintf(&dst, "%s/", a->mount) < 0)
                                return -ENOMEM;
                        k = swapped_findings(c, m, t, src, dst, c->esp_excludes, r, s);
                }
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The ESPs of the set with their disks (DESIGN.md §11c X1): each ESP's disk read once. With
 * dualroot = false (approach 2 alone) the ESPs of esp_mounts are judged all the same (X7),
 * but not compared with the booted one: nothing mirrors them. */
static int check_esps(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                      struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                      struct status_report *r)
{
        size_t n = 1 + m->n_alternates;
        struct esp_disk *disks = calloc(n, sizeof(*disks));
        int k = 0;

        if (!disks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                disks[i] = (struct esp_disk){ .err = -ENODEV };
        for (size_t i = 0; i < n && k >= 0; i++) {
                const struct esp *e = i == 0 ? &m->booted : &m->alternates[i - 1];

                if (i == 0 ? !!e->mount : e->mounted)
                        k = esp_disk_read(e, t, &disks[i]);
        }
        if (k >= 0)
                k = check_esps_on(c, m, t, fstab, efivars_dir, efi_mount,
                                  &(struct esp_set_view){ .disks = disks,
                                                          .n_disks = n,
                                                          .fstab = fstab,
                                                          .compare = c->dualroot },
                                  r);
        for (size_t i = 0; i < n; i++)
                esp_disk_done(&disks[i]);
        free(disks);
        return k;
}

/* ---- failover drills (DESIGN.md §13 P5, P6) ---- */

/* Where NVRAM writes are refused, the removable-media fallback is what starts a disk whose entry
 * the firmware dropped: it must start the real loader, not shim's entry-recreating fallback. */
static int check_fallback(struct status_esp *e, const char *why_refused)
{
        _cleanup_close_ int fd = open(e->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int same;

        if (fd < 0)
                return 0; /* "esp" said it */
        same = drill_fallback_is_loader(fd);
        if (same == -ENOENT)
                return esp_add(e, STATUS_WARNING, "drill",
                               "%s, and %s has no fallback %s: if the firmware drops this "
                               "disk's entry, nothing can recreate it and nothing starts it",
                               why_refused, e->mount, EFI_FALLBACK_PATH);
        if (same == -EMEDIUMTYPE)
                return esp_add(e, STATUS_WARNING, "drill",
                               "%s, and %s's fallback %s is shim with its %s, which recreates "
                               "entries and reboots: with NVRAM refusing writes it cannot, so "
                               "this disk would not start by its fallback (remove %s)",
                               why_refused, e->mount, EFI_FALLBACK_PATH, EFI_SHIM_FALLBACK_PATH,
                               EFI_SHIM_FALLBACK_PATH);
        if (same < 0)
                return esp_add(e, STATUS_UNKNOWN, "drill", "cannot read %s's fallback %s: %s",
                               e->mount, EFI_FALLBACK_PATH, strerror(-same));
        return esp_add(e, STATUS_OK, "drill", "%s; %s's fallback %s starts %s", why_refused,
                       e->mount, EFI_FALLBACK_PATH,
                       same ? "systemd-boot (the same binary)"
                            : "a loader of its own (not shim's fallback)");
}

static int check_drills(const struct config *c, const struct esp_model *m, const char *efivars_dir,
                        struct status_report *r)
{
        _cleanup_(drill_state_done) struct drill_state s = {};
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *why = NULL, *refused = NULL;
        uint64_t max_age = c->prove_max_age / USEC_PER_SEC;
        struct statvfs sv;
        int k;

        struct timespec up;
        int64_t booted_at = -1;

        r->prove_max_age = (int64_t)max_age;
        if (clock_gettime(CLOCK_BOOTTIME, &up) == 0)
                booted_at = r->now - (int64_t)up.tv_sec;
        k = drill_esp_dirs(m, &dirs);
        if (k < 0)
                return k;
        k = drill_state_load(dirs, &s, NULL, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "drill", "cannot read the drill records: %s",
                           strna(why));
        if (s.nvram_refused >= 0)
                k = asprintf(&refused, "the NVRAM refused a write (--prove, at %" PRId64 ")",
                             s.nvram_refused);
        else if (statvfs(efivars_dir, &sv) == 0 && (sv.f_flag & ST_RDONLY))
                k = asprintf(&refused, "%s is mounted read-only", efivars_dir);
        if (k < 0)
                return -ENOMEM;

        for (size_t i = 0; i < r->n_esps; i++) {
                struct status_esp *e = &r->esps[i];
                const struct drill_disk *d =
                        e->partuuid ? drill_state_disk_const(&s, e->partuuid) : NULL;
                _cleanup_free_ char *text = NULL;
                int level;

                struct drill_disk eff = { .proven = -1, .failed = -1 };
                bool by_boot = false;

                if (d)
                        eff = *d;
                /* The booted disk is proven by this boot as by a drill (P5): the firmware
                 * started it, and a drill never targets it. */
                if (e->booted && booted_at > eff.proven) {
                        eff.proven = booted_at;
                        by_boot = true;
                }
                e->last_proven = eff.proven;
                e->last_prove_failed = eff.failed;
                e->prove_failed = eff.failed > eff.proven;
                if (!e->partuuid)
                        continue;
                if (by_boot) {
                        char ago[64];

                        format_age(r->now, booted_at, ago, sizeof(ago));
                        level = asprintf(&text,
                                         "this boot started it (%s): booting a disk proves it as "
                                         "a drill does",
                                         ago) < 0
                                        ? -ENOMEM
                                        : STATUS_OK;
                } else
                        level = drill_judge(d, r->now, max_age, &text);
                if (level < 0)
                        return level;
                k = esp_add(e, (enum status_level)level, "drill", "%s", text);
                if (k >= 0 && s.pending.set && strcasecmp(s.pending.target, e->partuuid) == 0)
                        k = esp_add(e, STATUS_OK, "drill",
                                    "a drill is pending: BootNext = Boot%04X since %" PRId64
                                    "; the next reboot starts this disk",
                                    s.pending.entry, s.pending.since);
                if (k >= 0 && refused && e->present)
                        k = check_fallback(e, refused);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---- the root ---- */

#define ZFS_MAGIC 0x2fc12fc1UL
#define BCACHEFS_MAGIC 0xca451a4eUL

/* The whole disk of each ESP of the report, by kernel name ("vda"); NULL where not known (not
 * mounted, or sysfs does not know its device: the per-disk root verdict is then not made). */
static int esp_disks(const struct status_report *r, const char *sysfs, char ***ret)
{
        char **l = calloc(r->n_esps + 1, sizeof(char *));
        struct stat st;

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_esps; i++) {
                if (!r->esps[i].present || !r->esps[i].device || stat(r->esps[i].device, &st) < 0 ||
                    !S_ISBLK(st.st_mode))
                        continue;
                if (disk_whole_name(sysfs, st.st_rdev, &l[i]) == -ENOMEM) {
                        for (size_t k = 0; k < r->n_esps; k++)
                                free(l[k]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        return 0;
}

static void esp_disks_free(char **l, size_t n)
{
        for (size_t i = 0; l && i < n; i++)
                free(l[i]);
        free(l);
}

/* The other ESPs' disks, for ESP i: what is gone when only i's disk is left. An ESP that is
 * not there (not mounted: its disk is gone already) adds nothing; NULL when a present one's
 * disk is not known (the verdict is then not made: not known is not broken). */
static char **gone_without(const struct status_report *r, char **disks, size_t i)
{
        size_t n = r->n_esps, k = 0;
        char **gone = calloc(n + 1, sizeof(char *));

        if (!gone)
                return NULL;
        for (size_t j = 0; j < n; j++) {
                if (j == i || !r->esps[j].present)
                        continue;
                if (!disks[j]) {
                        free(gone);
                        return NULL;
                }
                if (!streq(disks[j], disks[i]))
                        gone[k++] = disks[j];
        }
        return gone;
}

/* Rule S6: a btrfs root. */
static int check_root_btrfs(int fd, const char *sysfs, struct status_report *r)
{
        _cleanup_(rootfs_btrfs_done) struct rootfs_btrfs b = {};
        _cleanup_free_ char *why = NULL, *missing = NULL;
        char dp[64], mp[64], sp[64];
        char **disks = NULL, **devdisks = NULL;
        unsigned tol;
        int k;

        k = rootfs_btrfs_read(fd, &b, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "root", "cannot read the btrfs root's devices: %s",
                           strna(why));
        rootfs_profiles_to_string(b.data_profiles, dp, sizeof(dp));
        rootfs_profiles_to_string(b.metadata_profiles, mp, sizeof(mp));
        rootfs_profiles_to_string(b.system_profiles, sp, sizeof(sp));
        tol = rootfs_btrfs_tolerance(&b);
        r->root_degraded = (int)b.n_missing;
        r->root_redundant = b.n_missing == 0 && b.n_devices >= 2 && tol >= 1;

        /* S11: per ESP, would the root mount with the other ESPs' disks gone? Its devices on
         * those disks, and those already missing, against what the profiles can lose. */
        k = esp_disks(r, sysfs, &disks);
        if (k < 0)
                return k;
        devdisks = calloc(b.n_devices + 1, sizeof(char *));
        if (!devdisks) {
                esp_disks_free(disks, r->n_esps);
                return -ENOMEM;
        }
        for (size_t i = 0; i < b.n_devices; i++) {
                struct stat st;

                if (b.devices[i].path && stat(b.devices[i].path, &st) == 0 && S_ISBLK(st.st_mode))
                        (void)disk_whole_name(sysfs, st.st_rdev, &devdisks[i]);
        }
        for (size_t i = 0; i < r->n_esps && k >= 0; i++) {
                _cleanup_free_ char **gone = disks[i] ? gone_without(r, disks, i) : NULL;
                size_t lost = b.n_missing, unknown = 0;

                if (!gone)
                        continue;
                for (size_t d = 0; d < b.n_devices; d++) {
                        if (!b.devices[d].path)
                                continue;
                        if (!devdisks[d])
                                unknown++;
                        else if (strv_contains(gone, devdisks[d]))
                                lost++;
                }
                if (unknown)
                        continue;
                if (lost > tol)
                        k = esp_add(&r->esps[i], STATUS_CRITICAL, "root",
                                    "the btrfs root would not mount from %s alone: %zu of its "
                                    "%" PRIu64 " devices are on the other disks or missing, and "
                                    "its profiles (data %s, metadata %s, system %s) survive the "
                                    "loss of %u",
                                    disks[i], lost, b.num_devices, dp, mp, sp, tol);
                else
                        k = esp_add(&r->esps[i], STATUS_OK, "root",
                                    "the btrfs root mounts from %s alone: %zu of its %" PRIu64
                                    " devices lost with the other disks, its profiles survive "
                                    "the loss of %u",
                                    disks[i], lost, b.num_devices, tol);
        }
        for (size_t i = 0; i < b.n_devices; i++)
                free(devdisks[i]);
        free(devdisks);
        esp_disks_free(disks, r->n_esps);
        if (k < 0)
                return k;

        if (b.n_missing > 0) {
                for (size_t i = 0; i < b.n_devices; i++) {
                        const struct rootfs_btrfs_device *d = &b.devices[i];
                        char *s;

                        if (d->path)
                                continue;
                        if (asprintf(&s, "%s%sdevid %" PRIu64 " (device UUID %s, %" PRIu64 " MiB)",
                                     missing ? missing : "", missing ? ", " : "", d->devid, d->uuid,
                                     d->total_bytes / MIB) < 0)
                                return -ENOMEM;
                        free(missing);
                        missing = s;
                }
                return add(r, STATUS_CRITICAL, "root",
                           "the btrfs root is degraded: %zu of its %" PRIu64
                           " devices missing: %s. There is no redundancy left: replace the "
                           "disk (dual-root-tool --add-disk DEVICE)",
                           b.n_missing, b.num_devices, missing);
        }
        if (b.n_devices < 2)
                return add(r, STATUS_CRITICAL, "root",
                           "the btrfs root has a single device (data %s, metadata %s): losing "
                           "its disk loses the root",
                           dp, mp);
        if (tol < 1)
                return add(r, STATUS_CRITICAL, "root",
                           "the btrfs root's profiles do not survive the loss of a disk: data "
                           "%s, metadata %s, system %s (convert with btrfs balance start "
                           "-dconvert=raid1 -mconvert=raid1 /)",
                           dp, mp, sp);
        return add(r, STATUS_OK, "root",
                   "btrfs on %zu devices, none missing; data %s, metadata %s, system %s",
                   b.n_devices, dp, mp, sp);
}

/* The initrd's view of an md array (rule S10): mdadm.conf's ARRAY line for its UUID. */
static int check_md_conf(const struct md_array *a, struct status_report *r)
{
        if (!a->uuid)
                return add(r, STATUS_OK, "root",
                           "%s: its ARRAY line in mdadm.conf is not checked: this kernel shows no "
                           "md/uuid",
                           a->name);
        for (size_t i = 0; md_conf_paths[i]; i++) {
                _cleanup_free_ char *text = NULL, *devices = NULL;
                unsigned line = 0;
                int k = read_full_file(md_conf_paths[i], 1 << 20, &text, NULL);

                if (k == -ENOENT)
                        continue;
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return add(r, STATUS_UNKNOWN, "root", "cannot read %s: %s",
                                   md_conf_paths[i], strerror(-k));
                k = md_conf_find(text, a->uuid, &line, &devices);
                if (k < 0)
                        return k;
                if (k == 0)
                        return add(r, STATUS_WARNING, "root",
                                   "%s has no ARRAY line for %s (UUID %s): an initrd built from "
                                   "it may not assemble the root; add the line 'mdadm --detail "
                                   "--scan' prints for it, then rebuild the initrd",
                                   md_conf_paths[i], a->name, a->uuid);
                if (devices)
                        return add(r, STATUS_WARNING, "root",
                                   "%s:%u: the ARRAY line for %s restricts assembly to "
                                   "devices=%s: a replacement disk's member has other names; "
                                   "without devices= mdadm finds the members by UUID",
                                   md_conf_paths[i], line, a->name, devices);
                return add(r, STATUS_OK, "root",
                           "%s:%u assembles %s by UUID, from whichever disks hold it",
                           md_conf_paths[i], line, a->name);
        }
        return add(r, STATUS_OK, "root",
                   "no mdadm.conf: the initrd assembles %s by scanning for its members", a->name);
}

/* Rule S10: a root on an md array (directly, or through LUKS/LVM on it). */
static int check_root_md(const char *sysfs, const char *name, struct status_report *r)
{
        _cleanup_(md_array_done) struct md_array a = {};
        _cleanup_free_ char *why = NULL, *members = NULL, *absent = NULL, *without = NULL;
        char **disks = NULL;
        unsigned missing = 0;
        int k;

        k = md_array_read(sysfs, name, &a, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "root", "cannot read the root's md array %s: %s",
                           name, strna(why));
        for (size_t i = 0; i < a.n_members; i++) {
                const struct md_member *m = &a.members[i];
                char *s;

                if (asprintf(&s, "%s%s%s on %s (slot %d, %s)", members ? members : "",
                             members ? ", " : "", m->name, strna(m->disk), m->slot, m->state) < 0)
                        return -ENOMEM;
                free(members);
                members = s;
        }
        /* S11 below, and to name where a missing member was: the present ESPs' disks that
         * hold no member of the array (a replacement disk not yet added). */
        k = esp_disks(r, sysfs, &disks);
        if (k < 0)
                return k;
        for (size_t i = 0; i < r->n_esps; i++) {
                bool has = false;
                char *s;

                if (!disks[i])
                        continue;
                for (size_t j = 0; j < a.n_members; j++)
                        has = has || streq_ptr(a.members[j].disk, disks[i]);
                if (has || (without && strstr(without, disks[i])))
                        continue;
                if (asprintf(&s, "%s%s%s (ESP %s)", without ? without : "", without ? ", " : "",
                             disks[i], strna(r->esps[i].mount)) < 0) {
                        esp_disks_free(disks, r->n_esps);
                        return -ENOMEM;
                }
                free(without);
                without = s;
        }
        for (unsigned slot = 0; slot < a.raid_disks; slot++) {
                const struct md_member *m = md_member_in_slot(&a, (int)slot);
                char *s;

                if (m && m->in_sync)
                        continue;
                if (m && !m->faulty && a.sync_running &&
                    (streq_ptr(a.sync_action, "recover") || streq_ptr(a.sync_action, "reshape")))
                        continue; /* being rebuilt: a WARNING below */
                missing++;
                if (m)
                        k = asprintf(&s, "%s%sslot %u: %s on %s is %s", absent ? absent : "",
                                     absent ? "; " : "", slot, m->name, strna(m->disk),
                                     m->faulty ? "faulty" : "not in sync and not being rebuilt");
                else if (without)
                        k = asprintf(&s,
                                     "%s%sslot %u: no device (disks with an ESP but no member "
                                     "of %s: %s)",
                                     absent ? absent : "", absent ? "; " : "", slot, a.name,
                                     without);
                else
                        k = asprintf(&s,
                                     "%s%sslot %u: no device (its disk is gone, or the member "
                                     "was removed)",
                                     absent ? absent : "", absent ? "; " : "", slot);
                if (k < 0) {
                        esp_disks_free(disks, r->n_esps);
                        return -ENOMEM;
                }
                free(absent);
                absent = s;
        }
        r->root_degraded = (int)missing;
        r->root_redundant = md_redundant(&a);

        /* S11: per ESP, would the array assemble with the other ESPs' disks gone? */
        for (size_t i = 0; i < r->n_esps && k >= 0; i++) {
                _cleanup_free_ char **gone = disks[i] ? gone_without(r, disks, i) : NULL;
                _cleanup_free_ char *here = NULL;

                if (!gone)
                        continue;
                for (size_t j = 0; j < a.n_members; j++) {
                        const struct md_member *m = &a.members[j];
                        char *s;

                        if (!streq_ptr(m->disk, disks[i]))
                                continue;
                        if (asprintf(&s, "%s%s%s (%s)", here ? here : "", here ? ", " : "", m->name,
                                     m->in_sync ? "in sync" : m->state) < 0) {
                                k = -ENOMEM;
                                break;
                        }
                        free(here);
                        here = s;
                }
                if (k < 0)
                        break;
                if (md_survives(&a, gone))
                        k = esp_add(&r->esps[i], STATUS_OK, "root",
                                    "the root's %s assembles from %s alone: its members there: "
                                    "%s",
                                    a.name, disks[i], here ? here : "none (not needed)");
                else
                        k = esp_add(&r->esps[i], STATUS_CRITICAL, "root",
                                    "the root's %s (%s) would not assemble from %s alone: its "
                                    "members there: %s",
                                    a.name, strna(a.level), disks[i],
                                    here ? here : "none (add one: dual-root-tool --add-disk)");
        }
        esp_disks_free(disks, r->n_esps);
        if (k < 0)
                return k;

        if (streq_ptr(a.array_state, "inactive") || streq_ptr(a.array_state, "clear"))
                return add(r, STATUS_CRITICAL, "root", "the root's %s is %s", a.name,
                           a.array_state);
        if (missing)
                k = add(r, STATUS_CRITICAL, "root",
                        "the root's %s (%s) is degraded: %u of its %u members missing: %s. "
                        "Members: %s. Replace the disk: dual-root-tool --add-disk DEVICE",
                        a.name, strna(a.level), missing, a.raid_disks, absent,
                        members ? members : "none");
        else if (a.sync_running && !streq_ptr(a.sync_action, "check") &&
                 !streq_ptr(a.sync_action, "repair")) {
                unsigned pm = 0;
                int64_t left = md_sync_seconds_left(&a, &pm);
                char t[64] = "time left unknown";

                if (left >= 0) {
                        char d[48];

                        format_duration((usec_t)left * USEC_PER_SEC, d, sizeof(d));
                        snprintf(t, sizeof(t), "%s left at %" PRIu64 " KiB/s", d, a.sync_speed);
                }
                r->root_redundant = 0;
                k = add(r, STATUS_WARNING, "root",
                        "the root's %s (%s) runs a %s: %u.%u%% done, %s. Members: %s", a.name,
                        strna(a.level), strna(a.sync_action), pm / 10, pm % 10, t,
                        members ? members : "none");
        } else if (!md_redundant(&a))
                k = add(r, STATUS_CRITICAL, "root",
                        "the root's %s is %s of %u member(s): losing a disk loses the root%s",
                        a.name, strna(a.level), a.raid_disks,
                        streq_ptr(a.level, "raid1") && a.raid_disks == 1
                                ? " (dual-root-tool --add-disk DEVICE --raid1 adds a member)"
                                : "");
        else
                k = add(r, STATUS_OK, "root", "the root's %s: %s, %s, %u of %u members in sync: %s",
                        a.name, strna(a.level), strna(a.array_state), a.raid_disks - missing,
                        a.raid_disks, members ? members : "none");
        if (k < 0)
                return k;
        return check_md_conf(&a, r);
}

int status_check_md_root(const char *sysfs, const char *array, struct status_report *r)
{
        return check_root_md(sysfs, array, r);
}

static int check_root(const struct config *c, struct status_report *r)
{
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_strv_free_ char **arrays = NULL;
        const char *sysfs = disk_sysfs_root();
        struct statfs sfs;
        struct stat st;
        int k;

        if (!c->dualroot)
                return 0; /* approach 2: each disk has its own root, see the sync list */
        if (fd < 0 || fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return add(r, STATUS_UNKNOWN, "root", "cannot examine the root filesystem: %s",
                           strerror(errno));
        if ((unsigned long)sfs.f_type == BTRFS_MAGIC)
                return check_root_btrfs(fd, sysfs, r);
        if ((unsigned long)sfs.f_type == ZFS_MAGIC)
                return add(r, STATUS_OK, "root",
                           "the root filesystem is ZFS: its redundancy is not checked (dual-root "
                           "does not read pools: see zpool status)");
        if ((unsigned long)sfs.f_type == BCACHEFS_MAGIC)
                return add(r, STATUS_OK, "root",
                           "the root filesystem is bcachefs: its redundancy is not checked "
                           "(dual-root does not read its replicas: see bcachefs fs usage)");
        /* A device sysfs does not know (tmpfs, overlay): on no array. */
        k = md_arrays_under(sysfs, st.st_dev, &arrays);
        if (k == -ENOMEM)
                return k;
        for (size_t i = 0; k >= 0 && arrays && arrays[i]; i++) {
                k = check_root_md(sysfs, arrays[i], r);
                if (k < 0)
                        return k;
        }
        if (strv_length(arrays) > 0)
                return 0;
        return add(r, STATUS_OK, "root",
                   "the root filesystem is neither btrfs nor on md RAID: its redundancy is not "
                   "checked");
}

/* ---- the sync list (approach 2) ---- */

static int check_items(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                       struct libmnt_table *fstab, struct status_report *r)
{
        struct sync_plan plan = {};
        struct sync_context ctx = { .config = c, .model = m, .mounts = t, .fstab = fstab };
        int k = 0;

        if (c->n_items == 0)
                return 0;
        struct config only_items = *c;
        only_items.dualroot = false;
        k = sync_plan_build(&only_items, m, t, &plan);
        if (k < 0)
                return k;
        for (size_t i = 0; i < plan.n_jobs && k >= 0; i++) {
                _cleanup_free_ char *why = NULL;
                const struct sync_job *j = &plan.jobs[i];
                const char *unreadable = NULL;
                enum sync_state s;
                int err = 0;
                struct status_dest *d;

                /* Could not look (a user cannot read a root-only tree): UNKNOWN, not the refusal
                 * the checks below would see in it (DESIGN.md §11 rule S13). */
                for (size_t p = 0; p < 2 && !unreadable; p++) {
                        const char *path = p ? j->dest : j->source;
                        _cleanup_close_ int fd =
                                open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

                        if (fd < 0 && (errno == EACCES || errno == EPERM)) {
                                unreadable = path;
                                err = errno;
                        }
                }
                if (unreadable) {
                        char suffix[128];

                        k = item_add(r, STATUS_UNKNOWN, denied(err), "sync-list", j->source,
                                     j->dest, "%s %s -> %s: not checked: cannot open %s%s", j->item,
                                     j->source, j->dest, unreadable,
                                     err_suffix(err, suffix, sizeof(suffix)));
                        continue;
                }
                if (sync_job_check(&ctx, j, &s, &why) >= 0 &&
                    (s == SYNC_SKIPPED || s == SYNC_REFUSED)) {
                        k = item_add(r, STATUS_WARNING, false, "sync-list", j->source, j->dest,
                                     "%s %s -> %s would be %s: %s", j->item, j->source, j->dest,
                                     sync_state_to_string(s), strna(why));
                        continue;
                }
                d = reallocarray(r->dests, r->n_dests + 1, sizeof(*d));
                if (!d) {
                        k = -ENOMEM;
                        break;
                }
                r->dests = d;
                d = &r->dests[r->n_dests++];
                *d = (struct status_dest){ .item = strdup(j->item),
                                           .source = strdup(j->source),
                                           .dest = strdup(j->dest),
                                           .last_sync = -1 };
                if (!d->item || !d->source || !d->dest) {
                        k = -ENOMEM;
                        break;
                }
                {
                        _cleanup_close_ int fd = open(j->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        struct sync_record rec = { .synced = -1 };
                        char age[64];

                        if (fd >= 0 && sync_record_read(fd, &rec) == 0) {
                                d->last_sync = rec.synced;
                                sync_record_done(&rec);
                        }
                        if (d->last_sync >= 0) {
                                format_age(r->now, d->last_sync, age, sizeof(age));
                                k = item_add(r, STATUS_OK, false, "sync-list", j->source, j->dest,
                                             "%s %s -> %s: last synced %s", j->item, j->source,
                                             j->dest, age);
                        } else {
                                k = item_add(r, STATUS_OK, false, "sync-list", j->source, j->dest,
                                             "%s %s -> %s: last sync unknown (no record of "
                                             "dual-root there)",
                                             j->item, j->source, j->dest);
                        }
                }
                if (k >= 0 && j->swap_excludes && *j->swap_excludes)
                        k = swapped_findings(c, m, t, j->source, j->dest, j->excludes, r, NULL);
        }
        sync_plan_done(&plan);
        return k;
}

/* DESIGN.md §11b L6: on Debian, an upgrade of grub-efi-amd64 runs grub-install only on the
 * ESPs debconf's grub-efi/install_devices lists; an ESP it leaves out keeps the old GRUB
 * until the next sync. Checked when some ESP holds a GRUB stub and the database says. */
static int check_grub_install_devices(const struct status_report *rep, struct status_report *r)
{
        _cleanup_free_ char *text = NULL, *value = NULL, *why = NULL;
        _cleanup_strv_free_ char **devices = NULL;
        size_t size;
        bool grub = false;
        int k;

        for (size_t i = 0; i < rep->n_esps && !grub; i++) {
                _cleanup_close_ int fd =
                        rep->esps[i].present
                                ? open(rep->esps[i].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                : -1;

                grub = fd >= 0 && grub_find_stub(fd);
        }
        if (!grub)
                return 0;
        k = read_full_file(DEBCONF_CONFIG_DAT, DEBCONF_DAT_MAX, &text, &size);
        if (k == -ENOENT)
                return 0; /* not Debian's debconf */
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "grub", "cannot read %s: %s", DEBCONF_CONFIG_DAT,
                           strerror(-k));
        k = debconf_value(text, size, "grub-efi/install_devices", &value, &why);
        if (k == -ENOENT)
                return 0;
        if (k == -ENOMEM || (k >= 0 && (k = debconf_split_list(value, &devices)) < 0))
                return -ENOMEM;
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "grub", "%s: %s", DEBCONF_CONFIG_DAT, strna(why));
        for (size_t i = 0; i < rep->n_esps; i++) {
                const struct status_esp *e = &rep->esps[i];
                struct stat esp_st, st;
                bool listed = false;

                if (!e->device || stat(e->device, &esp_st) < 0)
                        continue;
                STRV_FOREACH(d, devices)
                listed = listed || (stat(*d, &st) == 0 && S_ISBLK(st.st_mode) &&
                                    st.st_rdev == esp_st.st_rdev);
                if (listed)
                        continue;
                k = add(r, STATUS_WARNING, "grub",
                        "grub-efi/install_devices lists %zu device%s, not %s (%s): an upgrade of "
                        "GRUB installs it on the listed ESPs only (dpkg-reconfigure "
                        "grub-efi-amd64 and select every ESP)",
                        strv_length(devices), strv_length(devices) == 1 ? "" : "s", e->mount,
                        e->device);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* LoaderDevicePartUUID is readable by root only (efivarfs makes every variable outside the
 * UEFI globals it knows 0600): the booted ESP may be unknown to a user only. */
static bool loader_var_denied(const char *efivars_dir)
{
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f",
                     efivars_dir) < 0)
                return false;
        return access(p, R_OK) < 0 && denied(errno);
}

/* What could not be looked at for lack of privileges, said once with the cure (DESIGN.md §11
 * rule S13): each such finding names its own object. */
static int check_privileges(struct status_report *r)
{
        size_t n = 0;

        for (size_t k = 0; k < r->n; k++)
                n += r->findings[k].denied;
        for (size_t i = 0; i < r->n_esps; i++)
                for (size_t k = 0; k < r->esps[i].n; k++)
                        n += r->esps[i].findings[k].denied;
        r->n_denied = n;
        if (n == 0)
                return 0;
        return add(r, STATUS_UNKNOWN, "privileges",
                   "%zu check%s could not look as uid %u, not root (each names what it could not "
                   "read); run dual-root-tool --status as root, e.g. through sudo (see "
                   "dual-root-tool(8), Monitoring)",
                   n, n == 1 ? "" : "s", (unsigned)geteuid());
}

int status_check(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                 struct status_report *ret)
{
        struct status_report r = { .now = (int64_t)time(NULL),
                                   .root_redundant = -1,
                                   .root_degraded = -1,
                                   .prove_max_age = -1 };
        int k = 0;

        if (m->md_refusal) /* DESIGN.md §11 S12: known, and not bootable as we keep it */
                k = add(&r, STATUS_CRITICAL, "esp-set", "%s", m->md_refusal);
        else if (!m->boot_ok || !m->device_ok)
                k = item_add(&r, STATUS_UNKNOWN, loader_var_denied(efivars_dir), "booted", NULL,
                             NULL, "cannot identify the booted ESP: %s", strna(m->why));
        else if (c->dualroot || m->esp_set_from_config) /* X7 */
                k = check_esps(c, m, t, fstab, efivars_dir, efi_mount, &r);
        if (k >= 0 && m->boot_ok && m->device_ok && c->dualroot)
                k = check_drills(c, m, efivars_dir, &r);
        if (k >= 0)
                k = check_root(c, &r);
        if (k >= 0 && m->boot_ok && m->device_ok)
                k = check_items(c, m, t, fstab, &r);
        if (k >= 0)
                k = check_grub_install_devices(&r, &r);
        if (k >= 0)
                k = check_privileges(&r);
        if (k < 0) {
                status_report_done(&r);
                return k;
        }
        for (size_t i = 0; i < r.n_esps; i++)
                r.level = status_level_max(r.level, r.esps[i].level);
        *ret = r;
        return 0;
}

int status_report_failed(const char *check, const char *why, struct status_report *ret)
{
        struct status_report r = { .now = (int64_t)time(NULL),
                                   .root_redundant = -1,
                                   .root_degraded = -1,
                                   .prove_max_age = -1 };

        r.error = strdup(why);
        if (!r.error || add(&r, STATUS_UNKNOWN, check, "%s", why) < 0) {
                status_report_done(&r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}
