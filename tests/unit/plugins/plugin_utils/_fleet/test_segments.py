"""Segment's per-address lookups (plugin_utils/_fleet/segments.py): right for every position, and O(log ranges).

A fleet can reserve an address per host in one subnet (the hosts' own addresses, protected ones), which cuts
the infrastructure addresses into O(hosts) ranges; the plan looks up O(hosts) addresses. Without timing, the
scaling test counts how many per-range entries a lookup reads.
"""

import math

import pytest
from netaddr import IPAddress, IPNetwork

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.segments import parse_segment


class CountingList(list):
    """A list that counts the entries read from it, however they are read (index, iteration, bisect)."""

    reads = 0

    def __getitem__(self, item):
        CountingList.reads += 1
        return super().__getitem__(item)

    def __iter__(self):
        for entry in super().__iter__():
            CountingList.reads += 1
            yield entry

    def __reversed__(self):
        for entry in super().__reversed__():
            CountingList.reads += 1
            yield entry


def count_reads(segment):
    """Put every per-range list of ``segment`` (the ranges and whatever the lookups keep beside them) in a
    CountingList, so that the count covers all the work a lookup does over the ranges."""
    ranges = len(segment.infrastructure)
    for name, value in list(vars(segment).items()):
        if isinstance(value, list) and len(value) >= ranges:
            setattr(segment, name, CountingList(value))


def reads_of(lookup, *args):
    CountingList.reads = 0
    lookup(*args)
    return CountingList.reads


def scattered(subnet, first, count, stride):
    return {IPAddress(IPNetwork(subnet).first + first + stride * i): ('h%d' % i, 'connected') for i in range(count)}


# --- scaling -----------------------------------------------------------------------------------------------


def test_lookups_read_a_logarithmic_number_of_ranges():
    # A /18 with the pool in its upper half; every third address of the lower half reserved: 2,000 ranges.
    segment = parse_segment({'name': 'big', 'vlan_id': 10, 'subnet': '10.0.0.0/18', 'gateway': '10.0.0.1',
                             'container_pool': '10.0.32.0/19', 'host_range_size': 4}, 0)
    segment.reserve(scattered('10.0.0.0/18', 4, 2000, 3))
    ranges = len(segment.infrastructure)
    assert ranges >= 2000
    size = segment.infrastructure_size
    positions = list(range(0, size, size // 64)) + [size - 1]
    ips = [segment.lowest_infrastructure(position) for position in positions]
    count_reads(segment)
    bound = 2 * math.log2(ranges) + 6
    worst = {
        'lowest_infrastructure': max(reads_of(segment.lowest_infrastructure, p) for p in positions),
        'highest_infrastructure': max(reads_of(segment.highest_infrastructure, p) for p in positions),
        'infrastructure_position': max(reads_of(segment.infrastructure_position, ip) for ip in ips),
    }
    print('ranges %d, bound %.1f, most ranges read per lookup: %s' % (ranges, bound, worst))
    assert all(reads <= bound for reads in worst.values()), worst


# --- correctness against a brute-force reference --------------------------------------------------------------

SEGMENTS = [
    # Pool in the middle, gateway at the top: ranges on both sides of the pool.
    ({'name': 'mid', 'vlan_id': 10, 'subnet': '172.28.10.0/24', 'gateway': '172.28.10.254',
      'container_pool': '172.28.10.64/26', 'host_range_size': 8},
     # Next to one another, at the edges of the pool and of the subnet, and single holes.
     ['172.28.10.2', '172.28.10.3', '172.28.10.10', '172.28.10.63', '172.28.10.128', '172.28.10.130',
      '172.28.10.200', '172.28.10.253']),
    # No gateway (the first address is left out too), pool at the top, every fifth address reserved.
    ({'name': 'low', 'subnet': '172.28.20.0/24', 'container_pool': '172.28.20.192/26', 'host_range_size': 8},
     ['172.28.20.%d' % last for last in range(3, 192, 5)]),
]


@pytest.mark.parametrize('raw, reserved', SEGMENTS, ids=[segment[0]['name'] for segment in SEGMENTS])
def test_lookups_agree_with_the_flattened_addresses(raw, reserved):
    segment = parse_segment(raw, 0)
    segment.reserve({IPAddress(address): ('h1', 'protected') for address in reserved})
    subnet, pool = IPNetwork(raw['subnet']), IPNetwork(raw['container_pool'])
    left_out = {subnet.network, subnet.broadcast, IPAddress(raw['gateway']) if 'gateway' in raw else subnet[1]}
    left_out |= {IPAddress(address) for address in reserved}
    expected = [ip for ip in subnet if ip not in pool and ip not in left_out]
    assert segment.infrastructure_size == len(expected)
    assert len(segment.infrastructure) > 5
    lowest = [segment.lowest_infrastructure(position) for position in range(len(expected))]
    highest = [segment.highest_infrastructure(position) for position in range(len(expected))]
    assert lowest == expected and highest == expected[::-1]
    assert all(isinstance(ip, IPAddress) for ip in lowest + highest)
    for lookup in (segment.lowest_infrastructure, segment.highest_infrastructure):
        for past in (len(expected), len(expected) + 7):
            with pytest.raises(IndexError):
                lookup(past)
    position = {ip: index for index, ip in enumerate(expected)}
    outside = [subnet.network - 1, subnet.broadcast + 1, IPAddress('10.9.9.9')]
    for ip in list(subnet) + outside:
        assert segment.infrastructure_position(ip) == position.get(ip), ip
