"""The VPC resolver, live: inside the instances, glibc (getent) and dig resolve through their
VPC's resolver on the Nitro card; a private zone answers only in its VPCs; a VPC without DNS
support has no resolver; the machine's own resolv.conf is left alone."""

from live_helpers import live, topology

from nitro_switch.emulation import Emulation

pytestmark = live
quiet = lambda line: None


def test_instances_resolve_through_their_vpc_s_resolver():
    with open("/etc/resolv.conf", encoding="utf-8") as handle:
        machine_before = handle.read()
    with Emulation(topology("private-dns.yaml"), log=quiet) as lab:
        web1, build1, old1 = (lab.hosts.hosts[name] for name in ("web1", "build1", "old1"))
        assert "nameserver 10.0.0.2" in web1.cmd("cat /etc/resolv.conf")
        assert web1.cmd("getent hosts db.corp.internal").split()[:2] == ["10.0.2.4", "db.corp.internal"]
        assert web1.cmd("getent hosts api.corp.internal").split()[0] == "10.0.1.4"  # a CNAME
        assert web1.cmd("getent hosts build1").split()[:2] == ["10.1.1.4", "build1.vpclab.internal"]
        assert web1.cmd("dig +short +time=1 @169.254.169.253 ip-10-0-1-4.ec2.internal").strip() == "10.0.1.4"
        assert web1.cmd("dig +short +tcp +time=1 db.corp.internal").strip() == "10.0.2.4"  # over TCP
        web1.cmd("python3 -m http.server 8000 --bind 10.0.1.4 >/dev/null 2>&1 &")
        fetch = "curl -s -o /dev/null -w '%{http_code}' http://api.corp.internal:8000/"  # by its CNAME
        web1.cmd(f"for n in $(seq 30); do [ $({fetch}) = 200 ] && break; sleep 0.1; done")
        assert web1.cmd(fetch).strip() == "200"
        web1.cmd("kill $!")
        assert "status: NXDOMAIN" in build1.cmd("dig +time=1 +tries=1 db.corp.internal")  # not dev's zone
        assert build1.cmd("getent hosts web1").split()[0] == "10.0.1.4"
        assert web1.cmd("ping -c 1 -W 1 db1.vpclab.internal >/dev/null; echo $?").strip() == "1"  # SG
        assert web1.cmd("getent hosts db1 >/dev/null; echo $?").strip() == "0"
        timed_out = old1.cmd("dig +time=1 +tries=1 @10.2.0.2 web1.vpclab.internal")
        assert "timed out" in timed_out or "no servers could be reached" in timed_out
        with open("/etc/resolv.conf", encoding="utf-8") as handle:
            assert handle.read() == machine_before


def test_verify_asks_every_resolver_and_agrees():
    from vpclab.verify import report, verify

    verification = verify(topology("private-dns.yaml"), log=quiet)
    assert verification.agrees, report(verification, False)
    answers = {(r.source, r.probe): r.answered_by for r in verification.results if r.kind == "dns"}
    assert answers["web1", "dns db.corp.internal"] == "NOERROR 10.0.2.4"
    assert answers["build1", "dns db.corp.internal"] == "NXDOMAIN"  # prod's zone only
    assert answers["old1", "dns db.corp.internal"] is None  # no resolver in legacy
    assert "DNS queries" in report(verification, False)


def test_one_process_serves_every_card_s_metadata_and_dns():
    """Every card's services in one process (a process each per card cost 1.1 GiB at 512
    instances): it answers on each card, from that card's own namespace, and ends with the run."""
    from agents import card_services
    from nitro_switch.clean import marked_processes

    design = topology("private-dns.yaml")
    with Emulation(design, log=quiet) as lab:
        cards = {i.server for i in design.instances}
        assert len(lab.hosts.metadata) == len(cards) > 1
        services = lab.hosts.services
        marked = marked_processes(design.name)
        running = [pid for pid in marked if card_services.__name__.encode() in _cmdline(pid)]
        assert running == [services.pid]
        for instance in design.instances:  # one instance per card answers by both services
            if instance.vpc != "legacy" and instance.server in cards:
                cards.discard(instance.server)
                host = lab.hosts.hosts[instance.name]
                name = f"{instance.name}.vpclab.internal"
                asked = host.cmd(f"dig +short +time=1 +tries=3 @169.254.169.253 {name}")
                answers = [line for line in asked.splitlines() if line and not line.startswith(";;")]
                assert answers == [str(instance.ip)], (instance.name, asked)  # ";;": a try timed out
                said = host.cmd("curl -s -m 2 http://169.254.169.254/latest/meta-data/local-ipv4")
                assert said.strip() == str(instance.ip), (instance.name, said)
        assert not cards, f"no instance with DNS on {cards}"
    assert services.poll() is not None  # ended with the run


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""
