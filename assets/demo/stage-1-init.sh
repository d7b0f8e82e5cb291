#!/bin/busybox sh
# Stage 1 of the demo system: the least a NixOS stage 1 does for a netboot
# system (load modules, mount the tmpfs root and /nix of the netboot module),
# then netboot.nix's postMountCommands, verbatim, then switch into stage 2.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt-root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

echo "stage 1: Netboot Composer demo system @label@"

fail() {
  echo "NETBOOT-COMPOSER-DEMO: FAILED in stage 1: $*"
  poweroff -f
  sleep 60
}

for module in /lib/modules/*.ko; do
  insmod "$module" || fail "cannot load the kernel module $module"
done

# fileSystems."/" and fileSystems."/nix" of the netboot module: both tmpfs.
mount -t tmpfs -o mode=0755 tmpfs /mnt-root || fail "cannot mount the root tmpfs"
mkdir -p /mnt-root/nix
mount -t tmpfs -o mode=0755 tmpfs /mnt-root/nix || fail "cannot mount the /nix tmpfs"

# boot.initrd.postMountCommands of netboot.nix (assets/nix/quickly.nix), verbatim:
@postMountCommands@
[ $? -eq 0 ] || fail "the Nix store could not be loaded from the squashfs images"

init=
for option in $(cat /proc/cmdline); do
  case "$option" in
    init=*) init="${option#init=}" ;;
  esac
done
[ -n "$init" ] || fail "the kernel command line has no init="
[ -x "/mnt-root$init" ] || fail "stage 2 ($init) is not in the loaded store"

mkdir -p /mnt-root/proc /mnt-root/sys /mnt-root/dev
umount /proc /sys
mount --move /dev /mnt-root/dev
exec switch_root /mnt-root "$init"
