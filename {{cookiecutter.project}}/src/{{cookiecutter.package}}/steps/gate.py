"""Gates in the pipeline: the quality and bias gates of the local run, applied to the pipeline's
evaluation.json and Clarify analysis.json files.

Writes gates.json ({"passed": bool, "message": str, "gates": [...]}); the pipeline's condition
step reads `passed` and, when a gate fails, its fail step shows `message`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from ..errors import ProjectError
from ..gates import GateResult, bias_gates, metric_values, quality_gates
from ..settings import DEFAULT_PATH, QUALITY_METRICS, Gates, Limit, Settings, load_settings
from .job_paths import GATES, GATES_FILE, output_dir


def _read_json(path: Path) -> dict:
    if path.is_dir():  # a Clarify output folder
        path = path / "analysis.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ProjectError(f"{path}: cannot read ({error})") from None


def apply_gates(
    settings: Settings,
    evaluation: dict,
    analyses: list[dict],
    limits: dict[str, float] | None = None,
    groups: dict | None = None,
) -> list[GateResult]:
    """`limits` are the run's quality limits by option name ("min_auc", "max_rmse"): the
    pipeline's Min<Metric>/Max<Metric> parameters, overriding project.yaml's gates.quality.
    `groups`: the preprocess step's facet group sizes in the test split (bias.GROUPS_FILE), which
    Clarify's analysis.json does not report; the min_rows rule needs them."""
    results = quality_gates(evaluation, quality_limits(settings.gates, limits or {}))
    if settings.bias and analyses:
        if groups is None:
            raise ProjectError("the bias gate needs the facet group sizes: pass --facet-groups (the preprocess output)")
        rows = [row for analysis in analyses for row in metric_values(analysis)]
        results.extend(bias_gates(rows, settings.bias, groups))
    return results


def read_facet_groups(path: Path) -> dict:
    """The test split's facet group sizes: one file, or a folder holding one per preprocessing
    instance (facet_groups-algo-2.json, ...), whose rows are summed group by group."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ProjectError(f"{path}: no facet group sizes here (the preprocess step's clarify/facet_groups output)")
    merged = _read_json(files[0])
    for other in map(_read_json, files[1:]):
        for group, more in zip(merged["groups"], other["groups"], strict=True):
            group["rows"] += more["rows"]
            group["others"] += more["others"]
    return merged


def quality_limits(gates: Gates, limits: dict[str, float]) -> Gates:
    quality = dict(gates.quality)
    for option, value in limits.items():
        side, metric = option.split("_", 1)
        bounds = quality[metric].model_dump() if metric in quality else {}
        quality[metric] = Limit(**{**bounds, side: value})
    return Gates(quality=quality)


def verdict(results: list[GateResult]) -> dict:
    failed = [result for result in results if not result.passed]
    message = (
        f"all {len(results)} gates passed"
        if not failed
        else f"{len(failed)} of {len(results)} gates failed: " + " | ".join(result.message for result in failed)
    )
    return {"passed": not failed, "message": message[:3000], "gates": [asdict(result) for result in results]}


def argument_parser() -> argparse.ArgumentParser:
    """The job's options. Where SageMaker mounts a path, that folder (job_paths) is its default."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluation", type=Path, required=True)
    # One option per quality limit, e.g. --min-auc 0.88 or --max-rmse 12 (the pipeline's parameters).
    for metric in sorted({name for names in QUALITY_METRICS.values() for name in names}):
        for side in ("min", "max"):
            option = f"{side}_{metric}"
            parser.add_argument(f"--{option.replace('_', '-')}", dest=option, type=float, default=None)
    parser.add_argument("--bias-analysis", type=Path, action="append", default=[], help="Clarify analysis.json")
    parser.add_argument(
        "--facet-groups", type=Path, help="the preprocess step's facet_groups.json, or its folder of them (with bias)"
    )
    parser.add_argument("--output", type=Path, default=Path(output_dir(GATES)))
    parser.add_argument("--settings", type=Path, default=DEFAULT_PATH)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    settings = load_settings(args.settings)
    limits = {
        option: value
        for option, value in vars(args).items()
        if option.startswith(("min_", "max_")) and value is not None
    }
    groups = read_facet_groups(args.facet_groups) if args.facet_groups else None
    analyses = [_read_json(path) for path in args.bias_analysis]
    results = apply_gates(settings, _read_json(args.evaluation), analyses, limits, groups)
    outcome = verdict(results)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / GATES_FILE).write_text(json.dumps(outcome, indent=2) + "\n", encoding="utf-8")
    print(outcome["message"])


if __name__ == "__main__":
    main()
