# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Case 33: a unified kernel image the firmware starts directly (DESIGN.md §11b L11), guest
# half of tests/vm/cases.d/uki.sh. Sourced by guest/vmtest after guest/cases. Disk 0 is
# missing and the NVRAM fresh: the firmware's own whole-disk entry starts disk 1's
# removable-media fallback, which is the UKI (systemd-stub with the kernel, the initrd and
# the command line in its sections); nothing else on that ESP can start.

# uki_section FROM: the lines of --status from "FROM" up to the next line not indented
uki_section() { awk -v f="$1" 'index($0, f) == 1 { on = 1; print; next } on && !/^ / { exit } on { print }' <<<"$TOOL_OUT"; }

run_case33_alone() {
        local cur path stub lp part method efi1 crit
        check uki-cmdline "/proc/cmdline: $(cat /proc/cmdline)" grep -qw 'drvm.uki=1' /proc/cmdline
        check disk0-absent "no device for $DRVM_ESP0_PARTUUID" [ ! -e "/dev/disk/by-partuuid/$DRVM_ESP0_PARTUUID" ]
        cur=$(boot_current)
        path=$(boot_path "$cur")
        check whole-disk-entry "BootCurrent=Boot$cur '$(boot_label "$cur")' $path" \
                eval '[ -n "$cur" ] && [[ $path != *HD\(* ]]'
        # systemd-stub ran, and no systemd-boot before it (it would have set LoaderInfo)
        stub=$(efivar_string "StubInfo-$LOADER_GUID")
        check stub-alone "StubInfo '$stub', LoaderInfo '$(efivar_string "LoaderInfo-$LOADER_GUID")'" \
                eval '[[ $stub == systemd-stub* ]] && [ ! -e "$EFIVARS/LoaderInfo-$LOADER_GUID" ]'
        settle_mount /efi1
        check efi1-mounted "/efi1 on $(findmnt -n -o SOURCE /efi1)" \
                eval '[ "$(mountpoint_dev /efi1)" = "$(dev_majmin "$(partuuid_dev "$DRVM_ESP1_PARTUUID")")" ]'
        if ! has_feature json; then
                skip booted "needs --json"
        else
                # How the tool finds the booted ESP: by LoaderDevicePartUUID when the stub set it
                # (systemd-stub does since v250, when no loader set it before), else by
                # BootCurrent, whose entry is the firmware's whole-disk one (case 5).
                lp=$(loader_partuuid)
                info "LoaderDevicePartUUID: ${lp:-not set} (systemd-stub sets it when no loader did)"
                tool --json
                IFS=$'\037' read -r method part < <(jq -r '[.method // "", .booted.partuuid // ""] | join("\u001f")' \
                        2>/dev/null <<<"$TOOL_OUT")
                part=$(lower <<<"$part")
                info "the tool found the booted ESP by ${method:-nothing}"
                check booted "exit $TOOL_RC, method ${method:-none}, PARTUUID ${part:-none}, want $DRVM_ESP1_PARTUUID" \
                        eval '[ "$TOOL_RC" = 0 ] && [ "$part" = "$DRVM_ESP1_PARTUUID" ] &&
                                { [ -z "$lp" ] || [ "$lp" = "$DRVM_ESP1_PARTUUID" ]; }'
                if [ -n "$lp" ]; then
                        # the other way too: without the stub's variable, through the whole-disk entry
                        drop_loader_var
                        TOOL_SYSFS=/sys tool --json
                        part=$(jq -r '.booted.partuuid // ""' 2>/dev/null <<<"$TOOL_OUT" | lower)
                        check booted-by-entry "without LoaderDevicePartUUID: exit $TOOL_RC, method $(jq -r .method <<<"$TOOL_OUT" 2>/dev/null), PARTUUID $part" \
                                eval '[ "$TOOL_RC" = 0 ] && [ "$part" = "$DRVM_ESP1_PARTUUID" ] &&
                                        [ "$(jq -r .method <<<"$TOOL_OUT")" = BootCurrent-whole-disk ]'
                        TOOL_EFIVARS=
                fi
        fi

        # --status: disk 1 boots alone through the UKI, judged by L11; CRITICAL only for the
        # missing disk 0.
        tool --status
        STATUS_LINE=${TOOL_OUT%%$'\n'*}
        info "--status: exit $TOOL_RC: $STATUS_LINE"
        efi1=$(uki_section "/efi1 (booted)")
        check uki-verdict "--status names the UKI at disk 1's fallback, started directly" \
                eval 'grep -qF "OK loader: /efi1/EFI/BOOT/BOOTX64.EFI: the firmware starts this kernel directly; which disk its root= names is not checked (-v)" <<<"$efi1"'
        check status-alone "exit $TOOL_RC: /efi1 (booted) yes, /efi0 not mounted" \
                eval '[ "$TOOL_RC" = 2 ] && [[ $STATUS_LINE == *"/efi1 (booted) yes"* ]] &&
                        [[ $STATUS_LINE == *"/efi0 is not mounted"* ]]'
        crit=$(grep "^ *CRITICAL" <<<"$TOOL_OUT")
        check critical-only-missing "CRITICAL findings: $(paste -sd'|' <<<"$crit")" \
                eval '! grep -q "CRITICAL" <<<"$efi1" && grep -q "CRITICAL esp: /efi0 is not mounted" <<<"$crit" &&
                        ! grep -v "/efi0" <<<"$crit" | grep -q .'

        # -v: disk 1's chain (L9): the fallback, the UKI, its .cmdline and root=
        tool --status -v
        sed -n '/^\/efi1 (booted): its boot chain/,/^$/p' <<<"$TOOL_OUT" | sed 's/^/  chain: /' | log
        check uki-chain "-v: the fallback starts the UKI on /efi1, its .cmdline (the marker) and root=" \
                eval 'grep -qF "no boot entry: the firmware starts the removable-media fallback \\EFI\\BOOT\\BOOTX64.EFI on /efi1" <<<"$TOOL_OUT" &&
                        grep -qF -- "-> /efi1/EFI/BOOT/BOOTX64.EFI is a unified kernel image: the firmware starts the kernel directly, with the initrd in its .initrd" <<<"$TOOL_OUT" &&
                        grep -q -- "-> its .cmdline: root=UUID=$DRVM_ROOT_UUID .* drvm.uki=1" <<<"$TOOL_OUT" &&
                        grep -qF -- "-> /efi1/EFI/BOOT/BOOTX64.EFI: its .cmdline'"'"'s root=UUID=$DRVM_ROOT_UUID is none of the ESPs --status knows: which disk holds it is not checked" <<<"$TOOL_OUT"'
}
