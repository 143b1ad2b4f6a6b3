"""The SageMaker pipeline definition: steps, their data flow, caching, retries and the gate.

DataChecks -> Preprocess -> Train -> Evaluate -> CreateModel -> Gates -> CheckGates -> CheckRegisterModel -> Register
                         \\-> DataBias     (Clarify, with bias on)   /           \\-> GateFailed
                                  ModelBias, Explainability  -------/

`build()` runs offline (see offline.py) and returns the definition plus the files to upload
under content-addressed keys; publish.py uploads them and upserts the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..context import require_aws
from ..settings import Aws, Settings
from ..steps.job_paths import (
    CLARIFY,
    CODE,
    DATA,
    DATA_CHECKS,
    EVALUATION,
    EVALUATION_FILE,
    FACET_GROUPS,
    GATES,
    GATES_FILE,
    MODEL,
    OUTPUTS,
    RESOURCE_CONFIG,
    SPLITS,
    SUITE,
    TEST,
    TRAIN,
    VALIDATION,
    WHEELS,
    input_dir,
    output_dir,
)
from .bundle import ARCHIVE, JOB_LAUNCHER, SERVE_PROGRAM, build_bundle, job_requirements
from .images import load_images
from .offline import make_session, sdk_environment
from .parameters import Parameters, make_parameters
from .wheels import wheels_digest

CODE_DIR = input_dir(CODE)
WHEELS_DIR = input_dir(WHEELS)
TRAINING_WHEELS_DIR = f"/opt/ml/input/data/{WHEELS}"  # the training job's "wheels" channel
# Processing jobs unpack the bundle and start one step module through the job launcher (which
# installs the locked dependencies from the shipped wheels); "$@" are the step's arguments.
LAUNCH = f'cd {CODE_DIR} && tar -xzf {ARCHIVE} && exec bash {JOB_LAUNCHER} {WHEELS_DIR} "$@"'

CACHE_FOR = "P30D"
CHECKPOINTS = "/opt/ml/checkpoints"
MAX_RUNTIME = 3600 * 4


@dataclass
class Build:
    definition: str  # the pipeline definition JSON, as SageMaker stores it
    uploads: dict[str, bytes] = field(default_factory=dict)  # S3 key (in aws.bucket) -> content
    bucket: str = ""
    # The jobs' wheels: publish.py ships them under this key prefix (in aws.bucket).
    wheels_prefix: str = ""
    wheels_requirements: str = ""

    @cached_property
    def parsed(self) -> dict:
        return json.loads(self.definition)


def build(settings: Settings, root: Path = Path(), name: str | None = None, settings_file: Path | None = None) -> Build:
    """The definition for `settings`, with no AWS credentials and no network. The jobs get
    `settings_file` (default: the project's project.yaml), the file `settings` were read from, so
    they run with exactly the settings the definition shows."""
    aws = require_aws(settings)
    with sdk_environment(aws.region):
        return _Builder(settings, aws, root, name or aws.pipeline_name, settings_file).build()


class _Builder:
    def __init__(self, settings: Settings, aws: Aws, root: Path, name: str, settings_file: Path | None) -> None:
        from sagemaker.core import image_uris
        from sagemaker.mlops.workflow.retry import (
            SageMakerJobExceptionTypeEnum,
            SageMakerJobStepRetryPolicy,
            StepExceptionTypeEnum,
            StepRetryPolicy,
        )
        from sagemaker.mlops.workflow.steps import CacheConfig

        self.settings, self.aws, self.root, self.name = settings, aws, root, name
        self.session = make_session(aws.region, aws.bucket, aws.prefix)
        self.params: Parameters = make_parameters(settings, aws)
        self.xgboost = load_images(root)["xgboost"]
        self.image = image_uris.retrieve(
            framework=self.xgboost.framework, region=aws.region, version=self.xgboost.version, image_scope="training"
        )
        bundle = build_bundle(root, self.xgboost, settings_file or root / "project.yaml")
        self.wheels_requirements = job_requirements(root, self.xgboost)
        self.wheels_prefix = f"{aws.prefix}/wheels/{wheels_digest(self.wheels_requirements)}"
        self.wheels_uri = f"s3://{aws.bucket}/{self.wheels_prefix}"
        self.code_prefix = f"{aws.prefix}/code/{bundle.digest}"
        self.session.staged[f"{self.code_prefix}/{ARCHIVE}"] = bundle.archive
        self.code_uri = f"s3://{aws.bucket}/{self.code_prefix}/{ARCHIVE}"
        self.cache = CacheConfig(enable_caching=True, expire_after=CACHE_FOR)
        # Throttling and service faults retry the step; capacity and internal errors retry the job.
        self.step_retry = StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
            interval_seconds=10,
            backoff_rate=2.0,
            max_attempts=5,
        )
        self.job_retry = SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            interval_seconds=60,
            backoff_rate=2.0,
            max_attempts=3,
        )

    # -- building blocks ------------------------------------------------------------------------

    def output_uri(self, step: str, output: str = ""):
        """Per-execution output location; outputs are not part of the cache key, so caching holds."""
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join

        parts = ["s3:/", self.aws.bucket, self.aws.prefix, "executions", ExecutionVariables.PIPELINE_EXECUTION_ID, step]
        return Join(on="/", values=[*parts, output] if output else parts)

    def _input(self, name: str, source, destination: str, sharded: bool = False):
        """`sharded`: each instance of the job gets its share of the objects (about 1/n of them)."""
        from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=source,
                local_path=destination,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="ShardedByS3Key" if sharded else "FullyReplicated",
            ),
        )

    def _output(self, step: str, name: str):
        from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=self.output_uri(step, name),
                local_path=output_dir(name),
                s3_upload_mode="EndOfJob",
            ),
        )

    def processing_step(
        self,
        name: str,
        module: str,
        inputs: dict,
        outputs: list[str],
        arguments: list,
        instance_count=1,
        sharded: tuple[str, ...] = (),
        **step,
    ):
        """A Processing job that runs `python -m <package>.steps <module>` from the code bundle, on
        `instance_count` instances, each with its share of the `sharded` inputs."""
        from sagemaker.core.processing import Processor
        from sagemaker.mlops.workflow.steps import ProcessingStep

        processor = Processor(
            role=self.aws.role_arn,
            image_uri=self.image,
            instance_count=instance_count,
            instance_type=self.params.processing_instance_type,
            entrypoint=["/bin/bash", "-c", LAUNCH, "steps"],
            max_runtime_in_seconds=MAX_RUNTIME,
            base_job_name=name.lower(),
            sagemaker_session=self.session,
        )
        step_args = processor.run(
            inputs=[
                self._input(CODE, f"s3://{self.aws.bucket}/{self.code_prefix}", CODE_DIR),
                self._input(WHEELS, self.wheels_uri, WHEELS_DIR),
                *(self._input(key, source, input_dir(key), sharded=key in sharded) for key, source in inputs.items()),
            ],
            outputs=[self._output(name, output) for output in outputs],
            arguments=[module, *arguments],
        )
        return ProcessingStep(
            name=name,
            step_args=step_args,
            cache_config=self.cache,
            retry_policies=[self.step_retry, self.job_retry],
            **step,
        )

    @staticmethod
    def output_of(step, name: str):
        return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    # -- the steps ------------------------------------------------------------------------------

    def build(self) -> Build:
        from sagemaker.mlops.workflow.pipeline import Pipeline

        steps = self.steps()
        # No experiment tracking: lineage comes from the registry's metadata (see lineage.py), and
        # the execution role is given no Experiments permissions.
        pipeline = Pipeline(
            name=self.name,
            parameters=self.params.all(),
            steps=steps,
            sagemaker_session=self.session,
            pipeline_experiment_config=None,
        )
        definition = json.dumps(json.loads(pipeline.definition()), indent=2, sort_keys=False) + "\n"
        return Build(
            definition=self.session.resolve(definition),
            uploads=dict(sorted(self.session.staged.items())),
            bucket=self.aws.bucket,
            wheels_prefix=self.wheels_prefix,
            wheels_requirements=self.wheels_requirements,
        )

    # Extension point, a step: build it here like the ones below (a job module in steps/, its
    # inputs and outputs named in steps/job_paths.py) and add it to the list in order; local.py
    # runs it too.
    def steps(self) -> list:
        p = self.params
        checks = self.processing_step(
            "DataChecks",
            "check_data",
            inputs={DATA: p.input_data_uri},
            outputs=[DATA_CHECKS],
            arguments=[
                "--data", input_dir(DATA),
                "--suite", SUITE,
                "--output", output_dir(DATA_CHECKS),
                "--as-of", p.as_of,
                "--no-fail",
                "--resource-config", RESOURCE_CONFIG,
            ],
            instance_count=p.processing_instance_count,
            sharded=(DATA,),
        )  # fmt: skip
        preprocess = self.processing_step(
            "Preprocess",
            "preprocess",
            inputs={DATA: p.input_data_uri, DATA_CHECKS: self.output_of(checks, DATA_CHECKS)},
            outputs=[*SPLITS, CLARIFY],
            arguments=[
                "--input", input_dir(DATA),
                "--checks", input_dir(DATA_CHECKS),
                "--output", OUTPUTS,  # a folder per output
                "--sample-fraction", p.sample_fraction.to_string(),
                "--as-of", p.as_of,
                "--resource-config", RESOURCE_CONFIG,
                # train and validation files per instance: one for each training instance
                "--parts", p.training_instance_count.to_string(),
            ],
            instance_count=p.processing_instance_count,
            sharded=(DATA,),
        )  # fmt: skip
        train = self.training_step(preprocess)
        evaluation, evaluate = self.evaluate_step(preprocess, train)
        create_model = self.model_step(train)
        clarify = self.clarify_steps(preprocess, create_model)
        gates_file, gates = self.gates_step(evaluate, clarify, preprocess)
        register = self.register_step(train, evaluate, clarify, create_model)
        check = self.condition_step(evaluation, evaluate, gates_file, gates, register)
        return [checks, preprocess, train, evaluate, create_model, *clarify.values(), gates, check]

    def training_step(self, preprocess):
        from sagemaker.core.training.configs import (
            CheckpointConfig,
            Compute,
            InputData,
            OutputDataConfig,
            SourceCode,
            StoppingCondition,
        )
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train import ModelTrainer

        spot = self.aws.spot_training
        trainer = ModelTrainer(
            training_image=self.image,
            role=self.aws.role_arn,
            sagemaker_session=self.session,
            base_job_name="train",
            # No `requirements`: the launcher installs the locked wheels from the "wheels" channel.
            source_code=SourceCode(
                source_dir=self.code_uri,
                command=f"bash {JOB_LAUNCHER} {TRAINING_WHEELS_DIR} train"
                + (f" --checkpoint-dir {CHECKPOINTS}" if spot else ""),
            ),
            compute=Compute(
                instance_type=self.params.training_instance_type,
                instance_count=self.params.training_instance_count,
                enable_managed_spot_training=spot,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=MAX_RUNTIME, max_wait_time_in_seconds=MAX_RUNTIME * 2 if spot else None
            ),
            # Spot only: checkpoints per execution, so an interrupted job resumes its own rounds and
            # never another run's. (The execution-scoped prefix means Train is not served from cache.)
            checkpoint_config=CheckpointConfig(s3_uri=self.output_uri("Train", "checkpoints"), local_path=CHECKPOINTS)
            if spot
            else None,
            output_data_config=OutputDataConfig(s3_output_path=self.output_uri("Train")),
        )
        step_args = trainer.train(
            input_data_config=[
                # Each training instance gets its share of the preprocess step's part files.
                self._sharded_channel(TRAIN, self.output_of(preprocess, TRAIN)),
                self._sharded_channel(VALIDATION, self.output_of(preprocess, VALIDATION)),
                InputData(channel_name=WHEELS, data_source=self.wheels_uri),
            ],
            wait=False,
        )
        return TrainingStep(
            name="Train",
            step_args=step_args,
            cache_config=self.cache,
            retry_policies=[self.step_retry, self.job_retry],
        )

    @staticmethod
    def _sharded_channel(name: str, source):
        from sagemaker.core.shapes import Channel, DataSource, S3DataSource

        s3 = S3DataSource(s3_data_type="S3Prefix", s3_uri=source, s3_data_distribution_type="ShardedByS3Key")
        return Channel(channel_name=name, data_source=DataSource(s3_data_source=s3), input_mode="File")

    def evaluate_step(self, preprocess, train):
        from sagemaker.core.workflow.properties import PropertyFile

        evaluation = PropertyFile(name="Evaluation", output_name=EVALUATION, path=EVALUATION_FILE)
        step = self.processing_step(
            "Evaluate",
            "evaluate",
            inputs={
                MODEL: train.properties.ModelArtifacts.S3ModelArtifacts,
                TEST: self.output_of(preprocess, TEST),
            },
            outputs=[EVALUATION],
            arguments=[
                "--model-dir", input_dir(MODEL),
                "--test", input_dir(TEST),
                "--output", output_dir(EVALUATION),
            ],
            property_files=[evaluation],
        )  # fmt: skip
        return evaluation, step

    def model_builder(self, train):
        from sagemaker.serve import ModelBuilder

        return ModelBuilder(
            image_uri=self.image,
            s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
            role_arn=self.aws.role_arn,
            sagemaker_session=self.session,
            # The XGBoost container serves script mode: our inference functions from the bundle.
            env_vars={
                "SAGEMAKER_PROGRAM": SERVE_PROGRAM,
                "SAGEMAKER_SUBMIT_DIRECTORY": self.code_uri,
                # The server imports xgboost before the package could set it (see __init__.py).
                "OMP_WAIT_POLICY": "PASSIVE",
            },
        )

    def model_step(self, train):
        from sagemaker.mlops.workflow.model_step import ModelStep

        return ModelStep(
            name="CreateModel", step_args=self.model_builder(train).build(), retry_policies=[self.step_retry]
        )

    def clarify_steps(self, preprocess, create_model) -> dict:
        if self.settings.bias is None:
            return {}
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.check_job_config import CheckJobConfig

        from .clarify import ClarifyInputs, clarify_steps

        clarify_data = self.output_of(preprocess, CLARIFY)
        inputs = ClarifyInputs(
            train_uri=Join(on="/", values=[clarify_data, TRAIN]),  # every instance's part files
            test_uri=Join(on="/", values=[clarify_data, TEST]),
            model_name=create_model.properties.ModelName,
            output_uri=self.output_uri,
            config_uri=f"s3://{self.aws.bucket}/{self.aws.prefix}/clarify",
            endpoint_instance_type=self.aws.clarify_instance_type,
        )
        job_config = CheckJobConfig(
            role=self.aws.role_arn,
            instance_count=self.params.clarify_instance_count,
            instance_type=self.params.clarify_instance_type,
            max_runtime_in_seconds=MAX_RUNTIME,
            sagemaker_session=self.session,
        )
        steps = clarify_steps(self.settings, inputs, job_config, self.cache, {})
        for step in steps.values():  # the Register step reads this URI before the definition is resolved
            config = step.clarify_check_config
            config.monitoring_analysis_config_uri = self.session.resolve(config.monitoring_analysis_config_uri)
        return steps

    def gates_step(self, evaluate, clarify: dict, preprocess):
        from sagemaker.core.workflow.properties import PropertyFile

        gates_file = PropertyFile(name="Gates", output_name=GATES, path=GATES_FILE)
        inputs = {EVALUATION: self.output_of(evaluate, EVALUATION)}
        arguments = [
            "--evaluation", f"{input_dir(EVALUATION)}/{EVALUATION_FILE}",
            # e.g. --min-auc <MinAuc>: the run's quality limits (steps/gate.py)
            *[
                argument
                for (metric, side), parameter in self.params.quality.items()
                for argument in (f"--{side}-{metric.replace('_', '-')}", parameter.to_string())
            ],
            "--output", output_dir(GATES),
        ]  # fmt: skip
        for name in ("DataBias", "ModelBias"):
            if name in clarify:
                inputs[name.lower()] = clarify[name].properties.CalculatedBaselineConstraints
                arguments += ["--bias-analysis", input_dir(name.lower())]
        if clarify:  # the test split's facet group sizes (one file per instance), for the bias gate's min_rows rule
            from sagemaker.core.workflow.functions import Join

            inputs[FACET_GROUPS] = Join(on="/", values=[self.output_of(preprocess, CLARIFY), FACET_GROUPS])
            arguments += ["--facet-groups", input_dir(FACET_GROUPS)]
        step = self.processing_step("Gates", "gate", inputs, [GATES], arguments, property_files=[gates_file])
        return gates_file, step

    def register_step(self, train, evaluate, clarify: dict, create_model):
        from sagemaker.core.drift_check_baselines import DriftCheckBaselines
        from sagemaker.core.model_metrics import FileSource, MetricsSource, ModelMetrics
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.model_step import ModelStep

        def source(uri):
            return MetricsSource(s3_uri=uri, content_type="application/json")

        metrics = {
            "model_statistics": source(Join(on="/", values=[self.output_of(evaluate, EVALUATION), EVALUATION_FILE]))
        }
        baselines = {}
        if clarify:
            metrics["bias_pre_training"] = source(clarify["DataBias"].properties.CalculatedBaselineConstraints)
            metrics["bias_post_training"] = source(clarify["ModelBias"].properties.CalculatedBaselineConstraints)
            metrics["explainability"] = source(clarify["Explainability"].properties.CalculatedBaselineConstraints)
            data_bias, model_bias, explainability = clarify["DataBias"], clarify["ModelBias"], clarify["Explainability"]
            baselines = {
                "bias_pre_training_constraints": source(data_bias.properties.BaselineUsedForDriftCheckConstraints),
                "bias_post_training_constraints": source(model_bias.properties.BaselineUsedForDriftCheckConstraints),
                "bias_config_file": FileSource(s3_uri=model_bias.clarify_check_config.monitoring_analysis_config_uri),
                "explainability_constraints": source(explainability.properties.BaselineUsedForDriftCheckConstraints),
                "explainability_config_file": FileSource(
                    s3_uri=explainability.clarify_check_config.monitoring_analysis_config_uri
                ),
            }
        step_args = self.model_builder(train).register(
            model_package_group_name=self.aws.model_package_group,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge"],
            transform_instances=["ml.m5.large", "ml.m5.xlarge"],
            model_metrics=ModelMetrics(**metrics),
            drift_check_baselines=DriftCheckBaselines(**baselines) if baselines else None,
            approval_status=self.params.approval_status,
            description=f"{self.name}: registered by the pipeline after every gate passed",
            # Lineage: which execution, commit and data produced this version (see `lineage`).
            customer_metadata_properties={
                "PipelineExecutionArn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "GitCommit": self.params.git_commit,
                "GitRepository": self.params.git_repository,
                "InputDataUri": self.params.input_data_uri,
                "AsOf": self.params.as_of,
                "SampleFraction": self.params.sample_fraction.to_string(),
            },
        )
        return ModelStep(name="Register", step_args=step_args, retry_policies=[self.step_retry])

    def condition_step(self, evaluation, evaluate, gates_file, gates, register):
        from sagemaker.core.workflow.conditions import (
            ConditionEquals,
            ConditionGreaterThanOrEqualTo,
            ConditionLessThanOrEqualTo,
        )
        from sagemaker.core.workflow.functions import JsonGet
        from sagemaker.mlops.workflow.condition_step import ConditionStep
        from sagemaker.mlops.workflow.fail_step import FailStep

        from ..gates import METRICS_KEY

        section = METRICS_KEY[self.settings.dataset.problem_type]
        # Every quality limit, read from evaluation.json as the gates step does (that step's
        # verdict below also covers them, with the message the fail step shows).
        quality = []
        for (metric, side), parameter in self.params.quality.items():
            value = JsonGet(step_name=evaluate.name, property_file=evaluation, json_path=f"{section}.{metric}.value")
            compare = ConditionGreaterThanOrEqualTo if side == "min" else ConditionLessThanOrEqualTo
            quality.append(compare(left=value, right=parameter))
        failed = FailStep(
            name="GateFailed",
            # gates.json names every failed gate: metric, value, limit and what to do.
            error_message=JsonGet(step_name=gates.name, property_file=gates_file, json_path="message"),
        )
        # A model that passed every gate is registered unless the run says not to (RegisterModel).
        wanted = ConditionStep(
            name="CheckRegisterModel",
            conditions=[ConditionEquals(left=self.params.register_model, right=True)],
            if_steps=[register],
            else_steps=[],
        )
        return ConditionStep(
            name="CheckGates",
            conditions=[
                *quality,
                ConditionEquals(
                    left=JsonGet(step_name=gates.name, property_file=gates_file, json_path="passed"), right=True
                ),
            ],
            if_steps=[wanted],
            else_steps=[failed],
        )
