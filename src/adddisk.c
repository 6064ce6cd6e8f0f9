/* SPDX-License-Identifier: MIT */
/*
 * --add-disk (DESIGN.md §12): the run, its seven steps in a table, each a function of named
 * checks and actions: step 1 in adddisk-check.c and adddisk-plan.c, steps 2 and 3 here, 4 to 6
 * in adddisk-esp.c, 7 in adddisk-root.c, the approach-2 twin's in adddisk-twin.c (§12b). Disks
 * are read through disk.h, btrfs through rootfs.h, md through md.h.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include <blkid.h>

#include "adddisk-internal.h"
#include "blockdev.h"
#include "util/errmsg.h"
#include "util/prog.h"
#include "util/strv.h"

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

/* --- signatures (libblkid) ----------------------------------------------------------------- */

/* "an" before ext4, xfs, LVM2_member, iso9660; "a" before the rest. */
static const char *article(const char *word)
{
        return strchr("aeiouxlAEIOUXL", word[0]) && word[0] ? "an" : "a";
}

/* What libblkid recognises on node, in bytes [off, off+size) (size 0: all of it): "a gpt
 * partition table", "a vfat signature (UUID X)". */
int signatures_in(const char *node, uint64_t off, uint64_t size, bool whole, char ***ret)
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
