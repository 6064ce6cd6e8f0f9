#!/bin/bash
# SPDX-License-Identifier: MIT
# --status on the manual's Table 1 layout (approach 2, DESIGN.md §11c): each disk a real GPT
# written by sgdisk (1 ESP EF00, 2 XBOOTLDR EA00, 3 root, 4 swap), the whole disk a read-only
# loop device (so its partition types are readable), each partition a loop device at its
# offset, told to be a partition of that disk by a fake sysfs (DUAL_ROOT_SYSFS: loop devices
# are no partitions). The booted disk's ESP on /efi and XBOOTLDR on /boot, the alternate's
# under /mnt/root1 (its root, then efi/ and boot/ on it). The kernels and entries live on the
# XBOOTLDRs, an ext4 that systemd-boot reads through EFI/systemd/drivers/ext4_x64.efi.
. "$(dirname "$0")/lib.sh"

make_root
CONF="$R/etc/dual-root/sync-daemon.conf"
TOOL_ENV="DUAL_ROOT_SYSFS=/fakesys DUAL_ROOT_ESP_FSTYPE=ext4"
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)

# Per disk N: ESP, XBOOTLDR, root and swap PARTUUIDs; XBOOTLDR and root filesystem UUIDs.
for n in 0 1; do
        eval "ESP$n=7ab1e000-000$n-4000-8000-00000000e5$n$n"
        eval "XPU$n=7ab1e000-000$n-4000-8000-00000000b0$n$n"
        eval "RPU$n=7ab1e000-000$n-4000-8000-00000000a0$n$n"
        eval "SPU$n=7ab1e000-000$n-4000-8000-0000000050$n$n"
        eval "XFS$n=7ab1e000-000$n-4000-8000-0000000f5b$n$n"
        eval "RFS$n=7ab1e000-000$n-4000-8000-0000000f5a$n$n"
        eval "EFS$n=7ab1e000-000$n-4000-8000-0000000f5e$n$n"
done

# The layout in sectors: ESP 16 MiB, XBOOTLDR 16 MiB, root 8 MiB, swap 4 MiB.
P1=2048 P2=34816 P3=67584 P4=83968
at() { # IMAGE START SECTORS -> a loop device over those bytes
        losetup --find --show --offset $(($2 * 512)) --sizelimit $(($3 * 512)) "$1"
}
for n in 0 1; do
        img="$W/dual-root-test-table1-$n.img"
        truncate -s 48M "$img"
        v=ESP$n esp=${!v} v=XPU$n xpu=${!v} v=RPU$n rpu=${!v} v=SPU$n spu=${!v}
        sgdisk -n "1:$P1:+16M" -t 1:ef00 -u "1:$esp" -c 1:esp \
                -n "2:$P2:+16M" -t 2:ea00 -u "2:$xpu" -c "2:boot$n" \
                -n "3:$P3:+8M" -t 3:8300 -u "3:$rpu" -c "3:root$n" \
                -n "4:$P4:+4M" -t 4:8200 -u "4:$spu" -c "4:swap$n" "$img" >/dev/null
        whole=$(losetup -r --find --show "$img")
        e=$(at "$img" $P1 32768)
        x=$(at "$img" $P2 32768)
        r=$(at "$img" $P3 16384)
        s=$(at "$img" $P4 8192)
        eval "WHOLE$n=$whole DEVE$n=$e DEVX$n=$x DEVR$n=$r DEVS$n=$s"
        eval "mkfs_esp $e \$EFS$n ESP$n"
        eval "mkfs.ext4 -q -F -U \$XFS$n -L boot$n $x"
        eval "mkfs.ext4 -q -F -U \$RFS$n -L root$n $r"
        mkswap -q "$s" >/dev/null
        for p in "$e:$esp" "$x:$xpu" "$r:$rpu" "$s:$spu"; do
                link_partuuid "${p#*:}" "${p%%:*}"
        done
        d=$(basename "$whole")
        fake_partition "$e" "$d" 1 $P1 32768
        fake_partition "$x" "$d" 2 $P2 32768
        fake_partition "$r" "$d" 3 $P3 16384
        fake_partition "$s" "$d" 4 $P4 8192
done
mkdir -p "$R/efi" "$R/mnt/root1"
mount "$DEVR1" "$R/mnt/root1"
mkdir -p "$R/mnt/root1/efi" "$R/mnt/root1/boot"

FSTAB="UUID=$RFS0 / ext4 errors=remount-ro 0 1
PARTUUID=$ESP0 /efi vfat umask=0077,nofail 0 2
PARTUUID=$XPU0 /boot ext4 defaults 0 2
UUID=$RFS1 /mnt/root1 ext4 nofail 0 2
PARTUUID=$ESP1 /mnt/root1/efi vfat umask=0077,nofail 0 2
PARTUUID=$XPU1 /mnt/root1/boot ext4 nofail 0 2"
CONFIG='esp_mounts = ["/efi", "/mnt/root1/efi"]
sync = [["/boot/", "/mnt/root1/boot/"]]'

# disk N's XBOOTLDR: its kernel, initrd and entry naming its own root (as swap_ids keeps it)
xbootldr_tree() { # DIR ROOT-UUID
        find "$1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        mkdir -p "$1/loader/entries"
        loader_file kernel 65536 "$1/vmlinuz-6.1"
        loader_file initrd 4096 "$1/initrd.img-6.1"
        printf 'title Debian\nlinux /vmlinuz-6.1\ninitrd /initrd.img-6.1\noptions root=UUID=%s rw\n' \
                "$2" >"$1/loader/entries/debian-6.1.conf"
}

table1() {
        efivars_clear
        for m in "$R/boot" "$R/efi" "$R/mnt/root1/boot" "$R/mnt/root1/efi"; do
                while mountpoint -q "$m"; do umount "$m"; done
        done
        mount "$DEVE0" "$R/efi"
        mount "$DEVX0" "$R/boot"
        mount "$DEVE1" "$R/mnt/root1/efi"
        mount "$DEVX1" "$R/mnt/root1/boot"
        chmod 0755 "$R/efi" "$R/mnt/root1/efi"
        for e in "$R/efi" "$R/mnt/root1/efi"; do
                find "$e" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
                mkdir -p "$e/EFI/systemd/drivers" "$e/loader"
                loader_file efi 65536 "$e/EFI/systemd/systemd-bootx64.efi"
                loader_file efi 16384 "$e/EFI/systemd/drivers/ext4_x64.efi"
                printf 'timeout 3\ndefault debian-*\n' >"$e/loader/loader.conf"
                touch -d '2026-01-01 00:00:00' "$e/loader/loader.conf" "$e/EFI/systemd/drivers/ext4_x64.efi" \
                        "$e/EFI/systemd/systemd-bootx64.efi"
        done
        xbootldr_tree "$R/boot" "$RFS0"
        xbootldr_tree "$R/mnt/root1/boot" "$RFS1"
        printf '%s\n' "$FSTAB" >"$R/etc/fstab"
        printf '%s\n' "$CONFIG" >"$CONF"
        booted_by_loader "$ESP0"
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$ESP0"
        efivar bootentry 0002 "Linux Boot Manager (disk 1)" --hd 1 "$ESP1"
        efivar bootorder 0001,0002
}

# the name --status gives disk N's XBOOTLDR
xname() { # N
        if [ "$1" = 0 ]; then m=/boot; else m=/mnt/root1/boot; fi
        eval "echo \"XBOOTLDR $m (\$DEVX$1, partition 2 of \$(basename \$WHOLE$1))\""
}

healthy_table1_is_ok() {
        table1
        run_tool --status
        expect_status 0
        expect_stdout_has "OK: this machine can lose any disk; boots alone: /efi (booted) yes, /mnt/root1/efi yes"
        expect_stdout_has "OK xbootldr: $(xname 0), ext4, PARTUUID $XPU0, in fstab: systemd-boot reads it through EFI/systemd/drivers/ext4_x64.efi"
        expect_stdout_has "OK xbootldr: $(xname 1), ext4, PARTUUID $XPU1, in fstab"
        [ "$(grep -cF 'OK loader: systemd-boot: 1 complete entry (0 unified kernel images, 1 on the XBOOTLDR), default "debian-*" is debian-6.1.conf' "$OUT")" = 2 ] ||
                fail "not both disks' loaders OK with their XBOOTLDR entry"
        expect_stdout_has "OK boot: /boot holds the booted disk's XBOOTLDR $DEVX0 (partition 2 of $(basename "$WHOLE0")) (approach 2)"
        expect_stdout_lacks "no entry to boot"
        expect_stdout_lacks "not the booted ESP"
}

alternate_boot_missing_a_kernel_is_critical() {
        table1
        rm "$R/mnt/root1/boot/vmlinuz-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 1) names /vmlinuz-6.1, which $(xname 1) lacks"
        expect_stdout_has "boots alone: /efi (booted) yes, /mnt/root1/efi NO"
        # a partial file: an initrd cut to nothing
        table1
        : >"$R/mnt/root1/boot/initrd.img-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 1) names /initrd.img-6.1, but $(xname 1)/initrd.img-6.1 is not a usable initrd"
        # the booted disk's too
        table1
        rm "$R/boot/initrd.img-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 0) names /initrd.img-6.1, which $(xname 0) lacks"
        expect_stdout_has "boots alone: /efi (booted) NO, /mnt/root1/efi yes"
}

xbootldr_not_in_fstab_or_not_mounted() {
        table1
        grep -v "/mnt/root1/boot" "$R/etc/fstab" >"$W/fstab" && cp "$W/fstab" "$R/etc/fstab"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING xbootldr: $(xname 1) is mounted on /mnt/root1/boot, but fstab does not mount it"
        expect_stdout_has "PARTUUID=$XPU1 with nofail"
        expect_stdout_has "OK xbootldr: $(xname 1), ext4, PARTUUID $XPU1: systemd-boot reads it through"
        expect_stdout_has "/mnt/root1/efi yes"
        # not mounted, fstab mounts it: its entries could not be looked at (never CRITICAL)
        table1
        umount "$R/mnt/root1/boot"
        run_tool --status
        expect_stdout_has "UNKNOWN xbootldr: XBOOTLDR (not mounted) ($DEVX1, partition 2 of $(basename "$WHOLE1")) is not mounted (fstab mounts it on /mnt/root1/boot): its entries are not checked"
        expect_stdout_has "UNKNOWN loader: systemd-boot on /mnt/root1/efi: no usable entry on the ESP; its disk's XBOOTLDR was not read"
        expect_stdout_has "/mnt/root1/efi unknown"
        expect_stdout_lacks "CRITICAL"
        [ "$STATUS" = 1 ] || [ "$STATUS" = 3 ] || fail "exit $STATUS, expected 1 (the sync list's destination is gone) or 3"
        # neither mounted nor in fstab
        cp "$W/fstab" "$R/etc/fstab"
        run_tool --status
        expect_stdout_has "WARNING xbootldr: XBOOTLDR (not mounted) ($DEVX1, partition 2 of $(basename "$WHOLE1")) is mounted nowhere and fstab does not mount it"
        expect_stdout_lacks "CRITICAL"
        expect_status 1
}

entry_on_xbootldr_naming_a_file_on_the_esp_is_critical() {
        table1
        mv "$R/mnt/root1/boot/vmlinuz-6.1" "$R/mnt/root1/efi/vmlinuz-6.1"
        cp -p "$R/mnt/root1/efi/vmlinuz-6.1" "$R/efi/vmlinuz-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 1) names /vmlinuz-6.1, which $(xname 1) lacks (/mnt/root1/efi has it, but systemd-boot reads an entry's files from the partition that holds the entry)"
        expect_stdout_has "/mnt/root1/efi NO"
}

missing_driver_for_ext4_xbootldr_is_critical() {
        table1
        rm "$R/mnt/root1/efi/EFI/systemd/drivers/ext4_x64.efi"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL xbootldr: systemd-boot on /mnt/root1/efi cannot read $(xname 1): it is ext4, the firmware reads FAT only, and /mnt/root1/efi/EFI/systemd/drivers/ext4_x64.efi is missing"
        expect_stdout_has "CRITICAL loader: systemd-boot on /mnt/root1/efi has no entry to boot"
        expect_stdout_has "boots alone: /efi (booted) yes, /mnt/root1/efi NO"
        # a driver that is no EFI program
        table1
        : >"$R/efi/EFI/systemd/drivers/ext4_x64.efi"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL xbootldr: systemd-boot on /efi cannot read $(xname 0) (ext4): /efi/EFI/systemd/drivers/ext4_x64.efi is not a usable EFI driver"
        expect_stdout_has "/efi (booted) NO"
}

entry_naming_the_other_disks_root_is_critical() {
        table1
        # what a sync without swap_ids leaves: disk 0's entry on disk 1
        sed -i "s/$RFS1/$RFS0/" "$R/mnt/root1/boot/loader/entries/debian-6.1.conf"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 1) names as its root UUID=$RFS0, which is $DEVR0 (partition 3 of $(basename "$WHOLE0")) on another disk: booted alone, this disk stops in the initramfs"
        expect_stdout_has "boots alone: /efi (booted) yes, /mnt/root1/efi NO"
        # the other forms: quoted, PARTUUID=, LABEL=; and an entry on the ESP too
        for form in "root=\"UUID=$RFS1\"" "root=PARTUUID=$RPU1" "root=LABEL=root1"; do
                table1
                sed -i "s/^options .*/options $form rw/" "$R/boot/loader/entries/debian-6.1.conf"
                run_tool --status
                expect_status 2
                expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 0) names as its root"
                expect_stdout_has "$DEVR1 (partition 3 of $(basename "$WHOLE1")) on another disk"
        done
        table1
        mkdir -p "$R/mnt/root1/efi/loader/entries"
        printf 'title ESP entry\nlinux /vmlinuz\noptions root=UUID=%s\n' "$RFS0" >"$R/mnt/root1/efi/loader/entries/esp.conf"
        loader_file kernel 65536 "$R/mnt/root1/efi/vmlinuz"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry esp.conf names as its root UUID=$RFS0, which is $DEVR0"
}

dualroot_false_still_judges_the_esps() {
        table1
        printf 'dualroot = false\n%s\n' "$CONFIG" >"$CONF"
        run_tool --status
        expect_status 0
        expect_stdout_has "boots alone: /efi (booted) yes, /mnt/root1/efi yes"
        expect_stdout_lacks "sync: identical"
        rm "$R/mnt/root1/boot/vmlinuz-6.1"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry debian-6.1.conf on $(xname 1) names /vmlinuz-6.1, which $(xname 1) lacks"
}

boot_is_judged_per_approach() {
        table1
        umount "$R/boot"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING boot: /boot is not a mount point, but the booted disk has the XBOOTLDR $DEVX0 (partition 2 of $(basename "$WHOLE0")): kernels installed now land on the root"
        mount --bind "$R/mnt/root1/boot" "$R/boot"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL boot: /boot holds $DEVX1, the XBOOTLDR of disk $(basename "$WHOLE1"), not the booted disk's"
        umount "$R/boot"
        mount "$DEVE0" "$R/boot"
        run_tool --status
        expect_stdout_has "OK boot: /boot holds the booted ESP $DEVE0"
}

partition_table_unreadable_is_unknown() {
        table1
        set +e
        # shellcheck disable=SC2086
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $TOOL_ENV \
                setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" --status >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        expect_stdout_has "OK xbootldr: an XBOOTLDR partition was not looked for: cannot read $WHOLE0's partition table: Permission denied (needs root)"
        expect_stdout_has "UNKNOWN loader: systemd-boot on /efi: no usable entry on the ESP; its disk's XBOOTLDR was not read: cannot read $WHOLE0's partition table: Permission denied (needs root)"
        expect_stdout_has "UNKNOWN boot: /boot holds $DEVX0, not the booted ESP $DEVE0; whether it is the booted disk's XBOOTLDR is not known: cannot read $WHOLE0's partition table: Permission denied (needs root)"
        expect_stdout_lacks "CRITICAL"
        expect_status 3
}

json_and_textfile_carry_the_xbootldr() {
        table1
        run_tool --status --json
        expect_status 0
        expect_json '.esps[1].xbootldr.mount' /mnt/root1/boot
        expect_json '.esps[1].xbootldr.partno' 2
        expect_json '.esps[1].xbootldr.partuuid' "$XPU1"
        expect_json '.esps[1].xbootldr.fstype' ext4
        expect_json '.esps[1].xbootldr.device' "$DEVX1"
        expect_json '.esps[0].disk' "$(basename "$WHOLE0")"
        expect_json '[.esps[].checks[] | select(.check == "xbootldr") | .level] | join(",")' OK,OK
        mkdir -p "$R/var/lib/node_exporter"
        umount "$R/mnt/root1/boot"
        run_tool --status --textfile /var/lib/node_exporter/dualroot.prom -q
        f="$R/var/lib/node_exporter/dualroot.prom"
        has_line "$f" "dualroot_xbootldr_mounted{mountpoint=\"/efi\",partuuid=\"$ESP0\",xbootldr_partuuid=\"$XPU0\"} 1" ||
                fail "textfile lacks disk 0's XBOOTLDR: $(cat "$f")"
        has_line "$f" "dualroot_xbootldr_mounted{mountpoint=\"/mnt/root1/efi\",partuuid=\"$ESP1\",xbootldr_partuuid=\"$XPU1\"} 0" ||
                fail "textfile lacks disk 1's XBOOTLDR: $(cat "$f")"
        has_line "$f" "dualroot_esp_check_status{mountpoint=\"/mnt/root1/efi\",partuuid=\"$ESP1\",check=\"xbootldr\"} 3" ||
                fail "textfile lacks disk 1's xbootldr check: $(cat "$f")"
        promtool=$("$SRCDIR/scripts/promtool") || fail "scripts/promtool found no promtool"
        out=$("$promtool" check metrics <"$f" 2>&1) || fail "promtool check metrics: $out"
}

fat_xbootldr_needs_no_driver() {
        command -v mkfs.vfat >/dev/null || { echo "# no mkfs.vfat: skipped"; return 0; }
        table1
        umount "$R/mnt/root1/boot"
        mkfs.vfat -i 7ab1b001 "$DEVX1" >/dev/null
        rm "$R/mnt/root1/efi/EFI/systemd/drivers/ext4_x64.efi"
        run_tool --status
        # this kernel cannot mount FAT: not mounted, but never "cannot read" for want of a driver
        expect_stdout_lacks "cannot read XBOOTLDR"
        expect_stdout_has "UNKNOWN xbootldr: XBOOTLDR (not mounted) ($DEVX1, partition 2 of $(basename "$WHOLE1")) is not mounted (fstab mounts it on /mnt/root1/boot)"
        expect_stdout_lacks "CRITICAL"
        mkfs.ext4 -q -F -U "$XFS1" -L boot1 "$DEVX1"
}

run_case "healthy Table 1 machine: OK, entries read from each disk's XBOOTLDR" healthy_table1_is_ok
run_case "a kernel or initrd missing or cut on an XBOOTLDR: CRITICAL naming it" alternate_boot_missing_a_kernel_is_critical
run_case "XBOOTLDR missing from fstab: WARNING; not mounted: UNKNOWN, never CRITICAL" xbootldr_not_in_fstab_or_not_mounted
run_case "an XBOOTLDR entry naming a file only on the ESP: CRITICAL" entry_on_xbootldr_naming_a_file_on_the_esp_is_critical
run_case "no ext4 driver on the ESP for its XBOOTLDR: CRITICAL naming it" missing_driver_for_ext4_xbootldr_is_critical
run_case "an entry naming the other disk's root: CRITICAL" entry_naming_the_other_disks_root_is_critical
run_case "dualroot = false still judges the ESPs of esp_mounts" dualroot_false_still_judges_the_esps
run_case "/boot judged per approach" boot_is_judged_per_approach
run_case "the disk's partition table unreadable (a user): UNKNOWN, never CRITICAL" partition_table_unreadable_is_unknown
run_case "JSON and the textfile carry each disk's XBOOTLDR" json_and_textfile_carry_the_xbootldr
run_case "a FAT XBOOTLDR needs no driver" fat_xbootldr_needs_no_driver
finish
