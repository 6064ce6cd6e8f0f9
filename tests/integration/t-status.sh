#!/bin/bash
# SPDX-License-Identifier: MIT
# --status: boot readiness per disk (DESIGN.md §11) and its monitoring exit codes (0 OK,
# 1 WARNING, 2 CRITICAL, 3 UNKNOWN): the ESP itself, the firmware's entries, the loader's
# entries, the sync, and the outputs (text, --json, --textfile).
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
# The ESPs here are ext4 stand-ins (this kernel cannot mount vfat).
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"

# A machine that can lose either disk: systemd-boot and one complete entry on the booted ESP,
# synced to the other; a Boot#### per ESP, both in BootOrder; /boot bound.
healthy() {
        reset_machine
        chmod 0755 "$R/efi0" "$R/efi1"
        rm -f "$R/etc/fstab"
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0"
        efivar bootentry 0002 "Linux Boot Manager (disk 1)" --hd 1 "$PU1"
        efivar bootorder 0001,0002
        find "$R/efi0" "$R/efi1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        loader_file efi 65536 "$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'timeout 3\ndefault debian-*\n' >"$R/efi0/loader/loader.conf"
        printf 'title Debian\nlinux /vmlinuz-6.1\ninitrd /initrd.img-6.1\noptions root=x\n' \
                >"$R/efi0/loader/entries/debian-6.1.conf"
        loader_file kernel 65536 "$R/efi0/vmlinuz-6.1"
        loader_file initrd 4096 "$R/efi0/initrd.img-6.1"
        run_tool -s -q
        expect_status 0
        run_tool -b -q
        expect_status 0
}

# both ESPs changed the same way, then synced again; every file then has one time on both,
# as a sync leaves them (the two writes may fall in two seconds, and the guard and --status
# compare times in seconds: the alternate would have "changed" by the clock alone)
on_both() {
        for e in efi0 efi1; do (cd "$R/$e" && eval "$1"); done
        find "$R/efi0" "$R/efi1" -mindepth 1 -exec touch -h -d @1700000000 {} +
}

status_ok_when_either_disk_boots() {
        healthy
        run_tool --status
        expect_status 0
        expect_stdout_has "OK: this machine can lose any disk; boots alone: /efi0 (booted) yes, /efi1 yes | 'bootable_esps'=2;;;0;2 'esps'=2;;;0 'last_sync_age'="
        expect_stdout_has "OK firmware: Boot0002 \"Linux Boot Manager (disk 1)\" starts \\EFI\\systemd\\systemd-bootx64.efi, number 2 in BootOrder"
        expect_stdout_has "OK loader: systemd-boot: 1 complete entry (0 unified kernel images), default \"debian-*\" is debian-6.1.conf"
        expect_stdout_has "OK sync: identical to the booted ESP /efi0; last synced"
        expect_stdout_has "OK esp: mounted read-write, ext4, GPT type not readable"
}

status_full_device_path_counts() {
        healthy
        efivar bootentry 0002 "Disk 1 (firmware)" --hd 1 "$PU1" --full-sata
        run_tool --status
        expect_status 0
        expect_stdout_has "OK firmware: Boot0002 \"Disk 1 (firmware)\" starts"
}

status_critical_without_entry_or_fallback() {
        healthy
        rm "$R/efivars/Boot0002-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: no boot entry names /efi1 (PARTUUID $PU1), and there is no fallback \\EFI\\BOOT\\BOOTX64.EFI: the firmware cannot start this disk; boots alone: /efi0 (booted) yes, /efi1 NO"
}

status_warns_with_the_fallback_only() {
        healthy
        on_both 'mkdir -p EFI/BOOT && cp EFI/systemd/systemd-bootx64.efi EFI/BOOT/BOOTX64.EFI'
        run_tool -s -q
        rm "$R/efivars/Boot0002-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING firmware: no boot entry names /efi1 (PARTUUID $PU1): only the removable-media fallback \\EFI\\BOOT\\BOOTX64.EFI can start it"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 yes"
}

status_warns_when_the_entry_is_not_in_boot_order() {
        healthy
        efivar bootorder 0001
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING firmware: Boot0002 \"Linux Boot Manager (disk 1)\" starts \\EFI\\systemd\\systemd-bootx64.efi on /efi1 but is not in BootOrder"
}

status_names_an_entry_whose_file_is_missing() {
        healthy
        efivar bootentry 0002 "Old loader" --hd 1 "$PU1" --file '\EFI\old\grubx64.efi'
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL firmware: no boot entry names /efi1 (PARTUUID $PU1) (Boot0002 \"Old loader\" names a file this ESP does not hold: \\EFI\\old\\grubx64.efi)"
}

status_an_inactive_entry_does_not_count() {
        healthy
        efivar bootentry 0002 "Linux Boot Manager (disk 1)" --hd 1 "$PU1" --inactive
        run_tool --status
        expect_status 2
        expect_stdout_has "(Boot0002 \"Linux Boot Manager (disk 1)\" is inactive: \\EFI\\systemd\\systemd-bootx64.efi)"
}

status_warns_about_shims_fallback() {
        healthy
        mkdir -p "$R/efi1/EFI/BOOT"
        echo fb >"$R/efi1/EFI/BOOT/fbx64.efi"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING firmware: /efi1 holds shim's fallback \\EFI\\BOOT\\fbx64.efi"
}

status_critical_when_an_initrd_is_missing_on_one_esp() {
        healthy
        rm "$R/efi1/initrd.img-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: entry debian-6.1.conf names /initrd.img-6.1, which /efi1 lacks; boots alone: /efi0 (booted) yes, /efi1 NO"
}

status_critical_when_the_booted_esp_lacks_a_kernel() {
        healthy
        rm "$R/efi0/vmlinuz-6.1" "$R/efi1/vmlinuz-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "boots alone: /efi0 (booted) NO, /efi1 NO"
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf names /vmlinuz-6.1, which /efi0 lacks"
}

status_understands_boot_counting() {
        healthy
        on_both 'mv loader/entries/debian-6.1.conf "loader/entries/debian-6.1+2-1.conf"'
        run_tool -s -q
        run_tool --status
        expect_status 0
        expect_stdout_has "default \"debian-*\" is debian-6.1.conf"
        on_both 'mv "loader/entries/debian-6.1+2-1.conf" "loader/entries/debian-6.1+0-3.conf"'
        run_tool -s -q
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING loader: every entry on /efi1 has used up its boot-counting tries (+0)"
}

status_warns_when_the_default_matches_nothing() {
        healthy
        on_both 'printf "default arch-*\n" >loader/loader.conf'
        run_tool -s -q
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING loader: loader/loader.conf:1: default \"arch-*\" matches no complete entry: systemd-boot boots the first entry instead"
}

status_counts_unified_kernel_images() {
        healthy
        on_both 'rm -r loader/entries && mkdir -p EFI/Linux && "$MKLOADERFILE" uki 131072 EFI/Linux/debian-6.1.efi && printf "default debian-6.1.efi\n" >loader/loader.conf'
        run_tool -s -q
        run_tool --status
        expect_status 0
        expect_stdout_has "systemd-boot: 1 complete entry (1 unified kernel image), default \"debian-6.1.efi\" is debian-6.1.efi"
}

status_critical_without_any_entry() {
        healthy
        on_both 'rm -r loader/entries'
        run_tool -s -q
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: systemd-boot on /efi1 has no entry to boot"
}

status_warns_about_a_malformed_entry() {
        healthy
        on_both 'printf "title x\nlinux\n" >loader/entries/broken.conf'
        run_tool -s -q
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING loader: entry broken.conf is skipped by systemd-boot: broken.conf:2: \"linux\" has no value"
}

# DESIGN.md §11 S8: every kind of file a loader starts, on the alternate, at 0 bytes and cut
# short: CRITICAL naming the disk, the entry (or boot entry) and the file; that disk does not
# boot alone. Each row: what to set up on both ESPs first (then synced), the file on /efi1, the
# length to cut it to, and the finding expected.
status_critical_for_each_empty_or_cut_loader_file() {
        local e1="$R/efi1" boot1="Boot0002 \"Linux Boot Manager (disk 1)\""
        while IFS='|' read -r setup file len want; do
                [ -n "$file" ] || continue
                healthy
                if [ -n "$setup" ]; then
                        on_both "$setup"
                        run_tool -s -q
                        expect_status 0
                        run_tool --status
                        expect_status 0
                fi
                truncate -s "$len" "$e1/$file"
                run_tool --status
                expect_status 2
                expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
                expect_stdout_has "$want"
                expect_stdout_lacks "OK: this machine can lose any disk"
        done <<EOF
|vmlinuz-6.1|0|CRITICAL loader: entry debian-6.1.conf names /vmlinuz-6.1, but /efi1/vmlinuz-6.1 is not a usable kernel: empty (0 bytes)
|vmlinuz-6.1|40000|CRITICAL loader: entry debian-6.1.conf names /vmlinuz-6.1, but /efi1/vmlinuz-6.1 is not a usable kernel: truncated: the PE section .text ends at byte 65536, the file has 40000
|vmlinuz-6.1|300|but /efi1/vmlinuz-6.1 is not a usable kernel: truncated: the PE header area (SizeOfHeaders) ends at byte 512, the file has 300
|initrd.img-6.1|0|CRITICAL loader: entry debian-6.1.conf names /initrd.img-6.1, but /efi1/initrd.img-6.1 is not a usable initrd: empty (0 bytes)
|EFI/systemd/systemd-bootx64.efi|0|CRITICAL firmware: no boot entry names /efi1 (PARTUUID $PU1) ($boot1 starts \\EFI\\systemd\\systemd-bootx64.efi, which is not a usable EFI program: empty (0 bytes)), and there is no fallback
|EFI/systemd/systemd-bootx64.efi|30000|($boot1 starts \\EFI\\systemd\\systemd-bootx64.efi, which is not a usable EFI program: truncated: the PE section .text ends at byte 65024, the file has 30000)
rm -r loader/entries && mkdir -p EFI/Linux && "\$MKLOADERFILE" uki 131072 EFI/Linux/debian-6.1.efi && echo "default debian-6.1.efi" >loader/loader.conf|EFI/Linux/debian-6.1.efi|0|CRITICAL loader: unified kernel image /efi1/EFI/Linux/debian-6.1.efi is not one systemd-boot can start: empty (0 bytes)
rm -r loader/entries && mkdir -p EFI/Linux && "\$MKLOADERFILE" uki 131072 EFI/Linux/debian-6.1.efi && echo "default debian-6.1.efi" >loader/loader.conf|EFI/Linux/debian-6.1.efi|100000|unified kernel image /efi1/EFI/Linux/debian-6.1.efi is not one systemd-boot can start: truncated: the PE section .initrd ends at byte 131072, the file has 100000
mkdir -p EFI/tools && "\$MKLOADERFILE" efi 16384 EFI/tools/memtest.efi && printf "title memtest\\nefi /EFI/tools/memtest.efi\\n" >loader/entries/memtest.conf|EFI/tools/memtest.efi|16000|CRITICAL loader: entry memtest.conf names /EFI/tools/memtest.efi, but /efi1/EFI/tools/memtest.efi is not a usable EFI program: truncated: the PE section .data ends at byte 16384, the file has 16000
"\$MKLOADERFILE" dtb 4096 board.dtb && echo "devicetree /board.dtb" >>loader/entries/debian-6.1.conf|board.dtb|0|CRITICAL loader: entry debian-6.1.conf names /board.dtb, but /efi1/board.dtb is not a usable devicetree: empty (0 bytes)
"\$MKLOADERFILE" dtb 4096 board.dtb && echo "devicetree /board.dtb" >>loader/entries/debian-6.1.conf|board.dtb|100|but /efi1/board.dtb is not a usable devicetree: truncated: the devicetree (its header's totalsize) ends at byte 4096, the file has 100
EOF
}

# With only the removable-media fallback to start the disk, that file is judged the same way.
status_critical_for_an_empty_or_cut_fallback() {
        for len in 0 60000; do
                healthy
                on_both 'mkdir -p EFI/BOOT && cp EFI/systemd/systemd-bootx64.efi EFI/BOOT/BOOTX64.EFI'
                run_tool -s -q
                rm "$R/efivars/Boot0002-8be4df61-93ca-11d2-aa0d-00e098032b8c"
                run_tool --status
                expect_status 1
                truncate -s "$len" "$R/efi1/EFI/BOOT/BOOTX64.EFI"
                run_tool --status
                expect_status 2
                expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
                if [ "$len" = 0 ]; then
                        expect_stdout_has "CRITICAL firmware: no boot entry names /efi1 (PARTUUID $PU1), and the fallback \\EFI\\BOOT\\BOOTX64.EFI is not a usable EFI program: empty (0 bytes): the firmware cannot start this disk"
                else
                        expect_stdout_has "and the fallback \\EFI\\BOOT\\BOOTX64.EFI is not a usable EFI program: truncated: the PE section .text ends at byte 65024, the file has 60000"
                fi
        done
}

# The first finding of issue 24.3: neither disk boots, and --status must not say OK.
status_critical_when_neither_disk_has_a_usable_kernel() {
        healthy
        : >"$R/efi0/vmlinuz-6.1"
        run_tool -s -q
        run_tool --status
        expect_status 2
        expect_stdout_has "boots alone: /efi0 (booted) NO, /efi1 NO"
        expect_stdout_has "but /efi0/vmlinuz-6.1 is not a usable kernel: empty (0 bytes)"
        expect_stdout_has "but /efi1/vmlinuz-6.1 is not a usable kernel: empty (0 bytes)"
        expect_stdout_lacks "can lose any disk"
}

status_warns_when_an_alternate_differs() {
        healthy
        echo new >"$R/efi0/vmlinuz-new"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING sync: /efi1 differs from the booted ESP /efi0: a sync is pending (last synced "
}

status_critical_when_an_alternate_is_missing() {
        healthy
        umount "$R/efi1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL esp: /efi1 is not mounted (disk missing or dead?): this machine cannot lose its other disk now; on a replacement disk run: dual-root-tool --add-disk DEVICE"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
}

status_names_the_fstab_esp_that_is_not_present() {
        healthy
        umount "$R/efi1"
        printf 'PARTUUID=%s /efi1 vfat nofail 0 2\n' "$PU1" >"$R/etc/fstab"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL esp: /efi1 is not mounted: fstab mounts PARTUUID=$PU1 there, which is not present (disk missing or replaced?)"
        expect_stdout_has "dual-root-tool --add-disk DEVICE"
}

info_names_the_fstab_esp_that_is_not_present() {
        healthy
        umount "$R/efi1"
        printf 'PARTUUID=%s /efi1 vfat nofail 0 2\n' "$PU1" >"$R/etc/fstab"
        run_tool
        expect_status 0
        expect_stdout_has "  /efi1: not mounted: fstab mounts PARTUUID=$PU1 there, which is not present (disk missing or replaced?); on a replacement disk run: dual-root-tool --add-disk DEVICE"
        run_tool --json
        expect_status 0
        expect_json '.alternates[0] | [.mount, (.mounted | tostring), .fstab_source] | join(",")' "/efi1,false,PARTUUID=$PU1"
}

status_critical_when_an_esp_is_not_fat() {
        healthy
        TOOL_ENV="" run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL esp: /efi1's filesystem is ext4, not vfat: the firmware reads only FAT"
}

status_warns_when_two_kernel_sets_do_not_fit() {
        healthy
        loader_file kernel 9437184 "$R/efi0/vmlinuz-6.1"
        loader_file initrd 5242880 "$R/efi0/initrd.img-6.1"
        run_tool -s -q
        run_tool --status
        expect_status 1
        expect_stdout_has "MiB two kernel sets need: the next kernel install may not fit"
}

status_warns_below_esp_min_free() {
        healthy
        printf 'esp_min_free = 1000\n' >"$CONF"
        run_tool --status
        expect_status 1
        expect_stdout_has "MiB free, less than the 1000 MiB two kernel sets need"
}

status_warns_when_an_esp_is_read_only() {
        healthy
        mount -o remount,ro "$R/efi1"
        run_tool --status
        mount -o remount,rw "$R/efi1"
        expect_status 1
        expect_stdout_has "WARNING esp: /efi1 is mounted read-only"
}

status_warns_when_boot_is_not_bound() {
        healthy
        umount "$R/boot"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING boot: /boot is not a mount point"
}

status_critical_when_boot_holds_another_esp() {
        healthy
        umount "$R/boot"
        mount "$DEV1" "$R/boot"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: /boot holds $DEV1, not the booted ESP $DEV0"
}

status_critical_when_the_booted_esp_is_not_mounted() {
        healthy
        umount "$R/boot"
        umount "$R/efi0"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: the booted ESP $DEV0 is not mounted on an ESP mount point"
}

status_unknown_when_the_booted_esp_is_unknown() {
        healthy
        efivars_clear
        run_tool --status
        expect_status 3
        expect_stdout_has "UNKNOWN: cannot identify the booted ESP"
}

status_unknown_on_a_config_error() {
        healthy
        printf 'nice = "high"\n' >"$CONF"
        run_tool --status
        expect_status 3
        expect_stdout_has "UNKNOWN: the configuration cannot be read: /etc/dual-root/sync-daemon.conf:1:"
}

status_json_has_an_object_per_esp() {
        healthy
        rm "$R/efi1/initrd.img-6.1"
        umount "$R/boot"
        run_tool --status --json
        expect_status 2
        expect_json .status CRITICAL
        expect_json .code 2
        expect_json .bootable_esps 1
        expect_json '[.esps[].mount] | join(",")' /efi0,/efi1
        expect_json '.esps[1] | [.device, .partuuid, .uuid, .bootable, .booted] | map(tostring) | join(",")' "$DEV1,$PU1,$FS1,false,false"
        expect_json '.esps[1].checks[] | select(.level == "CRITICAL") | .check + ": " + .text' "loader: entry debian-6.1.conf names /initrd.img-6.1, which /efi1 lacks"
        expect_json '.esps[1].last_sync_from' "$PU0"
        expect_json '.findings[] | select(.check == "boot") | .level' WARNING
}

status_writes_the_prometheus_textfile() {
        healthy
        mkdir -p "$R/var/lib/node_exporter"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        expect_status 0
        f="$R/var/lib/node_exporter/dual-root.prom"
        [ -f "$f" ] || fail "no textfile written"
        grep -qx 'dualroot_status 0' "$f" || fail "no 'dualroot_status 0' in $(cat "$f")"
        grep -qx 'dualroot_can_lose_any_disk 1' "$f" || fail "no dualroot_can_lose_any_disk 1"
        grep -qx "dualroot_esp_bootable{mountpoint=\"/efi1\",partuuid=\"$PU1\"} 1" "$f" || fail "no bootable series for /efi1"
        grep -qx '# TYPE dualroot_last_sync_timestamp_seconds gauge' "$f" || fail "no TYPE line"
        grep -qE "^dualroot_last_sync_timestamp_seconds\{mountpoint=\"/efi1\",partuuid=\"$PU1\"\} [0-9]{10}$" "$f" ||
                fail "no last sync timestamp for /efi1"
        grep -qx "dualroot_esp_check_status{mountpoint=\"/efi1\",partuuid=\"$PU1\",check=\"loader\"} 0" "$f" ||
                fail "no loader check series"
        grep -qx "dualroot_check_status{check=\"boot\"} 0" "$f" || fail "no /boot check series"
        grep -qx "dualroot_check_status{check=\"root\"} 0" "$f" || fail "no root check series"
        grep -qx "dualroot_build_info{version=\"$("$TOOL" --version | cut -d' ' -f2)\"} 1" "$f" || fail "no build_info"
        grep -qE "^dualroot_textfile_timestamp_seconds [0-9]{10}$" "$f" || fail "no textfile timestamp"
        grep -qx 'dualroot_status_info{status="OK",reason="this machine can lose any disk"} 1' "$f" || fail "no status_info"
        ! grep -q 'mount=' "$f" || fail "the old label mount= is still written"
        promtool_check "$f"
        [ "$(find "$R/var/lib/node_exporter" -mindepth 1 | wc -l)" = 1 ] || fail "temporary file left behind"
        [ "$(stat -c %a "$f")" = 644 ] || fail "textfile mode $(stat -c %a "$f"), expected 644"
        rm "$R/efi1/vmlinuz-6.1"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        expect_status 2
        grep -qx 'dualroot_status 2' "$f" || fail "textfile not replaced with status 2"
        grep -qx "dualroot_esp_bootable{mountpoint=\"/efi1\",partuuid=\"$PU1\"} 0" "$f" || fail "/efi1 still bootable"
        promtool_check "$f"
}

status_textfile_in_a_missing_directory_is_unknown() {
        healthy
        run_tool --status --textfile /nonexistent/dual-root.prom
        expect_status 3
        expect_stderr_has "cannot create a temporary file for /nonexistent/dual-root.prom: No such file or directory"
}

status_textfile_needs_status() {
        healthy
        run_tool --textfile /tmp/x.prom
        expect_status 2
        expect_stderr_has "--textfile only applies to --status"
}

status_warns_without_any_alternate() {
        healthy
        umount "$R/efi1"
        rmdir "$R/efi1"
        run_tool --status
        mkdir "$R/efi1"
        expect_status 1
        expect_stdout_has "WARNING: no alternate ESP (no other /efi<N> directory)"
}

status_reports_sync_list_destinations() {
        healthy
        mkdir -p "$R/srv/data" "$R/mnt/root1"
        echo x >"$R/srv/data/x"
        printf 'PARTUUID=0badc0de-0000-4000-8000-000000000000 /mnt/root1 ext4 defaults 0 2\n' >"$R/etc/fstab"
        printf 'sync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        run_tool --status
        expect_status 1
        expect_stdout_has "sync[0] /srv/data -> /mnt/root1/ would be skipped: '/mnt/root1' is not mounted"
        rm -f "$R/etc/fstab"
        mount -t tmpfs dest "$R/mnt/root1"
        run_tool --status
        expect_status 0
        expect_stdout_has "OK sync-list: sync[0] /srv/data -> /mnt/root1/: last sync unknown (no record of dual-root there)"
        # the guard's record, as guard.c writes it after a sync
        printf 'format=2\nfingerprint=0000000000000001\nsynced=2026-01-02T03:04:05Z\nsource=%s\n' "$PU0" \
                >"$R/mnt/root1/.dual-root-state"
        run_tool --status --json
        umount "$R/mnt/root1"
        expect_status 0
        expect_json '.sync_list[0].dest' /mnt/root1/
        expect_json '.sync_list[0].last_sync' "$(date -u -d 2026-01-02T03:04:05Z +%s)"
}

# promtool_check FILE: `promtool check metrics` accepts FILE (the exposition format and its
# naming conventions).
promtool_check() {
        local promtool out
        promtool=$("$SRCDIR/scripts/promtool") || fail "scripts/promtool found no promtool"
        out=$("$promtool" check metrics <"$1" 2>&1) || fail "promtool check metrics: $out"
}
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)

# as_nobody ARGS...: run_tool as a monitoring agent runs it: uid and gid 65534, no groups.
as_nobody() {
        set +e
        # shellcheck disable=SC2086 # TOOL_ENV is a list of words
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $TOOL_ENV \
                setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# ESPs as a vfat ESP mounted umask=0077 shows them, and LoaderDevicePartUUID readable by root
# only, as efivarfs makes it; BootCurrent (a UEFI global) stays readable.
root_only() {
        chmod 0700 "$R/efi0" "$R/efi1"
        chmod 0600 "$R/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
        efivar bootcurrent 0001
}

status_unprivileged_is_unknown_never_critical() {
        healthy
        root_only
        as_nobody --status
        expect_status 3
        head -n1 "$OUT" | grep -qF "UNKNOWN: boots alone: /efi0 (booted) unknown (cannot open /efi0: Permission denied (needs root)), /efi1 unknown (cannot open /efi1: Permission denied (needs root)) | 'bootable_esps'=0;;;0;2 'esps'=2;;;0" ||
                fail "first line: $(head -n1 "$OUT")"
        expect_stdout_lacks CRITICAL
        expect_stdout_lacks " NO"
        expect_stdout_lacks "would NOT boot alone"
        # what it could read is still reported
        expect_stdout_has "OK esp: mounted read-write, ext4"
        expect_stdout_has "OK boot: /boot holds the booted ESP $DEV0"
        expect_stdout_has "UNKNOWN loader: /efi1's loader and entries are not checked: cannot open it: Permission denied (needs root)"
        expect_stdout_has "UNKNOWN sync: not compared with the booted ESP: cannot open /efi1: Permission denied (needs root)"
        expect_once "UNKNOWN privileges: 5 checks could not look as uid 65534, not root (each names what it could not read); run dual-root-tool --status as root, e.g. through sudo (see dual-root-tool(8), Monitoring)"
        as_nobody --status --json
        expect_status 3
        expect_json '[.esps[].bootable] | map(tostring) | join(",")' null,null
        expect_json .can_lose_any_disk null
        expect_json '[.esps[1].checks[] | select(.needs_root) | .check] | join(",")' firmware,loader,sync
        # the same as root: nothing unknown
        run_tool --status
        expect_status 0
}

status_unprivileged_a_problem_found_still_wins() {
        healthy
        root_only
        umount "$R/boot"
        as_nobody --status
        expect_status 1
        head -n1 "$OUT" | grep -qF "WARNING: /boot is not a mount point: kernels installed now do not reach the booted ESP (is bind-mount-efi.service enabled?); boots alone: /efi0 (booted) unknown (" ||
                fail "first line: $(head -n1 "$OUT")"
        mount "$DEV1" "$R/boot"
        as_nobody --status
        expect_status 2
        head -n1 "$OUT" | grep -qF "CRITICAL: /boot holds $DEV1, not the booted ESP $DEV0" || fail "first line: $(head -n1 "$OUT")"
}

status_unprivileged_booted_esp_unknown_names_the_cure() {
        healthy
        root_only
        rm "$R/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        as_nobody --status
        expect_status 3
        expect_stdout_has "UNKNOWN: cannot identify the booted ESP: cannot read LoaderDevicePartUUID: Permission denied"
        expect_stdout_has "UNKNOWN privileges: 1 check could not look as uid 65534"
}

status_unprivileged_sync_list_tree_is_unknown() {
        healthy
        mkdir -p "$R/srv/data" "$R/mnt/root1"
        echo x >"$R/srv/data/x"
        mount -t tmpfs -o mode=0700 dest "$R/mnt/root1"
        printf 'sync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        as_nobody --status
        umount "$R/mnt/root1"
        expect_status 3
        expect_stdout_has "UNKNOWN sync-list: sync[0] /srv/data -> /mnt/root1/: not checked: cannot open /mnt/root1/: Permission denied (needs root)"
        expect_stdout_lacks "would be"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 yes"
}

status_unprivileged_textfile_says_unknown() {
        healthy
        root_only
        mkdir -p "$R/var/lib/node_exporter"
        chown 65534:65534 "$R/var/lib/node_exporter"
        f="$R/var/lib/node_exporter/dual-root.prom"
        as_nobody --status -q --textfile /var/lib/node_exporter/dual-root.prom
        expect_status 3
        [ ! -s "$OUT" ] || fail "-q: stdout not empty"
        grep -qx 'dualroot_status 3' "$f" || fail "no 'dualroot_status 3' in $(cat "$f")"
        ! grep -q '^dualroot_esp_bootable{' "$f" || fail "a bootable series for an ESP that could not be read"
        ! grep -q '^dualroot_can_lose_any_disk ' "$f" || fail "can_lose_any_disk although unknown"
        grep -qx "dualroot_esp_check_status{mountpoint=\"/efi1\",partuuid=\"$PU1\",check=\"loader\"} 3" "$f" || fail "no UNKNOWN loader series"
        grep -qx "dualroot_check_status{check=\"privileges\"} 3" "$f" || fail "no privileges series"
        promtool_check "$f"
}

# --- every outcome reaches the textfile and the JSON (issue 17.2) -------------------------
# Each failure path: a previous OK textfile, then the failure; the file must then say
# dualroot_status 3 with the reason, a fresh timestamp, and --json must be JSON with "error".
failure_config_typo() { printf 'sync_dealy = 10\n' >"$CONF"; REASON="sync_dealy"; }
failure_config_unreadable() {
        printf 'nice = 10\n' >"$CONF"
        chmod 0600 "$CONF"
        RUN=as_nobody
        REASON="Permission denied"
}
failure_config_missing() { ARGS="-c /etc/dual-root/missing.conf"; REASON="/etc/dual-root/missing.conf"; }
failure_config_insecure() { printf 'nice = 10\n' >"$CONF"; chmod 0664 "$CONF"; REASON="writable"; }
failure_no_efivars() { TOOL_ENV="$TOOL_ENV DUAL_ROOT_EFIVARS=/nonexistent"; REASON="cannot identify the booted ESP"; }
failure_unreadable_esp() { root_only; RUN=as_nobody; REASON="cannot open /efi0: Permission denied (needs root)"; }

status_no_failure_leaves_an_ok_in_place() {
        local failure
        mkdir -p "$R/var/lib/node_exporter"
        chown 65534:65534 "$R/var/lib/node_exporter"
        f="$R/var/lib/node_exporter/dual-root.prom"
        for failure in config_typo config_unreadable config_missing config_insecure no_efivars unreadable_esp; do
                healthy
                run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
                expect_status 0
                grep -qx 'dualroot_status 0' "$f" || fail "$failure: no OK to start from"
                chown 65534:65534 "$f"
                touch -d '2020-01-01' "$f"
                RUN=run_tool ARGS="" REASON="" TOOL_ENV_SAVED=$TOOL_ENV
                "failure_$failure"
                # shellcheck disable=SC2086 # ARGS is a list of words
                $RUN $ARGS --status --textfile /var/lib/node_exporter/dual-root.prom
                [ "$STATUS" = 3 ] || fail "$failure: exit status $STATUS, expected 3"
                grep -qx 'dualroot_status 3' "$f" || fail "$failure: the textfile still says: $(grep '^dualroot_status ' "$f")"
                grep -q "^dualroot_status_info{status=\"UNKNOWN\",reason=\".*$REASON" "$f" ||
                        fail "$failure: no reason '$REASON' in: $(grep '^dualroot_status_info' "$f")"
                [ "$(grep '^dualroot_textfile_timestamp_seconds ' "$f" | cut -d' ' -f2)" -ge "$(date -d '1 hour ago' +%s)" ] ||
                        fail "$failure: stale dualroot_textfile_timestamp_seconds"
                [ "$(stat -c %Y "$f")" -gt "$(date -d '2021-01-01' +%s)" ] || fail "$failure: the textfile was not replaced"
                grep -qx 'dualroot_build_info{version="'"$("$TOOL" --version | cut -d' ' -f2)"'"} 1' "$f" || fail "$failure: no build_info"
                promtool_check "$f"
                # shellcheck disable=SC2086
                $RUN $ARGS --status --json
                [ "$STATUS" = 3 ] || fail "$failure: --json exit status $STATUS, expected 3"
                expect_json .status UNKNOWN
                jq -e . "$OUT" >/dev/null 2>&1 || fail "$failure: --json did not print JSON"
                case $failure in
                config_* | mounts_*)
                        expect_json '.error | contains("the configuration cannot be read")' true
                        expect_once "the configuration cannot be read" ;;
                *) expect_json .error null ;;
                esac
                TOOL_ENV=$TOOL_ENV_SAVED
                rm -f "$CONF"
        done
}

status_config_error_said_once() {
        healthy
        printf 'nice = "high"\n' >"$CONF"
        run_tool --status
        expect_status 3
        expect_once "the configuration cannot be read"
        expect_stderr_empty
        run_tool --status -q
        expect_status 3
        [ ! -s "$OUT" ] || fail "-q: stdout not empty"
        expect_stderr_has "the configuration cannot be read: /etc/dual-root/sync-daemon.conf:1:"
        expect_once "the configuration cannot be read"
}

status_booted_esp_unknown_said_once_on_the_first_line() {
        healthy
        efivars_clear
        run_tool --status
        expect_status 3
        [ "$(head -n1 "$OUT" | grep -o 'cannot identify the booted ESP' | wc -l)" = 1 ] ||
                fail "first line repeats its reason: $(head -n1 "$OUT")"
        run_tool --status --json
        expect_status 3
        expect_json .can_lose_any_disk null
}

status_missing_disk_partuuid_from_fstab() {
        healthy
        umount "$R/efi1"
        printf 'PARTUUID=%s /efi1 vfat nofail 0 2\n' "$PU1" >"$R/etc/fstab"
        mkdir -p "$R/var/lib/node_exporter"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        expect_status 2
        expect_stdout_has "/efi1: no device, PARTUUID $PU1 (from fstab): would NOT boot alone"
        f="$R/var/lib/node_exporter/dual-root.prom"
        grep -qx "dualroot_esp_bootable{mountpoint=\"/efi1\",partuuid=\"$PU1\"} 0" "$f" || fail "no partuuid from fstab: $(grep bootable "$f")"
        ! grep -q 'partuuid=""' "$f" || fail "an empty partuuid label"
        rm "$R/etc/fstab"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        grep -qx "dualroot_esp_bootable{mountpoint=\"/efi1\"} 0" "$f" || fail "unknown partuuid not left out: $(grep bootable "$f")"
        promtool_check "$f"
}

status_sync_list_items_labelled_by_source_and_destination() {
        healthy
        mkdir -p "$R/srv/data" "$R/srv/web" "$R/mnt/root1" "$R/var/lib/node_exporter"
        echo x >"$R/srv/data/x"
        echo y >"$R/srv/web/y"
        mount -t tmpfs dest "$R/mnt/root1"
        mkdir "$R/mnt/root1/data"
        printf 'format=2\nfingerprint=0000000000000001\nsynced=2026-01-02T03:04:05Z\nsource=%s\n' "$PU0" \
                >"$R/mnt/root1/data/.dual-root-state"
        printf 'sync = [["/srv/web", "/mnt/root1/web"], ["/srv/data", "/mnt/root1/data"]]\n' >"$CONF"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        f="$R/var/lib/node_exporter/dual-root.prom"
        grep -qx 'dualroot_last_sync_timestamp_seconds{source="/srv/data",destination="/mnt/root1/data"} '"$(date -u -d 2026-01-02T03:04:05Z +%s)" "$f" ||
                fail "no item series: $(grep last_sync "$f")"
        grep -qx 'dualroot_check_status{check="sync-list",source="/srv/web",destination="/mnt/root1/web"} 1' "$f" ||
                fail "no item check series: $(grep check_status "$f")"
        cp "$f" "$W/before.prom"
        # reordered: the same series
        printf 'sync = [["/srv/data", "/mnt/root1/data"], ["/srv/web", "/mnt/root1/web"]]\n' >"$CONF"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        umount "$R/mnt/root1"
        diff <(grep -v '^dualroot_textfile_timestamp_seconds' "$W/before.prom" | grep '{source=\|source=' | sort) \
                <(grep -v '^dualroot_textfile_timestamp_seconds' "$f" | grep '{source=\|source=' | sort) >/dev/null ||
                fail "item series changed with the config's order"
        ! grep -q 'item="' "$f" || fail "an index label is still written"
        promtool_check "$f"
}

status_efi_mount_is_honoured() {
        healthy
        mkdir -p "$R/mnt/boot"
        run_tool --status /mnt/boot
        expect_status 1
        expect_stdout_has "WARNING boot: /mnt/boot is not a mount point"
        run_tool -s /mnt/boot
        expect_status 2
        expect_stderr_has "EFI_MOUNT '/mnt/boot' is where --bind mounts the booted ESP and what --status checks; --sync/--syncd does not use it"
        [ ! -s "$OUT" ] || fail "-s /mnt/boot did something: $(cat "$OUT")"
        run_tool -s -q /boot
        expect_status 0
}

status_missing_disk_warned_once_by_sync() {
        healthy
        umount "$R/efi1"
        run_tool -s
        expect_status 0
        expect_once "/efi1"
}

check_config_json_is_json() {
        healthy
        mkdir -p "$R/srv" "$R/mnt/root1/srv"
        printf 'rsync_timeout = 3600\nsync = [["/srv", "/mnt/root1/srv", ["x"]]]\n' >"$CONF"
        run_tool --check-config --json
        expect_status 0
        expect_json .valid true
        expect_json .values.rsync_timeout 3600
        expect_json '.values.sync[0].destinations[0]' /mnt/root1/srv
        expect_json .config /etc/dual-root/sync-daemon.conf
        run_tool --check-config
        expect_stdout_has "rsync_timeout: 1h0m"
        printf 'sync_dealy = 10\n' >"$CONF"
        run_tool --check-config --json
        expect_status 2
        expect_json .valid false
        expect_json '.errors[0] | contains("sync_dealy")' true
        expect_json .values null
        expect_stderr_empty
        # A config refused by the checks a sync makes (DESIGN.md §7 C7): JSON too.
        printf 'sync = [["/srv", "/mnt/root1/nowhere"]]\n' >"$CONF"
        run_tool --check-config --json
        expect_status 2
        expect_json .valid false
        expect_json '.errors[0] | contains("/mnt/root1/nowhere")' true
        expect_stderr_empty
        rm "$CONF"
        rm -r "$R/srv" "$R/mnt/root1/srv"
}

# --- golden outputs: the three forms of one report, compared whole (issue 18) -------------
# normalise FILE: what differs between runs replaced by names: loop devices, free space, ages,
# times, the version.
normalise() {
        sed -E -e "s#$DEV0([^0-9]|\$)#/dev/ESP0\1#g" -e "s#$DEV1([^0-9]|\$)#/dev/ESP1\1#g" \
                -e 's/[0-9]+ MiB free/N MiB free/g' \
                -e 's/[0-9]+ (s|min|h|days) ago/AGE ago/g' \
                -e "s/'last_sync_age'=[0-9]+s/'last_sync_age'=AGEs/" \
                -e 's/\b1[0-9]{9}\b/TIME/g' -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/ISOTIME/g' \
                -e "s/version=\"[^\"]*\"/version=\"VERSION\"/" "$1"
}

# expect_golden NAME FILE: FILE, normalised, equals tests/expected/NAME (DUAL_ROOT_UPDATE_EXPECTED=1
# rewrites it instead).
expect_golden() {
        local want="$SRCDIR/tests/expected/$1"
        normalise "$2" >"$W/golden.$1"
        if [ "${DUAL_ROOT_UPDATE_EXPECTED:-}" = 1 ]; then
                cp "$W/golden.$1" "$want"
                return 0
        fi
        diff -u "$want" "$W/golden.$1" >"$W/golden.diff" || fail "$1 differs from tests/expected/$1: $(cat "$W/golden.diff")"
}

status_golden_outputs() {
        healthy
        umount "$R/boot"
        rm "$R/efi1/initrd.img-6.1"
        mkdir -p "$R/srv/data" "$R/mnt/root1" "$R/var/lib/node_exporter"
        echo x >"$R/srv/data/x"
        mount -t tmpfs dest "$R/mnt/root1"
        printf 'format=2\nfingerprint=0000000000000001\nsynced=2026-01-02T03:04:05Z\nsource=%s\n' "$PU0" \
                >"$R/mnt/root1/.dual-root-state"
        printf 'sync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        expect_status 2
        expect_golden status.txt "$OUT"
        expect_golden status.prom "$R/var/lib/node_exporter/dual-root.prom"
        run_tool --status --json
        jq -S . "$OUT" >"$W/status.json" || fail "--json is not JSON"
        umount "$R/mnt/root1"
        expect_golden status.json "$W/status.json"
        # a config error, as every form says it
        printf 'sync_dealy = 10\n' >"$CONF"
        run_tool --status --textfile /var/lib/node_exporter/dual-root.prom
        expect_golden status-config-error.txt "$OUT"
        expect_golden status-config-error.prom "$R/var/lib/node_exporter/dual-root.prom"
        run_tool --status --json
        jq -S . "$OUT" >"$W/status.json" || fail "--json is not JSON"
        expect_golden status-config-error.json "$W/status.json"
        rm "$CONF"
}

# The monitoring examples (contrib/, installed as docs): the sudoers drop-in parses, the NRPE
# and Icinga 2 command lines are exactly what it allows, the alerting rules load.
contrib_examples_are_valid() {
        local c="$SRCDIR/contrib" allowed cmd out
        out=$(visudo -cf "$c/sudoers-dual-root-status" 2>&1) || fail "visudo: $out"
        allowed=$(sed -n 's/^nagios ALL=(root) NOPASSWD: //p' "$c/sudoers-dual-root-status")
        cmd=$(sed -n 's#^command\[check_dual_root\]=/usr/bin/sudo -n ##p' "$c/nrpe-dual-root.cfg")
        [ "$cmd" = "/usr/bin/dual-root-tool --status" ] || fail "NRPE command: '$cmd'"
        case ", $allowed," in *", $cmd,"*) ;; *) fail "sudoers does not allow '$cmd': $allowed" ;; esac
        grep -qF 'command = [ "/usr/bin/sudo", "-n", "/usr/bin/dual-root-tool", "--status" ]' "$c/icinga2-dual-root.conf" ||
                fail "Icinga 2 command is not the allowed one"
        out=$("$("$SRCDIR/scripts/promtool")" check rules "$c/prometheus-dual-root.rules.yml" 2>&1) ||
                fail "promtool check rules: $out"
        # each series the rules name is one the textfile has
        for m in $(grep -oE 'dualroot_[a-z_]+' "$c/prometheus-dual-root.rules.yml" | sort -u); do
                grep -q "^$m" "$SRCDIR/tests/expected/status.prom" || fail "the rules name $m, which --textfile does not write"
        done
}

status_quiet_prints_nothing() {
        healthy
        run_tool --status -q
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty"
}

run_case "OK when either disk boots alone" status_ok_when_either_disk_boots
run_case "a full-form device path names the ESP too" status_full_device_path_counts
run_case "CRITICAL without a boot entry or fallback for an ESP" status_critical_without_entry_or_fallback
run_case "WARNING with only the removable-media fallback" status_warns_with_the_fallback_only
run_case "WARNING when an ESP's entry is not in BootOrder" status_warns_when_the_entry_is_not_in_boot_order
run_case "an entry naming a file the ESP lacks is named" status_names_an_entry_whose_file_is_missing
run_case "an inactive entry does not count" status_an_inactive_entry_does_not_count
run_case "WARNING about shim's fbx64.efi in EFI/BOOT" status_warns_about_shims_fallback
run_case "CRITICAL when one ESP lacks an entry's initrd" status_critical_when_an_initrd_is_missing_on_one_esp
run_case "CRITICAL when the booted ESP lacks the kernel" status_critical_when_the_booted_esp_lacks_a_kernel
run_case "boot-counting names are understood" status_understands_boot_counting
run_case "WARNING when loader.conf's default matches nothing" status_warns_when_the_default_matches_nothing
run_case "unified kernel images count as entries" status_counts_unified_kernel_images
run_case "CRITICAL without any loader entry" status_critical_without_any_entry
run_case "WARNING about a malformed entry" status_warns_about_a_malformed_entry
run_case "CRITICAL for each loader file kind at 0 bytes and cut short" status_critical_for_each_empty_or_cut_loader_file
run_case "CRITICAL for an empty or cut fallback loader" status_critical_for_an_empty_or_cut_fallback
run_case "CRITICAL when neither disk has a usable kernel" status_critical_when_neither_disk_has_a_usable_kernel
run_case "WARNING when an alternate differs" status_warns_when_an_alternate_differs
run_case "CRITICAL when an alternate is missing" status_critical_when_an_alternate_is_missing
run_case "the ESP fstab names but that is not present, and --add-disk" status_names_the_fstab_esp_that_is_not_present
run_case "the info report names that ESP too" info_names_the_fstab_esp_that_is_not_present
run_case "CRITICAL when an ESP is not FAT" status_critical_when_an_esp_is_not_fat
run_case "WARNING when two kernel sets do not fit" status_warns_when_two_kernel_sets_do_not_fit
run_case "WARNING below esp_min_free" status_warns_below_esp_min_free
run_case "WARNING when an ESP is read-only" status_warns_when_an_esp_is_read_only
run_case "WARNING when /boot is not bound" status_warns_when_boot_is_not_bound
run_case "CRITICAL when /boot holds another ESP" status_critical_when_boot_holds_another_esp
run_case "CRITICAL when the booted ESP is not mounted" status_critical_when_the_booted_esp_is_not_mounted
run_case "UNKNOWN when the booted ESP cannot be identified" status_unknown_when_the_booted_esp_is_unknown
run_case "UNKNOWN on a config error" status_unknown_on_a_config_error
run_case "--json: an object per ESP with its checks" status_json_has_an_object_per_esp
run_case "--textfile: the Prometheus exposition, replaced atomically" status_writes_the_prometheus_textfile
run_case "--textfile in a missing directory: UNKNOWN, named" status_textfile_in_a_missing_directory_is_unknown
run_case "--textfile needs --status" status_textfile_needs_status
run_case "WARNING without any alternate ESP" status_warns_without_any_alternate
run_case "sync-list destinations: missing, never synced, last sync" status_reports_sync_list_destinations
run_case "-q: only the exit code" status_quiet_prints_nothing
run_case "as a user, an ESP it cannot read is UNKNOWN (why, the cure), never CRITICAL" status_unprivileged_is_unknown_never_critical
run_case "as a user, a problem found still wins over what could not be looked at" status_unprivileged_a_problem_found_still_wins
run_case "as a user, a booted ESP it cannot identify names the cure" status_unprivileged_booted_esp_unknown_names_the_cure
run_case "as a user, a sync-list tree it cannot read is UNKNOWN, not a refusal" status_unprivileged_sync_list_tree_is_unknown
run_case "as a user, the textfile says UNKNOWN, no bootable series" status_unprivileged_textfile_says_unknown
run_case "no failure path leaves a previous OK in the textfile; --json stays JSON" status_no_failure_leaves_an_ok_in_place
run_case "a config error is said once (stderr only with -q)" status_config_error_said_once
run_case "the UNKNOWN line says its reason once" status_booted_esp_unknown_said_once_on_the_first_line
run_case "a missing disk's partuuid label comes from fstab, never empty" status_missing_disk_partuuid_from_fstab
run_case "sync-list series labelled by source and destination, stable when reordered" status_sync_list_items_labelled_by_source_and_destination
run_case "EFI_MOUNT: --status checks it, -s refuses it" status_efi_mount_is_honoured
run_case "-s: a missing disk is said once" status_missing_disk_warned_once_by_sync
run_case "--check-config --json: JSON, errors as members" check_config_json_is_json
run_case "golden outputs: text, JSON, textfile (tests/expected/)" status_golden_outputs
run_case "monitoring examples: sudoers parses and allows the NRPE/Icinga command, rules load" contrib_examples_are_valid
finish
