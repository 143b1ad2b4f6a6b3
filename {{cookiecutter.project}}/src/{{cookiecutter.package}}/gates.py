"""Gates: the checks a model must pass before it may be registered.

Each gate compares one metric with its limit from project.yaml and says, when it fails, which
metric, its value, the limit and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from .settings import Gates
from .steps.evaluate import auc


@dataclass(frozen=True)
class GateResult:
    gate: str
    metric: str
    value: float
    limit: float
    comparison: str  # ">=" or "<="
    passed: bool
    fix: str

    @property
    def message(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        relation = self.comparison if self.passed else {">=": "<", "<=": ">"}[self.comparison]
        text = f"{self.gate} gate {verdict}: {self.metric} {self.value:.4f} {relation} {self.limit:g}"
        return text if self.passed else f"{text}; {self.fix}"


def quality_gate(evaluation: dict, gates: Gates) -> GateResult:
    value = auc(evaluation)
    return GateResult(
        gate="quality",
        metric="auc",
        value=value,
        limit=gates.min_auc,
        comparison=">=",
        passed=value >= gates.min_auc,
        fix="improve the model or data, or lower gates.min_auc in project.yaml after review",
    )
