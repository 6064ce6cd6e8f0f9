# SPDX-License-Identifier: MIT
# Case 14, approach 2 on the original manual's Table 1 (ESP on /efi, XBOOTLDR on /boot,
# own root, swap on each disk), host half; the guest half is guest/cases.d/xbl.sh.
# Sourced by tests/vm/run.
#
# Its own disk 0, derived from the cached image and cached in $DRVM_CACHE/xbl-KEY (see
# guest/xbl-layout): the approach-1 ESP partition without kernel and entry, with rEFInd's
# ext4 driver (Debian's refind package, fetched by cases.d/loaders.sh's loader_debs_dir);
# an ext4 XBOOTLDR partition made with mkfs.ext4 -d from the cached kernel and initrd; the
# cached root.img with its own UUID, label and fstab; a swap partition. Disk 1 is a blank
# disk of the same size, made per run. The third disk slot holds an empty disk: nothing of
# this machine is outside its two disks.

title[14]="approach 2 per Table 1 (ESP, ext4 XBOOTLDR on /boot, root, swap): --add-disk on the running one-disk machine; disk 1 alone boots its own root; a kernel update mirrored, a power cut in the next one's mirror, disk 1 still boots alone"

. "$DRVM_DIR/guest/xbl-layout"

# xbl_fstab: disk 0's fstab, a one-disk machine as a distribution installs it (by UUID)
xbl_fstab() {
        local opt="nofail,x-systemd.device-timeout=30s"
        cat <<EOF
# dual-root VM test guest, approach 2 (Table 1), disk 0 alone
UUID=$XBL_ROOT0_UUID / ext4 rw,errors=remount-ro 0 1
UUID=$(printf '%s-%s' "${DRVM_ESP0_VOLID:0:4}" "${DRVM_ESP0_VOLID:4:4}") /efi vfat umask=0077,$opt 0 2
UUID=$XBL_BOOT0_UUID /boot ext4 $opt 0 2
UUID=$XBL_SWAP0_UUID none swap sw,$opt 0 0
EOF
}

# xbl_entry KVER: the loader entry on the XBOOTLDR partition, naming disk 0's root
xbl_entry() {
        cat <<EOF
title   Debian $1 (XBOOTLDR)
version $1
linux   /vmlinuz-$1
initrd  /initrd.img-$1
options ${DRVM_CMDLINE/root=UUID=$DRVM_ROOT_UUID/root=UUID=$XBL_ROOT0_UUID} $XBL_MARK=$1
EOF
}

# xbl_build_disk WORK DRIVERDIR TOOLSDIR: WORK/disk0.img
xbl_build_disk() {
        local w=$1 x=$2 t=$3 f kver disk=$1/disk0.img esp=$1/esp.part boot=$1/boot.part root=$1/root.img
        local swap=$1/swap.part n start
        kver=$(cat "$DRVM_ROOT_DIR/kver")
        export MTOOLS_SKIP_CHECK=1

        # ESP: systemd-boot, loader.conf (a 1 s menu, so that the console shows the entries
        # it found), the ext4 driver; no kernel, no entry: those are on the XBOOTLDR.
        dd if="$DRVM_ESP_DIR/esp0.img" of="$esp" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        mdel -i "$esp" "::/vmlinuz-$kver" "::/initrd.img-$kver" ::/loader/entries/debian.conf
        printf 'timeout 1\neditor no\n' >"$w/loader.conf"
        mcopy -o -i "$esp" "$w/loader.conf" ::/loader/loader.conf
        mmd -i "$esp" ::/EFI/systemd/drivers
        mcopy -i "$esp" "$x/usr/share/refind/refind/drivers_x64/$XBL_DRIVER" "::/EFI/systemd/drivers/$XBL_DRIVER"

        # XBOOTLDR: kernel, initrd, the entry. Written through a mount (in a private mount
        # namespace, the loop device detached with the unmount), not with mkfs.ext4 -d or
        # debugfs: those leave every all-zero block of a file a hole, and rEFInd's ext4 driver
        # maps no hole in an extent-mapped file (systemd-boot: "Error loading
        # \vmlinuz-...: Not Found"). A kernel package writes its files whole.
        xbl_entry "$kver" >"$w/entry"
        mkfs.ext4 -q -F -L "$XBL_BOOT0_LABEL" -U "$XBL_BOOT0_UUID" "$boot" "${XBL_BOOT_MIB}M" >/dev/null ||
                drvm_die "mkfs.ext4 of the XBOOTLDR partition failed"
        mkdir "$w/mnt"
        unshare --mount --propagation private -- sh -ec '
                mount -o loop "$1" "$2"
                mkdir -p "$2/loader/entries"
                cp --sparse=never "$3" "$4" "$2/"
                cp "$5" "$2/loader/entries/debian-$6.conf"
                umount "$2"' sh "$boot" "$w/mnt" "$DRVM_ROOT_DIR/vmlinuz-$kver" \
                "$DRVM_ROOT_DIR/initrd.img-$kver" "$w/entry" "$kver" ||
                drvm_die "cannot fill the XBOOTLDR partition"
        debugfs -R "cat /vmlinuz-$kver" "$boot" 2>/dev/null | cmp -s - "$DRVM_ROOT_DIR/vmlinuz-$kver" ||
                drvm_die "the XBOOTLDR partition does not hold the kernel"

        # root: its own UUID, label and fstab; /efi and /boot its mount points; no /efiN (a
        # stock machine has none, and they would be approach 1's ESP set); mkfs.vfat, which
        # --add-disk runs, and sgdisk (the manual's steps) from Debian's dosfstools and gdisk
        # (binaries only, written in with debugfs: the image is never mounted here)
        cp --sparse=always "$DRVM_ROOT_DIR/root.img" "$root"
        e2fsck -fy "$root" >/dev/null 2>&1 || true
        tune2fs -U "$XBL_ROOT0_UUID" -L "$XBL_ROOT0_LABEL" "$root" >/dev/null || drvm_die "tune2fs failed on the root"
        xbl_fstab >"$w/fstab"
        # systemd-boot's menu, which OVMF draws on every serial port, leaves the result port
        # (ttyS1) in mid-line: a line break before the case script's first line
        printf '[Service]\nExecStartPre=/bin/sh -c "echo >/dev/ttyS1"\n' >"$w/vmtest-newline.conf"
        debugfs -w -f - "$root" >"$w/debugfs.log" 2>&1 <<EOF
rm /etc/fstab
write $w/fstab /etc/fstab
mkdir /efi
rmdir /efi0
rmdir /efi1
mkdir /etc/systemd/system/dual-root-vmtest.service.d
write $w/vmtest-newline.conf /etc/systemd/system/dual-root-vmtest.service.d/xbl-newline.conf
$(for f in mkfs.fat fsck.fat fatlabel sgdisk; do printf 'write %s /usr/sbin/%s\nsif /usr/sbin/%s mode 0100755\n' "$t/sbin/$f" "$f" "$f"; done)
symlink /usr/sbin/mkfs.vfat mkfs.fat
symlink /usr/sbin/fsck.vfat fsck.fat
EOF
        debugfs -R 'cat /etc/fstab' "$root" 2>/dev/null | cmp -s - "$w/fstab" ||
                { cat "$w/debugfs.log" >&2; drvm_die "cannot write the root's fstab"; }
        debugfs -R 'cat /etc/systemd/system/dual-root-vmtest.service.d/xbl-newline.conf' "$root" 2>/dev/null |
                cmp -s - "$w/vmtest-newline.conf" || { cat "$w/debugfs.log" >&2; drvm_die "cannot write the vmtest drop-in"; }
        for f in mkfs.fat sgdisk; do
                debugfs -R "cat /usr/sbin/$f" "$root" 2>/dev/null | cmp -s - "$t/sbin/$f" ||
                        { cat "$w/debugfs.log" >&2; drvm_die "cannot write /usr/sbin/$f into the root"; }
        done

        truncate -s "${XBL_SWAP_MIB}M" "$swap"
        mkswap -q -L "$XBL_SWAP0_LABEL" -U "$XBL_SWAP0_UUID" "$swap" >/dev/null || drvm_die "mkswap failed"

        truncate -s "${XBL_DISK_MIB}M" "$disk"
        sgdisk -o -U "$DRVM_DISK0_GUID" \
                -n "1:2048:+${DRVM_ESP_MIB}M" -t 1:EF00 -c 1:esp0 -u "1:$DRVM_ESP0_PARTUUID" \
                -n "2:0:+${XBL_BOOT_MIB}M" -t 2:EA00 -c "2:$XBL_BOOT0_LABEL" -u "2:$XBL_BOOT0_PARTUUID" \
                -n "3:0:+${DRVM_ROOT_MIB}M" -t 3:8300 -c "3:$XBL_ROOT0_LABEL" -u "3:$XBL_ROOT0_PARTUUID" \
                -n "4:0:+${XBL_SWAP_MIB}M" -t 4:8200 -c "4:$XBL_SWAP0_LABEL" -u "4:$XBL_SWAP0_PARTUUID" \
                "$disk" >/dev/null || drvm_die "sgdisk failed"
        n=1
        for part in "$esp" "$boot" "$root" "$swap"; do
                start=$(sgdisk -i "$n" "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
                [ -n "$start" ] || drvm_die "sgdisk did not write partition $n"
                dd if="$part" of="$disk" bs=1M seek="$((start * 512))" oflag=seek_bytes conv=notrunc,sparse status=none
                rm -f "$part"
                n=$((n + 1))
        done
}

# xbl_disk: the directory holding disk0.img, built once per recipe.
xbl_disk() {
        local key dir w x t d
        x=$(loader_debs_dir refind-debs refind) || return 1
        t=$(loader_debs_dir xbl-debs dosfstools gdisk) || return 1
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; basename "$x"; basename "$t"
                 cat "$DRVM_DIR/guest/xbl-layout"; declare -f xbl_fstab xbl_entry xbl_build_disk; } |
                sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/xbl-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mdel mmd mcopy mkfs.ext4 mkswap tune2fs e2fsck debugfs sgdisk unshare
                drvm_log "building the Table 1 disk ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/xbl-build.XXXXXX")
                xbl_build_disk "$w" "$x" "$t" >&2 || { rm -rf "$w"; return 1; }
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk0.img" "$dir/"
                rm -rf "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/xbl-*; do
                        case "$d" in "$dir" | "$DRVM_CACHE"/xbl-debs-*) continue ;; esac
                        [ -d "$d" ] && rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

# xbl_console_menu STEP: systemd-boot's menu on the console (OVMF copies the screen to
# the serial port) listed the XBOOTLDR entry's title, and it printed no error.
xbl_console_menu() {
        local con bad
        con=$(tr -d '\r' <"$work/$1.console" | sed 's/\x1b\[[0-9;=?]*[A-Za-z]//g')
        if grep -aq "(XBOOTLDR)" <<<"$con"; then
                printf '    PASS %s.loader-menu: systemd-boot listed the entry it read from the XBOOTLDR partition: %s\n' \
                        "$1" "$(grep -ao 'Debian [^ ]* (XBOOTLDR)' <<<"$con" | sort -u | paste -sd, | sed 's/,/, /g')"
                record "CHECK 14 PASS"
        else
                printf '    FAIL %s.loader-menu: no "(XBOOTLDR)" entry in systemd-boot'"'"'s menu on the console\n' "$1"
                record "CHECK 14 FAIL"
        fi
        # (systemd's own "[FAILED] Failed to start ..." lines are not the loader's)
        bad=$(sed 's/\[FAILED\] Failed to [a-z]*//g' <<<"$con" |
                grep -a -o -m3 -E 'No loader found[^.]*|Failed to [^.:]*|Error (loading|preparing)[^:]*: [A-Za-z ]*' || true)
        if [ -z "$bad" ]; then
                printf '    PASS %s.loader-clean: systemd-boot printed no error\n' "$1"
                record "CHECK 14 PASS"
        else
                printf '    FAIL %s.loader-clean: systemd-boot printed: %s\n' "$1" "$(tr '\n' '|' <<<"$bad")"
                record "CHECK 14 FAIL"
        fi
}

case14() {
        local d e0 e1 blank long=$((DRVM_BOOT_TIMEOUT > 900 ? DRVM_BOOT_TIMEOUT : 900))
        d=$(xbl_disk) || { not_run 14 "the Table 1 disk cannot be built"; return; }
        e0=$(fresh c14.disk0 "$d/disk0.img")
        e1=$work/c14.disk1
        qemu-img create -q -f qcow2 "$e1" "${XBL_DISK_MIB}M"
        blank=$work/c14.blank.qcow2
        qemu-img create -q -f qcow2 "$blank" 1M
        # 1: disk 0 (BootOrder) and a blank disk 1: --add-disk makes it the twin; --status
        # (the first copy of the whole root, the syncs of boot 3: more than the default limit)
        DRVM_BOOT_TIMEOUT=$long boot case14-add 14 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$blank" || return 0
        xbl_console_menu case14-add
        # 2: both, disk 0 booted (BootOrder): a kernel update mirrored by -s, then the power
        # goes during the next update's mirror. (That disk 1 alone boots its own root is
        # proven by boot 3, after the cut: one boot fewer for the suite's time.)
        DRVM_BOOT_TIMEOUT=$long boot_cut case14-cut 14 "$work/case14-add.fd" "$e0" "$e1" "$blank" || return 0
        xbl_console_menu case14-cut
        # 3: disk 0 pulled: disk 1 alone boots its own root, as the cut left it (BootNext, set
        # before the cut, is disk 1's entry)
        boot case14-after 14 "$work/case14-cut.fd" - "$e1" "$blank" || return 0
        xbl_console_menu case14-after
}
