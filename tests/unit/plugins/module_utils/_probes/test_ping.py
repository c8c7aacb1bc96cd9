"""The container batch of the reachability probes: one exec, one line per target (pure parsing)."""

from ansible_collections.underlay.network.plugins.module_utils._probes.ping import parse_batch
from ansible_collections.underlay.network.plugins.module_utils._probes.probes import result_row
from ansible_collections.underlay.network.plugins.module_utils._probes.run import probe_with_retries

BUSYBOX_REACHED = ('PING 172.28.60.4 (172.28.60.4): 56 data bytes 64 bytes from 172.28.60.4: seq=0 ttl=64 '
                   'time=0.101 ms --- 172.28.60.4 ping statistics --- 1 packets transmitted, 1 packets received, '
                   '0% packet loss round-trip min/avg/max = 0.101/0.101/0.101 ms')


def test_lines_in_any_order_land_on_their_probe():
    output = '\n'.join([
        '@@ 2 1 PING 172.28.60.99 (172.28.60.99): 56 data bytes --- 172.28.60.99 ping statistics --- '
        '1 packets transmitted, 0 packets received, 100% packet loss',
        '@@ 0 0 ' + BUSYBOX_REACHED,
        'some noise the shell printed',
    ])
    found = parse_batch(output, 3)
    assert found[0] == (0, '1 packets transmitted, 1 packets received, 0% packet loss; '
                           'round-trip min/avg/max = 0.101/0.101/0.101 ms')
    assert found[1] is None  # not reported: the caller says so
    assert found[2] == (1, '1 packets transmitted, 0 packets received, 100% packet loss')


def test_output_without_statistics_is_kept_and_silence_is_named():
    found = parse_batch('@@ 0 2 ping: bad address 10.0.0.300\n@@ 1 127\n@@ 7 0 beyond the count', 2)
    assert found == [(2, 'ping: bad address 10.0.0.300'), (127, 'ping exited with status 127 and said nothing')]


class FlakyProber:
    """A prober whose probes to 'slow' answer only from the second try on."""

    def __init__(self):
        self.tries = {}

    def probe(self, probe):
        self.tries[probe['target']] = self.tries.get(probe['target'], 0) + 1
        reached = probe['target'] == 'fast' or (probe['target'] == 'slow' and self.tries['slow'] > 1)
        return result_row(probe, reached, 'try %d' % self.tries[probe['target']])


def probe(target, expect):
    return {'name': target, 'source': {'netns': None, 'container': None, 'docker_host': None}, 'target': target,
            'expect': expect}


def test_only_probes_that_must_reach_are_tried_again():
    prober = FlakyProber()
    probes = [probe('fast', 'reach'), probe('slow', 'reach'), probe('dead', 'reach'), probe('walled', 'isolated')]
    rows = probe_with_retries(prober, probes, parallel=4, retries=2)
    assert [(r['name'], r['reached'], r['ok']) for r in rows] == [
        ('fast', True, True), ('slow', True, True), ('dead', False, False), ('walled', False, True)]
    assert rows[1]['detail'] == 'try 2 (answered on try 2)'
    assert prober.tries == {'fast': 1, 'slow': 2, 'dead': 3, 'walled': 1}  # isolation is never retried
    assert probe_with_retries(FlakyProber(), probes[1:2], parallel=1, retries=0)[0]['reached'] is False
