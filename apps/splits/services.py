"""Use cases of the split engine that the API, the simulator page and the command share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.splits.engine import InvalidDocument, InvalidRules, run
from apps.splits.engine.trace import trace_as_json
from apps.splits.explain import explain_steps, explain_summary

# A simulation is for a person checking a contract, not a bulk import; this bounds the work a
# single request can ask for.
MAX_SIMULATION_LINES = 1000


@dataclass
class SimulatedLine:
    id: str
    source: str
    platform: str
    result: dict[str, Any]
    trace: list[dict[str, Any]]
    explanation: list[str]
    summary: str


@dataclass
class SplitSimulation:
    document: dict[str, Any]  # exactly the spec's result document
    invalid_rules: InvalidRules | None = None
    lines: list[SimulatedLine] = field(default_factory=list)

    def as_api(self) -> dict[str, Any]:
        """The result document, each line result extended with its trace and explanation."""
        body = dict(self.document)
        body["lines"] = {
            line.id: {
                **line.result,
                "trace": line.trace,
                "explanation": line.explanation,
                "summary": line.summary,
            }
            for line in self.lines
        }
        return body


def split_simulate(*, document: Any, viewer: str | None = None) -> SplitSimulation:
    """Run a vector-shaped document through the engine and explain every line.

    Raises InvalidDocument for a malformed document; an invalid rule set is a result.
    """
    lines = document.get("lines") if isinstance(document, dict) else None
    if isinstance(lines, list) and len(lines) > MAX_SIMULATION_LINES:
        raise InvalidDocument("/lines", f"at most {MAX_SIMULATION_LINES} lines per simulation")
    simulation = run(document)
    if simulation.invalid_rules is not None or simulation.rule_set is None:
        return SplitSimulation(simulation.document, simulation.invalid_rules)
    rule_set = simulation.rule_set
    simulated = []
    for raw in document["lines"]:
        result = simulation.results[raw["id"]]
        context = {"source": raw["source"], "platform": raw["platform"], "viewer": viewer}
        simulated.append(
            SimulatedLine(
                id=raw["id"],
                source=raw["source"],
                platform=raw["platform"],
                result=simulation.document["lines"][raw["id"]],
                trace=trace_as_json(result.trace, rule_set),
                explanation=explain_steps(result, rule_set, **context),
                summary=explain_summary(result, rule_set, **context),
            )
        )
    return SplitSimulation(simulation.document, None, simulated)
