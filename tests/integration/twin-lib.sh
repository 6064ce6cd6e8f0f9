# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Sourced by t-adddisk-twin*.sh after lib.sh: a running one-disk machine of approach 2 (DESIGN.md
# §12b), laid out like the manual's Table 1 on a 200 MiB GPT image: 1 ESP (32 MiB, an ext4
# stand-in: this kernel cannot mount vfat), 2 XBOOTLDR (40 MiB ext4 'boot0'), 3 root (100 MiB
# ext4 'root0', the fake root itself), 4 swap (8 MiB, 'swap0'). The XBOOTLDR's ext4 is made with
# other choices than mke2fs's defaults (4 KiB blocks, 128-byte inodes, no metadata_csum, no 64bit). Partitions are loop devices at
# their offsets (this kernel makes none for loop devices); the booted disk is also attached whole.
# A blank 200 MiB image is the new disk ($NEW).
#
# TWIN_LAYOUT=bootefi: a distribution installer's layout instead: the ESP on /boot/efi, /boot a
# directory of the root (partition 2 holds no filesystem).

FSTAB=/etc/dual-root-test/fstab
CONF=/etc/dual-root/sync-daemon.conf
# partition starts (sectors) and sizes (MiB)
S1=2048 M1=32
S2=67584 M2=40
S3=149504 M3=100
S4=354304 M4=8

twin_image() { # IMAGE [PARTUUID-OF-THE-ESP]
        local t2=ea00
        [ "${TWIN_LAYOUT:-}" != bootefi ] || t2=8300
        truncate -s 200M "$1"
        sgdisk -n "1:$S1:+${M1}M" -t 1:ef00 ${2:+-u "1:$2"} -n "2:$S2:+${M2}M" -t "2:$t2" \
                -n "3:$S3:+${M3}M" -t 3:8304 -n "4:$S4:+${M4}M" -t 4:8200 "$1" >/dev/null
}

attach() { # IMAGE-OR-DEVICE START_SECTOR MIB -> loop device
        losetup --find --show --offset $(($2 * 512)) --sizelimit $(($3 << 20)) "$1"
}

twin_machine() {
        IMG0="$W/dual-root-test-disk0.img"
        twin_image "$IMG0" "$PU0"
        ROOT0=$(attach "$IMG0" $S3 $M3)
        mkfs.ext4 -q -L root0 "$ROOT0"
        ROOT_DEVICE=$ROOT0 make_root
        WHOLE0=$(losetup --find --show "$IMG0")
        DEV0=$(attach "$IMG0" $S1 $M1)
        SWAP0=$(attach "$IMG0" $S4 $M4)
        mkswap -q -L swap0 "$SWAP0" >/dev/null
        mkfs_esp "$DEV0" "$FS0" ESP0
        link_partuuid "$PU0" "$DEV0"
        ESPDIR=/efi
        if [ "${TWIN_LAYOUT:-}" = bootefi ]; then
                ESPDIR=/boot/efi
                PART2=$(attach "$IMG0" $S2 $M2) # a partition holding no filesystem
        else
                BOOT0=$(attach "$IMG0" $S2 $M2)
                # not mke2fs's defaults for 40 MiB (1 KiB blocks, 256-byte inodes, 64bit,
                # metadata_csum): the twin's must be made alike (§12b A2)
                mkfs.ext4 -q -b 4096 -I 128 -O ^metadata_csum,^64bit -L boot0 "$BOOT0" 2>/dev/null
                mount "$BOOT0" "$R/boot"
        fi
        mkdir -p "$R$ESPDIR"
        mount "$DEV0" "$R$ESPDIR"
        ROOTUUID=$(blkid -o value -s UUID "$ROOT0")
        loader_file efi 16384 "$R$ESPDIR/EFI/systemd/systemd-bootx64.efi"
        loader_file efi 16384 "$R$ESPDIR/EFI/systemd/drivers/ext4_x64.efi"
        mkdir -p "$R/boot/loader/entries"
        loader_file kernel 16384 "$R/boot/vmlinuz-6.1"
        loader_file initrd 16384 "$R/boot/initrd.img-6.1"
        printf 'title Debian\nlinux /vmlinuz-6.1\ninitrd /initrd.img-6.1\noptions root=UUID=%s ro\n' \
                "$ROOTUUID" >"$R/boot/loader/entries/debian.conf"
        booted_by_loader "$PU0"
        mkdir -p "$R/etc/dual-root-test" "$R/srv/data"
        head -c 300000 /dev/urandom >"$R/srv/data/blob"
        echo "a file of the running system" >"$R/etc/marker"
        {
                printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$ROOTUUID"
                [ -z "${BOOT0:-}" ] ||
                        printf 'UUID=%s /boot ext4 defaults 0 2\n' "$(blkid -o value -s UUID "$BOOT0")"
                printf 'PARTUUID=%s %s vfat umask=0077 0 1\n' "$PU0" "$ESPDIR"
                printf 'UUID=%s none swap sw 0 0\n' "$(blkid -o value -s UUID "$SWAP0")"
        } >"$R$FSTAB"
        NEWIMG="$W/dual-root-test-new.img"
        truncate -s 200M "$NEWIMG"
        NEW=$(losetup --find --show "$NEWIMG")
}

add_disk() {
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_FSTAB="$FSTAB" \
                DUAL_ROOT_SYSFS=/fakesys DUAL_ROOT_ESP_FSTYPE=ext4 "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# The config text --add-disk printed as the one to set: from "esp_mounts =" to "swap_ids =".
printed_config() {
        sed -n '/^esp_mounts = /,/^swap_ids = /p' "$ERR"
}

# A fingerprint of everything a refused or -t run must leave alone.
untouched() {
        { sha256sum "$NEWIMG" "$R$FSTAB"; ls -a "$R/mnt"; findmnt -rn -o TARGET | sort; } 2>&1
}

# The partition devices udev would make for the new disk, linked by PARTUUID (the run before
# stopped waiting for them): the ESP's over the loop disk itself, the others over its file.
twin_devices() {
        P1=$(attach "$NEW" $S1 $M1)
        P2=$(attach "$NEWIMG" $S2 $M2)
        P3=$(attach "$NEWIMG" $S3 $M3)
        P4=$(attach "$NEWIMG" $S4 $M4)
        for n in 1 2 3 4; do
                eval "p=\$P$n"
                link_partuuid "$(sfdisk --part-uuid "$NEWIMG" $n | tr '[:upper:]' '[:lower:]')" "$p"
        done
}
