"""Baking the template: the exact files, fully rendered, lint clean, with the answers in place.

A matrix of answers turns every switch on and off at least once; each case is baked once and
checked by every test below.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import bake as bake_project
from helpers import clean_env, prepare_venv, run

# Every file a project has whatever the switches say. `{package}` is the package answer.
BASE = [
    ".github/README.md",
    ".github/workflows/deploy.yml",
    ".github/workflows/drift.yml",
    ".github/workflows/main.yml",
    ".github/workflows/promote.yml",
    ".github/workflows/pull-request-closed.yml",
    ".github/workflows/pull-request.yml",
    ".github/workflows/teardown.yml",
    ".github/workflows/template-update.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "Makefile",
    "README.md",
    "containers/README.md",
    "containers/images.yaml",
    "containers/jobs.in",
    "containers/jobs.lock",
    "containers/serving.in",
    "containers/serving.lock",
    "data/README.md",
    "data/sample/adult.csv",
    "data_checks/README.md",
    "data_checks/inference.json",
    "data_checks/training.json",
    "environments/README.md",
    "environments/prod.yaml",
    "environments/staging.yaml",
    "infra/README.md",
    "infra/bootstrap/artifacts.yaml",
    "infra/bootstrap/events.yaml",
    "infra/bootstrap/roles.yaml",
    "infra/endpoint.yaml",
    "project.yaml",
    "pyproject.toml",
    "src/{package}/__init__.py",
    "src/{package}/__main__.py",
    "src/{package}/checks.py",
    "src/{package}/cli.py",
    "src/{package}/cli_support.py",
    "src/{package}/context.py",
    "src/{package}/cpus.py",
    "src/{package}/data.py",
    "src/{package}/data_init/__init__.py",
    "src/{package}/data_init/changes.py",
    "src/{package}/data_init/feature_group.py",
    "src/{package}/data_init/plan.py",
    "src/{package}/data_init/profile.py",
    "src/{package}/data_init/project_yaml.py",
    "src/{package}/data_init/sample.py",
    "src/{package}/data_init/suites.py",
    "src/{package}/distributed.py",
    "src/{package}/errors.py",
    "src/{package}/explain.py",
    "src/{package}/gates.py",
    "src/{package}/local.py",
    "src/{package}/memory.py",
    "src/{package}/model.py",
    "src/{package}/output.py",
    "src/{package}/pipeline/__init__.py",
    "src/{package}/pipeline/bundle.py",
    "src/{package}/pipeline/definition.py",
    "src/{package}/pipeline/drops.py",
    "src/{package}/pipeline/executions.py",
    "src/{package}/pipeline/images.py",
    "src/{package}/pipeline/lineage.py",
    "src/{package}/pipeline/locks.py",
    "src/{package}/pipeline/offline.py",
    "src/{package}/pipeline/parameters.py",
    "src/{package}/pipeline/publish.py",
    "src/{package}/pipeline/render.py",
    "src/{package}/pipeline/shortcuts.py",
    "src/{package}/pipeline/wheels.py",
    "src/{package}/progress.py",
    "src/{package}/release/__init__.py",
    "src/{package}/release/accounts.py",
    "src/{package}/release/cli.py",
    "src/{package}/release/deployment.py",
    "src/{package}/release/environments.py",
    "src/{package}/release/predict.py",
    "src/{package}/release/promotion.py",
    "src/{package}/release/registry.py",
    "src/{package}/release/smoke.py",
    "src/{package}/release/stack.py",
    "src/{package}/report.py",
    "src/{package}/settings.py",
    "src/{package}/shard_checks.py",
    "src/{package}/shards.py",
    "src/{package}/steps/__init__.py",
    "src/{package}/steps/__main__.py",
    "src/{package}/steps/check_data.py",
    "src/{package}/steps/evaluate.py",
    "src/{package}/steps/gate.py",
    "src/{package}/steps/inference.py",
    "src/{package}/steps/preprocess.py",
    "src/{package}/steps/train.py",
    "src/{package}/transforms.py",
    "tests/conftest.py",
    "tests/image_env.py",
    "tests/in_process.py",
    "tests/job_runner.py",
    "tests/test_bad_input.py",
    "tests/test_checks.py",
    "tests/test_cli.py",
    "tests/test_containers.py",
    "tests/test_cpus.py",
    "tests/test_data.py",
    "tests/test_data_init.py",
    "tests/test_distributed.py",
    "tests/test_evaluate.py",
    "tests/test_explain.py",
    "tests/test_gates.py",
    "tests/test_infra.py",
    "tests/test_inference.py",
    "tests/test_lint.py",
    "tests/test_local_run.py",
    "tests/test_locks.py",
    "tests/test_memory.py",
    "tests/test_output.py",
    "tests/test_pipeline.py",
    "tests/test_pipeline_offline.py",
    "tests/test_pipeline_render.py",
    "tests/test_pipeline_steps.py",
    "tests/test_preprocess.py",
    "tests/test_problem_types.py",
    "tests/test_release.py",
    "tests/test_responsible_ai_flow.py",
    "tests/test_settings.py",
    "tests/test_shards.py",
    "tests/test_train.py",
    "tests/test_transforms.py",
    "tests/xgboost_serving.py",
]
# The files a switch adds when it is "yes" (hooks/post_gen_project.py removes them on "no").
WITH_FEATURE_STORE: list[str] = [
    "features/README.md",
    "features/census.yaml",
    "src/{package}/feature_store/__init__.py",
    "src/{package}/feature_store/cli.py",
    "src/{package}/feature_store/definition.py",
    "src/{package}/feature_store/ingest.py",
    "src/{package}/feature_store/offline.py",
    "src/{package}/feature_store/online.py",
    "src/{package}/feature_store/plan.py",
    "src/{package}/feature_store/records.py",
    "tests/featurestore_stub.py",
    "tests/test_feature_definitions.py",
    "tests/test_feature_store.py",
]
WITH_CLARIFY: list[str] = [
    "src/{package}/bias.py",
    "src/{package}/bias_facets.py",
    "src/{package}/bias_intervals.py",
    "src/{package}/pipeline/clarify.py",
    "tests/test_bias.py",
    "tests/test_bias_semantics.py",
]
OPTIONAL = {"use_feature_store": WITH_FEATURE_STORE, "use_clarify": WITH_CLARIFY}

# The default answers, as cookiecutter.json renders them.
DEFAULTS = {
    "project": "income-classifier",
    "package": "income_classifier",
    "description": "Predicts whether a person's income exceeds $50K from census data.",
    "author": "Your Name",
    "python_version": "3.11",
    "aws_region": "us-east-1",
    "aws_account_id": "123456789012",
    "staging_account_id": "123456789012",
    "prod_account_id": "123456789012",
    "github_owner": "your-github-org",
    "github_repo": "income-classifier",
    "model_package_group": "income-classifier",
    "problem_type": "binary",
    "use_feature_store": "yes",
    "use_clarify": "yes",
}
# Files whose text must contain an answer verbatim. Answers not rendered into any file yet
# have an empty list.
APPEARS_IN = {
    "project": ["README.md", "Makefile", "pyproject.toml"],
    "description": ["README.md"],
    "python_version": ["Makefile", "README.md"],
    "aws_region": ["README.md"],
    "aws_account_id": ["README.md"],
    "staging_account_id": ["README.md", "environments/staging.yaml"],
    "prod_account_id": ["README.md", "environments/prod.yaml"],
    "github_owner": ["README.md"],
    "github_repo": ["README.md"],
    "model_package_group": ["README.md"],
    "problem_type": ["README.md", "project.yaml"],
}


@dataclass
class Case:
    answers: dict[str, str]  # what is passed to cookiecutter
    derived: dict[str, str] = field(default_factory=dict)  # answers whose defaults follow from the given ones

    @property
    def expected(self) -> dict[str, str]:
        return {**DEFAULTS, **self.derived, **self.answers}


CASES = {
    "defaults": Case({}),
    "churn-model-py312-no-clarify-separate-accounts": Case(
        {
            "project": "churn-model",
            "python_version": "3.12",
            "problem_type": "multiclass",
            "use_clarify": "no",
            "staging_account_id": "210987654321",
            "prod_account_id": "345678901234",
        },
        derived={"package": "churn_model", "github_repo": "churn-model", "model_package_group": "churn-model"},
    ),
    "py313-no-feature-store-separate-accounts": Case(
        {
            "python_version": "3.13",
            "problem_type": "regression",
            "use_feature_store": "no",
            "aws_region": "eu-west-1",
            "aws_account_id": "111122223333",
            "staging_account_id": "444455556666",
            "prod_account_id": "777788889999",
        }
    ),
    "fraud-detector-no-switches-single-account": Case(
        {
            "project": "fraud-detector",
            "package": "fraud",
            "description": "Flags card payments that are likely fraudulent.",
            "author": "Risk ML Team",
            "use_feature_store": "no",
            "use_clarify": "no",
            "aws_account_id": "999988887777",
            "github_owner": "acme-ml",
            "github_repo": "fraud-detector-model",
            "model_package_group": "fraud-detector-models",
        },
        derived={"staging_account_id": "999988887777", "prod_account_id": "999988887777"},
    ),
}


def test_the_matrix_turns_every_switch_on_and_off():
    cases = [case.expected for case in CASES.values()]
    for key in ("use_feature_store", "use_clarify"):
        assert {case[key] for case in cases} == {"yes", "no"}, key
    single = [case["aws_account_id"] == case["staging_account_id"] == case["prod_account_id"] for case in cases]
    assert set(single) == {True, False}
    assert {case["project"] == DEFAULTS["project"] for case in cases} == {True, False}
    assert {case["python_version"] for case in cases} == {"3.11", "3.12", "3.13"}
    assert {case["problem_type"] for case in cases} == {"binary", "multiclass", "regression"}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def baked(request, tmp_path_factory, template) -> tuple[Path, dict[str, str]]:
    case = CASES[request.param]
    project = bake_project(template, tmp_path_factory.mktemp("bake"), **case.answers)
    return project, case.expected


def expected_tree(answers: dict[str, str]) -> list[str]:
    paths = list(BASE)
    for switch, files in OPTIONAL.items():
        if answers[switch] == "yes":
            paths += files
    return sorted(path.format(package=answers["package"]) for path in paths)


def generated_tree(project: Path) -> list[str]:
    return sorted(path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file())


def test_generates_exactly_the_expected_files(baked):
    project, answers = baked
    assert project.name == answers["project"]
    tree, expected = generated_tree(project), expected_tree(answers)
    difference = {"missing": sorted(set(expected) - set(tree)), "unexpected": sorted(set(tree) - set(expected))}
    assert difference == {"missing": [], "unexpected": []}
    assert tree == expected


def test_every_template_expression_is_rendered(baked):
    project, _ = baked
    leftovers = []
    for path in sorted(project.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        relative = path.relative_to(project).as_posix()
        if relative.startswith(".github/workflows/"):
            text = text.replace("${{", "")  # GitHub Actions expressions, not Jinja
        for number, line in enumerate(text.splitlines(), start=1):
            if "{{" in line or "{%" in line:
                leftovers.append(f"{relative}:{number}: {line.strip()}")
    assert leftovers == []


def test_generated_project_is_ruff_clean(baked):
    project, _ = baked
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)


def test_answers_appear_where_they_belong(baked):
    project, answers = baked
    package = answers["package"]
    assert (project / "src" / package / "__init__.py").is_file()

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == answers["project"]
    assert pyproject["project"]["description"] == answers["description"]
    assert pyproject["project"]["authors"] == [{"name": answers["author"]}]
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    assert pyproject["project"]["scripts"] == {answers["project"]: f"{package}.cli:main"}
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{package}"]
    assert (project / ".python-version").read_text().strip() == answers["python_version"]
    assert (project / "README.md").read_text().startswith(f"# {answers['project']}\n")

    for key, files in APPEARS_IN.items():
        for name in files:
            assert answers[key] in (project / name).read_text(), f"{key}={answers[key]!r} missing from {name}"


def test_project_yaml_is_valid_for_the_problem_type(baked):
    """The baked project.yaml passes the project's own settings validation, as the answered type."""
    project, answers = baked
    code = "from {0}.settings import load_settings; print(load_settings('project.yaml').dataset.problem_type)"
    result = run([sys.executable, "-c", code.format(answers["package"])], cwd=project, env=clean_env(PYTHONPATH="src"))
    assert result.stdout.strip() == answers["problem_type"]


def test_a_multiclass_project_runs_its_local_flow(template, tmp_path):
    """The non-binary path end to end once (the generated suites run the binary default): train,
    evaluate, bias on the favourable classes, explain and gate on the bundled sample."""
    project = bake_project(template, tmp_path, problem_type="multiclass", use_feature_store="no")
    prepare_venv(project)
    cli = project / ".venv" / "bin" / "income-classifier"
    result = run([cli, "local", "run", "--out", "build/local"], cwd=project, env=clean_env(OMP_NUM_THREADS="1"))
    evaluation = (project / "build" / "local" / "evaluation.json").read_text()
    assert "multiclass_classification_metrics" in evaluation
    assert "quality" in result.stdout + result.stderr
