/* SPDX-License-Identifier: MIT */
/* The drill on this machine (DESIGN.md §13): --prove, the boot step, the entries kept asserted
 * and the fallback check; the record and the state machine are drill-record.c. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "bls.h"
#include "bootentry.h"
#include "config.h"
#include "drill.h"
#include "efiwrite.h"
#include "esp.h"
#include "util/errmsg.h"
#include "util/strv.h"

/* ---- the drill on this machine ---- */

/* Appends s (taken, may be NULL: "unknown reason") to *l. */
static int push(char ***l, char *s)
{
        int r = strv_extend(l, s ? s : "unknown reason");

        free(s);
        return r;
}

int drill_esp_dirs(const struct esp_model *m, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        if (m->boot_ok && m->device_ok && m->booted.mount && strv_extend(&l, m->booted.mount) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_alternates; i++)
                if (m->alternates[i].mounted && strv_extend(&l, m->alternates[i].mount) < 0)
                        return -ENOMEM;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static bool names_esp(const struct esp *e, const char *disk)
{
        struct stat st;

        if (e->mount && streq(e->mount, disk))
                return true;
        if (e->partuuid && strcasecmp(e->partuuid, disk) == 0)
                return true;
        if (e->device && streq(e->device, disk))
                return true;
        return disk[0] == '/' && e->device && stat(disk, &st) == 0 && S_ISBLK(st.st_mode) &&
               st.st_rdev == e->devnum;
}

const struct esp *drill_find_target(const struct esp_model *m, const struct drill_state *s,
                                    const char *disk, char **why)
{
        const struct esp *best = NULL;
        int64_t best_proven = INT64_MAX;

        if (disk) {
                if (m->boot_ok && m->device_ok && names_esp(&m->booted, disk)) {
                        errno = EINVAL;
                        errmsg(why, -EINVAL,
                               "%s is the booted ESP (%s): a drill starts another disk, and "
                               "this one is proven by booting it",
                               disk, strna(m->booted.mount));
                        return NULL;
                }
                for (size_t i = 0; i < m->n_alternates; i++)
                        if (names_esp(&m->alternates[i], disk)) {
                                if (!m->alternates[i].mounted || !m->alternates[i].partuuid) {
                                        errno = ENXIO;
                                        errmsg(why, -ENXIO,
                                               "%s is not mounted (disk missing?): nothing to "
                                               "start",
                                               m->alternates[i].mount);
                                        return NULL;
                                }
                                return &m->alternates[i];
                        }
                errno = ENOENT;
                errmsg(why, -ENOENT,
                       "'%s' names no ESP of the set (expected a mount point such as /efi1, a "
                       "PARTUUID or a device node)",
                       disk);
                return NULL;
        }
        for (size_t i = 0; i < m->n_alternates; i++) {
                const struct esp *a = &m->alternates[i];
                const struct drill_disk *d;
                int64_t p;

                if (!a->mounted || !a->partuuid)
                        continue;
                d = drill_state_disk_const(s, a->partuuid);
                p = d ? d->proven : -1;
                if (!best || p < best_proven) {
                        best = a;
                        best_proven = p;
                }
        }
        if (!best) {
                errno = ENXIO;
                errmsg(why, -ENXIO, "no mounted alternate ESP: there is no other disk to start");
        }
        return best;
}

/* BootNext: -1 when not set. -EBADMSG when it is not a UINT16. */
static int read_boot_next(const char *dir, int *ret, char **why)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r = efi_read_var(dir, "BootNext", EFI_GLOBAL_GUID, NULL, &data, &size);

        if (r == -ENOENT) {
                *ret = -1;
                return 0;
        }
        if (r < 0)
                return errmsg(why, r, "cannot read BootNext: %s", strerror(-r));
        if (size != 2)
                return errmsg(why, -EBADMSG, "BootNext holds %zu bytes, expected 2 (a UINT16)",
                              size);
        *ret = data[0] | data[1] << 8;
        return 0;
}

static int read_boot_current(const char *dir)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;

        if (efi_read_var(dir, "BootCurrent", EFI_GLOBAL_GUID, NULL, &data, &size) < 0 || size != 2)
                return -1;
        return data[0] | data[1] << 8;
}

static int boot_id_of(const char *given, char ret[GUID_STRING_MAX])
{
        if (!given)
                return drill_read_boot_id(ret);
        if (strlen(given) != 36)
                return -EINVAL;
        memcpy(ret, given, 37);
        return 0;
}

int drill_prove(const struct esp_model *m, const char *disk, const char *boot_id_given, bool test,
                FILE *out, bool *ret_refused, char **why)
{
        _cleanup_(boot_nvram_done) struct boot_nvram nv = {};
        _cleanup_(bootentry_eval_done) struct bootentry_eval ev = {};
        _cleanup_(drill_state_done) struct drill_state s = {};
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *list = NULL, *w = NULL;
        _cleanup_close_ int fd = -1;
        const char *efivars = efi_vars_dir();
        const struct esp *t;
        char boot_id[GUID_STRING_MAX];
        struct drill_facts f = { .boot_current = -1, .now = (int64_t)time(NULL) };
        int r;

        *ret_refused = false;
        if (!m->boot_ok || !m->device_ok)
                return errmsg(why, -ENXIO, "cannot identify the booted ESP: %s", strna(m->why));
        r = drill_esp_dirs(m, &dirs);
        if (r < 0)
                return r;
        r = drill_state_load(dirs, &s, NULL, why);
        if (r < 0)
                return r;
        t = drill_find_target(m, &s, disk, why);
        if (!t)
                return -errno;

        r = bootentry_read_nvram(efivars, &nv, why);
        if (r < 0)
                return r;
        fd = open(t->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", t->mount);
        r = bootentry_evaluate(&nv, t->partuuid, fd, &ev);
        if (r < 0)
                return r;
        if (ev.reach != REACH_ENTRY && ev.reach != REACH_NOT_IN_ORDER)
                return errmsg(why, -ENOENT,
                              "no valid Boot#### starts %s (PARTUUID %s): BootNext needs one "
                              "(dual-root-tool --fix-boot-entries creates it)",
                              t->mount, t->partuuid);

        r = read_boot_next(efivars, &f.boot_next, why);
        if (r < 0)
                return r;
        r = boot_id_of(boot_id_given, boot_id);
        if (r < 0)
                return errmsg(why, r, "cannot read the kernel's boot_id: %s", strerror(-r));
        f.booted = m->boot.partuuid;
        f.boot_id = boot_id;
        r = drill_plan(&s, &f, t->partuuid, ev.entry->number, why);
        if (r == -EALREADY)
                return 1;
        if (r < 0)
                return r;

        list = strv_join(dirs, ", ");
        if (!list)
                return -ENOMEM;
        fprintf(out, "%s BootNext to Boot%04X \"%s\" (%s on %s, PARTUUID %s)\n",
                test ? "would set" : "setting", ev.entry->number, strna(ev.entry->description),
                ev.entry->file, t->mount, t->partuuid);
        fprintf(out, "%s the pending drill of %s in %s/%s on %s\n",
                test ? "would record" : "recording", t->mount, "<ESP>", DRILL_STATE_FILE, list);
        if (test)
                return 0;

        r = efi_write_boot_next(efivars, ev.entry->number, why);
        if (r < 0) {
                *ret_refused = efi_write_refused(r);
                if (*ret_refused) {
                        /* Remembered for --status (P6): the fallbacks must do then. */
                        s.pending = (struct drill_pending){};
                        s.nvram_refused = f.now;
                        (void)drill_state_save(dirs, &s, NULL);
                }
                return r;
        }
        s.nvram_refused = -1;
        s.stale_set = false; /* a stale BootNext of ours is overwritten now */
        r = drill_state_save(dirs, &s, why);
        if (r < 0) {
                /* Without the record the drill's boot could not be judged: undo BootNext. */
                if (efi_delete_var(efivars, "BootNext", EFI_GLOBAL_GUID, &w) < 0)
                        return errmsg_prefix(why, r, "BootNext left set to Boot%04X (%s)",
                                             ev.entry->number, strna(w));
                /* ... and the pending drill on the ESPs that did take it: a drill that never
                 * runs must not be judged failed at the next boot (P2). */
                s.pending = (struct drill_pending){};
                (void)drill_state_save(dirs, &s, NULL);
                return errmsg_prefix(why, r, "BootNext deleted again");
        }
        return 0;
}

int drill_assert_entries(const struct config *c, const struct esp_model *m, bool test, FILE *out,
                         char ***warnings, char **why)
{
        _cleanup_(boot_nvram_done) struct boot_nvram nv = {};
        int r, missing = 0;

        r = bootentry_read_nvram(efi_vars_dir(), &nv, why);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= m->n_alternates; i++) {
                const struct esp *e = i == 0 ? &m->booted : &m->alternates[i - 1];
                _cleanup_(bootentry_eval_done) struct bootentry_eval ev = {};
                _cleanup_close_ int fd = -1;

                if (!e->mount || !e->partuuid || (i > 0 && !e->mounted) ||
                    (i == 0 && (!m->boot_ok || !m->device_ok)))
                        continue;
                fd = open(e->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                r = bootentry_evaluate(&nv, e->partuuid, fd, &ev);
                if (r < 0)
                        return r;
                if (ev.reach == REACH_ENTRY)
                        continue;
                missing++;
                if (c->fix_boot_entries != FIX_BOOT_ENTRIES_AUTO) {
                        _cleanup_free_ char *s = NULL;

                        if (asprintf(&s,
                                     "%s has no valid firmware boot entry in BootOrder "
                                     "(fix_boot_entries = \"warn\"; dual-root-tool "
                                     "--fix-boot-entries creates it)",
                                     e->mount) < 0 ||
                            push(warnings, TAKE_PTR(s)) < 0)
                                return -ENOMEM;
                }
        }
        if (missing == 0 || c->fix_boot_entries != FIX_BOOT_ENTRIES_AUTO)
                return missing;
        r = bootentry_fix(m, NULL, test, out, why);
        if (r < 0)
                return r;
        return 0;
}

static int judge_at_boot(const struct esp_model *m, const char *boot_id_given, bool test, FILE *out,
                         char ***warnings, char **why)
{
        _cleanup_(drill_state_done) struct drill_state s = {};
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *w = NULL;
        const char *efivars = efi_vars_dir();
        char boot_id[GUID_STRING_MAX];
        struct drill_facts f = { .now = (int64_t)time(NULL) };
        char target[GUID_STRING_MAX];
        enum drill_outcome o;
        bool del = false, stale_before;
        int r;

        r = drill_esp_dirs(m, &dirs);
        if (r < 0)
                return r;
        r = drill_state_load(dirs, &s, NULL, why);
        if (r < 0)
                return r;
        r = read_boot_next(efivars, &f.boot_next, why);
        if (r < 0)
                return r;
        r = boot_id_of(boot_id_given, boot_id);
        if (r < 0)
                return errmsg(why, r, "cannot read the kernel's boot_id: %s", strerror(-r));
        f.boot_id = boot_id;
        f.boot_current = read_boot_current(efivars);
        f.booted = m->boot_ok ? m->boot.partuuid : NULL;

        memcpy(target, s.pending.target, sizeof(target));
        stale_before = s.stale_set;
        o = drill_resolve(&s, &f, &del);
        if (del) {
                fprintf(out, "%s BootNext (Boot%04X, the drill's, still set after its boot)\n",
                        test ? "would delete" : "deleting", (unsigned)f.boot_next);
                if (!test) {
                        r = efi_delete_var(efivars, "BootNext", EFI_GLOBAL_GUID, &w);
                        /* Left set: recorded as ours, so that the next -b deletes it again
                         * and --prove never calls it someone else's (§13 P3). */
                        s.stale_set = r < 0 && r != -ENOENT;
                        s.stale_entry = (unsigned)f.boot_next;
                        if (s.stale_set && push(warnings, TAKE_PTR(w)) < 0)
                                return -ENOMEM;
                }
        }
        if (!test && o != DRILL_PROVEN && o != DRILL_FAILED && s.stale_set != stale_before) {
                r = drill_state_save(dirs, &s, why);
                if (r < 0)
                        return r;
        }
        if (o == DRILL_PROVEN || o == DRILL_FAILED) {
                char current[16] = "unknown";

                if (f.boot_current >= 0)
                        snprintf(current, sizeof(current), "Boot%04X", (unsigned)f.boot_current);
                fprintf(out,
                        "%s the drill of PARTUUID %s: %s (came up on PARTUUID %s, BootCurrent "
                        "%s)\n",
                        test ? "would record" : "recording", target,
                        o == DRILL_PROVEN ? "proven" : "FAILED", f.booted, current);
                if (!test) {
                        r = drill_state_save(dirs, &s, why);
                        if (r < 0)
                                return r;
                }
        }
        if (o == DRILL_UNKNOWN) {
                _cleanup_free_ char *x = NULL;

                if (asprintf(&x,
                             "a drill of PARTUUID %s is pending, but the booted ESP is unknown: "
                             "not judged (kept for a boot that can tell)",
                             s.pending.target) < 0 ||
                    push(warnings, TAKE_PTR(x)) < 0)
                        return -ENOMEM;
        }
        return (int)o;
}

int drill_at_boot(const struct config *c, const struct esp_model *m, const char *boot_id_given,
                  bool test, FILE *out, char ***warnings, char **why)
{
        _cleanup_free_ char *w = NULL;
        int o, r;

        o = judge_at_boot(m, boot_id_given, test, out, warnings, why);
        if (o == -ENOMEM)
                return o;
        /* The entries are checked whatever became of the drill (an unreadable record on one
         * ESP must not stop P4 at every boot). */
        r = drill_assert_entries(c, m, test, out, warnings, &w);
        if (r < 0 && push(warnings, TAKE_PTR(w)) < 0)
                return -ENOMEM;
        return o;
}

/* 1 when the two files under dir_fd have the same bytes, 0 when not, -errno. */
static int same_content(int dir_fd, const char *a, const char *b)
{
        _cleanup_close_ int fa = openat(dir_fd, a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_close_ int fb = -1;
        struct stat sa, sb;
        char ba[16384], bb[16384];

        if (fa < 0)
                return negative_errno();
        fb = openat(dir_fd, b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fb < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0)
                return negative_errno();
        if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size)
                return 0;
        for (;;) {
                ssize_t na = read(fa, ba, sizeof(ba)), nb;

                if (na < 0)
                        return negative_errno();
                if (na == 0)
                        return 1;
                nb = read(fb, bb, (size_t)na);
                if (nb < 0)
                        return negative_errno();
                if (nb != na || memcmp(ba, bb, (size_t)na) != 0)
                        return 0; /* a short read of a regular file: taken for different */
        }
}

/* An EFI path ("\EFI\BOOT\X.EFI") as a relative file path ("EFI/BOOT/X.EFI"). */
static char *relative(const char *efi_path)
{
        char *p = strdup(efi_path[0] == '\\' ? efi_path + 1 : efi_path);

        for (char *q = p; q && *q; q++)
                if (*q == '\\')
                        *q = '/';
        return p;
}

int drill_fallback_is_loader(int esp_fd)
{
        _cleanup_free_ char *fallback = relative(EFI_FALLBACK_PATH);
        _cleanup_free_ char *sdboot = relative(EFI_SDBOOT_PATH);
        struct stat st;
        int r;

        if (!fallback || !sdboot)
                return -ENOMEM;
        r = bls_path_stat(esp_fd, EFI_FALLBACK_PATH, &st);
        if (r < 0)
                return r;
        if (bls_path_stat(esp_fd, EFI_SHIM_FALLBACK_PATH, &st) == 0)
                return -EMEDIUMTYPE;
        r = same_content(esp_fd, fallback, sdboot);
        /* found by FAT's case-insensitive lookup under another case: not systemd-boot's */
        return r == -ENOENT ? 0 : r;
}
