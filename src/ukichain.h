/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A kernel the firmware starts directly (DESIGN.md §11b L11): a Boot#### entry whose File()
 * is a unified kernel image or a plain EFI-stub kernel (uki.h). Its chain: the image, which
 * must be plausible (loaderfile.h), its command line (the UKI's .cmdline, and the entry's
 * optional data, which systemd-stub uses instead when Secure Boot is off; the optional data
 * alone for a plain kernel), the filesystem its root= names and, for a plain kernel, each
 * initrd= file, which the stub reads from the ESP it was started from.
 */

#include <stdbool.h>
#include <stdint.h>

#include "loaderchain.h"

/*
 * Judges file (a path on fss[start], '/' or '\' separated) as the firmware starts it with
 * the entry's optional data (NULL and 0: none, as for the removable-media fallback). partial:
 * fss may lack filesystems of the disk (the caller knows only the ESPs), so a root= naming
 * none of them is UNKNOWN, not CRITICAL. Returns 1 with *ret filled when the file is a UKI or
 * an EFI-stub kernel; 0 with *ret empty when it is neither or cannot be read as a PE image
 * (another check judges it then); -ENOMEM.
 */
int uki_chain_check(const struct chain_fs *fss, size_t n_fs, size_t start, const char *file,
                    const uint8_t *optional, size_t optional_size, bool partial,
                    struct chain_result *ret);
