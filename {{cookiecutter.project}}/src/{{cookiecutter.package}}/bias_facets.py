"""What the bias analysis compares, from the settings alone: the facets as the analysis sees them,
Clarify's columns and the favourable outcome in the label's encoding.

The local run (bias.py) and the pipeline's Clarify configs (pipeline/clarify.py) both use these,
so they agree. A categorical facet is its own column, compared by text with its sensitive values;
a numeric facet by range is a derived column holding "yes" for rows with min <= value < max and
"no" otherwise (Clarify's own numeric facets only know "value > threshold"). No data libraries
here, so naming Clarify's columns costs `pipeline build` no import of bias.py's (xgboost,
scikit-learn, smclarify).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .settings import Bias, Dataset, Facet

IN_RANGE, OUT_OF_RANGE = "yes", "no"  # a range facet's derived column: text, so no reader takes it for a number


@dataclass(frozen=True)
class FacetView:
    """A facet as the analysis sees it: the column it reads and the sensitive values in it."""

    position: int  # in bias.facets, for messages naming the setting
    facet: Facet
    column: str  # the facet's own column, or a range facet's derived column (e.g. "age<25")
    values: list[str]  # the sensitive values, as text
    group: str  # readable, e.g. "sex = Female" or "age < 25"

    @property
    def value_or_threshold(self) -> str:
        """How analysis.json names the sensitive group (smclarify and Clarify join the values)."""
        return ",".join(self.values)


def facet_views(bias: Bias) -> list[FacetView]:
    views = []
    for position, facet in enumerate(bias.facets):
        if facet.sensitive_range is not None:
            low, high = facet.sensitive_range.min, facet.sensitive_range.max
            views.append(
                FacetView(
                    position,
                    facet,
                    _range_text(facet.column, low, high, ""),
                    [IN_RANGE],
                    _range_text(facet.column, low, high, " "),
                )
            )
        else:
            values = [as_text(value) for value in facet.sensitive_values]
            views.append(FacetView(position, facet, facet.column, values, f"{facet.column} = {', '.join(values)}"))
    return views


def _range_text(column: str, low: float | None, high: float | None, space: str) -> str:
    if low is None:
        return f"{column}{space}<{space}{high:g}"
    if high is None:
        return f"{column}{space}>={space}{low:g}"
    return f"{low:g}{space}<={space}{column}{space}<{space}{high:g}"


def as_text(value) -> str:
    """A value compared by its text: 9, 9.0 and "9" agree; True and "True" agree."""
    # numpy's floats are numbers.Real too; ints and bools are Integral and stay as they are.
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def audit_columns(dataset: Dataset, bias: Bias) -> list[str]:
    """Columns the bias analysis needs that are not model inputs: carried beside the features."""
    wanted = [facet.column for facet in bias.facets] + ([bias.group_variable] if bias.group_variable else [])
    return [column for column in dict.fromkeys(wanted) if column not in dataset.features]


def clarify_columns(dataset: Dataset, bias: Bias) -> list[str]:
    """The Clarify CSV's columns: label, features, then what Clarify excludes from the model's input."""
    return [dataset.label, *dataset.features, *excluded_columns(dataset, bias)]


def excluded_columns(dataset: Dataset, bias: Bias) -> list[str]:
    """Audit-only facet columns and range facets' derived columns: in Clarify's data, never sent to the model."""
    derived = [view.column for view in facet_views(bias) if view.facet.sensitive_range is not None]
    return list(dict.fromkeys([*audit_columns(dataset, bias), *derived]))


def favourable_values(dataset: Dataset, bias: Bias) -> list:
    """The favourable label values as project.yaml writes them (Settings.favourable)."""
    if bias.favourable_labels is not None:
        return list(bias.favourable_labels)
    return [dataset.positive_label] if dataset.positive_label is not None else []


def label_values_or_threshold(dataset: Dataset, bias: Bias) -> list:
    """The favourable outcome in the label's encoding: Clarify's label_values_or_threshold."""
    if dataset.problem_type == "regression":
        return [float(bias.favourable_threshold)]
    favourable = {as_text(value) for value in favourable_values(dataset, bias)}
    if dataset.problem_type == "binary":
        return sorted(
            int(as_text(value) == as_text(dataset.positive_label)) for value in favourable_values(dataset, bias)
        )
    return [index for index, value in enumerate(dataset.classes) if as_text(value) in favourable]


def clarify_label_values(dataset: Dataset, bias: Bias) -> list:
    """The favourable outcome as Clarify's CSV holds the label (clarify_frame): multiclass by class
    name, the name Clarify gives the endpoint's highest probability (label_headers); otherwise as
    the split encodes it."""
    if dataset.problem_type == "multiclass":
        return [as_text(dataset.classes[index]) for index in label_values_or_threshold(dataset, bias)]
    return label_values_or_threshold(dataset, bias)
