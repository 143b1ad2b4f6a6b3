"""Endpoint handlers for the SageMaker XGBoost container (script mode).

They import only what the image ships (numpy, pandas, xgboost): containers/serving.in adds nothing.

Requests carry raw feature values; the model's own FeatureSpec encodes them with the same
transforms used in training.

- text/csv: one row per line, feature values in FeatureSpec order (a header line is allowed);
  the response has one line per row, what Clarify's shadow endpoint expects: binary the
  positive class's probability, multiclass the probability of each class (FeatureSpec.classes
  order, comma-separated), regression the predicted value.
- application/json: {"instances": [{"age": 39, "sex": "Male", ...}, ...]} or a list of such
  objects; the response is {"predictions": [...]}, one object per row:
  binary {"score": 0.87, "predicted_label": 1, "label": ">50K"} (predicted_label is 1 when the
  score reaches the model's cut-off, project.yaml's decision; label is that class's name),
  multiclass {"scores": {"<class>": 0.7, ...}, "predicted_label": "<class>"},
  regression {"prediction": 41.3}.

A request the model cannot score raises ValueError with what is wrong: a missing feature, or a
value that is not a number in a numeric feature (rows count from 0, not counting a CSV header).
In the container, `transform_fn` chains the handlers and answers such a request with 400 and the
reason as JSON ({"error": "..."}; 415/406 for an unsupported content or accept type), where the
image's server would answer a bare 500. A category the model did not see in training is scored as
missing, with a warning in the endpoint's log.
"""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pandas as pd

from ..model import TrainedModel
from ..transforms import FeatureSpec, describe_unseen, require_numbers, unseen_categories

LOG = logging.getLogger(__name__)

CSV = "text/csv"
JSON = "application/json"


# Each value of a CSV request trimmed, in one pass over the rows (a column at a time costs more).
_STRIPPED = np.vectorize(lambda value: value.strip() if isinstance(value, str) else value, otypes=[object])


class UnsupportedContentType(ValueError):
    pass


def model_fn(model_dir: str) -> TrainedModel:
    return TrainedModel.load(model_dir)


def input_fn(request_body: str | bytes, content_type: str = CSV) -> pd.DataFrame:
    if isinstance(request_body, bytes):
        request_body = request_body.decode("utf-8")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == JSON:
        payload = json.loads(request_body)
        records = payload.get("instances", payload) if isinstance(payload, dict) else payload
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise ValueError('send {"instances": [{feature: value, ...}, ...]} with at least one object')
        return pd.DataFrame.from_records(records)
    if media_type == CSV:
        try:
            frame = pd.read_csv(io.StringIO(request_body), header=None, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise ValueError(f"unreadable CSV payload: every line needs the same number of values ({error})") from None
        return pd.DataFrame(_STRIPPED(frame.to_numpy()), columns=frame.columns)
    raise UnsupportedContentType(f"content type {content_type!r} is not supported; send {CSV} or {JSON}")


def _with_feature_names(frame: pd.DataFrame, model: TrainedModel) -> pd.DataFrame:
    """CSV rows arrive without names: name them in FeatureSpec order (dropping a header row)."""
    features = model.spec.features
    if list(frame.columns) == list(range(frame.shape[1])):
        if frame.shape[1] != len(features):
            raise ValueError(
                f"expected {len(features)} values per CSV row ({', '.join(features)}), got {frame.shape[1]}"
            )
        frame = frame.set_axis(features, axis=1)
        if len(frame) and [str(value).strip() for value in frame.iloc[0]] == features:
            frame = frame.iloc[1:].reset_index(drop=True)
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise ValueError(f"missing feature(s) {', '.join(missing)}")
    return frame


def predict_fn(frame: pd.DataFrame, model: TrainedModel) -> np.ndarray:
    frame = _with_feature_names(frame, model)
    require_numbers(frame, model.spec.numeric, "request")  # NotANumber is a ValueError
    for line in describe_unseen(unseen_categories(frame, model.spec)):
        LOG.warning("request: %s", line)
    return model.predict(frame)


BINARY = FeatureSpec(label="", positive_label=1, numeric=[], categories={}, classes=[0, 1], cutoff=0.5)


def output_fn(values: np.ndarray, accept: str = CSV, spec: FeatureSpec = BINARY) -> tuple[str, str]:
    """The response body for predict_fn's values; `spec` (the model's) names the classes."""
    media_type = (accept or CSV).split(";")[0].strip().lower()
    kind = spec.problem_type
    if media_type in (CSV, "*/*"):
        if kind == "multiclass":
            lines = (",".join(f"{p:.6f}" for p in row) for row in values)
        else:
            lines = (f"{value:.6f}" for value in values)
        return "\n".join(lines) + "\n", CSV
    if media_type == JSON:
        names = spec.class_names
        if kind == "regression":
            rows = [{"prediction": round(float(value), 6)} for value in values]
        elif kind == "multiclass":
            rows = [
                {
                    "scores": {str(name): round(float(p), 6) for name, p in zip(names, row, strict=True)},
                    "predicted_label": names[int(np.argmax(row))],
                }
                for row in values
            ]
        else:
            chosen = (values >= (0.5 if spec.cutoff is None else spec.cutoff)).astype(int)
            rows = [
                {"score": round(float(s), 6), "predicted_label": int(c), "label": names[int(c)]}
                for s, c in zip(values, chosen, strict=True)
            ]
        return json.dumps({"predictions": rows}), JSON
    raise UnsupportedContentType(f"accept type {accept!r} is not supported; ask for {CSV} or {JSON}")


def transform_fn(model: TrainedModel, request_body: str | bytes, content_type: str, accept: str):
    """The container's whole request (the bundle's serve.py exports this and model_fn)."""
    try:
        frame = input_fn(request_body, content_type)
    except UnsupportedContentType as error:
        return _refusal(error, 415)
    except ValueError as error:
        return _refusal(error, 400)
    try:
        scores = predict_fn(frame, model)
    except ValueError as error:
        return _refusal(error, 400)
    try:
        return output_fn(scores, accept, model.spec)
    except UnsupportedContentType as error:
        return _refusal(error, 406)


def _refusal(error: ValueError, status: int):
    """A response with a status of its own: the image's server (sagemaker-containers) is only
    in the container, so it is imported here, when a request is refused there."""
    from sagemaker_containers.beta.framework import worker

    logging.getLogger(__name__).warning("refused a request (%s): %s", status, error)
    return worker.Response(response=json.dumps({"error": str(error)}), status=status, mimetype=JSON)
