"""Every CloudFormation template of a generated project fits the request that deploys it.

infra/README.md deploys its templates with `aws cloudformation deploy --template-file` and no
`--s3-bucket` (on a fresh account the bucket does not exist yet), and the deploy command sends
infra/endpoint.yaml as `TemplateBody`: both are inline template bodies, which CloudFormation
refuses above 51,200 bytes. Answers grow the templates (the project name alone appears dozens
of times), so this bakes the longest answers hooks/pre_gen_project.py accepts and keeps every
template 15 % below the limit, leaving room for the next edit.

`aws_region` has no length limit in the hooks, but no template renders it (they use
${AWS::Region}); the test checks that too.
"""

from __future__ import annotations

import pytest
from cookiecutter.exceptions import FailedHookException

LIMIT = 51_200  # bytes, CloudFormation's TemplateBody limit
BUDGET = int(LIMIT * 0.85)

# The longest answer each length-limited check in hooks/pre_gen_project.py accepts.
LONGEST = {
    "project": "p" * 32,
    "github_owner": "o" * 39,
    "github_repo": "r" * 100,
    "model_package_group": "g" * 63,
    "description": "d" * 200,
    "author": "a" * 200,
    "staging_account_id": "210987654321",
    "prod_account_id": "345678901234",
    "use_feature_store": "yes",
    "use_clarify": "yes",
}
LENGTH_LIMITED = ["project", "github_owner", "github_repo", "model_package_group", "description", "author"]


@pytest.mark.parametrize("key", LENGTH_LIMITED)
def test_longest_answers_are_the_longest_accepted(key, bake, tmp_path, capfd):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **{**LONGEST, key: LONGEST[key] + LONGEST[key][0]})
    assert f"Invalid answer for '{key}'" in capfd.readouterr().err


def test_every_template_fits_an_inline_deploy_with_the_longest_answers(bake, template, tmp_path):
    project = bake(tmp_path, **LONGEST)
    templates = sorted((project / "infra").rglob("*.yaml"))
    assert templates
    sizes = {path.relative_to(project).as_posix(): path.stat().st_size for path in templates}
    for name, size in sizes.items():
        print(f"{name}: {size:,} bytes ({size / LIMIT:.0%} of {LIMIT:,})")
    too_big = {name: size for name, size in sizes.items() if size > BUDGET}
    assert not too_big, (
        f"over {BUDGET:,} bytes (85 % of CloudFormation's {LIMIT:,}-byte inline limit) with the longest answers: "
        f"{too_big}; split the template along a line a reader expects (see infra/README.md)"
    )
    sources = (template / "{{cookiecutter.project}}" / "infra").rglob("*.yaml")
    assert not [path.name for path in sources if "cookiecutter.aws_region" in path.read_text()]
