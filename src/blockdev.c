/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <blkid.h>

#include "blockdev.h"
#include "disk.h"
#include "util/errmsg.h"
#include "util/log.h"
#include "util/strv.h"

int mounts_load(const char *path, struct libmnt_table **ret)
{
        _cleanup_mnt_table_ struct libmnt_table *t = mnt_new_table();
        int r;

        assert(ret);
        if (!t)
                return -ENOMEM;
        r = mnt_table_parse_file(t, path ? path : MOUNTINFO_DEFAULT);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

struct libmnt_fs *mounts_find_target(struct libmnt_table *t, const char *target)
{
        _cleanup_free_ char *p = path_strip_trailing_slashes(target);
        struct libmnt_iter *it;
        struct libmnt_fs *fs, *found = NULL;

        assert(t);
        assert(target);
        if (!p)
                return NULL;
        /* Walk backwards: the last entry for a target is the one on top (mount order). We
         * compare strings ourselves rather than use mnt_table_find_target(), which may
         * canonicalize through the filesystem. */
        it = mnt_new_iter(MNT_ITER_BACKWARD);
        if (!it)
                return NULL;
        while (mnt_table_next_fs(t, it, &fs) == 0) {
                const char *tg = mnt_fs_get_target(fs);

                if (tg && streq(tg, p)) {
                        found = fs;
                        break;
                }
        }
        mnt_free_iter(it);
        return found;
}

int mounts_of_devnum(struct libmnt_table *t, dev_t devnum, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        struct libmnt_iter *it;
        struct libmnt_fs *fs;
        int r = 0;

        assert(t);
        assert(ret);
        if (!l)
                return -ENOMEM;
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        while (mnt_table_next_fs(t, it, &fs) == 0) {
                const char *tg = mnt_fs_get_target(fs);

                if (mnt_fs_get_devno(fs) != devnum || !tg || strv_contains(l, tg))
                        continue;
                r = strv_extend(&l, tg);
                if (r < 0)
                        break;
        }
        mnt_free_iter(it);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Lower-cases a GUID into a new string, checking it only holds GUID characters so it is
 * safe as a file name. */
static int partuuid_normalize(const char *partuuid, char **ret)
{
        size_t n = strlen(partuuid);
        char *s;

        if (n == 0 || n > 64)
                return -EINVAL;
        s = strdup(partuuid);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++) {
                if (!isxdigit((unsigned char)*p) && *p != '-') {
                        free(s);
                        return -EINVAL;
                }
                *p = (char)tolower((unsigned char)*p);
        }
        *ret = s;
        return 0;
}

static int blkid_scan_partuuid(const char *partuuid, char **ret_node)
{
        blkid_cache cache = NULL;
        blkid_dev dev;
        char *node = NULL;

        /* "/dev/null" as cache file: scan the devices, never read or write
         * /run/blkid/blkid.tab (documented in libblkid's blkid_get_cache). */
        if (blkid_get_cache(&cache, "/dev/null") < 0)
                return -ENOMEM;
        if (blkid_probe_all(cache) < 0) {
                blkid_put_cache(cache);
                return -EIO;
        }
        dev = blkid_find_dev_with_tag(cache, "PARTUUID", partuuid);
        if (dev) {
                node = strdup(blkid_dev_devname(dev));
                if (!node) {
                        blkid_put_cache(cache);
                        return -ENOMEM;
                }
        }
        blkid_put_cache(cache);
        if (!node)
                return -ENODEV;
        *ret_node = node;
        return 0;
}

int blockdev_from_partuuid(const char *partuuid, char **ret_node, dev_t *ret_devnum, char **why)
{
        _cleanup_free_ char *lower = NULL, *link = NULL, *node = NULL;
        struct stat st;
        int r;

        assert(partuuid);
        assert(ret_node);
        assert(ret_devnum);
        r = partuuid_normalize(partuuid, &lower);
        if (r < 0)
                return errmsg(why, r, "'%s' is not a PARTUUID", partuuid);

        if (asprintf(&link, BY_PARTUUID_DIR "/%s", lower) < 0)
                return -ENOMEM;
        if (stat(link, &st) == 0) {
                if (!S_ISBLK(st.st_mode))
                        return errmsg(why, -ENOTBLK, "%s is not a block device", link);
                r = disk_node_of(st.st_rdev, &node);
                if (r < 0) {
                        /* Keep the link's own name: still a valid path to the device. */
                        node = TAKE_PTR(link);
                }
                *ret_node = TAKE_PTR(node);
                *ret_devnum = st.st_rdev;
                return 0;
        }
        if (errno != ENOENT)
                return errmsg(why, negative_errno(), "cannot stat %s: %s", link, strerror(errno));

        log_debug("%s does not exist, scanning block devices with libblkid", link);
        r = blkid_scan_partuuid(lower, &node);
        if (r == -ENODEV)
                return errmsg(why, r,
                              "no block device has PARTUUID %s (no %s link, and a libblkid "
                              "scan of all block devices found none)",
                              lower, link);
        if (r < 0)
                return errmsg(why, r, "cannot scan block devices for PARTUUID %s: %s", lower,
                              strerror(-r));
        if (stat(node, &st) < 0)
                return errmsg(why, negative_errno(), "cannot stat %s: %s", node, strerror(errno));
        if (!S_ISBLK(st.st_mode))
                return errmsg(why, -ENOTBLK, "%s is not a block device", node);
        *ret_node = TAKE_PTR(node);
        *ret_devnum = st.st_rdev;
        return 0;
}

static int partuuid_from_links(dev_t devnum, char **ret)
{
        DIR *d = opendir(BY_PARTUUID_DIR);
        struct dirent *de;
        int r = -ENOENT;

        if (!d)
                return errno == ENOENT ? -ENOENT : negative_errno();
        while ((de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISBLK(st.st_mode))
                        continue;
                if (st.st_rdev != devnum)
                        continue;
                r = partuuid_normalize(de->d_name, ret);
                if (r != -EINVAL)
                        break;
                r = -ENOENT;
        }
        closedir(d);
        return r;
}

/* The partition table's key (PART_ENTRY_UUID, PART_ENTRY_TYPE) for the partition node,
 * lower-cased, read by libblkid; -ENOENT when it has none. */
static int part_entry_value(const char *node, const char *key, char **ret)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        const char *v = NULL;
        char *s;

        pr = blkid_new_probe_from_filename(node);
        if (!pr)
                return negative_errno();
        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        if (blkid_do_safeprobe(pr) != 0)
                return -ENOENT;
        if (blkid_probe_lookup_value(pr, key, &v, NULL) < 0 || !v)
                return -ENOENT;
        s = strdup(v);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        *ret = s;
        return 0;
}

int blockdev_partuuid_of(const char *node, dev_t devnum, char **ret)
{
        _cleanup_free_ char *v = NULL;
        int r;

        assert(ret);
        r = partuuid_from_links(devnum, ret);
        if (r != -ENOENT)
                return r;
        if (!node)
                return -ENOENT;
        r = part_entry_value(node, "PART_ENTRY_UUID", &v);
        if (r < 0)
                return r;
        return partuuid_normalize(v, ret);
}

void blockdev_probe_done(struct blockdev_probe *p)
{
        assert(p);
        free(p->uuid);
        free(p->fstype);
        free(p->label);
        *p = (struct blockdev_probe){};
}

static int probe_value(blkid_probe pr, const char *name, char **ret)
{
        const char *v = NULL;

        if (blkid_probe_lookup_value(pr, name, &v, NULL) < 0 || !v) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int blockdev_probe(const char *node, const char *fstype_hint, struct blockdev_probe *ret)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        struct blockdev_probe p = {};
        int r = 1;

        assert(node);
        assert(ret);
        errno = 0;
        pr = blkid_new_probe_from_filename(node);
        if (!pr)
                return negative_errno();
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE |
                                                      BLKID_SUBLKS_LABEL);
        if (!isempty(fstype_hint)) {
                char *only[] = { (char *)fstype_hint, NULL };

                if (blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_ONLYIN, only) == 0) {
                        r = blkid_do_safeprobe(pr);
                        if (r != 0) {
                                /* Not that type after all: look for anything. */
                                blkid_probe_reset_superblocks_filter(pr);
                                blkid_reset_probe(pr);
                        }
                }
        }
        if (r != 0)
                r = blkid_do_safeprobe(pr);
        if (r == 1 || r == -2) /* nothing found, or ambiguous: no answer we can trust */
                return -ENODATA;
        if (r < 0)
                return -EIO;
        if (probe_value(pr, "UUID", &p.uuid) < 0 || probe_value(pr, "TYPE", &p.fstype) < 0 ||
            probe_value(pr, "LABEL", &p.label) < 0) {
                blockdev_probe_done(&p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

/* The partitions of the whole disk node whose entry UUID is partuuid, appended to *list as
 * "NODE partition N". A disk that cannot be read has none. */
static int disk_partuuid_scan(const char *node, const char *partuuid, char ***list)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = blkid_new_probe_from_filename(node);
        blkid_partlist pl;
        int n;

        if (!pr)
                return errno == ENOMEM ? -ENOMEM : 0;
        blkid_probe_enable_superblocks(pr, 0);
        blkid_probe_enable_partitions(pr, 1);
        pl = blkid_probe_get_partitions(pr);
        n = pl ? blkid_partlist_numof_partitions(pl) : 0;
        for (int i = 0; i < n; i++) {
                blkid_partition p = blkid_partlist_get_partition(pl, i);
                const char *u = p ? blkid_partition_get_uuid(p) : NULL;
                _cleanup_free_ char *s = NULL;

                if (!u || strcasecmp(u, partuuid) != 0)
                        continue;
                if (asprintf(&s, "%s partition %d", node, blkid_partition_get_partno(p)) < 0 ||
                    strv_extend(list, s) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int blockdev_partuuid_holders(const char *partuuid, const char *sysfs_root, const char *disks,
                              char ***ret)
{
        _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
        int r = 0;

        assert(partuuid);
        assert(ret);
        if (!list)
                return -ENOMEM;
        if (disks) {
                _cleanup_free_ char *copy = strdup(disks);
                char *save = NULL;

                if (!copy)
                        return -ENOMEM;
                for (char *n = strtok_r(copy, ":", &save); n && r >= 0;
                     n = strtok_r(NULL, ":", &save))
                        r = disk_partuuid_scan(n, partuuid, &list);
        } else if (sysfs_root) {
                _cleanup_strv_free_ char **names = NULL;

                r = disk_list_partitioned(sysfs_root, &names);
                STRV_FOREACH(n, names)
                {
                        _cleanup_free_ char *node = NULL;

                        if (r < 0)
                                break;
                        if (asprintf(&node, "/dev/%s", *n) < 0)
                                r = -ENOMEM;
                        else
                                r = disk_partuuid_scan(node, partuuid, &list);
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}

int blockdev_part_type(const char *node, char **ret)
{
        assert(node);
        assert(ret);
        return part_entry_value(node, "PART_ENTRY_TYPE", ret);
}
