/* SPDX-License-Identifier: MIT */
/*
 * dual-root-tool: the command line (DESIGN.md §10). Options are parsed into arg, refused
 * together by the exclusion table, and each action runs as a row of verbs[]: its options set
 * its bit, run() loads what the given verbs need once (config, machine.c's mount table, fstab
 * and ESP model) and runs them in table order. The verbs themselves (verb_*(), what they print)
 * are verbs.c's. Adding an action: an enum verb_id entry, a getopt case, a function, a row.
 */
#include <getopt.h>
#include <stdarg.h>

#include "config-check.h"
#include "config.h"
#include "info-print.h"
#include "machine.h"
#include "status.h"
#include "util/log.h"
#include "util/strv.h"
#include "verbs.h"

#define EFI_MOUNT_DEFAULT "/boot"

struct options arg = {
        .config_path = CONFIG_DEFAULT_PATH,
        .efi_mount = EFI_MOUNT_DEFAULT,
};

static void help(void)
{
        printf("Usage: dual-root-tool [OPTIONS] [EFI_MOUNT]\n"
               "\n"
               "Find the EFI System Partition (ESP) the firmware booted from, bind-mount it\n"
               "onto EFI_MOUNT (default /boot), and keep the other ESPs (copied by the tool\n"
               "itself, or by rsync where the config sets rsync_opts or rsync_path) and the\n"
               "config's sync list (rsync) in sync. With no action, print which ESP was booted:\n"
               "how it was found, its device, PARTUUID, UUID and mounts, and the alternate\n"
               "ESPs.\n"
               "\n"
               "Actions:\n"
               "  -b, --bind          bind-mount the booted ESP onto EFI_MOUNT\n"
               "  -s, --sync          sync every item once: the booted ESP to every alternate\n"
               "                      ESP, and each sync list entry of the config\n"
               "  -d, --syncd         sync every item once, then keep syncing as a daemon:\n"
               "                      watch the sources, sync each change once it settles\n"
               "      --status        boot readiness: would the machine boot from each disk\n"
               "                      alone (ESP, firmware entry, loader entries, sync, root)?\n"
               "                      Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not\n"
               "                      look: e.g. the ESPs, readable by root only)\n"
               "      --fix-boot-entries  create a firmware boot entry (Boot####, added to\n"
               "                      BootOrder) for each ESP that has none; -t shows them\n"
               "      --check-config  parse and check the config file (it refuses what -s, -d\n"
               "                      and a reload refuse), print the values (with swap_ids:\n"
               "                      the identifier map, every line it changes), and exit\n"
               "      --add-disk DEVICE\n"
               "                      make the blank whole disk DEVICE a full member: a GPT\n"
               "                      like the booted disk's, FAT32 ESP on the missing\n"
               "                      disk's /efi<N> (its fstab line given the new PARTUUID)\n"
               "                      or the next free one (line added), synced, boot entry,\n"
               "                      and a btrfs root's missing device replaced by it;\n"
               "                      any other root: the booted disk's approach-2 twin\n"
               "                      (its filesystems alike under alt_root, first copy);\n"
               "                      then the --status report. Run again to continue\n"
               "      --prove [DISK]  failover drill: set the one-shot BootNext to the boot\n"
               "                      entry of the other disk (or DISK: mount point, PARTUUID\n"
               "                      or device), recorded on every ESP; at the next boot -b\n"
               "                      records whether that disk came up (--status shows it)\n"
               "      --reboot        with --prove: reboot now (systemctl reboot)\n"
               "      --assert-boot-entries\n"
               "                      check each ESP's firmware entry; with fix_boot_entries\n"
               "                      = \"auto\" recreate a missing one (the hooks run it)\n"
               "\n"
               "Options:\n"
               "  -t, --test          dry run: say exactly what would be done (the rollback\n"
               "                      guard asked too), change nothing\n"
               "  -q, --quiet         print only warnings and errors (no progress lines)\n"
               "  -v, --verbose       --add-disk's progress every 10 s when not on a terminal\n"
               "                      (default: every minute; on a terminal: a live line);\n"
               "                      --status: each disk's boot chain, link by link\n"
               "  -c, --conf FILE     config file (default %s;\n"
               "                      the default may be absent, a given FILE must exist)\n"
               "      --json          print the report (or --status, --check-config) as JSON\n"
               "      --textfile PATH with --status: also write the Prometheus text format to\n"
               "                      PATH (atomically), for node_exporter's textfile collector\n"
               "      --force         sync even if an alternate ESP changed since its last\n"
               "                      sync (the rollback guard), for this run only\n"
               "                      (with -d: each item's first sync); with --add-disk:\n"
               "                      destroy what DEVICE holds (it is named first)\n"
               "      --raid1         with --add-disk: convert a single-device btrfs root to\n"
               "                      raid1 across the booted disk and DEVICE (or grow a\n"
               "                      single-member md raid1 root to two members)\n"
               "  -h, --help          show this help and exit\n"
               "  -V, --version       show the version and exit\n"
               "\n"
               "EFI_MOUNT is read by --bind, --status and --add-disk's closing report; with "
               "--prove\n"
               "it names the disk to drill.\n"
               "Root is needed for -b, -s, -d, --fix-boot-entries, --add-disk, --prove,\n"
               "--assert-boot-entries, and for a full\n"
               "--status (a monitoring agent: sudo, see dual-root-tool(8), Monitoring).\n"
               "\n"
               "Exit status: 0 success, 1 the operation failed, 2 usage or config error.\n"
               "See dual-root-tool(8) and sync-daemon.conf(5).\n",
               CONFIG_DEFAULT_PATH);
}

/* The positional arguments: at most one, EFI_MOUNT, an absolute path. */
static int parse_efi_mount(int n, char *const *args)
{
        if (n == 0)
                return 0;
        if (n > 1) {
                log_error("expected at most one EFI_MOUNT argument, got %d: '%s', '%s'...", n,
                          args[0], args[1]);
                return -EINVAL;
        }
        if (args[0][0] != '/' && !verb_given(VERB_PROVE)) {
                log_error("EFI_MOUNT must be an absolute path, got '%s'", args[0]);
                return -EINVAL;
        }
        if (verb_given(VERB_PROVE)) {
                arg.prove_disk = args[0];
                return 0;
        }
        arg.efi_mount = args[0];
        arg.efi_mount_given = true;
        return 0;
}

/* The options beside the verbs' bits (1 << enum verb_id) in what check_combination() sees. */
enum {
        OPT_JSON = 1u << 16,
        OPT_TEXTFILE = 1u << 17,
        OPT_REBOOT = 1u << 18,
        OPT_RAID1 = 1u << 19,
        OPT_FORCE = 1u << 20,
};
#define V(verb) (1u << (verb))
#define V_SYNCS (V(VERB_SYNC) | V(VERB_SYNCD))
#define V_ALL ((1u << _VERB_MAX) - 1)

/* Options that make no sense together: the first row that applies is said. A row applies when
 * what it names is given with any of others, or (requires) with none of them. */
static const struct exclusion {
        unsigned given;
        unsigned others;
        bool requires;
        const char *message;
} exclusions[] = {
        { OPT_JSON, V(VERB_BIND) | V_SYNCS, false,
          "--json applies to the report printed when no action is given; it cannot be "
          "combined with --bind or --sync" },
        { V(VERB_STATUS), V(VERB_BIND) | V_SYNCS | V(VERB_CHECK_CONFIG), false,
          "--status is a report of its own; it cannot be combined with --bind, --sync, "
          "--syncd or --check-config" },
        { V(VERB_FIX_BOOT_ENTRIES),
          V(VERB_BIND) | V_SYNCS | V(VERB_CHECK_CONFIG) | V(VERB_STATUS) | OPT_JSON, false,
          "--fix-boot-entries is an action of its own; it cannot be combined with --bind, "
          "--sync, --syncd, --status, --check-config or --json" },
        { OPT_TEXTFILE, V(VERB_STATUS), true, "--textfile only applies to --status" },
        { V(VERB_ADD_DISK), V_ALL & ~V(VERB_ADD_DISK), false,
          "--add-disk is an action of its own; it cannot be combined with --bind, --sync, "
          "--syncd, --status, --fix-boot-entries or --check-config" },
        { V(VERB_ADD_DISK), OPT_JSON, false, "--json cannot be combined with --add-disk" },
        { V(VERB_PROVE), (V_ALL & ~V(VERB_PROVE)) | OPT_JSON, false,
          "--prove and --assert-boot-entries are actions of their own; they cannot be "
          "combined with another action or --json" },
        { V(VERB_ASSERT_ENTRIES), (V_ALL & ~V(VERB_ASSERT_ENTRIES)) | OPT_JSON, false,
          "--prove and --assert-boot-entries are actions of their own; they cannot be "
          "combined with another action or --json" },
        { OPT_REBOOT, V(VERB_PROVE), true, "--reboot only applies to --prove" },
        { OPT_RAID1, V(VERB_ADD_DISK), true, "--raid1 only applies to --add-disk" },
        { OPT_FORCE, V_SYNCS | V(VERB_ADD_DISK), true,
          "--force only applies to --sync and --add-disk" },
};

static int check_combination(void)
{
        bool bind = verb_given(VERB_BIND), sync = verb_given(VERB_SYNC) || verb_given(VERB_SYNCD);
        unsigned given = arg.verbs | (arg.json ? OPT_JSON : 0) | (arg.textfile ? OPT_TEXTFILE : 0) |
                         (arg.reboot ? OPT_REBOOT : 0) | (arg.raid1 ? OPT_RAID1 : 0) |
                         (arg.force ? OPT_FORCE : 0);

        for (size_t i = 0; i < ELEMENTSOF(exclusions); i++) {
                const struct exclusion *x = &exclusions[i];

                if ((given & x->given) && !(given & x->others) == x->requires) {
                        log_error("%s", x->message);
                        return -EINVAL;
                }
        }
        /* EFI_MOUNT is where -b binds the booted ESP, which --status (and --add-disk's report)
         * checks; nothing else reads it: said rather than ignored. The default given again
         * (the original's "-sd /boot") changes nothing and stays accepted. */
        if (arg.efi_mount_given && !streq(arg.efi_mount, EFI_MOUNT_DEFAULT) && !bind &&
            !verb_given(VERB_STATUS) && !arg.add_disk) {
                log_error("EFI_MOUNT '%s' is where --bind mounts the booted ESP and what --status "
                          "checks; %s does not use it (it works on the ESP mount points "
                          "/efi<N>): drop it, or add --bind",
                          arg.efi_mount,
                          sync                                ? "--sync/--syncd"
                          : verb_given(VERB_CHECK_CONFIG)     ? "--check-config"
                          : verb_given(VERB_FIX_BOOT_ENTRIES) ? "--fix-boot-entries"
                                                              : "the report without an action");
                return -EINVAL;
        }
        return 0;
}

/* The options, getopt_long's table; what each sets is below (option_flags[], option_value(),
 * apply_option()). */
enum {
        ARG_JSON = 0x100,
        ARG_CHECK_CONFIG,
        ARG_FORCE,
        ARG_STATUS,
        ARG_FIX_BOOT_ENTRIES,
        ARG_TEXTFILE,
        ARG_ADD_DISK,
        ARG_RAID1,
        ARG_PROVE,
        ARG_REBOOT,
        ARG_ASSERT_ENTRIES,
};
static const struct option options[] = {
        { "bind", no_argument, NULL, 'b' },
        { "sync", no_argument, NULL, 's' },
        { "syncd", no_argument, NULL, 'd' },
        { "test", no_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "conf", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, ARG_JSON },
        { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
        { "force", no_argument, NULL, ARG_FORCE },
        { "status", no_argument, NULL, ARG_STATUS },
        { "fix-boot-entries", no_argument, NULL, ARG_FIX_BOOT_ENTRIES },
        { "textfile", required_argument, NULL, ARG_TEXTFILE },
        { "add-disk", required_argument, NULL, ARG_ADD_DISK },
        { "raid1", no_argument, NULL, ARG_RAID1 },
        { "prove", no_argument, NULL, ARG_PROVE },
        { "reboot", no_argument, NULL, ARG_REBOOT },
        { "assert-boot-entries", no_argument, NULL, ARG_ASSERT_ENTRIES },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        {},
};
#define SHORT_OPTIONS ":bsdtqvc:hV"

/* The options that take no value and only give a verb (its bit in arg.verbs) or set a flag. */
static const struct option_flag {
        int id;
        int verb; /* enum verb_id, or -1 */
        bool *flag;
} option_flags[] = {
        { 'b', VERB_BIND, NULL },
        { 's', VERB_SYNC, NULL },
        { 'd', VERB_SYNCD, NULL },
        { 't', -1, &arg.test },
        { 'q', -1, &arg.quiet },
        { 'v', -1, &arg.verbose },
        { ARG_JSON, -1, &arg.json },
        { ARG_CHECK_CONFIG, VERB_CHECK_CONFIG, NULL },
        { ARG_FORCE, -1, &arg.force },
        { ARG_STATUS, VERB_STATUS, NULL },
        { ARG_FIX_BOOT_ENTRIES, VERB_FIX_BOOT_ENTRIES, NULL },
        { ARG_RAID1, -1, &arg.raid1 },
        { ARG_PROVE, VERB_PROVE, NULL },
        { ARG_REBOOT, -1, &arg.reboot },
        { ARG_ASSERT_ENTRIES, VERB_ASSERT_ENTRIES, NULL },
};

/* An option_flags[] row's option: 1 when id is one, else 0. */
static int option_flag(int id)
{
        for (size_t i = 0; i < ELEMENTSOF(option_flags); i++) {
                const struct option_flag *f = &option_flags[i];

                if (f->id != id)
                        continue;
                if (f->verb >= 0)
                        arg.verbs |= 1u << f->verb;
                if (f->flag)
                        *f->flag = true;
                return 1;
        }
        return 0;
}

/* The options with a value, checked: --conf FILE, --textfile PATH, --add-disk DEVICE. */
static int option_value(int id, char *value)
{
        switch (id) {
        case 'c':
                if (isempty(value)) {
                        log_error("--conf needs a file name, got an empty string");
                        return -EINVAL;
                }
                arg.config_path = value;
                arg.config_given = true;
                return 1;
        case ARG_TEXTFILE:
                if (value[0] != '/') {
                        log_error("--textfile needs an absolute path, got '%s'", value);
                        return -EINVAL;
                }
                arg.textfile = value;
                return 1;
        case ARG_ADD_DISK:
                if (isempty(value) || value[0] != '/') {
                        log_error("--add-disk needs a device path such as /dev/sdb, got '%s'",
                                  value);
                        return -EINVAL;
                }
                arg.verbs |= 1u << VERB_ADD_DISK;
                arg.add_disk = value;
                return 1;
        }
        return 0;
}

/* What getopt_long() could not take: a missing value, an unknown option. */
static int option_refused(int c, char *argv[])
{
        if (c == ':')
                log_error("option '%s' needs an argument; see --help", argv[optind - 1]);
        else if (optopt > 0 && optopt < 0x100)
                log_error("unknown option '-%c'; see --help", optopt);
        else
                log_error("unknown option '%s'; see --help", argv[optind - 1]);
        return -EINVAL;
}

/* One option getopt_long() returned: 1 to go on, 0 when it was answered (--help, --version),
 * -EINVAL when refused (said). */
static int apply_option(int c, char *argv[])
{
        int r = option_flag(c);

        if (r == 0)
                r = option_value(c, optarg);
        if (r != 0)
                return r;
        switch (c) {
        case 'h':
                help();
                return 0;
        case 'V':
                printf("dual-root-tool %s\n", PACKAGE_VERSION);
                return 0;
        default:
                return option_refused(c, argv);
        }
}

/* The verbs that run: -d is -s that goes on; --check-config only reads the config, whatever
 * else is asked; no action is the report. */
static void settle_verbs(void)
{
        if (verb_given(VERB_SYNCD))
                arg.verbs &= ~(1u << VERB_SYNC);
        if (verb_given(VERB_CHECK_CONFIG))
                arg.verbs = 1u << VERB_CHECK_CONFIG;
        if (arg.verbs == 0)
                arg.verbs = 1u << VERB_INFO;
}

/* The command line into arg: 1 to run, 0 when answered (--help, --version), -EINVAL when
 * refused (said). */
static int parse_argv(int argc, char *argv[])
{
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, SHORT_OPTIONS, options, NULL)) >= 0) {
                r = apply_option(c, argv);
                if (r <= 0)
                        return r;
        }
        r = parse_efi_mount(argc - optind, argv + optind);
        if (r >= 0)
                r = check_combination();
        if (r < 0)
                return r;
        settle_verbs();
        return 1;
}

enum {
        VERB_NEEDS_MODEL = 1 << 0, /* the mount table and the ESP model */
        VERB_PROBES = 1 << 1,      /* the model reads superblocks: the verb shows UUIDs */
        VERB_BOOTED = 1 << 2,      /* acts on the booted ESP: announce_booted() first */
        VERB_OWN_EXIT = 1 << 3,    /* its exit status is the run's (the daemon outlives -b) */
        VERB_MONITOR = 1 << 4,     /* a monitoring check: not being able to look is UNKNOWN */
        VERB_FSTAB = 1 << 5,       /* reads fstab: mount checks, a missing ESP's source */
};

static const struct verb {
        int (*run)(struct context *c);
        unsigned flags;
} verbs[_VERB_MAX] = {
        /* The model: rule 11 needs the booted ESP (DESIGN.md §7 C7). */
        [VERB_CHECK_CONFIG] = { verb_check_config, VERB_NEEDS_MODEL | VERB_FSTAB },
        /* Both name ESPs by PARTUUID, which only a probing model knows for the alternates. */
        [VERB_STATUS] = { verb_status, VERB_NEEDS_MODEL | VERB_PROBES | VERB_MONITOR | VERB_FSTAB },
        [VERB_FIX_BOOT_ENTRIES] = { verb_fix_boot_entries, VERB_NEEDS_MODEL | VERB_PROBES },
        [VERB_INFO] = { verb_info, VERB_NEEDS_MODEL | VERB_PROBES | VERB_FSTAB },
        [VERB_BIND] = { verb_bind, VERB_NEEDS_MODEL | VERB_PROBES | VERB_BOOTED },
        [VERB_SYNC] = { verb_sync, VERB_NEEDS_MODEL | VERB_BOOTED | VERB_FSTAB },
        [VERB_SYNCD] = { verb_syncd, VERB_NEEDS_MODEL | VERB_BOOTED | VERB_OWN_EXIT | VERB_FSTAB },
        [VERB_ADD_DISK] = { verb_add_disk, VERB_NEEDS_MODEL | VERB_PROBES | VERB_BOOTED },
        [VERB_PROVE] = { verb_prove, VERB_NEEDS_MODEL | VERB_PROBES },
        [VERB_ASSERT_ENTRIES] = { verb_assert_entries, VERB_NEEDS_MODEL | VERB_PROBES },
};

/* A monitoring verb's context that could not be loaded: kept as the reason the verb reports
 * (UNKNOWN), not printed here. Returns EXIT_OK, or STATUS_UNKNOWN when out of memory. */
static int context_failed(struct context *c, const char *check, const char *format, ...)
        _printf_(3, 4);
static int context_failed(struct context *c, const char *check, const char *format, ...)
{
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&c->error, format, ap);
        va_end(ap);
        if (k < 0) {
                c->error = NULL;
                log_error_errno(ENOMEM, "cannot report why the status cannot be checked: %m");
                return STATUS_UNKNOWN;
        }
        c->error_check = check;
        return EXIT_OK;
}

/* What the verbs need could not be loaded: said once, as JSON with --json (an error member:
 * --json always prints JSON), else on stderr. Returns exit_status. */
static int load_failed(int exit_status, const char *format, ...) _printf_(2, 3);
static int load_failed(int exit_status, const char *format, ...)
{
        _cleanup_free_ char *why = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&why, format, ap);
        va_end(ap);
        if (k < 0) {
                why = NULL;
                log_error_errno(ENOMEM, "cannot say why the run failed: %m");
                return exit_status;
        }
        if (arg.json && verb_given(VERB_CHECK_CONFIG)) {
                char *const errors[] = { why, NULL };

                print_check_config_json(arg.config_path, NULL, errors);
        } else if (arg.json && verb_given(VERB_INFO)) {
                info_print_json_error(stdout, why);
        } else
                log_error("%s", why);
        return exit_status;
}

/* Loads what the given verbs need; on failure returns the exit status. */
static int context_load(struct context *c, unsigned flags)
{
        _cleanup_free_ char *why = NULL;
        enum machine_part part;
        int r;

        r = config_load(arg.config_path, arg.config_given, &c->config, &why);
        if (r < 0 && verb_given(VERB_BIND)) {
                bool from_file;

                /* DESIGN.md §4 B2: an unbound /boot (the next kernel lands on neither ESP) is
                 * worse than a typo in a timing key; -b needs only esp_mounts. */
                log_error("%s", why ? why : strerror(-r));
                r = config_salvage_bind(arg.config_path, arg.config_given, &c->config, &from_file);
                if (r < 0) {
                        log_error_errno(r, "cannot read the config again for -b: %m");
                        return EXIT_FAILED;
                }
                log_warning("binding the booted ESP on %s despite this config error, with %s; no "
                            "other action runs and the exit status is 2: fix the config",
                            arg.efi_mount,
                            from_file ? "the ESP mount points of its esp_mounts"
                                      : "every /efi<N> mount as ESP mount points (no usable "
                                        "esp_mounts in what could be read)");
                arg.verbs = 1u << VERB_BIND;
                c->config_error = true;
        } else if (r < 0) {
                if (flags & VERB_MONITOR)
                        return context_failed(c, "config", "the configuration cannot be read: %s",
                                              why ? why : strerror(-r));
                return load_failed(EXIT_USAGE, "%s", why ? why : strerror(-r));
        }
        if (!(flags & VERB_NEEDS_MODEL))
                return EXIT_OK;
        /* Superblock probes only for what shows UUIDs: the report and -b's messages. */
        r = machine_load(c->config,
                         (flags & VERB_PROBES ? MACHINE_PROBE : 0) |
                                 (flags & VERB_FSTAB ? MACHINE_FSTAB : 0),
                         &c->m, &part, &why);
        if (r < 0 && flags & VERB_MONITOR)
                return context_failed(c, part == MACHINE_PART_MOUNTS ? "mounts" : "model", "%s",
                                      strna(why));
        if (r < 0)
                return load_failed(EXIT_FAILED, "%s", strna(why));
        if (c->m.fstab_warning)
                log_warning("%s", c->m.fstab_warning);
        return EXIT_OK;
}

/* Runs the given verbs in table order; the first failure is the exit status. */
static int run(int argc, char *argv[])
{
        _cleanup_(context_done) struct context c = {};
        unsigned flags = 0;
        bool announced = false;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        if (arg.quiet)
                log_set_max_level(LOG_WARNING);
        for (unsigned v = 0; v < _VERB_MAX; v++)
                if (verb_given(v))
                        flags |= verbs[v].flags;
        if (arg.verbs == 1u << VERB_INFO && arg.quiet && !arg.json)
                flags &= ~VERB_FSTAB; /* the report is not printed */

        r = context_load(&c, flags);
        if (r != EXIT_OK)
                return r;
        if (verb_given(VERB_SYNC) || verb_given(VERB_SYNCD) || verb_given(VERB_CHECK_CONFIG)) {
                _cleanup_free_ char *why = NULL;

                /* DESIGN.md §7 C7: what --check-config refuses, -s and -d refuse, before
                 * anything runs, with the same message. */
                struct config_check_context cx = { .model = c.m.model,
                                                   .mounts = c.m.mounts,
                                                   .fstab = c.m.fstab };

                if (config_check(c.config, &cx, &why) < 0)
                        /* --check-config --json: JSON still, the refusal as its error */
                        return load_failed(EXIT_USAGE, "%s", strna(why));
        }
        for (unsigned v = 0; v < _VERB_MAX; v++) {
                int k;

                if (!verb_given(v))
                        continue;
                if (verbs[v].flags & VERB_BOOTED && !announced) {
                        announce_booted(&c);
                        announced = true;
                }
                k = verbs[v].run(&c);
                if (r == EXIT_OK || verbs[v].flags & VERB_OWN_EXIT)
                        r = k;
        }
        /* Bound or not, the config error is the run's outcome. */
        return c.config_error ? EXIT_USAGE : r;
}

int main(int argc, char *argv[])
{
        int r;

        /* Line by line, also into a pipe or the journal: each sync result as it happens,
         * and in order with rsync's own output in test mode. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        r = run(argc, argv);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error_errno(errno > 0 ? errno : EIO, "cannot write to standard output: %m");
                return r == EXIT_OK ? EXIT_FAILED : r;
        }
        return r;
}
