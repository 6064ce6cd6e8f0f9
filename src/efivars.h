/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * EFI variables read straight from efivarfs (DESIGN.md §3). Each file "Name-VendorGUID" holds a
 * 4-byte little-endian attributes word followed by the variable's data.
 *
 * The directory is /sys/firmware/efi/efivars, or $DUAL_ROOT_EFIVARS (test seam, read with
 * secure_getenv; see docs/TESTING.md).
 */

#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define EFI_LOADER_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
#define EFIVARS_DIR_DEFAULT "/sys/firmware/efi/efivars"

/* A GUID as text: 36 characters, lower case, plus NUL. */
#define GUID_STRING_MAX 37

enum boot_method {
        BOOT_METHOD_NONE,
        BOOT_METHOD_LOADER,           /* LoaderDevicePartUUID */
        BOOT_METHOD_BOOTCURRENT,      /* BootCurrent -> Boot#### -> HD() node */
        BOOT_METHOD_BOOTCURRENT_DISK, /* BootCurrent -> Boot#### naming a whole disk by its PCI
                                       * function -> the only ESP on that disk (sysfs, libblkid);
                                       * only from efi_find_booted_partuuid_full() */
};

/* "LoaderDevicePartUUID", "BootCurrent", "BootCurrent-whole-disk", "none" */
const char *boot_method_to_string(enum boot_method m);

/* Which partition the firmware booted from, and how we know. */
struct efi_boot {
        enum boot_method method;
        char partuuid[GUID_STRING_MAX]; /* lower case */
        int boot_entry;                 /* the #### of Boot####, or -1 (method LOADER) */
        char *entry_description;        /* Boot####'s description, or NULL */
        char *device_path;              /* Boot####'s device path as text, or NULL */
        char *note;                     /* worth a warning, or NULL: why method 1 was passed
                                         * over; which ESP a whole disk was resolved to */
};

void efi_boot_done(struct efi_boot *b);

/* The efivars directory to use: $DUAL_ROOT_EFIVARS when set (secure_getenv), else the
 * default. */
const char *efi_vars_dir(void);

/*
 * Reads one variable. Returns 0, or -ENOENT (not set), -EBADMSG (file shorter than the
 * attributes word), -E2BIG (larger than 64 KiB, which no variable we read may be), or the
 * -errno of open/read. *ret_data is NUL-padded (two extra zero bytes) for convenience.
 */
int efi_read_var(const char *dir, const char *name, const char *guid, uint32_t *ret_attr,
                 uint8_t **ret_data, size_t *ret_size);

/* LoaderDevicePartUUID data (UTF-16LE GUID text, optionally NUL-terminated, either case) to
 * a lower-case GUID string. -EBADMSG with *why on anything else. */
int efi_parse_loader_partuuid(const uint8_t *data, size_t size, char ret[GUID_STRING_MAX],
                              char **why);

/* An EFI_LOAD_OPTION (UEFI 2.10, 3.1.3), validated: every length checked against the data. */
struct efi_load_option {
        uint32_t attributes;
        char *description;       /* UTF-8 converted from UCS-2; owned */
        const uint8_t *path;     /* FilePathList, points into the parsed data */
        size_t path_size;        /* FilePathListLength */
        const uint8_t *optional; /* OptionalData, points into the parsed data */
        size_t optional_size;
};

int efi_parse_load_option(const uint8_t *data, size_t size, struct efi_load_option *ret,
                          char **why);
void efi_load_option_done(struct efi_load_option *o);

/*
 * Walks a device path (short form starting at HD(), or full form from the root bus) to the
 * first Hard Drive media node (type 4, subtype 1). Returns 0 with the lower-case PARTUUID if
 * that node has a GPT signature; -ENOENT if the path has no such node ("names no partition",
 * e.g. a whole disk); -EMEDIUMTYPE if the node has an MBR or no signature; -EBADMSG when a
 * node's length is malformed. *why says which.
 */
int efi_devpath_find_gpt_partuuid(const uint8_t *path, size_t size, char ret[GUID_STRING_MAX],
                                  char **why);

/* The file a device path names: its first instance's File() nodes (type 4, subtype 4) joined,
 * as UTF-8, e.g. "\EFI\systemd\systemd-bootx64.efi". -ENOENT when it has none. */
int efi_devpath_find_file(const uint8_t *path, size_t size, char **ret, char **why);

/* Renders a device path as text in the UEFI spec's notation, e.g.
 * "PciRoot(0x0)/Pci(0x1,0x1)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,<guid>,0x800,0x100000)/File(\EFI\..)".
 * Nodes it does not know print as "Path(type,subtype)". Returns 0 or -ENOMEM / -EBADMSG. */
int efi_devpath_to_string(const uint8_t *path, size_t size, char **ret);

/* A device path whose first instance is exactly PciRoot(uid)/Pci(d,f)[/Pci(d,f)...]: a whole
 * disk named by the PCI function of its controller, as OVMF names virtio disks. */
#define EFI_PCI_CHAIN_MAX 8
struct efi_pci_chain {
        uint32_t root_uid; /* ACPI _UID of the PCI host bridge */
        size_t n;          /* hops, >= 1; hop[0] is on the root bus */
        struct {
                uint8_t device, function;
        } hop[EFI_PCI_CHAIN_MAX];
};

/* Returns 0, or -ENOENT when the path is not such a chain, -E2BIG when it has more than
 * EFI_PCI_CHAIN_MAX hops, -EBADMSG when it is malformed; *why says which node. */
int efi_devpath_pci_chain(const uint8_t *path, size_t size, struct efi_pci_chain *ret, char **why);

/*
 * DESIGN.md §3: method 1 (LoaderDevicePartUUID) if set and well-formed; otherwise method 2
 * (BootCurrent -> Boot#### -> Hard Drive node with a GPT signature). A malformed method-1
 * variable is passed over to method 2 with b->note saying why. If neither answers, returns
 * -ENOENT/-EBADMSG/... (-EOPNOTSUPP when the efivars directory does not exist) and *why says
 * precisely why for each method, e.g.
 *   "not booted with UEFI (/sys/firmware/efi/efivars does not exist)" or
 *   "LoaderDevicePartUUID is not set, and Boot0001 ("UEFI Misc Device") names no partition:
 *    PciRoot(0x0)/Pci(0x5,0x0)".
 * *ret is written only on success.
 */
int efi_find_booted_partuuid(const char *dir, struct efi_boot *ret, char **why);

/* The same, and if Boot#### names a whole disk by its PCI function, resolves that with
 * efi_resolve_disk_esp() (method BOOT_METHOD_BOOTCURRENT_DISK, b->note saying which ESP was
 * taken). sysfs_root NULL: no resolution, as efi_find_booted_partuuid(). */
int efi_find_booted_partuuid_full(const char *dir, const char *sysfs_root, const char *dev_root,
                                  struct efi_boot *ret, char **why);
