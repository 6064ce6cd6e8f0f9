/* SPDX-License-Identifier: MIT */
/* --add-disk's step 7 (DESIGN.md §12 rules 6, 7, 9): the new disk joins a btrfs root or the md
 * arrays of the root. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "md.h"
#include "rootfs.h"
#include "util/errmsg.h"
#include "util/prog.h"
#include "util/strv.h"

/* --- step 7: the root filesystem -------------------------------------------------------- */

/* The root btrfs as the step needs it: the one reader (rootfs.c), plus whether the new root
 * partition is one of its devices and whether a replace runs. */
struct btrfs_root {
        struct rootfs_btrfs fs;
        uint64_t missing_devid; /* 0: none */
        bool has_dev;           /* the new root partition is already a device of it */
        bool replacing;         /* a replace runs */
};

static void btrfs_root_done(struct btrfs_root *b)
{
        rootfs_btrfs_done(&b->fs);
}

static int btrfs_root_info(int fd, dev_t newdev, struct btrfs_root *ret, char **why)
{
        struct btrfs_root b = {};
        int r;

        r = rootfs_btrfs_read(fd, &b.fs, why);
        if (r == -ENOTTY)
                return errmsg(why, r, "the root is not btrfs");
        if (r < 0)
                return errmsg_prefix(why, r, "cannot query the btrfs root");
        for (size_t i = 0; i < b.fs.n_devices; i++) {
                const struct rootfs_btrfs_device *dv = &b.fs.devices[i];
                struct stat st;

                if (!dv->path) {
                        if (!b.missing_devid)
                                b.missing_devid = dv->devid;
                } else if (newdev && stat(dv->path, &st) == 0 && st.st_rdev == newdev) {
                        b.has_dev = true;
                }
        }
        (void)rootfs_btrfs_replace_status(fd, &b.replacing, NULL);
        btrfs_root_done(ret);
        *ret = b;
        return 0;
}

/* --- step 7 on an md root (rule 9) --- */

/* Follows an array's recovery onto member (kernel name) until it is in sync, saying its
 * progress every few percent. The recovery belongs to the kernel: an interrupted run finds it
 * running and follows it again. */
static int md_follow(struct ad *d, const char *array, const char *member, char **why)
{
        unsigned last = UINT_MAX;
        usec_t started = now_usec(CLOCK_MONOTONIC), idle_since = 0;

        for (;;) {
                _cleanup_(md_array_done) struct md_array a = {};
                const struct md_member *m = NULL;
                unsigned pm = 0;
                int64_t left;
                int r = md_array_read(md_sysfs_root(), array, &a, why);

                if (r < 0)
                        return r;
                for (size_t i = 0; i < a.n_members; i++)
                        if (streq(a.members[i].name, member))
                                m = &a.members[i];
                if (!m)
                        return errmsg(why, -EIO, "/dev/%s is no longer a member of %s", member,
                                      array);
                if (m->faulty)
                        return errmsg(why, -EIO,
                                      "/dev/%s became faulty in %s during the recovery: see "
                                      "dmesg and mdadm --detail /dev/%s",
                                      member, array, array);
                if (m->in_sync) {
                        say(d, "done: /dev/%s is in sync in %s (%.0f s)", member, array,
                            (double)(now_usec(CLOCK_MONOTONIC) - started) / USEC_PER_SEC);
                        return 0;
                }
                /* A member out of sync with no recovery running for a minute (frozen, or md
                 * waiting for something we cannot see): said, not waited for forever. */
                if (!a.sync_running) {
                        usec_t now = now_usec(CLOCK_MONOTONIC);

                        if (!idle_since)
                                idle_since = now;
                        else if (now - idle_since > 60 * USEC_PER_SEC)
                                return errmsg(why, -ETIMEDOUT,
                                              "/dev/%s is not in sync in %s and no recovery has "
                                              "run for 60 s (sync_action %s): see mdadm --detail "
                                              "/dev/%s",
                                              member, array, strna(a.sync_action), array);
                } else {
                        idle_since = 0;
                }
                left = md_sync_seconds_left(&a, &pm);
                if (a.sync_running && (last == UINT_MAX || pm >= last + 50)) {
                        if (left >= 0)
                                say(d,
                                    "recovery of %s onto /dev/%s: %u.%u%% done, about %" PRId64
                                    " s left at %" PRIu64 " KiB/s",
                                    array, member, pm / 10, pm % 10, left, a.sync_speed);
                        else
                                say(d, "recovery of %s onto /dev/%s: %u.%u%% done", array, member,
                                    pm / 10, pm % 10);
                        last = pm;
                }
                (void)usleep(500 * 1000);
        }
}

/* An md array of the root, as step 7 sees it: its members on the booted disk (here) and on the
 * new one (ours), how many are in sync, whether a slot lacks one. */
struct md_view {
        struct md_array a;
        char *dev; /* "/dev/md0" */
        const struct md_member *here, *ours;
        unsigned in_sync;
        bool degraded;
};

static void md_view_done(struct md_view *v)
{
        md_array_done(&v->a);
        free(v->dev);
}

static int md_view_read(struct ad *d, const char *name, struct md_view *v, char **why)
{
        int r = md_array_read(md_sysfs_root(), name, &v->a, why);

        if (r < 0)
                return r;
        if (asprintf(&v->dev, "/dev/%s", v->a.name) < 0) {
                v->dev = NULL;
                return -ENOMEM;
        }
        for (size_t i = 0; i < v->a.n_members; i++) {
                const struct md_member *m = &v->a.members[i];

                if (streq_ptr(m->disk, d->boot_disk_name) && m->partno > 0)
                        v->here = m;
                if (streq_ptr(m->disk, d->disk_name))
                        v->ours = m;
                v->in_sync += m->in_sync;
        }
        for (unsigned s = 0; s < v->a.raid_disks; s++) {
                const struct md_member *m = md_member_in_slot(&v->a, (int)s);

                if (!m || !m->in_sync)
                        v->degraded = true;
        }
        return 0;
}

/* The new disk's partition is a member already: kept in sync, or its rebuild followed. */
static int md_member_ours(struct ad *d, const struct md_view *v, char **why)
{
        if (v->ours->in_sync) {
                say(d, "kept: /dev/%s is a member of %s, in sync", v->ours->name, v->dev);
                return 0;
        }
        say(d, "/dev/%s is a member of %s being rebuilt: following it", v->ours->name, v->dev);
        if (d->a->test) {
                say(d, "would follow it: cat /proc/mdstat, or mdadm --detail %s", v->dev);
                return 0;
        }
        return md_follow(d, v->a.name, v->ours->name, why);
}

/* The new disk's twin of the booted disk's member goes in: mdadm --add to a degraded array, or
 * --grow to a raid1 of one member with --raid1. Returns 1 when the array is left alone. */
static int md_add_twin(struct ad *d, const struct md_view *v, char *node, char **why)
{
        if (v->degraded) {
                char *add[] = { "mdadm", "--manage", v->dev, "--add", node, NULL };

                say(d, "%s (%s) is degraded: %u of %u members in sync; adding %s", v->dev,
                    strna(v->a.level), v->in_sync, v->a.raid_disks, node);
                return run_or_show(d, add, why);
        }
        if (!(streq_ptr(v->a.level, "raid1") && v->a.raid_disks == 1)) {
                say(d, "not touched: %s (%s) is not degraded: %u of %u members in sync", v->dev,
                    strna(v->a.level), v->in_sync, v->a.raid_disks);
                return 1;
        }
        /* A raid1 of one member (made with --force): a second only when asked. */
        if (!d->a->raid1) {
                say(d,
                    "not touched: %s is a raid1 of a single member; --raid1 adds %s as its "
                    "second (mdadm --grow %s --raid-devices=2 --add %s)",
                    v->dev, node, v->dev, node);
                return 1;
        }
        char *grow[] = { "mdadm", "--grow", v->dev, "--raid-devices=2", "--add", node, NULL };

        return run_or_show(d, grow, why);
}

/* Step 7 for one array of the root (rule 9). */
static int root_md_array(struct ad *d, const char *name, char **why)
{
        _cleanup_(md_view_done) struct md_view v = {};
        _cleanup_free_ char *node = NULL, *kname = NULL;
        const struct gpt_part *twin;
        struct stat st;
        int r;

        r = md_view_read(d, name, &v, why);
        if (r < 0)
                return r;
        if (!v.here) {
                say(d, "not touched: %s has no member on the booted disk %s", v.dev, d->boot_disk);
                return 0;
        }
        if (v.ours)
                return md_member_ours(d, &v, why);
        /* The new disk's twin of the booted disk's member: same partition number. */
        twin = gpt_layout_find_partno(&d->layout, v.here->partno - 1);
        if (!twin)
                return errmsg(why, -ENOENT,
                              "the new disk has no partition %u, the twin of %s's member /dev/%s",
                              v.here->partno, v.dev, v.here->name);
        r = partition_node(d, twin, &node);
        if (r < 0 && !d->a->test)
                return errmsg(why, r, "cannot find the new disk's partition %u: %s", v.here->partno,
                              strerror(-r));
        if (!node && asprintf(&node, "<partition %u of %s>", v.here->partno, d->disk) < 0)
                return -ENOMEM;
        r = md_add_twin(d, &v, node, why);
        if (r != 0)
                return r < 0 ? r : 0;
        if (d->a->test) {
                say(d, "would follow the recovery: cat /proc/mdstat, or mdadm --detail %s", v.dev);
                return 0;
        }
        if (stat(node, &st) < 0 || disk_name_of(st.st_rdev, &kname) < 0)
                return errmsg(why, -EIO, "cannot name %s in sysfs", node);
        return md_follow(d, v.a.name, kname, why);
}

static int step_root_md(struct ad *d, char *const *arrays, char **why)
{
        STRV_FOREACH(name, arrays)
        {
                int r = root_md_array(d, *name, why);

                if (r < 0)
                        return r;
        }
        return 0;
}

enum follow { FOLLOW_REPLACE, FOLLOW_BALANCE };

/* Shows the kernel's progress of a replace (per mille, BTRFS_IOC_DEV_REPLACE status) or a
 * balance (chunks, BTRFS_IOC_BALANCE_PROGRESS) until pid (argv's) exits, or with no pid until
 * the kernel's replace ends. 0 when it succeeded, else -errno with *why. */
static int follow_btrfs(struct ad *d, int fd, enum follow kind, pid_t pid, char *const *argv,
                        char **why)
{
        _cleanup_free_ char *line = argv ? argv_to_string(argv) : NULL;
        struct progress p;
        int r = 0;

        (void)progress_begin(&p, progress_out(d), progress_level(d),
                             kind == FOLLOW_REPLACE ? PROGRESS_PERMILLE : PROGRESS_ITEMS,
                             kind == FOLLOW_REPLACE ? "btrfs replace, copied"
                                                    : "btrfs balance, chunks relocated",
                             now_usec(CLOCK_MONOTONIC));
        for (;;) {
                usec_t now;

                if (pid > 0 && (r = prog_reap(pid, line, true, why)) != 0)
                        break;
                now = now_usec(CLOCK_MONOTONIC);
                if (kind == FOLLOW_REPLACE) {
                        uint64_t permille = 0;
                        bool running = false;
                        int q = rootfs_btrfs_replace_status(fd, &running, &permille);

                        if (q < 0) {
                                if (pid <= 0) {
                                        r = errmsg(why, q, "cannot follow the replace: %s",
                                                   strerror(-q));
                                        break;
                                }
                        } else if (running) {
                                progress_update(&p, permille, 1000, now);
                        } else if (pid <= 0) {
                                break; /* the replace we followed has ended */
                        }
                } else {
                        uint64_t done, expected;

                        /* ENOTCONN until the balance starts: nothing to show yet. */
                        if (rootfs_btrfs_balance_progress(fd, &done, &expected) == 0)
                                progress_update(&p, done, expected, now);
                }
                (void)usleep(100 * 1000);
        }
        progress_end(&p, r < 0 ? "failed" : "done", now_usec(CLOCK_MONOTONIC));
        return r < 0 ? r : 0;
}

/* Step 7 on a btrfs root: the root, the new partition and what the kernel says of them. */
struct root_run {
        struct ad *d;
        int fd;           /* "/" */
        dev_t newdev;     /* the new root partition's, 0: none yet (-t) */
        const char *part; /* its node, or a placeholder for -t */
        struct btrfs_root b;
};

/* A replace found running (an interrupted run's): followed to its end, then read again. */
static int root_follow_running_replace(struct root_run *rr, char **why)
{
        int r;

        if (!rr->b.replacing)
                return 0;
        say(rr->d, "a replace runs already: following it");
        r = rr->d->a->test ? 0 : follow_btrfs(rr->d, rr->fd, FOLLOW_REPLACE, 0, NULL, why);
        if (r < 0)
                return r;
        return btrfs_root_info(rr->fd, rr->newdev, &rr->b, why);
}

/* The root misses a device: the new partition replaces it. Returns 1 when -t has shown it all
 * (the chunks are raised by the real run only). */
static int root_replace_missing(struct root_run *rr, char **why)
{
        struct ad *d = rr->d;
        _cleanup_free_ char *line = NULL;
        char devid[32];
        char *start[] = { "btrfs", "replace", "start", "-B", devid, (char *)rr->part, "/", NULL };
        pid_t pid;
        int r;

        snprintf(devid, sizeof(devid), "%" PRIu64, rr->b.missing_devid);
        line = argv_to_string(start);
        say(d, "the root filesystem misses device %s of %" PRIu64 ": replacing it by %s", devid,
            rr->b.fs.num_devices, rr->part);
        if (d->a->test) {
                say(d, "would run: %s", strna(line));
                say(d, "would show its progress (as btrfs replace status / does)");
                return 1;
        }
        /* start -B runs until the copy is done, showing nothing: the kernel's progress
         * (BTRFS_IOC_DEV_REPLACE status) is shown while it runs (DESIGN.md §14). The replace
         * belongs to the kernel: an interrupted run finds it running and follows it again. */
        say(d, "running: %s", strna(line));
        r = prog_spawn(start, d->out != NULL, &pid, why);
        if (r < 0)
                return r;
        r = follow_btrfs(d, rr->fd, FOLLOW_REPLACE, pid, start, why);
        if (r < 0)
                return r;
        r = btrfs_root_info(rr->fd, rr->newdev, &rr->b, why);
        if (r < 0)
                return r;
        if (!rr->b.has_dev)
                return errmsg(why, -EIO,
                              "the replace of device %s by %s did not finish: see btrfs replace "
                              "status /",
                              devid, rr->part);
        return 0;
}

/* A single-device root: the new partition added, with --raid1 only. Returns 1 when not asked. */
static int root_add_device(struct root_run *rr, char **why)
{
        struct ad *d = rr->d;
        char *add[] = { "btrfs", "device", "add", (char *)rr->part, "/", NULL };
        int r;

        if (!d->a->raid1) {
                say(d,
                    "not touched: the root is a single-device btrfs; --raid1 adds %s and "
                    "converts it to raid1 (btrfs device add %s /, then btrfs balance start "
                    "-dconvert=raid1,soft,profiles=single -mconvert=raid1,soft,profiles=dup /)",
                    rr->part, rr->part);
                return 1;
        }
        r = run_or_show(d, add, why);
        if (r < 0)
                return r;
        return d->a->test ? 0 : btrfs_root_info(rr->fd, rr->newdev, &rr->b, why);
}

/* One balance run, its progress read from the kernel meanwhile (util/progress.h). */
static int root_balance(struct root_run *rr, char *const *balance, char **why)
{
        _cleanup_free_ char *bline = argv_to_string(balance);
        pid_t bpid;
        int r;

        say(rr->d, "running: %s", strna(bline));
        r = prog_spawn(balance, rr->d->out != NULL, &bpid, why);
        if (r < 0)
                return r;
        return follow_btrfs(rr->d, rr->fd, FOLLOW_BALANCE, bpid, balance, why);
}

/*
 * Rule 7: chunks written while a device was missing, or before the conversion, are single (or
 * dup): those, and only those, are raised, to the filesystem's own redundant profile (raid1
 * when it has none). A redundant chunk (raid1, raid1c3, raid1c4, raid10, raid5, raid6) is never
 * converted: a soft convert to raid1 alone would lower raid1c3 and raid10 chunks.
 */
static int root_raise_chunks(struct root_run *rr, char **why)
{
        struct ad *d = rr->d;
        int r;

        for (int attempt = 0;; attempt++) {
                _cleanup_free_ char *dfilter = NULL, *mfilter = NULL, *failed = NULL;
                char *balance[7] = { "btrfs", "balance", "start" };
                size_t nb = 3;

                r = rootfs_btrfs_raise_filters(&rr->b.fs, &dfilter, &mfilter);
                if (r < 0)
                        return r;
                if (!dfilter && !mfilter) {
                        char dp[64], mp[64], sp[64];

                        say(d,
                            "%s: every chunk of the root filesystem is redundant (data %s, "
                            "metadata %s, system %s)",
                            attempt ? "done" : "kept",
                            rootfs_profiles_to_string(rr->b.fs.data_profiles, dp, sizeof(dp)),
                            rootfs_profiles_to_string(rr->b.fs.metadata_profiles, mp, sizeof(mp)),
                            rootfs_profiles_to_string(rr->b.fs.system_profiles, sp, sizeof(sp)));
                        return 0;
                }
                if (dfilter)
                        balance[nb++] = dfilter;
                if (mfilter)
                        balance[nb++] = mfilter;
                balance[nb++] = "/";
                balance[nb] = NULL;
                if (d->a->test)
                        return run_or_show(d, balance, why);
                r = root_balance(rr, balance, attempt ? why : &failed);
                if (r < 0 && attempt)
                        return r;
                /* Read back from the kernel (rule 7). A balance on a small, nearly empty
                 * filesystem can stop with ENOSPC relocating the system chunk and succeed when
                 * run again on what is left: once more, then the error. */
                if (r < 0)
                        say(d, "the balance stopped (%s): once more for the chunks left",
                            strna(failed));
                r = btrfs_root_info(rr->fd, rr->newdev, &rr->b, why);
                if (r < 0)
                        return r;
                if (attempt >= 1 &&
                    (rootfs_profiles_weak(rr->b.fs.data_profiles) ||
                     rootfs_profiles_weak(rr->b.fs.metadata_profiles | rr->b.fs.system_profiles)))
                        return errmsg(why, -EIO,
                                      "the balance ended but chunks are still single or dup: "
                                      "see btrfs filesystem df /");
        }
}

/* Step 7 on a btrfs root with a partition on the booted disk (rules 6, 7). */
static int step_root_btrfs(struct ad *d, char **why)
{
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct root_run rr = { .d = d,
                               .fd = fd,
                               .part = d->root_dev ? d->root_dev : "<the new root partition>" };
        struct stat st;
        int r;

        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open /: %m");
        if (d->root_dev) {
                if (stat(d->root_dev, &st) < 0)
                        return errmsg(why, negative_errno(), "cannot open %s: %m", d->root_dev);
                rr.newdev = st.st_rdev;
        }
        r = btrfs_root_info(fd, rr.newdev, &rr.b, why);
        if (r >= 0)
                r = root_follow_running_replace(&rr, why);
        if (r < 0)
                goto out;
        if (rr.b.has_dev)
                say(d, "kept: %s is a device of the root filesystem", rr.part);
        else if (rr.b.missing_devid)
                r = root_replace_missing(&rr, why);
        else if (rr.b.fs.num_devices == 1)
                r = root_add_device(&rr, why);
        else {
                say(d, "not touched: the root filesystem has %" PRIu64 " devices, none missing",
                    rr.b.fs.num_devices);
                r = 1;
        }
        if (r == 0)
                r = root_raise_chunks(&rr, why);
out:
        btrfs_root_done(&rr.b);
        return r < 0 ? r : 0;
}

int step_root(struct ad *d, struct libmnt_table *t, char **why)
{
        struct libmnt_fs *rootfs = mounts_find_target(t, "/");
        const char *type = rootfs ? mnt_fs_get_fstype(rootfs) : NULL;
        _cleanup_strv_free_ char **arrays = NULL;

        if (d->twin)
                return twin_first_copy(d, why);
        if (!streq_ptr(type, "btrfs")) {
                if (root_md_arrays(t, &arrays) == 0 && strv_length(arrays) > 0)
                        return step_root_md(d, arrays, why);
                /* On the booted disk it is a twin's (§12b A1): this root is elsewhere. */
                say(d,
                    "not touched: the root filesystem (%s) is not on the booted disk %s: the "
                    "new disk has no partition for it",
                    strna(type), d->boot_disk);
                return 0;
        }
        if (!d->have_root_part || !gpt_layout_find_partno(&d->layout, d->root_partno)) {
                say(d,
                    "not touched: the btrfs root has no device on the booted disk %s, so the "
                    "new disk has no root partition to give it",
                    d->boot_disk);
                return 0;
        }
        return step_root_btrfs(d, why);
}
