/* SPDX-License-Identifier: MIT */
/*
 * dual-root-tool: command line, verbs and exit codes. This is the only place that decides
 * what the user sees; modules return errors with context (char **why).
 */
#include <getopt.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bind.h"
#include "blockdev.h"
#include "config.h"
#include "daemon.h"
#include "efivars.h"
#include "esp.h"
#include "prio.h"
#include "status.h"
#include "sync.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"

/* Exit status (DESIGN.md §2). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

static struct {
        bool bind;
        bool sync;
        bool daemon;
        bool test;
        bool force;
        bool quiet;
        bool json;
        bool check_config;
        bool status;
        const char *config_path;
        bool config_given;
        const char *efi_mount;
} arg = {
        .config_path = CONFIG_DEFAULT_PATH,
        .efi_mount = "/boot",
};

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
               "      --status        health report: is every ESP there, in sync, and on\n"
               "                      EFI_MOUNT? Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN\n"
               "      --check-config  parse the config file, print the values, and exit\n"
               "\n"
               "Options:\n"
               "  -t, --test          dry run: say exactly what would be done (the rollback\n"
               "                      guard asked too), change nothing\n"
               "  -q, --quiet         print only warnings and errors\n"
               "  -c, --conf FILE     config file (default %s;\n"
               "                      the default may be absent, a given FILE must exist)\n"
               "      --json          print the report (or --status) as JSON\n"
               "      --force         sync even if an alternate ESP changed since its last\n"
               "                      sync (the rollback guard), for this run only\n"
               "                      (with -d: each item's first sync)\n"
               "  -h, --help          show this help and exit\n"
               "  -V, --version       show the version and exit\n"
               "\n"
               "Exit status: 0 success, 1 the operation failed, 2 usage or config error.\n"
               "See dual-root-tool(8) and sync-daemon.conf(5).\n",
               CONFIG_DEFAULT_PATH);
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_JSON = 0x100,
                ARG_CHECK_CONFIG,
                ARG_FORCE,
                ARG_STATUS,
        };
        static const struct option options[] = {
                { "bind", no_argument, NULL, 'b' },
                { "sync", no_argument, NULL, 's' },
                { "syncd", no_argument, NULL, 'd' },
                { "test", no_argument, NULL, 't' },
                { "quiet", no_argument, NULL, 'q' },
                { "conf", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, ARG_JSON },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "force", no_argument, NULL, ARG_FORCE },
                { "status", no_argument, NULL, ARG_STATUS },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":bsdtqc:hV", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        arg.bind = true;
                        break;
                case 's':
                        arg.sync = true;
                        break;
                case 'd':
                        arg.daemon = true;
                        arg.sync = true;
                        break;
                case 't':
                        arg.test = true;
                        break;
                case 'q':
                        arg.quiet = true;
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
                        arg.check_config = true;
                        break;
                case ARG_FORCE:
                        arg.force = true;
                        break;
                case ARG_STATUS:
                        arg.status = true;
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

        if (optind < argc) {
                if (argc - optind > 1) {
                        log_error("expected at most one EFI_MOUNT argument, got %d: '%s', '%s'...",
                                  argc - optind, argv[optind], argv[optind + 1]);
                        return -EINVAL;
                }
                if (argv[optind][0] != '/') {
                        log_error("EFI_MOUNT must be an absolute path, got '%s'", argv[optind]);
                        return -EINVAL;
                }
                arg.efi_mount = argv[optind];
        }
        if (arg.json && (arg.bind || arg.sync)) {
                log_error("--json applies to the report printed when no action is given; it "
                          "cannot be combined with --bind or --sync");
                return -EINVAL;
        }
        if (arg.status && (arg.bind || arg.sync || arg.check_config)) {
                log_error("--status is a report of its own; it cannot be combined with --bind, "
                          "--sync, --syncd or --check-config");
                return -EINVAL;
        }
        if (arg.force && !arg.sync) {
                log_error("--force only applies to --sync");
                return -EINVAL;
        }
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

static void print_esp_json(FILE *f, const struct esp *e, bool booted)
{
        fputs("{", f);
        if (!booted) {
                fputs("\"mount\": ", f);
                json_write_string(f, e->mount);
                fprintf(f, ", \"mounted\": %s, ", e->mounted ? "true" : "false");
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

static void print_report_json(const struct esp_model *m)
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
                print_esp_json(f, &m->booted, true);
        else
                fputs("null", f);
        fputs(", \"alternates\": [", f);
        for (size_t i = 0; i < m->n_alternates; i++) {
                if (i > 0)
                        fputs(", ", f);
                print_esp_json(f, &m->alternates[i], false);
        }
        fputs("], \"error\": ", f);
        json_write_string(f, m->boot_ok && m->device_ok ? NULL : m->why);
        fputs("}\n", f);
}

static void print_report_text(const struct esp_model *m)
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

                if (!a->mounted)
                        printf("  %s: not mounted (disk missing?)\n", a->mount);
                else
                        printf("  %s: %s, PARTUUID %s, UUID %s, %s\n", a->mount, strna(a->device),
                               strna(a->partuuid), strna(a->uuid), strna(a->fstype));
        }
}

/* Warnings about the model that every verb shares. */
static void warn_model(const struct esp_model *m)
{
        if (m->boot_ok && !isempty(m->boot.note))
                log_warning("%s", m->boot.note);
        if (m->boot_ok && m->device_ok && !m->booted.mount) {
                _cleanup_free_ char *set = strv_join(m->esp_set, ", ");

                log_warning("the booted ESP %s is not mounted on any ESP mount point (%s)",
                            m->booted.device, !isempty(set) ? set : "there are none");
        }
        for (size_t i = 0; i < m->n_alternates; i++)
                if (!m->alternates[i].mounted && m->boot_ok && m->device_ok)
                        log_warning("alternate ESP '%s' is not mounted (disk missing?)",
                                    m->alternates[i].mount);
}

static int verb_bind(const struct esp_model *m, struct libmnt_table *t)
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
        (void)userdata;
        switch (j->state) {
        case SYNC_DONE:
                if (!arg.quiet)
                        printf("synced %s -> %s (%.2fs)\n", j->source, j->dest,
                               (double)j->duration / USEC_PER_SEC);
                break;
        case SYNC_TESTED:
                if (!arg.quiet)
                        printf("tested %s -> %s: nothing was changed\n", j->source, j->dest);
                break;
        case SYNC_SKIPPED:
                log_warning("skipped %s -> %s: %s", j->source, j->dest, strna(j->why));
                break;
        case SYNC_REFUSED:
        case SYNC_FAILED:
                if (j->source)
                        log_error("%s %s -> %s: %s", sync_state_to_string(j->state), j->source,
                                  j->dest, strna(j->why));
                else
                        log_error("%s %s: %s", sync_state_to_string(j->state), j->item,
                                  strna(j->why));
                break;
        case SYNC_PENDING:
                break;
        }
}

/* /etc/fstab, for the mount checks of sync and --status; NULL (with a warning) when it
 * cannot be read, or when there is none. */
static struct libmnt_table *load_fstab(void)
{
        struct libmnt_table *fstab = mnt_new_table();
        int r;

        if (!fstab) {
                log_warning_errno(ENOMEM, "cannot read /etc/fstab: %m; mount checks use the mount "
                                          "table only");
                return NULL;
        }
        r = mnt_table_parse_fstab(fstab, NULL);
        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r, "cannot read /etc/fstab: %m; mount checks use the "
                                             "mount table only");
                mnt_unref_table(fstab);
                return NULL;
        }
        return fstab;
}

static int verb_status(const struct config *c, const struct esp_model *m, struct libmnt_table *t)
{
        _cleanup_mnt_table_ struct libmnt_table *fstab = load_fstab();
        struct status_report rep = {};
        int r;

        r = status_check(c, m, t, fstab, arg.efi_mount, &rep);
        if (r < 0) {
                log_error_errno(r, "cannot check the status: %m");
                return STATUS_UNKNOWN;
        }
        if (arg.json) {
                printf("{\"status\": \"%s\", \"code\": %d, \"findings\": [",
                       status_level_to_string(rep.level), (int)rep.level);
                for (size_t i = 0; i < rep.n; i++) {
                        printf("%s{\"level\": \"%s\", \"text\": ", i ? ", " : "",
                               status_level_to_string(rep.findings[i].level));
                        json_write_string(stdout, rep.findings[i].text);
                        fputs("}", stdout);
                }
                fputs("]}\n", stdout);
        } else if (!arg.quiet) {
                /* First line as monitoring plugins print it: the worst finding. */
                const struct status_finding *worst = &rep.findings[0];

                for (size_t i = 1; i < rep.n; i++)
                        if (rep.findings[i].level > worst->level)
                                worst = &rep.findings[i];
                printf("%s: %s\n", status_level_to_string(rep.level), worst->text);
                for (size_t i = 0; rep.n > 1 && i < rep.n; i++)
                        printf("  %s: %s\n", status_level_to_string(rep.findings[i].level),
                               rep.findings[i].text);
        }
        r = (int)rep.level;
        status_report_done(&rep);
        return r;
}

static int verb_sync(const struct config *c, const struct esp_model *m, struct libmnt_table *t)
{
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

        fstab = load_fstab();

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

static int run(int argc, char *argv[])
{
        _cleanup_config_free_ struct config *cfg = NULL;
        _cleanup_mnt_table_ struct libmnt_table *t = NULL;
        _cleanup_esp_model_ struct esp_model *m = NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        if (arg.quiet)
                log_set_max_level(LOG_WARNING);

        r = config_load(arg.config_path, arg.config_given, &cfg, &why);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                if (arg.status && !arg.quiet)
                        printf("UNKNOWN: the configuration cannot be read: %s\n", strna(why));
                return arg.status ? STATUS_UNKNOWN : EXIT_USAGE;
        }
        if (arg.check_config) {
                if (!arg.quiet)
                        config_print(cfg, stdout);
                return EXIT_OK;
        }

        r = mounts_load(NULL, &t);
        if (r < 0) {
                log_error_errno(r, "cannot read the mount table %s: %m", MOUNTINFO_DEFAULT);
                return arg.status ? STATUS_UNKNOWN : EXIT_FAILED;
        }
        /* Superblock probes only for what shows UUIDs: the report and -b's messages. */
        r = esp_model_load(cfg, efi_vars_dir(), esp_sysfs_root(),
                           arg.bind || (!arg.sync && !arg.status), t, &m);
        if (r < 0) {
                log_error_errno(r, "cannot build the ESP model: %m");
                return arg.status ? STATUS_UNKNOWN : EXIT_FAILED;
        }
        if (arg.status)
                return verb_status(cfg, m, t);

        if (!arg.bind && !arg.sync) {
                if (arg.json)
                        print_report_json(m);
                else if (!arg.quiet)
                        print_report_text(m);
                if (!m->boot_ok || !m->device_ok) {
                        log_error("cannot identify the booted ESP: %s", strna(m->why));
                        return EXIT_FAILED;
                }
                warn_model(m);
                return EXIT_OK;
        }

        if (m->boot_ok && m->device_ok) {
                warn_model(m);
                if (!arg.quiet) {
                        char buf[512];

                        printf("booted ESP: %s (found by %s), ESP mount %s\n", m->booted.device,
                               method_text(&m->boot, buf, sizeof(buf)),
                               m->booted.mount ? m->booted.mount : "none");
                }
        } else if (arg.bind || cfg->dualroot) {
                log_error("cannot identify the booted ESP: %s", strna(m->why));
        }

        /* Bind first: a sync right after boot should see /boot as it will stay. */
        if (arg.bind) {
                if (!m->boot_ok || !m->device_ok)
                        r = EXIT_FAILED;
                else
                        r = verb_bind(m, t);
                if (r != EXIT_OK && !arg.sync)
                        return r;
        } else {
                r = EXIT_OK;
        }
        if (arg.daemon) {
                struct daemon_args da = {
                        .config_path = arg.config_path,
                        .config_given = arg.config_given,
                        .test = arg.test,
                        .force = arg.force,
                };

                r = prio_apply(cfg->nice, cfg->ionice_class, cfg->ionice_level, &why);
                if (r < 0)
                        log_warning("%s, ignoring", strna(why));
                /* The daemon builds its own model; drop ours so it holds nothing twice. */
                esp_model_free(TAKE_PTR(m));
                mnt_unref_table(TAKE_PTR(t));
                return daemon_run(TAKE_PTR(cfg), &da);
        }
        if (arg.sync) {
                int k = verb_sync(cfg, m, t);

                if (r == EXIT_OK)
                        r = k;
        }
        return r;
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
