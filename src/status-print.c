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

static size_t n_bootable(const struct status_report *r)
{
        size_t n = 0;

        for (size_t i = 0; i < r->n_esps; i++)
                n += r->esps[i].bootable;
        return n;
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

/* The worst finding, system-wide or of an ESP (the first of that level), and its ESP. */
static const struct status_finding *worst(const struct status_report *r,
                                          const struct status_esp **ret_esp)
{
        const struct status_finding *w = NULL;

        *ret_esp = NULL;
        for (size_t i = 0; i < r->n_esps; i++)
                for (size_t k = 0; k < r->esps[i].n; k++)
                        if (!w || r->esps[i].findings[k].level > w->level) {
                                w = &r->esps[i].findings[k];
                                *ret_esp = &r->esps[i];
                        }
        for (size_t k = 0; k < r->n; k++)
                if (!w || r->findings[k].level > w->level) {
                        w = &r->findings[k];
                        *ret_esp = NULL;
                }
        return w;
}

static void print_verdicts(FILE *f, const struct status_report *r)
{
        fputs("boots alone: ", f);
        for (size_t i = 0; i < r->n_esps; i++)
                fprintf(f, "%s%s%s %s", i ? ", " : "", r->esps[i].mount,
                        r->esps[i].booted ? " (booted)" : "", r->esps[i].bootable ? "yes" : "NO");
}

void status_print_text(FILE *f, const struct status_report *r)
{
        const struct status_esp *we;
        const struct status_finding *w = worst(r, &we);
        size_t bootable = n_bootable(r);
        int64_t oldest = oldest_sync(r);

        /* First line: STATE: summary | perfdata (monitoring-plugins guidelines). */
        fprintf(f, "%s: ", status_level_to_string(r->level));
        if (r->level == STATUS_OK && r->n_esps > 1 && bootable == r->n_esps)
                fputs("this machine can lose any disk; ", f);
        else if (w && r->level != STATUS_OK)
                fprintf(f, "%s; ", w->text);
        if (r->n_esps > 0)
                print_verdicts(f, r);
        else if (w)
                fputs(w->text, f);
        fprintf(f, " | 'bootable_esps'=%zu;;;0;%zu 'esps'=%zu;;;0", bootable, r->n_esps, r->n_esps);
        if (oldest >= 0)
                fprintf(f, " 'last_sync_age'=%" PRId64 "s;;;0", r->now - oldest);
        fputs("\n", f);

        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                fprintf(f, "%s%s: %s, PARTUUID %s: %s\n", e->mount, e->booted ? " (booted)" : "",
                        e->device ? e->device : "no device", strna(e->partuuid),
                        e->bootable ? "boots alone" : "would NOT boot alone");
                for (size_t k = 0; k < e->n; k++)
                        fprintf(f, "  %s %s: %s\n", status_level_to_string(e->findings[k].level),
                                e->findings[k].check, e->findings[k].text);
        }
        if (r->n > 0)
                fputs("system:\n", f);
        for (size_t k = 0; k < r->n; k++)
                fprintf(f, "  %s %s: %s\n", status_level_to_string(r->findings[k].level),
                        r->findings[k].check, r->findings[k].text);
}

static void json_findings(FILE *f, const struct status_finding *l, size_t n)
{
        fputs("[", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s{\"check\": ", i ? ", " : "");
                json_write_string(f, l[i].check);
                fprintf(f, ", \"level\": \"%s\", \"text\": ", status_level_to_string(l[i].level));
                json_write_string(f, l[i].text);
                fputs("}", f);
        }
        fputs("]", f);
}

/* DESIGN.md §13 P5: the disk's drills. */
static void json_time(FILE *f, const char *key, int64_t t)
{
        if (t >= 0)
                fprintf(f, ", \"%s\": %" PRId64, key, t);
        else
                fprintf(f, ", \"%s\": null", key);
}

static void json_drill(FILE *f, const struct status_esp *e)
{
        json_time(f, "last_proven", e->last_proven);
        json_time(f, "last_prove_failed", e->last_prove_failed);
        fprintf(f, ", \"prove_failed\": %s", e->prove_failed ? "true" : "false");
}

void status_print_json(FILE *f, const struct status_report *r)
{
        fprintf(f, "{\"status\": \"%s\", \"code\": %d, \"bootable_esps\": %zu, \"esps\": [",
                status_level_to_string(r->level), (int)r->level, n_bootable(r));
        for (size_t i = 0; i < r->n_esps; i++) {
                const struct status_esp *e = &r->esps[i];

                fputs(i ? ", {\"mount\": " : "{\"mount\": ", f);
                json_write_string(f, e->mount);
                fputs(", \"device\": ", f);
                json_write_string(f, e->device);
                fputs(", \"partuuid\": ", f);
                json_write_string(f, e->partuuid);
                fputs(", \"uuid\": ", f);
                json_write_string(f, e->uuid);
                fprintf(f, ", \"booted\": %s, \"present\": %s, \"bootable\": %s, \"level\": \"%s\"",
                        e->booted ? "true" : "false", e->present ? "true" : "false",
                        e->bootable ? "true" : "false", status_level_to_string(e->level));
                if (e->last_sync >= 0)
                        fprintf(f, ", \"last_sync\": %" PRId64, e->last_sync);
                else
                        fputs(", \"last_sync\": null", f);
                fputs(", \"last_sync_from\": ", f);
                json_write_string(f, e->last_sync_from);
                json_drill(f, e);
                fputs(", \"checks\": ", f);
                json_findings(f, e->findings, e->n);
                fputs("}", f);
        }
        fputs("], \"sync_list\": [", f);
        for (size_t i = 0; i < r->n_dests; i++) {
                fputs(i ? ", {\"item\": " : "{\"item\": ", f);
                json_write_string(f, r->dests[i].item);
                fputs(", \"dest\": ", f);
                json_write_string(f, r->dests[i].dest);
                if (r->dests[i].last_sync >= 0)
                        fprintf(f, ", \"last_sync\": %" PRId64 "}", r->dests[i].last_sync);
                else
                        fputs(", \"last_sync\": null}", f);
        }
        fputs("], \"findings\": ", f);
        json_findings(f, r->findings, r->n);
        fputs("}\n", f);
}

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

static void prom_esp_labels(FILE *f, const struct status_esp *e)
{
        fputs("{mount=", f);
        prom_label(f, e->mount);
        fputs(",partuuid=", f);
        prom_label(f, e->partuuid ? e->partuuid : "");
}

/* The drill series (DESIGN.md §13 P5), labelled as node_exporter labels a filesystem. */
static void prom_drill_labels(FILE *f, const char *name, const struct status_esp *e)
{
        fputs(name, f);
        fputs("{mountpoint=", f);
        prom_label(f, e->mount);
        fputs(",partuuid=", f);
        prom_label(f, e->partuuid);
        fputs("} ", f);
}

static void prom_drills(FILE *f, const struct status_report *r)
{
        if (r->prove_max_age < 0)
                return;
        fputs("# HELP dualroot_prove_max_age_seconds The config's prove_max_age: a disk's last "
              "successful drill may be this old (0: no limit).\n"
              "# TYPE dualroot_prove_max_age_seconds gauge\n",
              f);
        fprintf(f, "dualroot_prove_max_age_seconds %" PRId64 "\n", r->prove_max_age);
        fputs("# HELP dualroot_disk_last_proven_timestamp_seconds When a failover drill "
              "(--prove) last started this disk, in seconds since the epoch.\n"
              "# TYPE dualroot_disk_last_proven_timestamp_seconds gauge\n",
              f);
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid && r->esps[i].last_proven >= 0) {
                        prom_drill_labels(f, "dualroot_disk_last_proven_timestamp_seconds",
                                          &r->esps[i]);
                        fprintf(f, "%" PRId64 "\n", r->esps[i].last_proven);
                }
        fputs("# HELP dualroot_disk_last_prove_failed_timestamp_seconds When a failover drill of "
              "this disk last came up elsewhere, in seconds since the epoch.\n"
              "# TYPE dualroot_disk_last_prove_failed_timestamp_seconds gauge\n",
              f);
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid && r->esps[i].last_prove_failed >= 0) {
                        prom_drill_labels(f, "dualroot_disk_last_prove_failed_timestamp_seconds",
                                          &r->esps[i]);
                        fprintf(f, "%" PRId64 "\n", r->esps[i].last_prove_failed);
                }
        fputs("# HELP dualroot_disk_prove_failed 1 while the last failover drill of this disk "
              "failed.\n"
              "# TYPE dualroot_disk_prove_failed gauge\n",
              f);
        for (size_t i = 0; i < r->n_esps; i++)
                if (r->esps[i].partuuid) {
                        prom_drill_labels(f, "dualroot_disk_prove_failed", &r->esps[i]);
                        fprintf(f, "%d\n", r->esps[i].prove_failed);
                }
}

void status_print_prometheus(FILE *f, const struct status_report *r)
{
        static const char *const checks[] = { "esp", "firmware", "loader", "sync" };
        size_t bootable = n_bootable(r);

        fputs("# HELP dualroot_status Boot readiness: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN "
              "(dual-root-tool --status exit code).\n"
              "# TYPE dualroot_status gauge\n",
              f);
        fprintf(f, "dualroot_status %d\n", (int)r->level);

        fputs("# HELP dualroot_can_lose_any_disk 1 when every ESP's disk would boot the machine "
              "alone and nothing is critical.\n"
              "# TYPE dualroot_can_lose_any_disk gauge\n",
              f);
        fprintf(f, "dualroot_can_lose_any_disk %d\n",
                r->n_esps > 1 && bootable == r->n_esps && r->level < STATUS_CRITICAL);

        fputs("# HELP dualroot_esp_bootable 1 when the machine would boot from this ESP's disk "
              "alone.\n"
              "# TYPE dualroot_esp_bootable gauge\n",
              f);
        for (size_t i = 0; i < r->n_esps; i++) {
                fputs("dualroot_esp_bootable", f);
                prom_esp_labels(f, &r->esps[i]);
                fprintf(f, "} %d\n", r->esps[i].bootable);
        }

        fputs("# HELP dualroot_esp_check_status Worst level of one check of an ESP: 0 OK, 1 "
              "WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
              "# TYPE dualroot_esp_check_status gauge\n",
              f);
        for (size_t i = 0; i < r->n_esps; i++)
                for (size_t c = 0; c < ELEMENTSOF(checks); c++) {
                        int level = -1;

                        for (size_t k = 0; k < r->esps[i].n; k++)
                                if (streq(r->esps[i].findings[k].check, checks[c]) &&
                                    (int)r->esps[i].findings[k].level > level)
                                        level = (int)r->esps[i].findings[k].level;
                        if (level < 0)
                                continue;
                        fputs("dualroot_esp_check_status", f);
                        prom_esp_labels(f, &r->esps[i]);
                        fprintf(f, ",check=\"%s\"} %d\n", checks[c], level);
                }

        fputs("# HELP dualroot_last_sync_timestamp_seconds When an alternate ESP or a sync-list "
              "destination was last synced, in seconds since the epoch.\n"
              "# TYPE dualroot_last_sync_timestamp_seconds gauge\n",
              f);
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
                fputs("dualroot_last_sync_timestamp_seconds{item=", f);
                prom_label(f, r->dests[i].item);
                fputs(",dest=", f);
                prom_label(f, r->dests[i].dest);
                fprintf(f, "} %" PRId64 "\n", r->dests[i].last_sync);
        }
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
