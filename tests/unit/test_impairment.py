"""An impaired link's words and its nftables script (the live test runs them)."""

import cmd
import io

import pytest

from nitro_switch.faults import Impairment, loss_rules


def test_an_impairment_reads_the_shells_words_and_refuses_what_tc_or_a_percentage_cannot_be():
    assert Impairment.parse("5%") == Impairment(0.05)
    assert Impairment.parse("0.5", "10Mbit") == Impairment(0.005, "10mbit")
    assert Impairment.parse(rate="500kbit").rate_bits == 500_000
    assert (
        Impairment(0.2, "1gbit").describe() == "drops 20 % of the packets and carries at most 1gbit each way"
    )
    for loss, rate, said in (
        ("x", None, "write it as a percentage"),
        ("120%", None, "from 0 to 100"),
        (None, "10mbps", "as tc does"),
    ):
        with pytest.raises(ValueError, match=said):
            Impairment.parse(loss, rate)


def test_the_loss_script_drops_each_ports_share_each_way_and_an_empty_one_removes_the_table():
    script = loss_rules("vplabc123", {"vplabc123u2": 0.2, "vplabc123u1": 0.0123})
    lines = script.splitlines()
    assert lines[:2] == ["add table bridge vplabc123", "delete table bridge vplabc123"]  # replaced whole
    assert (
        'add rule bridge vplabc123 underlay iifname "vplabc123u2" numgen random mod 10000 < 2000 counter drop'
        in lines
    )
    assert (
        'add rule bridge vplabc123 underlay oifname "vplabc123u1" numgen random mod 10000 < 123 counter drop'
        in lines
    )
    assert loss_rules("vplabc123", {}).splitlines() == lines[:2]


def test_the_shell_says_how_to_impair_a_link_before_touching_anything():
    from vpclab.ui.shell import VpcCLI

    shell = VpcCLI.__new__(VpcCLI)
    output = io.StringIO()
    cmd.Cmd.__init__(shell, stdout=output)
    shell.emulation = type("Running", (), {"servers_by_name": {"srv1": None, "srv2": None}})()
    for line, said in (
        ("fail link srv2 --loss", "Usage: fail nitro SERVER"),
        ("fail link srv9 --loss 5%", "Usage: fail nitro SERVER"),
        ("fail link srv2 --jitter 5ms", "Usage: fail nitro SERVER"),
        ("fail link srv2 --loss x", "*** loss 'x': write it as a percentage"),
        ("fail link srv2 --loss 0%", "*** nothing to impair: `recover link srv2`"),
    ):
        output.truncate(0)
        output.seek(0)
        shell.onecmd(line)
        assert output.getvalue().startswith(said), (line, output.getvalue())
