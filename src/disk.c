/* SPDX-License-Identifier: MIT */
/* Disks and partitions from sysfs (disk.h). */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

const char *disk_sysfs_seam(void)
{
        const char *e = secure_getenv("DUAL_ROOT_SYSFS");

        return isempty(e) ? NULL : e;
}

const char *disk_sysfs_root(void)
{
        const char *e = disk_sysfs_seam();

        return e ? e : DISK_KERNEL_SYSFS;
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

int disk_dev_dir(const char *sysfs, dev_t devnum, char **ret)
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
        if (disk_dev_dir(DISK_KERNEL_SYSFS, devnum, &sys) < 0)
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

        return disk_dev_dir(DISK_KERNEL_SYSFS, devnum, &sys) == 0 && access(sys, F_OK) == 0;
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
        if (disk_dev_dir(sysfs, dev, &dir) < 0)
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

                if (disk_dev_dir(sysfs, devnum, &sys) < 0)
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
        if (disk_dev_dir(sysfs, devnum, &link) < 0)
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
        if (disk_dev_dir(sysfs, disk, &sys) < 0)
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
