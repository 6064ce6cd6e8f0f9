/* SPDX-License-Identifier: MIT */
/* The machine a run works on, loaded once (machine.h). */
#include <assert.h>
#include <signal.h>

#include "blockdev.h"
#include "efivars.h"
#include "fstab.h"
#include "machine.h"
#include "rsync.h"
#include "util/errmsg.h"

void machine_done(struct machine *m)
{
        mnt_unref_table(m->mounts);
        mnt_unref_table(m->fstab);
        free(m->fstab_warning);
        esp_model_free(m->model);
        *m = (struct machine){};
}

/* fstab for the mount checks of sync and --status: none, or (with a warning) unreadable, is
 * NULL; the checks then use the mount table only. */
static int load_fstab(struct machine *m)
{
        struct libmnt_table *fstab = mnt_new_table();
        int r = fstab ? mnt_table_parse_fstab(fstab, fstab_path()) : -ENOMEM;

        if (r >= 0) {
                m->fstab = fstab;
                return 0;
        }
        mnt_unref_table(fstab);
        if (r != -ENOENT &&
            asprintf(&m->fstab_warning, "cannot read %s: %s; mount checks use the mount table only",
                     fstab_path(), strerror(-r)) < 0) {
                m->fstab_warning = NULL;
                return -ENOMEM;
        }
        return 0;
}

int machine_load(const struct config *c, unsigned flags, struct machine *ret,
                 enum machine_part *ret_part, char **why)
{
        _cleanup_(machine_done) struct machine m = {};
        int r;

        assert(c);
        assert(ret);
        assert(ret_part);
        *ret_part = MACHINE_PART_MOUNTS;
        r = mounts_load(NULL, &m.mounts);
        if (r < 0)
                return errmsg(why, r, "cannot read the mount table %s: %s", MOUNTINFO_DEFAULT,
                              strerror(-r));
        if (flags & MACHINE_FSTAB) {
                r = load_fstab(&m);
                if (r < 0)
                        return r;
        }
        *ret_part = MACHINE_PART_MODEL;
        r = esp_model_load(c, efi_vars_dir(), esp_sysfs_root(), flags & MACHINE_PROBE, m.mounts,
                           &m.model);
        if (r < 0)
                return errmsg(why, r, "cannot build the ESP model: %s", strerror(-r));
        *ret_part = MACHINE_PART_NONE;
        *ret = m;
        m = (struct machine){};
        return 0;
}

int machine_run_plan(const struct sync_context *ctx, struct sync_plan *p, sync_start_cb cb,
                     sync_end_cb end, void *userdata, bool restore_signals, size_t *ret_failed)
{
        sigset_t mask, old;
        size_t failed;

        assert(ctx);
        assert(p);
        assert(ret_failed);
        rsync_wait_signals(&mask);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return negative_errno();
        failed = sync_plan_run(ctx, p, cb, end, userdata);
        if (restore_signals)
                (void)sigprocmask(SIG_SETMASK, &old, NULL);
        *ret_failed = failed;
        return 0;
}
