"""infra/*.yaml: every CloudFormation template passes cfn-lint and checkov, both linters really fire,
the bootstrap stack names what project.yaml's `aws` section uses, and model bias monitoring labels
the endpoint's scores at the code's threshold."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import cfn_yaml

from {{ cookiecutter.package }}.release.accounts import STAGING_READER_ROLE
from {{ cookiecutter.package }}.settings import Settings

INFRA = Path(__file__).resolve().parents[1] / "infra"
TEMPLATES = sorted(INFRA.glob("*.yaml"))
BOOTSTRAP = INFRA / "bootstrap.yaml"
ENDPOINT = INFRA / "endpoint.yaml"


def cfn_lint(path: Path, region: str) -> list:
    return lint_file(path, ManualArgs(regions=[region]))


def describe(matches: list) -> str:
    return "\n".join(str(match) for match in matches)


def find_checkov() -> str | None:
    """checkov pins an old boto3 that the sagemaker SDK cannot use, so it is not a dev dependency:
    it runs from this environment when installed here, else from PATH (e.g. `pipx install checkov`)."""
    local = Path(sys.executable).with_name("checkov")
    return str(local) if local.exists() else shutil.which("checkov")


CHECKOV = find_checkov()
needs_checkov = pytest.mark.skipif(
    CHECKOV is None,
    reason="checkov is not installed: it conflicts with the sagemaker SDK's boto3, so install it apart "
    "(pipx install checkov) and put it on PATH",
)


def checkov_failures(path: Path) -> list[str]:
    # --skip-download: no network (the checks ship with checkov); --quiet: failed checks only.
    command = [CHECKOV, "-f", str(path), "--framework", "cloudformation", "-o", "json", "--quiet", "--skip-download"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    assert report["summary"]["parsing_errors"] == 0, result.stdout
    failed = report.get("results", {}).get("failed_checks", [])
    return [f"{check['check_id']} {check['resource']}: {check['check_name']}" for check in failed]


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = BOOTSTRAP.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bootstrap.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_cfn_lint_finds_no_errors(template: Path, settings: Settings):
    matches = cfn_lint(template, settings.aws.region)
    assert not [match for match in matches if match.rule.severity == "error"], describe(matches)


def test_cfn_lint_reports_a_broken_template(tmp_path: Path, settings: Settings):
    broken = broken_copy(tmp_path, "VersioningConfiguration:", "VersioningConfig:")
    matches = cfn_lint(broken, settings.aws.region)
    assert any(match.rule.id == "E3002" and "VersioningConfig" in str(match) for match in matches), describe(matches)


@needs_checkov
@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_checkov_finds_no_failed_checks(template: Path):
    failures = checkov_failures(template)
    assert not failures, "\n".join(failures)


@needs_checkov
def test_checkov_reports_a_public_bucket(tmp_path: Path):
    broken = broken_copy(tmp_path, "BlockPublicAcls: true", "BlockPublicAcls: false")
    assert any(failure.startswith("CKV_AWS_53 ") for failure in checkov_failures(broken))


def test_bootstrap_names_match_project_settings(settings: Settings):
    aws = settings.aws
    template = cfn_yaml.load(str(BOOTSTRAP))
    resources = template["Resources"]
    account = aws.role_arn.split(":")[4]
    assert template["Parameters"]["PipelineAccountId"]["Default"] == account
    names = {
        "AWS::Partition": "aws",
        "AWS::Region": aws.region,
        "AWS::AccountId": account,
        "PipelineAccountId": account,
    }

    def sub(value: dict) -> str:
        text = value["Fn::Sub"]
        for name, replacement in names.items():
            text = text.replace("${" + name + "}", replacement)
        return text

    def statement(resource: str, sid: str) -> dict:
        (policy,) = resources[resource]["Properties"]["Policies"]
        (found,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
        return found

    assert resources["SageMakerExecutionRole"]["Properties"]["RoleName"] == aws.role_arn.rsplit("/", 1)[1]
    assert sub(resources["ArtifactBucket"]["Properties"]["BucketName"]) == aws.bucket
    assert resources["ModelPackageGroup"]["Properties"]["ModelPackageGroupName"] == aws.model_package_group
    approval = resources["ModelApprovalRule"]["Properties"]["EventPattern"]["detail"]
    assert approval["ModelPackageGroupName"] == [aws.model_package_group]

    pipeline_arn = f"arn:aws:sagemaker:{aws.region}:{account}:pipeline/{aws.pipeline_name}"
    main_pipelines = [sub(arn) for arn in statement("GitHubMainRole", "Pipeline")["Resource"]]
    assert pipeline_arn in main_pipelines
    new_data = resources["NewTrainingDataRule"]["Properties"]
    assert sub(new_data["Targets"][0]["Arn"]) == pipeline_arn
    (key,) = new_data["EventPattern"]["detail"]["object"]["key"]
    assert f"s3://{aws.bucket}/{key['prefix']}" == aws.input_data_uri

    for role in ("GitHubPrRole", "GitHubMainRole"):
        assert sub(statement(role, "PipelineFiles")["Resource"]) == f"arn:aws:s3:::{aws.bucket}/{aws.prefix}/*"

    # The role prod's deploy assumes to read a staging stack in another account (release/accounts.py).
    reader = resources["StagingStackReaderRole"]["Properties"]
    assert reader["RoleName"] == STAGING_READER_ROLE
    (trust,) = reader["AssumeRolePolicyDocument"]["Statement"]
    prod_role = resources["GitHubDeployProdRole"]["Properties"]["RoleName"]
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]["Fn::Sub"].endswith(f":role/{prod_role}")


# ---------------------------------------------------------------- monitoring
def test_model_bias_monitoring_labels_scores_at_the_code_s_threshold(settings: Settings, project_root: Path):
    """The endpoint answers CSV with one positive-class probability per line; without a threshold
    Clarify's bias monitor would take those probabilities for labels."""
    import yaml

    from {{ cookiecutter.package }}.release.environments import parse_manifest
    from {{ cookiecutter.package }}.release.registry import Version
    from {{ cookiecutter.package }}.release.stack import parameters
    from {{ cookiecutter.package }}.steps.evaluate import THRESHOLD

    template = cfn_yaml.load(str(ENDPOINT))
    bias = template["Resources"]["ModelBiasJobDefinition"]["Properties"]["ModelBiasJobInput"]["EndpointInput"]
    assert bias["ProbabilityThresholdAttribute"] == {"Ref": "ProbabilityThreshold"}

    raw = yaml.safe_load((project_root / "environments" / "staging.yaml").read_text(encoding="utf-8"))
    raw["data_capture"]["enabled"] = True
    raw["monitoring"] |= {"enabled": True, "ground_truth_s3_uri": f"s3://{settings.aws.bucket}/ground-truth/staging"}
    manifest = parse_manifest(yaml.safe_dump(raw), "staging.yaml", "staging")
    uri = f"s3://{settings.aws.bucket}/pipeline/clarify"
    baselines = {
        "Bias": {"ConfigFile": {"S3Uri": f"{uri}/bias.json"}, "PostTrainingConstraints": {"S3Uri": f"{uri}/b.json"}},
        "Explainability": {"ConfigFile": {"S3Uri": f"{uri}/shap.json"}, "Constraints": {"S3Uri": f"{uri}/e.json"}},
    }
    account = settings.aws.role_arn.split(":")[4]
    arn = f"arn:aws:sagemaker:{settings.aws.region}:{account}:model-package/{settings.aws.model_package_group}/1"
    version = Version(arn=arn, number=1, status="Approved", created="", commit="", note="", baselines=baselines)
    given = parameters(manifest, version, settings.aws)
    declared = template["Parameters"]
    assert set(given) <= set(declared)
    assert float(given["ProbabilityThreshold"]) == THRESHOLD
    assert re.fullmatch(declared["ProbabilityThreshold"]["AllowedPattern"], given["ProbabilityThreshold"])
    assert float(declared["ProbabilityThreshold"]["Default"]) == THRESHOLD
