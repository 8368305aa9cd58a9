"""capture: a pcap of an instance's packets, and of a server's VXLAN with the VNI of each VPC."""

import subprocess

from live_helpers import live, topology
from scapy.layers.inet import ICMP
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from nitro_switch.emulation import Emulation
from vpclab.inspection.capture import record, summary

pytestmark = live
quiet = lambda line: None


def test_a_server_capture_holds_vxlan_with_each_vpcs_vni_and_an_instance_capture_its_pings(tmp_path):
    with Emulation(topology("inspection.yaml"), log=quiet) as lab:
        hosts, servers = lab.hosts.hosts, lab.servers_by_name
        app1, data1 = lab.topology.instance("app1"), lab.topology.instance("data1")
        ping = hosts["app1"].popen(["ping", "-c", "80", "-i", "0.1", str(data1.ip)], stdout=subprocess.PIPE)
        try:
            record(servers, hosts, app1.server, 1.5, str(tmp_path / "server.pcap"))
            record(servers, hosts, "app1", 1.0, str(tmp_path / "app1.pcap"))
        finally:
            ping.wait()
        tunnelled = [p for p in rdpcap(str(tmp_path / "server.pcap")) if VXLAN in p]
        assert tunnelled and all(ICMP in p[VXLAN].payload for p in tunnelled)
        vpcs = {p[VXLAN].vni & 0xFFF for p in tunnelled}
        assert vpcs <= {vpc.number for vpc in lab.topology.vpcs} and len(vpcs) >= 2  # app, and onward
        said = summary(
            str(tmp_path / "server.pcap"), lambda vni: {1: "app", 2: "data", 3: "inspection"}.get(vni & 0xFFF)
        )
        assert "VXLAN VNI" in said and "(VPC " in said
        inner = rdpcap(str(tmp_path / "app1.pcap"))
        assert sum(ICMP in p and p[ICMP].type == 0 for p in inner) >= 3  # replies reach app1
