/* SPDX-License-Identifier: MIT */
/*
 * The verbs of dual-root-tool (verbs.h): what each action does and prints, on the machine
 * main.c loaded once (struct context).
 */
#include <unistd.h>

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
#include "info-print.h"
#include "machine.h"
#include "prio.h"
#include "report.h"
#include "status.h"
#include "swapfiles.h"
#include "sync.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "verbs.h"

void context_done(struct context *c)
{
        config_free(c->config);
        machine_done(&c->m);
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

static int bind_booted(const struct config *c, const struct esp_model *m, struct libmnt_table *t)
{
        _cleanup_free_ char *why = NULL;
        struct bind_plan plan = {};
        int r, k;

        r = bind_prepare(m, t, arg.efi_mount, &plan, &why);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        /* B4: approach 2's /boot item would lose its tree under the bind */
        k = bind_check_sync_items(c, m->esp_set, arg.efi_mount, r == BIND_ALREADY, &why);
        if (k < 0) {
                log_error("%s", why ? why : strerror(-k));
                bind_plan_done(&plan);
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
        if (!argv) {
                /* DESIGN.md §5 "Why in-process" */
                printf("would sync %s -> %s: copied by dual-root-tool itself%s (files, then "
                       "entries, then deletions; rsync_path and rsync_opts unset)\n",
                       j->source, j->dest, j->verify ? ", comparing content" : "");
                return;
        }
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
int verb_status(struct context *cx)
{
        _cleanup_free_ char *why = NULL, *failed = NULL;
        struct status_report rep = {};
        int r;

        if (cx->error)
                r = status_report_failed(cx->error_check, cx->error, &rep);
        else {
                r = status_check(cx->config, cx->m.model, cx->m.mounts, cx->m.fstab, efi_vars_dir(),
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
        else if (!arg.quiet) {
                status_print_text(stdout, &rep);
                if (arg.verbose)
                        status_print_chains(stdout, &rep);
        } else if (rep.error)
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
int verb_fix_boot_entries(struct context *cx)
{
        const struct esp_model *m = cx->m.model;
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

int verb_sync(struct context *cx)
{
        const struct config *c = cx->config;
        const struct esp_model *m = cx->m.model;
        struct libmnt_table *t = cx->m.mounts;
        _cleanup_free_ char *why = NULL;
        struct sync_plan plan = {};
        size_t n_failed, n_done = 0, n_skipped = 0;
        int r;

        r = prio_apply(c->nice, c->ionice_class, c->ionice_level, &why);
        if (r < 0)
                log_warning("%s, ignoring", strna(why));

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
                .fstab = cx->m.fstab,
                .test = arg.test,
                .force = arg.force,
                .progress = arg.quiet               ? RSYNC_PROGRESS_NONE
                            : isatty(STDERR_FILENO) ? RSYNC_PROGRESS_TTY
                                                    : RSYNC_PROGRESS_LOG,
        };
        r = machine_run_plan(&ctx, &plan, print_start, print_job, NULL, false, &n_failed);
        if (r < 0) {
                log_error_errno(r, "cannot block signals: %m");
                sync_plan_done(&plan);
                return EXIT_FAILED;
        }
        for (size_t i = 0; i < plan.n_jobs; i++) {
                if (plan.jobs[i].state == SYNC_PENDING) { /* after an interruption */
                        log_error("not run %s: interrupted",
                                  plan.jobs[i].dest ? plan.jobs[i].dest : plan.jobs[i].item);
                        n_failed++;
                }
                if (plan.jobs[i].state == SYNC_DONE || plan.jobs[i].state == SYNC_TESTED)
                        n_done++;
                else if (plan.jobs[i].state == SYNC_SKIPPED)
                        n_skipped++;
        }
        if (plan.n_jobs > 0 && !arg.quiet)
                printf("%zu %s, %zu skipped, %zu failed\n", n_done, arg.test ? "tested" : "synced",
                       n_skipped, n_failed);
        sync_plan_done(&plan);
        return n_failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* With swap_ids: the identifier map and every line each job would change, as -t shows
 * them. A file that cannot be swapped is a config error (exit 2). With errors (--json), each
 * error is added there instead of printed, and nothing else is printed. */
static int check_swap_ids(const struct config *c, const struct machine *mc, char ***errors)
{
        _cleanup_strv_free_ char **lines = NULL, **errs = NULL;

        if (config_check_swap_ids(c, mc->model, mc->mounts, &lines, &errs) < 0) {
                if (!errors)
                        log_error_errno(ENOMEM, "cannot check swap_ids: %m");
                return EXIT_FAILED;
        }
        if (errors)
                return strv_extend_strv(errors, errs) < 0 ? EXIT_FAILED
                       : errs                             ? EXIT_USAGE
                                                          : EXIT_OK;
        STRV_FOREACH(e, errs)
        log_error("%s", *e);
        for (char **l = lines; !arg.quiet && l && *l; l++)
                printf("%s\n", *l);
        return errs ? EXIT_USAGE : EXIT_OK;
}

/* --check-config --json: {"config", "valid", "errors": [...], "values": {...} or null}; a
 * config that cannot be read is valid false with its error, exit 2 (DESIGN.md §7). */
void print_check_config_json(const char *path, const struct config *c, char *const *errors)
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

int verb_check_config(struct context *c)
{
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        if (!arg.json) {
                if (!arg.quiet)
                        config_print(c->config, stdout);
                return c->config->swap_ids ? check_swap_ids(c->config, &c->m, NULL) : EXIT_OK;
        }
        r = c->config->swap_ids ? check_swap_ids(c->config, &c->m, &errors) : EXIT_OK;
        if (r == EXIT_FAILED) {
                log_error_errno(ENOMEM, "cannot check the config: %m");
                return r;
        }
        print_check_config_json(arg.config_path, c->config, errors);
        return r;
}

/* No action: how the booted ESP was found, and the alternates. */
int verb_info(struct context *c)
{
        const struct esp_model *m = c->m.model;
        struct libmnt_table *fstab = c->m.fstab;

        if (arg.json)
                info_print_json(stdout, m, fstab);
        else if (!arg.quiet)
                info_print_text(stdout, m, fstab);
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
        r = drill_at_boot(c->config, c->m.model, NULL, arg.test, out, &warnings, &why);
        print_warnings(warnings);
        if (r < 0)
                log_warning("the failover drill step: %s, ignoring", why ? why : strerror(-r));
        else if (r == DRILL_FAILED)
                log_warning("the failover drill FAILED: the firmware did not start the disk "
                            "BootNext named (see dual-root-tool --status)");
}

int verb_bind(struct context *c)
{
        int r;

        /* announce_booted() said why. */
        if (!c->m.model->boot_ok || !c->m.model->device_ok)
                return EXIT_FAILED;
        r = bind_booted(c->config, c->m.model, c->m.mounts);
        drill_boot_step(c);
        return r;
}

/* --prove [DISK] (DESIGN.md §13 P1, P2); with --reboot, then systemctl reboot (exec'd). */
int verb_prove(struct context *c)
{
        static char *const reboot_argv[] = { (char *)"systemctl", (char *)"reboot", NULL };
        _cleanup_free_ char *why = NULL;
        bool refused = false;
        int r;

        _cleanup_fclose_ FILE *null = NULL;
        FILE *out = action_output(&null);

        if (!out)
                return EXIT_FAILED;
        r = drill_prove(c->m.model, arg.prove_disk, NULL, arg.test, out, &refused, &why);
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
int verb_assert_entries(struct context *c)
{
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_fclose_ FILE *null = NULL;
        _cleanup_free_ char *why = NULL;
        FILE *out = action_output(&null);
        int r;

        if (!c->m.model->boot_ok || !c->m.model->device_ok) {
                log_error("cannot identify the booted ESP: %s", strna(c->m.model->why));
                return EXIT_FAILED;
        }
        if (!out)
                return EXIT_FAILED;
        r = drill_assert_entries(c->config, c->m.model, arg.test, out, &warnings, &why);
        print_warnings(warnings);
        if (r < 0) {
                log_error("%s", why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        return EXIT_OK;
}

int verb_syncd(struct context *c)
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
        machine_done(&c->m);
        return daemon_run(TAKE_PTR(c->config), &da);
}

/* --add-disk: the steps (adddisk.c), then the boot-readiness report of the machine as it is
 * now (DESIGN.md §12). */
int verb_add_disk(struct context *cx)
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
        enum machine_part part;
        int r;

        if (!arg.quiet)
                printf("%s %s as a member of this machine:\n",
                       arg.test ? "would prepare" : "preparing", arg.add_disk);
        r = adddisk_run(&a, cx->m.model, &why);
        if (r < 0) {
                log_error("--add-disk %s: %s", arg.add_disk, why ? why : strerror(-r));
                return EXIT_FAILED;
        }
        if (!arg.quiet)
                printf("%s %s; boot readiness%s:\n", arg.test ? "shown every step for" : "added",
                       arg.add_disk, arg.test ? " as it is now" : "");
        r = machine_load(cx->config, MACHINE_PROBE | MACHINE_FSTAB, &now.m, &part, NULL);
        if (r < 0) {
                log_error("cannot build the report: the mount table or the ESP model cannot be "
                          "read");
                return EXIT_FAILED;
        }
        if (now.m.fstab_warning)
                log_warning("%s", now.m.fstab_warning);
        /* An ESP still missing after the run (a replacement took its place otherwise, DESIGN.md
         * §12 rule 9; -t said at step 1 where the new one goes): say so once, here. */
        for (size_t i = 0; !arg.quiet && !arg.test && i < now.m.model->n_alternates; i++)
                if (!now.m.model->alternates[i].mounted)
                        printf("note: %s is an ESP mount point with nothing mounted (the disk "
                               "this one replaces?); once that disk is gone for good, remove "
                               "its line from %s\n",
                               now.m.model->alternates[i].mount, fstab_path());
        (void)verb_status(&now);
        machine_done(&now.m);
        return EXIT_OK;
}

/* Said once before the first verb that acts on the booted ESP (-b, -s, -d). */
void announce_booted(const struct context *c)
{
        const struct esp_model *m = c->m.model;

        if (m->boot_ok && m->device_ok) {
                /* -s and -d say a missing alternate with its skipped job */
                warn_model(m, !verb_given(VERB_SYNC) && !verb_given(VERB_SYNCD));
                if (!arg.quiet) {
                        char buf[512];

                        printf("booted ESP: %s (found by %s), ESP mount %s\n", m->booted.device,
                               info_method_text(&m->boot, buf, sizeof(buf)),
                               m->booted.mount ? m->booted.mount : "none");
                }
        } else if (verb_given(VERB_BIND) || c->config->dualroot)
                log_error("cannot identify the booted ESP: %s", strna(m->why));
}
