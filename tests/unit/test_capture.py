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
