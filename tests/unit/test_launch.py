"""The launcher names every process vpclab starts, and only runnable modules."""

import importlib.util
import os

import agents
from agents.launch import Process, command

AGENTS = os.path.dirname(agents.__file__)


def _runnable(path: str) -> bool:
    with open(path, encoding="utf-8") as handle:
        return 'if __name__ == "__main__":' in handle.read()


def test_every_process_is_a_runnable_module():
    for process in Process:
        spec = importlib.util.find_spec(process.value)
        assert spec is not None and spec.origin, f"{process.name}: no module {process.value}"
        assert _runnable(spec.origin), f"{process.value} does not run as a program"


def test_every_runnable_agent_is_launched_by_name():
    runnable = {
        f"agents.{name[:-3]}"
        for name in os.listdir(AGENTS)
        if name.endswith(".py") and _runnable(os.path.join(AGENTS, name))
    }
    assert runnable == {process.value for process in Process} - {Process.HYPERPLANE.value}


def test_the_command_runs_the_module_with_this_python():
    argv = command(Process.PROBE, "listen", "--tcp", "80")
    assert argv[1:] == ["-m", "agents.probe", "listen", "--tcp", "80"]
    assert os.path.basename(argv[0]).startswith("python")
