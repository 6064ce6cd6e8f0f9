/* SPDX-License-Identifier: MIT */
/* --add-disk's steps 4 to 6 (DESIGN.md §12): the new ESP's filesystem, fstab line and mount,
 * its content (the sync), its boot entry. */
#include <sys/stat.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "bootentry.h"
#include "fstab.h"
#include "machine.h"
#include "util/errmsg.h"

/* --- step 4: the ESP's filesystem, fstab line and mount ------------------------------------ */

int mount_from_fstab(const char *fstab, const char *target, char **why)
{
        struct libmnt_context *cxt = mnt_new_context();
        struct libmnt_table *tb = mnt_new_table();
        int r;

        if (!cxt || !tb) {
                mnt_free_context(cxt);
                mnt_unref_table(tb);
                return -ENOMEM;
        }
        r = mnt_table_parse_fstab(tb, fstab);
        if (r >= 0)
                r = mnt_context_set_fstab(cxt, tb);
        if (r >= 0)
                r = mnt_context_set_target(cxt, target);
        if (r >= 0)
                r = mnt_context_mount(cxt);
        if (r == 0 && mnt_context_get_status(cxt) != 1)
                r = -EIO;
        if (r != 0) {
                char buf[BUFSIZ] = "";

                (void)mnt_context_get_excode(cxt, r, buf, sizeof(buf));
                r = errmsg(why, r < 0 ? r : -EIO, "cannot mount %s as %s says: %s", target, fstab,
                           *buf ? buf : strerror(r < 0 ? -r : EIO));
        }
        mnt_unref_table(tb);
        mnt_free_context(cxt);
        return r;
}

/* The ESP's fstab line: the missing disk's line given the new PARTUUID (rule 9), else a line
 * of its own. Written first: a run cut after the filesystem is made finds the line and knows
 * the filesystem is its own (resume_check). */
static int esp_fstab_line(struct ad *d, const struct gpt_part *esp, char **why)
{
        const char *fstab = fstab_path();
        _cleanup_free_ char *line = NULL, *o = NULL, *n = NULL;
        int r;

        if (!d->replace_src) {
                line = fstab_esp_line(esp->uuid, d->esp_mount);
                if (!line)
                        return -ENOMEM;
                r = fstab_add_line(fstab, esp->uuid, d->esp_mount, line, d->a->test, why);
        } else
                r = fstab_replace_source(fstab, d->esp_mount, d->replace_src, esp->uuid, d->a->test,
                                         &o, &n, why);
        if (r < 0)
                return r;
        if (r == 0)
                say(d, "kept: %s already mounts PARTUUID=%s on %s", fstab, esp->uuid, d->esp_mount);
        else if (!d->replace_src)
                say(d, "%s %s: %s (previous version kept as %s" FSTAB_BACKUP_SUFFIX ")",
                    d->a->test ? "would add to" : "added to", fstab, line, fstab);
        else {
                say(d,
                    "%s in %s the missing ESP's line:", d->a->test ? "would replace" : "replaced",
                    fstab);
                say(d, "  old: %s", o);
                say(d, "  new: %s", n);
                say(d, "(previous version %s as %s" FSTAB_BACKUP_SUFFIX ")",
                    d->a->test ? "would be kept" : "kept", fstab);
        }
        return 0;
}

/* mkfs.vfat -F 32 on the new ESP, labelled like the booted ESP with this disk's number
 * ("ESP0" -> "ESP1"), as the twin's other filesystems are (§12b A2). */
static int esp_mkfs(struct ad *d, char **why)
{
        _cleanup_(blockdev_probe_done) struct blockdev_probe bp = {};
        _cleanup_free_ char *label = NULL;
        /* mkfs.vfat -F 32 [-n LABEL] DEVICE, and the NULL */
        char *argv[7] = { "mkfs.vfat", "-F", "32" };
        size_t n = 3;

        if (blockdev_probe(d->m->booted.device, "vfat", &bp) == 0 && bp.label) {
                label = twin_label(bp.label, d->esp_mount);
                if (!label)
                        return -ENOMEM;
                argv[n++] = "-n";
                argv[n++] = label;
        }
        argv[n++] = d->esp_dev ? d->esp_dev : (char *)"<the new ESP partition>";
        argv[n] = NULL;
        return run_or_show(d, argv, why);
}

/* FAT32 on the new ESP, unless an earlier run made it; anything else there is not ours to
 * destroy. */
static int esp_filesystem(struct ad *d, char **why)
{
        _cleanup_(blockdev_probe_done) struct blockdev_probe pr = {};

        if (d->esp_dev && blockdev_probe(d->esp_dev, "vfat", &pr) == 0 &&
            streq_ptr(pr.fstype, "vfat")) {
                say(d, "kept: %s already holds a FAT filesystem (UUID %s)", d->esp_dev,
                    strna(pr.uuid));
                return 0;
        }
        if (d->esp_dev && pr.fstype)
                return errmsg(why, -EEXIST, "%s holds a %s filesystem, not FAT", d->esp_dev,
                              pr.fstype);
        return esp_mkfs(d, why);
}

int step_esp(struct ad *d, struct libmnt_table *t, char **why)
{
        const struct gpt_part *esp = gpt_layout_find_partno(&d->layout, d->esp_partno);
        struct libmnt_fs *fs;
        struct stat st;
        int r;

        /* Where: decided at step 1 (plan_mount), so that -t and the esp_mounts check see it. */
        if (!d->esp_mount)
                return errmsg(why, -EINVAL, "no ESP mount point was chosen at step 1");
        /* A twin's root and its other filesystems first: the ESP is mounted below its root
         * (DESIGN.md §12b A4). */
        if (d->twin) {
                r = twin_filesystems(d, t, why);
                if (r < 0)
                        return r;
        }
        r = esp_fstab_line(d, esp, why);
        if (r < 0)
                return r;

        /* Mounted there by an earlier run: done. */
        fs = mounts_find_target(t, d->esp_mount);
        if (fs) {
                if (!d->esp_dev || stat(d->esp_dev, &st) < 0 || mnt_fs_get_devno(fs) != st.st_rdev)
                        return errmsg(why, -EBUSY, "%s holds %s, not the new ESP %s", d->esp_mount,
                                      strna(mnt_fs_get_source(fs)), strna(d->esp_dev));
                say(d, "kept: %s is mounted on %s", d->esp_dev, d->esp_mount);
                d->esp_mounted = true;
                return 0;
        }
        r = esp_filesystem(d, why);
        if (r < 0)
                return r;
        if (d->a->test) {
                say(d, "would create %s and mount it as %s says", d->esp_mount, fstab_path());
                return 0;
        }
        /* a twin's /mnt/root1/boot/efi: its parents are made on the twin's root (§12b A4) */
        r = mkdir_under(d->esp_mount);
        if (r < 0)
                return errmsg(why, r, "cannot create %s: %s", d->esp_mount, strerror(-r));
        r = mount_from_fstab(fstab_path(), d->esp_mount, why);
        if (r < 0)
                return r;
        say(d, "mounted %s on %s", d->esp_dev, d->esp_mount);
        return 0;
}

/* --- steps 5 and 6: the ESP's content and its boot entry ---------------------------------- */

/* The machine as it is now (the ESP is mounted since step 4), loaded as every verb loads it
 * (machine.c): the mount table and the ESP model, the superblocks probed. */
int load_model(const struct config *c, struct libmnt_table **ret_t, struct esp_model **ret_m,
               char **why)
{
        _cleanup_(machine_done) struct machine mc = {};
        enum machine_part part;
        int r = machine_load(c, MACHINE_PROBE, &mc, &part, why);

        if (r < 0)
                return r;
        *ret_t = TAKE_PTR(mc.mounts);
        *ret_m = TAKE_PTR(mc.model);
        return 0;
}

/* The sync as -s plans it, for --add-disk's copies: fstab (NULL when unreadable, as -s reads
 * it), the config checked as -s checks it before anything runs (DESIGN.md §5 rule 11), the
 * plan built. */
int ad_sync_plan(struct ad *d, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table **ret_fstab, struct sync_plan *ret_plan, char **why)
{
        struct libmnt_table *fstab = mnt_new_table();
        int r;

        if (fstab && mnt_table_parse_fstab(fstab, fstab_path()) < 0) {
                mnt_unref_table(fstab);
                fstab = NULL;
        }
        *ret_fstab = fstab;
        r = sync_config_validate(d->a->config, m, why);
        if (r < 0)
                return r;
        r = sync_plan_build(d->a->config, m, t, ret_plan);
        if (r < 0)
                return errmsg(why, r, "cannot plan the sync: %s", strerror(-r));
        return 0;
}

int step_sync(struct ad *d, struct libmnt_table *mounts, char **why)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL, *fstab = NULL;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        _cleanup_free_ char *dest = NULL;
        struct sync_plan plan = {};
        int r;

        if (asprintf(&dest, "%s/", d->esp_mount) < 0)
                return -ENOMEM;
        if (d->a->test && !d->esp_mounted) {
                say(d,
                    "would sync the booted ESP %s/ onto %s (the normal sync, with its safety "
                    "rules)",
                    strna(d->m->booted.mount), dest);
                return 0;
        }
        /* In test mode the ESP is there already (a run to continue): the sync's own dry run. */
        r = load_model(d->a->config, &t, &m, why);
        if (r < 0)
                return r;
        r = ad_sync_plan(d, m, t, &fstab, &plan, why);
        if (r < 0)
                return r;

        struct sync_context ctx = {
                .config = d->a->config,
                .model = m,
                .mounts = t,
                .fstab = fstab,
                .test = d->a->test,
        };
        struct sync_job *job = NULL;

        for (size_t i = 0; i < plan.n_jobs; i++)
                if (sync_job_is_esp(&plan.jobs[i]) && streq_ptr(plan.jobs[i].dest, dest))
                        job = &plan.jobs[i];
        if (!job) {
                r = errmsg(why, -ENOENT,
                           "%s is not an alternate ESP of the sync (esp_mounts in %s?)", dest,
                           strna(d->a->config->path));
                sync_plan_done(&plan);
                return r;
        }
        struct sync_plan one = { .jobs = job, .n_jobs = 1 };
        size_t failed;

        say(d, "syncing %s -> %s", strna(job->source), dest);
        r = machine_run_plan(&ctx, &one, NULL, NULL, NULL, true, &failed);
        if (r < 0) {
                sync_plan_done(&plan);
                return errmsg(why, r, "cannot block signals: %s", strerror(-r));
        }
        if (job->state == SYNC_DONE || job->state == SYNC_TESTED) {
                say(d, "%s %s -> %s (%.2fs)", job->state == SYNC_DONE ? "synced" : "tested",
                    job->source, dest, (double)job->duration / USEC_PER_SEC);
                r = 0;
        } else {
                r = errmsg(why, -EIO, "%s %s -> %s: %s", sync_state_to_string(job->state),
                           strna(job->source), dest, strna(job->why));
        }
        sync_plan_done(&plan);
        return r;
}

int step_bootentry(struct ad *d, struct libmnt_table *mounts, char **why)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        int r;

        /* --fix-boot-entries for this ESP alone (DESIGN.md §11 rules E1-E5). */
        if (d->a->test && !d->esp_mounted) {
                say(d,
                    "would create the boot entry of %s once it is mounted (as "
                    "--fix-boot-entries does)",
                    d->esp_mount);
                return 0;
        }
        r = load_model(d->a->config, &t, &m, why);
        if (r < 0)
                return r;
        {
                /* bootentry_fix() always tells what it does: with -q, to nowhere */
                _cleanup_fclose_ FILE *null = d->out ? NULL : fopen("/dev/null", "we");

                if (!d->out && !null)
                        return errmsg(why, negative_errno(), "cannot open /dev/null: %m");
                r = bootentry_fix(m, d->esp_mount, d->a->test, d->out ? d->out : null, why);
        }
        if (r < 0)
                return r;
        if (r > 0)
                say(d, "%s %d boot entry(ies) for %s", d->a->test ? "would create" : "created", r,
                    d->esp_mount);
        else
                say(d, "kept: %s already has its boot entry", d->esp_mount);
        return 0;
}
