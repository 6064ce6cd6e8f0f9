/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Writing EFI variables through efivarfs, and encoding what we write (DESIGN.md §11): load
 * options (UEFI 2.10 §3.1.3) whose device path is HD()/File() (§10.3.5.1, §10.3.5.4), as
 * efibootmgr and bootctl write them, and BootOrder.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EFI_VARIABLE_NON_VOLATILE 0x1u
#define EFI_VARIABLE_BOOTSERVICE_ACCESS 0x2u
#define EFI_VARIABLE_RUNTIME_ACCESS 0x4u
#define EFI_NV_BS_RT                                                                               \
        (EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS)
#define LOAD_OPTION_ACTIVE 0x1u

/*
 * Writes dir/NAME-GUID as one write() of the attributes word and the data, as efivarfs needs
 * (every write is one SetVariable() call). An existing variable is replaced in place (never
 * deleted first: a crash must not leave it missing); a new one is created with O_EXCL and
 * removed again if the firmware refuses it. efivarfs marks most variables immutable: the flag
 * is cleared (FS_IOC_SETFLAGS) for the write and put back. In a directory that is not efivarfs
 * (the DUAL_ROOT_EFIVARS test seam) the file is truncated first, as efivarfs does implicitly.
 * Returns 0 or -errno with *why naming the variable and what the firmware or kernel said
 * (EINVAL malformed, ENOSPC NVRAM full, EROFS/EPERM read-only, EIO firmware error).
 */
int efi_write_var(const char *dir, const char *name, const char *guid, uint32_t attr,
                  const void *data, size_t size, char **why);

/* A GUID's text (any case) to its 16 bytes in EFI order (§Appendix A). -EINVAL if malformed. */
int efi_guid_from_string(const char *s, uint8_t ret[16]);

/* HD(partnum,GPT,partuuid,start,size)/File(file)/End: a short-form device path. file is an EFI
 * path ("\EFI\BOOT\BOOTX64.EFI", ASCII). Returns 0, -EINVAL (bad GUID, non-ASCII or empty
 * file), -ENOMEM. */
int efi_encode_hd_file_path(uint32_t partnum, uint64_t start, uint64_t size, const char *partuuid,
                            const char *file, uint8_t **ret, size_t *ret_size);

/* An EFI_LOAD_OPTION: attributes, FilePathListLength, Description (UCS-2 from ASCII), the path,
 * no optional data. Returns 0, -EINVAL (non-ASCII description), -ENOMEM. */
int efi_encode_load_option(uint32_t attributes, const char *description, const uint8_t *path,
                           size_t path_size, uint8_t **ret, size_t *ret_size);

/* BootNext (UEFI 2.10 §3.3): the one-shot Boot#### for the next boot, a UINT16 written NV|BS|RT
 * by efi_write_var(). */
int efi_write_boot_next(const char *dir, unsigned entry, char **why);

/*
 * Deletes dir/NAME-GUID (efivarfs deletes the variable when its file is unlinked; the
 * immutable flag is cleared first). -ENOENT when it is not set. Returns 0 or -errno with *why
 * naming the variable and the refusal as efi_write_var() does.
 */
int efi_delete_var(const char *dir, const char *name, const char *guid, char **why);

/* True for the errors of a write-protected NVRAM (or efivarfs): EPERM, EACCES, EROFS, EIO. */
bool efi_write_refused(int r);
