# SPDX-License-Identifier: MIT
# Cases 30 (GRUB through shim) and 31 (rEFInd), DESIGN.md §11b, guest half: one function
# per boot of tests/vm/cases.d/loaders.sh. Sourced by guest/vmtest after guest/cases. GRUB sets no
# LoaderDevicePartUUID: the tool finds the booted ESP through BootCurrent.

# the FAT volume ids as GRUB and blkid write them
grub_uuid() { local v; eval "v=\$DRVM_ESP$1_VOLID"; printf '%s-%s' "${v:0:4}" "${v:4:4}" | lower; }

# grub_booted N: BootCurrent's entry starts disk N, and GRUB read the kernel from it
grub_booted() {
        local n=$1 want_root=$2 cur json part
        cur=$(boot_current)
        tool --json
        json=$TOOL_OUT
        part=$(jq -r '.booted.partuuid // ""' <<<"$json" 2>/dev/null | lower)
        check booted "BootCurrent=Boot$cur '$(boot_label "$cur")' $(boot_path "$cur"); the tool says $part ($(jq -r '.method // ""' <<<"$json" 2>/dev/null)), want disk $n" \
                [ "$part" = "$(esp_partuuid "$n")" ]
        check grub-root "/proc/cmdline: $(cat /proc/cmdline)" grep -q "drvm_grub_root=$want_root\( \|$\)" /proc/cmdline
}

grub_status() {
        tool --status
        STATUS_LINE=${TOOL_OUT%%$'\n'*}
}

run_case30_sync() {
        local u0 u1 new first
        u0=$(grub_uuid 0) u1=$(grub_uuid 1)
        systemctl stop dual-root-syncd.service 2>/dev/null
        grub_booted 0 hd0,gpt1
        # A copy that does not know GRUB: disk 1's stub and menu as disk 0's (the image is
        # built so; written again in case the daemon synced at boot).
        cp /efi0/EFI/debian/grub.cfg /efi1/EFI/debian/grub.cfg
        cp /efi0/grub/grub.cfg /efi1/grub/grub.cfg
        sync
        grub_status
        check critical-before "exit $TOOL_RC: $STATUS_LINE" \
                eval '[ "$TOOL_RC" = 2 ] && [[ $STATUS_LINE == *"/efi1 NO"* ]]'
        check names-the-stub "the stub's search names disk 0's ESP" \
                eval 'grep -q "CRITICAL loader: /efi1/EFI/debian/grub.cfg:1: search --fs-uuid $u0 finds /efi0, on the other disk" <<<"$TOOL_OUT"'

        tool -s
        check sync "exit $TOOL_RC" [ "$TOOL_RC" = 0 ]
        sed 's/^/  efi1 stub: /' /efi1/EFI/debian/grub.cfg | log
        check own-stub "disk 1's stub searches $u1" \
                eval 'grep -q "^search.fs_uuid $u1 root" /efi1/EFI/debian/grub.cfg && ! grep -qi "$u0" /efi1/EFI/debian/grub.cfg'
        check own-menu "disk 1's menu searches $u1 only" \
                eval 'grep -q -- "--set=root $u1" /efi1/grub/grub.cfg && ! grep -qi "$u0" /efi1/grub/grub.cfg'
        check booted-unchanged "disk 0's stub still searches $u0" grep -q "^search.fs_uuid $u0 root" /efi0/EFI/debian/grub.cfg
        grub_status
        check verdict-after "exit $TOOL_RC: $STATUS_LINE" eval '[[ $STATUS_LINE == *"/efi1 yes"* ]]'

        # Entries as grub-install writes them: shim on each disk.
        tool --fix-boot-entries
        check fix "exit $TOOL_RC" [ "$TOOL_RC" = 0 ]
        efibootmgr_refresh
        sed 's/^/  efibootmgr: /' "$WORK/efibootmgr" | log
        new=$(entry_of "dual-root-tool /efi1 (vdb)")
        check shim-entry "Boot$new: $(boot_path "$new")" \
                eval '[ -n "$new" ] && [[ $(lower <<<"$(boot_path "$new")") == *"$DRVM_ESP1_PARTUUID"*"/file(\\efi\\debian\\shimx64.efi)"* ]]'
        # First in BootOrder, as grub-install puts its entry (OVMF lists its shell before
        # entries appended later, and starts it when a disk is gone).
        first=$(entry_of "dual-root-tool /efi0 (vda)")
        if [ -n "$first" ] && [ -n "$new" ]; then
                efibootmgr -q -o "$(boot_order | tr ',' '\n' | grep -v -x -e "$first" -e "$new" |
                        { printf '%s\n%s\n' "$first" "$new"; cat; } | paste -sd,)"
                efibootmgr_refresh
        fi
        check boot-order "BootOrder $(boot_order)" eval '[[ $(boot_order) == "$first,$new,"* ]]'
        # A half-dead disk 0 for the next boot: its menu is gone.
        rm /efi0/grub/grub.cfg
        sync
        [ -n "$new" ] && efibootmgr -q -n "$new"
}

run_case30_damaged() {
        local u0
        u0=$(grub_uuid 0)
        grub_booted 1 hd1,gpt1
        check bootcurrent "Boot$(boot_current) '$(boot_label "$(boot_current)")'" \
                eval '[[ $(boot_label "$(boot_current)") == "dual-root-tool /efi1 "* ]]'
        # The daemon synced at boot, from disk 1 (booted) to disk 0: disk 0's menu is back,
        # naming disk 0's own ESP (swapping is its own inverse, DESIGN.md §5b W3).
        check repaired "/efi0/grub/grub.cfg back, searching $u0" \
                eval '[ -f /efi0/grub/grub.cfg ] && grep -q -- "--set=root $u0" /efi0/grub/grub.cfg && grep -q "^search.fs_uuid $u0 root" /efi0/EFI/debian/grub.cfg'
        grub_status
        check status "exit $TOOL_RC: $STATUS_LINE" eval '[[ $STATUS_LINE == *"/efi1 (booted) yes, /efi0 yes"* ]]'
}

run_case30_alone() {
        grub_booted 1 hd0,gpt1
        grub_status
        check alone "exit $TOOL_RC: $STATUS_LINE" eval '[[ $STATUS_LINE == *"/efi1 (booted) yes"* ]]'
        # -v: disk 1's chain link by link (DESIGN.md §11b L9), from its entry to the kernel
        local u1
        u1=$(grub_uuid 1)
        tool --status -v
        sed -n '/its boot chain/,$p' <<<"$TOOL_OUT" | sed 's/^/  chain: /' | log
        check chain-entry "-v: the entry starts shim on /efi1" \
                eval 'grep -qF "starts \\EFI\\debian\\shimx64.efi on /efi1" <<<"$TOOL_OUT"'
        check chain-shim "-v: shim, Secure Boot in the chain, starts GRUB" \
                eval 'grep -qF -- "-> /efi1/EFI/debian/shimx64.efi: shim (Secure Boot in the chain) starts EFI/debian/grubx64.efi beside it" <<<"$TOOL_OUT"'
        check chain-stub "-v: the stub's search finds disk 1's ESP" \
                eval 'grep -qF -- "-> /efi1/EFI/debian/grub.cfg:1: search --fs-uuid $u1 finds /efi1, of this disk: \$root" <<<"$TOOL_OUT"'
        check chain-kernel "-v: the default entry's kernel is read from disk 1" \
                eval 'grep -q -- "-> /efi1/grub/grub.cfg:[0-9]* (entry \"Debian GNU/Linux (dual-root VM test)\"): linux /vmlinuz-[^ ]*: on /efi1" <<<"$TOOL_OUT"'
}

# rEFInd, disk 0 missing: started from disk 1's fallback, booted the kernel its scan found
run_case31_alone() {
        local part
        check refind-cmdline "/proc/cmdline: $(cat /proc/cmdline)" grep -q "drvm_refind=1" /proc/cmdline
        tool --json
        part=$(jq -r '.booted.partuuid // ""' <<<"$TOOL_OUT" 2>/dev/null | lower)
        check booted "the tool says $part, want disk 1" [ "$part" = "$DRVM_ESP1_PARTUUID" ]
        grub_status
        # No entry: the fallback is rEFInd itself, which reads the refind.conf beside it
        # (DESIGN.md §11b L8); -v says so (L9).
        check refind-status "exit $TOOL_RC: $STATUS_LINE" \
                eval '[[ $STATUS_LINE == *"/efi1 (booted) yes"* ]] && grep -q "OK loader: rEFInd (EFI/BOOT/refind.conf): 1 entry, 1 complete on this disk" <<<"$TOOL_OUT"'
        tool --status -v
        sed -n '/its boot chain/,$p' <<<"$TOOL_OUT" | sed 's/^/  chain: /' | log
        check refind-chain "-v: the fallback, rEFInd's refind.conf beside it, the default kernel" \
                eval 'grep -qF "no boot entry: the firmware starts the removable-media fallback \\EFI\\BOOT\\BOOTX64.EFI on /efi1" <<<"$TOOL_OUT" &&
                        grep -qF -- "-> rEFInd reads /efi1/EFI/BOOT/refind.conf" <<<"$TOOL_OUT" &&
                        grep -q -- "-> the default entry \"vmlinuz-[^ ]* on /efi1\": kernel vmlinuz-.* refind_linux.conf.s first line: root=UUID=" <<<"$TOOL_OUT"'
}
