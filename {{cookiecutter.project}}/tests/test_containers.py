"""Container contract: the pipeline's jobs and its model server run in SageMaker's XGBoost image,
rebuilt here from containers/images.yaml (tests/image_env.py), started the way SageMaker and the
image start them.

- Jobs (tests/job_runner.py): each processing job with the entrypoint, arguments and input/output
  paths the built definition gives it (the code bundle unpacked, then `job.sh` installing the
  shipped wheels with no index and no network: the first job from empty, the later ones finding
  that environment installed); training through the SDK's own driver script
  with SageMaker's channels and config files. `/opt/ml` is redirected under a folder per job.
  Once more with ProcessingInstanceCount and TrainingInstanceCount at 2: Preprocess on two
  instances, each on its share of the drop's files, then distributed training on two at once.
  Clarify's image is not rebuilt: its analysis.json comes from the local bias code, same shape.
- Serving: sagemaker-containers' own server start (the image's serving entry point) with the
  CreateModel step's environment: it copies the bundle to the code dir, runs `pip install . -r
  requirements.txt` there with no network (into an environment over the image, which stays as
  built), then gunicorn with gevent workers; /ping and
  /invocations answer for JSON and for Clarify's header-less CSV. The image's own serving package
  is not on PyPI: tests/xgboost_serving.py rebuilds its WSGI app from sagemaker-containers' parts.
  SAGEMAKER_SUBMIT_DIRECTORY is the unpacked bundle here (in SageMaker, its S3 URI, which the
  container downloads and unpacks).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import image_env
import job_runner
from {{ cookiecutter.package }}.data import read_dataset
from {{ cookiecutter.package }}.gates import METRICS_KEY, quality_gates
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.pipeline.images import load_images
from {{ cookiecutter.package }}.steps.evaluate import evaluate
from {{ cookiecutter.package }}.steps.inference import input_fn, output_fn, predict_fn

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def xgboost_image(project_root: Path):
    return load_images(project_root)["xgboost"]


@pytest.fixture(scope="session")
def image(xgboost_image) -> Path:
    return image_env.image_python(xgboost_image)


@pytest.fixture(scope="session")
def runner(pipeline_build, image: Path, wheel_dir: Path, sample_path: Path, tmp_path_factory) -> job_runner.JobRunner:
    """The pipeline's jobs, each started from the definition in the rebuilt image, on a data drop
    holding the sample (SageMaker's S3 objects stand-ins: the build's uploads, wheels, the drop)."""
    base = tmp_path_factory.mktemp("jobs")
    drop = base / "drop"
    drop.mkdir()
    (drop / sample_path.name).write_bytes(sample_path.read_bytes())
    (drop / "_SUCCESS").write_bytes(b"")  # a drop's marker lies beside the data
    defaults = {p["Name"]: p.get("DefaultValue") for p in pipeline_build.parsed["Parameters"]}
    parameters = {**defaults, "InputDataUri": f"{defaults['InputDataUri']}contract/"}
    env = image_env.clean_env(**image_env.NO_NETWORK, PATH=f"{image.parent}:{os.environ['PATH']}")
    return job_runner.JobRunner(pipeline_build, parameters, wheel_dir, drop, base, env)


@pytest.fixture(scope="session")
def trained_in_image(runner: job_runner.JobRunner, settings) -> Path:
    """DataChecks -> Preprocess -> Train -> Evaluate -> Gates as SageMaker runs them; the model dir."""
    runner.processing("DataChecks")  # installs the job environment from empty, as in SageMaker
    runner.processing("Preprocess")
    archive = runner.training("Train")
    runner.processing("Evaluate")
    model = job_runner.model_dir(archive)
    if settings.bias is not None:
        for name, analysis in _clarify_stand_ins(runner, model, settings).items():
            runner.stand_in(name, analysis)
    runner.processing("Gates")
    return model


def _clarify_stand_ins(runner: job_runner.JobRunner, model: Path, settings) -> dict:
    """Clarify's analysis.json for the bias checks, computed with the local bias code (smclarify,
    the same metrics in the same shape) on the splits and model the jobs above produced."""
    from {{ cookiecutter.package }} import bias
    from {{ cookiecutter.package }}.local import predicted_labels

    splits = Path(runner.properties["Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"]).parent
    train = read_dataset(splits / "train", settings.dataset)
    test = read_dataset(splits / "test", settings.dataset)
    trained = TrainedModel.load(model)
    predicted = predicted_labels(trained, test, settings)  # as Clarify derives them from the endpoint
    pre = bias.pre_training(train, settings.dataset, settings.bias)
    post = bias.post_training(test, predicted, trained.spec, settings.dataset, settings.bias)
    return {
        "DataBias": bias.analysis(pre),
        "ModelBias": {"post_training_bias_metrics": bias.analysis(pre, post)["post_training_bias_metrics"]},
    }


@pytest.fixture(scope="session")
def scaled(pipeline_build, runner, trained_in_image, wheel_dir: Path, sample_path: Path, tmp_path_factory):
    """The same definition run with two processing and two training instances, on a drop of four
    files: Preprocess on two instances (after the one-instance run's data checks), then Train on
    two at once. The runner and the training instances' logs."""
    base = tmp_path_factory.mktemp("scaled-jobs")
    drop = base / "drop"
    drop.mkdir()
    rows = pd.read_csv(sample_path, dtype=str, keep_default_na=False)
    for part in range(4):
        rows.iloc[part::4].to_csv(drop / f"part-{part}.csv", index=False)
    counts = {"ProcessingInstanceCount": 2, "TrainingInstanceCount": 2}
    scaled = job_runner.JobRunner(pipeline_build, {**runner.parameters, **counts}, wheel_dir, drop, base, runner.env)
    checks = "Steps.DataChecks.ProcessingOutputConfig.Outputs['data_checks'].S3Output.S3Uri"
    scaled.properties[checks] = runner.properties[checks]
    scaled.installed = runner.installed
    scaled.processing("Preprocess")
    scaled.training("Train")
    return scaled


def test_two_instances_preprocess_and_train_in_the_image(scaled, trained_in_image: Path, settings) -> None:
    """Each preprocess instance wrote its own part files, one per training instance; the training
    instances trained one model together (the same best round on both), which only the first
    saved, and which passes the project's quality gate on the test split the instances wrote."""
    train = _output(scaled, "Preprocess", "train")
    assert sorted(path.name for path in train.iterdir()) == [
        f"train-{host}-part{part}.csv" for host in ("algo-1", "algo-2") for part in range(2)
    ]
    logs = [log for job, log in scaled.logs.items() if job.startswith("Train/")]
    best = [next(line for line in log.splitlines() if line.startswith("best round")) for log in logs]
    assert len(logs) == 2 and best[0] == best[1], best
    first, second = (scaled.base / "Train" / host / "opt/ml/model" for host in ("127.0.0.1", "127.0.0.2"))
    assert (first / "xgboost-model.json").is_file() and not any(second.iterdir())
    archive = Path(scaled.properties["Steps.Train.ModelArtifacts.S3ModelArtifacts"])
    test = read_dataset(_output(scaled, "Preprocess", "test"), settings.dataset)
    evaluation = evaluate(TrainedModel.load(job_runner.model_dir(archive)), test, settings.dataset, settings.decision)
    assert all(gate.passed for gate in quality_gates(evaluation, settings.gates)), evaluation


def _output(runner: job_runner.JobRunner, step: str, name: str) -> Path:
    return Path(runner.properties[f"Steps.{step}.ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"])


def test_every_step_runs_as_a_job_in_the_image(trained_in_image: Path, runner: job_runner.JobRunner, settings) -> None:
    """Each job ran with the definition's own entrypoint, arguments and input/output paths; the
    first installed the job environment, the others started from a copy of it (job_runner)."""
    assert json.loads((_output(runner, "DataChecks", "data_checks") / "result.json").read_text())["success"] is True
    installed = {job: "job environment: installing the locked job packages" in log for job, log in runner.logs.items()}
    assert installed == {job: job == "DataChecks" for job in runner.logs}, installed
    assert {path.name for path in trained_in_image.iterdir()} >= {"xgboost-model.json", "feature_spec.json"}
    evaluation = json.loads((_output(runner, "Evaluate", "evaluation") / "evaluation.json").read_text())
    metrics = evaluation[METRICS_KEY[settings.dataset.problem_type]]  # the project's problem type's shape
    assert set(settings.gates.quality) <= set(metrics)
    gates = json.loads((_output(runner, "Gates", "gates") / "gates.json").read_text())
    assert gates["passed"] is True, gates["message"]
    gated_bias = settings.bias is not None and bool(settings.bias.thresholds)  # bias gates come from thresholds
    assert {gate["gate"] for gate in gates["gates"]} == ({"quality", "bias"} if gated_bias else {"quality"})


def test_jobs_install_only_into_their_own_environment(
    trained_in_image, runner: job_runner.JobRunner, image: Path
) -> None:
    """The launcher's environment sees the image's packages; what it installs stays in it. (That
    Great Expectations runs there, the DataChecks job showed.)"""
    job_env = runner.job_env("DataChecks")  # the first job: its launcher installed everything
    modules = ("jinja2", "numpy", "xgboost")
    probe = f"import {', '.join(modules)}; print({', '.join(m + '.__version__' for m in modules)})"
    clean = image_env.clean_env()
    inside = subprocess.run([job_env / "bin/python", "-c", probe], capture_output=True, text=True, env=clean)
    assert inside.returncode == 0, inside.stderr
    jinja_in_job, numpy, xgb = inside.stdout.split()
    assert (numpy, xgb) == ("2.1.0", "3.0.5")  # the image's own
    assert jinja_in_job.startswith("3.")  # the job override, in the job's environment only
    image_jinja = subprocess.run([str(image), "-c", "import jinja2; print(jinja2.__version__)"],
                                 capture_output=True, text=True, env=clean)  # fmt: skip
    assert image_jinja.stdout.strip() == "2.11.3"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, body: bytes | None = None, content_type: str = "", accept: str = "") -> tuple[int, str]:
    headers = {key: value for key, value in (("Content-Type", content_type), ("Accept", accept)) if value}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def endpoint(image: Path, runner: job_runner.JobRunner, trained_in_image: Path, tmp_path_factory):
    """The model server started as the image starts it, with the model the training job wrote and
    the environment the pipeline's CreateModel step gives the container."""
    work = tmp_path_factory.mktemp("serving")
    container = runner.step("CreateModel")["Arguments"]["PrimaryContainer"]["Environment"]
    submitted = work / "submitted"
    runner.fetch(container["SAGEMAKER_SUBMIT_DIRECTORY"], submitted)
    with tarfile.open(next(submitted.glob("*.tar.gz"))) as archive:
        archive.extractall(submitted / "code", filter="data")
    python = image_env.image_overlay(image, work / "image")
    base = work / "opt-ml"
    (base / "model").mkdir(parents=True)
    for file in trained_in_image.iterdir():
        (base / "model" / file.name).write_bytes(file.read_bytes())
    port = _free_port()
    env = image_env.clean_env(
        **image_env.NO_NETWORK,
        PATH=f"{python.parent}:{image.parent}:{os.environ['PATH']}",
        PYTHONPATH=str(TESTS),  # tests/xgboost_serving.py, the image's WSGI app
        SAGEMAKER_BASE_DIR=str(base),
        SAGEMAKER_PROGRAM=container["SAGEMAKER_PROGRAM"],
        SAGEMAKER_SUBMIT_DIRECTORY=str(submitted / "code"),
        SAGEMAKER_USE_NGINX="false",
        SAGEMAKER_BIND_TO_PORT=str(port),
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        OMP_NUM_THREADS="1",  # the image's serving default
        OMP_WAIT_POLICY=container["OMP_WAIT_POLICY"],  # set by the CreateModel step: the server loads xgboost first
    )
    log = (work / "server.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        [str(python), "-c", "from sagemaker_containers import _server; _server.start('xgboost_serving:main')"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if _request(f"{url}/ping")[0] == 200:
                    break
            except OSError:
                pass
            log_text = (work / "server.log").read_text()
            if server.poll() is not None or time.monotonic() - started > 240:
                pytest.fail(f"the model server did not answer /ping:\n{log_text[-4000:]}")
            time.sleep(0.1)  # it answers within seconds: a coarser poll only adds to the wait
        yield url, time.monotonic() - started, (work / "server.log")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        log.close()


def test_the_model_server_installs_offline_and_answers_ping(endpoint, image: Path) -> None:
    url, _startup, log = endpoint
    assert _request(f"{url}/ping")[0] == 200
    text = log.read_text()
    # The image's own install step (`pip install . -r requirements.txt` in the code dir) ran, with
    # the package index off and no network, and installed the bundle alone (into the overlay: the
    # shared image stays as built).
    assert "Processing " in text and "Successfully installed serve-1.0.0" in text, text[-3000:]
    assert not list(image.parent.parent.glob("lib/python*/site-packages/serve-*"))


def _rows(sample_path: Path, settings, count: int = 8) -> pd.DataFrame:
    rows = pd.read_csv(sample_path, dtype=str, keep_default_na=False).head(count)[settings.dataset.features].copy()
    rows.iloc[1, 0] = ""  # a blank numeric value
    rows.iloc[2, -1] = ""  # a blank category
    return rows


def test_the_endpoint_scores_json_and_headerless_csv(endpoint, trained_in_image, sample_path, settings) -> None:
    url = endpoint[0]
    rows = _rows(sample_path, settings)
    csv = rows.to_csv(header=False, index=False)
    # What this machine's Python answers for the same request, through the same handlers.
    model = TrainedModel.load(trained_in_image)
    expected = predict_fn(input_fn(csv, "text/csv"), model)
    csv_status, csv_body = _request(f"{url}/invocations", csv.encode(), "text/csv", "text/csv")
    assert csv_status == 200
    # One line per row, as Clarify reads them: the score(s) or the value, per the problem type.
    assert len(csv_body.strip().splitlines()) == len(rows)
    assert _csv_values(csv_body) == pytest.approx(_csv_values(output_fn(expected, "text/csv", model.spec)[0]), abs=1e-6)
    records = json.loads(rows.to_json(orient="records"))
    json_status, json_body = _request(
        f"{url}/invocations", json.dumps({"instances": records}).encode(), "application/json", "application/json"
    )
    assert json_status == 200
    predictions = json.loads(json_body)["predictions"]
    local = json.loads(output_fn(expected, "application/json", model.spec)[0])["predictions"]
    assert [sorted(p) for p in predictions] == [sorted(p) for p in local]  # the problem type's fields
    assert _labels(predictions) == _labels(local)
    assert _numbers(predictions) == pytest.approx(_numbers(local), abs=1e-6)


def _csv_values(body: str) -> list[float]:
    """Every value of a text/csv answer, line after line."""
    return [float(value) for line in body.strip().splitlines() for value in line.split(",")]


def _fields(predictions: list[dict]) -> list:
    """Each prediction's values in key order, a class's scores ({"a": 0.7, ...}) unpacked."""
    values = []
    for prediction in predictions:
        for key in sorted(prediction):
            value = prediction[key]
            if isinstance(value, dict):
                values.extend(value[name] for name in sorted(value))
            else:
                values.append(value)
    return values


def _numbers(predictions: list[dict]) -> list[float]:
    return [value for value in _fields(predictions) if isinstance(value, float)]


def _labels(predictions: list[dict]) -> list:
    return [value for value in _fields(predictions) if not isinstance(value, float)]


def test_the_endpoint_answers_a_refused_request_with_its_reason(endpoint, sample_path, settings) -> None:
    """Through the image's own server: 400 with the reason as JSON, not the server's bare 500."""
    rows = _rows(sample_path, settings)
    rows.iloc[0, rows.columns.get_loc(settings.dataset.numeric_features[0])] = "forty"
    body = rows.to_csv(header=False, index=False).encode()
    request = urllib.request.Request(f"{endpoint[0]}/invocations", data=body, headers={"Content-Type": "text/csv"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert "forty" in json.loads(refused.value.read().decode())["error"]
    wrong_type = urllib.request.Request(f"{endpoint[0]}/invocations", data=body, headers={"Content-Type": "text/xml"})
    with pytest.raises(urllib.error.HTTPError) as unsupported:
        urllib.request.urlopen(wrong_type, timeout=30)
    assert unsupported.value.code == 415 and "text/xml" in json.loads(unsupported.value.read().decode())["error"]
{%- if cookiecutter.use_clarify == "yes" %}


def test_the_endpoint_scores_what_clarify_sends_it(endpoint, runner, trained_in_image) -> None:
    """Clarify's shadow endpoint gets the preprocess step's header-less CSV less the label column
    (the analysis config the build stages says which): one line per row comes back, as the
    handlers write it for the problem type (binary a probability, multiclass one per class)."""
    configs = [json.loads(data) for key, data in runner.build.uploads.items() if key.endswith("analysis_config.json")]
    config = next(c for c in configs if "predictor" in c and "label" in c)
    clarify = Path(runner.properties["Steps.Preprocess.ProcessingOutputConfig.Outputs['clarify'].S3Output.S3Uri"])
    rows = pd.read_csv(clarify / "test" / "test.csv", header=None, dtype=str, keep_default_na=False).head(200)
    sent = rows.drop(columns=config["headers"].index(config["label"]))
    csv = sent.to_csv(header=False, index=False)
    status, body = _request(f"{endpoint[0]}/invocations", csv.encode(), "text/csv", "text/csv")
    assert status == 200
    model = TrainedModel.load(trained_in_image)
    expected = output_fn(predict_fn(input_fn(csv, "text/csv"), model), "text/csv", model.spec)[0]
    assert len(body.strip().splitlines()) == len(sent)  # one line per row: its score(s) or value
    assert _csv_values(body) == pytest.approx(_csv_values(expected), abs=1e-6)
{%- endif %}
