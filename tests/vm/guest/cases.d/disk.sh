# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Guest half of case 12 (see tests/vm/cases.d/disk.sh).

ADD_TIMEOUT=${ADD_TIMEOUT:-900}

newdisk() { readlink -f /dev/disk/by-id/virtio-drvm-root; }
part() { case "$1" in *[0-9]) printf '%sp%s' "$1" "$2" ;; *) printf '%s%s' "$1" "$2" ;; esac; }
# layout DISK: partition number, start, sectors, type of each partition
layout() { partx -g -o NR,START,SECTORS,TYPE "$1" 2>/dev/null; }

run_case12_add() {
        local new good t0 secs rc pu1 pu2 line before after entry
        new=$(newdisk)
        good=$(readlink -f /dev/disk/by-id/virtio-drvm-esp1)
        expect_booted 1
        info "disks: $(lsblk -dn -o NAME,SIZE,SERIAL | tr '\n' ';')"
        btrfs filesystem show / 2>&1 | sed 's/^/  btrfs: /' | log
        check root-degraded "the btrfs root misses a device before the command" \
                eval 'btrfs filesystem show / 2>&1 | grep -q -i missing'

        # -t changes nothing
        before=$( { dd if="$new" bs=1M count=4 status=none; dd if="$new" bs=1M skip=2000 count=200 status=none; } | sha256sum)
        timeout "$ADD_TIMEOUT" dual-root-tool --add-disk "$new" -t >"$WORK/out" 2>"$WORK/err"
        rc=$?
        sed 's/^/  -t out: /' "$WORK/out" | log
        sed 's/^/  -t err: /' "$WORK/err" | log
        after=$( { dd if="$new" bs=1M count=4 status=none; dd if="$new" bs=1M skip=2000 count=200 status=none; } | sha256sum)
        check test-mode "--add-disk -t: exit $rc, shows the replace, the disk unchanged" \
                eval '[ "$rc" = 0 ] && grep -q "would run: btrfs replace start -B" "$WORK/out" && [ "$before" = "$after" ]'
        # the replacement takes the dead disk's place: -t names it and shows both fstab lines
        check test-mode-takes-efi0 "--add-disk -t: the new ESP goes to /efi0, the old and the new fstab line shown" \
                eval 'grep -q "the new ESP.s mount point: /efi0, the missing disk.s" "$WORK/out" &&
                      grep -qi "old: PARTUUID=$DRVM_ESP0_PARTUUID /efi0 vfat" "$WORK/out" &&
                      grep -q "new: PARTUUID=[0-9a-f-]* /efi0 vfat" "$WORK/out"'
        cp /etc/fstab "$WORK/fstab.before"

        t0=$(date +%s.%N)
        timeout "$ADD_TIMEOUT" dual-root-tool --add-disk "$new" >"$WORK/out" 2>"$WORK/err"
        rc=$?
        secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        sed 's/^/  out: /' "$WORK/out" | log
        sed 's/^/  err: /' "$WORK/err" | log
        info "--add-disk $new took ${secs}s (exit $rc)"
        awk '/^step [0-9]/ { s = $0 } /\((done|shown) in/ { gsub(/[()]/, ""); print s " " $0 }' "$WORK/out" |
                while read -r l; do info "  $l"; done
        check add-disk "--add-disk $new: exit $rc in ${secs}s" [ "$rc" = 0 ]

        check gpt "the new disk's partitions (number, start, sectors, type) are the good disk's" \
                eval '[ -n "$(layout "$new")" ] && [ "$(layout "$new")" = "$(layout "$good")" ]'
        pu1=$(blkid -p -o value -s PART_ENTRY_UUID "$(part "$new" 1)" | lower)
        pu2=$(blkid -p -o value -s PART_ENTRY_UUID "$(part "$new" 2)" | lower)
        check new-guids "new PARTUUIDs $pu1 $pu2" \
                eval '[ -n "$pu1" ] && [ "$pu1" != "$DRVM_ESP1_PARTUUID" ] && [ "$pu1" != "$DRVM_ESP0_PARTUUID" ]'
        check vfat "$(part "$new" 1) holds FAT32" \
                eval '[ "$(blkid -p -o value -s TYPE "$(part "$new" 1)")" = vfat ]'
        # the dead disk's line, in its place, with the new PARTUUID; the old fstab the backup
        line="PARTUUID=$pu1 /efi0 vfat umask=0077,nofail,x-systemd.device-timeout=30s,x-systemd.before=bind-mount-efi.service 0 2"
        grep -n . /etc/fstab | sed 's/^/  fstab: /' | log
        check fstab "the /efi0 line became: $line; the old fstab kept as the backup" \
                eval '[ "$(sed -n "s|^PARTUUID=[^ ]* /efi0 |X |p" /etc/fstab.dual-root.bak)" = "$(sed -n "s|^PARTUUID=[^ ]* /efi0 |X |p" /etc/fstab)" ] &&
                      grep -qx "$line" /etc/fstab && cmp -s /etc/fstab.dual-root.bak "$WORK/fstab.before" &&
                      [ "$(diff /etc/fstab.dual-root.bak /etc/fstab | grep -c "^[<>]")" = 2 ] &&
                      ! grep -q "/efi2" /etc/fstab && ! grep -qi "$DRVM_ESP0_PARTUUID" /etc/fstab'
        check efi0-mounted "/efi0 is the new ESP; nothing on /efi2" \
                eval '[ "$(mountpoint_dev /efi0)" = "$(dev_majmin "$(part "$new" 1)")" ] && [ ! -e /efi2 ]'
        check esp-content "/efi0 holds what /efi1 holds (random-seed and our record aside)" \
                diff -r -x .dual-root-state -x .dual-root-state.new -x random-seed /efi1 /efi0
        efibootmgr -v >"$WORK/efibootmgr.after" 2>&1
        sed 's/^/  efibootmgr after: /' "$WORK/efibootmgr.after" | log
        check boot-entry-path "an NVRAM entry names the new ESP $pu1" \
                grep -qi "$pu1" "$WORK/efibootmgr.after"
        # the next boot starts that very entry (BootNext): it must boot the new disk alone,
        # whatever stands before it in BootOrder (OVMF's own shell does)
        entry=$(grep -i "$pu1" "$WORK/efibootmgr.after" | sed -n 's/^Boot\([0-9A-Fa-f]\{4\}\).*/\1/p' | head -n 1)
        if [ -n "$entry" ]; then
                efibootmgr -q -n "$entry" 2>&1 | sed 's/^/  bootnext: /' | log
                echo "$entry" >/var/lib/drvm-case12-entry
                info "BootNext=$entry, the new disk's entry"
        fi
        btrfs filesystem show / 2>&1 | sed 's/^/  btrfs after: /' | log
        btrfs filesystem df / 2>&1 | sed 's/^/  btrfs df: /' | log
        check root-whole "the btrfs root misses nothing and has $(part "$new" 2)" \
                eval '! btrfs filesystem show / 2>&1 | grep -q -i missing && btrfs filesystem show / | grep -q "$(part "$new" 2)"'
        check root-raid1 "every chunk of the root is RAID1" \
                eval '! btrfs filesystem df / | grep -E "^(Data|Metadata|System)" | grep -qv RAID1'

        # the machine is whole again when the command ends
        tool --status
        check status-ok "--status after --add-disk: exit $TOOL_RC, $(head -n 1 <<<"$TOOL_OUT")" \
                eval '[ "$TOOL_RC" = 0 ] && [[ "$TOOL_OUT" == OK* ]]'

        # once more: every step finds its work done
        timeout "$ADD_TIMEOUT" dual-root-tool --add-disk "$new" >"$WORK/out" 2>"$WORK/err"
        rc=$?
        sed 's/^/  again: /' "$WORK/out" "$WORK/err" | log
        check idempotent "run again: exit $rc, nothing made twice" \
                eval '[ "$rc" = 0 ] && grep -q "kept: .* already has the booted disk" "$WORK/out" && ! grep -q "running: mkfs.vfat" "$WORK/out" && ! grep -q "running: btrfs replace" "$WORK/out"'
        sync
}

run_case12_alone() {
        local pu
        pu=$(sed -n 's|^PARTUUID=\([^ ]*\) /efi0 .*|\1|p' /etc/fstab | lower)
        info "disks: $(lsblk -dn -o NAME,SIZE,SERIAL | tr '\n' ';')"
        check booted-new "LoaderDevicePartUUID $(loader_partuuid) is the new ESP ${pu:-(no /efi0 line)}" \
                eval '[ -n "$pu" ] && [ "$(loader_partuuid)" = "$pu" ]'
        check booted-by-new-entry "BootCurrent $(boot_current) is the entry --add-disk made ($(cat /var/lib/drvm-case12-entry 2>/dev/null))" \
                eval '[ "$(boot_current)" = "$(cat /var/lib/drvm-case12-entry 2>/dev/null)" ]'
        check root-on-new "/ is mounted from $(findmnt -n -o SOURCE /)" \
                eval 'findmnt -n -o SOURCE / | grep -q "$(readlink -f /dev/disk/by-id/virtio-drvm-root)"'
        tool --json
        check tool-names-new "dual-root-tool names the booted ESP $(jq -r '.booted.partuuid // "none"' <<<"$TOOL_OUT" 2>/dev/null) on $(jq -r '.booted.esp_mount // "none"' <<<"$TOOL_OUT" 2>/dev/null)" \
                eval '[ "$TOOL_RC" = 0 ] && [ "$(jq -r ".booted.partuuid" <<<"$TOOL_OUT" | lower)" = "$pu" ] && [ "$(jq -r ".booted.esp_mount" <<<"$TOOL_OUT")" = /efi0 ]'
}
