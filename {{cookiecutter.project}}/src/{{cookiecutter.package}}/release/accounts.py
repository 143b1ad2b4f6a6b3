"""The AWS account each stage runs in (its manifest's `account`): deploys refuse credentials of
any other account, endpoints run as the execution role of their own account, and prod reads the
staging stack directly (one account) or through the staging account's reader role."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ProjectError
from ..settings import Aws

# infra/bootstrap/roles.yaml creates this role in a staging account that is not the prod account.
STAGING_READER_ROLE = "{{ cookiecutter.project }}-staging-reader"


class StagingUnreadable(ProjectError):
    """These credentials may not read the staging stack (its account, or this role, does not allow it)."""


def require_account(signed_in: str, wanted: str, stage: str, source: str) -> None:
    if signed_in != wanted:
        raise ProjectError(
            f"{source} deploys {stage} to account {wanted}, but these credentials are for account {signed_in}: "
            f"sign in to {wanted} (in CI: the {stage} deploy role, AWS_ROLE_DEPLOY_{stage.upper()})"
        )


def role_arn(aws: Aws, account: str, name: str) -> str:
    """A role in `account`, in the partition (aws, aws-cn, ...) of the project's own role."""
    return f"arn:{aws.role_arn.split(':')[1]}:iam::{account}:role/{name}"


def execution_role_arn(aws: Aws, account: str) -> str:
    """The SageMaker execution role of `account`: bootstrap gives it the same name in every account."""
    return role_arn(aws, account, aws.role_arn.split(":role/", 1)[1])


def staging_reader(session_client, aws: Aws, signed_in: str, staging_account: str):
    """A CloudFormation client that can describe the staging stack from the signed-in account.

    `session_client(service, **credentials)` makes boto3 clients; in another account the client
    runs on the staging reader role's temporary credentials."""
    if staging_account == signed_in:
        return session_client("cloudformation")
    role = role_arn(aws, staging_account, STAGING_READER_ROLE)
    try:
        credentials = session_client("sts").assume_role(RoleArn=role, RoleSessionName="prod-deploy-check")[
            "Credentials"
        ]
    except (ClientError, BotoCoreError) as error:
        raise StagingUnreadable(
            f"cannot read the staging stack in account {staging_account} through {role} ({error}): prod deploys "
            "only the version staging runs, so this check is needed (sign in with the prod deploy role)"
        ) from None
    return session_client(
        "cloudformation",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
