/* SPDX-License-Identifier: MIT */
/*
 * Reading EFI variables from efivarfs and deciding which partition the firmware booted from
 * (DESIGN.md §3). The parsing of what the variables hold is in devpath.c, which does no I/O.
 */
#include <blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "efivars.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

/* No variable we read is anywhere near this; anything larger is not what we expect and is
 * refused rather than read into memory. Counts the file, attributes included. */
#define EFI_VAR_FILE_MAX (64 * 1024)

/* The efivarfs file starts with the variable's attributes (u32 LE), see the kernel's
 * Documentation/filesystems/efivarfs.rst. */
#define EFI_VAR_ATTR_SIZE 4

const char *boot_method_to_string(enum boot_method m)
{
        switch (m) {
        case BOOT_METHOD_LOADER:
                return "LoaderDevicePartUUID";
        case BOOT_METHOD_BOOTCURRENT:
                return "BootCurrent";
        case BOOT_METHOD_BOOTCURRENT_DISK:
                return "BootCurrent-whole-disk";
        case BOOT_METHOD_NONE:
                break;
        }
        return "none";
}

void efi_boot_done(struct efi_boot *b)
{
        free(b->entry_description);
        free(b->device_path);
        free(b->note);
        *b = (struct efi_boot){ .boot_entry = -1 };
}

const char *efi_vars_dir(void)
{
        const char *e = secure_getenv("DUAL_ROOT_EFIVARS");

        return isempty(e) ? EFIVARS_DIR_DEFAULT : e;
}

int efi_read_var(const char *dir, const char *name, const char *guid, uint32_t *ret_attr,
                 uint8_t **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        uint8_t *data;
        size_t size;
        int r;

        if (!dir)
                dir = efi_vars_dir();
        if (strchr(name, '/') || strchr(guid, '/'))
                return -EINVAL;
        if (asprintf(&path, "%s/%s-%s", dir, name, guid) < 0)
                return -ENOMEM;

        /* efivarfs returns the whole variable on every read and retries EINTR itself only
         * partly; read_full_file() loops on EINTR. */
        r = read_full_file(path, EFI_VAR_FILE_MAX, &buf, &size);
        if (r == -EFBIG)
                return -E2BIG;
        if (r < 0)
                return r;
        if (size < EFI_VAR_ATTR_SIZE)
                return -EBADMSG;

        /* Two zero bytes after the data, so that UTF-16 text is terminated whatever it holds. */
        data = malloc(size - EFI_VAR_ATTR_SIZE + 2);
        if (!data)
                return -ENOMEM;
        memcpy(data, buf + EFI_VAR_ATTR_SIZE, size - EFI_VAR_ATTR_SIZE);
        data[size - EFI_VAR_ATTR_SIZE] = 0;
        data[size - EFI_VAR_ATTR_SIZE + 1] = 0;

        if (ret_attr)
                *ret_attr = (uint32_t)(uint8_t)buf[0] | (uint32_t)(uint8_t)buf[1] << 8 |
                            (uint32_t)(uint8_t)buf[2] << 16 | (uint32_t)(uint8_t)buf[3] << 24;
        if (ret_size)
                *ret_size = size - EFI_VAR_ATTR_SIZE;
        if (ret_data)
                *ret_data = data;
        else
                free(data);
        return 0;
}

/* Why a variable could not be used, as a sentence fragment naming it. */
static int var_error(char **why, int r, const char *name)
{
        switch (r) {
        case -ENOENT:
                return errmsg(why, r, "%s is not set", name);
        case -EBADMSG:
                return errmsg(why, r,
                              "%s is malformed (its efivarfs file is shorter than the 4-byte "
                              "attributes word)",
                              name);
        case -E2BIG:
                return errmsg(why, r, "%s is larger than %d KiB", name, EFI_VAR_FILE_MAX / 1024);
        default:
                return errmsg(why, r, "cannot read %s: %s", name, strerror(-r));
        }
}

/* Method 1: the Boot Loader Interface's LoaderDevicePartUUID. */
static int method_loader(const char *dir, char ret[GUID_STRING_MAX], char **why)
{
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *m = NULL;
        size_t size;
        int r;

        r = efi_read_var(dir, "LoaderDevicePartUUID", EFI_LOADER_GUID, NULL, &data, &size);
        if (r < 0)
                return var_error(why, r, "LoaderDevicePartUUID");
        r = efi_parse_loader_partuuid(data, size, ret, &m);
        if (r < 0)
                return errmsg(why, r, "LoaderDevicePartUUID is malformed (%s)",
                              m ? m : "unknown reason");
        return 0;
}

/* ---- a whole disk named by its PCI function -> its only ESP (sysfs, libblkid) ---- */

#define ESP_TYPE_GUID "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
/* Deep enough for AHCI (ata1/host0/target0:0:0/0:0:0:0/block/sda) and virtio
 * (virtio2/block/vda) below the PCI function; a bound on a walk of a kernel tree. */
#define DISK_SEARCH_DEPTH 10

static void closedirp(DIR **d)
{
        if (*d)
                (void)closedir(*d);
}

static void blkid_free_probep(blkid_probe *pr)
{
        if (*pr)
                blkid_free_probe(*pr);
}

/* A sysfs attribute's first line. */
static int read_attr(int dirfd, const char *name, char **ret)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *s = NULL;
        int r;

        if (fd < 0)
                return negative_errno();
        r = read_full_fd(fd, 4096, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

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
        _cleanup_(closedirp) DIR *d = NULL;
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
                if (read_attr(dirfd(d), attr, &text) < 0)
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
        _cleanup_(closedirp) DIR *d = opendir(dir);
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

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
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
        _cleanup_(closedirp) DIR *d = NULL;
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
                        if (read_attr(sub, "hidden", &hidden) >= 0 && streq(hidden, "1"))
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
                        qsort(disks, strv_length(disks), sizeof(char *), cmp_strp);
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

/* Method 2 on an entry that names no partition: if it names a whole disk by its PCI function
 * (OVMF's "UEFI Misc Device"), the ESP on that disk, when there is exactly one. */
static int method_whole_disk(const char *sysfs_root, const char *dev_root, unsigned number,
                             const struct efi_load_option *opt, const char *text,
                             struct efi_boot *b, char **why)
{
        _cleanup_free_ char *m = NULL, *where = NULL;
        struct efi_pci_chain chain;
        char uuid[GUID_STRING_MAX];
        int r;

        r = efi_devpath_pci_chain(opt->path, opt->path_size, &chain, &m);
        if (r >= 0)
                r = efi_resolve_disk_esp(&chain, sysfs_root, dev_root ? dev_root : "/dev", uuid,
                                         &where, &m);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return errmsg(why, r, "Boot%04X (\"%s\") names no partition: %s (%s)", number,
                              opt->description, text ? text : "(device path not renderable)",
                              m ? m : "unknown reason");
        if (asprintf(&b->note, "Boot%04X (\"%s\") names the whole disk %s; took its only ESP, %s",
                     number, opt->description, text ? text : "?", where) < 0) {
                b->note = NULL;
                return -ENOMEM;
        }
        memcpy(b->partuuid, uuid, GUID_STRING_MAX);
        b->method = BOOT_METHOD_BOOTCURRENT_DISK;
        b->boot_entry = (int)number;
        b->entry_description = strdup(opt->description);
        b->device_path = text ? strdup(text) : NULL;
        if (!b->entry_description || (text && !b->device_path))
                return -ENOMEM;
        return 0;
}

/* Method 2: BootCurrent -> Boot#### -> the Hard Drive node of its device path; with
 * sysfs_root, a whole disk named by its PCI function -> its only ESP. Fills b. */
static int method_bootcurrent(const char *dir, const char *sysfs_root, const char *dev_root,
                              struct efi_boot *b, char **why)
{
        _cleanup_(efi_load_option_done) struct efi_load_option opt = {};
        _cleanup_free_ uint8_t *current = NULL, *entry = NULL;
        _cleanup_free_ char *text = NULL, *m = NULL;
        char name[sizeof("Boot0000")];
        size_t size;
        unsigned number;
        int r;

        r = efi_read_var(dir, "BootCurrent", EFI_GLOBAL_GUID, NULL, &current, &size);
        if (r < 0)
                return var_error(why, r, "BootCurrent");
        if (size != 2)
                return errmsg(why, -EBADMSG, "BootCurrent is %zu bytes, expected 2", size);
        number = (unsigned)(current[0] | current[1] << 8);
        snprintf(name, sizeof(name), "Boot%04X", number);

        r = efi_read_var(dir, name, EFI_GLOBAL_GUID, NULL, &entry, &size);
        if (r == -ENOENT)
                return errmsg(why, r, "BootCurrent is 0x%04X but %s is not set", number, name);
        if (r < 0)
                return var_error(why, r, name);

        r = efi_parse_load_option(entry, size, &opt, why);
        if (r < 0)
                return errmsg_prefix(why, r, "%s", name);

        /* The path passed efi_parse_load_option()'s checks; a node too short for its kind
         * still makes the text fail, and the messages then do without it. */
        r = efi_devpath_to_string(opt.path, opt.path_size, &text);
        if (r == -ENOMEM)
                return r;

        r = efi_devpath_find_gpt_partuuid(opt.path, opt.path_size, b->partuuid, &m);
        if (r == -ENOENT && sysfs_root)
                return method_whole_disk(sysfs_root, dev_root, number, &opt, text, b, why);
        if (r == -ENOENT)
                return errmsg(why, r, "%s (\"%s\") names no partition: %s", name, opt.description,
                              text ? text : "(device path not renderable)");
        if (r < 0)
                return errmsg(why, r, "%s (\"%s\"): %s%s%s", name, opt.description,
                              m ? m : "unknown reason", text ? ": " : "", text ? text : "");

        b->method = BOOT_METHOD_BOOTCURRENT;
        b->boot_entry = (int)number;
        b->entry_description = TAKE_PTR(opt.description);
        b->device_path = TAKE_PTR(text);
        return 0;
}

static bool is_efivarfs(const char *dir)
{
        struct statfs sfs;

        return statfs(dir, &sfs) >= 0 && (unsigned long)sfs.f_type == EFIVARFS_MAGIC;
}

int efi_find_booted_partuuid_full(const char *dir, const char *sysfs_root, const char *dev_root,
                                  struct efi_boot *ret, char **why)
{
        _cleanup_(efi_boot_done) struct efi_boot b = { .boot_entry = -1 };
        _cleanup_free_ char *m1 = NULL, *m2 = NULL;
        struct stat st;
        int r, r1;

        if (!dir)
                dir = efi_vars_dir();
        if (stat(dir, &st) < 0) {
                if (errno == ENOENT)
                        return errmsg(why, -EOPNOTSUPP, "not booted with UEFI (%s does not exist)",
                                      dir);
                r = negative_errno();
                return errmsg(why, r, "cannot access %s: %s", dir, strerror(-r));
        }
        if (!S_ISDIR(st.st_mode))
                return errmsg(why, -ENOTDIR, "%s is not a directory", dir);
        /* An empty mount point would read as "no variable is set", which is misleading. */
        if (streq(dir, EFIVARS_DIR_DEFAULT) && !is_efivarfs(dir))
                return errmsg(why, -ENOMEDIUM, "efivarfs is not mounted on %s", dir);

        r1 = method_loader(dir, b.partuuid, &m1);
        if (r1 >= 0) {
                b.method = BOOT_METHOD_LOADER;
                *ret = b;
                b = (struct efi_boot){ .boot_entry = -1 };
                return 0;
        }
        if (r1 == -ENOMEM)
                return r1;

        r = method_bootcurrent(dir, sysfs_root, dev_root, &b, &m2);
        if (r >= 0) {
                /* Method 1 was there but unusable: worth a warning, not a failure. */
                if (r1 != -ENOENT) {
                        char *n;

                        if (asprintf(&n, "%s, ignoring%s%s",
                                     m1 ? m1 : "LoaderDevicePartUUID unusable", b.note ? "; " : "",
                                     b.note ? b.note : "") < 0)
                                return -ENOMEM;
                        free(b.note);
                        b.note = n;
                }
                *ret = b;
                b = (struct efi_boot){ .boot_entry = -1 };
                return 0;
        }
        if (r == -ENOMEM)
                return r;
        return errmsg(why, r, "%s, and %s", m1 ? m1 : "LoaderDevicePartUUID unusable",
                      m2 ? m2 : "BootCurrent unusable");
}

int efi_find_booted_partuuid(const char *dir, struct efi_boot *ret, char **why)
{
        return efi_find_booted_partuuid_full(dir, NULL, NULL, ret, why);
}
