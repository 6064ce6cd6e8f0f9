# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Guest half of case 13 (see tests/vm/cases.d/md.sh).

MD_ADD_TIMEOUT=${MD_ADD_TIMEOUT:-1200}

md13_root_array() { basename "$(readlink -f "$(findmnt -n -o SOURCE /)")"; }
md13_log_state() {
        local a=$1
        cat /proc/mdstat 2>&1 | sed 's/^/  mdstat: /' | log
        mdadm --detail "/dev/$a" 2>&1 | sed 's/^/  detail: /' | log
}

run_case13_healthy() {
        local a
        expect_booted 0
        a=$(md13_root_array)
        info "root on $a; disks: $(lsblk -dn -o NAME,SIZE,SERIAL | tr '\n' ';')"
        md13_log_state "$a"
        check root-on-md "/ is on an md array ($a)" eval '[ -d "/sys/block/$a/md" ]'
        tool -s -q
        tool --status
        check status-ok "--status exit $TOOL_RC" [ "$TOOL_RC" = 0 ]
        check status-md-ok "OK root: the root's $a: raid1, both members in sync" \
                eval 'grep -q "OK root: the root.s $a: raid1, [a-z-]*, 2 of 2 members in sync" <<<"$TOOL_OUT"'
        check status-each-disk "each ESP's disk assembles the root alone" \
                eval '[ "$(grep -c "OK root: the root.s $a assembles from vd[a-z] alone" <<<"$TOOL_OUT")" = 2 ]'
        check status-mdadm-conf "mdadm.conf assembles it by UUID" \
                eval 'grep -q "/etc/mdadm/mdadm.conf:[0-9]* assembles $a by UUID" <<<"$TOOL_OUT"'
        tool --status --json
        check json-root "--json: root.redundant true, 0 degraded members" \
                eval '[ "$(jq -c .root <<<"$TOOL_OUT")" = "{\"redundant\":true,\"degraded_members\":0}" ]'

        # An ESP mirrored on md (metadata 1.0, as anaconda and installimage make it): a real
        # raid1 of two loop files, FAT, mounted on /efi5 beside our ESPs: refused.
        truncate -s 64M /run/espm0.img /run/espm1.img
        l0=$(losetup --find --show /run/espm0.img)
        l1=$(losetup --find --show /run/espm1.img)
        if mdadm --create /dev/md/drvmesp --run --quiet --level=1 --metadata=1.0 --raid-devices=2 \
                "$l0" "$l1" 2>&1 | log && mkfs.vfat /dev/md/drvmesp >/dev/null 2>&1 &&
                mkdir -p /efi5 && mount /dev/md/drvmesp /efi5; then
                tool --status
                check esp-md-refused "an ESP on md RAID1 is refused, saying why and how to split it" \
                        eval '[ "$TOOL_RC" = 2 ] && grep -qE "CRITICAL( esp-set)?: the ESP mounted on /efi5 \(.*\) is on md RAID \(array md[0-9]*\): the firmware writes to one member alone" <<<"$TOOL_OUT" && grep -q "mdadm --zero-superblock" <<<"$TOOL_OUT"'
                tool -s
                check esp-md-no-sync "-s refuses too (exit $TOOL_RC)" \
                        eval '[ "$TOOL_RC" != 0 ] && grep -q "is on md RAID" <<<"$TOOL_ERR"'
                umount /efi5
                mdadm --stop /dev/md/drvmesp 2>&1 | log
        else
                fail esp-md-refused "could not make an ESP on md RAID1 in the guest"
        fi
        losetup -d "$l0" "$l1"
}

run_case13_add() {
        local a new t0 secs rc entry pu1
        new=$(readlink -f /dev/disk/by-id/virtio-drvm-root)
        a=$(md13_root_array)
        expect_booted 1
        info "root on $a; disks: $(lsblk -dn -o NAME,SIZE,SERIAL | tr '\n' ';')"
        md13_log_state "$a"
        tool --status
        check status-degraded "--status CRITICAL naming the missing member of $a" \
                eval '[ "$TOOL_RC" = 2 ] && grep -q "CRITICAL root: the root.s $a (raid1) is degraded: 1 of its 2 members missing: slot 0: no device" <<<"$TOOL_OUT"'

        tool --add-disk "$new" -t
        check add-disk-test "--add-disk -t names mdadm --add of the new disk's partition 2" \
                eval '[ "$TOOL_RC" = 0 ] && grep -q "would run: mdadm --manage /dev/$a --add" <<<"$TOOL_OUT"'

        t0=$(date +%s.%N)
        timeout "$MD_ADD_TIMEOUT" dual-root-tool --add-disk "$new" >"$WORK/out" 2>"$WORK/err"
        rc=$?
        secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        sed 's/^/  out: /' "$WORK/out" | log
        sed 's/^/  err: /' "$WORK/err" | log
        info "--add-disk $new took ${secs}s (exit $rc)"
        grep -E "recovery of|done: " "$WORK/out" | while read -r l; do info "  $l"; done
        check add-disk "--add-disk $new: exit $rc in ${secs}s" [ "$rc" = 0 ]
        check add-ran-mdadm "it ran mdadm --manage /dev/$a --add $(part "$new" 2)" \
                grep -q "running: mdadm --manage /dev/$a --add $(part "$new" 2)" "$WORK/out"
        md13_log_state "$a"
        check array-whole "$a has 2 of 2 members in sync" \
                eval '[ "$(cat /sys/block/$a/md/degraded)" = 0 ] && [ "$(cat /sys/block/$a/md/sync_action)" = idle ]'
        tool --status
        check status-new-alone "--status: the new disk assembles the root alone" \
                eval 'grep -q "OK root: the root.s $a assembles from $(basename "$new") alone" <<<"$TOOL_OUT"'
        check status-root-ok "--status: the array is whole again" \
                eval 'grep -q "OK root: the root.s $a: raid1, [a-z-]*, 2 of 2 members in sync" <<<"$TOOL_OUT"'
        # the initrd copies mdadm.conf: it assembles by UUID, so no update is needed
        efibootmgr -v >"$WORK/efibootmgr.after" 2>&1
        pu1=$(blkid -p -o value -s PART_ENTRY_UUID "$(part "$new" 1)" | lower)
        entry=$(grep -i "$pu1" "$WORK/efibootmgr.after" | sed -n 's/^Boot\([0-9A-Fa-f]\{4\}\).*/\1/p' | head -n 1)
        if [ -n "$entry" ]; then
                efibootmgr -q -n "$entry" 2>&1 | log
                echo "$entry" >/var/lib/drvm-case13-entry
                info "BootNext=$entry, the new disk's entry"
        fi
        check boot-entry "an NVRAM entry names the new ESP $pu1" [ -n "$entry" ]
        sync
}

run_case13_alone() {
        local a pu
        # the replacement took the missing disk's mount point and fstab line (DESIGN.md §12
        # rule 10): disk 0's /efi0
        pu=$(sed -n 's|^PARTUUID=\([^ ]*\)[[:space:]]\{1,\}/efi0[[:space:]].*|\1|p' /etc/fstab | lower)
        a=$(md13_root_array)
        info "root on $a; disks: $(lsblk -dn -o NAME,SIZE,SERIAL | tr '\n' ';')"
        md13_log_state "$a"
        check booted-new "LoaderDevicePartUUID $(loader_partuuid) is the new ESP ${pu:-(no /efi0 line)}" \
                eval '[ -n "$pu" ] && [ "$(loader_partuuid)" = "$pu" ]'
        check root-from-new "the root $a is assembled from the new disk's member alone" \
                eval '[ -d "/sys/block/$a/md" ] && ls /sys/block/$a/md | grep -q "^dev-$(basename "$(readlink -f /dev/disk/by-id/virtio-drvm-root)")"'
        tool --status
        check status-degraded-alone "--status: CRITICAL, $a degraded (the other disk is gone)" \
                eval '[ "$TOOL_RC" = 2 ] && grep -q "CRITICAL root: the root.s $a (raid1) is degraded" <<<"$TOOL_OUT"'
}
