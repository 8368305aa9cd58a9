"""Every error vpclab reports, under one base, and how each kind ends a command.

- ``InvalidInput`` (exit 2): what the user gave cannot be used: a topology (``FILE:LINE: path:
  message``), a change, an argument, a snapshot, a rule typed in the shell. Nothing was built.
- ``OperationFailed`` (exit 1): a step of building or driving the emulation failed, or
  Hyperplane refused or could not be reached.
- ``Defect`` (exit 70, EX_SOFTWARE): vpclab broke one of its own rules (two flows the switch
  could not tell apart, a flow outside its stage's declaration): a bug to report, never the
  user's mistake.

The command (``vpclab.ui.cli``) maps them to exit codes in one ``except``; the shell prints the
message and goes on (a verb never ends a session); Hyperplane's API answers with ``code``.
"""

from __future__ import annotations


class VpclabError(Exception):
    """An error vpclab reports to its user; ``exit_code`` is how a command ends with it."""

    exit_code = 1
    code = "InternalError"  # AWS-style, for the API's answers

    def report(self, command: str) -> str:
        """What the command prints on standard error."""
        return f"vpclab {command}: {self}"


class InvalidInput(VpclabError):
    exit_code = 2
    code = "InvalidParameterValue"


class OperationFailed(VpclabError):
    exit_code = 1
    code = "OperationFailed"


class Defect(VpclabError):
    exit_code = 70
    code = "InternalError"

    def report(self, command: str) -> str:
        return f"vpclab {command}: a defect in vpclab, please report it: {self}"
