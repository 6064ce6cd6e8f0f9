/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The info report, what dual-root-tool prints with no action (DESIGN.md §2): how the booted
 * ESP was found, its device, PARTUUID, UUID and mounts, and the alternate ESPs, as text or
 * JSON. fstab (may be NULL) names what should be on an ESP mount point with nothing mounted.
 * Printers only: main.c decides when.
 */

#include <stddef.h>
#include <stdio.h>

#include <libmount.h>

#include "esp.h"

/* "how: Boot#### \"description\"" (or the method alone) into buf. Returns buf. */
const char *info_method_text(const struct efi_boot *b, char *buf, size_t size);

void info_print_text(FILE *f, const struct esp_model *m, struct libmnt_table *fstab);
void info_print_json(FILE *f, const struct esp_model *m, struct libmnt_table *fstab);

/* The JSON form when the model could not be built: every member null or empty, and why. */
void info_print_json_error(FILE *f, const char *why);
