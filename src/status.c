/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "blockdev.h"
#include "guard.h"
#include "ignore.h"
#include "status.h"
#include "sync.h"
#include "util/errmsg.h"
#include "util/strv.h"

const char *status_level_to_string(enum status_level l)
{
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

        return (unsigned)l < ELEMENTSOF(names) ? names[l] : "UNKNOWN";
}

void status_report_done(struct status_report *r)
{
        for (size_t i = 0; i < r->n; i++)
                free(r->findings[i].text);
        free(r->findings);
        *r = (struct status_report){};
}

static int add(struct status_report *r, enum status_level l, const char *format, ...)
        _printf_(3, 4);
static int add(struct status_report *r, enum status_level l, const char *format, ...)
{
        struct status_finding *t;
        va_list ap;
        char *s;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        t = reallocarray(r->findings, r->n + 1, sizeof(*t));
        if (!t) {
                free(s);
                return -ENOMEM;
        }
        r->findings = t;
        r->findings[r->n++] = (struct status_finding){ .level = l, .text = s };
        if (l > r->level)
                r->level = l;
        return 0;
}

static int fingerprint_of(const char *dir, char *const *excludes, uint64_t *ret, char **why)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open '%s': %m", dir);
        return guard_fingerprint(fd, excludes, ret, why);
}

/* The ESPs: the booted one where /boot expects it, every alternate there and equal. */
static int check_esps(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                      const char *efi_mount, struct status_report *r)
{
        _cleanup_strv_free_ char **x = NULL;
        _cleanup_free_ char *why = NULL;
        struct libmnt_fs *fs = mounts_find_target(t, efi_mount);
        uint64_t fp_booted;
        size_t in_sync = 0;
        int k;

        if (esp_ignore_excludes(c->esp_excludes, &x) < 0)
                return -ENOMEM;

        if (!m->booted.mount)
                return add(r, STATUS_CRITICAL,
                           "the booted ESP %s is not mounted on an ESP mount point: it cannot be "
                           "bound on %s nor synced",
                           m->booted.device, efi_mount);
        if (!fs)
                k = add(r, STATUS_WARNING,
                        "%s is not a mount point: kernels installed now do not reach the booted "
                        "ESP (is bind-mount-efi.service enabled?)",
                        efi_mount);
        else if (mnt_fs_get_devno(fs) != m->booted.devnum)
                k = add(r, STATUS_CRITICAL,
                        "%s holds %s, not the booted ESP %s: kernels installed now land on the "
                        "wrong ESP",
                        efi_mount, strna(mnt_fs_get_source(fs)), m->booted.device);
        else
                k = 0;
        if (k < 0)
                return k;

        if (m->n_alternates == 0)
                return add(r, STATUS_WARNING,
                           "no alternate ESP (%s): this machine cannot survive the loss of its "
                           "disk",
                           m->esp_set_from_config ? "esp_mounts names none"
                                                  : "no other /efi<N> directory");

        if (fingerprint_of(m->booted.mount, x, &fp_booted, &why) < 0)
                return add(r, STATUS_UNKNOWN, "cannot read the booted ESP %s: %s", m->booted.mount,
                           strna(why));

        for (size_t i = 0; i < m->n_alternates; i++) {
                const struct esp *a = &m->alternates[i];
                uint64_t fp;

                if (!a->mounted) {
                        k = add(r, STATUS_WARNING,
                                "alternate ESP %s is not mounted (disk missing or dead?)",
                                a->mount);
                } else if (fingerprint_of(a->mount, x, &fp, &why) < 0) {
                        k = add(r, STATUS_WARNING, "cannot read alternate ESP %s: %s", a->mount,
                                strna(why));
                } else if (fp != fp_booted) {
                        k = add(r, STATUS_WARNING,
                                "alternate ESP %s differs from the booted ESP %s (not synced "
                                "yet, or it holds changes of its own)",
                                a->mount, m->booted.mount);
                } else {
                        in_sync++;
                        k = 0;
                }
                if (k < 0)
                        return k;
        }
        if (in_sync > 0 && in_sync == m->n_alternates)
                return add(r, STATUS_OK, "%zu alternate ESP%s identical to the booted ESP %s",
                           in_sync, in_sync == 1 ? "" : "s", m->booted.mount);
        return 0;
}

/* The sync list: every destination there. */
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

                if (s == SYNC_SKIPPED || s == SYNC_REFUSED)
                        k = add(r, STATUS_WARNING, "%s %s -> %s would be %s: %s", j->item,
                                j->source, j->dest, sync_state_to_string((enum sync_state)s),
                                strna(why));
        }
        sync_plan_done(&plan);
        return k;
}

int status_check(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table *fstab, const char *efi_mount, struct status_report *ret)
{
        struct status_report r = {};
        int k;

        if (!m->boot_ok || !m->device_ok)
                k = add(&r, STATUS_UNKNOWN, "cannot identify the booted ESP: %s", strna(m->why));
        else if (c->dualroot)
                k = check_esps(c, m, t, efi_mount, &r);
        else
                k = 0;
        if (k >= 0 && m->boot_ok && m->device_ok)
                k = check_items(c, m, t, fstab, &r);
        if (k >= 0 && r.n == 0)
                k = add(&r, STATUS_OK, "booted ESP %s identified; nothing else to check",
                        strna(m->booted.device));
        if (k < 0) {
                status_report_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}
