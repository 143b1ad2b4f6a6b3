"""Clarify checks in the pipeline, configured from the same `bias` section as the local run.

Pre-training bias on the training split, post-training bias and SHAP explanations on the test
split. Clarify computes; the pipeline's gate step applies project.yaml's thresholds to its
analysis.json with the code the local run uses (gates.py), so both decide alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..bias_facets import clarify_columns, clarify_label_values, excluded_columns, facet_views
from ..settings import Bias, Dataset, Settings


@dataclass(frozen=True)
class ClarifyInputs:
    train_uri: object  # header-less CSV, label first (clarify_columns): the preprocess step's `clarify` output
    test_uri: object  # the same for the test split
    model_name: object  # the CreateModel step's model, served by Clarify's shadow endpoint
    output_uri: object  # a function of the step name -> where the analysis goes
    config_uri: str  # a fixed prefix for the analysis configs (the SDK refuses pipeline variables there)
    endpoint_instance_type: str  # Clarify's shadow endpoint; written into the static analysis config


def _data_config(dataset: Dataset, bias: Bias, source: object, output: object, config_uri: str):
    from sagemaker.core.clarify import DataConfig

    # The preprocess step's columns (clarify_columns): label, features, then audit-only facet
    # columns and range facets' yes/no columns, which Clarify keeps from the model's input.
    excluded = excluded_columns(dataset, bias)
    return DataConfig(
        s3_data_input_path=source,
        s3_output_path=output,
        s3_analysis_config_output_path=config_uri,
        label=dataset.label,
        headers=clarify_columns(dataset, bias),
        dataset_type="text/csv",
        excluded_columns=excluded or None,
    )


def _bias_config(dataset: Dataset, bias: Bias):
    from sagemaker.core.clarify import BiasConfig

    views = facet_views(bias)
    return BiasConfig(
        # The favourable outcome as the Clarify CSV holds the label (binary 0/1, multiclass the
        # class name, a regression threshold: a label above it is favourable).
        label_values_or_threshold=clarify_label_values(dataset, bias),
        # A range facet is its derived yes/no column, sensitive value "yes" (Clarify's own numeric
        # facets only know "value > threshold"); a categorical facet its column and values.
        facet_name=[view.column for view in views],
        facet_values_or_threshold=[
            view.values if view.facet.sensitive_range is not None else list(view.facet.sensitive_values)
            for view in views
        ],
        group_name=bias.group_variable,
    )


def predicted_label_config(settings: Settings):
    """How Clarify reads the endpoint's CSV answer (steps/inference.py) for the problem type:
    binary one probability, labelled at the decision cut-off; multiclass one probability per
    class, the highest naming the predicted class; regression the predicted value as it is."""
    from sagemaker.core.clarify import ModelPredictedLabelConfig

    dataset = settings.dataset
    if dataset.problem_type == "binary":
        return ModelPredictedLabelConfig(probability_threshold=settings.cutoff)
    if dataset.problem_type == "multiclass":
        return ModelPredictedLabelConfig(label_headers=[str(value) for value in dataset.classes])
    return ModelPredictedLabelConfig()


def clarify_steps(settings: Settings, inputs: ClarifyInputs, job_config, cache, depends: dict) -> dict:
    """The DataBias, ModelBias and Explainability steps, by name."""
    dataset, bias = settings.dataset, settings.bias
    from sagemaker.core.clarify import ModelConfig, SHAPConfig
    from sagemaker.mlops.workflow.clarify_check_step import (
        ClarifyCheckStep,
        DataBiasCheckConfig,
        ModelBiasCheckConfig,
        ModelExplainabilityCheckConfig,
    )

    model = ModelConfig(
        model_name=inputs.model_name,
        instance_type=inputs.endpoint_instance_type,
        instance_count=1,
        accept_type="text/csv",
        content_type="text/csv",
    )
    configs = {
        "DataBias": DataBiasCheckConfig(
            data_config=_data_config(dataset, bias, inputs.train_uri, inputs.output_uri("DataBias"), inputs.config_uri),
            data_bias_config=_bias_config(dataset, bias),
            methods=list(bias.pre_training_metrics),
        ),
        "ModelBias": ModelBiasCheckConfig(
            data_config=_data_config(dataset, bias, inputs.test_uri, inputs.output_uri("ModelBias"), inputs.config_uri),
            data_bias_config=_bias_config(dataset, bias),
            model_config=model,
            model_predicted_label_config=predicted_label_config(settings),
            methods=list(bias.post_training_metrics),
        ),
        "Explainability": ModelExplainabilityCheckConfig(
            data_config=_data_config(
                dataset, bias, inputs.test_uri, inputs.output_uri("Explainability"), inputs.config_uri
            ),
            model_config=model,
            # One k-prototypes cluster as the baseline, a fixed seed so reruns agree.
            explainability_config=SHAPConfig(num_clusters=1, num_samples=100, agg_method="mean_abs", seed=42),
            # Multiclass: one SHAP value set per class, named by the endpoint's probability columns.
            model_scores=predicted_label_config(settings) if dataset.problem_type == "multiclass" else None,
        ),
    }
    return {
        name: ClarifyCheckStep(
            name=name,
            clarify_check_config=config,
            check_job_config=job_config,
            # Clarify's own baseline drift check is off: the gate step applies project.yaml's
            # absolute thresholds. The computed results are registered as the model's baselines.
            skip_check=True,
            register_new_baseline=True,
            cache_config=cache,
            depends_on=depends.get(name),
        )
        for name, config in configs.items()
    }
