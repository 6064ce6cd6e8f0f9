/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * GRUB's configuration files as GRUB reads them (DESIGN.md §11b): the stub an ESP holds
 * (EFI/<distributor>/grub.cfg: a `search` and a `configfile`), bootuuid.cfg, and the menu
 * grub-mkconfig writes (grub/grub.cfg). Parsing only: which filesystem a `search` must find,
 * which file a `configfile` or `linux` names, which entries a menu offers. No verdicts here.
 *
 * The script language is read as GRUB's lexer does: words split on blanks, ';' and newlines
 * end a command, '#' starts a comment at the start of a word, '\' escapes outside single
 * quotes, "..." expands variables, '...' is literal, '\' + newline continues a line, '{' and
 * '}' open and close the block of a menuentry, submenu or function. `if`/`for`/`while` are
 * not evaluated: their commands are kept with `conditional` set, in file order.
 *
 * A variable reference is kept in a word as GRUB_VAR_START name GRUB_VAR_END, so that a
 * literal "$" (from '...' or "\$") stays distinct from an expansion; grub_word_expand()
 * replaces the references, grub_word_render() writes them back as ${name}.
 */

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

#define GRUB_CFG_MAX (1024 * 1024) /* a larger file is refused */
#define GRUB_DEPTH_MAX 32          /* blocks nested deeper are refused */
#define GRUB_VAR_START '\001'
#define GRUB_VAR_END '\002'

struct grub_cmd {
        unsigned line;    /* of the command's first word, from 1 */
        char **argv;      /* the words, unquoted; variable references marked (see above) */
        int entry;        /* index of the innermost menuentry/submenu, -1 outside any */
        bool conditional; /* inside if/elif/else, for or while: may not run */
        bool in_function; /* inside a function body: runs only when called */
};

struct grub_entry {
        char *title;              /* the menuentry's first argument, unquoted */
        char *id;                 /* --id or $menuentry_id_option's argument, NULL when none */
        bool submenu;             /* a submenu: its entries have it as parent */
        int parent;               /* index of the enclosing submenu, -1 at the top */
        unsigned line;            /* the menuentry line */
        size_t first_cmd, n_cmds; /* its commands in grub_cfg.cmds (nested ones included) */
};

struct grub_cfg {
        struct grub_cmd *cmds;
        size_t n_cmds;
        struct grub_entry *entries; /* in file order */
        size_t n_entries;
};

/* Parses a script of size bytes (NUL bytes, the marker bytes and unbalanced quotes or braces
 * are refused: -EBADMSG with *why naming the line). *ret is written on success only. */
int grub_cfg_parse(const char *text, size_t size, struct grub_cfg *ret, char **why);
void grub_cfg_done(struct grub_cfg *cfg);

/* The value of a word with each variable reference replaced by lookup(name, userdata), or
 * by "" when it returns NULL. NULL on ENOMEM. *ret_unknown (may be NULL) is set true when a
 * reference had no value. */
char *grub_word_expand(const char *word, const char *(*lookup)(const char *name, void *userdata),
                       void *userdata, bool *ret_unknown);
/* The word as a user would write it: references as ${name}. NULL on ENOMEM. */
char *grub_word_render(const char *word);
/* Whether the word holds no variable reference. */
bool grub_word_is_literal(const char *word);

enum grub_search_kind {
        GRUB_SEARCH_FS_UUID,
        GRUB_SEARCH_LABEL,
        GRUB_SEARCH_FILE,
};

struct grub_search {
        enum grub_search_kind kind;
        const char *value; /* the identifier or file name searched for (points into argv) */
        const char *var;   /* the variable it sets: "root" unless --set=VAR or the 2nd arg */
        bool no_floppy;
};

/* Reads a `search`, `search.fs_uuid`, `search.fs_label` or `search.file` command. Returns 0,
 * -ENOENT when argv is no search command, -EINVAL with *why when its arguments are not
 * understood (an unknown option, no identifier). Hints (--hint*) are skipped: GRUB treats
 * them as guesses and searches every device when they miss. */
int grub_search_parse(char *const *argv, struct grub_search *ret, char **why);

/* Whether argv[0] is a command that starts a kernel or chains to another loader. */
bool grub_cmd_is_linux(const char *cmd);  /* linux, linuxefi, linux16 */
bool grub_cmd_is_initrd(const char *cmd); /* initrd, initrdefi, initrd16 */
