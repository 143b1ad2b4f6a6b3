"""Pipeline rendering: the edges, Mermaid graph and review diff of a SageMaker Pipelines definition."""

from __future__ import annotations

import copy
import re

from {{ cookiecutter.package }}.pipeline.render import diff, edges, format_diff, mermaid, steps

BUCKET = "s3://sagemaker-us-east-1-123456789012/income-classifier"
OLD_HASH = "3f" * 10  # code lives under a 20-hex-digit content hash (bundle.py)
NEW_HASH = "a7" * 10
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::123456789012:role/pipeline"
TRAIN_DATA = "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
TEST_DATA = "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
MODEL = "Steps.Train.ModelArtifacts.S3ModelArtifacts"
CACHE = {"Enabled": True, "ExpireAfter": "P30D"}


def get(path: str) -> dict:
    return {"Get": path}


def bare(name: str, step_type: str, *depends_on: str) -> dict:
    """A step with no arguments, only a name, a type and its DependsOn."""
    return {"Name": name, "Type": step_type, "Arguments": {}, "DependsOn": list(depends_on)}


def reads(path: str) -> dict:
    """Arguments holding one reference."""
    return {"Input": get(path)}


def s3_input(name: str, uri: object, local_path: str) -> dict:
    s3 = {"S3Uri": uri, "LocalPath": local_path, "S3DataType": "S3Prefix", "S3InputMode": "File"}
    return {"InputName": name, "AppManaged": False, "S3Input": s3}


def s3_output(name: str, local_path: str) -> dict:
    s3 = {"S3Uri": f"{BUCKET}/{name}", "LocalPath": local_path, "S3UploadMode": "EndOfJob"}
    return {"OutputName": name, "AppManaged": False, "S3Output": s3}


def processing(name: str, script: str, inputs: list[dict], outputs: list[dict], code_hash: str = OLD_HASH) -> dict:
    """A ProcessingStep as the SageMaker SDK serialises it, its script uploaded under a content hash."""
    code = s3_input("code", f"{BUCKET}/code/{code_hash}/{script}", "/opt/ml/processing/input/code")
    resources = {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
    app = {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"]}
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": resources},
            "AppSpecification": app,
            "RoleArn": ROLE,
            "ProcessingInputs": [*inputs, code],
            "ProcessingOutputConfig": {"Outputs": outputs},
        },
    }


def definition() -> dict:
    """Preprocess -> Train -> Evaluate -> CheckAuc, which registers the model or fails; CheckData gates Train."""
    preprocess = processing(
        "Preprocess",
        "preprocess.py",
        [s3_input("raw", get("Parameters.InputDataUri"), "/opt/ml/processing/input/raw")],
        [s3_output("train", "/opt/ml/processing/train"), s3_output("test", "/opt/ml/processing/test")],
    )
    preprocess["CacheConfig"] = dict(CACHE)
    check_data = processing(
        "CheckData",
        "check_data.py",
        [s3_input("train", get(TRAIN_DATA), "/opt/ml/processing/input/train")],
        [s3_output("checks", "/opt/ml/processing/checks")],
    )
    source = {"S3DataType": "S3Prefix", "S3Uri": get(TRAIN_DATA)}
    channel = {"S3DataSource": source}
    train = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/model"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
            "RoleArn": ROLE,
            "InputDataConfig": [{"DataSource": channel, "ContentType": "text/csv", "ChannelName": "train"}],
            "HyperParameters": {
                "max_depth": "6",
                # Hyperparameters are JSON-encoded, hence the quotes inside the string.
                "sagemaker_submit_directory": f'"{BUCKET}/code/{OLD_HASH}/sourcedir.tar.gz"',
                "sagemaker_program": '"train.py"',
            },
        },
        "DependsOn": ["CheckData"],
        "CacheConfig": dict(CACHE),
        "RetryPolicies": [{"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 60, "MaxAttempts": 3}],
    }
    evaluate = processing(
        "Evaluate",
        "evaluate.py",
        [
            s3_input("model", get(MODEL), "/opt/ml/processing/model"),
            s3_input("test", get(TEST_DATA), "/opt/ml/processing/test"),
        ],
        [s3_output("evaluation", "/opt/ml/processing/evaluation")],
    )
    evaluate["PropertyFiles"] = [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    auc = {
        "PropertyFile": get("Steps.Evaluate.PropertyFiles.EvaluationReport"),
        "Path": "binary_classification_metrics.auc.value",
    }
    statistics = {
        "ContentType": "application/json",
        "S3Uri": f"{BUCKET}/evaluation/evaluation.json",
    }
    quality = {"Statistics": statistics}
    container = {"Image": IMAGE, "ModelDataUrl": get(MODEL)}
    register = {
        "Name": "Register-RegisterModel",  # the SDK's ModelStep names its step "<name>-RegisterModel"
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "income-classifier",
            "ModelMetrics": {"ModelQuality": quality},
            "InferenceSpecification": {"Containers": [container], "SupportedContentTypes": ["text/csv"]},
            "ModelApprovalStatus": get("Parameters.ModelApprovalStatus"),
        },
    }
    message = {"On": " ", "Values": ["AUC is below", get("Parameters.MinAuc")]}
    error_message = {"Std:Join": message}
    fail_arguments = {"ErrorMessage": error_message}
    fail = {"Name": "AucTooLow", "Type": "Fail", "Arguments": fail_arguments}
    condition = {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": {"Std:JsonGet": auc},
        "RightValue": get("Parameters.MinAuc"),
    }
    check_auc = {
        "Name": "CheckAuc",
        "Type": "Condition",
        "Arguments": {"Conditions": [condition], "IfSteps": [register], "ElseSteps": [fail]},
    }
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String", "DefaultValue": f"{BUCKET}/data/adult.csv"},
            {"Name": "MinAuc", "Type": "Float", "DefaultValue": 0.88},
            {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": get("Execution.PipelineName"),
            "TrialName": get("Execution.PipelineExecutionId"),
        },
        "Steps": [preprocess, check_data, train, evaluate, check_auc],
    }


def step(definition: dict, name: str) -> dict:
    return next(s for s in steps(definition) if s["Name"] == name)


def test_steps_include_condition_branches_after_the_condition():
    names = [s["Name"] for s in steps(definition())]
    assert names == ["Preprocess", "CheckData", "Train", "Evaluate", "CheckAuc", "Register-RegisterModel", "AucTooLow"]


def test_edges_cover_dependencies_data_property_files_and_branches():
    assert edges(definition()) == [
        ("Preprocess", "CheckData", "data"),
        ("CheckData", "Train", "depends"),
        ("Preprocess", "Train", "data"),
        ("Train", "Evaluate", "data"),
        ("Preprocess", "Evaluate", "data"),
        ("Evaluate", "CheckAuc", "data"),  # through Std:JsonGet on the EvaluationReport property file
        ("CheckAuc", "Register-RegisterModel", "if"),
        ("CheckAuc", "AucTooLow", "else"),
        ("Train", "Register-RegisterModel", "data"),
    ]


def test_edges_match_step_names_that_contain_dots():
    pipeline = {
        "Steps": [
            bare("prep.v2", "Processing"),
            bare("prep", "Processing"),
            {"Name": "train", "Type": "Training", "Arguments": reads("Steps.prep.v2.ProcessingOutputConfig")},
        ]
    }
    assert edges(pipeline) == [("prep.v2", "train", "data")]


def test_mermaid_draws_nodes_and_edges():
    text = mermaid(definition())
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    step_Preprocess["Preprocess<br/>Processing, cached"]' in lines
    assert '    step_Evaluate["Evaluate<br/>Processing"]' in lines
    assert '    step_CheckAuc{"CheckAuc<br/>Condition"}' in lines
    assert '    step_Register_RegisterModel["Register-RegisterModel<br/>RegisterModel"]' in lines
    assert "    step_Preprocess --> step_Train" in lines
    assert "    step_CheckData -.-> step_Train" in lines  # DependsOn only: dotted
    assert "    step_Evaluate --> step_CheckAuc" in lines
    assert "    step_CheckAuc -->|if true| step_Register_RegisterModel" in lines
    assert "    step_CheckAuc -->|else| step_AucTooLow" in lines
    assert "    class step_AucTooLow fail" in lines
    assert any(line.startswith("    classDef fail ") for line in lines)
    assert len([line for line in lines if "-->" in line or "-.->" in line]) == 9


def test_mermaid_is_deterministic_and_fences_on_request():
    assert mermaid(definition()) == mermaid(definition())
    fenced = mermaid(definition(), fenced=True)
    assert fenced.startswith("```mermaid\nflowchart TD\n")
    assert fenced.endswith("\n```")


def test_mermaid_sanitises_awkward_names():
    pipeline = {
        "Steps": [
            bare("a-b", "Processing"),
            bare("a.b", "Processing", "a-b"),
            bare("end", "Processing", "a.b"),
            bare('Train "big" (gpu)', "Training", "end", "Gone"),
        ]
    }
    lines = mermaid(pipeline).splitlines()
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


def test_diff_reports_review_relevant_changes():
    base, head = definition(), definition()
    head["Parameters"][1]["DefaultValue"] = 0.9
    head["Steps"].insert(3, processing("Explain", "explain.py", [], []))
    step(head, "Train")["DependsOn"] = []
    step(head, "Train")["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.2xlarge"
    step(head, "Train")["Arguments"]["HyperParameters"]["sagemaker_submit_directory"] = (
        f'"{BUCKET}/code/{NEW_HASH}/sourcedir.tar.gz"'
    )
    step(head, "Evaluate")["Arguments"]["ProcessingInputs"][-1]["S3Input"]["S3Uri"] = (
        f"{BUCKET}/code/{NEW_HASH}/evaluate.py"
    )
    step(head, "Evaluate")["CacheConfig"] = dict(CACHE)
    changes = diff(base, head)
    assert changes == [
        "~ parameter MinAuc: default 0.88 -> 0.9",
        "+ step Explain (Processing)",
        "~ step Train: dependency on CheckData removed (DependsOn)",
        '~ step Train: Arguments.ResourceConfig.InstanceType: "ml.m5.xlarge" -> "ml.m5.2xlarge"',
        "~ step Train: Arguments.HyperParameters.sagemaker_submit_directory: code changed (sourcedir.tar.gz)",
        "~ step Evaluate: cache off -> on (P30D)",
        "~ step Evaluate: Arguments.ProcessingInputs['code'].S3Input.S3Uri: code changed (evaluate.py)",
    ]
    assert not any(OLD_HASH in line or NEW_HASH in line for line in changes)


def test_diff_reports_removed_steps_parameters_retries_and_shortens_long_values():
    base, head = definition(), definition()
    del head["Parameters"][2]
    head["Parameters"].append({"Name": "Epochs", "Type": "Integer", "DefaultValue": 10})
    check_auc = head["Steps"][-1]
    check_auc["Arguments"]["ElseSteps"] = []
    step(head, "Train")["RetryPolicies"] = []
    step(head, "Train")["Arguments"]["Environment"] = {"NOTE": "x" * 200}
    changes = diff(base, head)
    assert changes[:3] == [
        "- parameter ModelApprovalStatus",
        "+ parameter Epochs: Integer, default 10",
        "- step AucTooLow (Fail)",
    ]
    assert changes[3].startswith('~ step Train: retry policies [{"ExceptionType": ["SageMaker.CAPACITY_ERROR"]')
    assert changes[3].endswith("-> (none)")
    assert changes[4].startswith('~ step Train: Arguments.Environment: (none) -> {"NOTE": "xxx')
    assert changes[4].endswith("...")
    assert len(changes[4]) < 150
    assert len(changes) == 5


def test_diff_of_moved_branch_step_and_code_change_outside_s3_is_plain():
    base, head = definition(), definition()
    arguments = head["Steps"][-1]["Arguments"]
    arguments["IfSteps"], arguments["ElseSteps"] = arguments["ElseSteps"], arguments["IfSteps"]
    step(head, "Train")["Arguments"]["AlgorithmSpecification"]["TrainingImage"] = IMAGE.replace("1.7-1", "3.0-5")
    assert diff(base, head) == [
        "~ step Train: Arguments.AlgorithmSpecification.TrainingImage: "
        '"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1" -> '
        '"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"',
        "~ step AucTooLow: dependency on CheckAuc removed (else branch)",
        "~ step AucTooLow: dependency on CheckAuc added (if branch)",
        "~ step Register-RegisterModel: dependency on CheckAuc removed (if branch)",
        "~ step Register-RegisterModel: dependency on CheckAuc added (else branch)",
    ]


def test_diff_reports_pipeline_level_changes():
    base, head = definition(), definition()
    head["PipelineExperimentConfig"]["TrialName"] = "fixed"
    assert diff(base, head) == [
        '~ pipeline: PipelineExperimentConfig.TrialName: {"Get": "Execution.PipelineExecutionId"} -> "fixed"'
    ]


def test_identical_definitions_have_no_diff():
    assert diff(definition(), definition()) == []
    assert format_diff([]) == "No changes to the pipeline definition."


def test_format_diff_counts_and_lists_changes():
    base, head = definition(), definition()
    head["Parameters"][1]["DefaultValue"] = 0.9
    head["Steps"].insert(3, processing("Explain", "explain.py", [], []))
    text = format_diff(diff(base, head))
    assert text.splitlines() == [
        "**Pipeline definition: 2 changes** (1 added, 0 removed, 1 changed)",
        "",
        "- `~ parameter MinAuc: default 0.88 -> 0.9`",
        "- `+ step Explain (Processing)`",
    ]


def test_inputs_are_not_modified():
    base, head = definition(), definition()
    head["Parameters"][1]["DefaultValue"] = 0.9
    before = copy.deepcopy((base, head))
    diff(base, head)
    mermaid(head)
    edges(head)
    assert (base, head) == before
