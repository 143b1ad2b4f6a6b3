"""The offline build's speed and its one resolver of SDK-chosen URIs.

Each shortcut (pipeline/shortcuts.py) swaps a library function the SDK calls hundreds of times per
build. These tests fail loudly when an upgrade of the SDK, jsonschema or botocore makes one stop
applying (the build would quietly take tens of seconds again) or changes what it answers, and when
the build starts importing the model's libraries, which it does not use.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import boto3
import botocore.loaders
import botocore.session
import jsonschema
import pytest

from {{ cookiecutter.package }}.pipeline import shortcuts
from {{ cookiecutter.package }}.pipeline.definition import build
from {{ cookiecutter.package }}.pipeline.offline import sdk_environment

BAD_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": "yes"}}}}


def sdk_config_schema(region: str) -> dict:
    with sdk_environment(region):  # the SDK reads its environment at import time
        from sagemaker.core.config.config_schema import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA

    return SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA


class Counted(NamedTuple):
    schema: dict
    checks: list  # the schemas checked during the first build
    decoded: collections.Counter  # botocore data file -> decodes during the first build
    built: object
    checks_again: list  # ... during a second build in the same process
    decoded_again: collections.Counter  # ... during a second build in the same process
    local_sessions: int  # local-mode sessions the two builds made


@pytest.fixture(scope="module")
def counted(settings, project_root) -> Counted:
    """One build with its schema checks and botocore's JSON decodes counted (as the first of its
    process: the shared loaders and checked schemas emptied), then those of a second build."""
    schema = sdk_config_schema(settings.aws.region)
    validator = jsonschema.validators.validator_for(schema)
    check_schema, load_file = validator.check_schema, botocore.loaders.JSONFileLoader.load_file
    checks, decoded = [], collections.Counter()
    with sdk_environment(settings.aws.region):
        from sagemaker.core.local.local_session import LocalSession
    local_session, local_sessions = LocalSession.__init__, []

    def counting_session(self, *args, **kwargs):
        local_sessions.append(self)
        return local_session(self, *args, **kwargs)

    def counting_check(checked, *args, **kwargs):
        checks.append(checked)
        return check_schema(checked, *args, **kwargs)

    def counting_load(self, file_path):
        data = load_file(self, file_path)
        if data is not None:
            decoded["/".join(Path(file_path).parts[-3:])] += 1
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validator, "check_schema", staticmethod(counting_check))
        patch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting_load)
        patch.setattr(LocalSession, "__init__", counting_session)
        patch.setattr(shortcuts, "_LOADERS", {})
        patch.setattr(shortcuts, "_CHECKED", {})
        built = build(settings, root=project_root)
        first_checks, first_decoded = list(checks), collections.Counter(decoded)
        checks.clear()
        decoded.clear()
        build(settings, root=project_root)
    return Counted(schema, first_checks, first_decoded, built, checks, decoded, len(local_sessions))


def test_the_sdk_config_schema_is_checked_once_per_process(counted):
    schema, checks = counted.schema, counted.checks
    # Many: the shortcut no longer applies (the SDK no longer calls jsonschema.validate at call
    # time). None: the SDK no longer validates its config, and the shortcut can go.
    assert [checked is schema for checked in checks] == [True]
    assert counted.checks_again == []  # a second build in the same process checks it no more


def test_each_botocore_data_file_is_decoded_once_per_process(counted):
    decoded, again = counted.decoded, counted.decoded_again
    # The SDK's workflow properties read the SageMaker model with a loader of their own at import.
    assert decoded.pop("sagemaker/2017-07-24/service-2", 1) <= 2
    assert decoded.pop("botocore/data/endpoints") == 1  # read by every session and image URI lookup
    assert set(decoded.values()) == {1}, decoded
    assert not again, again  # a second build in the same process decodes nothing


def test_a_build_makes_no_local_mode_session(counted):
    # The processing steps read a method name from a local-mode client, which would make a session
    # of its own each time (S3 clients, the SDK config read twice): about 40 % of a build.
    assert counted.local_sessions == 0


def test_a_config_that_does_not_match_is_refused_as_without_the_shortcut(settings, monkeypatch):
    schema = sdk_config_schema(settings.aws.region)
    with pytest.raises(jsonschema.ValidationError) as plain:
        jsonschema.validate(BAD_CONFIG, schema)
    monkeypatch.setattr(shortcuts, "_CHECKED", {})  # as in a process that has not checked it yet
    with sdk_environment(settings.aws.region):
        from sagemaker.core.config.config import validate_sagemaker_config

        for _ in range(2):  # the schema check, then the shortcut
            with pytest.raises(jsonschema.ValidationError) as shortcut:
                validate_sagemaker_config(BAD_CONFIG)
            assert str(shortcut.value) == str(plain.value)


def test_the_shortcuts_apply_during_the_build_only(settings):
    def loader(session):
        return session._session.get_component("data_loader")

    with sdk_environment(settings.aws.region):
        from sagemaker.core.local.local_session import LocalSagemakerClient
        from sagemaker.mlops.workflow import steps

        inside = loader(boto3.Session()), loader(boto3.Session()), botocore.loaders.create_loader()
        assert inside[0] is inside[1] is inside[2]  # sessions share one data loader
        assert steps.LocalSagemakerClient is not LocalSagemakerClient
    assert loader(boto3.Session()) is not loader(boto3.Session())
    assert botocore.session.create_loader is botocore.loaders.create_loader
    assert jsonschema.validate.__module__ == "jsonschema.validators"
    assert steps.LocalSagemakerClient is LocalSagemakerClient


def test_every_uri_the_definition_names_in_the_bucket_is_shipped(counted, settings):
    """SDK-chosen URIs (with a time and a random part) are resolved to their staged uploads."""
    built = counted.built
    base = f"s3://{built.bucket}/"
    shipped = [f"{base}{key}" for key in built.uploads] + [f"{base}{built.wheels_prefix}"]

    def strings(node):
        if isinstance(node, dict):
            return [text for value in node.values() for text in strings(value)]
        if isinstance(node, list):
            return [text for value in node for text in strings(value)]
        return [node] if isinstance(node, str) else []

    named = {text for text in strings(built.parsed) if text.startswith(f"{base}{settings.aws.prefix}/")}
    assert named
    for uri in sorted(named):
        assert any(key == uri or key.startswith(f"{uri}/") for key in shipped), uri


def test_the_build_imports_none_of_the_model_libraries(project_root):
    """Seconds of imports it does not use: bias_facets.py names Clarify's columns without bias.py."""
    script = (
        "import sys; from pathlib import Path\n"
        "from {{ cookiecutter.package }}.pipeline.definition import build\n"
        "from {{ cookiecutter.package }}.settings import load_settings\n"
        "build(load_settings(Path('project.yaml')))\n"
        "print(' '.join(sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=project_root, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    loaded = set(run.stdout.split())
    assert not loaded & {"xgboost", "sklearn", "scipy.stats", "smclarify", "shap", "great_expectations", "altair"}
