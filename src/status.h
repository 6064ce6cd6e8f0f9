/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The health report (--status): is this machine ready to lose a disk? Findings with the
 * monitoring plugins' severities (DESIGN.md §2): OK 0, WARNING 1 (degraded: an alternate missing
 * or not in sync), CRITICAL 2 (kernels would land on the wrong ESP, or nothing can sync),
 * UNKNOWN 3 (the booted ESP cannot be identified).
 */

#include <libmount.h>

#include "config.h"
#include "esp.h"

enum status_level {
        STATUS_OK = 0,
        STATUS_WARNING = 1,
        STATUS_CRITICAL = 2,
        STATUS_UNKNOWN = 3,
};

struct status_finding {
        enum status_level level;
        char *text;
};

struct status_report {
        enum status_level level; /* the worst finding's */
        struct status_finding *findings;
        size_t n;
};

const char *status_level_to_string(enum status_level l); /* "OK", "WARNING", ... */

/* Examines the model, the ESPs' contents, efi_mount (/boot) and the sync list's
 * destinations. Returns 0 or -ENOMEM. */
int status_check(const struct config *c, const struct esp_model *m, struct libmnt_table *t,
                 struct libmnt_table *fstab, const char *efi_mount, struct status_report *ret);

void status_report_done(struct status_report *r);
