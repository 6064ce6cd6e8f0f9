/* SPDX-License-Identifier: MIT */
/* A whole disk named by its PCI function -> its only ESP (sysfs, libblkid). */
#include <assert.h>
#include <blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>

#include "blockdev.h"
#include "disk.h"
#include "pcidisk.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

#define ESP_TYPE_GUID "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
/* Deep enough for AHCI (ata1/host0/target0:0:0/0:0:0:0/block/sda) and virtio
 * (virtio2/block/vda) below the PCI function; a bound on a walk of a kernel tree. */
#define DISK_SEARCH_DEPTH 10

static bool hex_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

/* "pciDDDD:BB", the kernel's name for a PCI host bridge (the domain may have more than 4
 * digits, e.g. behind Intel VMD). Returns the domain text length, 0 if not such a name. */
static size_t pci_root_name(const char *s)
{
        const char *p = startswith(s, "pci");
        size_t d;

        if (!p)
                return 0;
        d = strspn(p, "0123456789abcdef");
        if (d < 4 || p[d] != ':' || !hex_digits(p + d + 1, 2) || p[d + 3] != 0)
                return 0;
        return d;
}

/* "DDDD:BB:dd.f", a PCI function. Returns the domain text length, 0 if not such a name. */
static size_t pci_function_name(const char *s, unsigned *ret_device, unsigned *ret_function)
{
        size_t d = strspn(s, "0123456789abcdef");

        if (d < 4 || s[d] != ':' || !hex_digits(s + d + 1, 2) || s[d + 3] != ':' ||
            !hex_digits(s + d + 4, 2) || s[d + 6] != '.' || s[d + 7] < '0' || s[d + 7] > '7' ||
            s[d + 8] != 0)
                return 0;
        if (ret_device)
                *ret_device = (unsigned)strtoul(s + d + 4, NULL, 16);
        if (ret_function)
                *ret_function = (unsigned)(s[d + 7] - '0');
        return d;
}

/* The host bridge (under sysfs_root/devices) whose ACPI companion has _UID uid. Linux shows
 * the companion as firmware_node/, whose uid attribute is the _UID as text. */
static int find_pci_root(const char *sysfs_root, uint32_t uid, char **ret, char **why)
{
        _cleanup_free_ char *devices = NULL, *found = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        unsigned roots = 0, with_uid = 0, matches = 0;
        struct dirent *de;

        if (asprintf(&devices, "%s/devices", sysfs_root) < 0)
                return -ENOMEM;
        d = opendir(devices);
        if (!d) {
                int r = negative_errno();
                return errmsg(why, r, "cannot open %s: %s", devices, strerror(-r));
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *attr = NULL, *text = NULL;
                const char *hex, *digits;
                unsigned long long v;
                char *end;

                if (!pci_root_name(de->d_name))
                        continue;
                roots++;
                if (asprintf(&attr, "%s/firmware_node/uid", de->d_name) < 0)
                        return -ENOMEM;
                if (disk_read_attr(dirfd(d), attr, &text) < 0)
                        continue;
                with_uid++;
                /* ACPICA shows an integer _UID in decimal; accept 0x too, never octal. */
                hex = startswith(text, "0x");
                digits = hex ? hex : text;
                errno = 0;
                v = strtoull(digits, &end, hex ? 16 : 10);
                if (errno != 0 || !isxdigit((unsigned char)digits[0]) || *end || v != uid)
                        continue;
                matches++;
                free(found);
                found = strdup(de->d_name);
                if (!found)
                        return -ENOMEM;
        }
        if (matches > 1)
                return errmsg(why, -ENOTUNIQ, "%u PCI host bridges in %s have ACPI _UID %" PRIu32,
                              matches, devices, uid);
        if (matches == 0)
                return errmsg(why, -ENOENT,
                              "no PCI host bridge in %s has ACPI _UID %" PRIu32
                              " (%u bridges, %u with firmware_node/uid)",
                              devices, uid, roots, with_uid);
        *ret = TAKE_PTR(found);
        return 0;
}

/* The child of dir (a host bridge or a PCI bridge) that is PCI function device.function. The
 * device path has no bus numbers (they are assigned at enumeration), so match dev.fn only. */
static int find_pci_child(const char *dir, uint8_t device, uint8_t function, char **ret, char **why)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ char *found = NULL;
        unsigned matches = 0;
        struct dirent *de;

        if (!d) {
                int r = negative_errno();
                return errmsg(why, r, "cannot open %s: %s", dir, strerror(-r));
        }
        while ((de = readdir(d))) {
                unsigned dev, fn;

                if (!pci_function_name(de->d_name, &dev, &fn) || dev != device || fn != function)
                        continue;
                matches++;
                free(found);
                if (asprintf(&found, "%s/%s", dir, de->d_name) < 0) {
                        found = NULL;
                        return -ENOMEM;
                }
        }
        if (matches != 1)
                return errmsg(why, matches ? -ENOTUNIQ : -ENOENT,
                              "%s PCI function %02x.%x under %s", matches ? "more than one" : "no",
                              device, function, dir);
        *ret = TAKE_PTR(found);
        return 0;
}

/* Is the directory a block device ("subsystem" links to .../block and it has "dev")? */
static bool is_block_device(int fd)
{
        char target[PATH_MAX];
        ssize_t n = readlinkat(fd, "subsystem", target, sizeof(target) - 1);
        const char *base;

        if (n < 0)
                return false;
        target[n] = 0;
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        return streq(base, "block") && faccessat(fd, "dev", F_OK, 0) >= 0;
}

/* Whole disks below a PCI function: block devices without a "partition" attribute, not
 * hidden (NVMe multipath paths are). Does not follow symlinks, and does not descend into
 * other PCI functions or into block devices (their partitions are below them). */
static int collect_disks(int dirfd_, unsigned depth, char ***disks)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(dirfd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                (void)close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                _cleanup_close_ int sub = -1;
                _cleanup_free_ char *hidden = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    pci_function_name(de->d_name, NULL, NULL))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                if (is_block_device(sub)) {
                        if (faccessat(sub, "partition", F_OK, 0) >= 0)
                                continue;
                        if (disk_read_attr(sub, "hidden", &hidden) >= 0 && streq(hidden, "1"))
                                continue;
                        r = strv_extend(disks, de->d_name);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (depth + 1 < DISK_SEARCH_DEPTH) {
                        r = collect_disks(sub, depth + 1, disks);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The only ESP in the GPT of the disk at devnode, read with libblkid. */
static int find_esp_on_disk(const char *devnode, char ret[GUID_STRING_MAX], int *ret_partno,
                            char **why)
{
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        char uuid[GUID_STRING_MAX] = "";
        blkid_parttable table;
        blkid_partlist list;
        const char *type;
        int n, partno = -1, other = -1;
        unsigned esps = 0;

        errno = 0;
        pr = blkid_new_probe_from_filename(devnode);
        if (!pr) {
                int r = negative_errno();
                return errmsg(why, r, "cannot open %s: %s", devnode, strerror(-r));
        }
        list = blkid_probe_get_partitions(pr);
        table = list ? blkid_partlist_get_table(list) : NULL;
        if (!table)
                return errmsg(why, -ENOENT, "%s has no partition table", devnode);
        type = blkid_parttable_get_type(table);
        if (!type || !streq(type, "gpt"))
                return errmsg(why, -EMEDIUMTYPE, "%s has a%s %s partition table, not GPT", devnode,
                              type && streq(type, "atari") ? "n" : "", strna(type));

        n = blkid_partlist_numof_partitions(list);
        for (int i = 0; i < n; i++) {
                blkid_partition par = blkid_partlist_get_partition(list, i);
                const char *t, *u;

                if (!par || blkid_partition_get_table(par) != table)
                        continue;
                t = blkid_partition_get_type_string(par);
                if (!t || strcasecmp(t, ESP_TYPE_GUID) != 0)
                        continue;
                esps++;
                if (esps > 1) {
                        other = blkid_partition_get_partno(par);
                        continue;
                }
                partno = blkid_partition_get_partno(par);
                u = blkid_partition_get_uuid(par);
                if (!u || strlen(u) != GUID_STRING_MAX - 1)
                        return errmsg(why, -EBADMSG, "ESP %s partition %d has no valid PARTUUID",
                                      devnode, partno);
                for (size_t k = 0; k < GUID_STRING_MAX; k++)
                        uuid[k] = (char)tolower((unsigned char)u[k]);
        }
        if (esps == 0)
                return errmsg(why, -ENOENT, "%s has no EFI System Partition", devnode);
        if (esps > 1)
                return errmsg(why, -ENOTUNIQ,
                              "%s has %u EFI System Partitions (partitions %d and %d%s), so "
                              "which one the firmware used is unknown",
                              devnode, esps, partno, other, esps > 2 ? ", ..." : "");
        memcpy(ret, uuid, GUID_STRING_MAX);
        *ret_partno = partno;
        return 0;
}

int efi_resolve_disk_esp(const struct efi_pci_chain *chain, const char *sysfs_root,
                         const char *dev_root, char ret[GUID_STRING_MAX], char **ret_where,
                         char **why)
{
        _cleanup_free_ char *root = NULL, *dir = NULL, *devnode = NULL, *disk = NULL;
        _cleanup_strv_free_ char **disks = NULL;
        _cleanup_close_ int fd = -1;
        char uuid[GUID_STRING_MAX];
        const char *pci;
        int r, partno = 0;

        assert(chain);
        assert(sysfs_root);
        assert(dev_root);
        assert(ret);
        if (chain->n == 0 || chain->n > EFI_PCI_CHAIN_MAX)
                return -EINVAL;
        r = find_pci_root(sysfs_root, chain->root_uid, &root, why);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s/devices/%s", sysfs_root, root) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < chain->n; i++) {
                char *child = NULL;

                r = find_pci_child(dir, chain->hop[i].device, chain->hop[i].function, &child, why);
                if (r < 0)
                        return r;
                free(dir);
                dir = child;
        }
        pci = strrchr(dir, '/') + 1;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = negative_errno();
                return errmsg(why, r, "cannot open %s: %s", dir, strerror(-r));
        }
        r = collect_disks(fd, 0, &disks);
        if (r < 0)
                return errmsg(why, r, "cannot search %s for disks: %s", dir, strerror(-r));
        if (strv_length(disks) != 1) {
                _cleanup_free_ char *list = NULL;

                /* readdir() order is arbitrary; sorted, the message is reproducible. */
                if (disks)
                        strv_sort(disks);
                list = strv_join(disks, ", ");

                return errmsg(why, disks ? -ENOTUNIQ : -ENOENT, "PCI function %s has %s%s%s%s", pci,
                              disks ? "more than one disk (" : "no disk", disks && list ? list : "",
                              disks ? ")" : "",
                              disks ? ", so which one the firmware used is unknown" : "");
        }

        /* Kernel names with '/' appear in sysfs with '!' (e.g. cciss!c0d0). */
        disk = strdup(disks[0]);
        if (!disk)
                return -ENOMEM;
        for (char *c = disk; *c; c++)
                if (*c == '!')
                        *c = '/';
        if (asprintf(&devnode, "%s/%s", dev_root, disk) < 0)
                return -ENOMEM;
        r = find_esp_on_disk(devnode, uuid, &partno, why);
        if (r < 0)
                return r;

        if (ret_where && asprintf(ret_where, "partition %d of %s (PCI %s)", partno, disk, pci) < 0)
                return -ENOMEM;
        memcpy(ret, uuid, GUID_STRING_MAX);
        return 0;
}
