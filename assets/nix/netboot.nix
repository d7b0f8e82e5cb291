# The NixOS module Netboot Composer adds (with extendModules) to a flake's
# configuration when it builds it: what a system needs to boot from the
# initrds the app makes. It is netboot.nix's quickly.nix (./quickly.nix, kept
# verbatim) without the parts that packed the store with recursive Nix: the
# app does the packing itself. The stage-1 and stage-2 commands are taken
# from quickly.nix as they are, so they cannot drift from it.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  seed = import ./quickly.nix { inherit config lib pkgs; };
in
{
  config = {
    # No boot loader on disk: iPXE (or the USB stick's loader) starts the kernel.
    boot.loader.grub.enable = false;

    # The root and /nix are tmpfs; stage 1 fills /nix/store from the squashfs
    # images in the initrds.
    fileSystems."/" = lib.mkForce {
      fsType = "tmpfs";
      options = [ "mode=0755" ];
    };
    fileSystems."/nix" = lib.mkForce {
      fsType = "tmpfs";
      options = [ "mode=0755" ];
      neededForBoot = true;
    };

    boot.initrd.postMountCommands = seed.config.boot.initrd.postMountCommands;
    boot.initrd.availableKernelModules = seed.config.boot.initrd.availableKernelModules;
    boot.initrd.kernelModules = seed.config.boot.initrd.kernelModules;

    # Stage 2: load the registration stage 1 unpacked, so nix works on the
    # booted system.
    boot.postBootCommands = seed.config.boot.postBootCommands;
  };
}
