"""The SageMaker pipeline: its definition (steps, data flow, caching, retries), built twice with
the network cut off, and the AWS commands against the moto server (conftest.moto_endpoint)."""

from __future__ import annotations

import importlib
import io
import json
import re
import shutil
import tarfile
import time
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from click.testing import CliRunner

import job_runner
from {{ cookiecutter.package }}.cli import main
from {{ cookiecutter.package }}.errors import ProjectError
from {{ cookiecutter.package }}.pipeline import executions, wheels
from {{ cookiecutter.package }}.pipeline.bundle import (
    ARCHIVE,
    JOB_LAUNCHER,
    JOB_REQUIREMENTS,
    job_requirements,
    serve_requirements,
)
from {{ cookiecutter.package }}.pipeline.definition import WHEELS_DIR, build
from {{ cookiecutter.package }}.pipeline.drops import MARKER
from {{ cookiecutter.package }}.pipeline.images import load_images
from {{ cookiecutter.package }}.pipeline.parameters import parse_overrides, quality_parameter_name
from {{ cookiecutter.package }}.pipeline.render import edges, steps
from {{ cookiecutter.package }}.settings import METRIC_RANGES, load_settings
from {{ cookiecutter.package }}.steps import job_paths, preprocess

JOB_STEPS = {"Processing", "Training", "ClarifyCheck"}


def quality_limit(settings) -> tuple[str, str, float]:
    """The project's first quality limit: (metric, "min" or "max", bound), e.g. ("auc", "min", 0.88)."""
    metric, limit = next(iter(settings.gates.quality.items()))
    side = "min" if limit.min is not None else "max"
    return metric, side, getattr(limit, side)


def another_bound(settings) -> float:
    """A value for that limit other than project.yaml's, that project.yaml would accept there."""
    metric, side, bound = quality_limit(settings)
    low, high = METRIC_RANGES[metric]
    limit = settings.gates.quality[metric]
    upper = limit.max if side == "min" and limit.max is not None else high
    lower = limit.min if side == "max" and limit.min is not None else low
    changed = (bound + upper) / 2 if upper is not None else bound + 1
    if changed == bound:
        changed = (bound + lower) / 2 if lower is not None else bound - 1
    return round(changed, 4)


def out_of_range(metric: str) -> tuple[float, str]:
    """A value outside what the metric can take, with pydantic's message for it."""
    low, high = METRIC_RANGES[metric]
    if high is not None:
        return high + 6, f"Input should be less than or equal to {high:g}"
    return low - 1, f"Input should be greater than or equal to {low:g}"


@pytest.fixture(scope="module")
def definition(pipeline_build) -> dict:
    return pipeline_build.parsed


def test_two_offline_builds_are_byte_identical(pipeline_build, settings, project_root, offline):
    again = build(settings, root=project_root)
    assert again.definition == pipeline_build.definition
    assert again.uploads == pipeline_build.uploads


def test_definition_has_every_step_wired_as_designed(definition, settings):
    names = {step["Name"]: step["Type"] for step in steps(definition)}
    expected = {
        "DataChecks": "Processing",
        "Preprocess": "Processing",
        "Train": "Training",
        "Evaluate": "Processing",
        "CreateModel": "Model",
        "Gates": "Processing",
        "CheckGates": "Condition",
        "CheckRegisterModel": "Condition",
        "Register": "RegisterModel",
        "GateFailed": "Fail",
    }
    flow = {
        ("DataChecks", "Preprocess", "data"),
        ("Preprocess", "Train", "data"),
        ("Train", "Evaluate", "data"),
        ("Preprocess", "Evaluate", "data"),
        ("Train", "CreateModel", "data"),
        ("Evaluate", "Gates", "data"),
        ("Evaluate", "CheckGates", "data"),
        ("Gates", "CheckGates", "data"),
        ("CheckGates", "CheckRegisterModel", "if"),
        ("CheckRegisterModel", "Register", "if"),
        ("CheckGates", "GateFailed", "else"),
    }
    if settings.bias:
        expected |= {"DataBias": "ClarifyCheck", "ModelBias": "ClarifyCheck", "Explainability": "ClarifyCheck"}
        flow |= {
            ("Preprocess", "DataBias", "data"),
            ("CreateModel", "ModelBias", "data"),
            ("CreateModel", "Explainability", "data"),
            ("DataBias", "Gates", "data"),
            ("ModelBias", "Gates", "data"),
        }
    assert names == expected
    assert flow <= set(edges(definition))


def _processing_jobs(definition: dict) -> dict[str, dict]:
    """Each processing step's module, options, and the folders where its inputs are mounted and
    its outputs uploaded from."""
    jobs = {}
    for step in steps(definition):
        if step["Type"] == "Processing":
            arguments = step["Arguments"]
            module, *options = arguments["AppSpecification"]["ContainerArguments"]
            jobs[step["Name"]] = {
                "module": module,
                "options": options,
                "inputs": {i["InputName"]: Path(i["S3Input"]["LocalPath"]) for i in arguments["ProcessingInputs"]},
                "outputs": {
                    o["OutputName"]: Path(o["S3Output"]["LocalPath"])
                    for o in arguments["ProcessingOutputConfig"]["Outputs"]
                },
            }
    return jobs


def test_each_job_reads_what_the_definition_mounts_where_its_defaults_say(pipeline_build, definition):
    """A processing step's path options are its step module's defaults (which job_paths gives):
    each names a mounted input, the folder its outputs are uploaded from, or a file the code bundle
    ships; and every input mounted is read."""
    bundle = next(content for key, content in pipeline_build.uploads.items() if key.endswith(f"/{ARCHIVE}"))
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        shipped = set(tar.getnames())
    jobs = _processing_jobs(definition)
    assert {job["module"] for job in jobs.values()} == {"check_data", "preprocess", "evaluate", "gate"}
    for name, job in jobs.items():
        inputs, outputs = job["inputs"], job["outputs"]
        assert inputs == {key: Path(job_paths.input_dir(key)) for key in inputs}, name
        assert outputs and outputs == {key: Path(job_paths.output_dir(key)) for key in outputs}, name
        parser = importlib.import_module(f"{{ cookiecutter.package }}.steps.{job['module']}").argument_parser()
        # A run parameter ({"Get": ...}) is text in the job; a number stands in for any of them.
        given = vars(parser.parse_args([option if isinstance(option, str) else "1" for option in job["options"]]))
        read = set()
        for option, value in given.items():
            default = parser.get_default(option)
            if isinstance(default, Path):
                flag = "--" + option.replace("_", "-")
                assert value == default, f"{name} passes {flag} {value}; {job['module']}.py defaults to {default}"
            for path in value if isinstance(value, list) else [value]:
                if not isinstance(path, Path):
                    continue
                if not path.is_absolute():  # jobs run in the unpacked code bundle
                    assert path.as_posix() in shipped, f"{name}: --{option} {path} is not in the code bundle"
                elif option == "output":
                    assert all(folder.is_relative_to(path) for folder in outputs.values()), (name, path, outputs)
                elif path.is_relative_to(job_paths.PROCESSING):
                    mounted = {key for key, folder in inputs.items() if path.is_relative_to(folder)}
                    assert mounted, f"{name}: --{option} {path} is not where any input is mounted"
                    read |= mounted
        assert read == set(inputs) - {job_paths.CODE, job_paths.WHEELS}, f"{name}: inputs mounted but not read"


def test_preprocess_writes_a_folder_for_each_output_the_definition_uploads(
    definition, sample_path, settings_path, tmp_path
):
    preprocess.main(["--input", str(sample_path), "--output", str(tmp_path), "--settings", str(settings_path)])
    assert {folder.name for folder in tmp_path.iterdir()} == set(_processing_jobs(definition)["Preprocess"]["outputs"])


def test_parameters_default_to_project_settings(definition, settings):
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    assert defaults["InputDataUri"] == settings.aws.data_drops_uri  # runs name a drop (see the drop tests)
    quality = {
        quality_parameter_name(metric, side): bound
        for metric, limit in settings.gates.quality.items()
        for side, bound in (("min", limit.min), ("max", limit.max))
        if bound is not None
    }
    assert quality and {name: defaults.get(name) for name in quality} == quality  # one per limit: MinAuc, MaxRmse
    assert not {name for name in defaults if name.startswith(("Min", "Max"))} - set(quality)
    assert defaults["ModelApprovalStatus"] == "PendingManualApproval"
    assert defaults["SampleFraction"] == 1.0
    assert defaults["RegisterModel"] is True  # pull-request runs pass false
    assert {"TrainingInstanceType", "ProcessingInstanceType", "GitCommit", "GitRepository"} <= set(defaults)
    assert ("ClarifyInstanceCount" in defaults) == (settings.bias is not None)


def test_job_steps_are_cached_and_retried(definition):
    for step in steps(definition):
        if step["Type"] not in JOB_STEPS:
            continue
        assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, step["Name"]
        if step["Type"] != "ClarifyCheck":
            retried = {kind for policy in step["RetryPolicies"] for kind in policy["ExceptionType"]}
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= retried, step["Name"]


def test_code_is_one_content_addressed_bundle(pipeline_build, definition, settings, project_root):
    text = pipeline_build.definition
    code_keys = [key for key in pipeline_build.uploads if key.startswith(f"{settings.aws.prefix}/code/")]
    assert len(code_keys) == 1
    assert text.count(f"s3://{settings.aws.bucket}/{code_keys[0].rsplit('/', 1)[0]}") >= 5  # every job runs it
    image = load_images(project_root)["xgboost"]
    with tarfile.open(fileobj=io.BytesIO(pipeline_build.uploads[code_keys[0]])) as tar:
        names = set(tar.getnames())
        serving = tar.extractfile("requirements.txt").read().decode()
        jobs = tar.extractfile(JOB_REQUIREMENTS).read().decode()
    assert {"project.yaml", "data_checks/training.json", "requirements.txt", "serve.py", JOB_LAUNCHER} <= names
    assert "{{ cookiecutter.package }}/steps/train.py" in names
    assert not any("/pipeline/" in name or "__pycache__" in name for name in names)
    # Docs are not code: a README edit (release/README.md, say) keeps the code hash and the step cache.
    assert not any(name.endswith(".md") for name in names)
    # The serving container installs requirements.txt with the index off; jobs the locked wheels.
    assert serving == serve_requirements(project_root, image) and serving.startswith("--no-index\n")
    assert jobs == job_requirements(project_root, image) and "great-expectations==" in jobs and "--hash=sha256:" in jobs
    # Every other upload is referenced by the definition too, under its content hash.
    for key in pipeline_build.uploads:
        folder = re.match(r".*?/[0-9a-f]{20}", key).group(0)
        assert f"s3://{settings.aws.bucket}/{folder}" in text, key


def test_every_job_installs_the_shipped_wheels_with_no_index(pipeline_build, definition, settings):
    """Jobs start through the bundle's launcher with the content-addressed wheels as an input; no
    job installs from a package index, and the SDK's experiment tracking is off."""
    wheels_uri = f"s3://{settings.aws.bucket}/{pipeline_build.wheels_prefix}"
    folder, digest = pipeline_build.wheels_prefix.rsplit("/", 1)
    assert folder == f"{settings.aws.prefix}/wheels" and re.fullmatch("[0-9a-f]+", digest) and len(digest) == 20
    for step in steps(definition):
        arguments = step.get("Arguments", {})
        if step["Type"] == "Processing":
            inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]}
            assert inputs["wheels"] == wheels_uri, step["Name"]
            assert f"bash {JOB_LAUNCHER} {WHEELS_DIR}" in " ".join(arguments["AppSpecification"]["ContainerEntrypoint"])
        if step["Type"] == "Training":
            config = arguments["InputDataConfig"]
            channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in config}
            assert channels["wheels"] == wheels_uri
    assert "pip install --quiet -r" not in pipeline_build.definition
    assert "requirements.txt" not in pipeline_build.definition
    assert definition.get("PipelineExperimentConfig") is None


def test_every_job_runs_in_an_image_containers_records(definition, project_root):
    """The images are data: each job's image is the tag containers/images.yaml records for it."""
    images = load_images(project_root)
    for step in steps(definition):
        arguments = step.get("Arguments", {})
        uri = (
            arguments.get("AppSpecification", {}).get("ImageUri")
            or arguments.get("AlgorithmSpecification", {}).get("TrainingImage")
            or arguments.get("PrimaryContainer", {}).get("Image")
        )
        if uri:
            image = images["clarify" if step["Type"] == "ClarifyCheck" else "xgboost"]
            assert f"/sagemaker-{image.framework}" in uri and uri.endswith(f":{image.version}"), (step["Name"], uri)


def test_the_cache_key_changes_with_the_drop_and_only_then(pipeline_build, definition, settings):
    """SageMaker's step cache key is the step's resolved arguments: the same drop gives identical
    arguments (a cache hit), a new drop different ones (a miss); the code and wheels are in them."""
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}

    def arguments(drop: str, step: str) -> str:
        found = next(s for s in steps(definition) if s["Name"] == step)
        return json.dumps(job_runner.resolve(found["Arguments"], {**defaults, "InputDataUri": drop}), sort_keys=True)

    first, second = (f"{settings.aws.data_drops_uri}{drop}/" for drop in ("2026-12-01", "2026-12-02"))
    for step in ("DataChecks", "Preprocess"):
        assert arguments(first, step) == arguments(first, step)
        assert arguments(first, step) != arguments(second, step)
        assert first in arguments(first, step) and pipeline_build.wheels_prefix in arguments(first, step)
    # Later steps take Preprocess's outputs, which are per execution: a new drop reaches them too.
    assert "Parameters.InputDataUri" not in json.dumps(next(s for s in steps(definition) if s["Name"] == "Train"))


def test_definition_leaves_room_under_the_request_limit(pipeline_build):
    assert len(pipeline_build.definition.encode()) < 70_000  # SageMaker's limit is 100 KB


def test_gate_failure_message_comes_from_the_gate_step(definition):
    fail = next(step for step in steps(definition) if step["Type"] == "Fail")
    assert fail["Arguments"]["ErrorMessage"]["Std:JsonGet"]["Path"] == "message"


def _settings_file(tmp_path, settings_path, change) -> str:
    raw = yaml.safe_load(settings_path.read_text())
    change(raw)
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_build_without_aws_section_is_one_clear_error(tmp_path, settings_path):
    path = _settings_file(tmp_path, settings_path, lambda raw: raw.pop("aws"))
    result = CliRunner().invoke(main, ["pipeline", "build", "--settings", path, "--out", str(tmp_path / "d.json")])
    assert result.exit_code == 2
    assert "no 'aws' section" in result.output


def test_build_with_bad_aws_setting_names_the_key(tmp_path, settings_path):
    path = _settings_file(tmp_path, settings_path, lambda raw: raw["aws"].update(training_instance_type="m5.large"))
    result = CliRunner().invoke(main, ["pipeline", "build", "--settings", path])
    assert result.exit_code == 2
    assert "aws.training_instance_type" in result.output


def test_diff_shows_a_changed_threshold(tmp_path, project_root, settings_path, settings):
    runner = CliRunner()
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    metric, side, _ = quality_limit(settings)
    bound = another_bound(settings)
    changed = _settings_file(tmp_path, settings_path, lambda raw: raw["gates"]["quality"][metric].update({side: bound}))
    (tmp_path / "data_checks").symlink_to(project_root / "data_checks")
    (tmp_path / "containers").symlink_to(project_root / "containers")
    assert (
        runner.invoke(main, ["pipeline", "build", "--settings", str(settings_path), "--out", str(base)]).exit_code == 0
    )
    assert runner.invoke(main, ["pipeline", "build", "--settings", changed, "--out", str(head)]).exit_code == 0
    result = runner.invoke(main, ["pipeline", "diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert quality_parameter_name(metric, side) in result.output and f"{bound:g}" in result.output


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("Nope=1", "unknown pipeline parameter"),
        ("SampleFraction", "expected NAME=VALUE"),
        ("RegisterModel=no", "RegisterModel is a Boolean .true or false., got .no."),
        # Values the parameter's type allows but a run cannot use: the rules of project.yaml.
        ("SampleFraction=-1", "SampleFraction=-1: Input should be greater than 0"),
        ("SampleFraction=0", "SampleFraction=0: Input should be greater than 0"),
        ("TrainingInstanceType=m5.huge", r"String should match pattern .*aws.training_instance_type"),
        ("ModelApprovalStatus=Yes", "Input should be 'PendingManualApproval', 'Approved' or 'Rejected'"),
        ("AsOf=yesterday", "AsOf=yesterday: 'yesterday': not a time; use ISO 8601"),
        ("InputDataUri=/local/file.csv", r"InputDataUri=/local/file.csv: String should match pattern .*an s3:// URI"),
    ],
)
def test_bad_parameter_overrides_are_refused(definition, pair, message):
    with pytest.raises(ProjectError, match=message):
        parse_overrides((pair,), definition)


def test_bad_quality_limit_overrides_are_refused(definition, settings):
    """Every quality limit's parameter (MinAuc, MaxRmse, ...) takes only a number its metric can
    have, by project.yaml's rule for that limit."""
    for metric, limit in settings.gates.quality.items():
        for side in [side for side in ("min", "max") if getattr(limit, side) is not None]:
            name = quality_parameter_name(metric, side)
            with pytest.raises(ProjectError, match=f"{name} is a Float"):
                parse_overrides((f"{name}=high",), definition)
            value, message = out_of_range(metric)
            expected = rf"{name}={value:g}: {message} \(as project.yaml's gates.quality.{metric}.{side}\)"
            with pytest.raises(ProjectError, match=expected):
                parse_overrides((f"{name}={value:g}",), definition)


def test_good_parameter_overrides_pass_as_given(definition, settings):
    drop = f"{settings.aws.data_drops_uri}2026-12-01/"
    metric, side, _ = quality_limit(settings)
    limit = f"{quality_parameter_name(metric, side)}={another_bound(settings):g}"  # e.g. MinAuc=0.94
    pairs = (limit, "SampleFraction=1", "AsOf=2024-06-30T00:00:00Z", "AsOf=latest", "RegisterModel=false",
             f"InputDataUri={drop}", "TrainingInstanceType=ml.c5.2xlarge")  # fmt: skip
    assert [item["Value"] for item in parse_overrides(pairs, definition)] == [pair.split("=", 1)[1] for pair in pairs]


# -- scaling out: instance counts ----------------------------------------------------------------

COUNTS = {"ProcessingInstanceCount": "processing_instance_count", "TrainingInstanceCount": "training_instance_count"}


def _instance_counts(definition: dict, parameters: dict | None = None) -> dict:
    """Each job step's instance count, as SageMaker resolves it for a run with `parameters`."""
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    counts = {}
    for step in steps(definition):
        arguments = job_runner.resolve(step.get("Arguments", {}), {**defaults, **(parameters or {})})
        resources = arguments.get("ProcessingResources", {}).get("ClusterConfig") or arguments.get("ResourceConfig")
        if resources:
            counts[step["Name"]] = int(resources["InstanceCount"])
    return counts


def _distribution(definition: dict) -> dict:
    """(step, input or channel) -> S3DataDistributionType, for every data input of every job (SageMaker's
    default, FullyReplicated, where the definition leaves it out)."""
    found = {}
    for step in steps(definition):
        arguments = step.get("Arguments", {})
        for item in arguments.get("ProcessingInputs", []):
            found[(step["Name"], item["InputName"])] = item["S3Input"].get("S3DataDistributionType", "FullyReplicated")
        for channel in arguments.get("InputDataConfig", []):
            source = channel["DataSource"]["S3DataSource"]
            found[(step["Name"], channel["ChannelName"])] = source.get("S3DataDistributionType", "FullyReplicated")
    return found


def test_instance_counts_are_run_parameters_from_project_settings(definition, settings):
    """Data checks and preprocess run on ProcessingInstanceCount instances, training on
    TrainingInstanceCount, Clarify (with bias analysis) on ClarifyInstanceCount; evaluation and the gates on one."""
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    for parameter, field in COUNTS.items():
        assert defaults[parameter] == getattr(settings.aws, field) == 1
    clarify = {"DataBias", "ModelBias", "Explainability"} if settings.bias else set()
    jobs = ["DataChecks", "Preprocess", "Train", "Evaluate", "Gates", *clarify]
    assert _instance_counts(definition) == dict.fromkeys(jobs, 1)
    run = {"ProcessingInstanceCount": 4, "TrainingInstanceCount": 3, "ClarifyInstanceCount": 2}
    assert _instance_counts(definition, run) == {
        "DataChecks": 4, "Preprocess": 4, "Train": 3, "Evaluate": 1, "Gates": 1, **dict.fromkeys(clarify, 2)
    }  # fmt: skip
    preprocess = next(step for step in steps(definition) if step["Name"] == "Preprocess")
    resolved = job_runner.resolve(preprocess["Arguments"], {**defaults, **run})
    arguments = resolved["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--parts") + 1] == "3"  # one train and validation file per training instance
    assert "--resource-config" in arguments


def test_the_data_is_sharded_by_s3_key_where_instances_share_it(definition):
    """The data drop is dealt out to the data-check and preprocess instances, the preprocess part
    files to the training instances; every other input reaches every instance whole."""
    sharded = {key for key, kind in _distribution(definition).items() if kind == "ShardedByS3Key"}
    assert sharded == {("DataChecks", "data"), ("Preprocess", "data"), ("Train", "train"), ("Train", "validation")}
    assert set(_distribution(definition).values()) == {"ShardedByS3Key", "FullyReplicated"}


def test_instance_counts_in_project_yaml_are_the_parameter_defaults(
    tmp_path, project_root, settings_path, settings, definition, offline
):
    counts = {"processing_instance_count": 3, "training_instance_count": 2, "clarify_instance_count": 5}
    path = _settings_file(tmp_path, settings_path, lambda raw: raw["aws"].update(counts))
    scaled = build(load_settings(path), root=project_root).parsed
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in scaled["Parameters"]}
    assert {name: defaults[name] for name in COUNTS} == {"ProcessingInstanceCount": 3, "TrainingInstanceCount": 2}
    clarify = dict.fromkeys(["DataBias", "ModelBias", "Explainability"], 5) if settings.bias else {}
    assert defaults.get("ClarifyInstanceCount") == (5 if settings.bias else None)
    assert _instance_counts(scaled) == {
        "DataChecks": 3, "Preprocess": 3, "Train": 2, "Evaluate": 1, "Gates": 1, **clarify
    }  # fmt: skip
    assert _distribution(scaled) == _distribution(definition)  # sharded the same way whatever the counts


@pytest.mark.parametrize("field", ["processing_instance_count", "training_instance_count", "clarify_instance_count"])
@pytest.mark.parametrize("count", [0, 101])
def test_instance_counts_outside_what_sagemaker_takes_are_refused(tmp_path, settings_path, field, count):
    path = _settings_file(tmp_path, settings_path, lambda raw: raw["aws"].update({field: count}))
    with pytest.raises(ProjectError, match=rf"aws\.{field}: Input should be (greater|less) than or equal to"):
        load_settings(path)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("ProcessingInstanceCount=101", r"or equal to 100 \(as project.yaml's aws.processing_instance_count\)"),
        ("TrainingInstanceCount=0", r"greater than or equal to 1 \(as project.yaml's aws.training_instance_count\)"),
        ("TrainingInstanceCount=two", "TrainingInstanceCount is a Integer, got 'two'"),
    ],
)  # fmt: skip
def test_bad_instance_count_overrides_are_refused(definition, pair, message):
    with pytest.raises(ProjectError, match=message):
        parse_overrides((pair,), definition)


def test_instance_count_overrides_pass_as_given(definition):
    pairs = ("ProcessingInstanceCount=8", "TrainingInstanceCount=4")
    assert parse_overrides(pairs, definition) == [
        {"Name": "ProcessingInstanceCount", "Value": "8"},
        {"Name": "TrainingInstanceCount", "Value": "4"},
    ]


# -- against the moto server --------------------------------------------------------------------


def test_upsert_creates_then_updates_and_uploads_once(aws, pipeline_build, wheel_dir: Path, project_root: Path):
    kept = project_root / "build" / "wheels" / wheel_dir.name  # where upsert keeps what it downloads
    if not (kept / wheels.COMPLETE).exists():  # a new project: this machine's download, not a second one
        shutil.copytree(wheel_dir, kept, dirs_exist_ok=True)
    runner = CliRunner()
    first = runner.invoke(main, ["pipeline", "upsert"])
    assert first.exit_code == 0, first.output
    assert "Pipeline created" in first.output
    assert f"uploads: {len(pipeline_build.uploads)} new" in first.output
    second = runner.invoke(main, ["pipeline", "upsert"])
    assert "Pipeline updated" in second.output
    assert "uploads: 0 new" in second.output  # content-addressed keys: nothing to upload again
    # The job wheels: shipped once, under a key named by the requirements they satisfy.
    assert f"uploaded to s3://{aws.bucket}/{pipeline_build.wheels_prefix}/" in first.output
    assert f"wheels: already in s3://{aws.bucket}/{pipeline_build.wheels_prefix}/" in second.output
    s3 = boto3.client("s3", region_name=aws.region)
    shipped = s3.list_objects_v2(Bucket=aws.bucket, Prefix=pipeline_build.wheels_prefix)
    names = {item["Key"].rsplit("/", 1)[1] for item in shipped["Contents"]}
    assert "requirements.txt" in names and any(name.startswith("great_expectations-") for name in names)
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    stored = sagemaker.describe_pipeline(PipelineName=aws.pipeline_name)["PipelineDefinition"]
    assert json.loads(stored) == pipeline_build.parsed


@pytest.fixture
def published(aws, pipeline_build) -> None:
    """The project's pipeline as `pipeline upsert` publishes it (the test above checks that), for
    the tests of `pipeline run`: the definition is all a run reads (moto runs no steps)."""
    boto3.client("sagemaker", region_name=aws.region).create_pipeline(
        PipelineName=aws.pipeline_name, PipelineDefinition=pipeline_build.definition, RoleArn=aws.role_arn
    )


def _drop(aws, drop: str, complete: bool = True) -> str:
    """A data drop in moto's S3: a data file, then (when complete) its _SUCCESS marker."""
    s3 = boto3.client("s3", region_name=aws.region)
    bucket, _, prefix = aws.data_drops_uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=f"{prefix}{drop}/rows.csv", Body=b"x\n1\n")  # moto runs no steps: any file
    if complete:
        s3.put_object(Bucket=bucket, Key=f"{prefix}{drop}/{MARKER}", Body=b"")
    return f"{aws.data_drops_uri}{drop}/"


def _started_with(aws) -> dict:
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    arn = sagemaker.list_pipeline_executions(PipelineName=aws.pipeline_name)["PipelineExecutionSummaries"][0]
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn["PipelineExecutionArn"])
    return {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}


def test_run_takes_the_latest_completed_drop(aws, published):
    runner = CliRunner()
    refused = runner.invoke(main, ["pipeline", "run"])
    assert refused.exit_code == 2 and "no completed data drop" in refused.output and MARKER in refused.output
    older = _drop(aws, "2026-11-30")
    time.sleep(1.1)  # S3 times have one-second resolution
    latest = _drop(aws, "2026-12-01")
    _drop(aws, "2026-12-02", complete=False)  # still arriving: not a drop yet
    run = runner.invoke(main, ["pipeline", "run"])
    assert run.exit_code == 0, run.output
    assert f"Data: {latest} (the latest completed drop)" in run.output and older not in run.output
    assert _started_with(aws)["InputDataUri"] == latest


def test_run_waits_then_status_and_lineage_trace_back(aws, published):
    runner = CliRunner()
    drop = _drop(aws, "2026-12-01")
    run = runner.invoke(
        main,
        ["pipeline", "run", "--param", "SampleFraction=0.1", "--param", "GitCommit=abc1234", "--wait", "--poll", "0"],
    )
    assert run.exit_code == 0, run.output
    arn = run.output.split("Started ", 1)[1].split()[0]
    assert "Succeeded" in run.output  # moto finishes executions at once
    status = runner.invoke(main, ["pipeline", "status"])
    assert arn in status.output and "Succeeded" in status.output

    # What the pipeline's Register step records, registered here by hand (moto runs no steps).
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    sagemaker.create_model_package_group(ModelPackageGroupName=aws.model_package_group)
    sagemaker.create_model_package(
        ModelPackageGroupName=aws.model_package_group,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={
            "PipelineExecutionArn": arn,
            "GitCommit": "abc1234",
            "GitRepository": "owner/repo",
            "InputDataUri": drop,
            "SampleFraction": "0.1",
        },
    )
    result = runner.invoke(main, ["lineage", "1", "--json"])
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert chain["pipeline_execution"]["arn"] == arn
    assert chain["pipeline_execution"]["status"] == "Succeeded"
    assert chain["git"] == {"repository": "owner/repo", "commit": "abc1234"}
    assert chain["data"]["input_data_uri"] == drop
    assert "git commit abc1234" in runner.invoke(main, ["lineage", "1"]).output


def test_run_checks_parameters_against_the_published_definition(aws, published):
    runner = CliRunner()
    result = runner.invoke(main, ["pipeline", "run", "--param", "Nope=1"])
    assert result.exit_code == 2
    assert "unknown pipeline parameter" in result.output and "SampleFraction" in result.output
    executions = boto3.client("sagemaker", region_name=aws.region).list_pipeline_executions(
        PipelineName=aws.pipeline_name
    )
    assert executions["PipelineExecutionSummaries"] == []  # refused before anything started


def test_run_before_upsert_says_what_to_do(aws):
    result = CliRunner().invoke(main, ["pipeline", "run"])
    assert result.exit_code == 2
    assert "pipeline upsert" in result.output


def test_upsert_without_the_bucket_says_to_bootstrap_before_building(aws, monkeypatch):
    """The bucket is checked first (HeadBucket), not found after half a minute of building."""
    from {{ cookiecutter.package }}.pipeline import definition

    def built_first(*_args, **_kwargs):
        raise AssertionError("the pipeline was built before the bucket was checked")

    boto3.client("s3", region_name=aws.region).delete_bucket(Bucket=aws.bucket)
    monkeypatch.setattr(definition, "build", built_first)
    result = CliRunner().invoke(main, ["pipeline", "upsert"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"Error: bucket {aws.bucket} (aws.bucket in project.yaml) does not exist: deploy the bootstrap stacks "
        "first (infra/bootstrap/, see infra/README.md), or correct aws.bucket"
    )


def test_run_and_status_of_a_missing_pipeline_or_bucket_say_what_to_do(aws):
    runner = CliRunner()
    status = runner.invoke(main, ["pipeline", "status"])
    assert status.exit_code == 2, status.output
    assert f"pipeline {aws.pipeline_name!r}:" in status.output and "(run `pipeline upsert` first)" in status.output
    # A published pipeline whose data drops' bucket is gone: said before anything starts.
    sagemaker = boto3.client("sagemaker", region_name=aws.region)
    published = {"Version": "2020-12-01", "Parameters": [{"Name": "InputDataUri", "Type": "String"}], "Steps": []}
    sagemaker.create_pipeline(
        PipelineName=aws.pipeline_name, PipelineDefinition=json.dumps(published), RoleArn=aws.role_arn
    )
    boto3.client("s3", region_name=aws.region).delete_bucket(Bucket=aws.bucket)
    run = runner.invoke(main, ["pipeline", "run"])
    assert run.exit_code == 2, run.output
    assert f"bucket {aws.bucket} (aws.data_drops_uri in project.yaml) does not exist" in run.output
    assert sagemaker.list_pipeline_executions(PipelineName=aws.pipeline_name)["PipelineExecutionSummaries"] == []


def test_lineage_of_missing_version_is_clear(aws):
    boto3.client("sagemaker", region_name=aws.region).create_model_package_group(
        ModelPackageGroupName=aws.model_package_group
    )
    result = CliRunner().invoke(main, ["lineage", "7"])
    assert result.exit_code == 2
    assert "has no version 7" in result.output


# -- failures moto cannot produce: stubbed at the boto3 client (moto's executions always succeed,
# and it lacks ListPipelineExecutionSteps) -------------------------------------------------------

ARN = "arn:aws:sagemaker:{{ cookiecutter.aws_region }}:{{ cookiecutter.aws_account_id }}:pipeline/p/execution/abc123"


def _stubbed(responses: list[tuple[str, dict]]):
    client = boto3.client("sagemaker", region_name="{{ cookiecutter.aws_region }}", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for method, response in responses:
        stubber.add_response(method, response)
    stubber.activate()
    return client


def test_failed_execution_names_the_failing_step_and_reason():
    client = _stubbed(
        [
            ("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Executing"}),
            ("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Failed"}),
            (
                "list_pipeline_execution_steps",
                {
                    "PipelineExecutionSteps": [
                        {"StepName": "Train", "StepStatus": "Succeeded"},
                        {"StepName": "GateFailed", "StepStatus": "Failed", "FailureReason": "quality gate FAILED: auc"},
                    ]
                },
            ),
        ]
    )
    lines: list[str] = []
    execution = executions.wait(client, ARN, timeout=60, echo=lines.append, poll=0, sleep=lambda _: None)
    assert execution.status == "Failed"
    assert execution.failure == "GateFailed: quality gate FAILED: auc"
    assert any("Executing" in line for line in lines) and any("Failed" in line for line in lines)


def test_wait_gives_up_after_the_timeout_and_says_how_to_follow():
    client = _stubbed(
        [("describe_pipeline_execution", {"PipelineExecutionArn": ARN, "PipelineExecutionStatus": "Executing"})] * 2
    )
    ticks = iter([0.0, 0.0, 5.0])
    with pytest.raises(ProjectError, match="still Executing after 5 s"):
        executions.wait(
            client, ARN, timeout=5, echo=lambda _: None, poll=0, clock=lambda: next(ticks), sleep=lambda _: None
        )


def test_the_jobs_get_the_settings_file_the_definition_was_built_from(
    tmp_path, project_root, settings_path, settings, offline
):
    """`--settings FILE`: the bundle ships FILE as the jobs' project.yaml, even with no project.yaml
    beside it, so jobs run exactly the thresholds and hyperparameters the definition shows."""
    raw = yaml.safe_load(settings_path.read_text())
    metric, side, _ = quality_limit(settings)
    raw["gates"]["quality"][metric][side] = another_bound(settings)
    variant = tmp_path / "variant.yaml"
    variant.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(
        main, ["pipeline", "build", "--settings", str(variant), "--out", str(tmp_path / "definition.json")]
    )
    assert result.exit_code == 0, result.output
    definition = json.loads((tmp_path / "definition.json").read_text())
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults[quality_parameter_name(metric, side)] == another_bound(settings)
    built = build(load_settings(variant), root=project_root, settings_file=variant)
    (code_key,) = [key for key in built.uploads if key.endswith("/sourcedir.tar.gz")]
    with tarfile.open(fileobj=io.BytesIO(built.uploads[code_key])) as tar:
        assert tar.extractfile("project.yaml").read() == variant.read_bytes()


def test_building_outside_the_project_root_says_where_to_run(settings, tmp_path):
    with pytest.raises(ProjectError, match="run from the project's root folder"):
        build(settings, root=tmp_path)


def test_diff_of_something_that_is_not_a_definition_is_one_clear_error(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2]")
    result = CliRunner().invoke(main, ["pipeline", "diff", str(tmp_path / "list.json"), str(tmp_path / "list.json")])
    assert result.exit_code == 2 and "not a pipeline definition" in result.output
