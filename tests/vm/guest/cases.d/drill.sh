# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Guest halves of case 21 (tests/vm/cases.d/drill.sh): the failover drill through BootNext.

boot_next() { sed -n 's/^BootNext: //p' "$WORK/efibootmgr"; }
entry_of_partuuid() {
        awk -v p="$1" 'BEGIN { p = tolower(p) } /^Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F][* ] / && index(tolower($0), p) {
                print substr($1, 5, 4); exit }' "$WORK/efibootmgr"
}

# (21a) disk 0 booted: --prove -t writes nothing; --prove sets BootNext to disk 1's entry and
# records the drill on both ESPs; --prove --reboot (already pending) reboots into it.
run_case21_prove() {
        local p1=$DRVM_ESP1_PARTUUID e1
        expect_booted 0
        tool -s
        e1=$(entry_of_partuuid "$p1")
        tool --prove -t
        efibootmgr_refresh
        check prove-test "-t: exit $TOOL_RC, plans Boot$e1, BootNext unset" \
                eval '[ "$TOOL_RC" = 0 ] && grep -q "would set BootNext to Boot$e1" <<<"$TOOL_OUT" && [ -z "$(boot_next)" ]'
        date +%s >/var/tmp/drill-start
        tool --prove
        efibootmgr_refresh
        check prove "exit $TOOL_RC, BootNext $(boot_next), disk 1's entry Boot$e1" \
                eval '[ "$TOOL_RC" = 0 ] && [ -n "$e1" ] && [ "$(boot_next)" = "$e1" ]'
        check records "the pending drill on both ESPs" \
                eval 'grep -q "^pending $p1 $e1 " /efi0/.dual-root-drill && cmp -s /efi0/.dual-root-drill /efi1/.dual-root-drill'
        tool --status
        check status-pending "a drill is pending" eval 'grep -q "OK drill: a drill is pending: BootNext = Boot$e1" <<<"$TOOL_OUT"'
        # The reboot ends this boot: the result line first, then the command (already pending:
        # it says so and runs systemctl reboot; the next boot coming up on disk 1 proves it).
        sync
        say "END $DRVM_CASE"
        dual-root-tool --prove --reboot >/dev/null 2>&1
        sleep 60
}

# (21b) the firmware followed BootNext: disk 1 booted, and bind-mount-efi.service's -b recorded
# the proof. Then a drill of disk 0, whose loader goes away after --prove.
run_case21_proven() {
        local p0=$DRVM_ESP0_PARTUUID p1=$DRVM_ESP1_PARTUUID start t e0
        expect_booted 1
        check boot-next-gone "BootNext consumed or deleted" eval '[ -z "$(boot_next)" ]'
        check no-pending "the drill is no longer pending" eval '! grep -q "^pending" /efi1/.dual-root-drill'
        tool --status --json
        t=$(jq -r '.esps[] | select(.mount == "/efi1") | .last_proven' <<<"$TOOL_OUT")
        start=$(cat /var/tmp/drill-start 2>/dev/null)
        check proven "/efi1 last_proven=$t" eval '[ "$t" != null ] && [ "$t" -ge "$start" ]'
        info "drill wall time (--prove to the proof recorded at the next boot): $((t - start)) s"
        check prove-failed "/efi1 prove_failed false" \
                eval '[ "$(jq -r ".esps[] | select(.mount == \"/efi1\") | .prove_failed" <<<"$TOOL_OUT")" = false ]'
        tool --status --textfile "$WORK/dr.prom"
        check textfile "dualroot_disk_last_proven_timestamp_seconds for /efi1" \
                eval 'grep -q "^dualroot_disk_last_proven_timestamp_seconds{mountpoint=\"/efi1\",partuuid=\"$p1\"} $t\$" "$WORK/dr.prom"'
        tool -s
        e0=$(entry_of_partuuid "$p0")
        tool --prove
        efibootmgr_refresh
        check prove-disk0 "exit $TOOL_RC, BootNext $(boot_next), disk 0's entry Boot$e0" \
                eval '[ "$TOOL_RC" = 0 ] && [ "$(boot_next)" = "$e0" ]'
        # disk 0 can no longer start: its loader and its fallback removed
        rm -f /efi0/EFI/systemd/systemd-bootx64.efi /efi0/EFI/BOOT/BOOTX64.EFI
        sync
        date +%s >/var/tmp/drill-start
}

# (21c) BootNext's entry could not start disk 0: the firmware fell back to BootOrder and came
# up on disk 1; -b recorded the failed drill, --status is CRITICAL, BootNext is not left set.
run_case21_failed() {
        local p0=$DRVM_ESP0_PARTUUID
        expect_booted 1
        check boot-next-gone "BootNext not left set" eval '[ -z "$(boot_next)" ]'
        tool --status --textfile "$WORK/dr.prom"
        check status-critical "exit $TOOL_RC" [ "$TOOL_RC" = 2 ]
        check names-failed-drill "the failed drill named" \
                eval 'grep -q "CRITICAL drill: the last drill (.*) FAILED: the firmware started PARTUUID $DRVM_ESP1_PARTUUID instead of this disk" <<<"$TOOL_OUT"'
        check textfile "dualroot_disk_prove_failed 1 for /efi0" \
                eval 'grep -q "^dualroot_disk_prove_failed{mountpoint=\"/efi0\",partuuid=\"$p0\"} 1\$" "$WORK/dr.prom"'
        journalctl -b -u bind-mount-efi.service --no-pager | sed 's/^/  journal: /' | log
}
