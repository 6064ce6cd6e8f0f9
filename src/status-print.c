/* SPDX-License-Identifier: MIT */
/*
 * The --status report's three forms (DESIGN.md §11): the monitoring plugins' text, JSON, and the
 * Prometheus text exposition. Formatters only: main.c decides which and where.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "status.h"
#include "util/errmsg.h"
#include "util/json.h"

static size_t n_verdict(const struct status_report *r, enum status_verdict v)
{
        size_t n = 0;

        for (size_t i = 0; i < r->n_esps; i++)
                n += r->esps[i].verdict == v;
        return n;
}

/* 1 when every ESP's disk would boot alone and nothing is critical, 0 when some would not or
 * something is, -1 when that cannot be told (an ESP's verdict is unknown). */
static int can_lose_any_disk(const struct status_report *r)
{
        if (r->n_esps == 0 && r->level == STATUS_UNKNOWN)
                return -1; /* nothing could be looked at (the booted ESP, the config) */
        if (r->n_esps < 2 || n_verdict(r, VERDICT_NO) > 0 || r->level == STATUS_CRITICAL)
                return 0;
        return n_verdict(r, VERDICT_UNKNOWN) > 0 ? -1 : 1;
}

/* The oldest last sync of the alternates and destinations (what a monitor alerts on), or -1. */
static int64_t oldest_sync(const struct status_report *r)
{
        int64_t t = -1;

        for (size_t i = 0; i < r->n_esps; i++)
                if (!r->esps[i].booted && r->esps[i].last_sync >= 0 &&
                    (t < 0 || r->esps[i].last_sync < t))
                        t = r->esps[i].last_sync;
        for (size_t i = 0; i < r->n_dests; i++)
                if (r->dests[i].last_sync >= 0 && (t < 0 || r->dests[i].last_sync < t))
                        t = r->dests[i].last_sync;
        return t;
}

/* The worst finding in the monitoring plugins' order (the first of that rank), system-wide or of
 * an ESP, and its ESP. */
static const struct status_finding *worst(const struct status_report *r,
                                          const struct status_esp **ret_esp)
{
        const struct status_finding *w = NULL;

        *ret_esp = NULL;
        for (size_t i = 0; i < r->n_esps; i++)
                for (size_t k = 0; k < r->esps[i].n; k++)
                        if (!w || status_level_rank(r->esps[i].findings[k].level) >
                                          status_level_rank(w->level)) {
                                w = &r->esps[i].findings[k];
                                *ret_esp = &r->esps[i];
                        }
        for (size_t k = 0; k < r->n; k++)
                if (!w || status_level_rank(r->findings[k].level) > status_level_rank(w->level)) {
                        w = &r->findings[k];
                        *ret_esp = NULL;
                }
        return w;
}

/* The worst finding is what an ESP's "unknown (why)" says: the verdicts say it. */
static bool summary_in_verdicts(const struct status_report *r)
{
        const struct status_esp *we;
        const struct status_finding *w = worst(r, &we);

        return w && we && w->level == STATUS_UNKNOWN && we->verdict == VERDICT_UNKNOWN &&
               !streq(w->check, "sync");
}

const char *status_summary(const struct status_report *r)
{
        const struct status_esp *we;
        const struct status_finding *w = worst(r, &we);

        if (r->level == STATUS_OK && r->n_esps > 1 && n_verdict(r, VERDICT_YES) == r->n_esps)
                return "this machine can lose any disk";
        if (summary_in_verdicts(r) && we->unknown_why)
                return we->unknown_why;
        if (w && r->level != STATUS_OK)
                return w->text;
        return "every check passed";
}

static void print_verdicts(FILE *f, const struct status_report *r)
{
        fputs("boots alone: ", f);
        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                fprintf(f, "%s%s%s %s", i ? ", " : "", e->mount, e->booted ? " (booted)" : "",
                        status_verdict_to_string(e->verdict));
                if (e->verdict == VERDICT_UNKNOWN)
                        fprintf(f, " (%s)", strna(e->unknown_why));
        }
}

/* Every finding but skip (the first line's, when nothing else is listed). */
static void print_findings(FILE *f, const struct status_finding *l, size_t n,
                           const struct status_finding *skip)
{
        for (size_t k = 0; k < n; k++)
                if (&l[k] != skip)
                        fprintf(f, "  %s %s: %s\n", status_level_to_string(l[k].level), l[k].check,
                                l[k].text);
}

void status_print_text(FILE *f, const struct status_report *r)
{
        int64_t oldest = oldest_sync(r);
        const struct status_esp *we;
        const struct status_finding *w = worst(r, &we), *said = NULL;

        /* First line: STATE: summary | perfdata (monitoring-plugins guidelines). */
        fprintf(f, "%s: ", status_level_to_string(r->level));
        if (r->n_esps == 0) {
                fputs(status_summary(r), f);
                /* said on the first line: not again below (the line says it all) */
                if (w && r->level != STATUS_OK && !we)
                        said = w;
        } else {
                if ((r->level != STATUS_OK || can_lose_any_disk(r) == 1) && !summary_in_verdicts(r))
                        fprintf(f, "%s; ", status_summary(r));
                print_verdicts(f, r);
        }
        fprintf(f, " | 'bootable_esps'=%zu;;;0;%zu 'esps'=%zu;;;0", n_verdict(r, VERDICT_YES),
                r->n_esps, r->n_esps);
        if (oldest >= 0)
                fprintf(f, " 'last_sync_age'=%" PRId64 "s;;;0", r->now - oldest);
        fputs("\n", f);

        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                fprintf(f, "%s%s: %s, PARTUUID %s%s: ", e->mount, e->booted ? " (booted)" : "",
                        e->device ? e->device : "no device", strna(e->partuuid),
                        e->partuuid_from_fstab ? " (from fstab)" : "");
                if (e->verdict == VERDICT_UNKNOWN)
                        fprintf(f, "whether it boots alone is unknown (%s)\n",
                                strna(e->unknown_why));
                else
                        fputs(e->verdict == VERDICT_YES ? "boots alone\n"
                                                        : "would NOT boot alone\n",
                              f);
                print_findings(f, e->findings, e->n, NULL);
        }
        if (r->n > (said ? 1 : 0))
                fputs("system:\n", f);
        print_findings(f, r->findings, r->n, said);
}

static void json_member(FILE *f, const char *name, const char *value)
{
        fprintf(f, ", \"%s\": ", name);
        json_write_string(f, value);
}

static void json_findings(FILE *f, const struct status_finding *l, size_t n)
{
        fputs("[", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s{\"check\": ", i ? ", " : "");
                json_write_string(f, l[i].check);
                fprintf(f, ", \"level\": \"%s\"", status_level_to_string(l[i].level));
                json_member(f, "text", l[i].text);
                if (l[i].source) {
                        json_member(f, "source", l[i].source);
                        json_member(f, "destination", l[i].destination);
                }
                if (l[i].denied)
                        fputs(", \"needs_root\": true", f);
                fputs("}", f);
        }
        fputs("]", f);
}

static void json_time(FILE *f, const char *name, int64_t t)
{
        if (t >= 0)
                fprintf(f, ", \"%s\": %" PRId64, name, t);
        else
                fprintf(f, ", \"%s\": null", name);
}

void status_print_json(FILE *f, const struct status_report *r)
{
        int lose = can_lose_any_disk(r);

        fprintf(f, "{\"status\": \"%s\", \"code\": %d", status_level_to_string(r->level),
                (int)r->level);
        json_member(f, "summary", status_summary(r));
        json_member(f, "error", r->error);
        fprintf(f, ", \"can_lose_any_disk\": %s, \"bootable_esps\": %zu, \"esps\": [",
                lose < 0 ? "null"
                : lose   ? "true"
                         : "false",
                n_verdict(r, VERDICT_YES));
        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                fputs(i ? ", {\"mount\": " : "{\"mount\": ", f);
                json_write_string(f, e->mount);
                json_member(f, "device", e->device);
                json_member(f, "partuuid", e->partuuid);
                json_member(f, "uuid", e->uuid);
                fprintf(f, ", \"booted\": %s, \"present\": %s, \"bootable\": %s",
                        e->booted ? "true" : "false", e->present ? "true" : "false",
                        e->verdict == VERDICT_UNKNOWN ? "null"
                        : e->verdict == VERDICT_YES   ? "true"
                                                      : "false");
                json_member(f, "bootable_unknown_why", e->unknown_why);
                fprintf(f, ", \"level\": \"%s\"", status_level_to_string(e->level));
                json_time(f, "last_sync", e->last_sync);
                json_member(f, "last_sync_from", e->last_sync_from);
                /* DESIGN.md §13 P5: the disk's drills */
                json_time(f, "last_proven", e->last_proven);
                json_time(f, "last_prove_failed", e->last_prove_failed);
                fprintf(f, ", \"prove_failed\": %s", e->prove_failed ? "true" : "false");
                /* DESIGN.md §11c X8: the disk's XBOOTLDR */
                json_member(f, "disk", e->disk);
                if (e->xbootldr) {
                        fprintf(f, ", \"xbootldr\": {\"partno\": %u", e->xbootldr_partno);
                        json_member(f, "device", e->xbootldr_device);
                        json_member(f, "partuuid", e->xbootldr_partuuid);
                        json_member(f, "fstype", e->xbootldr_fstype);
                        json_member(f, "mount", e->xbootldr_mount);
                        fputs("}", f);
                } else
                        fputs(", \"xbootldr\": null", f);
                fputs(", \"checks\": ", f);
                json_findings(f, e->findings, e->n);
                fputs("}", f);
        }
        fputs("], \"sync_list\": [", f);
        for (size_t i = 0; i < r->n_dests; i++) {
                fputs(i ? ", {\"item\": " : "{\"item\": ", f);
                json_write_string(f, r->dests[i].item);
                json_member(f, "source", r->dests[i].source);
                json_member(f, "dest", r->dests[i].dest);
                json_time(f, "last_sync", r->dests[i].last_sync);
                fputs("}", f);
        }
        fputs("], \"root\": {\"redundant\": ", f);
        fputs(r->root_redundant < 0 ? "null" : r->root_redundant ? "true" : "false", f);
        if (r->root_degraded >= 0)
                fprintf(f, ", \"degraded_members\": %d}", r->root_degraded);
        else
                fputs(", \"degraded_members\": null}", f);
        fputs(", \"findings\": ", f);
        json_findings(f, r->findings, r->n);
        fputs("}\n", f);
}

/* ---- the Prometheus text exposition ----
 * One function per family; a family is its HELP and TYPE lines, then its samples. Labels as
 * node_exporter names them (mountpoint), items by their source and destination (stable when the
 * config is reordered), never an empty label value. */

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static void prom_label(FILE *f, const char *s)
{
        fputc('"', f);
        for (; s && *s; s++) {
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

static void prom_family(FILE *f, const char *name, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* Opens the label set of an ESP's series: {mountpoint="/efi1",partuuid="..." (the caller adds
 * more labels and the closing brace). partuuid is left out when it is unknown. */
static void prom_esp_labels(FILE *f, const struct status_esp *e)
{
        fputs("{mountpoint=", f);
        prom_label(f, e->mount);
        if (e->partuuid) {
                fputs(",partuuid=", f);
                prom_label(f, e->partuuid);
        }
}

static void prom_item_labels(FILE *f, const char *source, const char *destination)
{
        fputs("source=", f);
        prom_label(f, source);
        fputs(",destination=", f);
        prom_label(f, destination);
}

/* The worst level (in rank) of the findings of check among l, or -1 when there is none. */
static int check_level(const struct status_finding *l, size_t n, const char *check,
                       const char *source, const char *destination)
{
        int level = -1;

        for (size_t k = 0; k < n; k++)
                if (streq(l[k].check, check) && streq_ptr(l[k].source, source) &&
                    streq_ptr(l[k].destination, destination) &&
                    (level < 0 ||
                     status_level_rank(l[k].level) > status_level_rank((enum status_level)level)))
                        level = (int)l[k].level;
        return level;
}

static void prom_overall(FILE *f, const struct status_report *r)
{
        int lose = can_lose_any_disk(r);

        prom_family(f, "dualroot_build_info", "The dual-root-tool version that wrote this file.");
        fputs("dualroot_build_info{version=", f);
        prom_label(f, PACKAGE_VERSION);
        fputs("} 1\n", f);

        prom_family(f, "dualroot_textfile_timestamp_seconds",
                    "When dual-root-tool --status wrote this file, in seconds since the epoch "
                    "(alert when it is old: the check stopped running).");
        fprintf(f, "dualroot_textfile_timestamp_seconds %" PRId64 "\n", r->now);

        prom_family(f, "dualroot_status",
                    "Boot readiness: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (dual-root-tool "
                    "--status exit code), written on every outcome.");
        fprintf(f, "dualroot_status %d\n", (int)r->level);

        prom_family(f, "dualroot_status_info",
                    "Always 1: the state and the report's summary (the first line's reason).");
        fprintf(f, "dualroot_status_info{status=\"%s\",reason=", status_level_to_string(r->level));
        prom_label(f, status_summary(r));
        fputs("} 1\n", f);

        prom_family(f, "dualroot_can_lose_any_disk",
                    "1 when every ESP's disk would boot the machine alone and nothing is "
                    "critical; absent when that could not be determined.");
        if (lose >= 0)
                fprintf(f, "dualroot_can_lose_any_disk %d\n", lose);
        /* The root (DESIGN.md §11 S6, S10): present only when judged (btrfs, md). */
        if (r->root_redundant >= 0) {
                prom_family(f, "dualroot_root_redundant",
                            "1 when the root filesystem survives the loss of a device (btrfs "
                            "profiles, md level and members in sync).");
                fprintf(f, "dualroot_root_redundant %d\n", r->root_redundant);
        }
        if (r->root_degraded >= 0) {
                prom_family(f, "dualroot_root_degraded_members",
                            "Devices of the root's btrfs, or members of its md arrays, that are "
                            "missing.");
                fprintf(f, "dualroot_root_degraded_members %d\n", r->root_degraded);
        }
}

static void prom_esps(FILE *f, const struct status_report *r)
{
        static const char *const checks[] = { "esp",  "firmware", "loader", "xbootldr",
                                              "sync", "swap_ids", "root" };

        prom_family(f, "dualroot_esp_bootable",
                    "1 when the machine would boot from this ESP's disk alone, 0 when not; "
                    "absent when that could not be determined (see dualroot_esp_check_status).");
        for (size_t i = 0; i < r->n_esps; i++) {
                if (r->esps[i].verdict == VERDICT_UNKNOWN)
                        continue;
                fputs("dualroot_esp_bootable", f);
                prom_esp_labels(f, &r->esps[i]);
                fprintf(f, "} %d\n", r->esps[i].verdict == VERDICT_YES);
        }

        prom_family(f, "dualroot_esp_check_status",
                    "Worst level of one check of an ESP: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
                    "UNKNOWN.");
        for (size_t i = 0; i < r->n_esps; i++)
                for (size_t c = 0; c < ELEMENTSOF(checks); c++) {
                        int level = check_level(r->esps[i].findings, r->esps[i].n, checks[c], NULL,
                                                NULL);

                        if (level < 0)
                                continue;
                        fputs("dualroot_esp_check_status", f);
                        prom_esp_labels(f, &r->esps[i]);
                        fprintf(f, ",check=\"%s\"} %d\n", checks[c], level);
                }
}

/* DESIGN.md §11c X8: the XBOOTLDR of each ESP's disk, labelled by its ESP as every per-disk
 * series, and by its own PARTUUID (left out when the table names none). */
static void prom_xbootldr(FILE *f, const struct status_report *r)
{
        prom_family(f, "dualroot_xbootldr_mounted",
                    "1 when the XBOOTLDR partition of this ESP's disk is mounted (its entries "
                    "checked), 0 when not; absent when the disk has none.");
        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                if (!e->xbootldr)
                        continue;
                fputs("dualroot_xbootldr_mounted", f);
                prom_esp_labels(f, e);
                if (e->xbootldr_partuuid) {
                        fputs(",xbootldr_partuuid=", f);
                        prom_label(f, e->xbootldr_partuuid);
                }
                fprintf(f, "} %d\n", e->xbootldr_mount != NULL);
        }
}

/* One series per system-wide check (boot, root, esp-set, booted, privileges, config, ...) and
 * per sync-list item's check, each the worst level of its findings. */
static void prom_system_checks(FILE *f, const struct status_report *r)
{
        prom_family(f, "dualroot_check_status",
                    "Worst level of one system-wide check (or of a sync-list item's, labelled by "
                    "source and destination): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
        for (size_t k = 0; k < r->n; k++) {
                const struct status_finding *x = &r->findings[k];
                bool first = true;

                /* once per (check, source, destination), at its first finding */
                for (size_t p = 0; p < k && first; p++)
                        first = !(streq(r->findings[p].check, x->check) &&
                                  streq_ptr(r->findings[p].source, x->source) &&
                                  streq_ptr(r->findings[p].destination, x->destination));
                if (!first)
                        continue;
                fputs("dualroot_check_status{check=", f);
                prom_label(f, x->check);
                if (x->source) {
                        fputs(",", f);
                        prom_item_labels(f, x->source, x->destination);
                }
                fprintf(f, "} %d\n",
                        check_level(r->findings, r->n, x->check, x->source, x->destination));
        }
}

static void prom_last_sync(FILE *f, const struct status_report *r)
{
        prom_family(f, "dualroot_last_sync_timestamp_seconds",
                    "When an alternate ESP or a sync-list destination was last synced, in seconds "
                    "since the epoch.");
        for (size_t i = 0; i < r->n_esps; i++) {
                if (r->esps[i].booted || r->esps[i].last_sync < 0)
                        continue;
                fputs("dualroot_last_sync_timestamp_seconds", f);
                prom_esp_labels(f, &r->esps[i]);
                fprintf(f, "} %" PRId64 "\n", r->esps[i].last_sync);
        }
        for (size_t i = 0; i < r->n_dests; i++) {
                if (r->dests[i].last_sync < 0)
                        continue;
                fputs("dualroot_last_sync_timestamp_seconds{", f);
                prom_item_labels(f, r->dests[i].source, r->dests[i].dest);
                fprintf(f, "} %" PRId64 "\n", r->dests[i].last_sync);
        }
}

/* The drill series (DESIGN.md §13 P5): for each disk whose PARTUUID is known. */
static void prom_drills(FILE *f, const struct status_report *r)
{
        if (r->prove_max_age < 0)
                return;
        prom_family(f, "dualroot_prove_max_age_seconds",
                    "The config's prove_max_age: a disk's last successful drill may be this old "
                    "(0: no limit).");
        fprintf(f, "dualroot_prove_max_age_seconds %" PRId64 "\n", r->prove_max_age);
        prom_family(f, "dualroot_disk_last_proven_timestamp_seconds",
                    "When a failover drill (--prove) last started this disk, in seconds since the "
                    "epoch.");
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid && r->esps[i].last_proven >= 0) {
                        fputs("dualroot_disk_last_proven_timestamp_seconds", f);
                        prom_esp_labels(f, &r->esps[i]);
                        fprintf(f, "} %" PRId64 "\n", r->esps[i].last_proven);
                }
        prom_family(f, "dualroot_disk_last_prove_failed_timestamp_seconds",
                    "When a failover drill of this disk last came up elsewhere, in seconds since "
                    "the epoch.");
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid && r->esps[i].last_prove_failed >= 0) {
                        fputs("dualroot_disk_last_prove_failed_timestamp_seconds", f);
                        prom_esp_labels(f, &r->esps[i]);
                        fprintf(f, "} %" PRId64 "\n", r->esps[i].last_prove_failed);
                }
        prom_family(f, "dualroot_disk_prove_failed",
                    "1 while the last failover drill of this disk failed.");
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid) {
                        fputs("dualroot_disk_prove_failed", f);
                        prom_esp_labels(f, &r->esps[i]);
                        fprintf(f, "} %d\n", r->esps[i].prove_failed);
                }
}

void status_print_prometheus(FILE *f, const struct status_report *r)
{
        prom_overall(f, r);
        prom_esps(f, r);
        prom_xbootldr(f, r);
        prom_system_checks(f, r);
        prom_last_sync(f, r);
        prom_drills(f, r);
}

int status_write_textfile(const char *path, const struct status_report *r, char **why)
{
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, k;

        /* A temporary name node_exporter ignores (it reads *.prom only), in the same directory
         * so that rename() is atomic. */
        k = slash ? asprintf(&tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)
                  : asprintf(&tmp, ".%s.XXXXXX", path);
        if (k < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot create a temporary file for %s: %m",
                              path);
        f = fdopen(fd, "w");
        if (!f) {
                k = negative_errno();
                close(fd);
                (void)unlink(tmp);
                return errmsg(why, k, "cannot write %s: %m", tmp);
        }
        if (fchmod(fd, 0644) < 0) {
                k = negative_errno();
                (void)unlink(tmp);
                return errmsg(why, k, "cannot make %s readable: %m", tmp);
        }
        status_print_prometheus(f, r);
        if (fflush(f) != 0 || ferror(f) || fsync(fd) < 0) {
                k = errno > 0 ? -errno : -EIO;
                (void)unlink(tmp);
                return errmsg(why, k, "cannot write %s: %s", tmp, strerror(-k));
        }
        if (rename(tmp, path) < 0) {
                k = negative_errno();
                (void)unlink(tmp);
                return errmsg(why, k, "cannot rename %s to %s: %m", tmp, path);
        }
        return 0;
}
