"""Runs a built pipeline's jobs the way SageMaker starts them, in the rebuilt image (image_env.py),
from the definition itself: each job gets the container entrypoint and arguments the definition
gives it, with its inputs laid out where the definition mounts them and every `/opt/ml` path
redirected under a folder of the job's own (each job has a container of its own).

What SageMaker would download from S3 comes from the build's own uploads (code bundle, the SDK's
training drivers), the shipped wheels, the data drop, and the outputs of the steps that ran before.
Clarify's image is not rebuilt: a Clarify step's analysis is given by the caller (`stand_ins`).

A job may run as several instances (`hosts`), as SageMaker runs one with an instance count above
1: each gets the resourceconfig.json SageMaker writes, its share of every input distributed
ShardedByS3Key (the objects dealt out in key order) and all of every other input; a processing
job's outputs from every instance land in one folder, as under one S3 prefix. A job's instances
run at once, as in SageMaker; training instances (which train together) are named by loopback
addresses so the first host's name resolves to this machine.

The first job installs its job environment from empty, as every job does in SageMaker; the jobs
after it run on that environment (`installed`): they only read it, and their launcher finds it
installed from the same requirements and starts the step at once.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from pathlib import Path

ML = "/opt/ml"
SHARDED = "ShardedByS3Key"


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
        self.logs: dict[str, str] = {}  # each job's (each instance's: "Train/127.0.0.2") output
        self.installed: Path | None = None  # the environment the first processing job installed

    def step(self, name: str) -> dict:
        return next(step for step in self.build.parsed["Steps"] if step["Name"] == name)

    def _root(self, job: str) -> Path:
        return self.base / job

    def _rewrite(self, text: str, job: str) -> str:
        return text.replace(ML, f"{self._root(job)}{ML}")

    def fetch(self, uri: str, destination: Path, share: tuple[int, int] = (0, 1)) -> None:
        """What SageMaker puts at `destination` for an S3Prefix input of `uri`; with `share` (i, n),
        what instance i of n gets of an input distributed ShardedByS3Key."""
        if share[1] > 1:
            staged = destination.parent / f".{destination.name}-all"
            self.fetch(uri, staged)
            objects = sorted(path for path in staged.rglob("*") if path.is_file())
            for path in objects[share[0] :: share[1]]:
                target = destination / path.relative_to(staged)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
            destination.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staged)
            return
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

    def _start(self, job: str, argv: list[str], **env) -> subprocess.Popen:
        job_env = self.installed or self.job_env(job)  # each instance of the first job installs its own
        env = {**self.env, "JOB_ENV_DIR": str(job_env), "TRAINING_JOB_NAME": job.lower(), **env}
        argv = [self._rewrite(str(arg), job) for arg in argv]
        self._root(job).mkdir(parents=True, exist_ok=True)
        with (self._root(job) / "job.log").open("w") as log:
            return subprocess.Popen(argv, cwd="/", env=env, stdout=log, stderr=subprocess.STDOUT)

    def _wait(self, jobs: dict[str, subprocess.Popen], timeout: float = 900) -> dict[str, str]:
        """Every job's log once all have ended; all must succeed. A failed one ends the others
        (instances that train together would wait for it)."""
        deadline = time.monotonic() + timeout
        try:
            while any(process.poll() is None for process in jobs.values()) and time.monotonic() < deadline:
                if any(process.poll() not in (None, 0) for process in jobs.values()):
                    break
                time.sleep(0.05)  # jobs take seconds: a coarser poll would add up over a run
        finally:
            for process in jobs.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
        logs = {job: (self._root(job) / "job.log").read_text() for job in jobs}
        self.logs |= logs
        for job, process in jobs.items():
            assert process.returncode == 0, f"{job} failed in the image ({process.returncode}):\n{logs[job][-6000:]}"
        return logs

    def processing(self, name: str) -> dict[str, str]:
        """The job on as many instances (algo-1, ...) as the definition gives it for this run's
        parameters, at once; each instance's log."""
        arguments = resolve(self.step(name)["Arguments"], self.parameters, self.properties)
        hosts = int(arguments["ProcessingResources"]["ClusterConfig"]["InstanceCount"])
        names = [f"algo-{number}" for number in range(1, hosts + 1)]
        started = {}
        for rank, host in enumerate(names):
            job = name if hosts == 1 else f"{name}/{host}"
            for item in arguments["ProcessingInputs"]:
                s3 = item["S3Input"]
                share = (rank, hosts) if s3.get("S3DataDistributionType") == SHARDED else (0, 1)
                self.fetch(s3["S3Uri"], Path(self._rewrite(s3["LocalPath"], job)), share)
            for item in arguments["ProcessingOutputConfig"]["Outputs"]:
                Path(self._rewrite(item["S3Output"]["LocalPath"], job)).mkdir(parents=True, exist_ok=True)
            config = Path(self._rewrite(f"{ML}/config/resourceconfig.json", job))
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(json.dumps({"current_host": host, "hosts": names}))
            app = arguments["AppSpecification"]
            command = [*app["ContainerEntrypoint"], *app.get("ContainerArguments", [])]
            started[job] = self._start(job, command)
        logs = self._wait(started)
        self.installed = self.installed or self.job_env(next(iter(started)))
        for item in arguments["ProcessingOutputConfig"]["Outputs"]:  # every instance's files, as under one prefix
            local = item["S3Output"]["LocalPath"]
            key = f"Steps.{name}.ProcessingOutputConfig.Outputs['{item['OutputName']}'].S3Output.S3Uri"
            if hosts == 1:
                self.properties[key] = self._rewrite(local, name)
                continue
            merged = self.base / name / "s3" / item["OutputName"]
            for host in names:
                shutil.copytree(self._rewrite(local, f"{name}/{host}"), merged, dirs_exist_ok=True)
            self.properties[key] = str(merged)
        return logs

    def training(self, name: str) -> Path:
        """A training job: channels under input/data, SageMaker's config files, then the image
        started with the definition's entrypoint (the SDK's own driver script), on as many
        instances as the definition gives it, at once. Returns the model.tar.gz SageMaker would
        make of the first host's /opt/ml/model (the only one with a model). Each instance starts from
        the first processing job's environment (`installed`)."""
        assert self.installed is not None, "a processing job runs first and installs the job environment"
        arguments = resolve(self.step(name)["Arguments"], self.parameters, self.properties)
        hosts = int(arguments["ResourceConfig"]["InstanceCount"])
        names = ["algo-1"] if hosts == 1 else [f"127.0.0.{number}" for number in range(1, hosts + 1)]
        jobs = {}
        for rank, host in enumerate(names):
            job = name if hosts == 1 else f"{name}/{host}"
            jobs[job] = self._training_instance(job, arguments, names, rank)
        port = _free_port()  # the tracker's, on the first host
        # Each instance stands for a machine of its own; here they share this machine's cores.
        threads = {"OMP_NUM_THREADS": "1"} if len(jobs) > 1 else {}
        started = {job: self._start(job, argv, XGBOOST_TRACKER_PORT=str(port), **threads) for job, argv in jobs.items()}
        self._wait(started)
        root = Path(self._rewrite(ML, next(iter(jobs))))
        archive = root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for file in sorted((root / "model").iterdir()):
                tar.add(file, arcname=file.name)
        self.properties[f"Steps.{name}.ModelArtifacts.S3ModelArtifacts"] = str(archive)
        return archive

    def _training_instance(self, job: str, arguments: dict, hosts: list[str], rank: int) -> list[str]:
        """Lays out one training instance's /opt/ml; returns the command that starts it."""
        root = Path(self._rewrite(ML, job))
        channels = {}
        for channel in arguments["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            distribution = source.get("S3DataDistributionType", "FullyReplicated")
            share = (rank, len(hosts)) if distribution == SHARDED else (0, 1)
            self.fetch(source["S3Uri"], root / "input/data" / channel["ChannelName"], share)
            channels[channel["ChannelName"]] = {"TrainingInputMode": "File", "S3DistributionType": distribution}
        for text_file in (root / "input/data/sm_drivers").rglob("*"):  # the SDK's drivers name /opt/ml paths
            if text_file.is_file() and text_file.suffix in (".sh", ".py", ".json"):
                text_file.write_text(self._rewrite(text_file.read_text(), job))
        config = root / "input/config"
        config.mkdir(parents=True, exist_ok=True)
        # What SageMaker writes for each instance of a job (its documented resourceconfig.json).
        instance = resolve(arguments["ResourceConfig"]["InstanceType"], self.parameters)
        group = {"instance_group_name": "homogeneousCluster", "instance_type": instance, "hosts": hosts}
        resources = {
            "current_host": hosts[rank],
            "current_instance_type": instance,
            "current_group_name": "homogeneousCluster",
            "hosts": hosts,
            "instance_groups": [group],
            "network_interface_name": "eth0",
        }
        (config / "resourceconfig.json").write_text(json.dumps(resources))
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        (config / "hyperparameters.json").write_text(json.dumps(arguments.get("HyperParameters", {})))
        for folder in ("model", "output/data", "checkpoints"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        spec = arguments["AlgorithmSpecification"]
        return [*spec["ContainerEntrypoint"], *spec.get("ContainerArguments", [])]

    def stand_in(self, name: str, analysis: dict) -> None:
        """The output of a step whose image is not rebuilt here (Clarify's analysis.json)."""
        folder = self.base / name / "analysis"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "analysis.json").write_text(json.dumps(analysis))
        self.properties[f"Steps.{name}.CalculatedBaselineConstraints"] = str(folder / "analysis.json")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_dir(archive: Path) -> Path:
    """The model directory inside a model.tar.gz, unpacked beside it."""
    folder = archive.parent / "unpacked-model"
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes())) as tar:
        tar.extractall(folder, filter="data")
    return folder
