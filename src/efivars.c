/* SPDX-License-Identifier: MIT */
/*
 * Reading EFI variables from efivarfs and deciding which partition the firmware booted from
 * (DESIGN.md §3). The parsing of what the variables hold is in devpath.c, which does no I/O.
 */
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "efivars.h"
#include "pcidisk.h"
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
