"""Bad answers stop generation with one line per answer (which, why, an example) and leave
no half-made project behind.

Answers are given the way a user gives them without prompts: `cookiecutter TEMPLATE --no-input
key=value`. Choice answers (python_version, the yes/no switches) given that way are refused by
cookiecutter itself before the hook runs; a replay file (`cookiecutter --replay-file`) hands
them to the hook unchecked, so both paths are tested.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import bake as bake_project
from helpers import clean_env, run

MESSAGE = re.compile(r"^Invalid answer for '(?P<key>\w+)': (?P<rest>.+)$")
GOOD_ACCOUNT = "123456789012"
ELEVEN_DIGITS = "12345678901"


def case(answers, *keys, why, id):
    """answers to give; the keys expected to be refused (default: the one answer given); a
    fragment of the reason every refusal gives."""
    return pytest.param(answers, list(keys) or list(answers)[:1], why, id=id)


# Some answers need a valid companion: a bad project name would otherwise also make a bad
# derived package name, and each refusal is checked on its own.
CASES = [
    case({"project": "income--classifier"}, why="single dashes", id="project-double-dash"),
    case({"project": "Income", "package": "income"}, why="lowercase", id="project-uppercase"),
    case(
        {"project": "2-income", "package": "two_income"}, why="starting with a letter", id="project-starts-with-digit"
    ),
    case({"project": "census-income-classifier-model-v2"}, why="3 to 32 characters", id="project-too-long"),
    case({"project": "ml"}, why="3 to 32 characters", id="project-too-short"),
    case({"package": "class"}, why="Python identifier", id="package-keyword"),
    case({"package": "income-classifier"}, why="Python identifier", id="package-dash"),
    case({"package": "pandas"}, why="shadow", id="package-shadows-dependency"),
    case({"package": "json"}, why="shadow", id="package-shadows-stdlib"),
    case({"description": ""}, why="one non-empty line", id="description-empty"),
    case({"description": "   "}, why="one non-empty line", id="description-blank"),
    case({"description": "x" * 201}, why="at most 200", id="description-too-long"),
    case({"author": "Jane\nDoe"}, why="one non-empty line", id="author-multi-line"),
    case({"aws_region": "us-east"}, why="region", id="region-no-number"),
    case({"aws_region": "US-EAST-1"}, why="region", id="region-uppercase"),
    case({"aws_region": "us-iso-east-1"}, why="isolated region", id="region-isolated"),
    case(
        {"aws_account_id": ELEVEN_DIGITS, "staging_account_id": GOOD_ACCOUNT, "prod_account_id": GOOD_ACCOUNT},
        why="12 digits",
        id="aws-account-11-digits",
    ),
    case({"staging_account_id": ELEVEN_DIGITS}, why="12 digits", id="staging-account-11-digits"),
    case({"prod_account_id": ELEVEN_DIGITS}, why="12 digits", id="prod-account-11-digits"),
    case(
        {"aws_account_id": ELEVEN_DIGITS},
        "aws_account_id",
        "staging_account_id",
        "prod_account_id",
        why="12 digits",
        id="aws-account-11-digits-inherited-by-stages",
    ),
    case({"prod_account_id": "12345678901a"}, why="12 digits", id="prod-account-letter"),
    case({"github_owner": "-acme"}, why="dash", id="github-owner-leading-dash"),
    case({"github_owner": "acme_ml"}, why="letters, digits", id="github-owner-underscore"),
    case({"github_repo": "my repo"}, why="letters, digits", id="github-repo-space"),
    case({"github_repo": ".."}, why="letters, digits", id="github-repo-dotdot"),
    case(
        {"model_package_group": "income_classifier"},
        why="letters, digits or dashes",
        id="model-package-group-underscore",
    ),
    case(
        {"model_package_group": "income-"}, why="ending with a letter or digit", id="model-package-group-trailing-dash"
    ),
]
CHOICES = {
    "python_version": ["3.10", "3"],
    "problem_type": ["classification", ""],
    "use_feature_store": ["maybe", "true"],
    "use_clarify": ["y", ""],
}


def cookiecutter(template: Path, output_dir: Path, *args: str):
    return run(
        [sys.executable, "-m", "cookiecutter", template, "--output-dir", output_dir, *args],
        cwd=output_dir,
        env=clean_env(TMPDIR=tempfile.gettempdir()),  # the hooks' leftovers: see conftest.hook_scratch
        check=False,
    )


def refusals(stderr: str) -> dict[str, re.Match]:
    found = {}
    for line in stderr.splitlines():
        if match := MESSAGE.match(line):
            found[match["key"]] = match
    return found


def assert_refused(result, output_dir: Path, keys: list[str], values: dict[str, str], why: str) -> None:
    assert result.returncode != 0, result.stdout
    refused = refusals(result.stderr)
    assert sorted(refused) == sorted(keys), result.stderr
    for key in keys:
        line = refused[key].group(0)
        value, _, rest = refused[key]["rest"].partition(repr(values[key]) + " ")
        reason, _, example = rest.rpartition(". Example: ")
        assert value == "" and rest, f"the line must quote the answer {values[key]!r} first: {line}"
        assert why in reason, line
        assert example.strip(), f"the line must end with an example: {line}"
    assert list(output_dir.iterdir()) == [], "a refused project must leave nothing behind"


@pytest.mark.parametrize(("answers", "keys", "why"), CASES)
def test_bad_answer_is_refused_with_one_line(template, tmp_path, answers, keys, why):
    result = cookiecutter(template, tmp_path, "--no-input", *(f"{key}={value}" for key, value in answers.items()))
    values = dict(answers)
    if "aws_account_id" in answers:  # the stage accounts default to it
        values.setdefault("staging_account_id", answers["aws_account_id"])
        values.setdefault("prod_account_id", answers["aws_account_id"])
    assert_refused(result, tmp_path, keys, values, why)


@pytest.fixture(scope="module")
def good_replay(template, tmp_path_factory, cookiecutter_home) -> dict:
    """The replay cookiecutter saved for a successful bake with the default answers."""
    bake_project(template, tmp_path_factory.mktemp("good"))
    return json.loads((cookiecutter_home / "replay" / f"{template.name}.json").read_text())


@pytest.mark.parametrize(("key", "value"), [(key, value) for key, values in CHOICES.items() for value in values])
def test_bad_choice_is_refused_on_the_command_line(template, tmp_path, key, value):
    result = cookiecutter(template, tmp_path, "--no-input", f"{key}={value}")
    assert result.returncode != 0
    assert f"provided for choice variable {key}, but the choices are" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("key", "value"), [(key, value) for key, values in CHOICES.items() for value in values])
def test_bad_choice_in_a_replay_is_refused_by_the_hook(template, tmp_path, good_replay, key, value):
    replay = {"cookiecutter": {**good_replay["cookiecutter"], key: value}}
    replay_file = tmp_path / "answers.json"
    replay_file.write_text(json.dumps(replay))
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    result = cookiecutter(template, output_dir, "--replay-file", replay_file)
    why = "must be one of" if key in ("python_version", "problem_type") else "must be 'yes' or 'no'"
    assert_refused(result, output_dir, [key], {key: value}, why)


def test_default_answers_are_accepted(template, tmp_path):
    result = cookiecutter(template, tmp_path, "--no-input")
    assert result.returncode == 0, result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["income-classifier"]


REGIONS = ["us-east-1", "eu-central-2", "ap-southeast-5", "cn-north-1", "us-gov-west-1", "il-central-1"]
NOT_REGIONS = ["us-iso-east-1", "us-isob-east-1", "us-east", "US-EAST-1", "useast1", "us-east-10"]


def _pattern(text: str, name: str) -> str:
    """The raw-string regex assigned to `name` in a Python source file."""
    return re.search(rf'^{name} = (?:re\.compile\()?r"([^"]+)"', text, re.MULTILINE).group(1)


def test_the_hook_and_the_generated_settings_take_the_same_regions(template, tmp_path):
    # Before, the hook accepted isolated regions that every command of the baked project then refused.
    hook = _pattern((template / "hooks" / "pre_gen_project.py").read_text(), "REGION")
    project = bake_project(template, tmp_path)
    settings = _pattern((project / "src" / "income_classifier" / "settings.py").read_text(), "REGION")
    assert hook == settings
    assert all(re.match(hook, region) for region in REGIONS)
    assert not any(re.match(hook, region) for region in NOT_REGIONS)
