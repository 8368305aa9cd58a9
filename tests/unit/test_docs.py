"""Every output the documentation shows of an offline command (`vpclab check`, `trace`,
`reach`) is what the command prints today, on the same file: run it and compare.

A command is shown either as a ```sh block whose last line is the command, followed by its
output in the next block, or as ``$ vpclab ...`` lines inside one block, each followed by its
output. Live commands (``up``, ``verify``, experiments) print measured times and are not
compared here; their figures live on the performance page, which the benches write."""

import contextlib
import glob
import io
import os
import re
import shlex

import pytest

from vpclab.ui.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFFLINE = ("check", "trace", "reach")
PAIR = re.compile(r"```sh\n((?:(?!```).)*?)```\n```[a-z]*\n((?:(?!```).)*?)```", re.S)
BLOCK = re.compile(r"```[a-z]*\n((?:(?!```).)*?)```", re.S)


def shown() -> list[tuple[str, str, str]]:
    """(page, command, output) for every offline command the docs show with its output."""
    found = []
    for page in ["README.md", *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]:
        with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
            text = handle.read()
        name = os.path.relpath(os.path.join(ROOT, page), ROOT)
        for match in PAIR.finditer(text):
            command = match.group(1).strip().splitlines()[-1]
            found.append((name, command, match.group(2)))
        for block in BLOCK.finditer(text):
            parts = re.split(r"^\$ (vpclab .*)\n", block.group(1), flags=re.M)
            for command, output in zip(parts[1::2], parts[2::2], strict=True):
                found.append((name, command, output))
    return [(page, command, output) for page, command, output in found if _offline(command)]


def _offline(command: str) -> bool:
    """An offline command on a design of the repository (not one an earlier step writes)."""
    words = shlex.split(command)
    if len(words) < 3 or words[0] != "vpclab" or words[1] not in OFFLINE or "..." in command:
        return False
    return os.path.exists(os.path.join(ROOT, words[2]))


def _agrees(shown: str, printed: str) -> bool:
    """The shown lines, in order; a line ``...`` stands for any lines the page leaves out."""
    lines = printed.rstrip().splitlines()
    position = 0
    for number, chunk in enumerate(re.split(r"^\.\.\.$\n?", shown.rstrip(), flags=re.M)):
        wanted = chunk.strip("\n").splitlines()
        if not wanted:
            continue
        found = next(
            (
                at
                for at in range(position, len(lines) - len(wanted) + 1)
                if lines[at : at + len(wanted)] == wanted
            ),
            None,
        )
        if found is None or (number == 0 and found != 0):
            return False
        position = found + len(wanted)
    return not shown.rstrip().endswith("...") and position == len(lines) or shown.rstrip().endswith("...")


def _run(command: str) -> str:
    """What the command prints (``| tail -N``: its last N lines)."""
    command, _, tail = command.partition(" | tail -")
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            main(shlex.split(command)[1:])
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    return "\n".join(printed.rstrip().splitlines()[-int(tail) :]) if tail else printed


def _timeless(text: str) -> str:
    """A duration the command measured (``1 ms``, ``0.12 s``) changes from run to run."""
    return re.sub(r"\b\d+(\.\d+)? (ms|s)\b", "<duration>", text)


def test_the_docs_show_offline_commands_with_their_output():
    assert len(shown()) >= 5


@pytest.mark.parametrize(("page", "command", "output"), shown(), ids=lambda value: str(value)[:60])
def test_a_shown_output_is_still_what_the_command_prints(page, command, output):
    printed = _run(command)
    assert _agrees(_timeless(output), _timeless(printed)), f"{page}: `{command}` prints now:\n{printed}"
