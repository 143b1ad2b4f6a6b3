"""Runs a built pipeline's jobs the way SageMaker starts them, in the rebuilt image (image_env.py),
from the definition itself: each job gets the container entrypoint and arguments the definition
gives it, with its inputs laid out where the definition mounts them and every `/opt/ml` path
redirected under a folder of the job's own (each job has a container of its own).

What SageMaker would download from S3 comes from the build's own uploads (code bundle, the SDK's
training drivers), the shipped wheels, the data drop, and the outputs of the steps that ran before.
Clarify's image is not rebuilt: a Clarify step's analysis is given by the caller (`stand_ins`).
Processing jobs after the first start from a copy of its job environment (see
`_start_from_installed`): installing the same wheels again only repeats the first install.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

ML = "/opt/ml"


def resolve(value, parameters: dict, properties: dict | None = None):
    """Arguments as SageMaker resolves them for one execution: parameters substituted, joins joined,
    and other steps' properties (`{"Get": "Steps..."}`) looked up in `properties` when given."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and value["Get"].startswith("Parameters."):
            return parameters[value["Get"].removeprefix("Parameters.")]
        if set(value) == {"Get"} and properties is not None and value["Get"] in properties:
            return properties[value["Get"]]
        if set(value) == {"Std:Join"}:
            parts = [resolve(part, parameters, properties) for part in value["Std:Join"]["Values"]]
            if all(isinstance(part, str | int | float) for part in parts):
                return value["Std:Join"]["On"].join(str(part) for part in parts)
            return {"Std:Join": {**value["Std:Join"], "Values": parts}}
        return {key: resolve(item, parameters, properties) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, parameters, properties) for item in value]
    return value


class JobRunner:
    def __init__(self, build, parameters: dict, wheel_dir: Path, drop: Path, base: Path, env: dict) -> None:
        self.build, self.parameters, self.base, self.env = build, parameters, base, env
        self.wheels_uri = f"s3://{build.bucket}/{build.wheels_prefix}"
        self.local = {self.wheels_uri: wheel_dir, parameters["InputDataUri"]: drop}
        self.properties: dict[str, str] = {}  # "Steps.X.<property>" -> a local path standing in for S3
        self.installed: Path | None = None  # the environment the first processing job installed

    def step(self, name: str) -> dict:
        return next(step for step in self.build.parsed["Steps"] if step["Name"] == name)

    def _root(self, job: str) -> Path:
        return self.base / job

    def _rewrite(self, text: str, job: str) -> str:
        return text.replace(ML, f"{self._root(job)}{ML}")

    def fetch(self, uri: str, destination: Path) -> None:
        """What SageMaker puts at `destination` for an S3Prefix input of `uri`."""
        destination.mkdir(parents=True, exist_ok=True)
        source = self.local.get(uri.rstrip("/")) or self.local.get(uri)
        if source is None and Path(uri).exists():  # a property standing in for an earlier step's output
            source = Path(uri)
        if source is not None:
            if source.is_file():
                shutil.copy(source, destination / source.name)
            else:
                shutil.copytree(source, destination, dirs_exist_ok=True)
            return
        key = uri.removeprefix(f"s3://{self.build.bucket}/")
        found = {k: v for k, v in self.build.uploads.items() if k == key or k.startswith(f"{key}/")}
        assert found, f"nothing in the build's uploads, wheels or drop for {uri}"
        for object_key, data in found.items():
            target = destination / (Path(object_key).name if object_key == key else object_key[len(key) + 1 :])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def job_env(self, job: str) -> Path:
        """Where the job launcher builds this job's environment (/tmp/job-env in its container)."""
        return self._root(job) / "tmp/job-env"

    def _start_from_installed(self, job: str) -> None:
        """A processing job after the first starts from a copy of the first one's environment: the
        same launcher installs the same wheels from the same input folder, so its install finds them
        in place (a second, not a full install per job). The first processing job and the training
        job install into an empty environment, as every job does in SageMaker."""
        if self.installed is None:
            self.installed = self.job_env(job)
        else:
            shutil.copytree(self.installed, self.job_env(job), symlinks=True)

    def _run(self, job: str, argv: list[str]) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self._rewrite(str(arg), job) for arg in argv],
            cwd="/",
            env={**self.env, "JOB_ENV_DIR": str(self.job_env(job)), "TRAINING_JOB_NAME": job.lower()},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"{job} failed in the image:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def processing(self, name: str) -> subprocess.CompletedProcess:
        arguments = resolve(self.step(name)["Arguments"], self.parameters, self.properties)
        for item in arguments["ProcessingInputs"]:
            s3 = item["S3Input"]
            self.fetch(s3["S3Uri"], Path(self._rewrite(s3["LocalPath"], name)))
        for item in arguments["ProcessingOutputConfig"]["Outputs"]:
            local = Path(self._rewrite(item["S3Output"]["LocalPath"], name))
            local.mkdir(parents=True, exist_ok=True)
            key = f"Steps.{name}.ProcessingOutputConfig.Outputs['{item['OutputName']}'].S3Output.S3Uri"
            self.properties[key] = str(local)
        app = arguments["AppSpecification"]
        self._start_from_installed(name)
        return self._run(name, [*app["ContainerEntrypoint"], *app.get("ContainerArguments", [])])

    def training(self, name: str) -> Path:
        """A training job: channels under input/data, SageMaker's config files, then the image
        started with the definition's entrypoint (the SDK's own driver script). Returns the
        model.tar.gz SageMaker would make of /opt/ml/model."""
        arguments = resolve(self.step(name)["Arguments"], self.parameters, self.properties)
        root = Path(self._rewrite(ML, name))
        channels = {}
        for channel in arguments["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            folder = root / "input/data" / channel["ChannelName"]
            self.fetch(source["S3Uri"], folder)
            channels[channel["ChannelName"]] = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
        for text_file in (root / "input/data/sm_drivers").rglob("*"):  # the SDK's drivers name /opt/ml paths
            if text_file.is_file() and text_file.suffix in (".sh", ".py", ".json"):
                text_file.write_text(self._rewrite(text_file.read_text(), name))
        config = root / "input/config"
        config.mkdir(parents=True, exist_ok=True)
        # What SageMaker writes for a one-instance job (its documented resourceconfig.json).
        instance = resolve(arguments["ResourceConfig"]["InstanceType"], self.parameters)
        group = {"instance_group_name": "homogeneousCluster", "instance_type": instance, "hosts": ["algo-1"]}
        resources = {
            "current_host": "algo-1",
            "current_instance_type": instance,
            "current_group_name": "homogeneousCluster",
            "hosts": ["algo-1"],
            "instance_groups": [group],
            "network_interface_name": "eth0",
        }
        (config / "resourceconfig.json").write_text(json.dumps(resources))
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        (config / "hyperparameters.json").write_text(json.dumps(arguments.get("HyperParameters", {})))
        for folder in ("model", "output/data", "checkpoints"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        spec = arguments["AlgorithmSpecification"]
        self._run(name, [*spec["ContainerEntrypoint"], *spec.get("ContainerArguments", [])])
        archive = root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for file in sorted((root / "model").iterdir()):
                tar.add(file, arcname=file.name)
        self.properties[f"Steps.{name}.ModelArtifacts.S3ModelArtifacts"] = str(archive)
        return archive

    def stand_in(self, name: str, analysis: dict) -> None:
        """The output of a step whose image is not rebuilt here (Clarify's analysis.json)."""
        folder = self.base / name / "analysis"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "analysis.json").write_text(json.dumps(analysis))
        self.properties[f"Steps.{name}.CalculatedBaselineConstraints"] = str(folder / "analysis.json")


def model_dir(archive: Path) -> Path:
    """The model directory inside a model.tar.gz, unpacked beside it."""
    folder = archive.parent / "unpacked-model"
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes())) as tar:
        tar.extractall(folder, filter="data")
    return folder
