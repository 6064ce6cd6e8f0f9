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
#include "grubchain.h"
#include "guard.h"
#include "ignore.h"
#include "refindchain.h"
#include "rootfs.h"
#include "status.h"
#include "swapfiles.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

#define ESP_GPT_TYPE "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
#define BTRFS_MAGIC 0x9123683EUL
#define MIB (UINT64_C(1) << 20)

const char *status_level_to_string(enum status_level l)
{
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

        return (unsigned)l < ELEMENTSOF(names) ? names[l] : "UNKNOWN";
}

static void findings_free(struct status_finding *f, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(f[i].text);
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
                findings_free(e->findings, e->n);
        }
        free(r->esps);
        for (size_t i = 0; i < r->n_dests; i++) {
                free(r->dests[i].item);
                free(r->dests[i].dest);
        }
        free(r->dests);
        *r = (struct status_report){};
}

static int vadd(struct status_finding **list, size_t *n, enum status_level *worst,
                enum status_level l, const char *check, const char *format, va_list ap)
        _printf_(6, 0);
static int vadd(struct status_finding **list, size_t *n, enum status_level *worst,
                enum status_level l, const char *check, const char *format, va_list ap)
{
        struct status_finding *t;
        char *s;

        if (vasprintf(&s, format, ap) < 0)
                return -ENOMEM;
        t = reallocarray(*list, *n + 1, sizeof(*t));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        *list = t;
        t[(*n)++] = (struct status_finding){ .level = l, .check = check, .text = s };
        if (l > *worst)
                *worst = l;
        return 0;
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
        k = vadd(&r->findings, &r->n, &r->level, l, check, format, ap);
        va_end(ap);
        return k;
}

/* A finding of one ESP. */
static int esp_add(struct status_esp *e, enum status_level l, const char *check, const char *format,
                   ...) _printf_(4, 5);
static int esp_add(struct status_esp *e, enum status_level l, const char *check, const char *format,
                   ...)
{
        va_list ap;
        int k;

        va_start(ap, format);
        k = vadd(&e->findings, &e->n, &e->level, l, check, format, ap);
        va_end(ap);
        if (l == STATUS_CRITICAL && !streq(check, "sync"))
                e->bootable = false;
        return k;
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

static int check_esp_itself(struct status_esp *e, int fd, struct libmnt_table *t, uint64_t min_free)
{
        struct libmnt_fs *fs = mounts_find_target(t, e->mount);
        const char *want = esp_fstype_expected(), *type = fs ? mnt_fs_get_fstype(fs) : NULL;
        _cleanup_free_ char *ptype = NULL;
        struct statvfs sv;
        uint64_t avail;
        char parts[128];
        int k;

        if (fstatvfs(fd, &sv) < 0)
                return esp_add(e, STATUS_UNKNOWN, "esp", "cannot read %s's free space: %s",
                               e->mount, strerror(errno));
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
                          const char *nv_error)
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
                k = esp_add(e, STATUS_CRITICAL, "firmware",
                            "no boot entry names %s (PARTUUID %s)%s, and there is no fallback "
                            "%s: the firmware cannot start this disk",
                            e->mount, e->partuuid, broken ? broken : "", EFI_FALLBACK_PATH);
                break;
        }
        if (k >= 0 && broken && ev.reach <= REACH_NOT_IN_ORDER)
                k = esp_add(e, STATUS_WARNING, "firmware", "another entry for it is broken%s",
                            broken);
        if (k >= 0 && ev.shim_fallback)
                k = esp_add(e, STATUS_WARNING, "firmware",
                            "%s holds shim's fallback %s: booted through the fallback path it "
                            "recreates boot entries and reboots",
                            e->mount, EFI_SHIM_FALLBACK_PATH);
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

/* DESIGN.md §11b: GRUB's or rEFInd's chain on this ESP's disk, as if the other disks were
 * gone. The filesystems known are the ESPs of the set; this one is the disk judged. */
static int check_chain(struct status_esp *e, int fd, const struct esp_model *m, const char *stub,
                       const char *refind_conf)
{
        _cleanup_(chain_result_done) struct chain_result c = {};
        struct chain_fs fss[1 + 16];
        size_t n = 0, self = 0;
        int k;

        fss[n++] = (struct chain_fs){ .name = e->mount,
                                      .uuid = e->uuid,
                                      .fstype = "vfat",
                                      .partuuid = e->partuuid,
                                      .fd = fd,
                                      .this_disk = true };
        if (m->booted.mount && !streq(m->booted.mount, e->mount) && n < ELEMENTSOF(fss))
                fss[n++] = (struct chain_fs){ .name = m->booted.mount,
                                              .uuid = m->booted.uuid,
                                              .partuuid = m->booted.partuuid,
                                              .fd = -1 };
        for (size_t i = 0; i < m->n_alternates && n < ELEMENTSOF(fss); i++) {
                const struct esp *a = &m->alternates[i];

                if (a->mount && !streq(a->mount, e->mount))
                        fss[n++] = (struct chain_fs){
                                .name = a->mount, .uuid = a->uuid, .partuuid = a->partuuid, .fd = -1
                        };
        }
        k = stub ? grub_chain_check_partial(fss, n, self, stub, &c)
                 : refind_chain_check(fss, n, self, refind_conf, &c);
        if (k < 0)
                return k;
        for (size_t i = 0; i < c.n; i++) {
                static const enum status_level level[] = {
                        [CHAIN_NOTE] = STATUS_OK,
                        [CHAIN_WARNING] = STATUS_WARNING,
                        [CHAIN_UNKNOWN] = STATUS_UNKNOWN,
                        [CHAIN_CRITICAL] = STATUS_CRITICAL,
                };

                k = esp_add(e, level[c.findings[i].level], "loader", "%s", c.findings[i].text);
                if (k < 0)
                        return k;
        }
        if (c.worst >= CHAIN_UNKNOWN)
                return 0;
        return esp_add(e, STATUS_OK, "loader",
                       "%s (%s): %zu entr%s, %zu complete on this disk; default \"%s\" boots "
                       "from it",
                       stub ? "GRUB" : "rEFInd", stub ? stub : refind_conf, c.n_entries,
                       c.n_entries == 1 ? "y" : "ies", c.n_bootable, strna(c.default_title));
}

static int check_loader(struct status_esp *e, int fd, const struct esp_model *m,
                        const struct bls_set *s, const char *why)
{
        size_t usable = 0, ukis = 0, exhausted = 0, n_default = 0;
        const char *first_default = NULL;
        struct stat st;
        bool sdboot = bls_path_stat(fd, EFI_SDBOOT_PATH, &st) == 0;
        int k;

        if (why)
                return esp_add(e, STATUS_UNKNOWN, "loader", "cannot read %s's boot entries: %s",
                               e->mount, why);
        if (!sdboot && s->n == 0 && !s->have_loader_conf) {
                const char *stub = grub_find_stub(fd), *refind = refind_find_conf(fd);

                if (stub || refind)
                        return check_chain(e, fd, m, stub, refind);
                if (has_grub(fd))
                        return esp_add(e, STATUS_UNKNOWN, "loader",
                                       "not systemd-boot: a GRUB configuration is present, but "
                                       "no stub in EFI/<distributor>/grub.cfg that the firmware's "
                                       "GRUB reads first: not checked");
                if (bls_path_stat(fd, EFI_FALLBACK_PATH, &st) == 0)
                        return esp_add(e, STATUS_OK, "loader",
                                       "no systemd-boot and no entries: %s is started as it is, "
                                       "not checked further",
                                       EFI_FALLBACK_PATH);
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

        for (size_t i = 0; i < s->n; i++) {
                const struct bls_entry *b = &s->entries[i];
                _cleanup_strv_free_ char **files = NULL;
                bool complete = true;

                if (b->error) {
                        k = esp_add(e, STATUS_WARNING, "loader",
                                    "entry %s is skipped by systemd-boot: %s", b->filename,
                                    b->error);
                        if (k < 0)
                                return k;
                        continue;
                }
                if (b->uki) {
                        ukis++;
                } else if (!b->linux_path && !b->efi) {
                        k = esp_add(e, STATUS_WARNING, "loader",
                                    "entry %s names no linux or efi file: systemd-boot skips it",
                                    b->filename);
                        if (k < 0)
                                return k;
                        continue;
                }
                k = bls_entry_files(b, &files);
                if (k < 0)
                        return k;
                STRV_FOREACH(f, files)
                {
                        int r = bls_path_stat(fd, *f, &st);

                        if (r == 0 && S_ISREG(st.st_mode))
                                continue;
                        complete = false;
                        k = esp_add(e, STATUS_CRITICAL, "loader", "entry %s names %s, which %s %s",
                                    b->filename, *f, e->mount,
                                    r == 0         ? "holds as something other than a file"
                                    : r == -ENOENT ? "lacks"
                                                   : "cannot open");
                        if (k < 0)
                                return k;
                }
                if (!complete)
                        continue;
                usable++;
                if (b->tries_left == 0)
                        exhausted++;
                if (s->default_pattern && !bls_pattern_is_special(s->default_pattern) &&
                    bls_pattern_matches(s->default_pattern, b)) {
                        if (!first_default)
                                first_default = b->id;
                        n_default++;
                }
        }

        if (s->n == 0 || (usable == 0 && e->level < STATUS_CRITICAL))
                return esp_add(e, STATUS_CRITICAL, "loader",
                               "systemd-boot on %s has no entry to boot (" BLS_ENTRIES_DIR
                               " holds no usable entry, " BLS_UKI_DIR " no image)",
                               e->mount);
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
        if (e->level >= STATUS_CRITICAL || usable == 0)
                return 0;
        if (first_default)
                return esp_add(e, STATUS_OK, "loader",
                               "systemd-boot: %zu complete entr%s (%zu unified kernel image%s), "
                               "default \"%s\" is %s",
                               usable, usable == 1 ? "y" : "ies", ukis, ukis == 1 ? "" : "s",
                               s->default_pattern, first_default);
        return esp_add(e, STATUS_OK, "loader",
                       "systemd-boot: %zu complete entr%s (%zu unified kernel image%s)", usable,
                       usable == 1 ? "y" : "ies", ukis, ukis == 1 ? "" : "s");
}

/* ---- in sync with the booted ESP ---- */

static int check_sync(struct status_esp *e, int fd, int booted_fd, const char *booted_mount,
                      const char *booted_partuuid, char *const *excludes, int64_t now)
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
                return 0;

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
                return esp_add(e, STATUS_WARNING, "sync", "cannot read %s's sync state: %s",
                               e->mount, strna(why));
        if (v.src_fp_known && v.dst_fp_known) {
                fp_booted = v.src_fp;
                fp = v.dst_fp;
        } else {
                /* No completed sync recorded: compare the trees themselves. */
                if (guard_fingerprint(booted_fd, excludes, &fp_booted, &why) < 0)
                        return esp_add(e, STATUS_UNKNOWN, "sync",
                                       "cannot read the booted ESP %s: %s", booted_mount,
                                       strna(why));
                if (guard_fingerprint(fd, excludes, &fp, &why) < 0)
                        return esp_add(e, STATUS_WARNING, "sync", "cannot read %s: %s", e->mount,
                                       strna(why));
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
        *s = (struct status_esp){ .booted = booted, .bootable = true, .last_sync = -1 };
        if ((e->mount && !(s->mount = strdup(e->mount))) ||
            (e->device && !(s->device = strdup(e->device))) ||
            (e->partuuid && !(s->partuuid = strdup(e->partuuid))) ||
            (e->uuid && !(s->uuid = strdup(e->uuid))))
                return -ENOMEM;
        return 0;
}

/* The fstab line for mount point, if any: what should be there when the disk is missing. */
static int check_missing(struct status_esp *s, struct libmnt_table *fstab)
{
        struct libmnt_fs *fs =
                fstab ? mnt_table_find_target(fstab, s->mount, MNT_ITER_FORWARD) : NULL;
        const char *src = fs ? mnt_fs_get_source(fs) : NULL;

        s->bootable = false;
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

static int check_one_esp(struct status_esp *s, const char *path, int booted_fd,
                         const char *booted_mount, const char *booted_partuuid,
                         struct libmnt_table *t, const struct boot_nvram *nv, const char *nv_error,
                         char *const *excludes, uint64_t min_free, int64_t now,
                         const struct esp_model *m)
{
        _cleanup_(bls_set_done) struct bls_set set = {};
        _cleanup_free_ char *why = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int k;

        if (fd < 0)
                return esp_add(s, STATUS_CRITICAL, "esp", "cannot open %s: %s", path,
                               strerror(errno));
        s->present = true;
        k = bls_load(fd, &set, &why);
        if (k == -ENOMEM)
                return k;
        k = check_esp_itself(s, fd, t, min_free ? min_free : 2 * largest_set(fd, &set));
        if (k >= 0)
                k = check_firmware(s, fd, nv, nv_error);
        if (k >= 0)
                k = check_loader(s, fd, m, &set, why);
        if (k >= 0 && !s->booted)
                k = check_sync(s, fd, booted_fd, booted_mount, booted_partuuid, excludes, now);
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

/* EFI_MOUNT (/boot) holds the booted ESP. */
static int check_boot_mount(const struct esp_model *m, struct libmnt_table *t,
                            const char *efi_mount, struct status_report *r)
{
        struct libmnt_fs *fs = mounts_find_target(t, efi_mount);

        if (!fs)
                return add(r, STATUS_WARNING, "boot",
                           "%s is not a mount point: kernels installed now do not reach the "
                           "booted ESP (is bind-mount-efi.service enabled?)",
                           efi_mount);
        if (mnt_fs_get_devno(fs) != m->booted.devnum)
                return add(r, STATUS_CRITICAL, "boot",
                           "%s holds %s, not the booted ESP %s: kernels installed now land on "
                           "the wrong ESP",
                           efi_mount, strna(mnt_fs_get_source(fs)), m->booted.device);
        return add(r, STATUS_OK, "boot", "%s holds the booted ESP %s", efi_mount, m->booted.device);
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

        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(lists); i++)
                STRV_FOREACH(w, lists[i])
                {
                        k = e ? esp_add(e, levels[i], "swap_ids", "%s", *w)
                              : add(r, levels[i], "swap_ids", "%s", *w);
                        if (k < 0)
                                break;
                }
        return k;
}

static int check_esps(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                      struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                      struct status_report *r)
{
        _cleanup_strv_free_ char **x = NULL;
        _cleanup_(boot_nvram_done) struct boot_nvram nv = {};
        _cleanup_free_ char *nv_error = NULL;
        _cleanup_close_ int booted_fd = -1;
        uint64_t min_free = 0;
        int k;

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
                k = check_boot_mount(m, t, efi_mount, r);
                if (k < 0)
                        return k;
                booted_fd = open(m->booted.mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                k = check_one_esp(&r->esps[0], m->booted.mount, -1, NULL, NULL, t, &nv, nv_error, x,
                                  min_free, r->now, m);
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
                        k = check_one_esp(s, a->mount, booted_fd, m->booted.mount,
                                          m->booted.partuuid, t, &nv, nv_error, x, min_free, r->now,
                                          m);
                if (k >= 0 && a->mounted && src && swapped && *swapped) {
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

/* ---- the root ---- */

static int check_root(const struct config *c, struct status_report *r)
{
        _cleanup_(rootfs_btrfs_done) struct rootfs_btrfs b = {};
        _cleanup_free_ char *why = NULL, *missing = NULL;
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char dp[64], mp[64], sp[64];
        struct statfs sfs;
        int k;

        if (!c->dualroot)
                return 0; /* approach 2: each disk has its own root, see the sync list */
        if (fd < 0 || fstatfs(fd, &sfs) < 0)
                return add(r, STATUS_UNKNOWN, "root", "cannot examine the root filesystem: %s",
                           strerror(errno));
        if ((unsigned long)sfs.f_type != BTRFS_MAGIC)
                return add(r, STATUS_OK, "root",
                           "the root filesystem is not btrfs: its redundancy is not checked");
        k = rootfs_btrfs_read(fd, &b, &why);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return add(r, STATUS_UNKNOWN, "root", "cannot read the btrfs root's devices: %s",
                           strna(why));
        rootfs_profiles_to_string(b.data_profiles, dp, sizeof(dp));
        rootfs_profiles_to_string(b.metadata_profiles, mp, sizeof(mp));
        rootfs_profiles_to_string(b.system_profiles, sp, sizeof(sp));

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
        if (!rootfs_profiles_redundant(b.data_profiles) ||
            !rootfs_profiles_redundant(b.metadata_profiles) ||
            !rootfs_profiles_redundant(b.system_profiles))
                return add(r, STATUS_CRITICAL, "root",
                           "the btrfs root's profiles do not survive the loss of a disk: data "
                           "%s, metadata %s, system %s (convert with btrfs balance start "
                           "-dconvert=raid1 -mconvert=raid1 /)",
                           dp, mp, sp);
        return add(r, STATUS_OK, "root",
                   "btrfs on %zu devices, none missing; data %s, metadata %s, system %s",
                   b.n_devices, dp, mp, sp);
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
                int s = sync_job_check(&ctx, j, &why);
                struct status_dest *d;

                if (s == SYNC_SKIPPED || s == SYNC_REFUSED) {
                        k = add(r, STATUS_WARNING, "sync-list", "%s %s -> %s would be %s: %s",
                                j->item, j->source, j->dest,
                                sync_state_to_string((enum sync_state)s), strna(why));
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
                                           .dest = strdup(j->dest),
                                           .last_sync = -1 };
                if (!d->item || !d->dest) {
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
                                k = add(r, STATUS_OK, "sync-list", "%s %s -> %s: last synced %s",
                                        j->item, j->source, j->dest, age);
                        } else {
                                k = add(r, STATUS_OK, "sync-list",
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

int status_check(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table *fstab, const char *efivars_dir, const char *efi_mount,
                 struct status_report *ret)
{
        struct status_report r = { .now = (int64_t)time(NULL) };
        int k = 0;

        if (!m->boot_ok || !m->device_ok)
                k = add(&r, STATUS_UNKNOWN, "booted", "cannot identify the booted ESP: %s",
                        strna(m->why));
        else if (c->dualroot)
                k = check_esps(c, m, t, fstab, efivars_dir, efi_mount, &r);
        if (k >= 0)
                k = check_root(c, &r);
        if (k >= 0 && m->boot_ok && m->device_ok)
                k = check_items(c, m, t, fstab, &r);
        if (k >= 0)
                k = check_grub_install_devices(&r, &r);
        if (k < 0) {
                status_report_done(&r);
                return k;
        }
        for (size_t i = 0; i < r.n_esps; i++)
                if (r.esps[i].level > r.level)
                        r.level = r.esps[i].level;
        *ret = r;
        return 0;
}
