/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a Boot#### entry starts when its File() is a kernel itself (DESIGN.md §11b L11): a
 * unified kernel image (a PE image with a ".linux" section; its ".cmdline" section is the
 * kernel's command line) or a plain EFI-stub kernel (a PE image carrying the kernel's own
 * boot signature: x86's "HdrS" at 0x202, arm64's "ARM\x64" or RISC-V's "RSC\x05" at 0x38),
 * whose command line is the entry's optional data as UCS-2 (as efibootmgr -u writes it).
 *
 * Only the PE headers, the section table and the .cmdline section are read (pread), never
 * the whole image. Whether the image is plausible as a whole is loaderfile.h's business.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UKI_CMDLINE_MAX (64U * 1024U) /* a longer .cmdline or optional data is refused */

enum uki_kind {
        UKI_NONE = 0, /* a PE image, but neither: a boot loader (systemd-boot, shim, ...) */
        UKI_UKI,      /* a unified kernel image */
        UKI_KERNEL,   /* a plain EFI-stub kernel */
};

struct uki_image {
        enum uki_kind kind;
        char *cmdline;   /* the .cmdline section's text (trailing NULs and newlines cut), or NULL */
        bool has_initrd; /* a .initrd section */
};

void uki_image_done(struct uki_image *u);

/* Reads the PE headers and sections of the image in fd (pread; the offset is not moved).
 * Returns 0 with *ret; -EBADMSG with *why saying what and where when it is not a PE image,
 * its section table or .cmdline lies outside the file, or .cmdline is not text; other
 * -errno (with *why) when it cannot be read. */
int uki_read_fd(int fd, struct uki_image *ret, char **why);

/* The same on size bytes in memory: for the unit tests and the fuzzer. */
int uki_read_buffer(const void *data, size_t size, struct uki_image *ret, char **why);

/* A Boot#### entry's optional data as a kernel command line: UCS-2 little endian up to the
 * first NUL (or the end), converted to UTF-8. *ret is NULL when there is none (0 bytes).
 * -EBADMSG with *why when it is ASCII text (efibootmgr without -u), its length is odd, it
 * holds a surrogate or a control character other than tab and newline, or exceeds
 * UKI_CMDLINE_MAX. */
int uki_optional_cmdline(const uint8_t *data, size_t size, char **ret, char **why);

/* "unified kernel image", "EFI-stub kernel", "EFI program". */
const char *uki_kind_to_string(enum uki_kind k);
