/* SPDX-License-Identifier: MIT */
/*
 * The XBOOTLDR partition of an ESP's disk (DESIGN.md §11c rule X1): found by partition type
 * among the partitions of the disk that holds the ESP (disk.h's disk_parts_of()), wherever it
 * is mounted.
 */
#include <assert.h>
#include <strings.h>
#include <sys/stat.h>

#include "blockdev.h"
#include "bootentry.h"
#include "xbootldr.h"

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

/* What the loader and the mount table see of partition p: its node, filesystem, mount. */
static int fill_part(struct libmnt_table *t, struct disk_part *p)
{
        struct blockdev_probe pr = {};
        int r;

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
        int r;

        assert(ret);
        r = disk_partition_table(sysfs, part_devnum, &d, why);

        if (r < 0)
                return r;
        for (size_t i = 0; i < d.n; i++) {
                r = fill_part(t, &d.parts[i]);
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
