"""One exception base: every error vpclab defines is a VpclabError, and its kind says how a
command ends (the mapping lives in vpclab/errors.py alone)."""

import importlib
import inspect
import pkgutil

import pytest

import agents
import controller
import experiments
import nitro_switch
import vpclab
from vpclab.errors import Defect, InvalidInput, OperationFailed, VpclabError
from vpclab.ui import cli

INTERNAL = {"vpclab.oracle.packet.Dropped"}  # the oracle's walk stops with it; it never leaves trace


def _defined_exceptions():
    for package in (vpclab, controller, nitro_switch, agents, experiments):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                defined_here = inspect.isclass(value) and value.__module__ == info.name
                if defined_here and issubclass(value, BaseException):
                    yield f"{info.name}.{name}", value


def test_every_exception_vpclab_defines_has_the_one_base():
    found = dict(_defined_exceptions())
    assert len(found) >= 12
    strays = [name for name, kind in found.items() if not issubclass(kind, VpclabError)]
    strays = [name for name in strays if name not in INTERNAL]
    assert not strays, f"not a VpclabError: {strays}"


@pytest.mark.parametrize(
    ("kind", "code"),
    [("InvalidInput", 2), ("OperationFailed", 1), ("Defect", 70)],
)
def test_each_kind_ends_a_command_with_its_code(monkeypatch, capsys, kind, code):
    error = {"InvalidInput": InvalidInput, "OperationFailed": OperationFailed, "Defect": Defect}[kind]

    def fails(args):
        raise error("it went wrong")

    parser = cli._parser()
    monkeypatch.setattr(cli, "run_check", fails)
    monkeypatch.setattr(cli, "_parser", lambda: parser)
    for action in parser._subparsers._group_actions:  # the check verb runs the patched function
        action.choices["check"].set_defaults(run=fails)
    assert cli.main(["check", "anything.yaml"]) == code
    assert "it went wrong" in capsys.readouterr().err
