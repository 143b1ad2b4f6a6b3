"""The whole model flow in-process on one machine: the same step functions SageMaker runs.

checks -> preprocess -> train -> evaluate -> bias -> explain -> gates -> report. Failing data
checks stop the flow before training. Writes into the output directory only when the run
finishes (output.replaced_folder: built aside, swapped in whole, one run at a time), so a failed
or stopped run never leaves a half-written result behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import checks, explain, report
from .data import data_files, read_dataset, with_ids
from .errors import ProjectError
from .gates import GateResult, bias_gates, data_gate, metric_values, quality_gates
from .memory import available_memory, check_fits
from .output import replaced_folder
from .progress import Stages
from .settings import Settings
from .steps.evaluate import evaluate, headline, write_evaluation
from .steps.preprocess import split_dataset, write_splits
from .steps.train import TrainingResult, train

DEFAULT_OUT = Path("build/local")
TRAINING_SUITE = "training"
EXPLAINED_ROWS = 5  # test rows explained one by one in the report


@dataclass
class RunResults:
    """Everything a run produced, for the report and the caller."""

    data: Path
    checks: checks.CheckResult
    splits: dict[str, pd.DataFrame] = field(default_factory=dict)
    training: TrainingResult | None = None
    evaluation: dict | None = None
    bias: dict | None = None
    bias_groups: dict | None = None  # each facet's group sizes in the test split (bias.facet_groups)
    explanation: dict | None = None
    explained_rows: dict | None = None
    gates: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


@dataclass
class LocalRun:
    out: Path
    gates: list[GateResult]

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)


def run_local(
    settings: Settings,
    data: Path | None = None,
    out: Path = DEFAULT_OUT,
    suites: Path = checks.SUITES_DIR,
    echo: Callable[[str], None] | None = None,
) -> LocalRun:
    data = settings.dataset.sample if data is None else data  # project.yaml's bundled sample
    _check_replaceable(out)
    check_fits(data_files(data), str(data), available_memory())
    with replaced_folder(out) as partial:
        stages = Stages(total=8 if settings.bias else 7, echo=echo)
        results = _run(settings, data, partial, suites, stages)
        with stages.stage("report") as summary:
            path = report.write(partial, settings, results)
            summary.append(f"{path.name} with charts")
    return LocalRun(out=out, gates=results.gates)


def _check_replaceable(out: Path) -> None:
    """The output directory is replaced whole: refuse anything that is not an earlier run's output."""
    resolved = out.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise ProjectError(f"--out {out}: would replace the current directory or a parent; pass e.g. build/local")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "report.md").exists())):
        raise ProjectError(
            f"--out {out}: exists and is not the output of an earlier run (no report.md); "
            "choose another directory or remove it"
        )


# Extension point, a step: a step added to pipeline/definition.py runs here too, as a stage, so
# `make local` keeps running what the pipeline runs.
def _run(settings: Settings, data: Path, out: Path, suites: Path, stages: Stages) -> RunResults:
    dataset = settings.dataset
    with stages.stage("read data") as summary:
        suite = checks.load_suite(checks.suite_path(TRAINING_SUITE, suites))
        raw = with_ids(read_dataset(data, dataset), dataset, str(data))
        summary.append(f"{len(raw):,} rows from {data}")
    with stages.stage("data checks") as summary:
        check_result = checks.validate(raw, suite, data=str(data), dataset=dataset)
        checks.write_report(check_result, out / "data_checks.md")
        results = RunResults(data=data, checks=check_result)
        results.gates.append(data_gate(len(check_result.failures), check_result.suite))
        summary.append(f"{len(check_result.outcomes) - len(check_result.failures)}/{len(check_result.outcomes)} passed")
    if not check_result.success:
        stages.echo(check_result.summary())
        stages.echo("Stopping before training: the data failed its checks.")
        return results
    with stages.stage("preprocess") as summary:
        results.splits = splits = split_dataset(raw, dataset, settings.split, where=str(data), bias=settings.bias)
        write_splits(splits, out / "data")
        summary.append(", ".join(f"{name} {len(frame):,}" for name, frame in splits.items()))
    with stages.stage("train") as summary:
        results.training = training = train(
            splits["train"],
            splits["validation"],
            dataset,
            settings.model.hyperparameters,
            progress=stages.echo,
            cutoff=settings.cutoff,
        )
        training.model.save(out / "model")
        summary.append(f"best round {training.best_round}, {training.metric_name} {training.best_value:.4f}")
    test = splits["test"]
    with stages.stage("evaluate") as summary:
        results.evaluation = evaluate(training.model, test, dataset, settings.decision)
        write_evaluation(results.evaluation, out)
        results.gates.extend(quality_gates(results.evaluation, settings.gates))
        summary.append(headline(results.evaluation))
    if settings.bias:
        with stages.stage("bias") as summary:
            _bias(settings, results, out)
            failed = sum(not gate.passed for gate in results.gates if gate.gate == "bias")
            summary.append(f"{len(settings.bias.facets)} facet(s), {failed} gated metric(s) out of range")
    with stages.stage("explain") as summary:
        # The test split is already a random sample, so its first rows are a random subsample.
        results.explanation = explain.global_explanation(training.model, test, relative_error=explain.RELATIVE_ERROR)
        rows = test.index[:EXPLAINED_ROWS]
        record_ids = raw.loc[rows, dataset.record_id].tolist()
        results.explained_rows = explain.explain_rows(training.model, test.loc[rows], ids=record_ids)
        _write_json(out / "explainability.json", results.explanation)
        _write_json(out / "explained_predictions.json", results.explained_rows)
        top = next(iter(results.explanation["explanations"]["tree_shap"]["global_shap_values"]))
        shap = results.explanation["explanations"]["tree_shap"]
        summary.append(f"TreeSHAP on {shap['rows']:,} of {len(test):,} test rows, top feature {top}")
    return results


def _bias(settings: Settings, results: RunResults, out: Path) -> None:
    from . import bias  # smclarify is only needed when bias analysis is configured
    from .bias_intervals import annotate, confidence_intervals

    dataset, config = settings.dataset, settings.bias
    labelled = pd.concat(results.splits.values())
    test = results.splits["test"]
    model = results.training.model
    predicted = predicted_labels(model, test, settings)
    pre = bias.pre_training(labelled, dataset, config)
    post = bias.post_training(test, predicted, model.spec, dataset, config)
    flip_frame = bias.flip_features(test, model.spec, config)
    intervals = confidence_intervals(labelled, test, predicted, flip_frame, dataset, config, settings.split.seed)
    results.bias = annotate(bias.analysis(pre, post), intervals)
    results.bias_groups = groups = bias.facet_groups(test, dataset, config)
    _write_json(out / "bias.json", results.bias)
    _write_json(out / bias.GROUPS_FILE, groups)
    results.gates.extend(bias_gates(metric_values(results.bias), config, groups))


def predicted_labels(model, rows: pd.DataFrame, settings: Settings):
    """The model's predicted labels in the label's encoding, as Clarify derives them from the
    endpoint: binary 0/1 at the decision cut-off, multiclass the class index, regression the value."""
    predictions = model.predict(rows)
    if settings.dataset.problem_type == "regression":
        return predictions
    return model.classes_of(predictions)


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
