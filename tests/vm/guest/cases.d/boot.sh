# SPDX-License-Identifier: MIT
# Guest halves of cases 8 and 9 (tests/vm/cases.d/boot.sh): what --status says on real
# firmware, and the boot entry --fix-boot-entries writes, as efibootmgr and the firmware see it.

# status_run ARGS...: dual-root-tool --status ARGS; the first line in STATUS_LINE
status_run() {
        tool --status "$@"
        STATUS_LINE=${TOOL_OUT%%$'\n'*}
}

# entry_of LABEL: the #### of the Boot#### labelled exactly LABEL (efibootmgr's view; a
# label may hold '/' and parentheses, so it is compared as a string, not a pattern)
entry_of() {
        awk -F'\t' -v want="$1" '/^Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F][* ] / {
                if (substr($1, 11) == want) { print substr($1, 5, 4); exit } }' "$WORK/efibootmgr"
}
boot_order() { sed -n 's/^BootOrder: //p' "$WORK/efibootmgr"; }

# sync first, so that what the daemon does at boot cannot make the ESPs differ meanwhile
settle_esps() {
        tool -s
        check sync "dual-root-tool -s: exit $TOOL_RC" [ "$TOOL_RC" = 0 ]
}

# (8a) disk 0 booted: OK; disk 1's entry deleted: WARNING naming it; fixed; BootNext set
run_case8_fix() {
        local p1=$DRVM_ESP1_PARTUUID old order_before order_after new path size
        expect_booted 0
        settle_esps
        status_run
        check status-ok "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 0 ]
        check status-verdict "either disk boots alone" \
                eval '[[ $STATUS_LINE == *"boots alone: /efi0 (booted) yes, /efi1 yes"* ]]'
        status_run --json
        check status-json "esps[1]: $(jq -c '.esps[1] | {mount, partuuid, bootable, level}' <<<"$TOOL_OUT" 2>&1)" \
                eval '[ "$(jq -r ".esps[1] | [.mount, .partuuid, .bootable] | map(tostring) | join(\",\")" <<<"$TOOL_OUT" | lower)" = "/efi1,$p1,true" ]'
        check status-json-gpt "the ESP check read the GPT type" \
                eval 'jq -e ".esps[1].checks[] | select(.check == \"esp\") | .text | test(\"vfat, GPT type ESP\")" <<<"$TOOL_OUT" >/dev/null'
        # As a monitoring agent's user runs it (NRPE, Icinga, Zabbix): the real vfat ESPs
        # (umask=0077) cannot be read: UNKNOWN naming why and the cure, never CRITICAL or NO
        # (DESIGN.md §11 rule S13).
        setpriv --reuid=65534 --regid=65534 --clear-groups timeout 120 dual-root-tool --status \
                >"$WORK/out" 2>"$WORK/err"
        TOOL_RC=$?
        TOOL_OUT=$(cat "$WORK/out")
        sed 's/^/  nobody out: /' "$WORK/out" | log
        sed 's/^/  nobody err: /' "$WORK/err" | log
        check status-unprivileged "as uid 65534: exit $TOOL_RC: ${TOOL_OUT%%$'\n'*}" \
                eval '[ "$TOOL_RC" = 3 ] && ! grep -q "CRITICAL\| NO\b" <<<"$TOOL_OUT" &&
                      grep -q "/efi1 unknown (cannot open /efi1: Permission denied (needs root))" <<<"$TOOL_OUT" &&
                      grep -q "^  UNKNOWN privileges: .* run dual-root-tool --status as root" <<<"$TOOL_OUT"'

        old=$(entry_of "$(esp_label 1)")
        order_before=$(boot_order)
        check old-entry "disk 1's entry Boot$old \"$(esp_label 1)\", BootOrder $order_before" [ -n "$old" ]
        efibootmgr -q -b "$old" -B
        efibootmgr_refresh
        status_run
        check status-warns "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 1 ]
        check status-names-it "names disk 1's PARTUUID and the fallback" \
                eval 'grep -qi "WARNING firmware: no boot entry names /efi1 (PARTUUID $p1): only the removable-media fallback" <<<"$TOOL_OUT"'

        tool --fix-boot-entries -t
        efibootmgr -v >"$WORK/efibootmgr.after-t" 2>&1
        check fix-test "-t: exit $TOOL_RC, plans an entry, NVRAM unchanged" \
                eval '[ "$TOOL_RC" = 0 ] && grep -q "would create Boot" <<<"$TOOL_OUT" && cmp -s "$WORK/efibootmgr" "$WORK/efibootmgr.after-t"'
        tool --fix-boot-entries
        check fix "exit $TOOL_RC: ${TOOL_OUT//$'\n'/ / }" \
                eval '[ "$TOOL_RC" = 0 ] && grep -q "creating Boot" <<<"$TOOL_OUT"'
        efibootmgr_refresh
        sed 's/^/  efibootmgr: /' "$WORK/efibootmgr" | log
        new=$(entry_of "dual-root-tool /efi1 (vdb)")
        path=$(boot_path "$new")
        size=$(printf '0x%x' "$(cat /sys/class/block/vdb1/size)")
        check fix-efibootmgr "Boot$new: $path" \
                eval '[ -n "$new" ] && [[ $(lower <<<"$path") == "hd(1,gpt,$p1,0x800,$size)/file(\\efi\\systemd\\systemd-bootx64.efi)"* ]]'
        order_after=$(boot_order)
        # DESIGN.md §11 E3: the others keep their order; the new entry stands right after the
        # last entry starting a disk's loader, before what OVMF falls back to (its shell)
        rest=$(tr , '\n' <<<"$order_after" | grep -vx "$new" | paste -sd,)
        rest_before=$(tr , '\n' <<<"$order_before" | grep -vx "$new" | paste -sd,)
        prev=$(tr , '\n' <<<"$order_after" | grep -x -B1 "$new" | head -n1)
        check fix-boot-order "BootOrder $order_before -> $order_after: first kept, the others in order, Boot$new right after Boot$prev '$(boot_label "$prev")' (a disk's loader)" \
                eval '[ "${order_after%%,*}" = "${order_before%%,*}" ] && [ "$rest" = "$rest_before" ] && [[ $(lower <<<"$(boot_path "$prev")") == *"hd("*"file("* ]]'
        status_run
        check status-ok-again "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 0 ]

        # never BootNext an empty number: efibootmgr would take it for Boot0000
        [ -n "$new" ] || { fail boot-next "no entry to boot next"; return; }
        efibootmgr -q -n "$new"
        efibootmgr_refresh
        check boot-next "BootNext: $(sed -n 's/^BootNext: //p' "$WORK/efibootmgr")" \
                eval '[ "$(sed -n "s/^BootNext: //p" "$WORK/efibootmgr")" = "$new" ]'
}

# (8b) the firmware followed BootNext to the entry the tool made: disk 1 booted
run_case8_next() {
        local p1=$DRVM_ESP1_PARTUUID cur
        cur=$(boot_current)
        check loader-partuuid "LoaderDevicePartUUID=$(loader_partuuid), want $p1" [ "$(loader_partuuid)" = "$p1" ]
        check bootcurrent "BootCurrent=Boot$cur \"$(boot_label "$cur")\"" \
                eval '[ "$(boot_label "$cur")" = "dual-root-tool /efi1 (vdb)" ]'
        check boot-next-gone "BootNext is consumed" eval '! grep -q "^BootNext:" "$WORK/efibootmgr"'
        settle_esps
        status_run
        check status-ok "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 0 ]
        check status-verdict "booted from disk 1, either disk boots alone" \
                eval '[[ $STATUS_LINE == *"boots alone: /efi1 (booted) yes, /efi0 yes"* ]]'
}

# (9a) a kernel set missing on disk 1's ESP: CRITICAL, named; the textfile says so too
run_case9_kernel() {
        local initrd prom=$WORK/dual-root.prom
        expect_booted 0
        settle_esps
        initrd=$(sed -n 's/^initrd *//p' /efi0/loader/entries/debian.conf)
        rm "/efi1$initrd"
        status_run --textfile "$prom"
        check status-critical "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 2 ]
        check status-names-file "names the entry and the file" \
                eval '[[ $STATUS_LINE == "CRITICAL: entry debian.conf names $initrd, which /efi1 lacks; boots alone: /efi0 (booted) yes, /efi1 NO"* ]]'
        log <"$prom"
        check textfile "dualroot_status 2, /efi1 not bootable" \
                eval 'grep -qx "dualroot_status 2" "$prom" && grep -qx "dualroot_esp_bootable{mountpoint=\"/efi1\",partuuid=\"$DRVM_ESP1_PARTUUID\"} 0" "$prom"'
}

# (9b) booted with disk 1 missing: CRITICAL, naming fstab's PARTUUID and --add-disk
run_case9_missing() {
        check disk1-absent "no device for $DRVM_ESP1_PARTUUID" [ ! -e "/dev/disk/by-partuuid/$DRVM_ESP1_PARTUUID" ]
        status_run
        check status-critical "exit $TOOL_RC: $STATUS_LINE" [ "$TOOL_RC" = 2 ]
        check status-names-missing "names fstab's PARTUUID and --add-disk" \
                eval 'grep -qi "CRITICAL esp: /efi1 is not mounted: fstab mounts PARTUUID=$DRVM_ESP1_PARTUUID there, which is not present.*--add-disk DEVICE" <<<"$TOOL_OUT"'
        check status-verdict "disk 0 still boots" \
                eval '[[ $STATUS_LINE == *"boots alone: /efi0 (booted) yes, /efi1 NO"* ]]'
        tool
        check info-names-missing "the info report names it too" \
                eval 'grep -qi "/efi1: not mounted: fstab mounts PARTUUID=$DRVM_ESP1_PARTUUID there" <<<"$TOOL_OUT"'
}
