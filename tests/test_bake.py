"""Baking the template: the exact files, fully rendered, lint clean, with the answers in place.

A matrix of answers turns every switch on and off at least once; each case is baked once and
checked by every test below.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import bake as bake_project
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from helpers import TEMPLATE_ROOT, clean_env, prepare_venv, run

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
    ".cfnlintrc.yaml",
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
    "src/{package}/pipeline/README.md",
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
    "src/{package}/release/README.md",
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
    "src/{package}/steps/job_paths.py",
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
    "tests/test_inference.py",
    "tests/test_infra.py",
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

# Files whose text must contain an answer verbatim.
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

# -- the matrix of answers, generated from cookiecutter.json ------------------------------------

QUESTIONS = {key: value for key, value in json.loads((TEMPLATE_ROOT / "cookiecutter.json").read_text()).items()
             if not key.startswith("_")}  # fmt: skip
# The questions answered from a list (the first value is the default).
CHOICES = {key: values for key, values in QUESTIONS.items() if isinstance(values, list)}
# A value other than the default for every free-text question (a new question needs one here).
OTHER_TEXT = {
    "project": "churn-model",
    "package": "churn",
    "description": "Flags customers who are likely to cancel.",
    "author": "Risk ML Team",
    "aws_region": "eu-west-1",
    "aws_account_id": "111122223333",
    "staging_account_id": "444455556666",
    "prod_account_id": "777788889999",
    "github_owner": "acme-ml",
    "github_repo": "churn-model-repo",
    "model_package_group": "churn-models",
}
# How the free-text answers vary from case to case: all of them other than the defaults (twice:
# separate accounts, then one account for every stage), or only the project name (the rest derived).
TEXT_VARIANTS = [
    OTHER_TEXT,
    {key: value for key, value in OTHER_TEXT.items() if key not in ("staging_account_id", "prod_account_id")},
    {"project": OTHER_TEXT["project"]},
]
# Answers the S3 API or AWS's own tables spell out, not answers: (file, line fragment).
NOT_ANSWERS = {
    ("tests/conftest.py", 'if settings.aws.region == "us-east-1":'),  # CreateBucket takes no location there
    ("infra/endpoint.yaml", 'us-east-1: {Account: "'),  # the region -> image account table
}


def rendered(answers: dict[str, str]) -> dict[str, str]:
    """Every answer as cookiecutter renders it from these (defaults and derived ones for the rest)."""
    context = generate_context(str(TEMPLATE_ROOT / "cookiecutter.json"), extra_context=answers)
    return {key: value for key, value in prompt_for_config(context, no_input=True).items() if key in QUESTIONS}


def hook_problems(answers: dict[str, str]) -> list[tuple[str, str, str]]:
    """What the template's pre-generation hook refuses in these rendered answers."""
    source = (TEMPLATE_ROOT / "hooks" / "pre_gen_project.py").read_text()
    namespace: dict = {"__name__": "pre_gen_project"}
    exec(compile(source.replace("{{ cookiecutter | tojson }}", "{}"), "pre_gen_project.py", "exec"), namespace)
    return list(namespace["problems"](answers))


def generated_cases() -> dict[str, dict[str, str]]:
    """The default answers, then one case per position in the longest choice list: question j
    takes its value at (case + j) modulo its length, so every choice value is baked at least once
    and the switches differ between cases; the free-text answers follow TEXT_VARIANTS. A
    combination the hook refuses is left out (the validity filter)."""
    cases = {"defaults": {}}
    width = max(map(len, CHOICES.values()))
    for number in range(width):
        answers = {key: values[(number + j) % len(values)] for j, (key, values) in enumerate(CHOICES.items())}
        answers |= TEXT_VARIANTS[number % len(TEXT_VARIANTS)]
        if hook_problems(rendered(answers)):
            continue
        name = "-".join([answers["project"], f"py{answers['python_version']}", answers["problem_type"]] + [
            key.removeprefix("use_").replace("_", "-") for key in CHOICES if CHOICES[key] == ["yes", "no"] and answers[key] == "yes"
        ])  # fmt: skip
        cases[name] = answers
    return cases


CASES = generated_cases()
DEFAULTS = rendered({})


def test_the_matrix_bakes_every_choice_and_varies_every_answer():
    cases = [rendered(answers) for answers in CASES.values()]
    for key, values in CHOICES.items():
        assert {case[key] for case in cases} == set(values), key
    assert set(OTHER_TEXT) == set(QUESTIONS) - set(CHOICES), "give each free-text question a value in OTHER_TEXT"
    for key in OTHER_TEXT:
        assert {case[key] == DEFAULTS[key] for case in cases} == {True, False}, key
    single = [case["aws_account_id"] == case["staging_account_id"] == case["prod_account_id"] for case in cases]
    assert set(single) == {True, False}
    assert all(hook_problems(case) == [] for case in cases)


def test_the_validity_filter_is_the_hook():
    assert hook_problems(rendered({"project": "Bad Name"}))[0][0] == "project"
    assert hook_problems(DEFAULTS) == []


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def baked(request, tmp_path_factory, template) -> tuple[Path, dict[str, str]]:
    answers = CASES[request.param]
    project = bake_project(template, tmp_path_factory.mktemp("bake"), **answers)
    return project, rendered(answers)


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



def test_no_default_answer_is_left_where_another_was_given(baked):
    """An answer other than its default leaves no trace of the default anywhere in the tree,
    tests and docs included (a hard-coded "income-classifier" or "123456789012" would)."""
    project, answers = baked
    replaced = {DEFAULTS[key] for key in OTHER_TEXT if answers[key] != DEFAULTS[key]}
    leaks = []
    for path in sorted(project.rglob("*")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        except UnicodeDecodeError:
            continue  # binary
        relative = path.relative_to(project).as_posix()
        for number, line in enumerate(lines, start=1):
            if any(default in line for default in replaced) and not any(
                relative == where and fragment in line for where, fragment in NOT_ANSWERS
            ):
                leaks.append(f"{relative}:{number}: {line.strip()}")
    assert leaks == []

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



def test_every_extension_point_is_in_the_readmes_where_to_change_what(baked):
    """The code's `# Extension point` comments and the README table that points at them agree."""
    project, _ = baked
    table = (project / "README.md").read_text().split("\n## Where to change what\n", 1)[1].split("\n## ", 1)[0]
    listed = sorted(set(re.findall(r"`(src/[^`]+\.py)`", table)))
    marked = sorted(
        path.relative_to(project).as_posix()
        for path in (project / "src").rglob("*.py")
        if "# Extension point" in path.read_text(encoding="utf-8")
    )
    assert marked == listed


@pytest.mark.parametrize("folder", ["pipeline", "release"])
def test_the_folder_readme_lists_exactly_its_modules(baked, folder):
    project, answers = baked
    path = project / "src" / answers["package"] / folder
    listed = set(re.findall(r"`(\w+\.py)`", (path / "README.md").read_text()))
    assert listed == {module.name for module in path.glob("*.py")} - {"__init__.py"}

def test_project_yaml_is_valid_for_the_problem_type(baked):
    """The baked project.yaml passes the project's own settings validation, as the answered type."""
    project, answers = baked
    code = "from {0}.settings import load_settings; print(load_settings('project.yaml').dataset.problem_type)"
    result = run([sys.executable, "-c", code.format(answers["package"])], cwd=project, env=clean_env(PYTHONPATH="src"))
    assert result.stdout.strip() == answers["problem_type"]



def test_the_inference_suite_checks_the_problem_types_features_and_not_its_label(baked):
    """Each problem type predicts another column of the same sample, so the inference suite (a
    payload to score) changes with the answer; before, every type shipped the binary one."""
    project, _ = baked
    dataset = yaml.safe_load((project / "project.yaml").read_text())["dataset"]
    suite = json.loads((project / "data_checks" / "inference.json").read_text())
    [columns] = [e["kwargs"]["column_set"] for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set"]
    checked = {e["kwargs"]["column"] for e in suite["expectations"] if "column" in e["kwargs"]}
    features = dataset["numeric_features"] + dataset["categorical_features"]
    assert sorted(columns) == sorted(checked) == sorted(features)

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
