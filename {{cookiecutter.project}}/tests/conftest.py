"""Shared fixtures: the project's own settings and sample, one model trained, one local run and one
offline pipeline build per session, one moto server per session; and how `make test` spreads the
tests over the CPUs.

`make test` runs a pytest-xdist worker per CPU. A session fixture is made once per worker that
needs it, so the modules sharing an expensive fixture (SHARED) each run whole on one worker, the
costliest first; xdist hands out every other test one at a time.
"""

from __future__ import annotations

import gc
import os
import socket
from contextlib import contextmanager

# Set before xgboost is first imported, and inherited by every command a test starts: one OpenMP
# thread per process. The workers are the parallelism; results do not depend on the thread count,
# but XGBoost's threads on a busy core (a neighbour worker) make training 10-50x slower.
os.environ["OMP_NUM_THREADS"] = "1"

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from {{ cookiecutter.package }}.pipeline.shortcuts import one_data_loader
from {{ cookiecutter.package }}.settings import Dataset, Settings, load_settings

# pandas and the model code are imported in the fixtures that use them: pytest-xdist's controller
# loads this file too, runs no test, and starts the workers only once it has (2 s sooner).
if TYPE_CHECKING:
    import pandas as pd

    from {{ cookiecutter.package }}.steps.train import TrainingResult

ROOT = Path(__file__).resolve().parents[1]
# Modules whose tests share a fixture too costly to make twice -> the group that runs on one worker,
# costliest first: the pipeline's jobs in the image, the local runs (conftest.local_run and the
# modules' own), the training instances, test_output's held run, the pipeline builds
# (conftest.pipeline_build, the offline module's counted one), checkov's one run.
SHARED = {
    "test_containers.py": "containers",
    "test_local_run.py": "local-run",
    "test_responsible_ai_flow.py": "local-run",
    "test_distributed.py": "distributed",
    "test_output.py": "output",
    "test_bias.py": "bias",
    "test_bias_semantics.py": "bias-semantics",
    "test_pipeline.py": "pipeline",
    "test_pipeline_render.py": "pipeline",
    "test_pipeline_offline.py": "pipeline-offline",
    "test_bad_input.py": "bad-input",
    "test_infra.py": "infra",
}
ORDER = list(dict.fromkeys(SHARED.values()))


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, capped by a cgroup v2 CPU quota (a
    container's `--cpus`), not the host's count."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="utf-8").split()
        if quota != "max":
            count = min(count, int(quota) // int(period))
    except (OSError, ValueError):
        pass
    return max(count, 1)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hooks
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker per usable CPU (PYTEST_XDIST_AUTO_NUM_WORKERS sets another count)."""
    return int(os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or usable_cpus())


def _group(nodeid: str) -> str | None:
    return SHARED.get(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` with SHARED's groups. (Its xdist_group marks are lost under pytest 9.2,
    which no longer reads the node ids xdist rewrites: pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtures(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid) or nodeid  # a group runs whole on one worker; the rest test by test

    return SharedFixtures(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """SHARED's groups first, in its order (xdist hands out work in collection order with
    `--no-loadscope-reorder`), so no worker is left alone at the end with a long one."""
    rank = {group: position for position, group in enumerate(ORDER)}
    items.sort(key=lambda item: rank.get(_group(item.nodeid), len(rank)))


def pytest_collection_finish(session: pytest.Session) -> None:
    """A worker holds about a million objects (the SageMaker SDK, moto, Great Expectations, the
    fixtures) and makes millions more: frozen after collection, and with full collections after
    1,000 younger ones (the package sets 100), the collector stops walking them several seconds a
    worker. Young garbage is still collected; what reaches the oldest generation mostly stays until
    the worker ends with the run (a worker peaks about 0.4 GB higher: 1.3 GB)."""
    gc.freeze()
    gc.set_threshold(*gc.get_threshold()[:2], 1000)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """pytest ends a session with a full collection, to report exceptions raised while freeing
    garbage; in a worker that walk took 2 to 3 s, at the end of the run, on both workers at once.
    Frozen first, it walks nothing. (Each test's own unraisable exceptions are still reported.)"""
    gc.freeze()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def settings_path() -> Path:
    return ROOT / "project.yaml"


@pytest.fixture(scope="session")
def sample_path(settings: Settings) -> Path:
    """project.yaml's dataset.sample: the one setting that names the bundled sample."""
    return ROOT / settings.dataset.sample


@pytest.fixture(scope="session")
def suites_dir() -> Path:
    return ROOT / "data_checks"


@pytest.fixture(scope="session")
def settings(settings_path: Path) -> Settings:
    return load_settings(settings_path)


@pytest.fixture
def raw_settings(settings_path: Path) -> dict:
    """The real project.yaml as a plain mapping, fresh for each test to derive a variant from."""
    return yaml.safe_load(settings_path.read_text(encoding="utf-8"))


@pytest.fixture
def write_settings(tmp_path: Path):
    """Writes a settings mapping (or raw text) to tmp_path/project.yaml and returns the path."""

    def write(content: dict | str) -> Path:
        path = tmp_path / "project.yaml"
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def _sample(sample_path: Path, settings: Settings) -> pd.DataFrame:
    from {{ cookiecutter.package }}.data import generated_ids, read_dataset

    return generated_ids(read_dataset(sample_path, settings.dataset), settings.dataset, str(sample_path))


@pytest.fixture
def sample(_sample: pd.DataFrame) -> pd.DataFrame:
    """The bundled sample as the steps read it; a fresh copy, so a test may change it."""
    return _sample.copy()


@pytest.fixture
def tiny_dataset() -> Dataset:
    """tiny_frame's schema (the Adult census columns): a fixture of the tests' own, whatever data
    project.yaml describes."""
    return Dataset(
        sample=Path("tiny.csv"),
        label="income",
        classes=["<=50K", ">50K"],
        positive_label=">50K",
        numeric_features=["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"],
        categorical_features=[
            "workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country"
        ],
    )  # fmt: skip


@pytest.fixture
def tiny_frame() -> pd.DataFrame:
    """Four hand-written rows in tiny_dataset's schema, with the messy values real files have."""
    import pandas as pd

    return pd.DataFrame(
        {
            "record_id": [1, 2, 3, 4],
            "event_time": ["2024-01-01T00:00:00Z"] * 4,
            "age": ["39", " 50", "?", " "],
            "workclass": ["State-gov", " Self-emp-not-inc ", "?", ""],
            "fnlwgt": [77516, 83311, 215646, 234721],
            "education": ["Bachelors", "Bachelors", "HS-grad", "11th"],
            "education_num": [13, 13, 9, 7],
            "marital_status": ["Never-married", "Married-civ-spouse", "Divorced", "Married-civ-spouse"],
            "occupation": ["Adm-clerical", "Exec-managerial", "Handlers-cleaners", "?"],
            "relationship": ["Not-in-family", "Husband", "Not-in-family", "Husband"],
            "race": ["White", "White", "White", "Black"],
            "sex": ["Male", "Male", "Male", "Male"],
            "capital_gain": [2174, 0, 0, 0],
            "capital_loss": [0, 0, 0, 0],
            "hours_per_week": [40, 13, 40, 40],
            "native_country": ["United-States", "United-States", "United-States", "United-States"],
            "income": ["<=50K", ">50K", " >50K ", ""],
        }
    )


@pytest.fixture(scope="session")
def splits(_sample: pd.DataFrame, settings: Settings) -> dict[str, pd.DataFrame]:
    """Train, validation and test splits of the sample (shared: copy before changing one)."""
    from {{ cookiecutter.package }}.steps.preprocess import split_dataset

    return split_dataset(_sample, settings.dataset, settings.split)


@pytest.fixture(scope="session")
def trained(splits: dict[str, pd.DataFrame], settings: Settings) -> TrainingResult:
    """The project's model trained once on the sample with the project's hyperparameters."""
    from {{ cookiecutter.package }}.steps.train import train

    return train(splits["train"], splits["validation"], settings.dataset, settings.model.hyperparameters)


@pytest.fixture(scope="session")
def model_dir(trained: TrainingResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model saved as the training job writes it to SM_MODEL_DIR."""
    directory = tmp_path_factory.mktemp("model")
    trained.model.save(directory)
    return directory


@pytest.fixture(scope="session")
def evaluation(trained: TrainingResult, splits: dict[str, pd.DataFrame], settings: Settings) -> dict:
    from {{ cookiecutter.package }}.steps.evaluate import evaluate

    return evaluate(trained.model, splits["test"], settings.dataset)


@pytest.fixture(scope="session")
def splits_dir(splits: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The splits written as the preprocess job writes them: one folder per split."""
    from {{ cookiecutter.package }}.steps.preprocess import write_splits

    directory = tmp_path_factory.mktemp("splits")
    write_splits(splits, directory)
    return directory


@pytest.fixture(scope="session")
def local_run(settings: Settings, sample_path: Path, suites_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One local run of the project as configured, on the sample, and its progress lines: for the
    tests that only read what a passing run writes (never change it)."""
    from {{ cookiecutter.package }}.local import run_local

    lines: list[str] = []
    out = tmp_path_factory.mktemp("local") / "run"
    return run_local(settings, data=sample_path, out=out, suites=suites_dir, echo=lines.append), lines


@contextmanager
def no_network():
    """Any socket connection fails the test, and there are no credentials to sign requests with."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network used during the pipeline build: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture
def offline():
    """The test runs with no network and no AWS credentials, as `pipeline build` must."""
    with no_network():
        yield


@pytest.fixture(scope="session")
def pipeline_build(settings: Settings, project_root: Path):
    """The project's pipeline built once, offline: for the tests that read its definition (`.parsed`,
    shared: copy before changing it) or its uploads."""
    from {{ cookiecutter.package }}.pipeline.definition import build

    with no_network():
        return build(settings, root=project_root)


@pytest.fixture(scope="session")
def wheel_dir(project_root: Path) -> Path:
    """The wheels `pipeline upsert` ships, downloaded once per machine for these requirements
    (under image_env.CACHE): the container tests install from them, upsert's test ships them."""
    import image_env
    from {{ cookiecutter.package }}.pipeline import wheels
    from {{ cookiecutter.package }}.pipeline.bundle import job_requirements
    from {{ cookiecutter.package }}.pipeline.images import load_images

    image = load_images(project_root)["xgboost"]
    requirements = job_requirements(project_root, image)
    folder = image_env.CACHE / "wheels" / wheels.wheels_digest(requirements)
    with image_env.locked(folder.with_name(f"{folder.name}.lock")):  # both workers may ask at once
        wheels.download(requirements, image, folder)
    return folder


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server on 127.0.0.1 standing in for AWS; code under test reaches it only through
    AWS_ENDPOINT_URL, exactly as it would reach AWS."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (taken, then let go): connections are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def aws(moto_endpoint, monkeypatch, settings):
    """Environment pointing boto3 at the moto server, with the project's bucket created. Its
    sessions share botocore's decoded API models, as every pipeline build's do (one_data_loader):
    a test's fresh session would otherwise decode SageMaker's 3 MB model again."""
    import boto3
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)  # every test starts from an empty account
    _keep_unchanged_metadata(monkeypatch)
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": settings.aws.region,
    }.items():
        monkeypatch.setenv(name, value)
    with one_data_loader():
        s3 = boto3.client("s3", region_name=settings.aws.region)
        if settings.aws.region == "us-east-1":
            s3.create_bucket(Bucket=settings.aws.bucket)
        else:
            s3.create_bucket(
                Bucket=settings.aws.bucket, CreateBucketConfiguration={"LocationConstraint": settings.aws.region}
            )
        yield settings.aws


@pytest.fixture
def boto_session(monkeypatch, settings):
    """boto3's default session for one test, so fixtures can watch or answer the calls of every
    client the code under test creates (test credentials; reset afterwards)."""
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with one_data_loader():  # as in `aws`
        boto3.setup_default_session(region_name=settings.aws.region)
        yield boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def moto_environments(tmp_path: Path, project_root: Path) -> Path:
    """Copies of environments/*.yaml whose stages run in moto's account, where the test credentials
    sign in (moto cannot share a registry across accounts); tmp_path/environments."""
    import re

    from moto.core import DEFAULT_ACCOUNT_ID

    directory = tmp_path / "environments"
    directory.mkdir(exist_ok=True)
    for source in sorted((project_root / "environments").glob("*.yaml")):
        text = re.sub(r"(?m)^account: .*$", f'account: "{DEFAULT_ACCOUNT_ID}"', source.read_text(encoding="utf-8"))
        (directory / source.name).write_text(text, encoding="utf-8")
    return directory


class Endpoint:
    """A live endpoint as moto serves it (moto answers every InvokeEndpoint from a queue)."""

    def __init__(self, moto_endpoint: str, region: str) -> None:
        self.url, self.region = f"{moto_endpoint}/moto-api/static/sagemaker/endpoint-results", region
        self.requests: list[dict] = []  # each InvokeEndpoint request, as the code sent it

    def answer(self, body: str, content_type: str = "application/json", times: int = 1) -> None:
        """Queue what the next new request(s) get back; a repeated request gets its first answer."""
        import requests

        results = [{"Body": body, "ContentType": content_type}] * times
        requests.post(self.url, json={"region": self.region, "results": results}, timeout=10)


@pytest.fixture
def endpoint(aws, moto_endpoint, boto_session) -> Endpoint:
    """The endpoint, with its requests taken at the boto3 client boundary before moto sees them."""
    watched = Endpoint(moto_endpoint, aws.region)
    boto_session.events.register(
        "before-parameter-build.sagemaker-runtime.InvokeEndpoint", lambda params, **_: watched.requests.append(params)
    )
    return watched


def _keep_unchanged_metadata(monkeypatch) -> None:
    """moto 5.2.5's UpdateModelPackage drops CustomerMetadataProperties (the lineage) and the
    approval description when a request leaves them out; AWS keeps them. Only moto is patched."""
    from moto.sagemaker.models import SageMakerModelBackend

    update = SageMakerModelBackend.update_model_package

    def keeping(self, model_package_arn, model_approval_status, approval_description, customer_metadata_properties,
                *args, **kwargs):  # fmt: skip
        package = self.model_packages.get(self.model_package_name_mapping.get(model_package_arn, model_package_arn))
        if package is not None:
            customer_metadata_properties = customer_metadata_properties or package.customer_metadata_properties
            approval_description = approval_description or package.approval_description
        return update(self, model_package_arn, model_approval_status, approval_description,
                      customer_metadata_properties, *args, **kwargs)  # fmt: skip

    monkeypatch.setattr(SageMakerModelBackend, "update_model_package", keeping)
