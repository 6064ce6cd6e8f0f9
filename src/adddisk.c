/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <blkid.h>

#include "adddisk.h"
#include "adddisk-internal.h"
#include "blockdev.h"
#include "disk.h"
#include "bootentry.h"
#include "efivars.h"
#include "fstab.h"
#include "gpt.h"
#include "machine.h"
#include "md.h"
#include "rootfs.h"
#include "sync.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/prog.h"
#include "util/strv.h"
#include "util/progress.h"
#include "util/time-util.h"

/* How long the partition devices and their udev links get to appear after the table is
 * written (udev under TCG in the VM suite: well under a second once the kernel re-read it). */
#define DEVICES_TIMEOUT (30 * USEC_PER_SEC)

static const char *const step_names[ADDDISK_STEPS] = {
        [ADDDISK_STEP_CHECK] = "check",
        [ADDDISK_STEP_GPT] = "partition table",
        [ADDDISK_STEP_DEVICES] = "partition devices",
        [ADDDISK_STEP_ESP] = "ESP filesystem and mount",
        [ADDDISK_STEP_SYNC] = "ESP content",
        [ADDDISK_STEP_BOOTENTRY] = "boot entry",
        [ADDDISK_STEP_ROOT] = "root filesystem",
};

const char *adddisk_step_name(int step)
{
        return step >= 0 && step < ADDDISK_STEPS ? step_names[step] : "?";
}

/* A twin's steps 4 and 7 do more than approach 1's (DESIGN.md §12b). */
static const char *step_title(const struct ad *d, int step)
{
        if (d->twin && step == ADDDISK_STEP_ESP)
                return "filesystems and mounts";
        if (d->twin && step == ADDDISK_STEP_ROOT)
                return "first copy";
        return adddisk_step_name(step);
}

static void ad_done(struct ad *d)
{
        free(d->disk);
        free(d->disk_name);
        free(d->boot_disk);
        free(d->boot_disk_name);
        gpt_layout_done(&d->boot);
        gpt_layout_done(&d->layout);
        free(d->esp_dev);
        free(d->root_dev);
        free(d->esp_mount);
        free(d->replace_src);
        twin_done(d);
}

void say(struct ad *d, const char *fmt, ...)
{
        va_list ap;

        if (!d->out)
                return;
        fputs("  ", d->out);
        va_start(ap, fmt);
        vfprintf(d->out, fmt, ap);
        va_end(ap);
        fputc('\n', d->out);
}

static void step_begin(struct ad *d, int step)
{
        d->step = step;
        d->step_started = now_usec(CLOCK_MONOTONIC);
        if (d->out)
                fprintf(d->out, "step %d/%d, %s:\n", step + 1, ADDDISK_STEPS, step_title(d, step));
}

static void step_end(struct ad *d)
{
        say(d, "(%s %.2fs)", d->a->test ? "shown in" : "done in",
            (double)(now_usec(CLOCK_MONOTONIC) - d->step_started) / USEC_PER_SEC);
}

/* --- running a program ------------------------------------------------------------------- */

char *argv_to_string(char *const *argv)
{
        return rsync_argv_to_string(argv);
}

/* The process runner is util/prog.h's; the command line in its messages is quoted as a shell
 * would read it. */
int run_prog(char *const *argv, bool show, char **why)
{
        _cleanup_free_ char *line = argv_to_string(argv);

        return prog_run(argv, line, show, why);
}

/* Runs argv, or in test mode says it would. */
int run_or_show(struct ad *d, char *const *argv, char **why)
{
        _cleanup_free_ char *line = argv_to_string(argv);

        if (d->a->test) {
                say(d, "would run: %s", strna(line));
                return 0;
        }
        say(d, "running: %s", strna(line));
        return run_prog(argv, d->out != NULL, why);
}

/* Progress of long steps (util/progress.h) on stderr: nothing with -q, more with -v. */
FILE *progress_out(const struct ad *d)
{
        return d->out ? stderr : NULL;
}

enum progress_level progress_level(const struct ad *d)
{
        return !d->out ? PROGRESS_QUIET : d->a->verbose ? PROGRESS_VERBOSE : PROGRESS_NORMAL;
}

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

/* --- signatures (libblkid) ----------------------------------------------------------------- */

/* "an" before ext4, xfs, LVM2_member, iso9660; "a" before the rest. */
static const char *article(const char *word)
{
        return strchr("aeiouxlAEIOUXL", word[0]) && word[0] ? "an" : "a";
}

/* What libblkid recognises on node, in bytes [off, off+size) (size 0: all of it): "a gpt
 * partition table", "a vfat signature (UUID X)". */
static int signatures_in(const char *node, uint64_t off, uint64_t size, bool whole, char ***ret)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = blkid_new_probe();
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int r;

        if (fd < 0)
                return negative_errno();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t)off, (blkid_loff_t)size) < 0)
                return -EIO;
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
                                                      BLKID_SUBLKS_LABEL | BLKID_SUBLKS_MAGIC);
        blkid_probe_enable_partitions(pr, whole);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
        while ((r = blkid_do_probe(pr)) == 0) {
                const char *type = NULL, *pt = NULL, *uuid = NULL;
                _cleanup_free_ char *s = NULL;

                if (blkid_probe_lookup_value(pr, "PTTYPE", &pt, NULL) == 0)
                        r = asprintf(&s, "%s %s partition table", article(pt), pt);
                else if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
                        (void)blkid_probe_lookup_value(pr, "UUID", &uuid, NULL);
                        r = asprintf(&s, "%s %s signature%s%s%s", article(type), type,
                                     uuid ? " (UUID " : "", uuid ? uuid : "", uuid ? ")" : "");
                } else
                        continue;
                if (r < 0 || strv_push(&l, s) < 0)
                        return -ENOMEM;
                s = NULL;
        }
        if (r < 0 && r != 1)
                return -EIO;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Erases every signature libblkid finds in fd's bytes [off, off+size) (size 0: to the end). */
static int wipe_signatures(int fd, uint64_t off, uint64_t size, bool whole, char **why)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = blkid_new_probe();

        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t)off, (blkid_loff_t)size) < 0)
                return errmsg(why, -EIO, "cannot probe bytes %" PRIu64 "+%" PRIu64, off, size);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
        blkid_probe_enable_partitions(pr, whole);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
        while (blkid_do_probe(pr) == 0)
                if (blkid_do_wipe(pr, 0) < 0)
                        return errmsg(why, negative_errno(),
                                      "cannot erase a signature at byte %" PRIu64 ": %m", off);
        return 0;
}

/* --- step 1: check --------------------------------------------------------------------------- */

static void find_root_part(struct ad *d, struct libmnt_table *t);

/* The md arrays the root is on (directly, or LUKS/LVM on them); empty when none. */
static int root_md_arrays(struct libmnt_table *t, char ***ret)
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
static int step_check(struct ad *d, struct libmnt_table *t, char **why)
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

/* --- step 2: the partition table ----------------------------------------------------------- */

static void say_layout(struct ad *d, const char *what, const struct gpt_layout *l)
{
        say(d, "%s: GPT, disk GUID %s, %zu partition(s)", what, l->disk_guid, l->n);
        for (size_t i = 0; i < l->n; i++) {
                const struct gpt_part *p = &l->parts[i];

                say(d,
                    "  %zu: start %" PRIu64 ", %" PRIu64 " sectors (%" PRIu64
                    " MiB), type %s, PARTUUID %s%s%s",
                    p->partno + 1, p->start, p->size, p->size * l->sector_size >> 20, p->type,
                    p->uuid, p->name ? ", name " : "", p->name ? p->name : "");
        }
}

static int step_gpt(struct ad *d, struct libmnt_table *t, char **why)
{
        _cleanup_close_ int fd = -1;
        int r;

        if (d->resume) {
                say(d, "kept: %s already has the booted disk's layout", d->disk);
                return 0;
        }
        if (!d->a->test) {
                /* O_EXCL: the kernel refuses while anything holds the disk or a partition. */
                fd = open(d->disk, O_RDWR | O_CLOEXEC | O_EXCL);
                if (fd < 0)
                        return errmsg(why, negative_errno(),
                                      "cannot open %s for writing (exclusively): %m", d->disk);
                r = wipe_signatures(fd, 0, 0, true, why);
                if (r < 0)
                        return errmsg_prefix(why, r, "%s", d->disk);
                if (fsync(fd) < 0)
                        return errmsg(why, negative_errno(), "cannot flush %s: %m", d->disk);
                close(fd);
                fd = -1;
        }
        r = gpt_write_like(d->disk, &d->boot, d->a->test, &d->layout, why);
        if (r < 0)
                return r;
        say_layout(d, d->a->test ? "would write (GUIDs drawn anew by a real run)" : "wrote",
                   &d->layout);
        if (d->a->test)
                return 0;
        d->wrote_table = true;

        /* A new partition starting where an old filesystem did would show it again: erase
         * what is inside each partition too, before anything looks at it. */
        fd = open(d->disk, O_RDWR | O_CLOEXEC | O_EXCL);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open %s for writing: %m", d->disk);
        for (size_t i = 0; i < d->layout.n; i++) {
                const struct gpt_part *p = &d->layout.parts[i];

                r = wipe_signatures(fd, p->start * d->layout.sector_size,
                                    p->size * d->layout.sector_size, false, why);
                if (r < 0)
                        return errmsg_prefix(why, r, "partition %zu of %s", p->partno + 1, d->disk);
        }
        if (fsync(fd) < 0)
                return errmsg(why, negative_errno(), "cannot flush %s: %m", d->disk);
        /* The kernel re-reads the table: the partition devices appear (step 3). A loop
         * device without partition scanning refuses (EINVAL): step 3 says what then. */
        if (ioctl(fd, BLKRRPART) < 0)
                say(d, "the kernel did not re-read the partition table of %s: %m", d->disk);
        return 0;
}

/* --- step 3: partition devices ----------------------------------------------------------- */

/* /dev/disk/by-partuuid/<uuid> -> a device that is partition p of our disk (a kernel partition
 * of it, or a loop stand-in over its file at p's offset and size). */
int partition_node(struct ad *d, const struct gpt_part *p, char **ret)
{
        _cleanup_free_ char *link = NULL, *dname = NULL, *name = NULL;
        uint64_t start = 0, size = 0;
        struct stat st;
        dev_t disk;
        int r;

        if (asprintf(&link, BY_PARTUUID_DIR "/%s", p->uuid) < 0)
                return -ENOMEM;
        if (stat(link, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        r = disk_of_device(st.st_rdev, &dname, &disk);
        if (r < 0)
                return r;
        if (disk != d->disk_devnum)
                return -EXDEV;
        r = disk_name_of(st.st_rdev, &name);
        if (r < 0)
                return r;
        r = disk_extent(name, &start, &size);
        if (r < 0)
                return r;
        /* sysfs counts 512-byte sectors whatever the disk's sector size. */
        if (start * 512 != p->start * d->layout.sector_size ||
            size * 512 != p->size * d->layout.sector_size)
                return -ERANGE;
        return asprintf(ret, "/dev/%s", name) < 0 ? -ENOMEM : 0;
}

/* -t: a run to continue may have the partition devices already; the later steps then show
 * what they would do with them. */
static int devices_shown(struct ad *d, const struct gpt_part *esp, const struct gpt_part *root)
{
        if (d->resume && partition_node(d, esp, &d->esp_dev) == 0 &&
            (!root || partition_node(d, root, &d->root_dev) == 0)) {
                say(d, "ESP: %s (PARTUUID %s)", d->esp_dev, esp->uuid);
                if (root)
                        say(d, "root partition: %s (PARTUUID %s)", d->root_dev, root->uuid);
                return 0;
        }
        free(d->esp_dev);
        d->esp_dev = NULL;
        say(d, "would wait up to %llus for %s/<PARTUUID> of each new partition",
            (unsigned long long)(DEVICES_TIMEOUT / USEC_PER_SEC), BY_PARTUUID_DIR);
        return 0;
}

/* Why partition p's device is not there (r, from partition_node()), and what to do. */
static int devices_gave_up(struct ad *d, const struct gpt_part *p, int r, char **why)
{
        bool known = r == -ENOENT || r == -EXDEV || r == -ERANGE || r == -ENOTBLK;

        return errmsg(why, r == -ENOENT ? -ETIMEDOUT : r,
                      "partition %zu of %s (PARTUUID %s): %s/%s %s%s", p->partno + 1, d->disk,
                      p->uuid, BY_PARTUUID_DIR, p->uuid,
                      r == -ENOENT    ? "did not appear"
                      : r == -EXDEV   ? "is a partition of another disk"
                      : r == -ERANGE  ? "is not at the partition's offset and size"
                      : r == -ENOTBLK ? "is not a block device"
                                      : "cannot be resolved: ",
                      !known           ? strerror(-r)
                      : d->wrote_table ? " (udev did not create the link in time; run again once "
                                         "it exists)"
                                       : " (has the kernel re-read the table? partprobe, then run "
                                         "again)");
}

static int step_devices(struct ad *d, struct libmnt_table *t, char **why)
{
        const struct gpt_part *esp = gpt_layout_find_partno(&d->layout, d->esp_partno);
        const struct gpt_part *root =
                d->have_root_part ? gpt_layout_find_partno(&d->layout, d->root_partno) : NULL;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + (d->wrote_table ? DEVICES_TIMEOUT : 0);
        struct progress wait = {};
        bool waiting = false;
        int r_esp, r_root = 0;

        if (d->a->test)
                return devices_shown(d, esp, root);
        for (;;) {
                usec_t now;

                free(d->esp_dev);
                d->esp_dev = NULL;
                r_esp = partition_node(d, esp, &d->esp_dev);
                if (root && !d->root_dev)
                        r_root = partition_node(d, root, &d->root_dev);
                if (r_esp == 0 && r_root == 0)
                        break;
                now = now_usec(CLOCK_MONOTONIC);
                if (now < deadline && !waiting) {
                        /* Said, not waited in silence (DESIGN.md §14). */
                        _cleanup_free_ char *what = NULL;

                        if (asprintf(&what, "waiting for udev to create %s/%s", BY_PARTUUID_DIR,
                                     (r_esp < 0 ? esp : root)->uuid) < 0)
                                return -ENOMEM;
                        (void)progress_begin(&wait, progress_out(d), progress_level(d),
                                             PROGRESS_WAIT, what, now);
                        waiting = true;
                }
                if (waiting)
                        progress_update(&wait, 0, DEVICES_TIMEOUT, now);
                if (now >= deadline) {
                        if (waiting)
                                progress_end(&wait, "gave up", now);
                        return devices_gave_up(d, r_esp < 0 ? esp : root,
                                               r_esp < 0 ? r_esp : r_root, why);
                }
                (void)usleep(50 * 1000);
        }
        if (waiting)
                progress_end(&wait, "there", now_usec(CLOCK_MONOTONIC));
        say(d, "ESP: %s (PARTUUID %s)", d->esp_dev, esp->uuid);
        if (root)
                say(d, "root partition: %s (PARTUUID %s)", d->root_dev, root->uuid);
        /* udev may still be probing the new partitions (holding them open), which would make
         * mkfs's exclusive open fail: let it finish its queue (bounded; no udev, no wait). */
        if (d->wrote_table) {
                char *settle[] = { "udevadm", "settle", "--timeout=10", NULL };

                (void)run_prog(settle, false, NULL);
        }
        return 0;
}

/* --- step 4: the ESP's filesystem, fstab line and mount ------------------------------------ */

/* 1 when the directory path holds a file, 0 when it is empty or absent, -errno when it cannot
 * be read. */
static int dir_has_files(const char *path)
{
        _cleanup_closedir_ DIR *dir = opendir(path);
        struct dirent *de;

        if (!dir)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(dir)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return 1;
        return 0;
}

/* The ESP mount point to use: where fstab already mounts this PARTUUID, where it is mounted,
 * else the first /efi<N> with no fstab line, nothing mounted, and no files. */
static int choose_mount(struct ad *d, struct libmnt_table *t, const char *fstab_text,
                        const char *partuuid, char **ret, char **why)
{
        _cleanup_free_ char *target = NULL;
        int r;

        (void)d;
        r = partuuid ? fstab_text_find_partuuid(fstab_text, partuuid, &target) : 0;
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = TAKE_PTR(target);
                return 0;
        }
        for (unsigned n = 0; n < 1000; n++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "/efi%u", n) < 0)
                        return -ENOMEM;
                if (fstab_text_has_target(fstab_text, p) || mounts_find_target(t, p))
                        continue;
                r = dir_has_files(p);
                if (r != 0)
                        continue;
                *ret = TAKE_PTR(p);
                return 0;
        }
        return errmsg(why, -ENOSPC, "no free /efi<N> mount point (0-999)");
}

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

static int step_esp(struct ad *d, struct libmnt_table *t, char **why)
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

static int step_sync(struct ad *d, struct libmnt_table *mounts, char **why)
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

static int step_bootentry(struct ad *d, struct libmnt_table *mounts, char **why)
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

static int step_root(struct ad *d, struct libmnt_table *t, char **why)
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

/* --- the run ----------------------------------------------------------------------------- */

static int fail_at(struct ad *d, int r, char **why)
{
        _cleanup_free_ char *cause = TAKE_PTR(*why);
        char done[512] = "", todo[512] = "";

        for (int s = 0; s < ADDDISK_STEPS; s++) {
                char *buf = s < d->step ? done : todo;
                size_t n = strlen(buf);

                snprintf(buf + n, sizeof(done) - n, "%s%d %s", n ? ", " : "", s + 1,
                         step_title(d, s));
        }
        return errmsg(why, r, "step %d/%d (%s) failed: %s. Done: %s. Not done: %s. %s", d->step + 1,
                      ADDDISK_STEPS, step_title(d, d->step), cause ? cause : strerror(-r),
                      *done ? done : "nothing", todo,
                      d->step == ADDDISK_STEP_CHECK
                              ? "Nothing was changed."
                              : "Fix the cause and run the same command again: it continues "
                                "where this run stopped.");
}

/* --- step 1, continued: where the new ESP goes ----------------------------------------- */

/* Is the filesystem source of an fstab line (PARTUUID= or UUID=) on a present device? 1 yes,
 * 0 no, -EINVAL for another kind of source (not ours to judge), other -errno: could not look. */
static int source_present(const char *src)
{
        const char *v;

        if (strncasecmp(src, "PARTUUID=", 9) == 0) {
                v = src + 9;
                _cleanup_free_ char *node = NULL;
                dev_t devnum;
                int r = blockdev_from_partuuid(v, &node, &devnum, NULL);

                return r == -ENODEV ? 0 : r < 0 ? r : 1;
        }
        if (strncasecmp(src, "UUID=", 5) == 0) {
                v = src + 5;
                _cleanup_free_ char *link = NULL;
                blkid_cache cache = NULL;
                struct stat st;
                bool found;

                if (asprintf(&link, "/dev/disk/by-uuid/%s", v) < 0)
                        return -ENOMEM;
                if (stat(link, &st) == 0 && S_ISBLK(st.st_mode))
                        return 1;
                /* No udev link: every block device probed; no cache file read or written. */
                if (blkid_get_cache(&cache, "/dev/null") < 0)
                        return -ENOMEM;
                if (blkid_probe_all(cache) < 0) {
                        blkid_put_cache(cache);
                        return -EIO;
                }
                found = blkid_find_dev_with_tag(cache, "UUID", v) != NULL;
                blkid_put_cache(cache);
                return found ? 1 : 0;
        }
        return -EINVAL;
}

struct missing_scan {
        struct ad *d;
        struct libmnt_table *t;
        char **lines;   /* the missing ESPs' fstab lines */
        char **sources; /* their sources */
        char **targets; /* their mount points */
        int error;
        char *error_src;
};

static bool in_esp_set(const struct esp_model *m, const char *target)
{
        STRV_FOREACH(p, m->esp_set)
        if (fstab_same_target(*p, target))
                return true;
        /* the default set is the /efi<N> directories there are; a dead disk's may be gone */
        return !m->esp_set_from_config && target[0] == '/' && esp_name_is_default(target + 1);
}

static int scan_missing(const char *src, const char *target, const char *line, void *u)
{
        struct missing_scan *s = u;
        int r;

        if (!in_esp_set(s->d->m, target) ||
            (s->d->m->booted.mount && fstab_same_target(target, s->d->m->booted.mount)) ||
            mounts_find_target(s->t, target))
                return 0;
        r = source_present(src);
        if (r == -EINVAL || r == 1)
                return 0;
        if (r < 0) {
                s->error = r;
                s->error_src = strdup(src);
                return 1;
        }
        if (strv_extend(&s->lines, line) < 0 || strv_extend(&s->sources, src) < 0 ||
            strv_extend(&s->targets, target) < 0)
                return -ENOMEM;
        return 0;
}

/* The config line that would make esp_mounts name target as well. */
static char *esp_mounts_with(char *const *l, const char *target)
{
        _cleanup_free_ char *s = strdup("esp_mounts = [");

        STRV_FOREACH(p, l)
        {
                char *n;

                if (asprintf(&n, "%s\"%s\", ", s, *p) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        {
                char *n;

                if (!s || asprintf(&n, "%s\"%s\"]", s, target) < 0)
                        return NULL;
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

/* The fstab lines, one an indented line: "\n  LINE\n  LINE". NULL: out of memory. */
static char *lines_list(char *const *lines)
{
        _cleanup_free_ char *list = strdup("");

        STRV_FOREACH(l, lines)
        {
                char *n;

                if (!list || asprintf(&n, "%s\n  %s", list, *l) < 0)
                        return NULL;
                free(list);
                list = n;
        }
        return TAKE_PTR(list);
}

/* The new ESP takes the missing disk's place: the one line of s, whose mount point must hold
 * no files. More than one missing is refused: which is replaced is the user's to say. */
static int plan_take_missing(struct ad *d, const struct missing_scan *s, const char *fstab,
                             char **why)
{
        if (strv_length(s->lines) > 1) {
                _cleanup_free_ char *list = lines_list(s->lines);

                if (!list)
                        return -ENOMEM;
                return errmsg(why, -ENOTUNIQ,
                              "%s has %zu ESP lines whose disk is missing, and a new disk takes "
                              "the place of one:%s\nComment out in %s the line of each disk you "
                              "are not replacing now (keep exactly one; or none, for the next "
                              "free /efi<N>), then run the same command again",
                              fstab, strv_length(s->lines), list, fstab);
        }
        if (dir_has_files(s->targets[0]) > 0)
                return errmsg(why, -ENOTEMPTY,
                              "%s, the missing ESP's mount point, holds files though nothing is "
                              "mounted there: move them away (the new ESP would hide them), "
                              "then run the same command again",
                              s->targets[0]);
        d->esp_mount = strdup(s->targets[0]);
        d->replace_src = strdup(s->sources[0]);
        if (!d->esp_mount || !d->replace_src)
                return -ENOMEM;
        say(d,
            "the new ESP's mount point: %s, the missing disk's: no present disk holds %s, which "
            "%s mounts there; its line gets the new ESP's PARTUUID at step 4",
            d->esp_mount, d->replace_src, fstab);
        return 0;
}

/* Approach 1 with no line of an earlier run: the missing disk's mount point, else the next
 * free /efi<N>. */
static int plan_mount_point(struct ad *d, struct libmnt_table *t, const char *fstab,
                            const char *text, char **why)
{
        struct missing_scan s = { .d = d, .t = t };
        int r;

        r = fstab_text_foreach(text, scan_missing, &s);
        if (s.error)
                r = errmsg(why, s.error, "cannot tell whether %s of %s is on a present disk: %s",
                           strna(s.error_src), fstab, strerror(-s.error));
        else if (r >= 0 && strv_length(s.lines) > 0)
                r = plan_take_missing(d, &s, fstab, why);
        else if (r >= 0) {
                r = choose_mount(d, t, text, NULL, &d->esp_mount, why);
                if (r >= 0)
                        say(d,
                            "the new ESP's mount point: %s (no ESP of %s is missing: the next "
                            "free /efi<N>)",
                            d->esp_mount, fstab);
        }
        strv_free(s.lines);
        strv_free(s.sources);
        strv_free(s.targets);
        free(s.error_src);
        return r < 0 ? r : 0;
}

/* A mount point the sync does not know would fail step 5, after the disk is written. */
static int check_esp_mounts_names(struct ad *d, char **why)
{
        _cleanup_free_ char *want = NULL;

        if (!d->m->esp_set_from_config || !d->a->config->esp_mounts ||
            strv_contains(d->a->config->esp_mounts, d->esp_mount))
                return 0;
        want = esp_mounts_with(d->a->config->esp_mounts, d->esp_mount);
        return errmsg(why, -EINVAL,
                      "esp_mounts in %s does not name %s, where the new ESP goes, so no sync "
                      "would reach it. Set there: %s",
                      strna(d->a->config->path), d->esp_mount, strna(want));
}

/*
 * DESIGN.md §12 rule 9: the new ESP's mount point, decided at step 1 so that -t shows it and a
 * config that would not sync it stops the run before anything is written. An earlier run's line
 * for the new ESP wins; else the one missing disk's ESP line (its PARTUUID or UUID on no present
 * device, its mount point in the ESP set and not mounted) is taken over; two or more missing are
 * refused; none: the next free /efi<N>.
 */
static int plan_mount(struct ad *d, struct libmnt_table *t, char **why)
{
        const char *fstab = fstab_path();
        const struct gpt_part *esp =
                d->resume ? gpt_layout_find_partno(&d->layout, d->esp_partno) : NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file(fstab, 1024 * 1024, &text, NULL);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", fstab, strerror(-r));
        if (!text)
                return -ENOMEM;

        if (esp && fstab_text_find_partuuid(text, esp->uuid, &d->esp_mount) > 0) {
                say(d,
                    "the new ESP's mount point: %s (%s mounts PARTUUID=%s there: an earlier run)",
                    d->esp_mount, fstab, esp->uuid);
        } else if (d->twin) {
                /* §12b A4: below the twin's root, where the booted one is below ours */
                if (asprintf(&d->esp_mount, "%s%s", d->alt_root, d->m->booted.mount) < 0) {
                        d->esp_mount = NULL;
                        return -ENOMEM;
                }
                say(d, "the new ESP's mount point: %s (the twin's root is mounted on %s)",
                    d->esp_mount, d->alt_root);
        } else {
                r = plan_mount_point(d, t, fstab, text, why);
                if (r < 0)
                        return r;
        }
        return check_esp_mounts_names(d, why);
}

/* Approach 2 (DESIGN.md §12b A1): a root on the booted disk that is neither btrfs nor on md. */
static bool wants_twin(struct ad *d, struct libmnt_table *t)
{
        struct libmnt_fs *rootfs = mounts_find_target(t, "/");
        _cleanup_strv_free_ char **arrays = NULL;

        if (!rootfs || streq_ptr(mnt_fs_get_fstype(rootfs), "btrfs") || !d->have_root_part)
                return false;
        return !(root_md_arrays(t, &arrays) == 0 && strv_length(arrays) > 0);
}

static int step_check_and_plan(struct ad *d, struct libmnt_table *t, char **why)
{
        int r = step_check(d, t, why);

        if (r < 0)
                return r;
        if (wants_twin(d, t)) {
                r = twin_plan(d, t, why);
                if (r < 0)
                        return r;
        }
        return plan_mount(d, t, why);
}

/* The steps, in the order of the ADDDISK_STEP_* values: each finds what an earlier run did. */
static int (*const steps[ADDDISK_STEPS])(struct ad *d, struct libmnt_table *t, char **why) = {
        [ADDDISK_STEP_CHECK] = step_check_and_plan,
        [ADDDISK_STEP_GPT] = step_gpt,
        [ADDDISK_STEP_DEVICES] = step_devices,
        [ADDDISK_STEP_ESP] = step_esp,
        [ADDDISK_STEP_SYNC] = step_sync,
        [ADDDISK_STEP_BOOTENTRY] = step_bootentry,
        [ADDDISK_STEP_ROOT] = step_root,
};

int adddisk_run(const struct adddisk_args *a, const struct esp_model *m, char **why)
{
        _cleanup_(ad_done) struct ad d = { .a = a, .m = m, .out = a->out };
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        int r;

        if (!m->boot_ok || !m->device_ok)
                return errmsg(why, -ENOENT,
                              "cannot add a disk: the booted ESP is unknown (%s); the layout "
                              "and the ESP content come from the booted disk",
                              strna(m->why));
        if (!m->booted.mount) {
                _cleanup_free_ char *hint = adddisk_esp_hint(m, a->config, a->device);

                return errmsg(why, -ENOENT,
                              "cannot add a disk: the booted ESP %s is not mounted on an ESP "
                              "mount point%s%s",
                              m->booted.device, hint ? ": " : "", hint ? hint : "");
        }
        r = mounts_load(NULL, &t);
        if (r < 0)
                return errmsg(why, r, "cannot read the mount table: %s", strerror(-r));

        for (int i = 0; i < ADDDISK_STEPS; i++) {
                step_begin(&d, i);
                r = steps[i](&d, t, why);
                if (r < 0)
                        return fail_at(&d, r, why);
                step_end(&d);
        }
        return 0;
}
