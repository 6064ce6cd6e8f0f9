/* SPDX-License-Identifier: MIT */
/* The partition table of the disk holding a partition (disk.h; DESIGN.md §11c X1): the disk from
 * sysfs (the seam), the table by libblkid. Apart from disk.c so that disk.c's readers of sysfs
 * build without libblkid (fuzz-mdconf). */
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkid.h>

#include "disk.h"
#include "util/errmsg.h"

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
        _cleanup_free_ char *link = NULL, *disk = NULL;
        unsigned partno;
        int r;

        if (disk_dev_dir(sysfs, devnum, &link) < 0)
                return -ENOMEM;
        r = disk_names_of_dir(link, NULL, &disk, &partno);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || partno == 0)
                return -ENOTBLK;
        *ret = TAKE_PTR(disk);
        return 0;
}

static void probe_freep(blkid_probe *pr)
{
        if (*pr)
                blkid_free_probe(*pr);
}

/* The table's facts of partition bp into p. */
static int fill_part(blkid_partition bp, struct disk_part *p)
{
        const char *v;

        p->partno = (unsigned)blkid_partition_get_partno(bp);
        if (((v = blkid_partition_get_type_string(bp)) && !(p->type = lower_dup(v))) ||
            ((v = blkid_partition_get_uuid(bp)) && !(p->partuuid = lower_dup(v))) ||
            ((v = blkid_partition_get_name(bp)) && !(p->partlabel = strdup(v))))
                return -ENOMEM;
        if (!p->type && asprintf(&p->type, "0x%x", blkid_partition_get_type(bp)) < 0)
                return -ENOMEM;
        return 0;
}

int disk_partition_table(const char *sysfs, dev_t part_devnum, struct disk_parts *ret, char **why)
{
        _cleanup_(disk_parts_done) struct disk_parts d = {};
        _cleanup_close_ int fd = -1; /* declared before pr: freed after it */
        _cleanup_(probe_freep) blkid_probe pr = NULL;
        blkid_partlist pl;
        int r, n;

        assert(sysfs);
        assert(ret);
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
                r = fill_part(bp, &d.parts[d.n++]);
                if (r < 0)
                        return r;
        }
        *ret = d;
        d = (struct disk_parts){};
        return 0;
}
