/* SPDX-License-Identifier: MIT */
/* This machine's block device stacks from the kernel's /sys (disk.h): device names, loop
 * stand-ins, a disk's partition devices, holders, the leaves under a device (§12 rule 8). */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"

/* --- this machine's block devices, for --add-disk (the kernel's /sys) ---------------------- */

static int parse_devnum(const char *s, dev_t *ret)
{
        unsigned ma, mi;

        if (sscanf(s, "%u:%u", &ma, &mi) != 2)
                return -EBADMSG;
        *ret = makedev(ma, mi);
        return 0;
}

/* The devnum in the sysfs directory dir's "dev" file. Returns 0, -EBADMSG or -errno. */
static int read_devnum(const char *dir, dev_t *ret)
{
        _cleanup_free_ char *dev = NULL;
        int r = read_first_line_at(dir, "dev", &dev);

        return r < 0 ? r : parse_devnum(dev, ret);
}

/* path (asprintf's, NULL when it failed) resolved into *ret; path is freed. */
static int resolved(char *path, char **ret)
{
        _cleanup_free_ char *p = path;

        if (!p)
                return -ENOMEM;
        *ret = realpath(p, NULL);
        return *ret ? 0 : negative_errno();
}

/* /sys/class/block/<name> resolved. */
static int class_dir(const char *name, char **ret)
{
        char *p;

        return resolved(asprintf(&p, DISK_KERNEL_SYSFS "/class/block/%s", name) < 0 ? NULL : p,
                        ret);
}

/* /sys/dev/block/MAJ:MIN resolved. */
static int devnum_dir(dev_t devnum, char **ret)
{
        char *p;

        return resolved(disk_dev_dir(DISK_KERNEL_SYSFS, devnum, &p) < 0 ? NULL : p, ret);
}

int disk_name_of(dev_t devnum, char **ret)
{
        _cleanup_free_ char *node = NULL;
        int r;

        assert(ret);
        r = disk_node_of(devnum, &node);
        if (r < 0)
                return r;
        *ret = strdup(node + strlen("/dev/"));
        return *ret ? 0 : -ENOMEM;
}

bool disk_is_loop(const char *name)
{
        assert(name);
        return startswith(name, "loop") != NULL;
}

int disk_loop_backing(const char *name, char **ret_file, uint64_t *ret_off, uint64_t *ret_size)
{
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(name);
        assert(ret_file);
        assert(ret_off);
        assert(ret_size);
        if (asprintf(&dir, DISK_KERNEL_SYSFS "/class/block/%s/loop", name) < 0)
                return -ENOMEM;
        r = read_first_line_at(dir, "backing_file", ret_file);
        if (r < 0)
                return r;
        if (disk_read_u64(dir, "offset", ret_off, NULL) < 0)
                *ret_off = 0;
        if (disk_read_u64(dir, "sizelimit", ret_size, NULL) < 0)
                *ret_size = 0;
        return 0;
}

/* Whether the sysfs directory dir is a partition's. */
static bool dir_is_partition(const char *dir)
{
        _cleanup_free_ char *p = NULL;

        return asprintf(&p, "%s/partition", dir) >= 0 && access(p, F_OK) == 0;
}

int disk_is_partition(const char *name)
{
        _cleanup_free_ char *dir = NULL;
        int r;

        assert(name);
        r = class_dir(name, &dir);
        if (r < 0)
                return r;
        return dir_is_partition(dir);
}

bool disk_read_only(const char *name)
{
        _cleanup_free_ char *dir = NULL;
        uint64_t ro = 0;

        assert(name);
        return class_dir(name, &dir) == 0 && disk_read_u64(dir, "ro", &ro, NULL) == 0 && ro;
}

int disk_extent(const char *name, uint64_t *ret_start, uint64_t *ret_size)
{
        _cleanup_free_ char *dir = NULL, *file = NULL;
        uint64_t start, size = 0, off, limit;
        int r;

        assert(name);
        assert(ret_start);
        r = class_dir(name, &dir);
        if (r < 0)
                return r;
        if (disk_read_u64(dir, "start", &start, NULL) < 0) {
                if (disk_loop_backing(name, &file, &off, &limit) < 0)
                        return -EBADMSG;
                start = off / 512;
                size = limit / 512;
        } else if (ret_size && disk_read_u64(dir, "size", &size, NULL) < 0) {
                return -EBADMSG;
        }
        *ret_start = start;
        if (ret_size)
                *ret_size = size;
        return 0;
}

void disk_part_devs_free(struct disk_part_dev *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(p[i].name);
        free(p);
}

static int part_devs_add(struct disk_part_dev **l, size_t *n, const char *name, dev_t devnum,
                         uint64_t start, uint64_t size)
{
        struct disk_part_dev *nl = reallocarray(*l, *n + 1, sizeof(**l));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = (struct disk_part_dev){
                .name = strdup(name), .devnum = devnum, .start = start, .size = size
        };
        if (!nl[*n].name)
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* Every loop device over file: offset 0 and no size limit (a whole-disk stand-in) when whole,
 * else the partition stand-ins; appended to *l. */
static int loops_over(const char *file, bool whole, struct disk_part_dev **l, size_t *n)
{
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;

        dir = opendir(DISK_KERNEL_SYSFS "/class/block");
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir))) {
                _cleanup_free_ char *f = NULL, *bdir = NULL;
                uint64_t off, size;
                dev_t dn;

                if (!disk_is_loop(de->d_name) ||
                    disk_loop_backing(de->d_name, &f, &off, &size) < 0 || !streq(f, file) ||
                    whole != (off == 0 && size == 0))
                        continue;
                if (class_dir(de->d_name, &bdir) < 0 || read_devnum(bdir, &dn) < 0)
                        continue;
                if (part_devs_add(l, n, de->d_name, dn, off / 512, size / 512) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The disk under a loop partition stand-in over file: the loop disk file names, or the one
 * whole loop device over file. Returns 1 with the answer, 0 when there is none. */
static int loop_disk_of(const char *file, char **ret_name, dev_t *ret_devnum)
{
        struct disk_part_dev *l = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        /* over the whole loop disk itself */
        if (startswith(file, "/dev/") && stat(file, &st) == 0 && S_ISBLK(st.st_mode)) {
                *ret_devnum = st.st_rdev;
                r = disk_name_of(st.st_rdev, ret_name);
                return r < 0 ? r : 1;
        }
        r = loops_over(file, true, &l, &n);
        if (r >= 0 && n == 1) {
                *ret_name = TAKE_PTR(l[0].name);
                *ret_devnum = l[0].devnum;
                r = 1;
        } else if (r >= 0)
                r = 0;
        disk_part_devs_free(l, n);
        return r;
}

int disk_of_device(dev_t devnum, char **ret_name, dev_t *ret_devnum)
{
        _cleanup_free_ char *rp = NULL, *file = NULL;
        uint64_t off, size;
        char *slash;
        int r;

        assert(ret_name);
        assert(ret_devnum);
        r = devnum_dir(devnum, &rp);
        if (r < 0)
                return r;
        if (dir_is_partition(rp)) {
                slash = strrchr(rp, '/');
                if (!slash)
                        return -EBADMSG;
                *slash = 0;
        }
        slash = strrchr(rp, '/');
        if (disk_is_loop(slash + 1) && disk_loop_backing(slash + 1, &file, &off, &size) == 0 &&
            (off != 0 || size != 0)) {
                r = loop_disk_of(file, ret_name, ret_devnum);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        r = read_devnum(rp, ret_devnum);
        if (r < 0)
                return r;
        *ret_name = strdup(slash + 1);
        return *ret_name ? 0 : -ENOMEM;
}

/* The partitions of a loop disk: the stand-ins over its backing file and over itself. */
static int loop_part_devs(const char *disk_name, const char *file, struct disk_part_dev **l,
                          size_t *n)
{
        _cleanup_free_ char *node = NULL;
        int r;

        r = loops_over(file, false, l, n);
        if (r < 0)
                return r;
        if (asprintf(&node, "/dev/%s", disk_name) < 0 || loops_over(node, false, l, n) < 0)
                return -ENOMEM;
        return 0;
}

/* The partitions of a disk sysfs lists as its children. */
static int sysfs_part_devs(const char *disk_name, struct disk_part_dev **l, size_t *n)
{
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ char *bdir = NULL;
        struct dirent *de;
        int r;

        r = class_dir(disk_name, &bdir);
        if (r < 0)
                return r;
        dir = opendir(bdir);
        if (!dir)
                return negative_errno();
        while ((de = readdir(dir))) {
                _cleanup_free_ char *sub = NULL;
                uint64_t start, sz;
                dev_t dn;

                if (de->d_name[0] == '.' || asprintf(&sub, "%s/%s", bdir, de->d_name) < 0)
                        continue;
                if (disk_read_u64(sub, "start", &start, NULL) < 0 ||
                    disk_read_u64(sub, "size", &sz, NULL) < 0 || read_devnum(sub, &dn) < 0)
                        continue;
                if (part_devs_add(l, n, de->d_name, dn, start, sz) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int disk_part_devs(const char *disk_name, struct disk_part_dev **ret, size_t *ret_n)
{
        _cleanup_free_ char *file = NULL;
        struct disk_part_dev *l = NULL;
        uint64_t off, size;
        size_t n = 0;
        int r;

        assert(disk_name);
        assert(ret);
        assert(ret_n);
        if (disk_is_loop(disk_name) && disk_loop_backing(disk_name, &file, &off, &size) == 0)
                r = loop_part_devs(disk_name, file, &l, &n);
        else
                r = sysfs_part_devs(disk_name, &l, &n);
        if (r < 0) {
                disk_part_devs_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int disk_holder(const char *name, char **ret)
{
        _cleanup_free_ char *bdir = NULL, *h = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;

        assert(name);
        assert(ret);
        *ret = NULL;
        if (class_dir(name, &bdir) < 0)
                return 0;
        if (asprintf(&h, "%s/holders", bdir) < 0)
                return -ENOMEM;
        dir = opendir(h);
        while (dir && (de = readdir(dir)))
                if (de->d_name[0] != '.') {
                        *ret = strdup(de->d_name);
                        return *ret ? 0 : -ENOMEM;
                }
        return 0;
}

/* --- §12 rule 8: the leaves under a device ------------------------------------------------- */

struct leaves {
        struct disk_leaf *l;
        size_t n;
        char **why;
};

void disk_leaves_free(struct disk_leaf *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i].path);
        free(l);
}

static int leaf_add(struct leaves *s, bool file, dev_t dev, ino_t ino, const char *path,
                    const char *last)
{
        struct disk_leaf *nl = reallocarray(s->l, s->n + 1, sizeof(*s->l));

        if (!nl)
                return -ENOMEM;
        s->l = nl;
        nl[s->n] = (struct disk_leaf){ .file = file, .dev = dev, .ino = ino };
        if (last ? asprintf(&nl[s->n].path, "%s -> %s", path, last) < 0
                 : !(nl[s->n].path = strdup(path))) {
                nl[s->n].path = NULL;
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

static int leaves_of(struct leaves *s, dev_t d, const char *path, unsigned depth);

/* A partition: its disk (rp, the partition's sysfs directory, is cut to the disk's). */
static int leaves_of_partition(struct leaves *s, char *rp, const char *via, unsigned depth)
{
        dev_t parent;
        int r;

        *strrchr(rp, '/') = 0;
        r = read_devnum(rp, &parent);
        if (r < 0)
                return errmsg(s->why, r, "cannot read %s/dev", rp);
        return leaves_of(s, parent, via, depth + 1);
}

/* The device number of a loop device's backing file, from LOOP_GET_STATUS64 (the kernel's
 * new_encode_dev), and its inode. */
static int loop_status(const char *node, dev_t *ret_dev, ino_t *ret_ino, char **why)
{
        struct loop_info64 li = {};
        _cleanup_close_ int fd = -EBADF;

        fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", node);
        if (ioctl(fd, LOOP_GET_STATUS64, &li) < 0)
                return errmsg(why, negative_errno(), "cannot read %s's status: %m", node);
        *ret_dev = makedev((unsigned)((li.lo_device & 0xfff00) >> 8),
                           (unsigned)((li.lo_device & 0xff) | ((li.lo_device >> 12) & 0xfff00)));
        *ret_ino = (ino_t)li.lo_inode;
        return 0;
}

/* A loop device: its backing block device, or its file and what holds the file. */
static int leaves_of_loop(struct leaves *s, dev_t d, const char *name, const char *via,
                          unsigned depth)
{
        _cleanup_free_ char *file = NULL, *node = NULL, *p = NULL, *via_file = NULL;
        uint64_t off, size;
        struct stat st;
        dev_t fdev = 0;
        ino_t fino = 0;
        int r;

        r = disk_loop_backing(name, &file, &off, &size);
        if (r == -ENOENT)
                return leaf_add(s, false, d, 0, via, NULL); /* unbound */
        if (r < 0)
                return errmsg(s->why, r, "cannot read the backing file of %s: %s", name,
                              strerror(-r));
        if (asprintf(&node, "/dev/%s", name) < 0)
                return -ENOMEM;
        r = loop_status(node, &fdev, &fino, s->why);
        if (r < 0)
                return r;
        /* Over a block device: the node it names (its path here is that node's, and its inode
         * the one the loop device holds). */
        if (stat(file, &st) == 0 && S_ISBLK(st.st_mode) && st.st_dev == fdev && st.st_ino == fino)
                return leaves_of(s, st.st_rdev, via, depth + 1);
        r = leaf_add(s, true, fdev, fino, via, file);
        if (r < 0)
                return r;
        /* A file on a block device's filesystem is stored on that device too: a loop over an
         * image on the booted disk is on the booted disk. (A filesystem with an anonymous
         * device number, tmpfs or btrfs, names no block device here.) */
        if (disk_dev_dir(DISK_KERNEL_SYSFS, fdev, &p) < 0)
                return -ENOMEM;
        if (access(p, F_OK) < 0)
                return 0;
        if (asprintf(&via_file, "%s -> %s", via, file) < 0)
                return -ENOMEM;
        return leaves_of(s, fdev, via_file, depth + 1);
}

/* Device-mapper, md: each slave. Returns 1 when it has any, 0 when none. */
static int leaves_of_slaves(struct leaves *s, const char *rp, const char *name, const char *via,
                            unsigned depth)
{
        _cleanup_free_ char *slaves = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        size_t before = s->n;
        int r;

        if (asprintf(&slaves, "%s/slaves", rp) < 0)
                return -ENOMEM;
        dir = opendir(slaves);
        if (!dir)
                return errno == ENOENT
                               ? 0
                               : errmsg(s->why, negative_errno(), "cannot read %s: %m", slaves);
        while ((de = readdir(dir))) {
                _cleanup_free_ char *bdir = NULL;
                dev_t sd;

                if (de->d_name[0] == '.')
                        continue;
                r = class_dir(de->d_name, &bdir);
                if (r >= 0)
                        r = read_devnum(bdir, &sd);
                if (r < 0)
                        return errmsg(s->why, r, "cannot read the device of %s's member %s", name,
                                      de->d_name);
                r = leaves_of(s, sd, via, depth + 1);
                if (r < 0)
                        return r;
        }
        return s->n > before;
}

static int leaves_of(struct leaves *s, dev_t d, const char *path, unsigned depth)
{
        _cleanup_free_ char *p = NULL, *rp = NULL, *name = NULL, *via = NULL;
        int r;

        if (depth > 16)
                return errmsg(s->why, -ELOOP, "%s: devices stacked more than 16 deep", path);
        if (disk_dev_dir(DISK_KERNEL_SYSFS, d, &p) < 0)
                return -ENOMEM;
        rp = realpath(p, NULL);
        if (!rp)
                return errmsg(s->why, negative_errno(), "cannot resolve %s: %m", p);
        name = strdup(strrchr(rp, '/') + 1);
        if (!name)
                return -ENOMEM;
        if (asprintf(&via, depth ? "%s -> %s" : "%.0s%s", path, name) < 0)
                return -ENOMEM;
        if (dir_is_partition(rp))
                return leaves_of_partition(s, rp, via, depth);
        if (disk_is_loop(name))
                return leaves_of_loop(s, d, name, via, depth);
        r = leaves_of_slaves(s, rp, name, via, depth);
        if (r != 0)
                return r < 0 ? r : 0;
        /* A whole disk. */
        return leaf_add(s, false, d, 0, via, NULL);
}

int disk_leaves(dev_t devnum, struct disk_leaf **ret, size_t *ret_n, char **why)
{
        struct leaves s = { .why = why };
        int r;

        assert(ret);
        assert(ret_n);
        r = leaves_of(&s, devnum, "", 0);
        if (r < 0) {
                disk_leaves_free(s.l, s.n);
                return r;
        }
        *ret = s.l;
        *ret_n = s.n;
        return 0;
}
