# SPDX-License-Identifier: MIT
# Case 32, GRUB in approach 2 (DESIGN.md §11b L5, L7; §5b), host half; the guest half is
# guest/cases.d/grub-a2.sh. Sourced by tests/vm/run.
#
# Its own two disks, derived like case 11's (cases.d/a2.sh: each disk its ESP and its own
# ext4 root, the approach-2 fstab) and cached in $DRVM_CACHE/grub-a2-KEY, with GRUB as
# Debian installs it when /boot is on the root: on each ESP Debian's signed shim, GRUB and
# MokManager (case 30's files) in EFI/debian/ and as the fallback, and the stub
# EFI/debian/grub.cfg searching the disk's own root and reading $root/boot/grub/grub.cfg;
# no kernel on the ESP. On each root: Debian's grub-common and grub2-common (update-grub,
# its kernel hook zz-update-grub) and the libraries they need that the root lacks, taken
# with apt-get download and installed offline into the image (dpkg -i in a chroot of the
# loop-mounted root image, never on this machine); the image's kernel and initrd in /boot;
# /etc/default/grub with the suite's kernel command line; a first /boot/grub/grub.cfg in
# grub-mkconfig's form naming the disk's own root (update-grub replaces it in the guest).

. "$DRVM_DIR/guest/a2-layout"

title[32]="GRUB, approach 2 (grub.cfg on each disk's root): a kernel installed through the Debian hooks reaches disk 1 with its own root's identifiers; disk 1 alone boots GRUB's menu and the new kernel"

# The packages update-grub needs on the image's root, its libraries that debootstrap's
# minbase root lacks included (dpkg -i refuses a missing dependency: a change of the root's
# package list shows as a build error, not as a wrong image).
GRUB_A2_PKGS="grub-common grub2-common gettext-base libfreetype6 libfuse2 libbrotli1 libpng16-16"

# grub_a2_debs: a directory holding those packages' .deb files, downloaded once per version.
grub_a2_debs() {
        local key dir w p
        # shellcheck disable=SC2086 # a word list
        local v versions=
        for p in $GRUB_A2_PKGS; do
                v=$(apt-cache policy "$p" | sed -n 's/^ *Candidate: //p')
                case "$v" in "" | "(none)") drvm_log "apt-cache names no candidate of $p"; return 1 ;; esac
                versions="$versions$p $v
"
        done
        key=$(printf '%s' "$versions" | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/grub-a2-debs-$key
        if [ ! -f "$dir/ok" ]; then
                w=$(mktemp -d "$DRVM_CACHE/grub-a2-debs.XXXXXX")
                chmod 0755 "$w"
                # shellcheck disable=SC2086
                (cd "$w" && apt-get download -q $GRUB_A2_PKGS) >"$w/download.log" 2>&1 ||
                        { cat "$w/download.log" >&2; rm -rf "$w"; return 1; }
                rm -f "$w/download.log"
                rm -rf "$dir"
                mv "$w" "$dir"
                touch "$dir/ok"
        fi
        printf '%s\n' "$dir"
}

# grub_a2_menu ROOTUUID KVER: /boot/grub/grub.cfg as grub-mkconfig writes it for an ext4
# root holding /boot (the guest's update-grub replaces it)
grub_a2_menu() {
        cat <<EOF2
# grub.cfg for the dual-root VM test (approach 2), in grub-mkconfig's form
set default="0"
set timeout_style=hidden
set timeout=0
menuentry 'Debian GNU/Linux (dual-root VM test, image)' --class debian \$menuentry_id_option 'gnulinux-simple-$1' {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $1
	echo	'Loading Linux $2 ...'
	linux	/boot/vmlinuz-$2 root=UUID=$1 ro ${DRVM_CMDLINE#root=UUID=* } drvm_grub_root=\$root
	initrd	/boot/initrd.img-$2
}
EOF2
}

# grub_a2_root WORK DEBS: WORK/src/root.img, the cached root with GRUB's packages, the
# kernel in /boot and /etc/default/grub. The root image is loop-mounted under WORK (the only
# mount of the whole build, always undone).
grub_a2_root() {
        local w=$1 debs=$2 m=$1/mnt kver rc=0
        kver=$(cat "$DRVM_ROOT_DIR/kver")
        mkdir -p "$w/src" "$m"
        cp --sparse=always "$DRVM_ROOT_DIR/root.img" "$w/src/root.img"
        mount -o loop "$w/src/root.img" "$m" || return 1
        {
                mkdir -p "$m/var/tmp/grub-a2-debs" "$m/boot/grub" &&
                        cp "$debs"/*.deb "$m/var/tmp/grub-a2-debs/" &&
                        chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
                                DEBIAN_FRONTEND=noninteractive sh -c 'dpkg -i /var/tmp/grub-a2-debs/*.deb' \
                                >"$w/dpkg.log" 2>&1 &&
                        rm -rf "$m/var/tmp/grub-a2-debs" &&
                        cp "$DRVM_ROOT_DIR/vmlinuz-$kver" "$DRVM_ROOT_DIR/initrd.img-$kver" "$m/boot/" &&
                        [ -x "$m/etc/kernel/postinst.d/zz-update-grub" ] && [ -x "$m/usr/sbin/update-grub" ] &&
                        # the suite's command line; root= and ro are grub-mkconfig's, rw the suite's
                        cat >"$m/etc/default/grub" <<EOF
# dual-root VM test (case 32)
GRUB_DEFAULT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX='${DRVM_CMDLINE#root=UUID=* } drvm_grub_root=\$root'
GRUB_TERMINAL=console
GRUB_DISABLE_RECOVERY=true
GRUB_DISABLE_OS_PROBER=true
EOF
        } || { rc=1; cat "$w/dpkg.log" >&2; }
        umount "$m" || rc=1
        return "$rc"
}

# grub_a2_disk N WORK EFIDIR: turn WORK/diskN.img (case 11's layout) into GRUB's
grub_a2_disk() {
        local n=$1 w=$2 efi=$3 part ru start kver m=$2/mnt rc=0
        eval "ru=\$A2_ROOT${n}_UUID"
        kver=$(cat "$DRVM_ROOT_DIR/kver")
        part=$w/esp$n.part
        export MTOOLS_SKIP_CHECK=1
        dd if="$w/disk$n.img" of="$part" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        mdeltree -i "$part" ::/EFI/systemd ::/loader
        mdel -i "$part" ::/EFI/BOOT/BOOTX64.EFI "::/vmlinuz-$kver" "::/initrd.img-$kver"
        mmd -i "$part" ::/EFI/debian
        mcopy -i "$part" "$efi/shimx64.efi" "$efi/grubx64.efi" "$efi/mmx64.efi" ::/EFI/debian/
        mcopy -i "$part" "$efi/shimx64.efi" ::/EFI/BOOT/BOOTX64.EFI
        mcopy -i "$part" "$efi/grubx64.efi" "$efi/mmx64.efi" ::/EFI/BOOT/
        # Debian's stub for /boot on the root filesystem (grub-install writes this form)
        printf "search.fs_uuid %s root hd0,gpt2 \nset prefix=(\$root)'/boot/grub'\nconfigfile \$prefix/grub.cfg\n" \
                "$ru" >"$w/stub$n"
        mcopy -i "$part" "$w/stub$n" ::/EFI/debian/grub.cfg
        dd if="$part" of="$w/disk$n.img" bs=1M seek=1 conv=notrunc,sparse status=none
        rm -f "$part"
        # the root's first menu, naming its own root
        start=$(sgdisk -i 2 "$w/disk$n.img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
        [ -n "$start" ] || return 1
        mount -o "loop,offset=$((start * 512))" "$w/disk$n.img" "$m" || return 1
        grub_a2_menu "$ru" "$kver" >"$m/boot/grub/grub.cfg" || rc=1
        umount "$m" || rc=1
        return "$rc"
}

# grub_a2_disks: the directory holding disk0.img and disk1.img, built once per recipe.
grub_a2_disks() {
        local key dir w efi debs d
        efi=$(grub_efi_dir) || return 1
        debs=$(grub_a2_debs) || return 1
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; basename "$efi"; basename "$debs"
                 cat "$DRVM_DIR/guest/a2-layout"
                 declare -f a2_fstab a2_build_disk grub_a2_menu grub_a2_root grub_a2_disk; } | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/grub-a2-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mdeltree mdel mmd mcopy mtype apt-get dpkg-deb tune2fs e2fsck debugfs sgdisk chroot mount
                drvm_log "building the GRUB approach-2 disks ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/grub-a2-build.XXXXXX")
                if ! ( grub_a2_root "$w" "$debs" &&
                        DRVM_ROOT_DIR=$w/src a2_build_disk 0 "$w" && DRVM_ROOT_DIR=$w/src a2_build_disk 1 "$w" &&
                        grub_a2_disk 0 "$w" "$efi" && grub_a2_disk 1 "$w" "$efi" ) >&2; then
                        mountpoint -q "$w/mnt" && umount "$w/mnt"
                        rm -rf --one-file-system "$w"
                        return 1
                fi
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk0.img" "$w/disk1.img" "$dir/"
                rm -rf --one-file-system "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/grub-a2-*; do
                        case "$d" in "$dir" | "$DRVM_CACHE"/grub-a2-debs-*) continue ;; esac
                        [ -d "$d" ] && rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

# The hooks as the package installs them (hooks/meson.build's paths, Debian's layout):
# zzz-dual-root in /etc/kernel/postinst.d and postrm.d, hook-sync beside the tool's data.
grub_a2_stage_hooks() {
        local dir=$1 src=$DRVM_DIR/../../hooks f
        for f in zzz-dual-root hook-sync; do
                [ -f "$src/$f.in" ] || return 1
        done
        sub() { sed -e 's|@bindir@|/usr/bin|g; s|@hookdir@|/usr/lib/dual-root|g' \
                -e 's|@kernelinstalldir@|/usr/lib/kernel/install.d|g' "$1"; }
        install -d "$dir/etc/kernel/postinst.d" "$dir/etc/kernel/postrm.d" "$dir/usr/lib/dual-root"
        sub "$src/zzz-dual-root.in" >"$dir/etc/kernel/postinst.d/zzz-dual-root"
        sub "$src/zzz-dual-root.in" >"$dir/etc/kernel/postrm.d/zzz-dual-root"
        sub "$src/hook-sync.in" >"$dir/usr/lib/dual-root/hook-sync"
        chmod 0755 "$dir/etc/kernel/postinst.d/zzz-dual-root" "$dir/etc/kernel/postrm.d/zzz-dual-root" \
                "$dir/usr/lib/dual-root/hook-sync"
        ! grep -q '@[A-Za-z_]*@' "$dir/etc/kernel/postinst.d/zzz-dual-root" "$dir/usr/lib/dual-root/hook-sync"
}

case32() {
        local d e0 e1 blank DRVM_TOOLDIR
        d=$(grub_a2_disks) || { not_run 32 "the GRUB approach-2 disks cannot be built"; return; }
        DRVM_TOOLDIR=$work/tool-grub-a2
        mkdir -p "$DRVM_TOOLDIR"
        cp -a "$work/tool/." "$DRVM_TOOLDIR/"
        grub_a2_stage_hooks "$DRVM_TOOLDIR" || { not_run 32 "cannot stage the kernel hooks from hooks/"; return; }
        e0=$(fresh c32.disk0 "$d/disk0.img")
        e1=$(fresh c32.disk1 "$d/disk1.img")
        blank=$work/c32.blank.qcow2
        qemu-img create -q -f qcow2 "$blank" 1M
        # 1: fresh NVRAM, disk 0's fallback (shim, GRUB, disk 0's root): a kernel installed
        # through the Debian hooks; update-grub writes the menu, our hook copies it to disk 1.
        boot case32-install 32 "$DRVM_OVMF_VARS" "$e0" "$e1" "$blank" || return 0
        grub_a2_console_clean case32-install
        # 2: disk 0 pulled: disk 1's fallback boots GRUB's menu and the new kernel on disk 1's root.
        boot case32-alone 32 "$DRVM_OVMF_VARS" - "$e1" "$blank" || return 0
        grub_a2_console_clean case32-alone
}

# grub_a2_console_clean STEP: as case 30's check (cases.d/loaders.sh), reported under 32
grub_a2_console_clean() {
        local bad
        bad=$(tr -d '\r' <"$work/$1.console" | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' |
                grep -a -v 'error: no suitable video mode found' |
                grep -a -m3 -E 'error: |Press any key to continue|grub rescue>|grub> ' || true)
        if [ -z "$bad" ]; then
                printf '    PASS %s.grub-console: GRUB printed no error on the way to the kernel\n' "$1"
                record "CHECK 32 PASS"
        else
                printf '    FAIL %s.grub-console: GRUB printed: %s\n' "$1" "$(tr '\n' '|' <<<"$bad")"
                record "CHECK 32 FAIL"
        fi
}
