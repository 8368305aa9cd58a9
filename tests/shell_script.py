"""The shell in batch mode, for the unit tests (a fake emulation) and the live ones."""

import io
import os
import tempfile

from vpclab.ui.shell import VpcCLI


def shell(emulation, *commands) -> str:
    """Run ``commands`` through vpclab's shell (Mininet's batch mode); what it printed."""
    out = io.StringIO()
    with tempfile.NamedTemporaryFile("w", suffix=".cli", delete=False) as script:
        script.write("\n".join(commands) + "\n")
    try:
        with open(os.devnull, encoding="utf-8") as nothing:
            VpcCLI(emulation, stdin=nothing, stdout=out, script=script.name)
    finally:
        os.unlink(script.name)
    return out.getvalue()
