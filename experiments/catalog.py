"""Finding scenarios: by name (experiments/scenarios/NAME.py, '-' or '_') or by file path."""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Union

from . import scenarios
from .breach import BreachScenario
from .dx_failover import DxFailover
from .harness import Scenario
from .lossy_link import LossyLink
from .path_failover import PathFailover
from .privatelink_failover import PrivateLinkFailover
from .retry_storm import RetryStorm
from .tunnel_failover import TunnelFailover

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")


def names() -> list[str]:
    return sorted(
        f[:-3].replace("_", "-") for f in os.listdir(SCENARIOS) if f.endswith(".py") and not f.startswith("_")
    )


def load(
    name_or_path: str,
) -> Union[
    Scenario,
    BreachScenario,
    LossyLink,
    RetryStorm,
    PathFailover,
    PrivateLinkFailover,
    TunnelFailover,
    DxFailover,
]:
    if name_or_path.endswith(".py") or os.sep in name_or_path:
        spec = importlib.util.spec_from_file_location("vpclab_scenario", name_or_path)
        if spec is None or spec.loader is None:
            raise KeyError(f"{name_or_path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        if name_or_path not in names():
            raise KeyError(f"no experiment '{name_or_path}' (known: {', '.join(names())})")
        module = importlib.import_module(f"{scenarios.__name__}.{name_or_path.replace('-', '_')}")
    return module.SCENARIO
