# SPDX-License-Identifier: MIT
# Host halves of the crash-safety cases (DESIGN.md §5 rules 9 and 10, §3 D2); the guest
# halves are guest/cases.d/crash.sh. Sourced by tests/vm/run.

title[6]="power cut while a new kernel is mirrored to disk 1: disk 1 alone boots, then both back: the next sync completes it without --force"
title[7]="a cloned disk (same PARTUUIDs on both): detection refuses, naming both partitions, nothing synced"

# boot_cut STEP CASE VARS ESP0 ESP1 ROOT: boot() until the guest says "DRVM INFO STEP cut",
# then the power goes (qemu killed). The checks the guest reported before count.
boot_cut() {
        local step=$1 c=$2 p lines st name detail
        p=$work/$step
        cp "$3" "$p.fd"
        drvm_make_payload "$p.payload.img" "$step" "$work/tool" "$features"
        DRVM_CUT_MARKER="DRVM INFO $step cut" DRVM_DISK_CACHE=writeback \
                drvm_boot "$p" "$p.fd" "$4" "$5" "$6" "$p.payload.img" || true
        lines=$(drvm_results "$p.result")
        printf '  boot %-12s %6ss  (power cut at the guest'"'"'s marker)\n' "$step" "$DRVM_BOOT_SECONDS"
        record "BOOT $c $DRVM_BOOT_SECONDS $step (cut)"
        sed -n "/^DRVM INFO $step timing /d; s/^DRVM INFO $step /    info: /p" <<<"$lines"
        while read -r _ kind _ name st detail; do
                [ "$kind" = CHECK ] || continue
                printf '    %-4s %s: %s\n' "$st" "$step.$name" "$detail"
                record "CHECK $c $st"
        done <<<"$lines"
        if [ -z "${DRVM_BOOT_CUT:-}" ]; then
                printf '    FAIL %s.power-cut: the guest never reached its cut point: %s\n' "$step" \
                        "${DRVM_BOOT_FAILURE:-qemu exited first}"
                record "CHECK $c FAIL"
                show_log "$step" "$lines"
                return 1
        fi
        printf '    PASS %s.power-cut: qemu killed mid-copy\n' "$step"
        record "CHECK $c PASS"
}

case6() {
        local e0 e1 r
        e0=$(fresh c6.esp0 "$DRVM_ESP_DIR/esp0.img")
        e1=$(fresh c6.esp1 "$DRVM_ESP_DIR/esp1.img")
        r=$(fresh c6.root "$DRVM_ROOT_DIR/root.img")
        boot_cut case6-cut 6 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$r" || return 0
        # Disk 0 gone: the firmware falls back to disk 1, which must boot on its own.
        boot case6-alone 6 "$DRVM_VARS_DIR/esp0first.fd" - "$e1" "$r" || return 0
        # A power cut in the middle of writes leaves FAT inconsistent, and Linux turns such
        # a filesystem read-only when it meets the damage. systemd-fsck repairs it at boot
        # for an ESP whose fstab line has a fsck pass; the image skips fsck for speed, so
        # the host does what it would: fsck.vfat -a on disk 1's ESP.
        fsck_esp "$e1"
        boot case6-both 6 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$r"
}

# fsck_esp QCOW2: fsck.vfat -a on the ESP partition of the disk image (converted to raw
# and back: the image then stands alone, without its backing file).
fsck_esp() {
        local img=$1 raw=$work/fsck.raw loop out rc=0
        qemu-img convert -O raw "$img" "$raw"
        loop=$(losetup --find --show --offset $((2048 * 512)) \
                --sizelimit $((DRVM_ESP_MIB * 1024 * 1024)) "$raw")
        out=$(fsck.vfat -a -w "$loop" 2>&1) || rc=$?
        losetup -d "$loop"
        printf '    info: fsck.vfat -a on disk 1 after the cut: exit %s (%s)\n' "$rc" \
                "$(tail -n 3 <<<"$out" | paste -sd' ')"
        qemu-img convert -O qcow2 "$raw" "$img"
        rm -f "$raw"
}

case7() {
        # Disk 1 is a dd copy of disk 0: same disk GUID, PARTUUID and FAT serial.
        boot case7 7 "$DRVM_VARS_DIR/esp0first.fd" "$(fresh c7.esp0 "$DRVM_ESP_DIR/esp0.img")" \
                "$(fresh c7.esp1 "$DRVM_ESP_DIR/esp0.img")" "$(fresh c7.root "$DRVM_ROOT_DIR/root.img")"
}
