# SPDX-License-Identifier: MIT
# Cases 30 (GRUB through shim) and 31 (rEFInd), DESIGN.md §11b, host half; the guest half
# is guest/cases.d/loaders.sh. Sourced by tests/vm/run.
#
# Its own two ESP disks, derived from the cached approach-1 ESP disks (same GPT, PARTUUIDs,
# kernel and initrd) and cached in $DRVM_CACHE/grub-KEY: systemd-boot and its entries
# removed; Debian's signed shim, GRUB and MokManager (taken from the Debian packages
# shim-signed, shim-helpers-amd64-signed and grub-efi-amd64-signed with apt-get download,
# never installed here) in EFI/debian/ and as the removable-media fallback in EFI/BOOT/;
# Debian's stub EFI/debian/grub.cfg and a grub-mkconfig-style grub/grub.cfg (the ESP is
# /boot, approach 1). Disk 1 holds a plain copy of disk 0's files, so its stub and menu
# still name disk 0's ESP: what a copy that does not know GRUB leaves behind.

title[31]="rEFInd: disk 1 alone boots the kernel rEFInd's scan finds, with refind_linux.conf's options"
title[30]="GRUB through shim: the alternate's copy named disk 0's ESP (CRITICAL), -s makes it name its own; disk 1 boots its own menu with disk 0 damaged (the daemon then repairs disk 0), and alone"

# loader_debs_dir NAME PACKAGES...: the packages' contents, extracted once per version into
# $DRVM_CACHE/NAME-KEY (apt-get download: never installed on this machine)
loader_debs_dir() {
        local name=$1 key dir w p
        shift
        local v versions=
        # The key: each package's candidate version. One apt-cache cannot tell (its lists
        # being rewritten) is an error, never the key of an empty list.
        for p in "$@"; do
                v=$(apt-cache policy "$p" | sed -n 's/^ *Candidate: //p')
                case "$v" in "" | "(none)") drvm_log "apt-cache names no candidate of $p"; return 1 ;; esac
                versions="$versions$p $v
"
        done
        key=$(printf '%s' "$versions" | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/$name-$key
        if [ ! -f "$dir/ok" ]; then
                w=$(mktemp -d "$DRVM_CACHE/$name.XXXXXX")
                chmod 0755 "$w"
                (cd "$w" && apt-get download -q "$@") >"$w/download.log" 2>&1 ||
                        { cat "$w/download.log" >&2; rm -rf "$w"; return 1; }
                for p in "$w"/*.deb; do dpkg-deb -x "$p" "$w/x"; done
                rm -rf "$dir"
                mv "$w/x" "$dir"
                rm -rf "$w"
                touch "$dir/ok"
        fi
        printf '%s\n' "$dir"
}

# grub_efi_dir: a directory holding shimx64.efi, grubx64.efi, mmx64.efi (Debian's signed
# binaries), extracted once per package version.
grub_efi_dir() {
        local x dir
        x=$(loader_debs_dir grub-debs shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed) || return 1
        dir=$x.efi
        if [ ! -f "$dir/ok" ]; then
                mkdir -p "$dir"
                cp "$x/usr/lib/shim/shimx64.efi.signed" "$dir/shimx64.efi" &&
                        cp "$x/usr/lib/shim/mmx64.efi.signed" "$dir/mmx64.efi" &&
                        cp "$x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$dir/grubx64.efi" ||
                        return 1
                touch "$dir/ok"
        fi
        printf '%s\n' "$dir"
}

# grub_menu UUID KVER: grub/grub.cfg as grub-mkconfig writes it for an ESP as /boot; the
# kernel's command line carries $root as GRUB has it, so the guest sees which disk GRUB
# read the kernel from.
grub_menu() {
        cat <<EOF2
# grub.cfg for the dual-root VM test, in grub-mkconfig's form
if [ -s \$prefix/grubenv ]; then
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
else
   set default="0"
fi
set timeout_style=hidden
set timeout=0
menuentry 'Debian GNU/Linux (dual-root VM test)' --class debian \$menuentry_id_option 'gnulinux-simple' {
	insmod part_gpt
	insmod fat
	if [ x\$feature_platform_search_hint = xy ]; then
	  search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 $1
	else
	  search --no-floppy --fs-uuid --set=root $1
	fi
	echo	'Loading Linux $2 from' \$root
	linux	/vmlinuz-$2 $DRVM_CMDLINE drvm_grub_root=\$root
	initrd	/initrd.img-$2
}
EOF2
}

# grub_build_disk N EFIDIR WORK: WORK/diskN.img, the approach-1 ESP disk N with GRUB
grub_build_disk() {
        local n=$1 efi=$2 w=$3 part kver uuid0
        part=$w/esp$n.part
        kver=$(cat "$DRVM_ROOT_DIR/kver")
        # as blkid and grub-probe write a FAT volume id: XXXX-XXXX (GRUB compares any case)
        uuid0=$(printf '%s-%s' "${DRVM_ESP0_VOLID:0:4}" "${DRVM_ESP0_VOLID:4:4}" | tr '[:upper:]' '[:lower:]')
        dd if="$DRVM_ESP_DIR/esp$n.img" of="$part" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        export MTOOLS_SKIP_CHECK=1
        mdeltree -i "$part" ::/EFI/systemd ::/loader
        mdel -i "$part" ::/EFI/BOOT/BOOTX64.EFI
        mmd -i "$part" ::/EFI/debian ::/grub
        mcopy -i "$part" "$efi/shimx64.efi" "$efi/grubx64.efi" "$efi/mmx64.efi" ::/EFI/debian/
        mcopy -i "$part" "$efi/shimx64.efi" ::/EFI/BOOT/BOOTX64.EFI
        mcopy -i "$part" "$efi/grubx64.efi" "$efi/mmx64.efi" ::/EFI/BOOT/
        printf "search.fs_uuid %s root hd0,gpt1 \nset prefix=(\$root)'/grub'\nconfigfile \$prefix/grub.cfg\n" \
                "$uuid0" >"$w/stub"
        grub_menu "$uuid0" "$kver" >"$w/menu"
        mcopy -i "$part" "$w/stub" ::/EFI/debian/grub.cfg
        mcopy -i "$part" "$w/menu" ::/grub/grub.cfg
        cp --sparse=always "$DRVM_ESP_DIR/esp$n.img" "$w/disk$n.img"
        dd if="$part" of="$w/disk$n.img" bs=1M seek=1 conv=notrunc,sparse status=none
        rm -f "$part"
}

# grub_disks: the directory holding disk0.img and disk1.img, built once per recipe.
grub_disks() {
        local key dir w efi d
        efi=$(grub_efi_dir) || return 1
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; basename "$efi"
                 declare -f grub_menu grub_build_disk; } | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/grub-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mdeltree mdel mmd mcopy apt-get dpkg-deb
                drvm_log "building the GRUB disks ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/grub-build.XXXXXX")
                ( grub_build_disk 0 "$efi" "$w" && grub_build_disk 1 "$efi" "$w" ) >&2 || { rm -rf "$w"; return 1; }
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk0.img" "$w/disk1.img" "$dir/"
                rm -rf "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/grub-*; do
                        case "$d" in "$dir" | "$DRVM_CACHE"/grub-debs-* | "$DRVM_CACHE"/grub-a2-*) continue ;; esac
                        [ -d "$d" ] && rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

# grub_console_clean STEP: GRUB printed no error (a search that found nothing, a missing
# file) and never waited for a key on the way to the kernel. (With no display, GRUB's
# linux command says it found no video mode: that one is not about the chain.)
grub_console_clean() {
        local bad
        bad=$(tr -d '\r' <"$work/$1.console" | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' |
                grep -a -v 'error: no suitable video mode found' |
                grep -a -m3 -E 'error: |Press any key to continue|grub rescue>|grub> ' || true)
        if [ -z "$bad" ]; then
                printf '    PASS %s.grub-console: GRUB printed no error on the way to the kernel\n' "$1"
                record "CHECK 30 PASS"
        else
                printf '    FAIL %s.grub-console: GRUB printed: %s\n' "$1" "$(tr '\n' '|' <<<"$bad")"
                record "CHECK 30 FAIL"
        fi
}

case30() {
        local d e0 e1 r
        d=$(grub_disks) || { not_run 30 "the GRUB disks cannot be built"; return; }
        e0=$(fresh c30.disk0 "$d/disk0.img")
        e1=$(fresh c30.disk1 "$d/disk1.img")
        r=$(fresh c30.root "$DRVM_ROOT_DIR/root.img")
        # 1: fresh NVRAM, the firmware starts disk 0's fallback (shim, then GRUB): the
        # alternate's copy names disk 0's ESP; -s makes it name its own; shim entries are
        # created for both disks; disk 0's menu removed; BootNext = disk 1's entry.
        boot case30-sync 30 "$DRVM_OVMF_VARS" "$e0" "$e1" "$r" || return 0
        grub_console_clean case30-sync
        # 2: both disks, disk 0 damaged: disk 1's entry boots disk 1's own menu and kernel.
        boot case30-damaged 30 "$work/case30-sync.fd" "$e0" "$e1" "$r" || return 0
        grub_console_clean case30-damaged
        # 3: disk 0 pulled: disk 1 alone boots GRUB's menu and its kernel, no rescue shell.
        boot case30-alone 30 "$work/case30-damaged.fd" - "$e1" "$r" || return 0
        grub_console_clean case30-alone
}

# refind_build_disk WORK DEBS: WORK/disk1.img, the approach-1 ESP disk 1 with rEFInd
# (Debian's refind package) as its loader and as the removable-media fallback, the kernel
# and initrd at the top with refind_linux.conf beside them (the ESP is /boot).
refind_build_disk() {
        local w=$1 x=$2 part
        part=$w/esp1.part
        dd if="$DRVM_ESP_DIR/esp1.img" of="$part" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        export MTOOLS_SKIP_CHECK=1
        mdeltree -i "$part" ::/EFI/systemd ::/loader
        mdel -i "$part" ::/EFI/BOOT/BOOTX64.EFI
        mmd -i "$part" ::/EFI/refind
        # boot the default at once (timeout -1): the kernel the scan finds
        printf 'timeout -1\nscanfor internal,manual\ndefault_selection vmlinuz\n' >"$w/refind.conf"
        printf '"dual-root VM test" "%s drvm_refind=1"\n' "$DRVM_CMDLINE" >"$w/refind_linux.conf"
        mcopy -i "$part" "$x/usr/share/refind/refind/refind_x64.efi" "$w/refind.conf" ::/EFI/refind/
        mcopy -i "$part" "$x/usr/share/refind/refind/refind_x64.efi" ::/EFI/BOOT/BOOTX64.EFI
        mcopy -i "$part" "$w/refind.conf" ::/EFI/BOOT/refind.conf
        mcopy -i "$part" "$w/refind_linux.conf" ::/refind_linux.conf
        cp --sparse=always "$DRVM_ESP_DIR/esp1.img" "$w/disk1.img"
        dd if="$part" of="$w/disk1.img" bs=1M seek=1 conv=notrunc,sparse status=none
        rm -f "$part"
}

refind_disk() {
        local key dir w x d
        x=$(loader_debs_dir refind-debs refind) || return 1
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; basename "$x"
                 declare -f refind_build_disk; } | sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/refind-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mdeltree mdel mmd mcopy apt-get dpkg-deb
                drvm_log "building the rEFInd disk ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/refind-build.XXXXXX")
                refind_build_disk "$w" "$x" >&2 || { rm -rf "$w"; return 1; }
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk1.img" "$dir/"
                rm -rf "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/refind-*; do
                        case "$d" in "$dir" | "$DRVM_CACHE"/refind-debs-*) continue ;; esac
                        [ -d "$d" ] && rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

# One boot: disk 0 missing, fresh NVRAM: the firmware starts disk 1's fallback, rEFInd.
case31() {
        local d e1 r
        d=$(refind_disk) || { not_run 31 "the rEFInd disk cannot be built"; return; }
        e1=$(fresh c31.disk1 "$d/disk1.img")
        r=$(fresh c31.root "$DRVM_ROOT_DIR/root.img")
        boot case31-alone 31 "$DRVM_OVMF_VARS" - "$e1" "$r" || true
}
