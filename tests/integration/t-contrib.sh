#!/bin/bash
# SPDX-License-Identifier: MIT
# contrib/ (DESIGN.md §13 P7): the Prometheus alerting rules pass `promtool check rules` and
# their unit tests (`promtool test rules`, sample series); and every metric and label that the
# Grafana dashboard's queries and the rules name exists in a real --textfile output, written by
# the tool in the integration sandbox on a machine with a drill proven and one failed.
. "$(dirname "$0")/lib.sh"

SRC=$(realpath "$(dirname "$0")/../..")
PROMTOOL=$("$SRC/scripts/promtool") || { echo "SKIP: no promtool (scripts/promtool failed)"; exit 77; }

make_two_disk_machine
GUID=8be4df61-93ca-11d2-aa0d-00e098032b8c
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"
echo 11111111-2222-4333-8444-555555555555 >"$W/boot_id"
mount --bind "$W/boot_id" "$R/proc/sys/kernel/random/boot_id"

rules_pass_promtool_check_and_their_unit_tests() {
        (cd "$SRC/contrib" && "$PROMTOOL" check rules prometheus-dual-root-disks.rules.yml \
                prometheus-dual-root.rules.yml) >"$OUT" 2>"$ERR" || fail "promtool check rules failed"
        (cd "$SRC/contrib" && "$PROMTOOL" test rules prometheus-dual-root.rules.test.yml) >"$OUT" 2>"$ERR" ||
                fail "promtool test rules failed"
        # the tests must be able to fail: a rule file whose threshold is off by a day does
        cp "$SRC/contrib/prometheus-dual-root.rules.test.yml" "$SRC/contrib/prometheus-dual-root.rules.yml" "$W/"
        sed 's/> 86400/> 172800/' "$SRC/contrib/prometheus-dual-root-disks.rules.yml" >"$W/prometheus-dual-root-disks.rules.yml"
        ! (cd "$W" && "$PROMTOOL" test rules prometheus-dual-root.rules.test.yml) >"$OUT" 2>"$ERR" ||
                fail "the rules' unit tests pass on a broken rule"
}

# A machine booted from disk 0 whose disk 1 was proven by a drill: every series is written.
textfile() {
        reset_machine
        echo 11111111-2222-4333-8444-555555555555 >"$W/boot_id"
        efivar loader "$PU0" --upper
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0" --start 0x800 --size 0x10000
        efivar bootentry 0003 "disk 1" --hd 1 "$PU1" --start 0x800 --size 0x10000
        efivar bootorder 0001,0003
        find "$R/efi0" "$R/efi1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        loader_file efi 16384 "$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'linux /vmlinuz\n' >"$R/efi0/loader/entries/a.conf"
        loader_file kernel 65536 "$R/efi0/vmlinuz"
        run_tool -s -q
        run_tool --prove -q
        expect_status 0
        echo 22222222-2222-4333-8444-555555555555 >"$W/boot_id"
        efivars_clear
        efivar loader "$PU1" --upper
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0" --start 0x800 --size 0x10000
        efivar bootentry 0003 "disk 1" --hd 1 "$PU1" --start 0x800 --size 0x10000
        efivar bootorder 0001,0003
        run_tool -b -q
        expect_status 0
        run_tool --status --textfile /tmp/dual-root.prom
        cp "$R/tmp/dual-root.prom" "$W/prom"
        "$PROMTOOL" check metrics <"$W/prom" >"$OUT" 2>"$ERR" || fail "promtool check metrics"
        grep -q '^dualroot_disk_last_proven_timestamp_seconds{' "$W/prom" || fail "no drill series in the textfile"
}

# selectors FILE...: every "metric{labels}" and label_values(metric{...}, label) in the
# queries, one per line as "metric label label ...".
selectors() {
        grep -ohE '(label_values\()?[a-z_:]+(\{[^}]*\})?(, *[a-z_]+\))?' "$@" |
                grep -E '^(label_values\()?(dualroot_|node_)' |
                sed -E 's/^label_values\(//' |
                while IFS= read -r s; do
                        metric=${s%%[\{,]*}
                        # name, or name=value for an exact match on a literal value
                        labels=$(printf '%s\n' "$s" | grep -oE '[{,] *[a-z_]+ *(=~|!=|!~|=) *"[^"]*"' |
                                 sed -E 's/^[{,] *//; s/^([a-z_]+) *= *"([^"$]*)"$/\1=\2/; s/^([a-z_]+) *(=~|!=|!~|=) *".*/\1/' |
                                 tr '\n' ' ')
                        case "$s" in
                        *\)) labels="$labels${s##*, }"; labels=${labels%)} ;;
                        esac
                        echo "$metric $labels"
                done
}

# check_against_textfile FILE...: each metric and label the queries name is in the textfile.
# Prometheus adds instance and job; node_exporter's own series are not ours.
check_against_textfile() {
        local n=0
        while read -r metric labels; do
                n=$((n + 1))
                case "$metric" in node_*) continue ;; esac
                grep -qE "^$metric(\{| )" "$W/prom" || fail "$metric is not in the textfile"
                for l in $labels; do
                        case "$l" in instance | job | instance=* | job=*) continue ;; esac
                        case "$l" in
                        *=*) grep -qF "$metric{" "$W/prom" && grep -F "$metric{" "$W/prom" | grep -qF "${l%%=*}=\"${l#*=}\"" ||
                                fail "$metric has no series with ${l%%=*}=\"${l#*=}\" in the textfile" ;;
                        *) grep -qE "^$metric\{(.*,)?$l=\"" "$W/prom" ||
                                fail "$metric has no label $l in the textfile" ;;
                        esac
                done
        done < <(selectors "$@")
        [ "$n" -ge 4 ] || fail "only $n selectors found in $*: the extraction is broken"
}

dashboard_queries_name_what_the_textfile_has() {
        textfile
        jq -r '.. | objects | (.expr, .definition) | strings' "$SRC/contrib/grafana-dual-root.json" >"$W/queries"
        grep -q 'dualroot_disk_last_proven_timestamp_seconds' "$W/queries" || fail "the dashboard shows no drill age"
        check_against_textfile "$W/queries"
        # and the check can fail: a query naming a label the textfile lacks
        echo 'dualroot_esp_bootable{mount=~"/efi1"}' >"$W/bad"
        ! (check_against_textfile "$W/bad" >/dev/null) || fail "a label the textfile lacks was accepted"
        echo 'dualroot_check_status{check="no-such-check"}' >"$W/bad"
        ! (check_against_textfile "$W/bad" >/dev/null) || fail "a label value the textfile lacks was accepted"
}

rules_name_what_the_textfile_has() {
        textfile
        grep -hE '^\s*expr:|^\s{10}[(a-z]' "$SRC"/contrib/prometheus-dual-root*.rules.yml >"$W/exprs"
        check_against_textfile "$W/exprs"
}

run_case "the alerting rules pass promtool check rules and their unit tests" rules_pass_promtool_check_and_their_unit_tests
run_case "every dashboard query's metric and label is in a real --textfile output" dashboard_queries_name_what_the_textfile_has
run_case "every alerting rule's metric and label is in a real --textfile output" rules_name_what_the_textfile_has
finish
