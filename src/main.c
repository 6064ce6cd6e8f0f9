/* SPDX-License-Identifier: MIT */
/*
 * dual-root-tool: command line, verbs and exit codes. This is the only place that decides
 * what the user sees; modules return errors with context (char **why).
 *
 * Each action is a verb_*() function and a row of verbs[]: its options set its bit, run()
 * loads what the given verbs need once (config, mount table, ESP model) and runs them in
 * table order. Adding an action: an enum verb_id entry, a getopt case, a function, a row.
 */
#include <getopt.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "adddisk.h"
#include "bind.h"
#include "blockdev.h"
#include "bootentry.h"
#include "config-check.h"
#include "config.h"
#include "daemon.h"
#include "drill.h"
#include "efivars.h"
#include "esp.h"
#include "fstab.h"
#include "prio.h"
#include "report.h"
#include "status.h"
#include "swapfiles.h"
#include "sync.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"

#define EFI_MOUNT_DEFAULT "/boot"

/* Exit status (DESIGN.md §2). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

/* The actions, in the order they run when several are given (-b before -s or -d). */
enum verb_id {
        VERB_CHECK_CONFIG,
        VERB_STATUS,
        VERB_FIX_BOOT_ENTRIES,
        VERB_INFO,
        VERB_BIND,
        VERB_SYNC,
        VERB_SYNCD,
        VERB_ADD_DISK,
        VERB_PROVE,
        VERB_ASSERT_ENTRIES,
        _VERB_MAX,
};

static struct {
        unsigned verbs; /* 1 << enum verb_id; none given means VERB_INFO */
        bool test;
        bool force;
        bool quiet;
        bool verbose;
        bool json;
        const char *textfile;
        const char *add_disk;
        bool raid1;
        const char *config_path;
        bool config_given;
        const char *efi_mount;
        bool efi_mount_given;
        const char *prove_disk; /* --prove's DISK, the positional argument */
        bool reboot;
} arg = {
        .config_path = CONFIG_DEFAULT_PATH,
        .efi_mount = EFI_MOUNT_DEFAULT,
};

static bool verb_given(enum verb_id v)
{
        return arg.verbs & (1u << v);
}

static void help(void)
{
        printf("Usage: dual-root-tool [OPTIONS] [EFI_MOUNT]\n"
               "\n"
               "Find the EFI System Partition (ESP) the firmware booted from, bind-mount it\n"
               "onto EFI_MOUNT (default /boot), and keep the other ESPs, and the config's\n"
               "sync list, in sync with rsync. With no action, print which ESP was booted:\n"
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
               "      --fix-boot-entries  create a firmware boot entry (Boot####, appended to\n"
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
               "                      (default: every minute; on a terminal: a live line)\n"
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

/* Options that make no sense together. */
static int check_combination(void)
{
        bool bind = verb_given(VERB_BIND), sync = verb_given(VERB_SYNC) || verb_given(VERB_SYNCD);

        if (arg.json && (bind || sync)) {
                log_error("--json applies to the report printed when no action is given; it "
                          "cannot be combined with --bind or --sync");
                return -EINVAL;
        }
        if (verb_given(VERB_STATUS) && (bind || sync || verb_given(VERB_CHECK_CONFIG))) {
                log_error("--status is a report of its own; it cannot be combined with --bind, "
                          "--sync, --syncd or --check-config");
                return -EINVAL;
        }
        if (verb_given(VERB_FIX_BOOT_ENTRIES) && (bind || sync || verb_given(VERB_CHECK_CONFIG) ||
                                                  verb_given(VERB_STATUS) || arg.json)) {
                log_error("--fix-boot-entries is an action of its own; it cannot be combined with "
                          "--bind, --sync, --syncd, --status, --check-config or --json");
                return -EINVAL;
        }
        if (arg.textfile && !verb_given(VERB_STATUS)) {
                log_error("--textfile only applies to --status");
                return -EINVAL;
        }
        if (arg.add_disk && arg.verbs != 1u << VERB_ADD_DISK) {
                log_error("--add-disk is an action of its own; it cannot be combined with --bind, "
                          "--sync, --syncd, --status, --fix-boot-entries or --check-config");
                return -EINVAL;
        }
        if (arg.add_disk && arg.json) {
                log_error("--json cannot be combined with --add-disk");
                return -EINVAL;
        }
        if ((verb_given(VERB_PROVE) || verb_given(VERB_ASSERT_ENTRIES)) &&
            (arg.verbs & ~(1u << VERB_PROVE | 1u << VERB_ASSERT_ENTRIES) || arg.json ||
             (verb_given(VERB_PROVE) && verb_given(VERB_ASSERT_ENTRIES)))) {
                log_error("--prove and --assert-boot-entries are actions of their own; they "
                          "cannot be combined with another action or --json");
                return -EINVAL;
        }
        if (arg.reboot && !verb_given(VERB_PROVE)) {
                log_error("--reboot only applies to --prove");
                return -EINVAL;
        }
        if (arg.raid1 && !arg.add_disk) {
                log_error("--raid1 only applies to --add-disk");
                return -EINVAL;
        }
        if (arg.force && !sync && !arg.add_disk) {
                log_error("--force only applies to --sync and --add-disk");
                return -EINVAL;
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

static int parse_argv(int argc, char *argv[])
{
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
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":bsdtqvc:hV", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        arg.verbs |= 1u << VERB_BIND;
                        break;
                case 's':
                        arg.verbs |= 1u << VERB_SYNC;
                        break;
                case 'd':
                        arg.verbs |= 1u << VERB_SYNCD;
                        break;
                case 't':
                        arg.test = true;
                        break;
                case 'q':
                        arg.quiet = true;
                        break;
                case 'v':
                        arg.verbose = true;
                        break;
                case 'c':
                        if (isempty(optarg)) {
                                log_error("--conf needs a file name, got an empty string");
                                return -EINVAL;
                        }
                        arg.config_path = optarg;
                        arg.config_given = true;
                        break;
                case ARG_JSON:
                        arg.json = true;
                        break;
                case ARG_CHECK_CONFIG:
                        arg.verbs |= 1u << VERB_CHECK_CONFIG;
                        break;
                case ARG_FORCE:
                        arg.force = true;
                        break;
                case ARG_STATUS:
                        arg.verbs |= 1u << VERB_STATUS;
                        break;
                case ARG_FIX_BOOT_ENTRIES:
                        arg.verbs |= 1u << VERB_FIX_BOOT_ENTRIES;
                        break;
                case ARG_TEXTFILE:
                        if (optarg[0] != '/') {
                                log_error("--textfile needs an absolute path, got '%s'", optarg);
                                return -EINVAL;
                        }
                        arg.textfile = optarg;
                        break;
                case ARG_ADD_DISK:
                        if (isempty(optarg) || optarg[0] != '/') {
                                log_error("--add-disk needs a device path such as /dev/sdb, got "
                                          "'%s'",
                                          optarg);
                                return -EINVAL;
                        }
                        arg.verbs |= 1u << VERB_ADD_DISK;
                        arg.add_disk = optarg;
                        break;
                case ARG_RAID1:
                        arg.raid1 = true;
                        break;
                case ARG_PROVE:
                        arg.verbs |= 1u << VERB_PROVE;
                        break;
                case ARG_REBOOT:
                        arg.reboot = true;
                        break;
                case ARG_ASSERT_ENTRIES:
                        arg.verbs |= 1u << VERB_ASSERT_ENTRIES;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("dual-root-tool %s\n", PACKAGE_VERSION);
                        return 0;
                case ':':
                        log_error("option '%s' needs an argument; see --help", argv[optind - 1]);
                        return -EINVAL;
                default:
                        if (optopt > 0 && optopt < 0x100)
                                log_error("unknown option '-%c'; see --help", optopt);
                        else
                                log_error("unknown option '%s'; see --help", argv[optind - 1]);
                        return -EINVAL;
                }
        }

        r = parse_efi_mount(argc - optind, argv + optind);
        if (r < 0)
                return r;
        r = check_combination();
        if (r < 0)
                return r;
        /* -d is -s that goes on; --check-config only reads the config, whatever else is
         * asked; no action is the report. */
        if (verb_given(VERB_SYNCD))
                arg.verbs &= ~(1u << VERB_SYNC);
        if (verb_given(VERB_CHECK_CONFIG))
                arg.verbs = 1u << VERB_CHECK_CONFIG;
        if (arg.verbs == 0)
                arg.verbs = 1u << VERB_INFO;
        return 1;
}

static const char *method_text(const struct efi_boot *b, char *buf, size_t size)
{
        if (b->method != BOOT_METHOD_LOADER && b->boot_entry >= 0)
                snprintf(buf, size, "%s: Boot%04X \"%s\"", boot_method_to_string(b->method),
                         (unsigned)b->boot_entry, b->entry_description ? b->entry_description : "");
        else
                snprintf(buf, size, "%s", boot_method_to_string(b->method));
        return buf;
}

/* What fstab mounts on an ESP mount point, or NULL: named when that ESP is missing. */
static const char *fstab_source(struct libmnt_table *fstab, const char *mount)
{
        struct libmnt_fs *fs =
                fstab && mount ? mnt_table_find_target(fstab, mount, MNT_ITER_FORWARD) : NULL;

        return fs ? mnt_fs_get_source(fs) : NULL;
}

static void print_esp_json(FILE *f, const struct esp *e, bool booted, struct libmnt_table *fstab)
{
        fputs("{", f);
        if (!booted) {
                fputs("\"mount\": ", f);
                json_write_string(f, e->mount);
                fprintf(f, ", \"mounted\": %s, ", e->mounted ? "true" : "false");
                /* a missing disk: what should be there (DESIGN.md §11 rule S1) */
                fputs("\"fstab_source\": ", f);
                json_write_string(f, fstab_source(fstab, e->mount));
                fputs(", ", f);
        }
        fputs("\"device\": ", f);
        json_write_string(f, e->device);
        fputs(", \"partuuid\": ", f);
        json_write_string(f, e->partuuid);
        fputs(", \"uuid\": ", f);
        json_write_string(f, e->uuid);
        fputs(", \"fstype\": ", f);
        json_write_string(f, e->fstype);
        if (booted) {
                fputs(", \"mounts\": ", f);
                json_write_strv(f, e->mounts);
                fputs(", \"esp_mount\": ", f);
                json_write_string(f, e->mount);
        }
        fputs("}", f);
}

static void print_report_json(const struct esp_model *m, struct libmnt_table *fstab)
{
        FILE *f = stdout;

        fputs("{\"method\": ", f);
        json_write_string(f, m->boot_ok ? boot_method_to_string(m->boot.method) : NULL);
        if (m->boot_ok && m->boot.method != BOOT_METHOD_LOADER) {
                char entry[16];

                snprintf(entry, sizeof(entry), "Boot%04X", (unsigned)m->boot.boot_entry);
                fputs(", \"boot_entry\": ", f);
                json_write_string(f, entry);
                fputs(", \"boot_entry_description\": ", f);
                json_write_string(f, m->boot.entry_description);
                fputs(", \"device_path\": ", f);
                json_write_string(f, m->boot.device_path);
        }
        fputs(", \"booted\": ", f);
        if (m->boot_ok)
                print_esp_json(f, &m->booted, true, fstab);
        else
                fputs("null", f);
        fputs(", \"alternates\": [", f);
        for (size_t i = 0; i < m->n_alternates; i++) {
                if (i > 0)
                        fputs(", ", f);
                print_esp_json(f, &m->alternates[i], false, fstab);
        }
        fputs("], \"error\": ", f);
        json_write_string(f, m->boot_ok && m->device_ok ? NULL : m->why);
        fputs("}\n", f);
}

static void print_report_text(const struct esp_model *m, struct libmnt_table *fstab)
{
        char buf[512];

        if (m->boot_ok && m->device_ok) {
                _cleanup_free_ char *mounts = strv_join(m->booted.mounts, ", ");
                const struct esp *b = &m->booted;

                printf("Booted ESP: %s (found by %s)\n", b->device,
                       method_text(&m->boot, buf, sizeof(buf)));
                printf("  PARTUUID:  %s\n", b->partuuid);
                printf("  UUID:      %s\n", strna(b->uuid));
                printf("  Type:      %s\n", strna(b->fstype));
                printf("  Mounts:    %s\n", !isempty(mounts) ? mounts : "not mounted");
                printf("  ESP mount: %s\n", b->mount ? b->mount : "none of the ESP mount points");
                if (m->boot.method != BOOT_METHOD_LOADER && m->boot.device_path)
                        printf("  Path:      %s\n", m->boot.device_path);
        } else if (m->boot_ok) {
                printf("Booted ESP: PARTUUID %s (found by %s), no such device\n", m->boot.partuuid,
                       method_text(&m->boot, buf, sizeof(buf)));
        } else {
                printf("Booted ESP: unknown\n");
        }

        printf("%s:%s\n", m->boot_ok && m->device_ok ? "Alternate ESPs" : "ESP mount points",
               m->n_alternates == 0 ? " none" : "");
        for (size_t i = 0; i < m->n_alternates; i++) {
                const struct esp *a = &m->alternates[i];
                const char *want = fstab_source(fstab, a->mount);

                if (!a->mounted && want)
                        printf("  %s: not mounted: fstab mounts %s there, which is not present "
                               "(disk missing or replaced?); on a replacement disk run: "
                               "dual-root-tool --add-disk DEVICE\n",
                               a->mount, want);
                else if (!a->mounted)
                        printf("  %s: not mounted (disk missing?)\n", a->mount);
                else
                        printf("  %s: %s, PARTUUID %s, UUID %s, %s\n", a->mount, strna(a->device),
                               strna(a->partuuid), strna(a->uuid), strna(a->fstype));
        }
}

/* What the verbs work on, loaded once before the first of them runs. */
struct context {
        struct config *config;       /* verb_syncd takes it */
        struct libmnt_table *mounts; /* with VERB_NEEDS_MODEL */
        struct esp_model *model;     /* with VERB_NEEDS_MODEL */
        /* A monitoring verb whose context could not be loaded: which part ("config", "mounts",
         * "model") and why; the verb still reports, as UNKNOWN (DESIGN.md §11 rule S14). */
        const char *error_check;
        char *error;
        bool config_error; /* -b runs on what config_salvage_bind() read: exit 2 */
};

static void context_done(struct context *c)
{
        config_free(c->config);
        mnt_unref_table(c->mounts);
        esp_model_free(c->model);
        free(c->error);
}

/* Warnings about the model that every verb shares. A missing alternate is said by whatever
 * else reports it (the info report, a skipped sync job), else here: once either way. */
static void warn_model(const struct esp_model *m, bool missing_alternates)
{
        if (m->boot_ok && !isempty(m->boot.note))
                log_warning("%s", m->boot.note);
        if (m->boot_ok && m->device_ok && !m->booted.mount) {
                _cleanup_free_ char *set = strv_join(m->esp_set, ", ");
                _cleanup_free_ char *hint = adddisk_esp_hint(m, NULL, NULL); /* §12b A8 */

                log_warning("the booted ESP %s is not mounted on any ESP mount point (%s)%s%s",
                            m->booted.device, !isempty(set) ? set : "there are none",
                            hint ? ": " : "", hint ? hint : "");
        }
        for (size_t i = 0; missing_alternates && i < m->n_alternates; i++)
                if (!m->alternates[i].mounted && m->boot_ok && m->device_ok)
                        log_warning("alternate ESP '%s' is not mounted (disk missing?)",
                                    m->alternates[i].mount);
}

static int bind_booted(const struct esp_model *m, struct libmnt_table *t)
{
        _cleanup_free_ char *why = NULL;
        struct bind_plan plan = {};
        int r;

        r = bind_prepare(m, t, arg.efi_mount, &plan, &why);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        if (r == BIND_ALREADY) {
                if (!arg.quiet)
                        printf("'%s' already holds the booted ESP %s (UUID %s), nothing to do\n",
                               arg.efi_mount, m->booted.device, strna(m->booted.uuid));
                return EXIT_OK;
        }

        if (strv_length(plan.shadowed) > 0) {
                _cleanup_free_ char *names = NULL;
                size_t n = strv_length(plan.shadowed);
                char *saved = NULL;

                /* Show at most 8 names: enough to recognise a kernel and an initrd. */
                if (n > 8) {
                        saved = plan.shadowed[8];
                        plan.shadowed[8] = NULL;
                }
                names = strv_join(plan.shadowed, ", ");
                if (saved)
                        plan.shadowed[8] = saved;
                log_warning("'%s' is not a mount point but holds %zu file(s): %s%s. Something "
                            "(a kernel install?) wrote there while the ESP was not bound, so the "
                            "ESP may be stale; these files will be hidden by the bind mount",
                            plan.target, n, strna(names), n > 8 ? ", ..." : "");
        }

        if (arg.test) {
                printf("would run: mount --bind %s %s\n", plan.source, plan.target);
                bind_plan_done(&plan);
                return EXIT_OK;
        }

        r = bind_execute(&plan, m->booted.devnum, NULL, &why);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                bind_plan_done(&plan);
                return EXIT_FAILED;
        }
        if (!arg.quiet)
                printf("mounted the booted ESP %s: mount --bind %s %s\n", m->booted.device,
                       plan.source, plan.target);
        bind_plan_done(&plan);
        return EXIT_OK;
}

static void print_start(const struct sync_job *j, char *const *argv, void *userdata)
{
        _cleanup_free_ char *line = NULL;

        if (!arg.test)
                return;
        line = rsync_argv_to_string(argv);
        printf("would sync %s -> %s: %s\n", j->source, j->dest, strna(line));
}

static void print_job(const struct sync_job *j, void *userdata)
{
        report_job(j, REPORT_ONE_SHOT, arg.quiet);
}

/* --status: the report on every outcome, also when it could not run (the config, the mount
 * table): UNKNOWN with the reason, in the text, the JSON and the textfile alike, so that no
 * earlier OK stays in place (DESIGN.md §11 rule S14). */
static int verb_status(struct context *cx)
{
        _cleanup_mnt_table_ struct libmnt_table *fstab = NULL;
        _cleanup_free_ char *why = NULL, *failed = NULL;
        struct status_report rep = {};
        int r;

        if (cx->error)
                r = status_report_failed(cx->error_check, cx->error, &rep);
        else {
                fstab = report_load_fstab();
                r = status_check(cx->config, cx->model, cx->mounts, fstab, efi_vars_dir(),
                                 arg.efi_mount, &rep);
                if (r < 0 && asprintf(&failed, "cannot check the status: %s", strerror(-r)) >= 0)
                        r = status_report_failed("status", failed, &rep);
        }
        if (r < 0) {
                log_error_errno(r, "cannot check the status: %m");
                return STATUS_UNKNOWN;
        }
        if (arg.json)
                status_print_json(stdout, &rep);
        else if (!arg.quiet)
                status_print_text(stdout, &rep);
        else if (rep.error)
                /* -q: stdout says nothing, so the reason goes to stderr, once */
                log_error("%s", rep.error);
        r = (int)rep.level;
        if (arg.textfile && status_write_textfile(arg.textfile, &rep, &why) < 0) {
                log_error("%s", strna(why));
                r = STATUS_UNKNOWN;
        }
        status_report_done(&rep);
        return r;
}

/* --fix-boot-entries: exit 0 when every ESP has its entry (now; with -t, after the plan). */
static int verb_fix_boot_entries(struct context *cx)
{
        const struct esp_model *m = cx->model;
        _cleanup_fclose_ FILE *null = NULL;
        _cleanup_free_ char *why = NULL;
        FILE *out = stdout;
        int r;

        if (!m->boot_ok || !m->device_ok) {
                log_error("cannot identify the booted ESP: %s", strna(m->why));
                return EXIT_FAILED;
        }
        if (arg.quiet) {
                out = null = fopen("/dev/null", "we");
                if (!null) {
                        log_error_errno(errno, "cannot open /dev/null: %m");
                        return EXIT_FAILED;
                }
        }
        r = bootentry_fix(m, NULL, arg.test, out, &why);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        if (!arg.quiet)
                printf("%d boot entr%s %s\n", r, r == 1 ? "y" : "ies",
                       arg.test ? "would be created" : "created");
        return EXIT_OK;
}

static int verb_sync(struct context *cx)
{
        const struct config *c = cx->config;
        const struct esp_model *m = cx->model;
        struct libmnt_table *t = cx->mounts;
        _cleanup_mnt_table_ struct libmnt_table *fstab = NULL;
        _cleanup_free_ char *why = NULL;
        struct sync_plan plan = {};
        size_t n_failed, n_done = 0, n_skipped = 0;
        int r;

        r = prio_apply(c->nice, c->ionice_class, c->ionice_level, &why);
        if (r < 0)
                log_warning("%s, ignoring", strna(why));

        /* rsync's exit (SIGCHLD) and a request to stop (SIGINT, SIGTERM, SIGHUP) are waited
         * for with sigtimedwait(): blocked from before the first rsync starts, none is lost,
         * and an interrupted sync stops its rsync instead of leaving it running. */
        sigset_t mask;
        rsync_wait_signals(&mask);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                log_error_errno(errno, "cannot block signals: %m");
                return EXIT_FAILED;
        }

        fstab = report_load_fstab();

        r = sync_plan_build(c, m, t, &plan);
        if (r < 0) {
                log_error_errno(r, "cannot plan the sync: %m");
                return EXIT_FAILED;
        }
        if (plan.n_jobs == 0 && !arg.quiet)
                printf("nothing to sync: no alternate ESP%s and no sync list in %s\n",
                       c->dualroot ? "" : " (dualroot = false)", c->path ? c->path : "the config");

        struct sync_context ctx = {
                .config = c,
                .model = m,
                .mounts = t,
                .fstab = fstab,
                .test = arg.test,
                .force = arg.force,
                .progress = arg.quiet               ? RSYNC_PROGRESS_NONE
                            : isatty(STDERR_FILENO) ? RSYNC_PROGRESS_TTY
                                                    : RSYNC_PROGRESS_LOG,
        };
        (void)sync_plan_run(&ctx, &plan, print_start, print_job, NULL);
        for (size_t i = 0; i < plan.n_jobs; i++) {
                if (plan.jobs[i].state == SYNC_PENDING) /* after an interruption */
                        log_error("not run %s: interrupted",
                                  plan.jobs[i].dest ? plan.jobs[i].dest : plan.jobs[i].item);
                if (plan.jobs[i].state == SYNC_DONE || plan.jobs[i].state == SYNC_TESTED)
                        n_done++;
                else if (plan.jobs[i].state == SYNC_SKIPPED)
                        n_skipped++;
        }
        n_failed = plan.n_jobs - n_done - n_skipped;
        if (plan.n_jobs > 0 && !arg.quiet)
                printf("%zu %s, %zu skipped, %zu failed\n", n_done, arg.test ? "tested" : "synced",
                       n_skipped, n_failed);
        sync_plan_done(&plan);
        return n_failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* With swap_ids: the identifier map and every line each job would change, as -t shows
 * them. A file that cannot be swapped is a config error (exit 2). With errors (--json), each
 * error is added there instead of printed, and nothing else is printed. */
static int check_swap_ids(const struct config *c, char ***errors)
{
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        struct sync_plan plan = {};
        int r, ret = EXIT_OK;

        r = mounts_load(NULL, &t);
        if (r < 0) {
                if (errors)
                        return strv_extendf(errors, "cannot read the mount table %s: %s",
                                            MOUNTINFO_DEFAULT, strerror(-r)) < 0
                                       ? EXIT_FAILED
                                       : EXIT_USAGE;
                log_error_errno(r, "cannot read the mount table %s: %m", MOUNTINFO_DEFAULT);
                return EXIT_USAGE;
        }
        r = esp_model_load(c, efi_vars_dir(), esp_sysfs_root(), false, t, &m);
        if (r >= 0)
                r = sync_plan_build(c, m, t, &plan);
        if (r < 0) {
                if (errors)
                        return strv_extendf(errors, "cannot plan the sync: %s", strerror(-r)) < 0
                                       ? EXIT_FAILED
                                       : EXIT_USAGE;
                log_error_errno(r, "cannot plan the sync: %m");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < plan.n_jobs; i++) {
                struct sync_job *j = &plan.jobs[i];
                _cleanup_strv_free_ char **notes = NULL;
                _cleanup_free_ char *why = NULL;
                struct swapids_map *map = NULL;

                if (!j->source || !j->swap_excludes || !*j->swap_excludes)
                        continue;
                r = swapfiles_job_prepare(c, m, t, j->source, j->dest, j->excludes, true, &map,
                                          &notes, &why);
                if (r < 0) {
                        if (!errors)
                                log_error("%s %s -> %s: %s", j->item, j->source, j->dest,
                                          why ? why : strerror(-r));
                        else if (strv_extendf(errors, "%s %s -> %s: %s", j->item, j->source,
                                              j->dest, why ? why : strerror(-r)) < 0)
                                ret = EXIT_FAILED;
                        if (ret == EXIT_OK)
                                ret = EXIT_USAGE;
                        continue;
                }
                swapids_map_freep(&map);
                if (!arg.quiet && !errors) {
                        printf("%s %s -> %s:\n", j->item, j->source, j->dest);
                        STRV_FOREACH(n, notes)
                        printf("  %s\n", *n);
                }
        }
        sync_plan_done(&plan);
        return ret;
}

/* --check-config --json: {"config", "valid", "errors": [...], "values": {...} or null}; a
 * config that cannot be read is valid false with its error, exit 2 (DESIGN.md §7). */
static void print_check_config_json(const char *path, const struct config *c, char *const *errors)
{
        fputs("{\"config\": ", stdout);
        json_write_string(stdout, c ? c->path : path);
        fprintf(stdout,
                ", \"valid\": %s, \"errors\": ", strv_length(errors) == 0 ? "true" : "false");
        json_write_strv(stdout, errors ? errors : (char *[]){ NULL });
        fputs(", \"values\": ", stdout);
        if (c)
                config_print_json_values(c, stdout);
        else
                fputs("null", stdout);
        fputs("}\n", stdout);
}

static int verb_check_config(struct context *c)
{
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        if (!arg.json) {
                if (!arg.quiet)
                        config_print(c->config, stdout);
                return c->config->swap_ids ? check_swap_ids(c->config, NULL) : EXIT_OK;
        }
        r = c->config->swap_ids ? check_swap_ids(c->config, &errors) : EXIT_OK;
        if (r == EXIT_FAILED) {
                log_error_errno(ENOMEM, "cannot check the config: %m");
                return r;
        }
        print_check_config_json(arg.config_path, c->config, errors);
        return r;
}

/* No action: how the booted ESP was found, and the alternates. */
static int verb_info(struct context *c)
{
        const struct esp_model *m = c->model;
        _cleanup_mnt_table_ struct libmnt_table *fstab =
                arg.json || !arg.quiet ? report_load_fstab() : NULL;

        if (arg.json)
                print_report_json(m, fstab);
        else if (!arg.quiet)
                print_report_text(m, fstab);
        if (!m->boot_ok || !m->device_ok) {
                log_error("cannot identify the booted ESP: %s", strna(m->why));
                return EXIT_FAILED;
        }
        warn_model(m, false); /* the report names a missing alternate */
        return EXIT_OK;
}

/* stdout, or /dev/null under -q (-t always shows what it would do). NULL if that cannot be
 * opened. */
static FILE *action_output(FILE **null)
{
        if (!arg.quiet || arg.test)
                return stdout;
        *null = fopen("/dev/null", "we");
        if (!*null)
                log_error_errno(errno, "cannot open /dev/null: %m");
        return *null;
}

/* What the drill and the entries steps said; never the run's exit status. */
static void print_warnings(char **warnings)
{
        STRV_FOREACH(w, warnings)
        log_warning("%s", *w);
}

/* At every boot, after the bind (DESIGN.md §13 P3, P4): a pending drill judged and recorded,
 * the ESPs' firmware entries checked. A problem here is a warning: -b's job is the bind. */
static void drill_boot_step(struct context *c)
{
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_fclose_ FILE *null = NULL;
        _cleanup_free_ char *why = NULL;
        FILE *out = action_output(&null);
        int r;

        if (!out)
                return;
        r = drill_at_boot(c->config, c->model, NULL, arg.test, out, &warnings, &why);
        print_warnings(warnings);
        if (r < 0)
                log_warning("the failover drill step: %s, ignoring", why ? why : strerror(-r));
        else if (r == DRILL_FAILED)
                log_warning("the failover drill FAILED: the firmware did not start the disk "
                            "BootNext named (see dual-root-tool --status)");
}

static int verb_bind(struct context *c)
{
        int r;

        /* announce_booted() said why. */
        if (!c->model->boot_ok || !c->model->device_ok)
                return EXIT_FAILED;
        r = bind_booted(c->model, c->mounts);
        drill_boot_step(c);
        return r;
}

/* --prove [DISK] (DESIGN.md §13 P1, P2); with --reboot, then systemctl reboot (exec'd). */
static int verb_prove(struct context *c)
{
        static char *const reboot_argv[] = { (char *)"systemctl", (char *)"reboot", NULL };
        _cleanup_free_ char *why = NULL;
        bool refused = false;
        int r;

        _cleanup_fclose_ FILE *null = NULL;
        FILE *out = action_output(&null);

        if (!out)
                return EXIT_FAILED;
        r = drill_prove(c->model, arg.prove_disk, NULL, arg.test, out, &refused, &why);
        if (r < 0 && refused) {
                log_error("the firmware's NVRAM is write-protected: %s. No drill is possible on "
                          "this machine; each disk must then start through its fallback %s "
                          "(dual-root-tool --status checks it)",
                          why ? why : strerror(-r), EFI_FALLBACK_PATH);
                return EXIT_FAILED;
        }
        if (r < 0) {
                log_error("--prove: %s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        if (r == 1 && !arg.quiet)
                printf("%s\n", strna(why));
        else if (!arg.quiet && !arg.test)
                printf("drill set: the next boot starts the other disk once; -b at that boot "
                       "records whether it came up (dual-root-tool --status)\n");
        if (!arg.reboot)
                return EXIT_OK;
        if (arg.test) {
                printf("would run: systemctl reboot\n");
                return EXIT_OK;
        }
        fflush(stdout);
        execv("/usr/bin/systemctl", reboot_argv);
        execv("/bin/systemctl", reboot_argv);
        log_error_errno(errno, "cannot run systemctl reboot: %m; the drill stays set for the "
                               "next reboot");
        return EXIT_FAILED;
}

/* --assert-boot-entries: the entries step of -b alone, for the package hooks. */
static int verb_assert_entries(struct context *c)
{
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_fclose_ FILE *null = NULL;
        _cleanup_free_ char *why = NULL;
        FILE *out = action_output(&null);
        int r;

        if (!c->model->boot_ok || !c->model->device_ok) {
                log_error("cannot identify the booted ESP: %s", strna(c->model->why));
                return EXIT_FAILED;
        }
        if (!out)
                return EXIT_FAILED;
        r = drill_assert_entries(c->config, c->model, arg.test, out, &warnings, &why);
        print_warnings(warnings);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

static int verb_syncd(struct context *c)
{
        _cleanup_free_ char *why = NULL;
        struct daemon_args da = {
                .config_path = arg.config_path,
                .config_given = arg.config_given,
                .test = arg.test,
                .force = arg.force,
        };

        if (prio_apply(c->config->nice, c->config->ionice_class, c->config->ionice_level, &why) < 0)
                log_warning("%s, ignoring", strna(why));
        /* The daemon builds its own model; drop ours so it holds nothing twice. */
        esp_model_free(TAKE_PTR(c->model));
        mnt_unref_table(TAKE_PTR(c->mounts));
        return daemon_run(TAKE_PTR(c->config), &da);
}

/* --add-disk: the steps (adddisk.c), then the boot-readiness report of the machine as it is
 * now (DESIGN.md §12). */
static int verb_add_disk(struct context *cx)
{
        _cleanup_free_ char *why = NULL;
        struct adddisk_args a = {
                .device = arg.add_disk,
                .config = cx->config,
                .test = arg.test,
                .force = arg.force,
                .raid1 = arg.raid1,
                .out = arg.quiet ? NULL : stdout,
                .verbose = arg.verbose,
        };
        struct context now = { .config = cx->config };
        int r;

        if (!arg.quiet)
                printf("%s %s as a member of this machine:\n",
                       arg.test ? "would prepare" : "preparing", arg.add_disk);
        r = adddisk_run(&a, cx->model, &why);
        if (r < 0) {
                log_error("--add-disk %s: %s", arg.add_disk, why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        if (!arg.quiet)
                printf("%s %s; boot readiness%s:\n", arg.test ? "shown every step for" : "added",
                       arg.add_disk, arg.test ? " as it is now" : "");
        if (mounts_load(NULL, &now.mounts) < 0 ||
            esp_model_load(cx->config, efi_vars_dir(), esp_sysfs_root(), true, now.mounts,
                           &now.model) < 0) {
                log_error("cannot build the report: the mount table or the ESP model cannot be "
                          "read");
                mnt_unref_table(now.mounts);
                return EXIT_FAILED;
        }
        /* An ESP still missing after the run (a replacement took its place otherwise, DESIGN.md
         * §12 rule 9; -t said at step 1 where the new one goes): say so once, here. */
        for (size_t i = 0; !arg.quiet && !arg.test && i < now.model->n_alternates; i++)
                if (!now.model->alternates[i].mounted)
                        printf("note: %s is an ESP mount point with nothing mounted (the disk "
                               "this one replaces?); once that disk is gone for good, remove "
                               "its line from %s\n",
                               now.model->alternates[i].mount, fstab_path());
        (void)verb_status(&now);
        mnt_unref_table(now.mounts);
        esp_model_free(now.model);
        return EXIT_OK;
}

/* Said once before the first verb that acts on the booted ESP (-b, -s, -d). */
static void announce_booted(const struct context *c)
{
        const struct esp_model *m = c->model;

        if (m->boot_ok && m->device_ok) {
                /* -s and -d say a missing alternate with its skipped job */
                warn_model(m, !verb_given(VERB_SYNC) && !verb_given(VERB_SYNCD));
                if (!arg.quiet) {
                        char buf[512];

                        printf("booted ESP: %s (found by %s), ESP mount %s\n", m->booted.device,
                               method_text(&m->boot, buf, sizeof(buf)),
                               m->booted.mount ? m->booted.mount : "none");
                }
        } else if (verb_given(VERB_BIND) || c->config->dualroot)
                log_error("cannot identify the booted ESP: %s", strna(m->why));
}

enum {
        VERB_NEEDS_MODEL = 1 << 0, /* the mount table and the ESP model */
        VERB_PROBES = 1 << 1,      /* the model reads superblocks: the verb shows UUIDs */
        VERB_BOOTED = 1 << 2,      /* acts on the booted ESP: announce_booted() first */
        VERB_OWN_EXIT = 1 << 3,    /* its exit status is the run's (the daemon outlives -b) */
        VERB_MONITOR = 1 << 4,     /* a monitoring check: not being able to look is UNKNOWN */
};

static const struct verb {
        int (*run)(struct context *c);
        unsigned flags;
} verbs[_VERB_MAX] = {
        /* The model: rule 11 needs the booted ESP (DESIGN.md §7 C7). */
        [VERB_CHECK_CONFIG] = { verb_check_config, VERB_NEEDS_MODEL },
        /* Both name ESPs by PARTUUID, which only a probing model knows for the alternates. */
        [VERB_STATUS] = { verb_status, VERB_NEEDS_MODEL | VERB_PROBES | VERB_MONITOR },
        [VERB_FIX_BOOT_ENTRIES] = { verb_fix_boot_entries, VERB_NEEDS_MODEL | VERB_PROBES },
        [VERB_INFO] = { verb_info, VERB_NEEDS_MODEL | VERB_PROBES },
        [VERB_BIND] = { verb_bind, VERB_NEEDS_MODEL | VERB_PROBES | VERB_BOOTED },
        [VERB_SYNC] = { verb_sync, VERB_NEEDS_MODEL | VERB_BOOTED },
        [VERB_SYNCD] = { verb_syncd, VERB_NEEDS_MODEL | VERB_BOOTED | VERB_OWN_EXIT },
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
                fputs("{\"method\": null, \"booted\": null, \"alternates\": [], \"error\": ",
                      stdout);
                json_write_string(stdout, why);
                fputs("}\n", stdout);
        } else
                log_error("%s", why);
        return exit_status;
}

/* Loads what the given verbs need; on failure returns the exit status. */
static int context_load(struct context *c, unsigned flags)
{
        _cleanup_free_ char *why = NULL;
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
        r = mounts_load(NULL, &c->mounts);
        if (r < 0) {
                if (flags & VERB_MONITOR)
                        return context_failed(c, "mounts", "cannot read the mount table %s: %s",
                                              MOUNTINFO_DEFAULT, strerror(-r));
                return load_failed(EXIT_FAILED, "cannot read the mount table %s: %s",
                                   MOUNTINFO_DEFAULT, strerror(-r));
        }
        /* Superblock probes only for what shows UUIDs: the report and -b's messages. */
        r = esp_model_load(c->config, efi_vars_dir(), esp_sysfs_root(), flags & VERB_PROBES,
                           c->mounts, &c->model);
        if (r < 0) {
                if (flags & VERB_MONITOR)
                        return context_failed(c, "model", "cannot build the ESP model: %s",
                                              strerror(-r));
                return load_failed(EXIT_FAILED, "cannot build the ESP model: %s", strerror(-r));
        }
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

        r = context_load(&c, flags);
        if (r != EXIT_OK)
                return r;
        if (verb_given(VERB_SYNC) || verb_given(VERB_SYNCD) || verb_given(VERB_CHECK_CONFIG)) {
                _cleanup_free_ char *why = NULL;

                /* DESIGN.md §7 C7: what --check-config refuses, -s and -d refuse, before
                 * anything runs, with the same message. */
                _cleanup_mnt_table_ struct libmnt_table *fstab = report_load_fstab();
                struct config_check_context cx = { .model = c.model,
                                                   .mounts = c.mounts,
                                                   .fstab = fstab };

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
