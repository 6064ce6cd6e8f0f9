/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rEFInd's configuration as rEFInd reads it (DESIGN.md §11b): refind.conf (tokens, manual
 * boot stanzas, what it scans for) and refind_linux.conf (the options of a scanned kernel).
 * Parsing only.
 *
 * A line is a token and its values, separated by blanks, '=' or ',' outside double
 * quotes; '#' starts a comment outside quotes. `menuentry "T" {` ... `}` is a manual stanza,
 * `submenuentry "T" {` ... `}` a variant of it.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

#define REFIND_CFG_MAX (256 * 1024)

struct refind_stanza {
        char *title;
        unsigned line;
        int parent;   /* index of the stanza a submenuentry belongs to, -1 for a menuentry */
        char *volume; /* as written: a filesystem or partition label, or a partition GUID */
        char *loader;
        char *initrd;
        char *options;
        bool disabled;
};

struct refind_cfg {
        struct refind_stanza *stanzas;
        size_t n;
        char **scanfor;        /* "internal", "external", "manual", ...; NULL: rEFInd's default */
        char **also_scan_dirs; /* as written, "[VOLUME:]PATH" */
        char **dont_scan_dirs;
        char **dont_scan_volumes;
        char **dont_scan_files;
        char **includes; /* files named by include (read by the caller, one level deep) */
        char *default_selection;
};

/* Parses refind.conf text. A stanza not closed, a '}' closing none, a stanza inside a
 * submenuentry, NUL bytes, or an unterminated quote: -EBADMSG with *why naming the line. */
int refind_cfg_parse(const char *text, size_t size, struct refind_cfg *ret, char **why);
void refind_cfg_done(struct refind_cfg *c);

/* Whether the configuration scans for manual stanzas only, i.e. kernels found by scanning
 * are not offered (scanfor without internal, external or hdbios). */
bool refind_cfg_manual_only(const struct refind_cfg *c);

struct refind_linux_line {
        char *title;
        char *options;
        unsigned line;
};

/* refind_linux.conf: each line "TITLE" "OPTIONS" (quotes optional for one-word fields).
 * Returns -EBADMSG with *why for a line with no options or an unterminated quote. */
int refind_linux_parse(const char *text, size_t size, struct refind_linux_line **ret, size_t *ret_n,
                       char **why);
void refind_linux_free(struct refind_linux_line *l, size_t n);
