/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A whole disk named by the PCI function of its controller (Boot#### of OVMF's "UEFI Misc
 * Device", DESIGN.md §3) -> the one ESP on it: sysfs walking and the partition table read
 * with libblkid. efivars.c asks it when a boot entry names no partition.
 */

#include "efivars.h"

/*
 * Resolves a PCI chain through sysfs_root (normally "/sys": the host bridge whose ACPI _UID is
 * chain->root_uid, then each Pci(d,f) hop) to the one whole disk under that PCI function, and
 * reads its partition table with libblkid (device node dev_root/<disk>, normally under "/dev")
 * for the one EFI System Partition (GPT type c12a7328-f81f-11d2-ba4b-00a0c93ec93b). Answers
 * only when both are unique. Returns 0 with the ESP's PARTUUID (lower case) and, if ret_where
 * is not NULL, e.g. "partition 1 of vda (PCI 0000:00:05.0)"; -ENOENT (no such host bridge,
 * PCI function, disk or ESP), -ENOTUNIQ (more than one), -EMEDIUMTYPE (not GPT) or -errno,
 * with *why saying which.
 */
int efi_resolve_disk_esp(const struct efi_pci_chain *chain, const char *sysfs_root,
                         const char *dev_root, char ret[GUID_STRING_MAX], char **ret_where,
                         char **why);
