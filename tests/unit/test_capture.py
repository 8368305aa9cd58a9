"""capture's summary of a pcap (written here with scapy): inner packets by protocol, VXLAN by
VNI with the VPC that VNI carries."""

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import wrpcap

from vpclab.inspection.capture import summary


def test_a_summary_counts_inner_protocols_and_names_each_vnis_vpc(tmp_path):
    inner = Ether() / IP(src="10.20.1.4", dst="10.20.2.4") / TCP(dport=8080)
    tunnelled = Ether() / IP(src="192.168.200.1", dst="192.168.200.2") / UDP(dport=4789) / VXLAN(vni=0x800001)
    packets = [inner, Ether() / IP() / ICMP(), Ether() / ARP(), tunnelled / inner, tunnelled / inner]
    path = str(tmp_path / "c.pcap")
    wrpcap(path, packets)
    said = summary(path, lambda vni: "shop" if vni & 0xFFF == 1 else None)
    assert said == "5 packets: 3 TCP, 2 VXLAN VNI 0x800001 (VPC shop), 1 ICMP, 1 not IPv4"
    assert summary(path).count("(VPC") == 0


def test_ipv6_packets_are_counted_by_their_protocol_and_neighbour_discovery_apart(tmp_path):
    from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, IPv6

    six = Ether() / IPv6(src="2001:db8:1000:1::10", dst="2001:db8:2000:1::10")
    tunnelled = Ether() / IP(src="192.168.200.1", dst="192.168.200.2") / UDP(dport=4789) / VXLAN(vni=2)
    packets = [
        six / ICMPv6EchoRequest(),
        tunnelled / six / TCP(dport=443),
        six / UDP(dport=53),
        Ether() / IPv6(dst="ff02::1:ff00:1") / ICMPv6ND_NS(tgt="2001:db8:1000:1::1"),
        Ether() / IPv6() / ICMPv6ND_NA(tgt="2001:db8:1000:1::1"),
    ]
    path = str(tmp_path / "six.pcap")
    wrpcap(path, packets)
    said = summary(path, lambda vni: "dev" if vni == 2 else None)
    assert said == "5 packets: 2 ICMPv6 ND, 1 ICMPv6, 1 VXLAN VNI 0x2 (VPC dev), 1 TCP/IPv6, 1 UDP/IPv6"
