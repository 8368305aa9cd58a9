"""An import-linter contract type: layers that place every module of the root packages.

import-linter's own ``exhaustive`` option needs containers (the same layers repeated inside
each package); vpclab's layers run across its packages (the model in ``vpclab.intent``, the
compiler in ``controller.compiler``, the cards in ``nitro_switch``...), so this contract checks
the layers as ``type = "layers"`` does and, besides, that every module sits in one of them (is
a layer or inside one). A new module fails ``make lint`` until it is placed in pyproject.toml.
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import ContractCheck


class ExhaustiveLayersContract(LayersContract):
    type_name = "exhaustive_layers"

    def validate(self) -> None:
        exhaustive, self.exhaustive = self.exhaustive, False  # no containers: checked below
        try:
            super().validate()
        finally:
            self.exhaustive = exhaustive

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        exhaustive, self.exhaustive = self.exhaustive, False
        try:
            result = super().check(graph, verbose)
        finally:
            self.exhaustive = exhaustive
        unplaced = self._unplaced(graph)
        result.metadata["unplaced_modules"] = unplaced
        result.kept = result.kept and not unplaced
        return result

    def _unplaced(self, graph: grimp.ImportGraph) -> list[str]:
        placed = {tail.name for layer in self.layers for tail in layer.module_tails}  # type: ignore[attr-defined]
        ignored: set[str] = set(self.exhaustive_ignores or ())  # type: ignore[arg-type]
        roots = set(self.session_options["root_packages"])
        unplaced = []
        for module in sorted(graph.modules):
            if module in roots or module in ignored:
                continue
            parts = module.split(".")
            within = any(".".join(parts[:end]) in placed for end in range(1, len(parts) + 1))
            holds_a_layer = any(name.startswith(module + ".") for name in placed)  # a package of layers
            if not within and not holds_a_layer:
                unplaced.append(module)
        return unplaced

    def render_broken_contract(self, check: ContractCheck) -> None:
        super().render_broken_contract(check)
        if check.metadata["unplaced_modules"]:
            output.print("These modules sit in no layer; place each in pyproject.toml's layers:")
            output.new_line()
            for module in check.metadata["unplaced_modules"]:
                output.print_error(f"- {module}", bold=False)
            output.new_line()
