#!/bin/sh
# PID 1 of the test VM. Sets up eth0 from the kernel command line (underlay.address=CIDR, underlay.routes=DEST@GW,...),
# prints UNDERLAY-READY on the serial console, then runs each line read there as a command and answers
# "UNDERLAY-RC <status>" after its output.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
arg() { sed -n "s/.*underlay\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
insmod /e1000.ko
ip link set lo up
ip link set eth0 up
ip address add "$(arg address)" dev eth0
for route in $(arg routes | tr , ' '); do
    ip route add "${route%@*}" via "${route#*@}" dev eth0
done
# The e1000 link comes up about 2 s after the driver loads: ready only once it carries frames.
for _ in $(seq 100); do
    [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break
    sleep 0.1
done
stty -echo -F /dev/ttyS0 2>/dev/null
echo UNDERLAY-READY >/dev/ttyS0
while read -r line </dev/ttyS0; do
    sh -c "$line" >/dev/ttyS0 2>&1
    echo "UNDERLAY-RC $?" >/dev/ttyS0
done
poweroff -f
