"""Telling a wireless parent from sysfs (no 802.11 device exists in any kernel here: neither this machine's nor
the kernel box's has mac80211_hwsim, so the sysfs tree is built as cfg80211 lays it out)."""

from ansible_collections.underlay.network.plugins.module_utils._kernel.wireless import wireless_in_sysfs


def test_a_device_with_a_wireless_directory_or_a_phy_link_is_wireless(tmp_path):
    (tmp_path / 'class/net/wlan0/wireless').mkdir(parents=True)
    (tmp_path / 'class/net/wlp2s0').mkdir(parents=True)
    (tmp_path / 'class/net/wlp2s0/phy80211').symlink_to('../../ieee80211/phy0')
    (tmp_path / 'class/net/eth0').mkdir(parents=True)
    assert wireless_in_sysfs(str(tmp_path), 'wlan0')
    assert not wireless_in_sysfs(str(tmp_path), 'eth0')
    assert not wireless_in_sysfs(str(tmp_path), 'missing0')


def test_a_dangling_phy_link_still_counts(tmp_path):
    (tmp_path / 'class/net/wlp2s0').mkdir(parents=True)
    (tmp_path / 'class/net/wlp2s0/phy80211').symlink_to('../../ieee80211/phy0')
    assert wireless_in_sysfs(str(tmp_path), 'wlp2s0') is True
