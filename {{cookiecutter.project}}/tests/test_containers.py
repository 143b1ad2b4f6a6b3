"""Container contract: the jobs and the model server run in SageMaker's XGBoost image, rebuilt here
from containers/images.yaml (tests/image_env.py), installed and started the way the image does it.

- Jobs: the code bundle unpacked as SageMaker unpacks it, each step started through the bundle's
  job launcher (`bash job.sh WHEELS STEP ARGS`), installing the shipped wheels with no index and
  no network, in SageMaker's directory layout (/opt/ml/... under a temp dir).
- Serving: sagemaker-containers' own server start (the image's serving entry point): it copies the
  bundle to the code dir, runs `pip install . -r requirements.txt` there with no network, then
  gunicorn with gevent workers; /ping and /invocations answer for JSON and for Clarify's header-less
  CSV. The image's own serving package is not on PyPI: tests/xgboost_serving.py rebuilds its WSGI
  app from sagemaker-containers' parts. SAGEMAKER_SUBMIT_DIRECTORY is the unpacked bundle here
  (in SageMaker, its S3 URI, which the container downloads).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import image_env
from {{ cookiecutter.package }}.model import TrainedModel
from {{ cookiecutter.package }}.pipeline import wheels
from {{ cookiecutter.package }}.pipeline.bundle import JOB_LAUNCHER, build_bundle, job_requirements
from {{ cookiecutter.package }}.pipeline.images import load_images
from {{ cookiecutter.package }}.pipeline.locks import lock, lock_problems, read_lock
from {{ cookiecutter.package }}.steps.inference import input_fn, predict_fn

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def xgboost_image(project_root: Path):
    return load_images(project_root)["xgboost"]


@pytest.fixture(scope="session")
def image(xgboost_image) -> Path:
    return image_env.image_python(xgboost_image)


@pytest.fixture(scope="session")
def bundle_dir(project_root: Path, xgboost_image, tmp_path_factory) -> Path:
    """The code bundle, unpacked as the jobs unpack it (`tar -xzf sourcedir.tar.gz`)."""
    folder = tmp_path_factory.mktemp("code")
    with tarfile.open(fileobj=io.BytesIO(build_bundle(project_root, xgboost_image).archive)) as archive:
        archive.extractall(folder, filter="data")
    return folder


@pytest.fixture(scope="session")
def wheel_dir(project_root: Path, xgboost_image) -> Path:
    """The wheels `pipeline upsert` ships (downloaded once per machine for these requirements)."""
    requirements = job_requirements(project_root, xgboost_image)
    folder = image_env.CACHE / "wheels" / wheels.wheels_digest(requirements)
    wheels.download(requirements, xgboost_image, folder)
    return folder


@pytest.fixture(scope="session")
def job_env(tmp_path_factory) -> Path:
    """Where the launcher builds each job's environment (SageMaker: /tmp/job-env, one job per
    container; here a folder of this session's, as suites may run side by side)."""
    return tmp_path_factory.mktemp("job") / "env"


@pytest.fixture(scope="session")
def jobs(image: Path, bundle_dir: Path, wheel_dir: Path, job_env: Path):
    """Runs one step as a SageMaker job runs it."""
    env = image_env.clean_env(
        **image_env.NO_NETWORK, PATH=f"{image.parent}:{os.environ['PATH']}", JOB_ENV_DIR=str(job_env)
    )

    def run(step: str, *arguments: str, **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["bash", str(bundle_dir / JOB_LAUNCHER), str(wheel_dir), step, *arguments],
            cwd="/",
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{step} failed in the image:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    return run


@pytest.fixture(scope="session")
def ml(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("opt-ml")


@pytest.fixture(scope="session")
def trained_in_image(jobs, ml: Path, sample_path: Path, settings) -> Path:
    """DataChecks -> Preprocess -> Train -> Evaluate -> Gates, each a job in the image; the model dir."""
    data = ml / "processing/input/data"
    data.mkdir(parents=True)
    (data / sample_path.name).write_bytes(sample_path.read_bytes())
    (data / "_SUCCESS").write_bytes(b"")  # a drop's marker lies beside the data
    out = ml / "processing/output"
    jobs("check_data", "--data", str(data), "--suite", "data_checks/training.json",
         "--output", str(out / "data_checks"), "--as-of", "latest", "--no-fail")  # fmt: skip
    assert json.loads((out / "data_checks/result.json").read_text())["success"] is True
    jobs("preprocess", "--input", str(data), "--checks", str(out / "data_checks/result.json"),
         "--output", str(out), "--sample-fraction", "1.0", "--as-of", "latest")  # fmt: skip
    model = ml / "model"
    channels = {"SM_CHANNEL_TRAIN": str(out / "train"), "SM_CHANNEL_VALIDATION": str(out / "validation")}
    jobs("train", **channels, SM_MODEL_DIR=str(model))
    jobs("evaluate", "--model-dir", str(model), "--test", str(out / "test"), "--output", str(out / "evaluation"))
    jobs("gate", "--evaluation", str(out / "evaluation/evaluation.json"), "--min-auc", str(settings.gates.min_auc),
         "--output", str(out / "gates"))  # fmt: skip
    return model


def test_locks_are_fresh_and_replace_no_image_pin(project_root: Path) -> None:
    assert lock_problems(project_root) == []


def test_a_stale_lock_or_one_replacing_an_image_pin_is_refused(project_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "containers").mkdir(parents=True)
    for file in (project_root / "containers").iterdir():
        (root / "containers" / file.name).write_bytes(file.read_bytes())
    with (root / "containers/jobs.in").open("a") as handle:
        handle.write("tqdm\n")
    serving = root / "containers/serving.lock"
    serving.write_text(serving.read_text() + "flask==3.1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    problems = lock_problems(root)
    assert any("jobs.lock: stale" in problem for problem in problems), problems
    assert any("flask==3.1.0 (the image pins flask==1.1.1)" in problem for problem in problems), problems


def test_make_lock_resolves_the_committed_locks_again(project_root: Path, tmp_path: Path) -> None:
    """`pipeline lock` (make lock) really resolves (uv, against the package index): on an unchanged
    project it writes the committed locks again, byte for byte; from scratch it finds a valid set."""
    root = tmp_path / "project"
    (root / "containers").mkdir(parents=True)
    for file in (project_root / "containers").iterdir():
        (root / "containers" / file.name).write_bytes(file.read_bytes())
    lock(root, echo=lambda line: None)
    for name in ("jobs", "serving"):
        assert (root / f"containers/{name}.lock").read_text() == (project_root / f"containers/{name}.lock").read_text()
    (root / "containers/jobs.lock").unlink()
    lock(root, echo=lambda line: None)
    assert lock_problems(root) == []
    assert any(entry.name == "great-expectations" for entry in read_lock(root / "containers/jobs.lock"))


def test_every_step_runs_as_a_job_in_the_image(trained_in_image: Path, ml: Path) -> None:
    out = ml / "processing/output"
    assert {path.name for path in trained_in_image.iterdir()} >= {"xgboost-model.json", "feature_spec.json"}
    auc = json.loads((out / "evaluation/evaluation.json").read_text())["binary_classification_metrics"]["auc"]["value"]
    assert auc > 0.85
    gates = json.loads((out / "gates/gates.json").read_text())
    assert gates["passed"] is True, gates["message"]


def test_jobs_install_only_into_their_own_environment(jobs, image: Path, job_env: Path) -> None:
    """The launcher's environment sees the image's packages; what it installs stays in it."""
    result = jobs("gate", "--help")
    assert "usage" in result.stdout
    modules = ("jinja2", "numpy", "xgboost")
    probe = f"import great_expectations, {', '.join(modules)}; print({', '.join(m + '.__version__' for m in modules)})"
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
def endpoint(image: Path, bundle_dir: Path, trained_in_image: Path, tmp_path_factory):
    """The model server started as the image starts it, with the model the training job wrote."""
    work = tmp_path_factory.mktemp("serving")
    python = image_env.image_copy(image, work / "image")
    base = work / "opt-ml"
    (base / "model").mkdir(parents=True)
    for file in trained_in_image.iterdir():
        (base / "model" / file.name).write_bytes(file.read_bytes())
    port = _free_port()
    env = image_env.clean_env(
        **image_env.NO_NETWORK,
        PATH=f"{python.parent}:{os.environ['PATH']}",
        PYTHONPATH=str(TESTS),  # tests/xgboost_serving.py, the image's WSGI app
        SAGEMAKER_BASE_DIR=str(base),
        SAGEMAKER_PROGRAM="serve.py",
        SAGEMAKER_SUBMIT_DIRECTORY=str(bundle_dir),
        SAGEMAKER_USE_NGINX="false",
        SAGEMAKER_BIND_TO_PORT=str(port),
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        OMP_NUM_THREADS="1",  # the image's serving default
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
            time.sleep(0.5)
        yield url, time.monotonic() - started, (work / "server.log")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        log.close()


def test_the_model_server_installs_offline_and_answers_ping(endpoint) -> None:
    url, _startup, log = endpoint
    assert _request(f"{url}/ping")[0] == 200
    text = log.read_text()
    # The image's own install step (`pip install . -r requirements.txt` in the code dir) ran, with
    # the package index off and no network, and installed the bundle alone.
    assert "Processing " in text and "Successfully installed serve-1.0.0" in text, text[-3000:]


def _rows(sample_path: Path, settings, count: int = 8) -> pd.DataFrame:
    rows = pd.read_csv(sample_path, dtype=str, keep_default_na=False).head(count)[settings.dataset.features].copy()
    rows.iloc[1, 0] = ""  # a blank numeric value
    rows.iloc[2, -1] = ""  # a blank category
    return rows


def test_the_endpoint_scores_json_and_headerless_csv(endpoint, trained_in_image, sample_path, settings) -> None:
    url = endpoint[0]
    rows = _rows(sample_path, settings)
    csv = rows.to_csv(header=False, index=False)
    # What this machine's Python scores for the same request, through the same handlers.
    expected = predict_fn(input_fn(csv, "text/csv"), TrainedModel.load(trained_in_image))
    csv_status, csv_body = _request(f"{url}/invocations", csv.encode(), "text/csv", "text/csv")
    assert csv_status == 200
    scores = [float(line) for line in csv_body.strip().splitlines()]
    assert len(scores) == len(rows)  # one score per row, as Clarify reads them
    assert scores == pytest.approx(list(expected), abs=1e-6)
    records = json.loads(rows.to_json(orient="records"))
    json_status, json_body = _request(
        f"{url}/invocations", json.dumps({"instances": records}).encode(), "application/json", "application/json"
    )
    assert json_status == 200
    predictions = json.loads(json_body)["predictions"]
    assert [p["score"] for p in predictions] == pytest.approx(list(expected), abs=1e-6)
