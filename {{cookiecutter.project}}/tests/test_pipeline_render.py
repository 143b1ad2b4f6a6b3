"""Pipeline rendering: the edges, Mermaid graph and review diff of the project's own pipeline
definition (conftest.pipeline_build), each test changing a copy of its own. Two toy definitions,
marked as such, test awkward step names the real pipeline does not have."""

from __future__ import annotations

import copy
import json
import re

import pytest

from {{ cookiecutter.package }}.pipeline.render import CODE_HASH, diff, edges, format_diff, mermaid, steps

NEW_HASH = "a7" * 10  # code lives under a 20-hex-digit content hash (bundle.py)


@pytest.fixture
def definition(pipeline_build) -> dict:
    """The real definition, a copy for this test to change."""
    return copy.deepcopy(pipeline_build.parsed)


def step(definition: dict, name: str) -> dict:
    return next(s for s in steps(definition) if s["Name"] == name)


def parameter(definition: dict, name: str) -> dict:
    return next(p for p in definition["Parameters"] if p["Name"] == name)


def another_step(definition: dict) -> dict:
    """A second evaluation step: a step the real pipeline does not have, shaped like one it has."""
    extra = copy.deepcopy(step(definition, "Evaluate"))
    extra["Name"] = "EvaluateAgain"
    return extra


def halve_sample(definition: dict) -> tuple[float, float]:
    sample = parameter(definition, "SampleFraction")
    before = sample["DefaultValue"]
    sample["DefaultValue"] = before / 2
    return before, before / 2


def bare(name: str, step_type: str, *depends_on: str) -> dict:
    """A toy step: only a name, a type and its DependsOn."""
    return {"Name": name, "Type": step_type, "Arguments": {}, "DependsOn": list(depends_on)}


def test_steps_include_condition_branches_after_the_condition(definition):
    top = [s["Name"] for s in definition["Steps"]]
    assert top[-1] == "CheckGates"
    # CheckGates' if branch (CheckRegisterModel, whose own if branch is Register), then its else branch.
    assert [s["Name"] for s in steps(definition)] == [*top, "CheckRegisterModel", "Register", "GateFailed"]


def test_edges_cover_dependencies_data_property_files_and_branches(definition):
    step(definition, "Train")["DependsOn"] = ["DataChecks"]
    found = edges(definition)
    assert len(found) == len(set(found))
    assert found[:6] == [
        ("DataChecks", "Preprocess", "data"),  # a Get of the checks' output
        ("DataChecks", "Train", "depends"),  # a step's DependsOn before its data references
        ("Preprocess", "Train", "data"),
        ("Train", "Evaluate", "data"),  # the model artifacts, then the test split
        ("Preprocess", "Evaluate", "data"),
        ("Train", "CreateModel", "data"),
    ]
    assert [edge for edge in found if edge[2] in ("if", "else")] == [
        ("CheckGates", "CheckRegisterModel", "if"),
        ("CheckGates", "GateFailed", "else"),
        ("CheckRegisterModel", "Register", "if"),  # a branch inside a branch
    ]
    assert {
        ("Evaluate", "CheckGates", "data"),  # through Std:JsonGet on the Evaluation property file
        ("Gates", "CheckGates", "data"),
        ("Gates", "GateFailed", "data"),  # the fail step's message, from the Gates property file
        ("Evaluate", "Register", "data"),  # through the Std:Join of its output and evaluation.json
    } <= set(found)
    for name in [s["Name"] for s in steps(definition) if s["Type"] == "ClarifyCheck"]:  # with Clarify
        assert ("Preprocess", name, "data") in found
        assert (name, "Register", "data") in found
    names = {s["Name"] for s in steps(definition)}
    assert {name for edge in found for name in edge[:2]} == names


def test_edges_match_step_names_that_contain_dots():
    toy = {
        "Steps": [
            bare("prep.v2", "Processing"),
            bare("prep", "Processing"),
            {
                "Name": "train",
                "Type": "Training",
                "Arguments": {"Input": {"Get": "Steps.prep.v2.ProcessingOutputConfig"}},
            },
        ]
    }
    assert edges(toy) == [("prep.v2", "train", "data")]


def test_mermaid_draws_nodes_and_edges(definition):
    step(definition, "Gates")["DependsOn"] = ["CreateModel"]  # DependsOn only: dotted
    step(definition, "Train")["DependsOn"] = ["Preprocess"]  # and a data reference too: one solid arrow
    lines = mermaid(definition).splitlines()
    assert lines[0] == "flowchart TD"
    assert '    step_Preprocess["Preprocess<br/>Processing, cached"]' in lines
    assert '    step_CreateModel["CreateModel<br/>Model"]' in lines
    assert '    step_CheckGates{"CheckGates<br/>Condition"}' in lines
    assert '    step_Register["Register<br/>RegisterModel"]' in lines
    assert "    step_Preprocess --> step_Train" in lines
    assert "    step_Preprocess -.-> step_Train" not in lines
    assert "    step_CreateModel -.-> step_Gates" in lines
    assert "    step_Evaluate --> step_CheckGates" in lines
    assert "    step_CheckGates -->|if true| step_CheckRegisterModel" in lines
    assert "    step_CheckRegisterModel -->|if true| step_Register" in lines
    assert "    step_CheckGates -->|else| step_GateFailed" in lines
    assert "    class step_GateFailed fail" in lines
    assert any(line.startswith("    classDef fail ") for line in lines)
    nodes = [line for line in lines[1:] if re.match(r" {4}step_\w+[\[{]", line)]
    assert len(nodes) == len(steps(definition))
    arrows = [line for line in lines if "-->" in line or "-.->" in line]
    assert len(arrows) == len({edge[:2] for edge in edges(definition)})  # one arrow per pair of steps


def test_mermaid_is_deterministic_and_fences_on_request(definition, pipeline_build):
    assert mermaid(definition) == mermaid(pipeline_build.parsed)
    fenced = mermaid(definition, fenced=True)
    assert fenced.startswith("```mermaid\nflowchart TD\n")
    assert fenced.endswith("\n```")


def test_mermaid_sanitises_awkward_names():
    toy = {
        "Steps": [
            bare("a-b", "Processing"),
            bare("a.b", "Processing", "a-b"),
            bare("end", "Processing", "a.b"),
            bare('Train "big" (gpu)', "Training", "end", "Gone"),
        ]
    }
    lines = mermaid(toy).splitlines()
    assert '    step_a_b["a-b<br/>Processing"]' in lines
    assert '    step_a_b_2["a.b<br/>Processing"]' in lines  # same sanitised id, still two nodes
    assert '    step_Train__big___gpu_["Train #quot;big#quot; (gpu)<br/>Training"]' in lines
    assert '    step_Gone["Gone<br/>not in the definition"]' in lines
    assert "    step_end -.-> step_Train__big___gpu_" in lines
    for line in lines[1:]:
        if "->" in line:
            source, *_, target = line.split()
            assert re.fullmatch(r"step_[A-Za-z0-9_]+", source) and re.fullmatch(r"step_[A-Za-z0-9_]+", target), line
        else:
            assert re.match(r' {4}step_[A-Za-z0-9_]+[\[{]"', line), line


def test_diff_reports_review_relevant_changes(definition):
    base = definition
    step(base, "Train")["DependsOn"] = ["DataChecks"]
    head = copy.deepcopy(base)
    before, after = halve_sample(head)
    head["Steps"].insert(head["Steps"].index(step(head, "Gates")), another_step(head))
    train = step(head, "Train")
    train["DependsOn"] = []
    train["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.2xlarge"
    channels = {channel["ChannelName"]: channel for channel in train["Arguments"]["InputDataConfig"]}
    source = channels["code"]["DataSource"]["S3DataSource"]
    source["S3Uri"] = CODE_HASH.sub(NEW_HASH, source["S3Uri"])  # .../code/<hash>/sourcedir.tar.gz
    evaluate = step(head, "Evaluate")
    del evaluate["CacheConfig"]
    inputs = {item["InputName"]: item for item in evaluate["Arguments"]["ProcessingInputs"]}
    inputs["code"]["S3Input"]["S3Uri"] = CODE_HASH.sub(NEW_HASH, inputs["code"]["S3Input"]["S3Uri"])  # .../<hash>
    changes = diff(base, head)
    assert changes == [
        f"~ parameter SampleFraction: default {json.dumps(before)} -> {json.dumps(after)}",
        "+ step EvaluateAgain (Processing)",
        "~ step Train: dependency on DataChecks removed (DependsOn)",
        "~ step Train: Arguments.InputDataConfig['code'].DataSource.S3DataSource.S3Uri: "
        "code changed (sourcedir.tar.gz)",
        '~ step Train: Arguments.ResourceConfig.InstanceType: {"Get": "Parameters.TrainingInstanceType"} -> '
        '"ml.m5.2xlarge"',
        "~ step Evaluate: cache on (P30D) -> off",
        "~ step Evaluate: Arguments.ProcessingInputs['code'].S3Input.S3Uri: code changed (code)",
    ]
    assert not any(CODE_HASH.search(line) for line in changes)


def test_diff_reports_removed_steps_parameters_retries_and_shortens_long_values(definition):
    base, head = definition, copy.deepcopy(definition)
    head["Parameters"].remove(parameter(head, "ModelApprovalStatus"))
    head["Parameters"].append({"Name": "Epochs", "Type": "Integer", "DefaultValue": 10})
    step(head, "CheckGates")["Arguments"]["ElseSteps"] = []
    train = step(head, "Train")
    train["RetryPolicies"] = []
    train["Arguments"]["Environment"] = {"NOTE": "x" * 200}
    changes = diff(base, head)
    assert changes[:3] == [
        "- parameter ModelApprovalStatus",
        "+ parameter Epochs: Integer, default 10",
        "- step GateFailed (Fail)",
    ]
    assert changes[3].startswith('~ step Train: retry policies [{"BackoffRate": ')
    assert changes[3].endswith("... -> (none)")  # shortened
    assert changes[4].startswith('~ step Train: Arguments.Environment: (none) -> {"NOTE": "xxx')
    assert changes[4].endswith("...")
    assert len(changes[4]) < 150
    assert len(changes) == 5


def test_diff_of_moved_branch_step_and_code_change_outside_s3_is_plain(definition):
    base, head = definition, copy.deepcopy(definition)
    arguments = step(head, "CheckGates")["Arguments"]
    arguments["IfSteps"], arguments["ElseSteps"] = arguments["ElseSteps"], arguments["IfSteps"]
    image = step(head, "Train")["Arguments"]["AlgorithmSpecification"]
    old_image = image["TrainingImage"]
    image["TrainingImage"] = old_image.rsplit(":", 1)[0] + ":9.9-9"
    assert diff(base, head) == [
        "~ step Train: Arguments.AlgorithmSpecification.TrainingImage: "
        f"{json.dumps(old_image)} -> {json.dumps(image['TrainingImage'])}",
        "~ step GateFailed: dependency on CheckGates removed (else branch)",
        "~ step GateFailed: dependency on CheckGates added (if branch)",
        "~ step CheckRegisterModel: dependency on CheckGates removed (if branch)",
        "~ step CheckRegisterModel: dependency on CheckGates added (else branch)",
    ]


def test_diff_reports_pipeline_level_changes(definition):
    base, head = definition, copy.deepcopy(definition)
    head["PipelineExperimentConfig"] = {"TrialName": "fixed"}
    assert base["PipelineExperimentConfig"] is None  # experiment tracking is off (definition.py)
    assert diff(base, head) == ['~ pipeline: PipelineExperimentConfig: null -> {"TrialName": "fixed"}']


def test_identical_definitions_have_no_diff(definition, pipeline_build):
    assert diff(pipeline_build.parsed, definition) == []
    assert format_diff([]) == "No changes to the pipeline definition."


def test_format_diff_counts_and_lists_changes(definition):
    base, head = definition, copy.deepcopy(definition)
    before, after = halve_sample(head)
    head["Steps"].insert(1, another_step(head))
    text = format_diff(diff(base, head))
    assert text.splitlines() == [
        "**Pipeline definition: 2 changes** (1 added, 0 removed, 1 changed)",
        "",
        f"- `~ parameter SampleFraction: default {json.dumps(before)} -> {json.dumps(after)}`",
        "- `+ step EvaluateAgain (Processing)`",
    ]


def test_inputs_are_not_modified(definition):
    base, head = definition, copy.deepcopy(definition)
    halve_sample(head)
    step(head, "Train")["DependsOn"] = ["DataChecks"]
    before = copy.deepcopy((base, head))
    diff(base, head)
    mermaid(head)
    edges(head)
    assert (base, head) == before
