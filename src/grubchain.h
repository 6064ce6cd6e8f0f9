/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * GRUB's chain on one disk, followed as GRUB would with the other disk gone (DESIGN.md
 * §11b): the stub the firmware's entry starts (EFI/<distributor>/grub.cfg beside
 * grubx64.efi), each `search` it runs, the `configfile` it reads, the menu, the default
 * entry and the kernel and initrds each entry loads. A link that only the other disk could
 * satisfy is a finding naming file, line and identifier.
 *
 * The filesystems GRUB could find are given by the caller (loaderchain.h).
 */

#include <stdbool.h>
#include <stddef.h>

#include "loaderchain.h"

/*
 * Follows the chain from stub (a path on fss[start], which must have a directory), the file
 * GRUB reads first. GRUB starts with $root the device it was loaded from (fss[start]) and
 * $prefix the stub's directory. Returns 0 with *ret filled (findings say what is wrong), or
 * -ENOMEM.
 */
int grub_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *stub,
                     struct chain_result *ret);

/* The same when fss may not hold every filesystem of the disk (the caller knows only the
 * ESPs): a search for an identifier none of fss has is then UNKNOWN, not CRITICAL. */
int grub_chain_check_partial(const struct chain_fs *fss, size_t n_fs, size_t start,
                             const char *stub, struct chain_result *ret);

/* grub_chain_check_partial() for GRUB as the firmware's entry starts it (bootentry_start()):
 * shim the ESP path of the shim it starts through (its second stage grub<arch>.efi beside the
 * stub must be a plausible EFI program), "" GRUB itself, NULL not known (a shim beside the
 * stub is taken to start it). */
int grub_chain_check_started(const struct chain_fs *fss, size_t n_fs, size_t start,
                             const char *stub, const char *shim, struct chain_result *ret);

/* The path of the GRUB stub on an ESP, if one of the known places holds one (EFI/<vendor>/
 * grub.cfg for the vendors GRUB packages use, EFI/BOOT/grub.cfg), else NULL (static). */
const char *grub_find_stub(int esp_fd);
