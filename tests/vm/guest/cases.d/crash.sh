# SPDX-License-Identifier: MIT
# Guest halves of the crash-safety cases (host halves: tests/vm/cases.d/crash.sh).

# esp_bootable DIR: DESIGN.md §5 rule 9 on a real ESP: a boot loader, at least one loader
# entry, every entry's linux/initrd present. Prints what is wrong.
esp_bootable() {
        local e k n=0
        [ -f "$1/EFI/BOOT/BOOTX64.EFI" ] || [ -f "$1/EFI/systemd/systemd-bootx64.efi" ] ||
                { echo "no boot loader"; return 1; }
        for e in "$1"/loader/entries/*.conf; do
                [ -f "$e" ] || continue
                n=$((n + 1))
                for k in $(awk '$1 == "linux" || $1 == "initrd" { print $2 }' "$e"); do
                        [ -s "$1$k" ] || { echo "${e#"$1"/} names $k, which is missing"; return 1; }
                done
        done
        [ "$n" -ge 1 ] || { echo "no loader entry"; return 1; }
}

# The update: the booted kernel and initrd under new names with a new entry (the default),
# the old entry and the files only it named removed, as a kernel upgrade does.
C6_ENTRY=drvm-new.conf

run_case6_cut() {
        local old linux initrd opts i
        expect_booted 0
        if ! has_feature sync; then
                skip power-cut "needs --sync"
                info "cut"
                return
        fi
        # One writer, the slow one below: the daemon the image starts at boot would sync the
        # update itself, at full speed.
        systemctl stop dual-root-syncd.service 2>/dev/null || true
        # A first sync, so disk 1 holds the old set, recorded.
        tool -s
        check first-sync "exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        old=$(cd /efi0/loader/entries && ls -- *.conf | head -n 1)
        linux=$(awk '$1 == "linux" { print $2 }' "/efi0/loader/entries/$old")
        initrd=$(awk '$1 == "initrd" { print $2 }' "/efi0/loader/entries/$old")
        opts=$(awk '$1 == "options" { $1 = ""; print substr($0, 2) }' "/efi0/loader/entries/$old")
        info "old entry $old: linux $linux, initrd $initrd"
        mkdir -p /efi0/drvm-new
        cp "/efi0$linux" /efi0/drvm-new/linux
        cp "/efi0$initrd" /efi0/drvm-new/initrd
        printf 'title drvm new kernel\nlinux /drvm-new/linux\ninitrd /drvm-new/initrd\noptions %s\n' "$opts" \
                >"/efi0/loader/entries/$C6_ENTRY"
        [ -f /efi0/loader/loader.conf ] && sed -i '/^default /d' /efi0/loader/loader.conf
        echo "default $C6_ENTRY" >>/efi0/loader/loader.conf
        rm -f "/efi0/loader/entries/$old" "/efi0$linux" "/efi0$initrd"
        sync -f /efi0
        # Write-back within about a second, so that the copy's partial work is on the disk
        # when the power goes. The tool copies the ESP itself (the default config; case 14
        # cuts an rsync copy): slowed by the test seam (64 KiB pieces, 40 ms after each:
        # about 9 s for the kernel and initrd), so that the cut falls inside the copy.
        sysctl -q -w vm.dirty_expire_centisecs=100 vm.dirty_writeback_centisecs=50
        rm -f /etc/dual-root/sync-daemon.conf
        DUAL_ROOT_TEST_COPY_DELAY_MS=40 dual-root-tool -s >"$WORK/cut.out" 2>&1 &
        # Cut once the copy has been writing to disk 1 for a while.
        for i in $(seq 1 60); do
                find /efi1 -name '.linux.*' -o -name '.initrd.*' | grep -q . && break
                sleep 1
        done
        sleep 4
        info "on /efi1 at the cut: $(find /efi1 -path '*drvm-new*' -o -name '*.~dr~' | paste -sd' ')"
        check mid-copy "the tool was copying the new kernel to disk 1 (its temporary files there)" \
                eval "find /efi1 -name '.linux.*' -o -name '.initrd.*' | grep -q ."
        info "cut"
        sleep 120
        fail power-cut "the power was not cut"
}

run_case6_alone() {
        local sel
        check disk0-absent "no device for $DRVM_ESP0_PARTUUID" [ ! -e "/dev/disk/by-partuuid/$DRVM_ESP0_PARTUUID" ]
        expect_booted 1
        sel=$(efivar_string "LoaderEntrySelected-$LOADER_GUID")
        info "disk 1 booted the entry '$sel'"
        check booted-old-or-new "booted the old set or the new one (entry '$sel')" eval '[ -n "$sel" ]'
        check alternate-bootable "disk 1's ESP after the cut: $(esp_bootable /efi1 || true)" esp_bootable /efi1
        info "record on disk 1: $(grep -E '^(intent|fingerprint)=' /efi1/.dual-root-state 2>/dev/null | paste -sd' ')"
}

run_case6_both() {
        local had_intent=0
        expect_booted 0
        if ! has_feature sync; then
                skip complete "needs --sync"
                return
        fi
        # The daemon the image starts at boot may complete it first: then its log says so.
        systemctl stop dual-root-syncd.service 2>/dev/null || true
        info "entries on disk 0: $(ls /efi0/loader/entries | paste -sd' '), on disk 1: $(ls /efi1/loader/entries | paste -sd' ')"
        daemon_log
        grep -q '^intent=' /efi1/.dual-root-state 2>/dev/null && had_intent=1
        info "disk 1's record holds an intent: $had_intent"
        rm -f /etc/dual-root/sync-daemon.conf
        tool -s
        check complete-exit "plain -s (no --force): exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        if [ "$had_intent" = 1 ]; then
                check complete-says "says it completed an interrupted sync" \
                        eval 'grep -q "completed an interrupted sync from $DRVM_ESP0_PARTUUID" <<<"$TOOL_OUT"'
        fi
        check complete-trees "ESP trees equal after the sync" esp_trees_equal /efi0 /efi1
        log <"$WORK/diff"
        check complete-bootable "disk 1's ESP: $(esp_bootable /efi1 || true)" esp_bootable /efi1
        # Disk 1 mirrors disk 0 as disk 0 came out of the cut: with the new entry if disk
        # 0 kept its own update (the power went while both were being written).
        if [ -f "/efi0/loader/entries/$C6_ENTRY" ]; then
                check complete-new-entry "disk 1 has the new entry" [ -f "/efi1/loader/entries/$C6_ENTRY" ]
        else
                info "disk 0 lost its own update in the power cut: both hold the old set"
        fi
}

run_case7() {
        local other dev0 p
        p=$DRVM_ESP0_PARTUUID
        # expect_booted's checks, but /efi0 may hold either partition: both carry disk 0's
        # PARTUUID, and udev's by-partuuid link names whichever it saw last (a coin flip).
        check efivarfs "$EFIVARS" mountpoint -q "$EFIVARS"
        check loader-partuuid "LoaderDevicePartUUID=$(loader_partuuid), want $p" \
                [ "$(loader_partuuid)" = "$p" ]
        check bootcurrent "BootCurrent=Boot$(boot_current) '$(boot_label "$(boot_current)")'" \
                eval '[ "$(boot_label "$(boot_current)")" = "$(esp_label 0)" ]'
        dev0=$(findmnt -n -o SOURCE /efi0)
        check efi0-mounted "/efi0 on ${dev0:-nothing}, a partition with PARTUUID $p" \
                eval '[ -n "$dev0" ] && [ "$(blkid -p -o value -s PART_ENTRY_UUID "$dev0" | lower)" = "$p" ]'
        # Both partitions carry disk 0's PARTUUID; the copy is mounted as the alternate.
        other=$(blkid -t "PARTUUID=$DRVM_ESP0_PARTUUID" -o device | grep -vx "$dev0" | head -n 1)
        check clone-present "a second partition with PARTUUID $DRVM_ESP0_PARTUUID: ${other:-none}" [ -n "$other" ]
        [ -n "$other" ] || return
        mountpoint -q /efi1 || mount "$other" /efi1
        echo "only on the booted one" >/efi0/drvm-clone-marker
        if ! has_feature sync; then
                skip clone-refused "needs --sync"
                return
        fi
        tool -s
        check clone-refused "-s: exit $TOOL_RC, want 1" [ "$TOOL_RC" = 1 ]
        check clone-names-both "names both partitions and the fix" \
                eval 'grep -q "is on 2 partitions" <<<"$TOOL_ERR" && grep -q "sgdisk -G" <<<"$TOOL_ERR"'
        check clone-not-synced "nothing copied onto the clone" [ ! -e /efi1/drvm-clone-marker ]
}
