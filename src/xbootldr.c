/* SPDX-License-Identifier: MIT */
/*
 * An ESP's disk and its partitions, XBOOTLDR among them (DESIGN.md §11c rule X1): found by
 * partition type on the disk that holds the ESP, wherever it is mounted.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blkid.h>

#include "blockdev.h"
#include "bootentry.h"
#include "util/errmsg.h"
#include "util/strv.h"
#include "xbootldr.h"

void disk_parts_done(struct disk_parts *d)
{
        for (size_t i = 0; i < d->n; i++) {
                struct disk_part *p = &d->parts[i];

                free(p->type);
                free(p->partuuid);
                free(p->partlabel);
                free(p->node);
                free(p->fstype);
                free(p->uuid);
                free(p->label);
                free(p->mount);
        }
        free(d->parts);
        free(d->disk);
        free(d->node);
        *d = (struct disk_parts){};
}

static char *lower_dup(const char *s)
{
        char *d = s ? strdup(s) : NULL;

        for (char *p = d; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return d;
}

/* The kernel name of the disk holding partition devnum: sysfs's dev/block/MAJ:MIN resolves to
 * the partition's directory, which has a "partition" attribute and sits in its disk's.
 * -ENOTBLK when devnum is no partition. */
static int disk_of_partition(const char *sysfs, dev_t devnum, char **ret)
{
        _cleanup_free_ char *link = NULL, *real = NULL, *attr = NULL;
        char *slash;

        if (asprintf(&link, "%s/dev/block/%u:%u", sysfs, major(devnum), minor(devnum)) < 0)
                return -ENOMEM;
        real = realpath(link, NULL);
        if (!real)
                return errno == ENOMEM ? -ENOMEM : -ENOTBLK;
        if (asprintf(&attr, "%s/partition", real) < 0)
                return -ENOMEM;
        if (access(attr, F_OK) < 0)
                return -ENOTBLK;
        slash = strrchr(real, '/');
        if (!slash)
                return -ENOTBLK;
        *slash = 0;
        slash = strrchr(real, '/');
        if (!slash || !slash[1])
                return -ENOTBLK;
        *ret = strdup(slash + 1);
        return *ret ? 0 : -ENOMEM;
}

/* udev's link for a PARTUUID, when it is a block device; no scan of every disk. */
static int node_of_partuuid(const char *partuuid, char **ret, dev_t *ret_devnum)
{
        _cleanup_free_ char *link = NULL;
        struct stat st;

        if (asprintf(&link, BY_PARTUUID_DIR "/%s", partuuid) < 0)
                return -ENOMEM;
        if (stat(link, &st) < 0 || !S_ISBLK(st.st_mode))
                return 0;
        *ret = realpath(link, NULL);
        if (!*ret)
                return errno == ENOMEM ? -ENOMEM : 0;
        *ret_devnum = st.st_rdev;
        return 0;
}

/* Its own mount (the filesystem's root mounted), else the first mount of the device. */
static int mount_of(struct libmnt_table *t, dev_t devnum, char **ret)
{
        struct libmnt_iter *it;
        struct libmnt_fs *fs;
        const char *first = NULL, *own = NULL;

        if (!t)
                return 0;
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        while (mnt_table_next_fs(t, it, &fs) == 0) {
                if (mnt_fs_get_devno(fs) != devnum)
                        continue;
                if (!first)
                        first = mnt_fs_get_target(fs);
                if (!own && streq_ptr(mnt_fs_get_root(fs), "/"))
                        own = mnt_fs_get_target(fs);
        }
        mnt_free_iter(it);
        if (own || first) {
                *ret = strdup(own ? own : first);
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

static int fill_part(blkid_partition bp, struct libmnt_table *t, struct disk_part *p)
{
        const char *v;
        struct blockdev_probe pr = {};
        int r;

        p->partno = (unsigned)blkid_partition_get_partno(bp);
        if (((v = blkid_partition_get_type_string(bp)) && !(p->type = lower_dup(v))) ||
            ((v = blkid_partition_get_uuid(bp)) && !(p->partuuid = lower_dup(v))) ||
            ((v = blkid_partition_get_name(bp)) && !(p->partlabel = strdup(v))))
                return -ENOMEM;
        if (!p->type && asprintf(&p->type, "0x%x", blkid_partition_get_type(bp)) < 0)
                return -ENOMEM;
        if (!p->partuuid)
                return 0;
        r = node_of_partuuid(p->partuuid, &p->node, &p->devnum);
        if (r < 0 || !p->node)
                return r;
        r = blockdev_probe(p->node, NULL, &pr);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                p->fstype = pr.fstype;
                p->uuid = pr.uuid;
                p->label = pr.label;
        }
        return mount_of(t, p->devnum, &p->mount);
}

int disk_parts_of(const char *sysfs, dev_t part_devnum, struct libmnt_table *t,
                  struct disk_parts *ret, char **why)
{
        _cleanup_(disk_parts_done) struct disk_parts d = {};
        _cleanup_close_ int fd = -1; /* declared before pr: freed after it */
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        blkid_partlist pl;
        int r, n;

        r = disk_of_partition(sysfs, part_devnum, &d.disk);
        if (r < 0)
                return r;
        if (asprintf(&d.node, "/dev/%s", d.disk) < 0)
                return -ENOMEM;
        /* opened here, not by libblkid, for the errno of a refusal */
        fd = open(d.node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot read %s's partition table: %m",
                              d.node);
        pr = blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return errmsg(why, -EIO, "cannot read %s's partition table", d.node);
        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        pl = blkid_probe_get_partitions(pr);
        if (!pl)
                return errmsg(why, -ENODATA, "%s has no partition table libblkid reads", d.node);
        n = blkid_partlist_numof_partitions(pl);
        d.parts = calloc(n > 0 ? (size_t)n : 1, sizeof(*d.parts));
        if (!d.parts)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                blkid_partition bp = blkid_partlist_get_partition(pl, i);

                if (!bp)
                        continue;
                r = fill_part(bp, t, &d.parts[d.n++]);
                if (r < 0)
                        return r;
        }
        *ret = d;
        d = (struct disk_parts){};
        return 0;
}

const struct disk_part *disk_parts_xbootldr(const struct disk_parts *d)
{
        for (size_t i = 0; i < d->n; i++)
                if (streq_ptr(d->parts[i].type, XBOOTLDR_GPT_TYPE))
                        return &d->parts[i];
        return NULL;
}

struct libmnt_fs *disk_part_fstab_line(const struct disk_part *p, struct libmnt_table *fstab)
{
        struct libmnt_iter *it;
        struct libmnt_fs *fs, *found = NULL;

        if (!fstab)
                return NULL;
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it)
                return NULL;
        while (!found && mnt_table_next_fs(fstab, it, &fs) == 0) {
                const char *name = NULL, *value = NULL, *src = mnt_fs_get_source(fs), *v;
                struct stat st;

                if (mnt_fs_get_tag(fs, &name, &value) == 0 && value) {
                        if ((streq_ptr(name, "PARTUUID") && p->partuuid &&
                             strcasecmp(value, p->partuuid) == 0) ||
                            (streq_ptr(name, "UUID") && p->uuid &&
                             strcasecmp(value, p->uuid) == 0) ||
                            (streq_ptr(name, "LABEL") && streq_ptr(value, p->label)) ||
                            (streq_ptr(name, "PARTLABEL") && streq_ptr(value, p->partlabel)))
                                found = fs;
                        continue;
                }
                if (!src)
                        continue;
                if ((v = startswith(src, BY_PARTUUID_DIR "/")) && p->partuuid &&
                    strcasecmp(v, p->partuuid) == 0)
                        found = fs;
                else if (src[0] == '/' && p->node && stat(src, &st) == 0 && S_ISBLK(st.st_mode) &&
                         st.st_rdev == p->devnum)
                        found = fs;
        }
        mnt_free_iter(it);
        return found;
}

int xbootldr_driver_name(const char *fstype, char **ret)
{
        *ret = NULL;
        if (!fstype || streq(fstype, "vfat") || streq(fstype, "msdos"))
                return 0;
        return asprintf(ret, "%s_%s.efi", fstype, EFI_ARCH) < 0 ? -ENOMEM : 0;
}
