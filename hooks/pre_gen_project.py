"""Validate every answer before anything is generated.

A bad answer stops generation with one line: which answer, why, and an example of a good one.
Cookiecutter then removes the half-made project folder.
"""

import json
import keyword
import re
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# The project name is reused in AWS resource names; the tightest limit is an S3 bucket
# '<project>-<account id>-<region>' (63 characters), hence 32 characters at most.
PROJECT = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
# The same rule as the generated settings.py's Aws.region (tests/test_answers.py holds them to it):
# commercial, China and GovCloud regions. Isolated regions (us-iso-east-1) are refused: GitHub's
# runners and its OIDC provider cannot reach them.
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")
ISOLATED_REGION = re.compile(r"^[a-z]{2}-iso[a-z]?-[a-z]+-[0-9]$")
ACCOUNT = re.compile(r"^[0-9]{12}$")
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
GITHUB_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
MODEL_PACKAGE_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Packages the project depends on or imports; a package with one of these names would shadow it.
TAKEN = {"xgboost", "pandas", "numpy", "sklearn", "yaml", "pydantic", "click", "matplotlib", "tests", "src"}
PYTHON_VERSIONS = {"3.11", "3.12", "3.13"}
PROBLEM_TYPES = ("binary", "multiclass", "regression")
YES_NO = {"yes", "no"}


def problems(answers):
    """Yield (answer, why, example) for each invalid answer, in prompt order."""
    project = answers["project"]
    if not PROJECT.match(project):
        yield "project", "use lowercase letters, digits and single dashes, starting with a letter", "income-classifier"
    elif not 3 <= len(project) <= 32:
        yield "project", f"must be 3 to 32 characters (AWS resource names derive from it), got {len(project)}", "income-classifier"
    package = answers["package"]
    if not PACKAGE.match(package) or keyword.iskeyword(package):
        yield "package", "must be a Python identifier: lowercase letters, digits and underscores", "income_classifier"
    elif package in TAKEN or package in sys.stdlib_module_names:
        yield "package", f"'{package}' would shadow a module the project imports", "income_classifier"
    examples = {"description": "Predicts income bands from census data.", "author": "ML Platform Team"}
    for key, example in examples.items():
        value = answers[key]
        if not value.strip() or "\n" in value or len(value) > 200:
            yield key, "must be one non-empty line of at most 200 characters", example
    if answers["python_version"] not in PYTHON_VERSIONS:
        yield "python_version", f"must be one of {', '.join(sorted(PYTHON_VERSIONS))}", "3.11"
    if ISOLATED_REGION.match(answers["aws_region"]):
        yield "aws_region", "is an isolated region, which GitHub Actions and its OIDC provider cannot reach", "us-east-1"
    elif not REGION.match(answers["aws_region"]):
        yield "aws_region", "is not an AWS region code", "us-east-1"
    for key in ("aws_account_id", "staging_account_id", "prod_account_id"):
        if not ACCOUNT.match(answers[key]):
            yield key, "must be exactly 12 digits", "123456789012"
    if not GITHUB_OWNER.match(answers["github_owner"]):
        yield "github_owner", "must be 1-39 letters, digits or single dashes, not starting or ending with a dash", "acme-ml"
    repo = answers["github_repo"]
    if not GITHUB_REPO.match(repo) or repo in {".", ".."}:
        yield "github_repo", "may use letters, digits, '.', '-' and '_' (at most 100)", "income-classifier"
    if not MODEL_PACKAGE_GROUP.match(answers["model_package_group"]):
        yield "model_package_group", "must be 1-63 letters, digits or dashes, starting and ending with a letter or digit", "income-classifier"
    if answers["problem_type"] not in PROBLEM_TYPES:
        yield "problem_type", f"must be one of {', '.join(PROBLEM_TYPES)}", "binary"
    for key in ("use_feature_store", "use_clarify"):
        if answers[key] not in YES_NO:
            yield key, "must be 'yes' or 'no'", "yes"


def main():
    found = list(problems(ANSWERS))
    for key, why, example in found:
        print(f"Invalid answer for '{key}': {ANSWERS[key]!r} {why}. Example: {example}", file=sys.stderr)
    if found:
        sys.exit(1)


if __name__ == "__main__":
    main()
