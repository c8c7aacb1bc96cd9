#!/usr/bin/env bash
# Idempotent set-up of a build/test machine (Debian 12, run as root):
# system packages, the project venv, and its Python requirements.
# Does nothing expensive when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP=$VENV/.requirements.sha256
REQS=(requirements.txt requirements-test.txt dev/pyproject.toml)

# Package -> a file it provides; the file test is much faster than dpkg/apt.
declare -A PKG_FILES=(
    [iproute2]=/usr/sbin/ip        # ip, lab/debugging
    [iputils-ping]=/usr/bin/ping   # reachability checks in tests and the demo
    [util-linux]=/usr/bin/nsenter  # nsenter
    [git]=/usr/bin/git             # ansible-test lists files with git (scripts/sanity.sh)
    [make]=/usr/bin/make           # a CI image needs it already, to run .ci/run
    [python3]=/usr/bin/python3
    # The kernel box (.venv/bin/kernel-box, make kernel): a full kernel as a program, with
    # modules (8021q, ipvlan, ...), modprobe to load them and busybox's poweroff -f inside.
    [user-mode-linux]=/usr/bin/linux.uml
    [kmod]=/sbin/modprobe
    [busybox-static]=/bin/busybox
    # The Docker tier (docker_vlan_network): a real engine, started only inside lab
    # namespaces (dev/underlay_dev/lab/dockerd.py) and inside the kernel box, never in the root namespace.
    [docker.io]=/usr/sbin/dockerd
    # The box's engine runs containers with crun (runc is Go and crashes there: see
    # dev/underlay_dev/lab/box_oci_runtime.py).
    [crun]=/usr/bin/crun
    # The VM on a segment (tests/integration/test_vm_on_segment.py): qemu boots a Debian kernel (unpacked below)
    # with TCG, its NIC on a macvtap.
    [qemu-system-x86]=/usr/bin/qemu-system-x86_64
    # The vm_underlay role's libvirt networks (tests/integration/test_vm_underlay_libvirt.py): libvirtd, started
    # only inside a lab namespace with private mounts (dev/underlay_dev/testing/libvirtd.py; libvirt-daemon-system,
    # which would start it here with a default network, stays out), virsh and virt-xml-validate; libvirt-python
    # (requirements-test.txt) builds against libvirt-dev.
    [libvirt-daemon]=/usr/sbin/libvirtd
    [libvirt-clients]=/usr/bin/virt-xml-validate
    [libxml2-utils]=/usr/bin/xmllint   # virt-xml-validate runs it
    [libvirt-dev]=/usr/include/libvirt/libvirt.h
    [python3-dev]=/usr/include/python3.11/Python.h
    [pkg-config]=/usr/bin/pkg-config
    [gcc]=/usr/bin/gcc
    # Headless Chromium for the HTML report test (tests/integration/test_verification_report_browser.py).
    [chromium]=/usr/bin/chromium
)

missing=()
for pkg in "${!PKG_FILES[@]}"; do
    [[ -e ${PKG_FILES[$pkg]} ]] || missing+=("$pkg")
done
# Debian splits venv/ensurepip out of python3; only needed if we must create the venv.
if [[ ! -x $VENV/bin/python ]] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "bootstrap: missing packages ${missing[*]}; run this script as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only if there are none or they are older than a day.
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 -print -quit 2>/dev/null) ]]; then
        apt-get update </dev/null
    fi
    echo "bootstrap: installing ${missing[*]}"
    # docker.io's maintainer script would start dockerd in the root namespace (docker0,
    # iptables rules): forbid service starts during the install unless a policy already does.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
fi

# Unpack Debian package $1 into directory $2 unless $2/$3 is there already: never installed, only unpacked.
unpack_deb() {
    local package=$1 dest=$2 probe=$3 scratch
    [[ -x $dest/$probe ]] && return 0
    echo "bootstrap: unpacking $package into $dest (not installed)"
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]]; then
        apt-get update </dev/null
    fi
    scratch=$(mktemp -d) && chmod 755 "$scratch"  # apt downloads as _apt
    (cd "$scratch" && apt-get download "$package" </dev/null >/dev/null)
    mkdir -p "$dest"
    dpkg-deb -x "$scratch/${package}"_*.deb "$dest"
    rm -rf "$scratch"
}

# For the persistence proof (tests/kernel/test_persistence.py) only. ifupdown's ifup: installing the package
# would write this machine's /etc/network. udev's udevadm (systemd-udevd by another name): the .link files that
# give the links their marker (Alias=) are udev's, so the test runs a udevd beside systemd-networkd in the lab
# namespace; installing the package would start udev on this machine.
unpack_deb ifupdown .cache/ifupdown sbin/ifup
unpack_deb udev .cache/udev bin/udevadm

# The test VM's kernel and NIC driver (dev/underlay_dev/vm): two files of Debian's current linux-image package,
# unpacked into .cache/vm, never installed (this machine's /boot and /lib/modules stay as they are).
if ! compgen -G '.cache/vm/boot/vmlinuz-*' >/dev/null; then
    if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]]; then
        apt-get update </dev/null
    fi
    image=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    echo "bootstrap: unpacking the VM kernel from $image into .cache/vm (not installed)"
    scratch=$(mktemp -d) && chmod 755 "$scratch"
    (cd "$scratch" && apt-get download "$image" </dev/null >/dev/null)
    mkdir -p .cache/vm
    dpkg-deb --fsys-tarfile "$scratch/${image}"_*.deb | tar -x -C .cache/vm --wildcards './boot/vmlinuz-*' \
        './lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/e1000.ko'
    rm -rf "$scratch"
fi

if [[ ! -x $VENV/bin/python ]]; then
    echo "bootstrap: creating $VENV"
    python3 -m venv "$VENV"
fi

# Reinstall only when a requirement file, the dev tooling's pyproject.toml (or the venv's Python) changed.
# The development tooling (the embedded lab, the kernel box, the test harness: dev/) is installed editable:
# labctl, kernel-box, kernel-suite, lab-dockerd and box-agent in .venv/bin, and `import underlay_dev`.
want=$(cat "${REQS[@]}" "$VENV/pyvenv.cfg" | sha256sum | cut -d' ' -f1)
if [[ ! -f $STAMP || $(<"$STAMP") != "$want" ]]; then
    echo "bootstrap: installing Python requirements and the development tooling (dev/)"
    "$VENV/bin/python" -m pip install --quiet -r requirements-test.txt </dev/null
    "$VENV/bin/python" -m pip install --quiet --no-deps -e dev </dev/null
    echo "$want" >"$STAMP"
fi

# Make the working tree visible as the installed collection underlay.network
# (ansible.cfg: collections_path = .cache/collections; .venv/bin/labctl makes it too).
link=.cache/collections/ansible_collections/underlay/network
if [[ ! -L $link ]]; then
    mkdir -p "$(dirname "$link")"
    ln -s ../../../.. "$link"
fi
# ...and importable from the venv's Python (tests, benchmarks, scripts run in lab namespaces), as an installed
# package is: a path file in site-packages, not sys.path edits in the code.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PWD/.cache/collections" >"$site/underlay-network-collection.pth"
