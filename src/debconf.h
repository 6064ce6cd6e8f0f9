/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Debian's debconf database (/var/cache/debconf/config.dat): stanzas of "Field: value"
 * lines separated by blank lines, each naming a question ("Name:") and its answer
 * ("Value:"). Read for grub-efi/install_devices, the ESPs grub-install writes on an upgrade
 * (DESIGN.md §11b L6). Parsing only.
 */

#include <stddef.h>

#include "util/macro.h"

#define DEBCONF_DAT_MAX (16 * 1024 * 1024)
#define DEBCONF_CONFIG_DAT "/var/cache/debconf/config.dat"

/* The Value of the question called name: 0 with *ret (allocated; "" for an empty value),
 * -ENOENT when the question or its Value is absent, -EBADMSG with *why for a NUL byte or a
 * field line without a colon. */
int debconf_value(const char *text, size_t size, const char *name, char **ret, char **why);

/* A comma-separated debconf list ("a, b, c") as its items, blanks trimmed, empty ones
 * dropped. Returns 0 or -ENOMEM. */
int debconf_split_list(const char *value, char ***ret);
