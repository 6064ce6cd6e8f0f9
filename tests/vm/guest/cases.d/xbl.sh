# SPDX-License-Identifier: MIT
# Case 14, approach 2 on the original manual's Table 1 (guest/xbl-layout), guest half: one
# function per boot of tests/vm/cases.d/xbl.sh. Sourced by guest/vmtest after guest/cases.

. "$PAYLOAD/guest/xbl-layout"

# How disk 1 is made in the first boot:
#   tool    dual-root-tool --add-disk DEVICE on the running one-disk machine (issue 19);
#   manual  the original manual's chapters 4 and 5 by hand (sgdisk, mkfs, mount, fstab
#           lines, the config with swap_ids), the copy by dual-root-tool -s, the firmware
#           entry by --fix-boot-entries: for a tool whose --add-disk cannot make an
#           approach-2 twin yet. Every later check is the same either way.
XBL_ADD_DISK=${XBL_ADD_DISK:-tool}

# The payload installs the suite's own config over /etc/dual-root/sync-daemon.conf at every
# boot: the machine's config is kept here (on both disks) and put back by xbl_conf.
XBL_CONF_KEEP=/etc/dual-root/xbl-vmtest.conf
XBL_ALT=/mnt/root1

# xbl_tool_long ARGS...: the tool (as tool() in vmtest) with a longer limit, for --add-disk
# and the first copy of a whole root under TCG
xbl_tool_long() {
        timeout 900 dual-root-tool "$@" >"$WORK/out" 2>"$WORK/err"
        TOOL_RC=$?
        TOOL_OUT=$(cat "$WORK/out")
        TOOL_ERR=$(cat "$WORK/err")
        say "LOG $DRVM_CASE \$ dual-root-tool $* -> exit $TOOL_RC"
        sed 's/^/  out: /' "$WORK/out" | log
        sed 's/^/  err: /' "$WORK/err" | log
}

# xbl_efi_list NAME-GUID: a UTF-16LE string or string list variable, one string a line
xbl_efi_list() {
        [ -f "$EFIVARS/$1" ] || return 0
        # (read whole through a pipe: efivarfs files cannot seek)
        cat "$EFIVARS/$1" | od -An -v -j4 -tu2 | tr -s ' ' '\n' |
                awk 'NF { if ($1 == 0) printf "\n"; else printf "%c", $1 }'
}

# xbl_disk_of DEV: the whole disk (vda) holding partition DEV
xbl_disk_of() { lsblk -dn -o PKNAME "$1" 2>/dev/null; }
# xbl_blkid DEV TAG: one value libblkid reads from the device itself
xbl_blkid() { blkid -p -o value -s "$2" "$1" 2>/dev/null | lower; }
# xbl_fstab_field FSTAB TARGET FIELD: field FIELD (1 the source, 4 the options) of FSTAB's
# line for TARGET; xbl_fstab_dev FSTAB TARGET: the device that line names
xbl_fstab_field() { awk -v t="$2" -v f="$3" '$1 !~ /^#/ && $2 == t { print $f; exit }' "$1" 2>/dev/null; }
xbl_fstab_dev() {
        local src
        src=$(xbl_fstab_field "$1" "$2" 1)
        [ -n "$src" ] && findfs "$src" 2>/dev/null
}

xbl_lsblk() {
        lsblk -o NAME,PARTTYPE,FSTYPE,LABEL,UUID,PARTUUID,MOUNTPOINTS 2>&1 | sed 's/^/  lsblk: /' | log
        swapon --show 2>&1 | sed 's/^/  swap: /' | log
}

# xbl_expect_booted N: the firmware, the loader and the mounts agree that this is disk N's
# system: LoaderDevicePartUUID names an ESP on disk D (disk 0: its fixed PARTUUID), the
# selected loader entry is one systemd-boot read from D's XBOOTLDR partition, /efi, /boot
# and / are D's ESP, XBOOTLDR and root partitions, the kernel command line names that root,
# and D's own fstab says so. Sets XBL_DISK (vda), XBL_ROOT_UUID.
xbl_expect_booted() {
        local n=$1 pu esp sel ents src t dev
        pu=$(loader_partuuid)
        esp=$(partuuid_dev "$pu")
        XBL_DISK=$(xbl_disk_of "$esp")
        if [ "$n" = 0 ]; then
                check xbl-loader "LoaderDevicePartUUID=$pu, want disk 0's ESP $DRVM_ESP0_PARTUUID" \
                        [ "$pu" = "$DRVM_ESP0_PARTUUID" ]
        else
                check xbl-loader "LoaderDevicePartUUID=$pu ($esp on ${XBL_DISK:-?}), not disk 0's ESP" \
                        eval '[ -n "$XBL_DISK" ] && [ "$pu" != "$DRVM_ESP0_PARTUUID" ]'
        fi
        sel=$(xbl_efi_list "LoaderEntrySelected-$LOADER_GUID" | head -n 1)
        ents=$(xbl_efi_list "LoaderEntries-$LOADER_GUID" | paste -sd' ')
        info "systemd-boot found '$ents', booted '$sel'; BootCurrent=Boot$(boot_current) '$(boot_label "$(boot_current)")' $(boot_path "$(boot_current)")"
        check xbl-entry-from-xbootldr "the entry systemd-boot booted ($sel) is on the XBOOTLDR partition (/boot/loader/entries), not the ESP" \
                eval '[ -n "$sel" ] && [ -f "/boot/loader/entries/${sel%.conf}.conf" ] && [ ! -e "/efi/loader/entries/${sel%.conf}.conf" ]'
        dev=$(findmnt -n -o SOURCE /efi)
        check xbl-efi "/efi is ${dev:-nothing}, want the booted ESP $esp" [ "$dev" = "$esp" ]
        dev=$(findmnt -n -o SOURCE /boot)
        t=$(xbl_blkid "$dev" PART_ENTRY_TYPE)
        check xbl-boot "/boot is ${dev:-nothing} (type $t), want the XBOOTLDR partition of $XBL_DISK" \
                eval '[ "$t" = "$XBL_XBOOTLDR_TYPE" ] && [ "$(xbl_disk_of "$dev")" = "$XBL_DISK" ]'
        dev=$(findmnt -n -o SOURCE /)
        XBL_ROOT_UUID=$(findmnt -n -o UUID /)
        check xbl-findmnt-root "findmnt /: $dev UUID $XBL_ROOT_UUID, on $XBL_DISK" \
                eval '[ "$(xbl_disk_of "$dev")" = "$XBL_DISK" ]'
        if [ "$n" = 0 ]; then
                check xbl-root0 "root UUID $XBL_ROOT_UUID, want disk 0's $XBL_ROOT0_UUID" [ "$XBL_ROOT_UUID" = "$XBL_ROOT0_UUID" ]
        else
                check xbl-root-own "root UUID $XBL_ROOT_UUID, its own, not disk 0's" \
                        eval '[ -n "$XBL_ROOT_UUID" ] && [ "$XBL_ROOT_UUID" != "$XBL_ROOT0_UUID" ]'
        fi
        check xbl-cmdline-root "/proc/cmdline: $(cat /proc/cmdline)" grep -q "root=UUID=$XBL_ROOT_UUID " /proc/cmdline
        src="/ $(xbl_fstab_field /etc/fstab / 1), /boot $(xbl_fstab_field /etc/fstab /boot 1), /efi $(xbl_fstab_field /etc/fstab /efi 1)"
        check xbl-own-fstab "fstab: $src, each a partition of $XBL_DISK" \
                eval '[ "$(xbl_disk_of "$(xbl_fstab_dev /etc/fstab /)")" = "$XBL_DISK" ] &&
                      [ "$(xbl_disk_of "$(xbl_fstab_dev /etc/fstab /boot)")" = "$XBL_DISK" ] &&
                      [ "$(xbl_disk_of "$(xbl_fstab_dev /etc/fstab /efi)")" = "$XBL_DISK" ]'
        info "swap in use: $(swapon --show=NAME --noheadings | paste -sd' ')"
        info "bind-mount-efi.service: $(systemctl show -P ActiveState bind-mount-efi.service)/$(systemctl show -P Result bind-mount-efi.service)"
        xbl_lsblk
}

# xbl_tree_bootable DIR ROOTUUID: every loader entry on the XBOOTLDR tree DIR names files
# present there (not empty) and the root ROOTUUID, and there is one. Prints what is wrong.
xbl_tree_bootable() {
        local e k n=0
        for e in "$1"/loader/entries/*.conf; do
                [ -f "$e" ] || continue
                n=$((n + 1))
                for k in $(awk '$1 == "linux" || $1 == "initrd" { print $2 }' "$e"); do
                        [ -s "$1$k" ] || { echo "${e#"$1"/} names $k, which is missing or empty"; return 1; }
                done
                grep -q "^options.* root=UUID=$2 " "$e" || { echo "${e#"$1"/} does not boot root $2"; return 1; }
        done
        [ "$n" -ge 1 ] || { echo "no loader entry"; return 1; }
}

# xbl_entry_of_dev ESPDEV: the #### of the firmware entry of the ESP ESPDEV (efibootmgr's view)
xbl_entry_of_dev() {
        local pu
        pu=$(xbl_blkid "$1" PART_ENTRY_UUID)
        grep -i "HD(1,GPT,$pu," "$WORK/efibootmgr" | sed -n 's/^Boot\([0-9A-Fa-f]\{4\}\).*/\1/p' | head -n 1
}

# xbl_bootnext_disk1 ESPDEV: BootNext = the firmware entry of disk 1's ESP ESPDEV, so that the
# next boot starts that very entry whatever stands before it in BootOrder (OVMF's own shell
# and its whole-disk entries, re-made at each boot, stand there)
xbl_bootnext_disk1() {
        local pu entry
        pu=$(xbl_blkid "$1" PART_ENTRY_UUID)
        efibootmgr_refresh
        entry=$(grep -i "HD(1,GPT,$pu," "$WORK/efibootmgr" | sed -n 's/^Boot\([0-9A-Fa-f]\{4\}\).*/\1/p' | head -n 1)
        check xbl-bootnext "BootNext = Boot${entry:-?}, disk 1's entry ($pu)" \
                eval '[ -n "$entry" ] && efibootmgr -q -n "$entry"'
}

# xbl_conf: the machine's config back in place (see XBL_CONF_KEEP); the suite's daemon,
# started at boot with the suite's config, stopped: this case syncs by hand
xbl_conf() {
        systemctl stop dual-root-syncd.service 2>/dev/null
        if [ -f "$XBL_CONF_KEEP" ]; then
                cp "$XBL_CONF_KEEP" /etc/dual-root/sync-daemon.conf
        fi
        sed 's/^/  conf: /' /etc/dual-root/sync-daemon.conf | log
}

# xbl_manual_twin DISK0 DEV1: disk 1 made by the original manual's steps (chapters 4, 5)
xbl_manual_twin() {
        local d0=$1 d1=$2 o="nofail,x-systemd.device-timeout=30s"
        {
                sgdisk -R "$d1" "$d0" && sgdisk -G "$d1" &&
                        sgdisk -c 1:esp1 -c 2:boot1 -c 3:root1 -c 4:swap1 "$d1" &&
                        udevadm settle &&
                        mkfs.vfat -F 32 -n ESP1 "${d1}1" &&
                        mkfs.ext4 -q -F -L boot1 "${d1}2" &&
                        mkfs.ext4 -q -F -L root1 "${d1}3" &&
                        mkswap -L swap1 "${d1}4" &&
                        udevadm settle &&
                        mkdir -p "$XBL_ALT" && mount "${d1}3" "$XBL_ALT" &&
                        mkdir -p "$XBL_ALT/boot" "$XBL_ALT/efi" &&
                        mount "${d1}2" "$XBL_ALT/boot" && mount "${d1}1" "$XBL_ALT/efi"
        } 2>&1 | sed 's/^/  manual: /' | log
        cat >>/etc/fstab <<EOF
UUID=$(xbl_blkid "${d1}3" UUID) $XBL_ALT ext4 $o 0 2
UUID=$(xbl_blkid "${d1}2" UUID) $XBL_ALT/boot ext4 $o 0 2
UUID=$(xbl_blkid "${d1}1" UUID | tr '[:lower:]' '[:upper:]') $XBL_ALT/efi vfat umask=0077,$o 0 2
EOF
        cat >/etc/dual-root/sync-daemon.conf <<'EOF'
# approach 2 (VM case 14), the original manual's layout, written by hand
esp_mounts = ["/efi", "/mnt/root1/efi"]
swap_ids = ["/etc/fstab", "/boot/loader/entries/"]
sync = [
        ["/boot/", "/mnt/root1/boot/"],
        ["/", "/mnt/root1/", ["/mnt/*", "/tmp/*", "/lost+found/"]],
]
EOF
        systemctl daemon-reload
        xbl_tool_long -s
        check xbl-manual-sync "the first copy by -s: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        tool --fix-boot-entries
        check xbl-manual-entry "--fix-boot-entries: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
}

# xbl_tool_add_disk DISK0 DEV1: disk 1 made by --add-disk, as an administrator gets there
# from the stock config: each refusal names what to set, which is set, then the command again
xbl_tool_add_disk() {
        local d0=$1 dev1=$2 t0 secs conf=/etc/dual-root/sync-daemon.conf
        tool --add-disk "$dev1" -t
        if [ "$TOOL_RC" != 0 ] && grep -q 'esp_mounts = \[' <<<"$TOOL_ERR"; then
                info "--add-disk -t with the stock config: exit $TOOL_RC, asks for esp_mounts"
                printf 'esp_mounts = ["/efi", "%s/efi"]\n' "$XBL_ALT" >>"$conf"
                tool --add-disk "$dev1" -t
        fi
        if [ "$TOOL_RC" != 0 ] && grep -q '^sync = \[' <<<"$TOOL_ERR"; then
                info "--add-disk -t: exit $TOOL_RC, prints the sync list and swap_ids to set"
                # the keys it printed, in place of the ones set before
                sed -i '/^esp_mounts *=/d' "$conf"
                awk '/^esp_mounts = / { on = 1 } on { print } on && /^swap_ids = / { exit }' <<<"$TOOL_ERR" >>"$conf"
                sed 's/^/  conf: /' "$conf" | log
                tool --add-disk "$dev1" -t
        fi
        check xbl-add-test "--add-disk $dev1 -t: exit $TOOL_RC, want 0, the disk left blank" \
                eval '[ "$TOOL_RC" = 0 ] && ! blkid -p "$dev1" >/dev/null 2>&1'
        t0=$(date +%s.%N)
        xbl_tool_long --add-disk "$dev1" -v
        secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        info "--add-disk $dev1: exit $TOOL_RC in ${secs}s; its steps: $(grep -oE '^step [0-9]+[^:]*: [0-9.]+ ?s' <<<"$TOOL_OUT$TOOL_ERR" | paste -sd',')"
        check xbl-add "--add-disk $dev1 on the running one-disk machine: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        if [ "$TOOL_RC" != 0 ] && ! mountpoint -q "$XBL_ALT"; then
                info "--add-disk failed: disk 1 made by the manual's steps instead, so the later boots run"
                wipefs -a "$dev1" >/dev/null 2>&1
                xbl_manual_twin "$d0" "$dev1"
        fi
}

run_case14_add() {
        local d0 dev1 t0 secs p n t0s t1s u0 u1 bad st f
        xbl_expect_booted 0
        d0=/dev/$XBL_DISK
        dev1=$(readlink -f /dev/disk/by-id/virtio-drvm-esp1)
        check xbl-disk1-blank "disk 1 ($dev1) blank: $(blkid -p "$dev1" 2>&1 | head -c 200)" \
                eval '[ -b "$dev1" ] && ! blkid -p "$dev1" >/dev/null 2>&1 && [ -z "$(lsblk -n -o NAME "$dev1" | tail -n +2)" ]'
        xbl_conf

        if [ "$XBL_ADD_DISK" = tool ]; then
                xbl_tool_add_disk "$d0" "$dev1"
        else
                skip xbl-add "--add-disk for approach 2 not switched on (XBL_ADD_DISK=$XBL_ADD_DISK): disk 1 made by the manual's steps"
                t0=$(date +%s.%N)
                xbl_manual_twin "$d0" "$dev1"
                info "manual steps and the first -s: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
        fi
        xbl_lsblk
        sed 's/^/  disk 0 fstab: /' /etc/fstab | log
        sed 's/^/  disk 1 fstab: /' "$XBL_ALT/etc/fstab" 2>&1 | log

        # the twin: disk 0's GPT with new GUIDs, filesystems made like their twins, labels
        # with disk 1's suffix
        st=ok
        bad=
        for n in 1 2 3 4; do
                p=${dev1}$n
                t0s=$(xbl_blkid "$d0$n" PART_ENTRY_TYPE) t1s=$(xbl_blkid "$p" PART_ENTRY_TYPE)
                u0=$(xbl_blkid "$d0$n" PART_ENTRY_UUID) u1=$(xbl_blkid "$p" PART_ENTRY_UUID)
                [ -n "$t1s" ] && [ "$t0s" = "$t1s" ] && [ -n "$u1" ] && [ "$u0" != "$u1" ] || { st=no; bad="$bad $n:type=$t1s,partuuid=$u1"; }
                [ "$(xbl_blkid "$d0$n" PART_ENTRY_SIZE)" = "$(xbl_blkid "$p" PART_ENTRY_SIZE)" ] || { st=no; bad="$bad $n:size"; }
                [ "$(xbl_blkid "$d0$n" TYPE)" = "$(xbl_blkid "$p" TYPE)" ] || { st=no; bad="$bad $n:fs=$(xbl_blkid "$p" TYPE)"; }
                [ "$(xbl_blkid "$d0$n" UUID)" != "$(xbl_blkid "$p" UUID)" ] || { st=no; bad="$bad $n:same-uuid"; }
        done
        check xbl-twin-gpt "disk 1: disk 0's partitions (type, size, filesystem) with GUIDs and UUIDs of its own${bad:+; wrong:$bad}" [ "$st" = ok ]
        check xbl-twin-esp-label "disk 1's ESP label '$(xbl_blkid "${dev1}1" LABEL)', want esp1 (disk 0's: esp0)" \
                [ "$(xbl_blkid "${dev1}1" LABEL)" = esp1 ]
        check xbl-twin-labels "labels with disk 1's suffix: $(for n in 2 3 4; do printf '%s ' "$(xbl_blkid "${dev1}$n" LABEL)"; done)(want boot1 root1 swap1)" \
                eval '[ "$(xbl_blkid "${dev1}2" LABEL)" = boot1 ] && [ "$(xbl_blkid "${dev1}3" LABEL)" = root1 ] && [ "$(xbl_blkid "${dev1}4" LABEL)" = swap1 ]'
        check xbl-twin-mounted "$XBL_ALT $(findmnt -n -o SOURCE "$XBL_ALT"), $XBL_ALT/boot $(findmnt -n -o SOURCE "$XBL_ALT/boot"), $XBL_ALT/efi $(findmnt -n -o SOURCE "$XBL_ALT/efi")" \
                eval '[ "$(findmnt -n -o SOURCE "$XBL_ALT")" = "${dev1}3" ] && [ "$(findmnt -n -o SOURCE "$XBL_ALT/boot")" = "${dev1}2" ] &&
                      [ "$(findmnt -n -o SOURCE "$XBL_ALT/efi")" = "${dev1}1" ]'
        check xbl-fstab-disk0 "disk 0's fstab mounts disk 1 under $XBL_ALT, nofail" \
                eval '[ "$(xbl_fstab_dev /etc/fstab "$XBL_ALT")" = "${dev1}3" ] && [ "$(xbl_fstab_dev /etc/fstab "$XBL_ALT/boot")" = "${dev1}2" ] &&
                      [ "$(xbl_fstab_dev /etc/fstab "$XBL_ALT/efi")" = "${dev1}1" ] &&
                      [[ ,$(xbl_fstab_field /etc/fstab "$XBL_ALT" 4), == *,nofail,* ]]'
        f=$XBL_ALT/etc/fstab
        check xbl-fstab-disk1 "disk 1's fstab: / boot efi on disk 1, disk 0 under $XBL_ALT" \
                eval '[ "$(xbl_fstab_dev "$f" /)" = "${dev1}3" ] && [ "$(xbl_fstab_dev "$f" /boot)" = "${dev1}2" ] &&
                      [ "$(xbl_fstab_dev "$f" /efi)" = "${dev1}1" ] && [ "$(xbl_fstab_dev "$f" "$XBL_ALT")" = "${d0}3" ]'
        u1=$(xbl_blkid "${dev1}3" UUID)
        check xbl-twin-entries "disk 1's XBOOTLDR: $(xbl_tree_bootable "$XBL_ALT/boot" "$u1" || true)" \
                eval 'xbl_tree_bootable "$XBL_ALT/boot" "$u1" >/dev/null && ! grep -rq "$XBL_ROOT0_UUID" "$XBL_ALT/boot/loader/entries/"'
        check xbl-twin-driver "disk 1's ESP holds systemd-boot, the fallback loader and \\EFI\\systemd\\drivers\\$XBL_DRIVER" \
                eval 'cmp -s "/efi/EFI/systemd/drivers/$XBL_DRIVER" "$XBL_ALT/efi/EFI/systemd/drivers/$XBL_DRIVER" &&
                      cmp -s /efi/EFI/BOOT/BOOTX64.EFI "$XBL_ALT/efi/EFI/BOOT/BOOTX64.EFI" &&
                      [ -f "$XBL_ALT/efi/EFI/systemd/systemd-bootx64.efi" ]'
        check xbl-twin-root "disk 1's root holds the system (modules of $(uname -r), dual-root-tool, the config)" \
                eval '[ -d "$XBL_ALT/usr/lib/modules/$(uname -r)" ] && cmp -s /usr/bin/dual-root-tool "$XBL_ALT/usr/bin/dual-root-tool" &&
                      [ -s "$XBL_ALT/etc/dual-root/sync-daemon.conf" ]'
        info "disk 1's root: $(du -sm -x "$XBL_ALT" | cut -f1) MiB, disk 0's: $(du -sm -x / | cut -f1) MiB"
        efibootmgr_refresh
        sed 's/^/  efibootmgr: /' "$WORK/efibootmgr" | log
        p=$(xbl_blkid "${dev1}1" PART_ENTRY_UUID)
        check xbl-twin-bootentry "a firmware entry for disk 1's ESP (PARTUUID $p)" \
                eval '[ -n "$p" ] && grep -qi "HD(1,GPT,$p," "$WORK/efibootmgr"'

        tool --check-config
        check xbl-check-config "--check-config: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        tool --status
        info "--status: exit $TOOL_RC: $(grep -m1 -E '^(OK|WARNING|CRITICAL|UNKNOWN)' <<<"$TOOL_OUT")"
        check xbl-status "--status after the twin was made: exit $TOOL_RC, want 0 (OK)" [ "$TOOL_RC" = 0 ]

        tool -b -t
        info "-b -t (bind-mount-efi.service, approach 1's, is enabled by the suite) with this config: exit $TOOL_RC: $(head -c 300 <<<"$TOOL_OUT$TOOL_ERR" | paste -sd' ')"
        # the entry --add-disk made stands before OVMF's shell (DESIGN.md §11 E3)
        efibootmgr_refresh
        xbl_order=$(sed -n 's/^BootOrder: //p' "$WORK/efibootmgr")
        xbl_new=$(xbl_entry_of_dev "${dev1}1")
        xbl_shell=$(sed -n 's/^Boot\([0-9A-Fa-f]\{4\}\)[* ] EFI Internal Shell.*/\1/p' "$WORK/efibootmgr" | head -n 1)
        check xbl-boot-order "BootOrder $xbl_order: disk 1's Boot${xbl_new:-?} before the shell (Boot${xbl_shell:-none})" \
                eval '[ -n "$xbl_new" ] && { [ -z "$xbl_shell" ] || [[ ",$xbl_order," == *",$xbl_new,"*",$xbl_shell,"* ]]; }'

        # the machine's config, kept for the later boots: on disk 1 through the sync (a
        # copy written there by hand would be a change the rollback guard rightly refuses
        # to overwrite), which is also the first -s after --add-disk's first copy
        cp /etc/dual-root/sync-daemon.conf "$XBL_CONF_KEEP"
        xbl_tool_long -s
        check xbl-resync "-s after --add-disk (the kept config carried to disk 1): exit $TOOL_RC, want 0" \
                eval '[ "$TOOL_RC" = 0 ] && cmp -s "$XBL_CONF_KEEP" "$XBL_ALT$XBL_CONF_KEEP"'
        sync
}

# xbl_bootcurrent_own: BootCurrent is the entry of the booted ESP (the one BootNext named)
xbl_bootcurrent_own() {
        local cur path
        cur=$(boot_current)
        path=$(boot_path "$cur")
        check xbl-bootcurrent "BootCurrent=Boot$cur '$(boot_label "$cur")' $path: the entry of the booted ESP" \
                eval '[[ $(lower <<<"$path") == *"$(loader_partuuid)"* ]]'
}

# xbl_kernel KVER: a kernel update on disk 0's XBOOTLDR as kernel-install writes it: the
# booted kernel and initrd under version KVER, and its entry (naming disk 0's root)
xbl_kernel() {
        local k=$1 cur
        cur=$(uname -r)
        # whole files, as a package writes them (rEFInd's ext4 driver reads no holes)
        cp --sparse=never "/boot/vmlinuz-$cur" "/boot/vmlinuz-$k"
        cp --sparse=never "/boot/initrd.img-$cur" "/boot/initrd.img-$k"
        sed -e "s/^title .*/title   Debian $k (XBOOTLDR)/" -e "s/^version .*/version $k/" \
                -e "s|/vmlinuz-$cur|/vmlinuz-$k|" -e "s|/initrd.img-$cur|/initrd.img-$k|" \
                -e "s/ $XBL_MARK=[^ ]*/ $XBL_MARK=$k/" \
                "/boot/loader/entries/debian-$cur.conf" >"/boot/loader/entries/debian-$k.conf"
}

run_case14_cut() {
        local k1 k2 e d i u1 delay
        xbl_expect_booted 0
        xbl_conf
        u1=$(findmnt -n -o UUID "$XBL_ALT")
        # What changed on disk 0 since (its logs, this boot) reaches disk 1
        xbl_tool_long -s
        check xbl-sync-again "-s, booted from disk 0 again: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]

        # Kernel update 1, mirrored
        k1=$(uname -r)-$XBL_UPD1
        xbl_kernel "$k1"
        sync
        xbl_tool_long -s
        check xbl-upd1-sync "kernel update $k1 on disk 0, -s: exit $TOOL_RC, want 0" [ "$TOOL_RC" = 0 ]
        e=$XBL_ALT/boot/loader/entries/debian-$k1.conf
        sed 's/^/  disk 1 entry: /' "$e" 2>&1 | log
        check xbl-upd1-files "disk 1's XBOOTLDR holds $k1's kernel and initrd" \
                eval 'cmp -s "/boot/vmlinuz-$k1" "$XBL_ALT/boot/vmlinuz-$k1" && cmp -s "/boot/initrd.img-$k1" "$XBL_ALT/boot/initrd.img-$k1"'
        check xbl-upd1-entry "disk 1's entry for $k1 boots disk 1's root ($u1)" \
                eval 'grep -q "^options.* root=UUID=$u1 .*$XBL_MARK=$k1" "$e" && ! grep -q "$XBL_ROOT0_UUID" "$e"'
        tool --status
        info "--status after the update: exit $TOOL_RC: $(grep -m1 -E '^(OK|WARNING|CRITICAL|UNKNOWN)' <<<"$TOOL_OUT")"
        check xbl-upd1-status "--status after the mirrored update: exit $TOOL_RC, want 0 (OK)" [ "$TOOL_RC" = 0 ]

        # the boot after the cut starts disk 1's entry
        xbl_bootnext_disk1 "$(findmnt -n -o SOURCE "$XBL_ALT/efi")"

        # Kernel update 2: a new set, the older ones removed (disk 0 then boots only the new
        # one); its mirror is cut by a power failure.
        k2=$(uname -r)-$XBL_UPD2
        xbl_kernel "$k2"
        for d in "$(uname -r)" "$k1"; do
                rm -f "/boot/loader/entries/debian-$d.conf" "/boot/vmlinuz-$d" "/boot/initrd.img-$d"
        done
        sync -f /boot
        info "disk 0's entries now: $(ls /boot/loader/entries | paste -sd' ')"
        # Write-back within about a second, so that the copy's partial work is on disk 1
        # when the power goes; a slow rsync, so that the cut falls inside the copy.
        sysctl -q -w vm.dirty_expire_centisecs=100 vm.dirty_writeback_centisecs=50
        printf '#!/bin/sh\nexec /usr/bin/rsync --bwlimit=1500 "$@"\n' >/usr/local/sbin/rsync-slow
        chmod 0755 /usr/local/sbin/rsync-slow
        printf 'rsync_path = "/usr/local/sbin/rsync-slow"\n' >>/etc/dual-root/sync-daemon.conf
        touch "$WORK/stamp"
        sleep 1
        dual-root-tool -s >"$WORK/cut.out" 2>&1 &
        for i in $(seq 1 120); do
                [ -n "$(find "$XBL_ALT/boot" -newer "$WORK/stamp" ! -name lost+found 2>/dev/null | head -n 1)" ] && break
                sleep 0.5
        done
        # a cut point that varies from run to run: 0 to 15 s after the copy to disk 1's
        # XBOOTLDR began (the new kernel and initrd take ~10 s at this rate, then the entry,
        # the deletions, the other items)
        delay=$((RANDOM % 16))
        sleep "$delay"
        info "power cut ${delay}s after the first write on disk 1's /boot; there: $(ls -A "$XBL_ALT/boot" "$XBL_ALT/boot/loader/entries" | paste -sd' ')"
        pass xbl-mid-copy "-s was copying kernel update $k2 to disk 1"
        info "cut"
        sleep 120
        fail xbl-power-cut "the power was not cut"
}

run_case14_after() {
        local sel
        check xbl-after-disk0-absent "no device for disk 0's ESP" [ ! -e "/dev/disk/by-partuuid/$DRVM_ESP0_PARTUUID" ]
        xbl_expect_booted 1
        xbl_bootcurrent_own
        sel=$(xbl_efi_list "LoaderEntrySelected-$LOADER_GUID" | head -n 1)
        info "after the cut disk 1 booted '$sel' ($(grep -o "$XBL_MARK=[^ ]*" /proc/cmdline))"
        info "disk 1's XBOOTLDR: $(ls -A /boot /boot/loader/entries | paste -sd' ')"
        info "record on disk 1's /boot: $(grep -E '^(intent|fingerprint)=' /boot/.dual-root-state 2>/dev/null | paste -sd' ')"
        check xbl-after-tree "every entry on disk 1's XBOOTLDR after the cut: $(xbl_tree_bootable /boot "$XBL_ROOT_UUID" || true)" \
                xbl_tree_bootable /boot "$XBL_ROOT_UUID"
        xbl_conf
        tool --status
        info "--status with disk 0 gone: exit $TOOL_RC: $(grep -m1 -E '^(OK|WARNING|CRITICAL|UNKNOWN)' <<<"$TOOL_OUT")"
}
