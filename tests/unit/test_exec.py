"""`vpclab exec`: which run and host a command enters, and what it says when it cannot (the
entering itself needs root: the live test runs it)."""

import os

import pytest

from nitro_switch import attach
from vpclab.errors import InvalidInput
from vpclab.ui import cli


def test_the_host_is_found_in_the_one_run_or_the_named_one(monkeypatch):
    runs = {"shop": {"hosts": {"web1": os.getpid()}}}
    monkeypatch.setattr(attach, "live_runs", lambda: runs)
    assert attach.host_pid(None, "web1") == ("shop", os.getpid())
    assert attach.host_pid("shop", "web1") == ("shop", os.getpid())
    with pytest.raises(InvalidInput, match="no instance or host 'db9' in 'shop' \\(it has web1\\)"):
        attach.host_pid(None, "db9")
    with pytest.raises(InvalidInput, match="no running design 'lab' \\(running: shop\\)"):
        attach.host_pid("lab", "web1")
    runs["lab"] = {"hosts": {}}
    with pytest.raises(InvalidInput, match="name the running design to enter \\(running: lab, shop\\)"):
        attach.host_pid(None, "web1")
    runs["lab"] = {"hosts": {"gone": 2**22 + 12345}}  # a PID above Linux's limit: no such process
    with pytest.raises(InvalidInput, match="gone"):
        attach.host_pid("lab", "gone")


def test_the_command_line_needs_a_host_two_dashes_and_a_command(monkeypatch, capsys):
    monkeypatch.setattr(attach, "live_runs", lambda: {})
    for words in (["web1"], ["web1", "--"], ["a", "b", "c", "--", "true"], ["--", "true"]):
        assert cli.main(["exec", *words]) == 2
        assert "usage: vpclab exec [RUN] HOST -- COMMAND" in capsys.readouterr().err
    assert cli.main(["exec", "web1", "--", "true"]) == 2
    assert "name the running design to enter (running: none)" in capsys.readouterr().err
