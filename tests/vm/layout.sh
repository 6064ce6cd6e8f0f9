# SPDX-License-Identifier: MIT
# Fixed facts of the test machine, shared by the image build, the host runner and
# (through the payload's params file) the guest. Changing this file changes the
# image recipe, so the cached image is rebuilt.

# Debian release and packages of the guest root (debootstrap --variant=minbase).
DRVM_SUITE=bookworm
DRVM_PACKAGES="systemd systemd-sysv udev kmod util-linux rsync efibootmgr jq \
busybox initramfs-tools zstd linux-image-amd64"

# Disk 0 and disk 1: GPT, one ESP each. Fixed GUIDs so the tests can assert them.
DRVM_DISK_MIB=160                       # whole virtual disk
DRVM_ESP_MIB=150                        # ESP partition (FAT32 needs >= ~33 MiB)
DRVM_DISK0_GUID=c0de0000-0000-4000-8000-00000000d150
DRVM_DISK1_GUID=c0de0000-0000-4000-8000-00000000d151
DRVM_ESP0_PARTUUID=c0de0000-0000-4000-8000-00000000e500
DRVM_ESP1_PARTUUID=c0de0000-0000-4000-8000-00000000e501
DRVM_ESP0_VOLID=E5000000                # shows as UUID E500-0000
DRVM_ESP1_VOLID=E5010000                # shows as UUID E501-0000

# The root filesystem: one ext4 disk, always present (stands in for the btrfs
# RAID1 root of approach 1, see README.md).
DRVM_ROOT_MIB=2048
DRVM_ROOT_UUID=c0de0000-0000-4000-8000-0000000000f0

# Boot entries the setup boot writes into NVRAM (efibootmgr -L).
DRVM_ESP0_LABEL="dual-root esp0"
DRVM_ESP1_LABEL="dual-root esp1"

# Kernel command line of the loader entry. quiet keeps the serial console short;
# panic=1 with qemu -no-reboot turns a panic into a quick exit; tsc=reliable
# spares TCG the slow HPET clock source.
DRVM_CMDLINE="root=UUID=$DRVM_ROOT_UUID rw console=ttyS0,115200 quiet loglevel=3 \
panic=1 mitigations=off tsc=reliable fsck.mode=skip systemd.show_status=error"
