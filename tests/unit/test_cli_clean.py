"""`vpclab clean` refuses without root in one line (the live behaviour is in test_live.py)."""

import os

from vpclab.ui.cli import main


def test_clean_without_root_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["clean"]) == 2
    error = capsys.readouterr().err
    assert error == "vpclab clean: it removes network namespaces and interfaces: run it as root\n"
