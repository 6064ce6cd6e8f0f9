/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Is a file a loader starts plausible for what it is (DESIGN.md §11 rule S8)? Judged from its
 * headers only, never from its whole content, so --status stays cheap on a full ESP:
 *
 *   - an EFI program (a boot loader: systemd-boot, shim, GRUB, the removable-media fallback,
 *     an EFI driver, an entry's "efi" file): a PE/COFF image (Microsoft PE/COFF
 *     specification; UEFI 2.10 §2.1.1) for this machine's firmware: "MZ", e_lfanew inside the
 *     file, "PE\0\0", the COFF machine and optional header magic of this architecture, an EFI
 *     subsystem, the section table inside the file and every section's raw data (and an
 *     Authenticode signature, when the image names one) inside the file;
 *   - a unified kernel image: such an image with a ".linux" section whose start is a kernel
 *     (".initrd" is optional);
 *   - a kernel ("linux"): a PE image as above when it starts with "MZ" (an EFI-stub kernel)
 *     and, when it carries the x86 boot protocol header ("HdrS" at 0x202, Documentation/
 *     arch/x86/boot.rst), at least as long as the setup sectors and protected-mode code that
 *     header declares; a compressed kernel is only known non-empty;
 *   - an initrd: not empty (a cpio or compression magic is recognised, nothing else is
 *     required);
 *   - a devicetree (or overlay): the flattened devicetree magic and its totalsize inside the
 *     file.
 *
 * A truncated file fails: the header says where its last part ends, the file ends before.
 */

#include <stdint.h>
#include <sys/types.h>

enum loaderfile_kind {
        LOADERFILE_EFI,        /* a PE image the firmware or a loader starts */
        LOADERFILE_UKI,        /* a unified kernel image (EFI/Linux/ *.efi) */
        LOADERFILE_KERNEL,     /* a BLS entry's "linux" */
        LOADERFILE_INITRD,     /* a BLS entry's "initrd" */
        LOADERFILE_DEVICETREE, /* "devicetree", "devicetree-overlay" */
};

/* "EFI program", "unified kernel image", "kernel", "initrd", "devicetree". */
const char *loaderfile_kind_to_string(enum loaderfile_kind k);

/* The PE machine this machine's firmware runs (IMAGE_FILE_MACHINE_*), and its short name. */
uint16_t loaderfile_machine(void);

/* Judges the regular file open as fd, reading its headers with pread (the offset is not
 * moved). Returns 0 when plausible; -EBADMSG with *why saying exactly what is wrong ("empty
 * (0 bytes)", "truncated: the PE section .text ends at byte 9216, the file has 4096", ...);
 * other -errno (with *why) when it cannot be read: that is "could not look", not "broken". */
int loaderfile_check_fd(int fd, enum loaderfile_kind kind, char **why);

/* The same on size bytes in memory (the whole file): for the unit tests and the fuzzer. */
int loaderfile_check_buffer(const void *data, size_t size, enum loaderfile_kind kind, char **why);
