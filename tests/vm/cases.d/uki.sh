# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Case 33: a unified kernel image (UKI) the firmware starts directly (DESIGN.md §11b L11),
# host half; the guest half is guest/cases.d/uki.sh. Sourced by tests/vm/run.
#
# Its own disk 1, derived from the cached approach-1 ESP disk 1 (same GPT, PARTUUID and FAT
# volume id) with mtools, never mounted here, and cached in $DRVM_CACHE/uki-KEY: systemd-boot,
# its loader/ and the loose kernel and initrd removed, so that nothing but the UKI can start;
# the UKI as the removable-media fallback \EFI\BOOT\BOOTX64.EFI. The UKI is built here with
# objcopy from systemd's stub (Debian 12 has no ukify): .osrel, .cmdline (the cached image's
# loader entry's options and the marker drvm.uki=1), .linux and .initrd (the files that entry
# names), each at its own address above the stub.

title[33]="UKI: disk 1 alone, fresh NVRAM: the firmware starts the UKI at disk 1's fallback directly, with its own .cmdline; --status follows it (L11)"

# Where objcopy puts the sections (the classic recipe): the stub's image ends below the first.
UKI_VMA_OSREL=0x20000
UKI_VMA_CMDLINE=0x30000
UKI_VMA_LINUX=0x2000000
UKI_VMA_INITRD=0x3000000
UKI_STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub

# uki_fits NAME FILE VMA NEXT: FILE's size leaves NAME below the next section's address
uki_fits() {
        local size
        size=$(stat -c %s "$2") || return 1
        if [ "$((${3} + size))" -gt "$(($4))" ]; then
                drvm_log "UKI: $1 ($size bytes at $3) would overlap the next section at $4"
                return 1
        fi
}

# uki_build_disk WORK: WORK/disk1.img, the approach-1 ESP disk 1 with only a UKI, at its
# removable-media fallback
uki_build_disk() {
        local w=$1 part entry linux initrd
        part=$w/esp1.part
        dd if="$DRVM_ESP_DIR/esp1.img" of="$part" bs=1M skip=1 count="$DRVM_ESP_MIB" status=none
        export MTOOLS_SKIP_CHECK=1
        # The loader entry the cached image boots: its options, kernel and initrd
        mtype -i "$part" ::/loader/entries/debian.conf | tr -d '\r' >"$w/entry" || return 1
        entry=$(sed -n 's/^options[[:space:]]\{1,\}//p' "$w/entry")
        linux=$(sed -n 's/^linux[[:space:]]\{1,\}//p' "$w/entry")
        initrd=$(sed -n 's/^initrd[[:space:]]\{1,\}//p' "$w/entry")
        if [ -z "$entry" ] || [ -z "$linux" ] || [ -z "$initrd" ]; then
                drvm_log "UKI: the cached ESP's loader entry lacks options, linux or initrd"
                return 1
        fi
        mcopy -n -i "$part" "::$linux" "$w/linux" && mcopy -n -i "$part" "::$initrd" "$w/initrd" || return 1
        printf '%s drvm.uki=1' "$entry" >"$w/cmdline"
        printf '%s\n' 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm), dual-root VM test UKI"' \
                'NAME="Debian GNU/Linux"' 'ID=debian' 'VERSION_ID="12"' >"$w/os-release"
        uki_fits .osrel "$w/os-release" "$UKI_VMA_OSREL" "$UKI_VMA_CMDLINE" &&
                uki_fits .cmdline "$w/cmdline" "$UKI_VMA_CMDLINE" "$UKI_VMA_LINUX" &&
                uki_fits .linux "$w/linux" "$UKI_VMA_LINUX" "$UKI_VMA_INITRD" || return 1
        objcopy \
                --add-section .osrel="$w/os-release" --change-section-vma .osrel="$UKI_VMA_OSREL" \
                --add-section .cmdline="$w/cmdline" --change-section-vma .cmdline="$UKI_VMA_CMDLINE" \
                --add-section .linux="$w/linux" --change-section-vma .linux="$UKI_VMA_LINUX" \
                --add-section .initrd="$w/initrd" --change-section-vma .initrd="$UKI_VMA_INITRD" \
                "$UKI_STUB" "$w/uki.efi" || return 1
        # Nothing but the UKI can start this disk
        mdeltree -i "$part" ::/EFI/systemd ::/loader
        mdel -i "$part" ::/EFI/BOOT/BOOTX64.EFI "::$linux" "::$initrd"
        mcopy -i "$part" "$w/uki.efi" ::/EFI/BOOT/BOOTX64.EFI
        cp --sparse=always "$DRVM_ESP_DIR/esp1.img" "$w/disk1.img"
        dd if="$part" of="$w/disk1.img" bs=1M seek=1 conv=notrunc,sparse status=none
        rm -f "$part"
}

# uki_disk: the directory holding disk1.img, built once per recipe (the cached root and ESP
# stages, the stub, this file's functions).
uki_disk() {
        local key dir w d
        [ -f "$UKI_STUB" ] || { drvm_log "no $UKI_STUB (Debian's systemd-boot-efi)"; return 1; }
        key=$( { basename "$DRVM_ROOT_DIR"; basename "$DRVM_ESP_DIR"; sha256sum <"$UKI_STUB"
                 declare -f uki_fits uki_build_disk
                 echo "$UKI_VMA_OSREL $UKI_VMA_CMDLINE $UKI_VMA_LINUX $UKI_VMA_INITRD"; } |
                sha256sum | cut -c1-16)
        dir=$DRVM_CACHE/uki-$key
        if [ ! -f "$dir/ok" ]; then
                drvm_require_tools mtype mdeltree mdel mcopy objcopy
                drvm_log "building the UKI disk ($dir) ..."
                w=$(mktemp -d "$DRVM_CACHE/uki-build.XXXXXX")
                uki_build_disk "$w" >&2 || { rm -rf "$w"; return 1; }
                rm -rf "$dir"
                mkdir -p "$dir"
                mv "$w/disk1.img" "$dir/"
                rm -rf "$w"
                touch "$dir/ok"
                for d in "$DRVM_CACHE"/uki-*; do
                        [ "$d" = "$dir" ] && continue
                        [ -d "$d" ] && rm -rf --one-file-system "$d"
                done
        fi
        printf '%s\n' "$dir"
}

# One boot: disk 0 missing, fresh NVRAM: the firmware's whole-disk entry starts disk 1's
# fallback, the UKI.
case33() {
        local d e1 r
        d=$(uki_disk) || { not_run 33 "the UKI disk cannot be built"; return; }
        e1=$(fresh c33.disk1 "$d/disk1.img")
        r=$(fresh c33.root "$DRVM_ROOT_DIR/root.img")
        boot case33-alone 33 "$DRVM_OVMF_VARS" - "$e1" "$r" || true
}
