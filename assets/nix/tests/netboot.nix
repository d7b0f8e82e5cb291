# NixOS VM tests of the netboot module (../netboot.nix): a small NixOS with
# the module netboots in QEMU (iPXE from QEMU's built-in TFTP) under BIOS and
# UEFI, with scripted stage 1 (the seed's postMountCommands) and with systemd
# stage 1 (the initrd service running ../load-squashes.sh), reaches
# multi-user.target, and its store is what Nix built: every path of the
# closure registered (stage 2's nix-store --load-db) and `nix-store --verify
# --check-contents` clean.
#
# NOT RUN on the machines Netboot Composer is developed on: they have no
# nixpkgs (and no network to fetch it). Run them where nixpkgs is available
# (with KVM; under TCG each takes several minutes):
#
#   nix-build assets/nix/tests/netboot.nix -I nixpkgs=channel:nixos-unstable   # all four
#   nix-build assets/nix/tests/netboot.nix -A systemd-uefi                      # one
#   nix-build assets/nix/tests/netboot.nix -A systemd-bios.driverInteractive    # a shell into it
#
# By default each boot folder is packed here, in Nix, by the boot contract
# (README, "The boot contract"). To boot folders the CLI built instead:
#
#   nix-build assets/nix/tests/netboot.nix -A toplevels.systemd -o systemd-system
#   npm run cli -- build --toplevel ./systemd-system --out /tmp/nb-systemd
#   nix-build assets/nix/tests/netboot.nix -A systemd-bios --arg bootFolders '{ systemd = /tmp/nb-systemd; }'
{
  pkgs ? import <nixpkgs> { },
  # Boot folders the CLI made, by stage 1: { scripted = PATH; systemd = PATH; }.
  # The missing ones are packed here.
  bootFolders ? { },
}:
let
  inherit (pkgs) lib;
  qemu-common = import (pkgs.path + "/nixos/lib/qemu-common.nix") { inherit (pkgs) lib stdenv; };

  stage1s = {
    scripted = false;
    systemd = true;
  };

  # A small NixOS with the netboot module and the test driver's backdoor.
  nixosFor =
    systemdStage1:
    (import (pkgs.path + "/nixos/lib/eval-config.nix") {
      system = null;
      modules = [
        ../netboot.nix
        (pkgs.path + "/nixos/modules/testing/test-instrumentation.nix")
        {
          nixpkgs.pkgs = pkgs;
          boot.initrd.systemd.enable = systemdStage1;
          networking.hostName = "netboot";
          documentation.enable = false;
          system.stateVersion = lib.trivial.release;
        }
      ];
    }).config;

  configs = lib.mapAttrs (_: nixosFor) stage1s;
  toplevels = lib.mapAttrs (_: config: config.system.build.toplevel) configs;
  closures = lib.mapAttrs (_: toplevel: pkgs.closureInfo { rootPaths = [ toplevel ]; }) toplevels;

  # The boot folder of `config`, as the CLI makes it: one squashfs per store
  # path under /nix-store-squashes/FIRST8/REST, the manifest (`squashes`, each
  # line split by a space after 20 characters, and registration.gz), every
  # initrd padded to 4 bytes, and the iPXE script.
  pack =
    name: config:
    let
      toplevel = config.system.build.toplevel;
      closure = closures.${name};
    in
    pkgs.runCommand "netboot-folder-${name}"
      {
        nativeBuildInputs = [
          pkgs.squashfsTools
          pkgs.cpio
        ];
      }
      ''
        mkdir -p store/nix-store-squashes manifest/nix-store-squashes $out
        while read -r path; do
          base=''${path#/nix/store/}
          mkdir -p store/nix-store-squashes/''${base:0:8}
          mksquashfs "$path" store/nix-store-squashes/''${base:0:8}/''${base:8} \
            -keep-as-directory -all-root -no-progress -quiet -comp zstd
          line=/nix-store-squashes/''${base:0:8}/''${base:8}
          echo "''${line:0:20} ''${line:20}" >> manifest/nix-store-squashes/squashes
        done < ${closure}/store-paths
        gzip -9n < ${closure}/registration > manifest/nix-store-squashes/registration.gz
        (cd store && find . | sort | cpio -o -H newc -R +0:+0 --quiet) > $out/nix-store
        (cd manifest && find . | sort | cpio -o -H newc -R +0:+0 --quiet) > $out/manifest
        cp ${config.system.build.kernel}/${config.system.boot.loader.kernelFile} $out/bzImage
        cp ${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile} $out/initrd
        chmod u+w $out/initrd
        for f in $out/initrd $out/manifest $out/nix-store; do
          truncate -s $(( ($(stat -c %s $f) + 3) / 4 * 4 )) $f
        done
        cat > $out/netboot.ipxe <<EOF
        #!ipxe
        kernel bzImage init=${toplevel}/init initrd=initrd initrd=manifest initrd=nix-store $(cat ${toplevel}/kernel-params)
        initrd initrd
        initrd manifest
        initrd nix-store
        boot
        EOF
      '';

  folders = lib.mapAttrs (name: config: bootFolders.${name} or (pack name config)) configs;

  startCommand =
    { folder, uefi }:
    lib.concatStringsSep " " (
      [
        (qemu-common.qemuBinary pkgs.qemu_test)
        # The store is copied into RAM: the closure, plus the initrds while they load.
        "-m 3072"
        "-netdev user,id=net0,tftp=${folder},bootfile=netboot.ipxe"
        "-device virtio-net-pci,netdev=net0${lib.optionalString uefi ",romfile=${pkgs.ipxe}/ipxe.efirom"}"
        # Newer OVMF will not netboot without a random-number device.
        "-device virtio-rng-pci"
        "-boot order=n"
      ]
      ++ lib.optionals uefi [
        "-drive if=pflash,format=raw,unit=0,readonly=on,file=${pkgs.OVMF.firmware}"
        "-drive if=pflash,format=raw,unit=1,readonly=on,file=${pkgs.OVMF.variables}"
      ]
    );

  vmTest =
    stage1: firmware:
    pkgs.testers.runNixOSTest {
      name = "netboot-composer-${stage1}-${firmware}";
      nodes = { };
      testScript = ''
        machine = create_machine("${
          startCommand {
            folder = folders.${stage1};
            uefi = firmware == "uefi";
          }
        }")
        machine.start()
        machine.wait_for_unit("multi-user.target")

        with subtest("stage 1 loaded the store (${stage1} stage 1)"):
            ${
              if stage1 == "systemd" then
                ''
                  machine.succeed("journalctl -b -o cat | grep -q 'load-squashes: .* store paths loaded into /sysroot/nix/store'")
                ''
              else
                ''
                  machine.succeed("dmesg | grep -q 'Mounting initial store'")
                ''
            }
            machine.succeed("test -s /nix/registration")

        with subtest("the store is the closure Nix built, registered and intact"):
            machine.succeed("diff <(nix-store --query --requisites ${toplevels.${stage1}} | sort) <(sort ${
              closures.${stage1}
            }/store-paths)")
            # Nothing else in the store: no image left mounted or half-copied.
            machine.succeed("test $(ls /nix/store | wc -l) -eq $(wc -l < ${closures.${stage1}}/store-paths)")
            machine.succeed("nix-store --verify --check-contents")
            machine.succeed("readlink -f /run/current-system | grep -qx ${toplevels.${stage1}}")

        machine.shutdown()
      '';
    };
in
{
  inherit toplevels folders;
  scripted-bios = vmTest "scripted" "bios";
  scripted-uefi = vmTest "scripted" "uefi";
  systemd-bios = vmTest "systemd" "bios";
  systemd-uefi = vmTest "systemd" "uefi";
}
