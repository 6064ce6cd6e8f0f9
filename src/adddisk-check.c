/* SPDX-License-Identifier: MIT */
/* --add-disk's step 1 (DESIGN.md §12 rules 1-3, 8): the disk given may be written, and what
 * is on it. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "fstab.h"
#include "md.h"
#include "rootfs.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

/* --- what the machine uses (disk.c's sysfs answers, rootfs.c's btrfs) ---------------------- */

/* §12 rule 8: whether the device (devnum dev, given as arg) is backed by the booted disk: -EBUSY
 * naming the shared storage when it is, or the reason it cannot be told. */
static int check_not_booted_disk(struct ad *d, dev_t dev, char **why)
{
        struct disk_leaf *cand = NULL, *boot = NULL;
        _cleanup_free_ char *boot_name = NULL;
        size_t n_cand = 0, n_boot = 0;
        dev_t boot_disk;
        int r;

        /* The booted disk itself, by the name §3 found it under. */
        if (disk_of_device(d->m->booted.devnum, &boot_name, &boot_disk) >= 0 && boot_disk == dev)
                return errmsg(why, -EBUSY,
                              "%s is the booted disk (it holds the booted ESP %s): give the new "
                              "or replacement disk",
                              d->a->device, d->m->booted.device);
        r = disk_leaves(dev, &cand, &n_cand, why);
        if (r >= 0)
                r = disk_leaves(d->m->booted.devnum, &boot, &n_boot, why);
        if (r < 0) {
                r = errmsg_prefix(why, r, "cannot tell whether %s is backed by the booted disk",
                                  d->a->device);
                goto out;
        }
        for (size_t i = 0; i < n_cand; i++)
                for (size_t j = 0; j < n_boot; j++)
                        if (cand[i].file == boot[j].file && cand[i].dev == boot[j].dev &&
                            cand[i].ino == boot[j].ino) {
                                r = errmsg(why, -EBUSY,
                                           "%s is the booted disk under another name: %s, "
                                           "which also holds the booted ESP %s (%s): give the "
                                           "new or replacement disk",
                                           d->a->device, cand[i].path, d->m->booted.device,
                                           boot[j].path);
                                goto out;
                        }
out:
        disk_leaves_free(cand, n_cand);
        disk_leaves_free(boot, n_boot);
        return r;
}

#define BTRFS_USE "a device of the mounted btrfs filesystem "

/* The fsid of the btrfs mounted on /, as sysfs names it; "" when / is not btrfs. */
static void root_btrfs_fsid(char ret[GUID_STRING_MAX])
{
        _cleanup_close_ int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        ret[0] = 0;
        if (fd >= 0)
                (void)rootfs_btrfs_fsid(fd, ret);
}

/* "mounted on X" when a mount of the table is the block device devnum, else NULL. */
static char *mount_use(dev_t devnum, struct libmnt_table *t)
{
        struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        struct libmnt_fs *fs;
        char *use = NULL;

        while (it && mnt_table_next_fs(t, it, &fs) == 0) {
                const char *src = mnt_fs_get_source(fs);
                struct stat st;

                if (mnt_fs_get_devno(fs) == devnum ||
                    (src && src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode) &&
                     st.st_rdev == devnum)) {
                        if (asprintf(&use, "mounted on %s", strna(mnt_fs_get_target(fs))) < 0)
                                use = NULL;
                        break;
                }
        }
        mnt_free_iter(it);
        return use;
}

/* "in use as swap (X)" when /proc/swaps names the block device devnum, else NULL. */
static char *swap_use(dev_t devnum)
{
        _cleanup_free_ char *swaps = NULL;
        char *use = NULL;

        if (read_full_file("/proc/swaps", 1024 * 1024, &swaps, NULL) < 0)
                return NULL;
        for (char *l = strchr(swaps, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
                _cleanup_free_ char *path = strndup(l + 1, strcspn(l + 1, " \t\n"));
                struct stat st;

                if (path && stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == devnum) {
                        if (asprintf(&use, "in use as swap (%s)", path) < 0)
                                use = NULL;
                        return use;
                }
        }
        return NULL;
}

/* What uses the block device (name, devnum), or NULL: a mount, a holder (RAID, device-mapper),
 * swap, or a mounted btrfs filesystem it belongs to. */
static char *device_use(const char *name, dev_t devnum, struct libmnt_table *t)
{
        _cleanup_free_ char *holder = NULL, *fsid = NULL;
        char *use = mount_use(devnum, t);

        if (use)
                return use;
        if (disk_holder(name, &holder) == 0 && holder) {
                if (asprintf(&use, "held by %s (RAID or device-mapper)", holder) < 0)
                        use = NULL;
                return use;
        }
        use = swap_use(devnum);
        if (use)
                return use;
        if (rootfs_btrfs_of_device(name, &fsid) == 0 && fsid &&
            asprintf(&use, BTRFS_USE "%s", fsid) < 0)
                use = NULL;
        return use;
}

/* --- step 1: check --------------------------------------------------------------------------- */

static void find_root_part(struct ad *d, struct libmnt_table *t);

/* The md arrays the root is on (directly, or LUKS/LVM on them); empty when none. */
int root_md_arrays(struct libmnt_table *t, char ***ret)
{
        struct libmnt_fs *rootfs = mounts_find_target(t, "/");
        struct stat st;

        if (!rootfs || stat("/", &st) < 0)
                return -ENOENT;
        return md_arrays_under(md_sysfs_root(), st.st_dev, ret);
}

/* Whether a signature text (signatures_in) is an md member of one of the root's arrays. */
static bool md_sig_is_roots(const char *sig, char *const *uuids)
{
        const char *u = strstr(sig, "linux_raid_member signature (UUID ");
        _cleanup_free_ char *x = NULL;

        if (!u)
                return false;
        u += strlen("linux_raid_member signature (UUID ");
        x = strndup(u, strcspn(u, ")"));
        STRV_FOREACH(y, uuids)
        if (x && md_uuid_equal(x, *y))
                return true;
        return false;
}

/* The root arrays' UUIDs, for the resume checks (rule 3): an md member of the root made by an
 * earlier run is ours. */
static char **root_md_uuids(struct libmnt_table *t)
{
        _cleanup_strv_free_ char **arrays = NULL;
        char **uuids = calloc(1, sizeof(char *));

        if (!uuids || root_md_arrays(t, &arrays) < 0)
                return uuids;
        STRV_FOREACH(a, arrays)
        {
                _cleanup_(md_array_done) struct md_array m = {};

                if (md_array_read(md_sysfs_root(), *a, &m, NULL) == 0 && m.uuid)
                        (void)strv_extend(&uuids, m.uuid);
        }
        return uuids;
}

/*
 * A disk with the booted disk's layout: an earlier run's work, or something else's? Each
 * partition must be blank, or what --add-disk makes of it: the ESP with its fstab line (step 4
 * writes the line before the filesystem), the root partition a btrfs of the root's fsid.
 * Anything else goes to *foreign (named), and the disk is not a run to continue.
 */
static int resume_check(struct ad *d, const char *fstab_text, const char *root_fsid,
                        char *const *md_uuids, char ***foreign)
{
        for (size_t i = 0; i < d->layout.n; i++) {
                const struct gpt_part *p = &d->layout.parts[i];
                _cleanup_strv_free_ char **sigs = NULL;
                _cleanup_free_ char *btrfs = NULL;
                int r;

                r = signatures_in(d->disk, p->start * d->layout.sector_size,
                                  p->size * d->layout.sector_size, false, &sigs);
                if (r < 0)
                        return r;
                if (strv_length(sigs) == 0)
                        continue;
                if (p->partno == d->esp_partno &&
                    fstab_text_find_partuuid(fstab_text, p->uuid, NULL) > 0)
                        continue;
                if (asprintf(&btrfs, "a btrfs signature (UUID %s)", root_fsid) < 0)
                        return -ENOMEM;
                if (d->have_root_part && p->partno == d->root_partno && root_fsid[0] &&
                    strv_length(sigs) == 1 && streq(sigs[0], btrfs))
                        continue;
                /* a member of the root's md array, added by an earlier run (rule 9) */
                if (strv_length(sigs) == 1 && md_sig_is_roots(sigs[0], md_uuids))
                        continue;
                STRV_FOREACH(x, sigs)
                {
                        char *y;

                        if (asprintf(&y, "%s in partition %zu", *x, p->partno + 1) < 0 ||
                            strv_push(foreign, y) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* What step 1 learns of the machine for its checks. */
struct check_facts {
        char root_fsid[GUID_STRING_MAX]; /* the root btrfs's, "" when none */
        char **md_uuids;                 /* the root's md arrays' UUIDs */
        char **md_arrays;                /* and kernel names */
        char **foreign;                  /* what is on a disk with the booted disk's layout */
        char *diff;                      /* how its layout differs from the booted disk's */
};

static void check_facts_done(struct check_facts *f)
{
        strv_free(f->md_uuids);
        strv_free(f->md_arrays);
        strv_free(f->foreign);
        free(f->diff);
}

/* The device given is a whole disk that may be written: a block device, not the booted disk
 * under any name (rule 8: refused before anything else is looked at), not a partition nor a
 * loop device over part of a file, not read-only. */
static int check_whole_disk(struct ad *d, char **why)
{
        struct stat st;
        int r;

        if (stat(d->a->device, &st) < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", d->a->device);
        if (!S_ISBLK(st.st_mode))
                return errmsg(why, -ENOTBLK, "%s is not a block device", d->a->device);
        r = disk_name_of(st.st_rdev, &d->disk_name);
        if (r < 0)
                return errmsg(why, r, "cannot find %s in /sys/dev/block: %s", d->a->device,
                              strerror(-r));
        r = check_not_booted_disk(d, st.st_rdev, why);
        if (r < 0)
                return r;
        r = disk_is_partition(d->disk_name);
        if (r < 0)
                return errmsg(why, r, "cannot find %s in /sys/class/block: %s", d->disk_name,
                              strerror(-r));
        if (r > 0)
                return errmsg(why, -EINVAL,
                              "%s is a partition, not a whole disk: give the disk (the layout is "
                              "copied from the booted disk)",
                              d->a->device);
        if (disk_is_loop(d->disk_name)) {
                _cleanup_free_ char *f = NULL;
                uint64_t off, size;

                if (disk_loop_backing(d->disk_name, &f, &off, &size) == 0 && (off || size))
                        return errmsg(why, -EINVAL,
                                      "%s is a loop device over part of %s, not a whole disk",
                                      d->a->device, f);
        }
        if (disk_read_only(d->disk_name))
                return errmsg(why, -EROFS, "%s is read-only", d->a->device);
        d->disk_devnum = st.st_rdev;
        return asprintf(&d->disk, "/dev/%s", d->disk_name) < 0 ? -ENOMEM : 0;
}

/* The booted disk, its layout, and which of its partitions is the booted ESP. */
static int check_booted_disk(struct ad *d, char **why)
{
        const struct gpt_part *e;
        dev_t bdev;
        int r;

        r = disk_of_device(d->m->booted.devnum, &d->boot_disk_name, &bdev);
        if (r < 0)
                return errmsg(why, r, "cannot find the disk of the booted ESP %s: %s",
                              d->m->booted.device, strerror(-r));
        if (asprintf(&d->boot_disk, "/dev/%s", d->boot_disk_name) < 0)
                return -ENOMEM;
        if (bdev == d->disk_devnum)
                return errmsg(why, -EBUSY,
                              "%s is the booted disk (it holds the booted ESP %s): give the new "
                              "or replacement disk",
                              d->a->device, d->m->booted.device);
        r = gpt_read(d->boot_disk, &d->boot, why);
        if (r < 0)
                return errmsg_prefix(why, r, "cannot read the booted disk's layout");
        e = gpt_layout_find_type(&d->boot, GPT_TYPE_ESP);
        if (!e || !streq_ptr(e->uuid, d->m->booted.partuuid)) {
                e = NULL;
                for (size_t i = 0; i < d->boot.n; i++)
                        if (streq_ptr(d->boot.parts[i].uuid, d->m->booted.partuuid))
                                e = &d->boot.parts[i];
        }
        if (!e)
                return errmsg(why, -ENOENT,
                              "the booted ESP (PARTUUID %s) is not in the partition table of %s",
                              d->m->booted.partuuid, d->boot_disk);
        d->esp_partno = e->partno;
        return 0;
}

/* The new disk holds the booted disk's layout. */
static int check_size(struct ad *d, char **why)
{
        _cleanup_close_ int fd = open(d->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        uint64_t need = gpt_layout_min_bytes(&d->boot);

        if (fd < 0 || ioctl(fd, BLKGETSIZE64, &d->disk_bytes) < 0)
                return errmsg(why, negative_errno(), "cannot read the size of %s: %m", d->disk);
        if (d->disk_bytes < need)
                return errmsg(why, -ENOSPC,
                              "%s is too small: %" PRIu64 " bytes (%" PRIu64
                              " MiB), the booted disk's layout needs %" PRIu64 " bytes (%" PRIu64
                              " MiB)",
                              d->a->device, d->disk_bytes, d->disk_bytes >> 20, need,
                              (need + (1 << 20) - 1) >> 20);
        return 0;
}

/* Already laid out like the booted disk, holding only what we make: a run to continue
 * (d->resume). Else the layout read is dropped, and what is on the disk is in f->foreign. */
static int check_resume(struct ad *d, struct libmnt_table *t, struct check_facts *f, char **why)
{
        _cleanup_free_ char *text = NULL;
        int r;

        find_root_part(d, t);
        root_btrfs_fsid(f->root_fsid);
        f->md_uuids = root_md_uuids(t);
        if (!f->md_uuids ||
            (root_md_arrays(t, &f->md_arrays) < 0 && !(f->md_arrays = calloc(1, sizeof(char *)))))
                return -ENOMEM;
        if (gpt_read(d->disk, &d->layout, NULL) < 0)
                return 0;
        r = read_full_file(fstab_path(), 1024 * 1024, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return errmsg(why, r, "cannot read %s: %s", fstab_path(), strerror(-r));
        if (gpt_layout_same(&d->boot, &d->layout, &f->diff)) {
                r = resume_check(d, text ? text : "", f->root_fsid, f->md_uuids, &f->foreign);
                if (r < 0)
                        return errmsg(why, r, "cannot probe the partitions of %s: %s", d->disk,
                                      strerror(-r));
                d->resume = strv_length(f->foreign) == 0;
        }
        if (!d->resume)
                gpt_layout_done(&d->layout);
        return 0;
}

/* In a run to continue, whether the use u of partition p is what an earlier run made of it:
 * the ESP mounted on an ESP mount point, a twin's filesystem mounted by us (§12b A4), a device
 * of the root btrfs (a replace or device add we ran), a member of the root's md array (an
 * mdadm --add we ran, rule 9). */
static bool use_is_earlier_runs(struct ad *d, const struct check_facts *f,
                                const struct disk_part_dev *p, const char *u)
{
        const struct gpt_part *esp = gpt_layout_find_partno(&d->layout, d->esp_partno);
        bool is_esp = esp && esp->start == p->start;
        const char *on = startswith(u, "mounted on ");

        if (is_esp && on && esp_name_is_default(on + 1))
                return true;
        if (on && twin_mounted_here(d, on))
                return true;
        if (!is_esp && f->root_fsid[0] && startswith(u, BTRFS_USE) &&
            streq(u + strlen(BTRFS_USE), f->root_fsid))
                return true;
        if (!is_esp && startswith(u, "held by ")) {
                const char *h = u + strlen("held by ");
                _cleanup_free_ char *holder = strndup(h, strcspn(h, " "));

                if (holder && strv_contains(f->md_arrays, holder))
                        return true;
        }
        return false;
}

/* Nothing the machine uses is on a partition of the disk, but what an earlier run made. */
static int check_partitions_unused(struct ad *d, struct libmnt_table *t,
                                   const struct check_facts *f, const struct disk_part_dev *parts,
                                   size_t n_parts, char **why)
{
        for (size_t i = 0; i < n_parts; i++) {
                _cleanup_free_ char *u = device_use(parts[i].name, parts[i].devnum, t);

                if (!u)
                        continue;
                if (!d->resume || !use_is_earlier_runs(d, f, &parts[i], u))
                        return errmsg(why, -EBUSY, "%s is in use: its partition /dev/%s is %s",
                                      d->a->device, parts[i].name, u);
                say(d, "/dev/%s is %s (an earlier run of --add-disk)", parts[i].name, u);
        }
        return 0;
}

/* What libblkid finds on the disk and on each of its partitions, named, with what
 * check_resume() found; into *sigs. */
static int signatures_on_disk(struct ad *d, const struct disk_part_dev *parts, size_t n_parts,
                              char ***sigs, char **why)
{
        int r = signatures_in(d->disk, 0, 0, true, sigs);

        if (r < 0)
                return errmsg(why, r, "cannot probe %s for signatures: %s", d->disk, strerror(-r));
        for (size_t i = 0; i < n_parts; i++) {
                _cleanup_strv_free_ char **ps = NULL;
                _cleanup_free_ char *node = NULL;

                if (asprintf(&node, "/dev/%s", parts[i].name) < 0 ||
                    signatures_in(node, 0, 0, false, &ps) < 0)
                        continue;
                STRV_FOREACH(s, ps)
                {
                        char *x;

                        if (asprintf(&x, "%s on %s", *s, node) < 0 || strv_push(sigs, x) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* Anything on the disk is destroyed: only with --force, and named first. */
static int check_blank_or_forced(struct ad *d, const struct check_facts *f,
                                 const struct disk_part_dev *parts, size_t n_parts, char **why)
{
        _cleanup_strv_free_ char **sigs = NULL;
        _cleanup_free_ char *list = NULL;
        int r;

        r = signatures_on_disk(d, parts, n_parts, &sigs, why);
        if (r < 0)
                return r;
        if (strv_extend_strv(&sigs, f->foreign) < 0)
                return -ENOMEM;
        if (strv_length(sigs) == 0)
                return 0;
        list = strv_join(sigs, ", ");
        if (!d->a->force)
                return errmsg(why, -EEXIST, "%s is not blank: it holds %s%s%s. --force destroys it",
                              d->a->device, strna(list),
                              f->diff ? "; its partition table differs from the booted disk's: "
                                      : "",
                              f->diff ? f->diff : "");
        say(d, "%s: --force: %s destroys %s", d->a->device, d->a->test ? "a real run" : "this run",
            strna(list));
        return 0;
}

/* Step 1 (DESIGN.md §12 rules 1-3, 8): the disk given may be written, and what is on it. */
int step_check(struct ad *d, struct libmnt_table *t, char **why)
{
        _cleanup_(check_facts_done) struct check_facts f = {};
        _cleanup_free_ char *use = NULL;
        struct disk_part_dev *parts = NULL;
        size_t n_parts = 0;
        int r;

        r = check_whole_disk(d, why);
        if (r >= 0)
                r = check_booted_disk(d, why);
        if (r >= 0)
                r = check_size(d, why);
        if (r >= 0)
                r = check_resume(d, t, &f, why);
        if (r < 0)
                return r;

        /* Nothing the machine uses: the disk itself and every partition. In a run to continue,
         * the ESP may be mounted on an ESP mount point and the root partition a device of the
         * root btrfs: what an earlier run made of them. */
        use = device_use(d->disk_name, d->disk_devnum, t);
        if (use)
                return errmsg(why, -EBUSY, "%s is in use: %s", d->a->device, use);
        r = disk_part_devs(d->disk_name, &parts, &n_parts);
        if (r < 0)
                return errmsg(why, r, "cannot list the partitions of %s: %s", d->disk,
                              strerror(-r));
        r = check_partitions_unused(d, t, &f, parts, n_parts, why);
        if (r >= 0 && d->resume)
                say(d, "%s already has the booted disk's layout (GUID %s): continuing", d->disk,
                    d->layout.disk_guid);
        else if (r >= 0)
                r = check_blank_or_forced(d, &f, parts, n_parts, why);
        disk_part_devs_free(parts, n_parts);
        if (r < 0 || d->resume)
                return r;
        say(d, "%s: a whole disk of %" PRIu64 " MiB, nothing on it in use; the booted disk is %s",
            d->disk, d->disk_bytes >> 20, d->boot_disk);
        return 0;
}

/* If dev is a partition of the booted disk, that partition is the root's. */
static bool root_part_from(struct ad *d, dev_t dev)
{
        _cleanup_free_ char *dname = NULL, *name = NULL;
        uint64_t start = 0;
        dev_t disk;

        if (disk_of_device(dev, &dname, &disk) < 0 || !streq(dname, d->boot_disk_name) ||
            disk_name_of(dev, &name) < 0 || disk_extent(name, &start, NULL) < 0)
                return false;
        for (size_t i = 0; i < d->boot.n; i++)
                if (d->boot.parts[i].start * d->boot.sector_size == start * 512) {
                        d->root_partno = d->boot.parts[i].partno;
                        d->have_root_part = true;
                        return true;
                }
        return false;
}

/* Which partition of the booted disk holds the root (a device of a btrfs root). */
static void find_root_part(struct ad *d, struct libmnt_table *t)
{
        struct libmnt_fs *rootfs = mounts_find_target(t, "/");
        const char *src = rootfs ? mnt_fs_get_source(rootfs) : NULL;
        _cleanup_(rootfs_btrfs_done) struct rootfs_btrfs b = {};
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (!rootfs)
                return;
        if (!streq_ptr(mnt_fs_get_fstype(rootfs), "btrfs")) {
                if (src && src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode))
                        (void)root_part_from(d, st.st_rdev);
                return;
        }
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || rootfs_btrfs_read(fd, &b, NULL) < 0)
                return;
        for (size_t i = 0; i < b.n_devices; i++)
                if (b.devices[i].path && stat(b.devices[i].path, &st) == 0 &&
                    root_part_from(d, st.st_rdev))
                        return;
}
