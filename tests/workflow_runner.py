"""Runs a GitHub Actions workflow's jobs on this machine, for tests/test_workflow_harness.py.

Each job's `run:` steps execute in order with bash, in a checkout of the baked project, with
the environment GitHub would give them: the event, `vars`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
job and step `env:`, `if:` conditions, `needs` outputs and results, and matrix entries. `uses:`
steps are replaced by their local equivalents (see USES). Expressions are the small subset the
generated workflows use: property paths, string literals, ==, !=, &&, ||, !, the status
functions and fromJSON (a matrix may be one); anything else fails loudly instead of being guessed.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
ALLOWED = re.compile(r"^(?:\s|[A-Za-z_][\w-]*(?:\.[\w-]+)*(?:\(\))?|'[^']*'|==|!=|&&|\|\||!|\(|\))*$")


class Context(dict):
    """An expression context: missing properties are '' (GitHub's null compares like that)."""

    def __getattr__(self, name: str):
        value = self.get(name.replace("-", "_"), self.get(name, ""))
        return Context(value) if isinstance(value, dict) else value


def evaluate(expression: str, contexts: dict, status: dict):
    if not ALLOWED.match(expression):
        raise ValueError(f"expression outside the supported subset: {expression}")
    python = re.sub(r"!(?!=)", " not ", expression).replace("&&", " and ").replace("||", " or ")
    # Property paths may hold dashes (job ids): read them as attribute lookups with underscores.
    python = re.sub(r"(?<=\.)([\w]+(?:-[\w]+)+)", lambda m: m.group(1).replace("-", "_"), python)
    names = {key: Context(value) if isinstance(value, dict) else value for key, value in contexts.items()}
    names |= {
        "success": lambda: status["success"],
        "failure": lambda: not status["success"],
        "cancelled": lambda: False,
        "always": lambda: True,
        "fromJSON": json.loads,
    }
    return eval(python, {"__builtins__": {}}, names)  # the subset above only: paths, literals, operators


def interpolate(text, contexts: dict, status: dict):
    if not isinstance(text, str):
        return text
    whole = EXPRESSION.fullmatch(text.strip())
    if whole:
        value = evaluate(whole.group(1), contexts, status)
        return "" if value is None else value
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), contexts, status)), text)


def condition(text, contexts: dict, status: dict) -> bool:
    if text is None:
        return status["success"]
    expression = EXPRESSION.fullmatch(str(text).strip())
    value = evaluate(expression.group(1) if expression else str(text), contexts, status)
    return bool(value)


@dataclass
class JobResult:
    name: str
    result: str  # success, failure or skipped
    outputs: dict = field(default_factory=dict)
    log: str = ""


@dataclass
class Runner:
    """Runs jobs in `repo` (a git working copy with a prepared .venv)."""

    repo: Path
    base_env: dict
    aws_env: dict  # what configure-aws-credentials would export (endpoint, dummy keys)
    artifacts: Path
    summaries: list = field(default_factory=list)

    def run_workflow(
        self, path: Path, event: dict, variables: dict, inputs: dict | None = None, skip: tuple[str, ...] = ()
    ) -> dict:
        """Run every job (in `needs` order); jobs named in `skip` count as succeeded without running
        (the caller ran the same job on the same tree already)."""
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        github = {
            "repository": event["repository"],
            "sha": event["sha"],
            "ref": event.get("ref", "refs/heads/main"),
            "event_name": event["name"],
            "event": event.get("payload", {}),
            "token": "harness-token",
        }
        results: dict[str, JobResult] = {}
        for name, job in _in_order(workflow["jobs"]):
            if name in skip:
                results[name] = JobResult(name, "success", log="(not run again)")
                continue
            results[name] = self._run_job(workflow, name, job, github, variables, inputs or {}, results)
        return results

    def _run_job(self, workflow, name, job, github, variables, inputs, results) -> JobResult:
        needs = [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])
        needs_context = {n: {"result": results[n].result, "outputs": results[n].outputs} for n in needs}
        contexts = {"github": github, "vars": variables, "inputs": inputs, "needs": needs_context, "secrets": {}}
        dependencies_ok = all(results[n].result == "success" for n in needs)
        uses_status = "if" in job and re.search(r"\b(always|cancelled|failure|success)\(\)", str(job["if"]))
        if not dependencies_ok and not uses_status:
            return JobResult(name, "skipped")
        if not condition(job.get("if"), {**contexts, "env": {}}, {"success": dependencies_ok}):
            return JobResult(name, "skipped")
        outcome = "success"
        outputs: dict = {}
        logs = []
        expand = functools.partial(interpolate, contexts={**contexts, "env": {}}, status={"success": True})
        for entry in _matrix_entries(job, expand):
            matrix = {key: expand(value) for key, value in entry.items()}
            result = self._run_steps(workflow, job, {**contexts, "matrix": matrix})
            logs.append(result.log)
            outputs |= result.outputs
            if result.result != "success":
                outcome = "failure"
        return JobResult(name, outcome, outputs, "\n".join(logs))

    def _run_steps(self, workflow, job, contexts) -> JobResult:
        status = {"success": True}
        sha = contexts["github"]["sha"]
        _git(self.repo, "checkout", "--quiet", "--force", "--detach", sha)
        _git(self.repo, "clean", "--quiet", "-fdx", "-e", ".venv")
        env = dict(self.base_env)
        env |= {key: str(interpolate(v, {**contexts, "env": env}, status)) for key, v in (workflow.get("env") or {}).items()}
        env |= {key: str(interpolate(v, {**contexts, "env": env}, status)) for key, v in (job.get("env") or {}).items()}
        env |= {"GITHUB_SHA": sha, "GITHUB_REPOSITORY": contexts["github"]["repository"],
                "GITHUB_REF": contexts["github"]["ref"], "GITHUB_EVENT_NAME": contexts["github"]["event_name"]}  # fmt: skip
        steps: dict = {}
        log = []
        for number, step in enumerate(job["steps"]):
            step_contexts = {**contexts, "env": env, "steps": steps}
            if not condition(step.get("if"), step_contexts, status):
                steps[step.get("id", f"step{number}")] = {"outcome": "skipped", "outputs": {}}
                continue
            step_env = env | {k: str(interpolate(v, step_contexts, status)) for k, v in (step.get("env") or {}).items()}
            if "uses" in step:
                ok, text = self._uses(step, step_contexts, status, env)
                outputs = {}
            else:
                ok, text, outputs = self._run(step["run"], step_env)
            log.append(f"$ {step.get('name') or step.get('uses') or step['run'].splitlines()[0]}\n{text}")
            steps[step.get("id", f"step{number}")] = {"outcome": "success" if ok else "failure", "outputs": outputs}
            status["success"] &= ok
        step_contexts = {**contexts, "env": env, "steps": steps}
        job_outputs = {k: interpolate(v, step_contexts, status) for k, v in (job.get("outputs") or {}).items()}
        return JobResult("", "success" if status["success"] else "failure", job_outputs, "\n".join(log))

    def _run(self, script: str, env: dict) -> tuple[bool, str, dict]:
        output_file, summary_file = self.artifacts / "github_output", self.artifacts / "step_summary"
        output_file.write_text("")
        summary_file.write_text("")
        env = env | {"GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file)}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.repo, env=env, capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if summary_file.read_text():
            self.summaries.append(summary_file.read_text())
        outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
        return done.returncode == 0, done.stdout + done.stderr, outputs

    def _uses(self, step, contexts, status, env) -> tuple[bool, str]:
        action = step["uses"].split("@")[0]
        given = {key: interpolate(value, contexts, status) for key, value in (step.get("with") or {}).items()}
        if action == "actions/checkout":  # the job already works in a checkout of github.sha
            if "path" in given:
                target = self.repo / given["path"]
                _git(self.repo, "worktree", "add", "--quiet", "--force", "--detach", str(target), given["ref"])
            elif given.get("ref"):
                _git(self.repo, "checkout", "--quiet", "--force", "--detach", given["ref"])
            return True, "checked out"
        if action == "actions/setup-python":  # the prepared .venv stands in for it
            return True, "python ready"
        if action == "aws-actions/configure-aws-credentials":
            if not given.get("role-to-assume"):
                return False, "role-to-assume is empty"
            env |= self.aws_env | {"AWS_REGION": given["aws-region"], "AWS_DEFAULT_REGION": given["aws-region"]}
            return True, f"assumed {given['role-to-assume']} (the moto server)"
        if action == "actions/upload-artifact":
            paths = [line.strip() for line in str(given["path"]).splitlines() if line.strip()]
            found = [p for pattern in paths for p in self.repo.glob(pattern.rstrip("/"))]
            if not found and given.get("if-no-files-found", "warn") == "error":
                return False, f"no files for artifact {given['name']}"
            return True, f"artifact {given['name']}: {len(found)} path(s)"
        return False, f"no local equivalent for {action}"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _in_order(jobs: dict):
    """Jobs in an order that respects `needs`."""
    done: list[str] = []
    while len(done) < len(jobs):
        for name, job in jobs.items():
            needs = [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", [])
            if name not in done and all(n in done for n in needs):
                done.append(name)
                yield name, job


def _matrix_entries(job: dict, expand) -> list[dict]:
    """The matrix's entries; `expand` evaluates an axis or include given as an expression (fromJSON)."""
    matrix = (job.get("strategy") or {}).get("matrix")
    if not matrix:
        return [{}]
    include = expand(matrix.get("include", []))
    axes = {key: expand(values) for key, values in matrix.items() if key not in ("include", "exclude")}
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    return combos + include if combos or include else [{}]
