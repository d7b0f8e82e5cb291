# The NixOS module Netboot Composer adds (with extendModules) to a flake's
# configuration when it builds it: what a system needs to boot from the
# initrds the app makes. It is netboot.nix's quickly.nix (./quickly.nix, kept
# verbatim) without the parts that packed the store with recursive Nix: the
# app does the packing itself. The stage-1 and stage-2 commands are taken
# from quickly.nix as they are, so they cannot drift from it.
#
# Stage 1 has two paths, chosen from the configuration:
# - scripted stage 1 (the default): quickly.nix's postMountCommands, verbatim;
# - systemd stage 1 (boot.initrd.systemd.enable), which refuses
#   postMountCommands: an initrd service runs ./load-squashes.sh /sysroot,
#   which does the same, after the /nix tmpfs is mounted on /sysroot/nix and
#   before initrd-fs.target (so before the switch to the real root).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  seed = import ./quickly.nix { inherit config lib pkgs; };
  systemdStage1 = config.boot.initrd.systemd.enable;
  # The same file (so the same store path) as the demo's systemd-script stage 1.
  loadSquashes = builtins.path {
    path = ./load-squashes.sh;
    name = "netboot-load-squashes.sh";
  };
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

    boot.initrd.postMountCommands = lib.mkIf (!systemdStage1) seed.config.boot.initrd.postMountCommands;
    boot.initrd.availableKernelModules = seed.config.boot.initrd.availableKernelModules;
    # systemd-modules-load loads these before the service runs; squashfs
    # too, rather than counting on the kernel asking modprobe at mount.
    boot.initrd.kernelModules = seed.config.boot.initrd.kernelModules ++ lib.optional systemdStage1 "squashfs";

    boot.initrd.systemd = lib.mkIf systemdStage1 {
      services.netboot-load-squashes = {
        description = "Load the Nix store from the netboot squashfs images";
        unitConfig = {
          DefaultDependencies = false;
          # The /nix tmpfs (sysroot-nix.mount), and / under it.
          RequiresMountsFor = "/sysroot/nix";
        };
        wants = [ "systemd-modules-load.service" ];
        after = [ "systemd-modules-load.service" ];
        # initrd-find-nixos-closure resolves init= inside /sysroot/nix/store.
        before = [
          "initrd-fs.target"
          "initrd-find-nixos-closure.service"
          "shutdown.target"
        ];
        conflicts = [ "shutdown.target" ];
        requiredBy = [ "initrd-fs.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.runtimeShell} ${loadSquashes} /sysroot";
          StandardOutput = "journal+console";
          StandardError = "journal+console";
        };
      };
      # The script is not a job script, so it is not copied into the initrd
      # unless listed; runtimeShell, mount, umount and coreutils already are.
      storePaths = [ loadSquashes ];
      # mkDefault: another module's gzip serves as well.
      extraBin.gzip = lib.mkDefault "${pkgs.gzip}/bin/gzip";
    };

    # Stage 2: load the registration stage 1 unpacked, so nix works on the
    # booted system.
    boot.postBootCommands = seed.config.boot.postBootCommands;
  };
}
