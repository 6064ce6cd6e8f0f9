/* SPDX-License-Identifier: MIT */
/* Disks and partitions from sysfs (disk.h). */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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
#include "util/strv.h"

/* The kernel's sysfs, for what is of this machine whatever the seam says: device names. */
#define KERNEL_SYSFS "/sys"

const char *disk_sysfs_seam(void)
{
        const char *e = secure_getenv("DUAL_ROOT_SYSFS");

        return isempty(e) ? NULL : e;
}

const char *disk_sysfs_root(void)
{
        const char *e = disk_sysfs_seam();

        return e ? e : KERNEL_SYSFS;
}

int disk_read_attr(int dirfd, const char *name, char **ret)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *s = NULL;
        int r;

        assert(name);
        assert(ret);
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        r = read_full_fd(fd, 4096, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

int disk_read_u64(const char *dir, const char *name, uint64_t *ret, char **why)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *end;
        size_t size;
        int r;

        assert(dir);
        assert(name);
        assert(ret);
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = read_full_file(path, 64, &text, &size);
        if (r < 0)
                return errmsg(why, r, "cannot read %s: %s", path, strerror(-r));
        errno = 0;
        *ret = strtoull(text, &end, 10);
        if (errno != 0 || end == text || (*end && *end != '\n'))
                return errmsg(why, -EBADMSG, "%s holds \"%.20s\", not a number", path, text);
        return 0;
}

/* sysfs/dev/block/MAJ:MIN, the device's directory (a link). */
static int dev_dir(const char *sysfs, dev_t devnum, char **ret)
{
        return asprintf(ret, "%s/dev/block/%u:%u", sysfs, major(devnum), minor(devnum)) < 0
                       ? -ENOMEM
                       : 0;
}

int disk_node_of(dev_t devnum, char **ret)
{
        _cleanup_free_ char *sys = NULL, *link = NULL;
        char *node;
        const char *name;
        ssize_t n;
        size_t size = 256;

        assert(ret);
        if (dev_dir(KERNEL_SYSFS, devnum, &sys) < 0)
                return -ENOMEM;
        for (;;) {
                link = malloc(size);
                if (!link)
                        return -ENOMEM;
                n = readlink(sys, link, size);
                if (n < 0)
                        return negative_errno();
                if ((size_t)n < size)
                        break;
                free(link);
                link = NULL;
                size *= 2;
                if (size > PATH_MAX * 4)
                        return -ENAMETOOLONG;
        }
        link[n] = 0;
        name = strrchr(link, '/');
        name = name ? name + 1 : link;
        if (asprintf(&node, "/dev/%s", name) < 0)
                return -ENOMEM;
        *ret = node;
        return 0;
}

bool disk_known(dev_t devnum)
{
        _cleanup_free_ char *sys = NULL;

        return dev_dir(KERNEL_SYSFS, devnum, &sys) == 0 && access(sys, F_OK) == 0;
}

int disk_names_of_dir(const char *dir, char **ret_name, char **ret_disk, unsigned *ret_partno)
{
        _cleanup_free_ char *real = NULL, *part = NULL;
        char *slash;

        assert(dir);
        assert(ret_disk);
        real = realpath(dir, NULL);
        if (!real)
                return -errno;
        if (asprintf(&part, "%s/partition", real) < 0)
                return -ENOMEM;
        if (ret_partno) {
                uint64_t v;

                *ret_partno = 0;
                if (disk_read_u64(real, "partition", &v, NULL) == 0 && v > 0 && v < UINT_MAX)
                        *ret_partno = (unsigned)v;
        }
        slash = strrchr(real, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        if (ret_name) {
                *ret_name = strdup(slash + 1);
                if (!*ret_name)
                        return -ENOMEM;
        }
        if (access(part, F_OK) == 0) {
                *slash = 0;
                slash = strrchr(real, '/');
                if (!slash || !slash[1])
                        return -EINVAL;
        }
        *ret_disk = strdup(slash + 1);
        return *ret_disk ? 0 : -ENOMEM;
}

int disk_whole_name(const char *sysfs, dev_t dev, char **ret)
{
        _cleanup_free_ char *dir = NULL;

        assert(sysfs);
        assert(ret);
        if (dev_dir(sysfs, dev, &dir) < 0)
                return -ENOMEM;
        return disk_names_of_dir(dir, NULL, ret, NULL);
}

/* The devnum in the sysfs directory dir's "dev" file, or 0. */
static dev_t dev_at(const char *dir)
{
        _cleanup_free_ char *dev = NULL, *buf = NULL;
        unsigned ma, mi;

        if (asprintf(&dev, "%s/dev", dir) < 0 || read_full_file(dev, 64, &buf, NULL) < 0 ||
            sscanf(buf, "%u:%u", &ma, &mi) != 2)
                return 0;
        return makedev(ma, mi);
}

dev_t disk_holding(const char *sysfs, dev_t devnum)
{
        assert(sysfs);
        for (unsigned depth = 0; depth < 8; depth++) {
                _cleanup_free_ char *sys = NULL, *real = NULL, *part = NULL, *slaves = NULL;
                _cleanup_free_ char *slave = NULL;
                _cleanup_closedir_ DIR *dir = NULL;
                struct dirent *de;
                unsigned n = 0;
                dev_t d;
                char *slash;

                if (dev_dir(sysfs, devnum, &sys) < 0)
                        return devnum;
                real = realpath(sys, NULL);
                if (!real || asprintf(&part, "%s/partition", real) < 0)
                        return devnum;
                if (access(part, F_OK) == 0) {
                        slash = strrchr(real, '/');
                        if (!slash)
                                return devnum;
                        *slash = 0;
                        d = dev_at(real);
                        return d ? d : devnum;
                }
                if (asprintf(&slaves, "%s/slaves", real) < 0)
                        return devnum;
                dir = opendir(slaves);
                if (!dir)
                        return devnum;
                while ((de = readdir(dir)))
                        if (de->d_name[0] != '.' && n++ == 0 &&
                            asprintf(&slave, "%s/%s", slaves, de->d_name) < 0)
                                slave = NULL;
                if (n != 1 || !slave)
                        return devnum;
                d = dev_at(slave);
                if (!d)
                        return devnum;
                devnum = d;
        }
        return devnum;
}

void disk_partition_done(struct disk_partition *p)
{
        free(p->disk);
        *p = (struct disk_partition){};
}

int disk_partition_of(const char *sysfs, dev_t devnum, struct disk_partition *ret, char **why)
{
        _cleanup_free_ char *link = NULL, *real = NULL, *disk_dir = NULL;
        uint64_t number, start, size, lbs = 512;
        const char *slash;
        int r;

        assert(sysfs);
        assert(ret);
        if (dev_dir(sysfs, devnum, &link) < 0)
                return -ENOMEM;
        real = realpath(link, NULL);
        if (!real)
                return errmsg(why, negative_errno(), "cannot resolve %s: %m", link);
        r = disk_read_u64(real, "partition", &number, why);
        if (r == -ENOENT)
                return errmsg(why, -ENOTBLK,
                              "%s is not a partition (%s/partition does not exist): a boot entry "
                              "needs the partition's number, start and size",
                              real, real);
        if (r < 0)
                return r;
        r = disk_read_u64(real, "start", &start, why);
        if (r < 0)
                return r;
        r = disk_read_u64(real, "size", &size, why);
        if (r < 0)
                return r;
        slash = strrchr(real, '/');
        disk_dir = strndup(real, slash ? (size_t)(slash - real) : strlen(real));
        if (!disk_dir)
                return -ENOMEM;
        {
                _cleanup_free_ char *q = NULL;
                _cleanup_free_ char *ignored = NULL;

                if (asprintf(&q, "%s/queue", disk_dir) < 0)
                        return -ENOMEM;
                r = disk_read_u64(q, "logical_block_size", &lbs, &ignored);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || lbs < 512 || lbs % 512 != 0)
                        lbs = 512;
        }
        if (number == 0 || number > UINT32_MAX)
                return errmsg(why, -EBADMSG,
                              "%s/partition holds %" PRIu64 ", not a partition number", real,
                              number);
        slash = strrchr(disk_dir, '/');
        *ret = (struct disk_partition){ .number = (uint32_t)number,
                                        .start = start,
                                        .size = size,
                                        .logical_block_size = lbs,
                                        .disk = strdup(slash ? slash + 1 : disk_dir) };
        return ret->disk ? 0 : -ENOMEM;
}

int disk_partitions(const char *sysfs, dev_t disk, struct disk_slot **ret, size_t *ret_n)
{
        _cleanup_free_ char *sys = NULL, *real = NULL;
        _cleanup_free_ struct disk_slot *l = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = 0;
        struct dirent *de;

        assert(sysfs);
        assert(ret);
        assert(ret_n);
        if (dev_dir(sysfs, disk, &sys) < 0)
                return -ENOMEM;
        real = realpath(sys, NULL);
        d = real ? opendir(real) : NULL;
        /* Else not a disk sysfs knows: no partitions. */
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *part = NULL, *dev = NULL, *buf = NULL, *num = NULL;
                struct disk_slot *t;
                unsigned ma, mi, number;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&part, "%s/%s/partition", real, de->d_name) < 0 ||
                    asprintf(&dev, "%s/%s/dev", real, de->d_name) < 0)
                        return -ENOMEM;
                if (access(part, F_OK) < 0 || read_full_file(dev, 64, &buf, NULL) < 0 ||
                    sscanf(buf, "%u:%u", &ma, &mi) != 2)
                        continue;
                if (read_full_file(part, 64, &num, NULL) < 0 || sscanf(num, "%u", &number) != 1)
                        number = 0; /* unknown */
                t = reallocarray(l, n + 1, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                l = t;
                l[n++] = (struct disk_slot){ .devnum = makedev(ma, mi), .number = number };
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* True when the directory block_fd/name has a partition the kernel knows (a subdirectory with a
 * "partition" file). */
static bool has_partitions(int block_fd, const char *name)
{
        _cleanup_close_ int fd = openat(block_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        bool found = false;

        if (fd < 0)
                return false;
        d = fdopendir(fd);
        if (!d)
                return false;
        fd = -1;
        while (!found && (de = readdir(d))) {
                char p[NAME_MAX + 16];

                if (de->d_name[0] == '.' ||
                    (size_t)snprintf(p, sizeof(p), "%s/partition", de->d_name) >= sizeof(p))
                        continue;
                found = faccessat(dirfd(d), p, F_OK, 0) == 0;
        }
        return found;
}

int disk_list_partitioned(const char *sysfs, char ***ret)
{
        _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int bfd = -1;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        assert(sysfs);
        assert(ret);
        if (!list || asprintf(&path, "%s/block", sysfs) < 0)
                return -ENOMEM;
        bfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = bfd >= 0 ? fdopendir(bfd) : NULL;
        if (d)
                bfd = -1;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !has_partitions(dirfd(d), de->d_name))
                        continue;
                r = strv_extend(&list, de->d_name);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(list);
        return 0;
}

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

/* /sys/class/block/<name> resolved. */
static int class_dir(const char *name, char **ret)
{
        _cleanup_free_ char *p = NULL;
        char *rp;

        if (asprintf(&p, KERNEL_SYSFS "/class/block/%s", name) < 0)
                return -ENOMEM;
        rp = realpath(p, NULL);
        if (!rp)
                return negative_errno();
        *ret = rp;
        return 0;
}

/* /sys/dev/block/MAJ:MIN resolved. */
static int devnum_dir(dev_t devnum, char **ret)
{
        _cleanup_free_ char *p = NULL;
        char *rp;

        if (dev_dir(KERNEL_SYSFS, devnum, &p) < 0)
                return -ENOMEM;
        rp = realpath(p, NULL);
        if (!rp)
                return negative_errno();
        *ret = rp;
        return 0;
}

int disk_name_of(dev_t devnum, char **ret)
{
        _cleanup_free_ char *rp = NULL;
        const char *b;
        int r;

        assert(ret);
        r = devnum_dir(devnum, &rp);
        if (r < 0)
                return r;
        b = strrchr(rp, '/');
        *ret = strdup(b ? b + 1 : rp);
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
        if (asprintf(&dir, KERNEL_SYSFS "/class/block/%s/loop", name) < 0)
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

        dir = opendir(KERNEL_SYSFS "/class/block");
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
        if (dev_dir(KERNEL_SYSFS, fdev, &p) < 0)
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
        if (dev_dir(KERNEL_SYSFS, d, &p) < 0)
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
