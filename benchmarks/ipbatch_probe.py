"""Does pyroute2's IPBatch make creating links cheaper? One link's three requests, sent one by one or in one write.

The links module creates a macvlan in three requests: the link (up, at an ifindex it chose), its marker (the
alias, which the kernel takes only on an existing link) and its address. Sent one by one through IPRoute, each
request waits for its answer. IPBatch encodes several requests into one buffer, which one write sends; the
kernel answers each. This measures both ways on N macvlans in a namespace of its own (half of them each way,
alternating in blocks of 64), and ``ip -batch`` doing the same work, and checks every link afterwards.

Usage: .venv/bin/python benchmarks/ipbatch_probe.py [--links 1024] [--output benchmarks/results/ipbatch.md]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from pyroute2 import IPBatch, IPRoute, netns

REPO = Path(__file__).resolve().parent.parent
BLOCK = 64
FIRST_INDEX = 1000
NLMSG_ERROR = 2
MARKER = 'underlay.network/probe'


def requests(encoder, index, parent, number):
    encoder.link('add', ifname='p%d' % number, kind='macvlan', link=parent, macvlan_mode='bridge', state='up',
                 index=index)
    encoder.link('set', index=index, ifalias=MARKER)
    encoder.addr('add', index=index, address='10.66.%d.%d' % (number // 250, number % 250 + 1), prefixlen=32)


def acks(sock, count):
    """Read ``count`` netlink answers; raise on the first error."""
    seen = 0
    while seen < count:
        data = sock.recv(65536)
        offset = 0
        while offset < len(data):
            length, kind = struct.unpack_from('=IH', data, offset)
            if kind == NLMSG_ERROR:
                code, = struct.unpack_from('=i', data, offset + 16)
                if code:
                    raise OSError(-code, os.strerror(-code))
                seen += 1
            offset += (length + 3) & ~3


def probe(links):
    """Seconds per link one by one and batched (in this process's namespace), and the links made."""
    with IPRoute() as ipr:
        ipr.link('add', ifname='trunk', kind='veth', peer={'ifname': 'trunkp'})
        parent = ipr.link_lookup(ifname='trunk')[0]
        ipr.link('set', index=parent, state='up')
        batch, sock = IPBatch(), socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        sock.bind((0, 0))
        seconds = {'one by one': 0.0, 'IPBatch, one write per link': 0.0}
        for number in range(links):
            index = FIRST_INDEX + number
            start = time.perf_counter()
            if (number // BLOCK) % 2 == 0:
                requests(ipr, index, parent, number)
                seconds['one by one'] += time.perf_counter() - start
            else:
                batch.reset()
                requests(batch, index, parent, number)
                sock.send(bytes(batch.batch))
                acks(sock, 3)
                seconds['IPBatch, one write per link'] += time.perf_counter() - start
        made = [msg for msg in ipr.get_links() if msg.get_attr('IFLA_IFALIAS') == MARKER]
        addressed = {msg['index'] for msg in ipr.get_addr(family=socket.AF_INET)}
        if len(made) != links or not all(msg['index'] in addressed for msg in made):
            raise SystemExit('ipbatch_probe: the links are not all there, marked and addressed')
        batch.close()
    return {way: total / (links / 2) for way, total in seconds.items()}


def ip_batch(links):
    """Seconds per link of ``ip -batch`` doing the same work, from one file, in a namespace of its own."""
    lines = ['link add trunk type veth peer name trunkp', 'link set trunk up']
    for number in range(links):
        name = 'p%d' % number
        lines += ['link add %s link trunk type macvlan mode bridge' % name, 'link set %s up alias %s' % (name, MARKER),
                  'address add 10.66.%d.%d/32 dev %s' % (number // 250, number % 250 + 1, name)]
    name = 'ulprobe-%d-ip' % os.getpid()
    netns.create(name)
    try:
        start = time.perf_counter()
        subprocess.run(['ip', '-n', name, '-batch', '-'], input='\n'.join(lines) + '\n', text=True, check=True)
        return (time.perf_counter() - start) / links
    finally:
        netns.remove(name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--links', type=int, default=1024)
    parser.add_argument('--output', type=Path, default=REPO / 'benchmarks' / 'results' / 'ipbatch.md')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('ipbatch_probe: needs root (network namespaces)')
    name = 'ulprobe-%d' % os.getpid()
    netns.create(name)
    try:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the probe runs inside the namespace: a child, so that this process never enters it
            os.close(read)
            try:
                netns.setns(name)
                os.write(write, json.dumps(probe(args.links)).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            text = pipe.read()
        os.waitpid(child, 0)
    finally:
        netns.remove(name)
    if not text:
        sys.exit('ipbatch_probe: the probe failed')
    per_link = json.loads(text)
    per_link['ip -batch (the floor)'] = ip_batch(args.links)
    floor = per_link['ip -batch (the floor)']
    rows = ['| %s | %.3f | %.2f |' % (way, seconds * 1000, seconds / floor) for way, seconds in per_link.items()]
    report = '\n'.join([
        '# underlay.network: does IPBatch make creating links cheaper?', '',
        '- %d macvlans, each with its marker and an address (three requests); pyroute2 one by one and IPBatch take '
        'half each, alternating in blocks of %d; ip -batch does all of them from one file' % (args.links, BLOCK),
        '- Kernel %s, pyroute2 %s' % (os.uname().release, __import__('pyroute2').__version__), '',
        '| way | ms per link | vs ip -batch |', '|:---|---:|---:|', *rows, ''])
    print(report)
    args.output.write_text(report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
