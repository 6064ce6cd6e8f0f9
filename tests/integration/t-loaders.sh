#!/bin/bash
# SPDX-License-Identifier: MIT
# GRUB and rEFInd (DESIGN.md §11b): --status follows each disk's chain as if the other disk
# were gone, and the sync writes each disk's copy of the loader files naming its own disk
# (L5). Debian's grub-efi layout on each ESP, approach 1 (the ESP is /boot): the stub
# EFI/debian/grub.cfg searches the ESP by its filesystem UUID and loads grub/grub.cfg, whose
# entries search it again and load the kernel and initrd from it.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"
KVER=6.1.0-27-amd64

# same_times: every file on both ESPs one modification time. --status compares the trees by
# size and time in seconds, and a test writing both ESPs in turn may cross a second between
# them: the alternate would then differ ("never synced", a WARNING) by the clock alone.
same_times() {
        find "$R/efi0" "$R/efi1" -mindepth 1 -exec touch -h -d @1700000000 {} +
}

# grub_esp DIR UUID: Debian's GRUB files on an ESP, naming the filesystem UUID.
grub_esp() {
        local d=$1 u=$2
        find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
        mkdir -p "$d/EFI/debian" "$d/EFI/BOOT" "$d/grub"
        for f in shimx64.efi grubx64.efi mmx64.efi; do loader_file efi 16384 "$d/EFI/debian/$f"; done
        loader_file efi 16384 "$d/EFI/BOOT/BOOTX64.EFI"
        printf "search.fs_uuid %s root hd0,gpt1 \nset prefix=(\$root)'/grub'\nconfigfile \$prefix/grub.cfg\n" \
                "$u" >"$d/EFI/debian/grub.cfg"
        cat >"$d/grub/grub.cfg" <<CFG
if [ -s \$prefix/grubenv ]; then
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
else
   set default="0"
fi
menuentry 'Debian GNU/Linux' --class debian \$menuentry_id_option 'gnulinux-simple' {
	insmod part_gpt
	insmod fat
	if [ x\$feature_platform_search_hint = xy ]; then
	  search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 $u
	else
	  search --no-floppy --fs-uuid --set=root $u
	fi
	linux	/vmlinuz-$KVER root=UUID=$ROOTFS ro quiet
	initrd	/initrd.img-$KVER
}
CFG
        loader_file kernel 65536 "$d/vmlinuz-$KVER"
        loader_file initrd 4096 "$d/initrd.img-$KVER"
}
ROOTFS=0b5e0000-1234-4567-89ab-0000000000f0

# A GRUB machine booted from disk 0, firmware entries for shim on both ESPs; disk 1 holds a
# plain copy of disk 0's files (its stub names disk 0's ESP), as a copy by hand leaves it.
grub_machine() {
        reset_machine
        rm -rf "$R/var/cache/debconf"
        booted_by_loader "$PU0"
        efivar bootentry 0001 "debian" --hd 1 "$PU0" --file '\EFI\debian\shimx64.efi'
        efivar bootentry 0002 "debian (disk 1)" --hd 1 "$PU1" --file '\EFI\debian\shimx64.efi'
        efivar bootorder 0001,0002
        grub_esp "$R/efi0" "$FS0"
        grub_esp "$R/efi1" "$FS0"
        same_times
        run_tool -b -q
        expect_status 0
}

stub_naming_the_other_disk_is_critical() {
        grub_machine
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/EFI/debian/grub.cfg:1: search --fs-uuid $FS0 finds /efi0, on the other disk, and no filesystem of this disk: with that disk gone GRUB does not find it"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
        expect_stdout_has "OK loader: GRUB (EFI/debian/grub.cfg): 1 entry, 1 complete on this disk; default \"Debian GNU/Linux\" boots from it"
}

sync_writes_each_disks_own_identifiers() {
        grub_machine
        run_tool -s -t
        expect_status 0
        expect_stdout_has "swap_ids: would write /efi1/EFI/debian/grub.cfg"
        has_line "$R/efi1/EFI/debian/grub.cfg" "search.fs_uuid $FS0 root" || fail "-t wrote the stub"
        run_tool -s
        expect_status 0
        has_line "$R/efi1/EFI/debian/grub.cfg" "search.fs_uuid $FS1 root hd0,gpt1 " || fail "the alternate's stub does not name its own ESP"
        has_line "$R/efi1/grub/grub.cfg" "search --no-floppy --fs-uuid --set=root --hint-efi=hd0,gpt1 $FS1" || fail "the alternate's menu does not name its own ESP"
        has_line "$R/efi1/grub/grub.cfg" "root=UUID=$ROOTFS ro quiet" || fail "the shared root's UUID changed"
        has_line "$R/efi0/EFI/debian/grub.cfg" "search.fs_uuid $FS0 root" || fail "the booted ESP's stub changed"
        diff <(sed "s/$FS1/$FS0/g" "$R/efi1/grub/grub.cfg") "$R/efi0/grub/grub.cfg" >/dev/null || fail "the menus differ in more than the UUID"
        run_tool --status
        expect_status 0
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 yes"
        # A second sync writes nothing and the guard agrees.
        before=$(stat -c %Y "$R/efi1/EFI/debian/grub.cfg")
        sleep 1
        run_tool -s
        expect_status 0
        [ "$(stat -c %Y "$R/efi1/EFI/debian/grub.cfg")" = "$before" ] || fail "a second sync rewrote the stub"
}

default_entrys_initrd_missing_on_the_alternate() {
        grub_machine
        run_tool -s -q
        expect_status 0
        rm "$R/efi1/initrd.img-$KVER"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/grub/grub.cfg:18 (entry \"Debian GNU/Linux\"): initrd /initrd.img-$KVER: /efi1 lacks it"
        expect_stdout_has "/efi1 NO"
}

unknown_identifier_is_unknown_not_critical() {
        grub_machine
        run_tool -s -q
        sed -i "s/$FS1/0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80/" "$R/efi1/EFI/debian/grub.cfg"
        sed -i "s/$FS0/0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80/" "$R/efi0/EFI/debian/grub.cfg"
        run_tool --status
        expect_status 3
        expect_stdout_has "UNKNOWN loader: /efi1/EFI/debian/grub.cfg:1: search --fs-uuid 0f3a9c2e-5b1d-4e7a-9a41-3c2d5e6f7a80 names none of the filesystems checked (the ESPs): not followed"
}

# rEFInd with the ESP as /boot: the kernels at the top, refind_linux.conf beside them.
refind_scanned_kernel_needs_its_options() {
        reset_machine
        booted_by_loader "$PU0"
        efivar bootentry 0001 "rEFInd" --hd 1 "$PU0" --file '\EFI\refind\refind_x64.efi'
        efivar bootentry 0002 "rEFInd (disk 1)" --hd 1 "$PU1" --file '\EFI\refind\refind_x64.efi'
        efivar bootorder 0001,0002
        for n in 0 1; do
                d=$R/efi$n
                find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
                mkdir -p "$d/EFI/refind"
                loader_file efi 16384 "$d/EFI/refind/refind_x64.efi"
                printf 'timeout 5\nscanfor internal,manual\n' >"$d/EFI/refind/refind.conf"
                loader_file kernel 65536 "$d/vmlinuz-$KVER"
                loader_file initrd 4096 "$d/initrd.img-$KVER"
                printf '"Standard" "root=UUID=%s ro quiet"\n' "$ROOTFS" >"$d/refind_linux.conf"
        done
        # Both trees equal as a sync leaves them: the loop may cross a second, and the
        # status compares modification times in seconds.
        same_times
        run_tool -b -q
        expect_status 0
        run_tool --status
        expect_status 0
        expect_stdout_has "OK loader: rEFInd (EFI/refind/refind.conf): 1 entry, 1 complete on this disk; default \"vmlinuz-$KVER on /efi1\" boots from it"
        # -v: rEFInd's chain on disk 1 (L9).
        run_tool --status -v
        expect_stdout_has "  Boot0002 \"rEFInd (disk 1)\" starts \\EFI\\refind\\refind_x64.efi on /efi1"
        expect_stdout_has "  -> rEFInd reads /efi1/EFI/refind/refind.conf"
        expect_stdout_has "  -> the default entry \"vmlinuz-$KVER on /efi1\": kernel vmlinuz-$KVER on /efi1, initrd initrd.img-$KVER, refind_linux.conf's first line: root=UUID=$ROOTFS"
        rm "$R/efi1/refind_linux.conf"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: vmlinuz-$KVER on /efi1: no refind_linux.conf beside it: rEFInd would start it with no root= (write refind_linux.conf beside it)"
}

# A lost firmware entry of a shim/GRUB disk is recreated starting shim, as grub-install
# writes it, not the removable-media fallback.
fix_boot_entries_starts_the_distributors_shim() {
        grub_machine
        fake_partition "$DEV0" disk0 1 2048 65536
        fake_partition "$DEV1" disk1 1 2048 65536
        rm "$R/efivars/Boot0002-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4 DUAL_ROOT_SYSFS=/fakesys" run_tool --fix-boot-entries -t
        expect_status 0
        expect_stdout_has "/efi1: would create Boot0000 \"dual-root-tool /efi1 (disk1)\": HD(1,GPT,$PU1,0x800,0x10000)/File(\\EFI\\debian\\shimx64.efi)"
}

# Debian: grub-install on an upgrade writes only the ESPs debconf lists.
install_devices_missing_an_esp_warns() {
        grub_machine
        run_tool -s -q
        mkdir -p "$R/var/cache/debconf"
        printf 'Name: grub-efi/install_devices\nTemplate: grub-efi/install_devices\nValue: %s\nOwners: grub-efi-amd64\n\n' \
                "$DEV0" >"$R/var/cache/debconf/config.dat"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING grub: grub-efi/install_devices lists 1 device, not /efi1 ($DEV1): an upgrade of GRUB installs it on the listed ESPs only (dpkg-reconfigure grub-efi-amd64 and select every ESP)"
        printf 'Name: grub-efi/install_devices\nValue: %s, %s\n' "$DEV0" "$DEV1" >"$R/var/cache/debconf/config.dat"
        run_tool --status
        expect_status 0
        rm -r "$R/var/cache/debconf"
}

# --status -v: each disk's chain link by link, as if the other disk were gone (L9): the
# firmware's entry, shim and GRUB, the stub's search, the menu, the default entry, its files
# and root=, and the first broken link with its level.
verbose_status_shows_each_disks_chain() {
        grub_machine
        run_tool --status -v
        expect_status 2
        expect_stdout_has "/efi1: its boot chain, as if the other disk were gone:"
        expect_stdout_has "  Boot0002 \"debian (disk 1)\" starts \\EFI\\debian\\shimx64.efi on /efi1"
        expect_stdout_has "  -> /efi1/EFI/debian/shimx64.efi: shim (Secure Boot in the chain) starts EFI/debian/grubx64.efi beside it"
        expect_stdout_has "  -> GRUB reads its stub /efi1/EFI/debian/grub.cfg"
        expect_stdout_has "  -> CRITICAL /efi1/EFI/debian/grub.cfg:1: search --fs-uuid $FS0 finds /efi0, on the other disk"
        run_tool -s -q
        run_tool --status -v
        expect_status 0
        # Disk 1's chain names disk 1 alone, link after link, in order.
        sed -n '/^\/efi1: its boot chain/,$p' "$OUT" >"$W/chain1"
        cat >"$W/want1" <<WANT
/efi1: its boot chain, as if the other disk were gone:
  Boot0002 "debian (disk 1)" starts \\EFI\\debian\\shimx64.efi on /efi1
  -> /efi1/EFI/debian/shimx64.efi: shim (Secure Boot in the chain) starts EFI/debian/grubx64.efi beside it
  -> GRUB reads its stub /efi1/EFI/debian/grub.cfg
  -> /efi1/EFI/debian/grub.cfg:1: search --fs-uuid $FS1 finds /efi1, of this disk: \$root
  -> /efi1/EFI/debian/grub.cfg:3: configfile (/efi1)/grub/grub.cfg
  -> GRUB reads /efi1/grub/grub.cfg
  -> /efi1/grub/grub.cfg:9: the default entry "Debian GNU/Linux"
  -> /efi1/grub/grub.cfg:13 (entry "Debian GNU/Linux"): search --fs-uuid $FS1 finds /efi1, of this disk: \$root
  -> /efi1/grub/grub.cfg:15 (entry "Debian GNU/Linux"): search --fs-uuid $FS1 finds /efi1, of this disk: \$root
  -> /efi1/grub/grub.cfg:17 (entry "Debian GNU/Linux"): linux /vmlinuz-$KVER: on /efi1
  -> /efi1/grub/grub.cfg:17 (entry "Debian GNU/Linux"): the kernel's root=UUID=$ROOTFS: not a filesystem of another disk among those checked
  -> /efi1/grub/grub.cfg:18 (entry "Debian GNU/Linux"): initrd /initrd.img-$KVER: on /efi1
WANT
        diff -u "$W/want1" "$W/chain1" >&2 || fail "disk 1's chain is not as expected"
        # Without -v the report says no link.
        run_tool --status
        expect_stdout_lacks "its boot chain"
}

# A disk's chain starts at the file its own Boot#### names (L8), not at the first loader the
# ESP holds: systemd-boot's leftovers beside GRUB are not judged while the entry starts shim,
# and are once it starts systemd-boot.
the_entrys_file_chooses_the_loader_judged() {
        grub_machine
        run_tool -s -q
        for n in 0 1; do
                loader_file efi 16384 "$R/efi$n/EFI/systemd/systemd-bootx64.efi"
                mkdir -p "$R/efi$n/loader/entries"
                printf 'title old\nlinux /gone/vmlinuz\noptions root=UUID=%s\n' "$ROOTFS" \
                        >"$R/efi$n/loader/entries/old.conf"
        done
        same_times
        run_tool --status
        expect_status 0
        expect_stdout_has "OK loader: GRUB (EFI/debian/grub.cfg): 1 entry, 1 complete on this disk"
        efivar bootentry 0002 "systemd-boot (disk 1)" --hd 1 "$PU1" --file '\EFI\systemd\systemd-bootx64.efi'
        run_tool --status -v
        expect_status 2
        expect_stdout_has "CRITICAL loader: entry old.conf names /gone/vmlinuz, which /efi1 lacks"
        expect_stdout_has "  -> systemd-boot reads /efi1/loader/entries: 1 entry"
        expect_stdout_has "  -> entry old.conf: linux /gone/vmlinuz, initrd none, root=UUID=$ROOTFS on /efi1"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
}

# ucs2 TEXT: TEXT as shim's fallback reads a CSV (UCS-2 little endian with a byte order mark).
ucs2() { printf '\xff\xfe'; printf '%s' "$1" | iconv -f UTF-8 -t UCS-2LE; }

# No entry for disk 1: the firmware starts \EFI\BOOT\BOOTX64.EFI, shim with fbx64.efi beside it,
# which creates an entry from EFI/debian/BOOTX64.CSV; the chain goes on at the loader it names
# (L8), and a CSV naming a missing file is the broken link.
fallback_follows_shims_csv() {
        grub_machine
        run_tool -s -q
        rm "$R/efivars/Boot0002-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        for n in 0 1; do
                loader_file efi 16384 "$R/efi$n/EFI/BOOT/fbx64.efi"
                ucs2 $'shimx64.efi,debian,,This is the boot entry for debian\n' >"$R/efi$n/EFI/debian/BOOTX64.CSV"
        done
        same_times
        run_tool --status -v
        expect_status 1
        expect_stdout_has "  no boot entry: the firmware starts the removable-media fallback \\EFI\\BOOT\\BOOTX64.EFI on /efi1"
        expect_stdout_has "  -> /efi1/EFI/debian/BOOTX64.CSV:1: the fallback creates the entry \"debian\" for \\EFI\\debian\\shimx64.efi"
        expect_stdout_has "  -> GRUB reads its stub /efi1/EFI/debian/grub.cfg"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 yes"
        ucs2 $'shimx65.efi,debian,,This is the boot entry for debian\n' >"$R/efi1/EFI/debian/BOOTX64.CSV"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/EFI/debian/BOOTX64.CSV:1 names shimx65.efi, which /efi1 lacks: shim's fallback creates an entry for a file that is not there"
        printf 'shimx64.efi,debian,,x\n' >"$R/efi1/EFI/debian/BOOTX64.CSV"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/EFI/debian/BOOTX64.CSV, which shim's fallback reads: no byte order mark and a first character U+6873: an ASCII or UTF-8 file, not UCS-2"
        rm "$R/efi1/EFI/debian/BOOTX64.CSV"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1's removable-media fallback is shim with \\EFI\\BOOT\\fbx64.efi beside it, and no EFI/<vendor>/BOOTX64.CSV: the fallback creates no entry and resets the machine"
}

# A kernel the firmware starts directly (L11): a UKI named by each disk's Boot####, its
# .cmdline's root= judged; the same file on both ESPs, as a copy leaves it.
uki_machine() {
        reset_machine
        rm -rf "$R/var/cache/debconf"
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Debian UKI" --hd 1 "$PU0" --file '\EFI\Linux\debian.efi'
        efivar bootentry 0002 "Debian UKI (disk 1)" --hd 1 "$PU1" --file '\EFI\Linux\debian.efi'
        efivar bootorder 0001,0002
        for n in 0 1; do
                find "$R/efi$n" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
                loader_file uki 65536 "$R/efi$n/EFI/Linux/debian.efi" "$1"
        done
        same_times
        run_tool -b -q
        expect_status 0
}

uki_root_naming_the_other_disk_is_critical() {
        uki_machine "root=UUID=$FS0 ro quiet"
        run_tool --status -v
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/EFI/Linux/debian.efi: its .cmdline's root=UUID=$FS0 names /efi0, on the other disk: booted alone this disk would not find its root"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 NO"
        expect_stdout_has "OK loader: /efi0/EFI/Linux/debian.efi: the firmware starts this kernel directly; its root= is on this disk"
        sed -n '/^\/efi1: its boot chain/,/^$/p' "$OUT" >"$W/chain1"
        cat >"$W/want1" <<WANT
/efi1: its boot chain, as if the other disk were gone:
  Boot0002 "Debian UKI (disk 1)" starts \\EFI\\Linux\\debian.efi on /efi1
  -> /efi1/EFI/Linux/debian.efi is a unified kernel image: the firmware starts the kernel directly, with the initrd in its .initrd
  -> its .cmdline: root=UUID=$FS0 ro quiet
  -> CRITICAL /efi1/EFI/Linux/debian.efi: its .cmdline's root=UUID=$FS0 names /efi0, on the other disk: booted alone this disk would not find its root
WANT
        diff -u "$W/want1" <(grep -v '^$' "$W/chain1") >&2 || fail "disk 1's chain is not as expected"
}

# A root= naming no filesystem --status knows (it knows the ESPs): UNKNOWN, never NO; a
# UKI cut short is CRITICAL.
uki_root_unknown_and_cut_uki() {
        uki_machine "root=UUID=$ROOTFS ro"
        # A root= --status cannot place (the root filesystem is no ESP) is no finding (X5,
        # L11): never claimed to be on this disk, said in -v's chain.
        run_tool --status -v
        expect_status 0
        expect_stdout_has "OK loader: /efi1/EFI/Linux/debian.efi: the firmware starts this kernel directly; which disk its root= names is not checked (-v)"
        expect_stdout_has "  -> /efi1/EFI/Linux/debian.efi: its .cmdline's root=UUID=$ROOTFS is none of the ESPs --status knows: which disk holds it is not checked"
        expect_stdout_lacks "/efi1 NO"
        truncate -s 32768 "$R/efi1/EFI/Linux/debian.efi"
        run_tool --status
        expect_status 2
        expect_stdout_has "/efi1/EFI/Linux/debian.efi"
        expect_stdout_has "/efi1 NO"
}

# A plain EFI-stub kernel: its command line is the entry's optional data (UCS-2, as
# efibootmgr -u writes it), its initrd= read from the ESP it was started from.
plain_kernel_takes_the_entrys_command_line() {
        reset_machine
        rm -rf "$R/var/cache/debconf"
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Debian kernel" --hd 1 "$PU0" --file '\vmlinuz.efi' \
                --optional-ucs2 "root=PARTUUID=$PU0 ro initrd=\\initrd.img"
        efivar bootentry 0002 "Debian kernel (disk 1)" --hd 1 "$PU1" --file '\vmlinuz.efi' \
                --optional-ucs2 "root=PARTUUID=$PU1 ro initrd=\\initrd.img"
        efivar bootorder 0001,0002
        for n in 0 1; do
                find "$R/efi$n" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
                loader_file kernel 65536 "$R/efi$n/vmlinuz.efi"
                loader_file initrd 4096 "$R/efi$n/initrd.img"
        done
        same_times
        run_tool -b -q
        expect_status 0
        run_tool --status -v
        expect_status 0
        expect_stdout_has "  -> /efi1/vmlinuz.efi is an EFI-stub kernel: the firmware starts the kernel directly"
        expect_stdout_has "  -> the boot entry's command line: root=PARTUUID=$PU1 ro initrd=\\initrd.img"
        expect_stdout_has "  -> the boot entry's command line's root=PARTUUID=$PU1: /efi1, on this disk"
        expect_stdout_has "  -> initrd=\\initrd.img: on /efi1"
        expect_stdout_has "boots alone: /efi0 (booted) yes, /efi1 yes"
        # Disk 1's entry written as a copy of disk 0's: root= on the other disk.
        efivar bootentry 0002 "Debian kernel (disk 1)" --hd 1 "$PU1" --file '\vmlinuz.efi' \
                --optional-ucs2 "root=PARTUUID=$PU0 ro initrd=\\initrd.img"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/vmlinuz.efi: the boot entry's command line's root=PARTUUID=$PU0 names /efi0, on the other disk"
        # The initrd only the other disk holds.
        efivar bootentry 0002 "Debian kernel (disk 1)" --hd 1 "$PU1" --file '\vmlinuz.efi' \
                --optional-ucs2 "root=PARTUUID=$PU1 ro initrd=\\initrd-1.img"
        loader_file initrd 4096 "$R/efi0/initrd-1.img"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL loader: /efi1/vmlinuz.efi: the command line's initrd=\\initrd-1.img: /efi1 lacks it"
        expect_stdout_has "/efi1 NO"
}

run_case uki_root_naming_the_other_disk_is_critical uki_root_naming_the_other_disk_is_critical
run_case uki_root_unknown_and_cut_uki uki_root_unknown_and_cut_uki
run_case plain_kernel_takes_the_entrys_command_line plain_kernel_takes_the_entrys_command_line
run_case verbose_status_shows_each_disks_chain verbose_status_shows_each_disks_chain
run_case the_entrys_file_chooses_the_loader_judged the_entrys_file_chooses_the_loader_judged
run_case fallback_follows_shims_csv fallback_follows_shims_csv
run_case install_devices_missing_an_esp_warns install_devices_missing_an_esp_warns
run_case fix_boot_entries_starts_the_distributors_shim fix_boot_entries_starts_the_distributors_shim
run_case stub_naming_the_other_disk_is_critical stub_naming_the_other_disk_is_critical
run_case sync_writes_each_disks_own_identifiers sync_writes_each_disks_own_identifiers
run_case default_entrys_initrd_missing_on_the_alternate default_entrys_initrd_missing_on_the_alternate
run_case unknown_identifier_is_unknown_not_critical unknown_identifier_is_unknown_not_critical
run_case refind_scanned_kernel_needs_its_options refind_scanned_kernel_needs_its_options
finish
