"""A fresh machine: the venv is exactly the lock, nothing of the system's Python leaks in but
Mininet, and vpclab's commands are silent on good input and quiet when their reader leaves."""

import os
import subprocess
import sys
from pathlib import Path

import lockcheck
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VPCLAB = Path(sys.executable).parent / "vpclab"


# -- the lock ----------------------------------------------------------------------------------
LOCK = """\
# generated
numpy==2.4.6 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
    # via matplotlib
contourpy==1.3.3 ; python_full_version < '3.11' \\
    --hash=sha256:cc
contourpy==1.4.0 ; python_full_version >= '3.11' \\
    --hash=sha256:dd
pywin32==312 ; sys_platform == 'win32' \\
    --hash=sha256:ee
"""


def test_the_lock_is_read_with_its_markers():
    assert lockcheck.pinned(LOCK) == {"numpy": "2.4.6", "contourpy": "1.4.0"}


def test_a_range_in_the_lock_is_refused():
    with pytest.raises(ValueError, match="not pinned"):
        lockcheck.pinned("numpy>=2 \\\n    --hash=sha256:aa\n")


def test_every_difference_between_venv_and_lock_is_named():
    pins = {"numpy": "2.4.6", "contourpy": "1.4.0", "six": "1.17.0"}
    present = {"numpy": "2.4.6", "contourpy": "1.3.3", "cryptography": "51.0.1", "vpclab": "0.2.0"}
    assert lockcheck.lock_problems(pins, present) == [
        "contourpy 1.3.3 is installed but requirements.lock pins 1.4.0",
        "cryptography 51.0.1 is installed but requirements.lock does not pin it",
        "six 1.17.0 is pinned in requirements.lock but not installed",
    ]
    assert lockcheck.lock_problems({"numpy": "2.4.6"}, {"numpy": "2.4.6", "vpclab": "0.2.0"}) == []


def test_an_import_path_outside_the_venv_is_named(tmp_path):
    venv, outside = tmp_path / "venv", tmp_path / "dist-packages"
    (venv / "debian").mkdir(parents=True)
    (outside / "mininet").mkdir(parents=True)
    (outside / "OpenSSL").mkdir()
    (venv / "debian" / "mininet").symlink_to(outside / "mininet")
    assert lockcheck.path_problems([str(venv / "debian")], [str(venv), str(ROOT)]) == []
    (venv / "debian" / "OpenSSL").symlink_to(outside / "OpenSSL")
    assert lockcheck.path_problems([str(venv / "debian"), str(outside)], [str(venv), str(ROOT)]) == [
        f"{venv / 'debian' / 'OpenSSL'} on the import path links outside the venv",
        f"{outside} on the import path is outside the venv",
    ]


def test_this_venv_is_exactly_the_lock():
    """What `make lint` runs: fails when a package floats, is missing or leaks in."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "lockcheck.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_only_mininet_comes_from_the_system():
    code = "import importlib.util as u; print(u.find_spec('OpenSSL'), u.find_spec('mininet').origin)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    missing, mininet = result.stdout.split()
    assert missing == "None"
    assert mininet.startswith(sys.prefix)


# -- silent success ----------------------------------------------------------------------------
def vpclab(*arguments, cwd=ROOT):
    environment = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run(
        [str(VPCLAB), *arguments], capture_output=True, text=True, cwd=cwd, env=environment, check=False
    )


GOOD = [
    ("check", "topologies/three-tier.yaml"),
    ("trace", "topologies/three-tier.yaml", "web1", "app1", "--protocol", "tcp", "--port", "8080"),
    ("trace", "topologies/peering.yaml", "build1", "web1", "--protocol", "tcp", "--port", "443", "--json"),
    ("reach", "topologies/tgw-incident.yaml"),
    ("reach", "topologies/payments.yaml", "--json"),
]


@pytest.mark.parametrize("arguments", GOOD, ids=lambda a: " ".join(a[:2]))
def test_good_input_prints_nothing_on_stderr_with_warnings_as_errors(arguments):
    result = vpclab(*arguments)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout


def test_import_prints_nothing_on_stderr_with_warnings_as_errors(tmp_path):
    snapshot = DATA / "aws-configs" / "test-transit-gateway" / "aws_configs"
    result = vpclab("import", str(snapshot), "-o", str(tmp_path / "tgw.yaml"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "wrote" in result.stdout


PIPED = [*GOOD, ("--help",), ("import", str(DATA / "aws-configs" / "test-subnet" / "aws_configs"), "-o", "-")]


@pytest.mark.parametrize("arguments", PIPED, ids=lambda a: " ".join(a[:2]))
def test_a_reader_that_leaves_ends_the_command_quietly(arguments, tmp_path):
    """`vpclab ... | head -1`, made certain: the pipe is closed before vpclab writes at all."""
    arguments = tuple(str(tmp_path / "out.yaml") if a == "-" else a for a in arguments)
    read, write = os.pipe()
    os.close(read)
    process = subprocess.run(
        [str(VPCLAB), *arguments],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )
    os.close(write)
    assert process.returncode in (0, 141)
    assert "Traceback" not in process.stderr
    assert "Exception ignored" not in process.stderr
    assert process.stderr == ""


def test_the_demo_design_ships_in_the_package():
    from vpclab import designs
    from vpclab.intent.loader import load_topology
    from vpclab.ui.cli import DEMO_TRY

    topology = load_topology(str(designs.bundled(designs.TOUR)))
    names = {instance.name for instance in topology.instances}
    for command, _ in DEMO_TRY:
        first = command.split()[0]
        assert first in names | {"flows", "trace", "help"}, command
