"""The split engine: the open algorithm of docs/split-rules.md, exactly, in pure Python.

Design
------
* Edges and inside. Documents arrive as JSON with decimal strings. `parse_rule_set` validates a
  rule set once into a RuleSet whose percents are integer units of 0.0001 % (100 % = 1,000,000)
  and whose amounts are integer minor units (ISO 4217 exponents); `simulate.run` parses lines.
  From there on only ints move: no Decimal, no float near money, and exactly two roundings,
  `half_up` and `allocate` (largest remainder), as the spec defines them.
* State. An `Evaluator` holds what the spec carries between lines (each rule's net per tier
  period, the agency's share per cap period, the creator's share per guarantee period, the
  outstanding advance, and each positive line's parts still refundable). Lines must be given in
  recognition order; the same lines in the same order always give the same results.
* Trace. Every LineResult carries the ordered steps that produced it as plain tuples (see
  evaluator.py). Rendering them into sentences is the Django side's job (apps/splits/explain.py),
  so the hot path formats nothing.
* Errors. An invalid rule set raises InvalidRules(path, message) with a JSON pointer; a bad line
  is a LineResult with `error` set and affects that line only; a document that is not
  vector-shaped raises InvalidDocument(path, message).
* No Django here, so the algorithm can be published, vendored and re-run anywhere.
"""

from apps.splits.engine.evaluator import Evaluator, Line, LineResult
from apps.splits.engine.money import allocate, format_amount, half_up, parse_amount, parse_percent
from apps.splits.engine.rules import InvalidRules, RuleSet, parse_rule_set
from apps.splits.engine.schema import RULE_SET_SCHEMA
from apps.splits.engine.simulate import InvalidDocument, Simulation, run, simulate

__all__ = [
    "RULE_SET_SCHEMA",
    "Evaluator",
    "InvalidDocument",
    "InvalidRules",
    "Line",
    "LineResult",
    "RuleSet",
    "Simulation",
    "allocate",
    "format_amount",
    "half_up",
    "parse_amount",
    "parse_percent",
    "parse_rule_set",
    "run",
    "simulate",
]
