# The bundled demo system: a NixOS-shaped toplevel (kernel, initrd, init,
# kernel-params, system, nixos-version, etc, sw) built with plain Nix from
# Debian's static busybox and kernel, with no nixpkgs and no network.
#
# Its stage 1 runs netboot.nix's postMountCommands verbatim (or, with
# stage1 = "systemd-script", the loading script of the netboot module's
# systemd-stage-1 path, run as its initrd service runs it); its stage 2
# checks that the netboot store is exactly what Nix built and prints
# "NETBOOT-COMPOSER-DEMO: OK". electron/pipeline/demo.ts passes the arguments.
{
  # A folder holding bin/busybox, statically linked (Debian's busybox-static).
  bootstrap,
  # A bzImage and its release (Debian's linux-image-amd64).
  kernel,
  kernelVersion,
  # The modules stage 1 needs: loop and squashfs, as the kernel package has
  # them: .ko, .ko.xz or .ko.gz (unpacked here: busybox's insmod loads only
  # plain modules; busybox has no zstd, so demo.ts unpacks .ko.zst).
  modules,
  # Which stage 1 loads the store: "seed" (quickly.nix's postMountCommands,
  # verbatim) or "systemd-script" (assets/nix/load-squashes.sh, as the
  # netboot module's initrd service runs it).
  stage1 ? "seed",
  system ? "x86_64-linux",
  # The system whose programs run the builds: this machine's. The aarch64 demo
  # is built on x86_64 with x86_64's busybox; only what it holds is arm64.
  builderSystem ? system,
  # A folder holding bin/busybox for `system` when it is not the builder's
  # (Debian's busybox-static for arm64): the busybox the demo boots with.
  targetBusybox ? null,
  # What the kernel file is called: bzImage (x86_64) or Image (aarch64).
  kernelFile ? "bzImage",
  label ? "demo",
  nixosVersion ? "25.11.19700101.demo",
  kernelParams ? "console=ttyS0,115200 panic=1 loglevel=4",
  # For tests of initrds of every length: a file of this many bytes (the end
  # of the kernel, which does not compress) in stage 1's archive. 0: none.
  initrdExtraBytes ? 0,
}:
let
  # The seed module is a plain function; its postMountCommands is a literal
  # string, so it can be read without nixpkgs.
  seed = import ../nix/quickly.nix {
    config = { };
    lib = { };
    pkgs = { };
  };
  inherit (seed.config.boot.initrd) postMountCommands;

  # The very file the netboot module's systemd-stage-1 service runs.
  loadSquashes = builtins.path {
    path = ../nix/load-squashes.sh;
    name = "netboot-load-squashes.sh";
  };

  # How the demo's stage 1 loads the store, per variant: the root it fills
  # (scripted NixOS stage 1 mounts the real root on /mnt-root, systemd's on
  # /sysroot) and the commands.
  stage1Variants = {
    seed = {
      root = "/mnt-root";
      loadStore = postMountCommands;
    };
    # As the unit runs it: ExecStart=SHELL SCRIPT /sysroot, a clean
    # environment with systemd's DefaultEnvironment PATH, stdin /dev/null.
    systemd-script = {
      root = "/sysroot";
      loadStore = ''
        echo "stage 1: loading the store with ${loadSquashes} /sysroot, as the netboot module's initrd service does"
        env -i PATH=/bin:/sbin /bin/sh ${loadSquashes} /sysroot < /dev/null
      '';
    };
  };
  variant =
    stage1Variants.${stage1}
      or (throw "stage1 is \"${stage1}\"; give one of: ${toString (builtins.attrNames stage1Variants)}");

  builders = import ../nix/busybox-run.nix {
    inherit bootstrap;
    system = builderSystem;
  };
  inherit (builders) run;
  busyboxBootstrap = builders.busybox;
  # The busybox that runs in the booted system.
  busyboxTarget =
    if targetBusybox == null then
      busyboxBootstrap
    else
      builtins.path {
        path = targetBusybox;
        name = "busybox-target";
      };

  fill =
    template: vars:
    builtins.replaceStrings (map (n: "@${n}@") (builtins.attrNames vars)) (map toString (builtins.attrValues vars)) (
      builtins.readFile template
    );

  # busybox with one symlink per applet: hundreds of symlinks in one path.
  busybox = run "busybox-1.35.0" (
    if targetBusybox == null then
      ''
        mkdir -p $out/bin
        cp ${busyboxBootstrap}/bin/busybox $out/bin/busybox
        $out/bin/busybox --install -s $out/bin
      ''
    else
      # Another architecture's busybox cannot run here: its applets are
      # linked as --install -s would, from the builder's list.
      ''
        mkdir -p $out/bin
        cp ${busyboxTarget}/bin/busybox $out/bin/busybox
        for applet in $(${busyboxBootstrap}/bin/busybox --list); do
          [ -e $out/bin/$applet ] || ln -s $out/bin/busybox $out/bin/$applet
        done
      ''
  ) { };

  linux = run "linux-${kernelVersion}" ''
    mkdir -p $out
    cp ${
      builtins.path {
        path = kernel;
        name = "vmlinuz";
      }
    } $out/${kernelFile}
  '' { };

  linuxModules = run "linux-${kernelVersion}-modules" ''
    dir=$out/lib/modules/${kernelVersion}/kernel
    mkdir -p $dir
    for module in ${toString (map (m: builtins.path { path = m; }) modules)}; do
      name=$(basename $module | cut -d- -f2-)
      case $name in
        *.ko) cp $module $dir/$name ;;
        *.ko.xz) unxz -c $module > $dir/''${name%.xz} ;;
        *.ko.gz) gunzip -c $module > $dir/''${name%.gz} ;;
        *)
          echo "$name: give the demo a .ko, .ko.xz or .ko.gz module (busybox cannot unpack others)" >&2
          exit 1
          ;;
      esac
    done
  '' { };

  initrd = run "initrd-linux-${kernelVersion}" ''
    mkdir -p root/bin root/lib/modules root/proc root/sys root/dev root${variant.root}
    cp ${busyboxTarget}/bin/busybox root/bin/busybox
    # None when the kernel has both built in.
    for module in ${linuxModules}/lib/modules/${kernelVersion}/kernel/*.ko; do
      [ ! -e $module ] || cp $module root/lib/modules/
    done
    ${
      # Where a NixOS initrd has its store paths (boot.initrd.systemd.storePaths).
      if stage1 == "systemd-script" then "mkdir -p root/nix/store && cp ${loadSquashes} root${loadSquashes}" else ""
    }
    printf '%s' "$stage1" > root/init
    chmod 0755 root/init${
      # Nothing at all by default: the demo's initrd stays the same derivation.
      if initrdExtraBytes == 0 then "" else "\ntail -c ${toString initrdExtraBytes} ${linux}/${kernelFile} > root/extra-bytes"
    }
    find root -exec touch -h -d @1 {} +
    mkdir $out
    cd root
    find . | sort | cpio -o -H newc -R 0:0 | gzip -9n > $out/initrd
  '' {
    stage1 = fill ./stage-1-init.sh {
      inherit label;
      inherit (variant) root loadStore;
    };
  };

  # Files that a real closure has and that packing must keep: hard links,
  # names with spaces and non-ASCII characters, empty folders, modes.
  oddFiles = run "odd-files-1.0" ''
    mkdir -p "$out/share/odd files/empty folder" "$out/share/odd files/ünïcödé ✓"
    echo "a file with spaces in its name" > "$out/share/odd files/read me.txt"
    echo "grüße aus dem netboot" > "$out/share/odd files/ünïcödé ✓/grüße.txt"
    echo "日本語" > "$out/share/odd files/ünïcödé ✓/日本語.txt"
    echo "tab	in the name" > "$out/share/odd files/tab	name"
    mkdir -p $out/bin
    printf '#!/bin/sh\necho odd\n' > $out/bin/odd-tool
    chmod 0755 $out/bin/odd-tool
    ln -s "../share/odd files/read me.txt" "$out/share/link to read me"
    ln -s "../no such file" "$out/share/dangling link"
  '' { };

  hardlinks = run "hardlinks-1.0" ''
    mkdir -p $out/share/hardlinks $out/bin
    seq 1 5000 | sed 's/^/hardlinks line /' > $out/share/hardlinks/original
    ln $out/share/hardlinks/original $out/share/hardlinks/hardlink
    ln $out/share/hardlinks/original $out/bin/third-name
  '' { };

  # A multi-megabyte file that compresses well (the kernel is one that does not).
  data = run "demo-data-1.0" ''
    mkdir -p $out/share/demo-data
    seq 1 150000 | awk '{ printf "%08d demo record %d of the netboot store\n", $1, $1 * 7919 % 100003 }' > $out/share/demo-data/records.txt
  '' { };

  # A chain of small libraries, each referring to the one before, with the
  # size spread of a real closure: many small paths.
  libs = builtins.genList (
    i:
    run "libdemo${toString i}-1.${toString i}" ''
      mkdir -p $out/lib $out/share/doc/libdemo${toString i} $out/nix-support
      seq 1 ${toString ((i + 1) * (i + 1) * 40)} | sed 's/^/libdemo${toString i} symbol /' > $out/lib/libdemo${toString i}.so
      echo "libdemo${toString i}: part of the Netboot Composer demo closure" > $out/share/doc/libdemo${toString i}/README
      echo "$previous" > $out/nix-support/propagated-build-inputs
    '' { previous = if i == 0 then "" else "${builtins.elemAt libs (i - 1)}"; }
  ) 20;

  # Single-file store paths, like NixOS's writeText and builtins.toFile.
  motd = builtins.toFile "motd" "Welcome to the Netboot Composer demo system.\n";
  hostname = builtins.toFile "hostname" "${label}\n";
  helloScript = run "hello" ''
    printf '#!%s/bin/sh\necho "hello from the netboot store"\n' ${busybox} > $out
    chmod 0555 $out
  '' { };
  verify = builtins.path {
    path = ./verify.sh;
    name = "demo-verify.sh";
  };

  # A store path that is itself a symlink.
  defaultShell = run "default-shell" ''
    ln -s ${busybox}/bin/sh $out
  '' { };

  etc = run "etc" ''
    mkdir -p $out/etc
    ln -s ${motd} $out/etc/motd
    ln -s ${hostname} $out/etc/hostname
  '' { };

  sw = run "system-path" ''
    mkdir -p $out/bin $out/lib
    ln -s ${busybox}/bin/* $out/bin/
    ln -s ${helloScript} $out/bin/hello
    ln -s ${oddFiles}/bin/odd-tool $out/bin/odd-tool
    ${toString (map (l: "ln -s ${l}/lib/* $out/lib/;") libs)}
  '' { };

  checked = [
    busybox
    linux
    linuxModules
    initrd
    oddFiles
    hardlinks
    data
    motd
    hostname
    helloScript
    verify
    defaultShell
    etc
    sw
  ]
  ++ libs;

  # What stage 2 compares the netboot store against, made right after the build.
  checks = run "demo-checks" ''
    mkdir $out
    for path in ${toString checked}; do echo $path; done | sort > $out/paths
    sh ${verify} list $(cat $out/paths) > $out/listing
    sh ${verify} sums $(cat $out/paths) > $out/sha256sums
  '' { };

  toplevel = run "nixos-system-${label}-${nixosVersion}" ''
    mkdir $out
    ln -s ${linux}/${kernelFile} $out/kernel
    ln -s ${linuxModules} $out/kernel-modules
    ln -s ${initrd}/initrd $out/initrd
    ln -s ${etc}/etc $out/etc
    ln -s ${sw} $out/sw
    ln -s ${defaultShell} $out/default-shell
    printf '%s' "${kernelParams}" > $out/kernel-params
    printf '%s' "${system}" > $out/system
    printf '%s' "${nixosVersion}" > $out/nixos-version
    printf '%s' "$stage2" > $out/init
    chmod 0555 $out/init
  '' {
    stage2 = fill ./stage-2-init.sh {
      inherit
        busybox
        label
        nixosVersion
        verify
        checks
        hardlinks
        ;
    };
  };
in
toplevel
