"""A small VM for the tests: a Debian kernel and a busybox initramfs booted by qemu (TCG), its NIC on a macvtap."""
