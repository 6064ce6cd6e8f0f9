# SPDX-License-Identifier: MIT
# Case 11, approach 2 with swap_ids (DESIGN.md §5b), host half; the guest half is
# guest/cases.d/a2.sh. Sourced by tests/vm/run.
#
# Its own two disks, derived from the cached image (its debootstrap'ed root.img and ESP
# disks, so from the same Debian packages) and cached beside it in $DRVM_CACHE/a2-KEY:
# each disk holds its ESP (partition 1, byte for byte the approach-1 ESP with its loader
# entry's root=UUID= naming this disk's root) and its own ext4 root (partition 2, root.img
# with a UUID and label of its own, an fstab mounting its own ESP on /efi and the other
# disk's root and ESP under /mnt/root1). The third disk slot, the approach-1 root, holds
# an empty disk: nothing of this machine is outside its two disks.

title[11]="approach 2: kernel installed on disk 0 and synced with swap_ids; disk 1 alone boots it on its own root; stale disk 0 refused"

. "$DRVM_DIR/guest/a2-layout"

# a2_fstab N: disk N's fstab (the other disk is M)
a2_fstab() {
        local n=$1 m=$((1 - $1)) opt="nofail,x-systemd.device-timeout=30s"
        local ru rp ou op
        eval "ru=\$A2_ROOT${n}_UUID ou=\$A2_ROOT${m}_UUID rp=\$DRVM_ESP${n}_PARTUUID op=\$DRVM_ESP${m}_PARTUUID"
        cat <<EOF
# dual-root VM test guest, approach 2, disk $n
UUID=$ru / ext4 rw,errors=remount-ro 0 0
PARTUUID=$rp /efi vfat umask=0077,$opt 0 0
UUID=$ou /mnt/root1 ext4 $opt 0 0
PARTUUID=$op /mnt/root1/efi vfat umask=0077,$opt 0 0
EOF
}

# a2_build_disk N WORK: WORK/diskN.img
a2_build_disk() {
        local n=$1 w=$2 ru rl rp diskguid esppu disk esp root start
        eval "ru=\$A2_ROOT${n}_UUID rl=\$A2_ROOT${n}_LABEL rp=\$A2_ROOT${n}_PARTUUID"
        eval "diskguid=\$DRVM_DISK${n}_GUID esppu=\$DRVM_ESP${n}_PARTUUID"
        disk=$w/disk$n.img esp=$w/esp$n.part root=$w/root$n.img

        # The ESP: the approach-1 one, its entry naming this disk's root.
        dd if="$DRVM_ESP_DIR/esp$n.img" of="$esp" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        export MTOOLS_SKIP_CHECK=1
        mtype -i "$esp" ::/loader/entries/debian.conf | sed "s/$DRVM_ROOT_UUID/$ru/" >"$w/entry$n"
        grep -q "root=UUID=$ru " "$w/entry$n" || drvm_die "cannot set root=UUID=$ru in disk $n's entry"
        mcopy -o -i "$esp" "$w/entry$n" ::/loader/entries/debian.conf

        # The root: its own UUID and label, its own fstab, mount points for the other disk.
        cp --sparse=always "$DRVM_ROOT_DIR/root.img" "$root"
        e2fsck -fy "$root" >/dev/null 2>&1 || true
        tune2fs -U "$ru" -L "$rl" "$root" >/dev/null || drvm_die "tune2fs failed on disk $n's root"
        a2_fstab "$n" >"$w/fstab$n"
        debugfs -w -f - "$root" >"$w/debugfs$n.log" 2>&1 <<EOF
rm /etc/fstab
write $w/fstab$n /etc/fstab
mkdir /efi
mkdir /mnt/root1
EOF
        debugfs -R 'cat /etc/fstab' "$root" 2>/dev/null | cmp -s - "$w/fstab$n" ||
                { cat "$w/debugfs$n.log" >&2; drvm_die "cannot write disk $n's fstab"; }

        truncate -s "$((DRVM_ESP_MIB + DRVM_ROOT_MIB + 4))M" "$disk"
        sgdisk -o -U "$diskguid" -n "1:2048:+${DRVM_ESP_MIB}M" -t 1:EF00 \
                -c "1:EFI system partition $n" -u "1:$esppu" \
                -n "2:0:+${DRVM_ROOT_MIB}M" -t 2:8304 -c "2:root$n" -u "2:$rp" "$disk" >/dev/null
        start=$(sgdisk -i 2 "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
        [ -n "$start" ] || drvm_die "sgdisk did not write disk $n's partition table"
        dd if="$esp" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
        dd if="$root" of="$disk" bs=1M seek="$((start * 512))" oflag=seek_bytes conv=notrunc,sparse status=none
        rm -f "$esp" "$root"
}

# a2_disks: the directory holding disk0.img and disk1.img, built once per recipe.
a2_disks() {
        local key dir w d
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; cat "$DRVM_DIR/guest/a2-layout"
                 declare -f a2_fstab a2_build_disk; } | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/a2-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mtype mcopy tune2fs e2fsck debugfs sgdisk
                drvm_log "building the approach-2 disks ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/a2-build.XXXXXX")
                ( a2_build_disk 0 "$w" && a2_build_disk 1 "$w" ) >&2 || { rm -rf "$w"; return 1; }
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk0.img" "$w/disk1.img" "$dir/"
                rm -rf "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/a2-*; do
                        [ "$d" = "$dir" ] || [ ! -d "$d" ] || rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

case11() {
        local d e0 e1 blank
        d=$(a2_disks) || { not_run 11 "the approach-2 disks cannot be built"; return; }
        e0=$(fresh c11.disk0 "$d/disk0.img")
        e1=$(fresh c11.disk1 "$d/disk1.img")
        blank=$work/c11.blank.qcow2
        qemu-img create -q -f qcow2 "$blank" 1M
        # 1: disk 0 (BootOrder), a kernel installed by hand, synced to disk 1
        boot case11-install 11 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$blank" || return 0
        # 2: disk 0 pulled: the firmware falls back to disk 1, which boots the new kernel
        boot case11-alone 11 "$DRVM_VARS_DIR/esp0first.fd" - "$e1" "$blank" || return 0
        # 3: both back, disk 0 (now stale) booted: the guard refuses to roll disk 1 back
        boot case11-stale 11 "$DRVM_VARS_DIR/esp0first.fd" "$e0" "$e1" "$blank" || true
}
