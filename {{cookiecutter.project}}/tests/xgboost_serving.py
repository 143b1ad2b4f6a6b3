"""The XGBoost image's WSGI application for script mode, rebuilt for the contract tests from
sagemaker-containers' own parts (the image's package itself is not on PyPI): the user module named
by SAGEMAKER_PROGRAM provides model_fn and transform_fn (or input_fn/predict_fn/output_fn), a
Transformer chains them and a Worker serves /ping and /invocations. gunicorn loads it as `xgboost_serving:main`, as the
image's serving entry point loads its own.
"""

import importlib

from sagemaker_containers.beta.framework import env, transformer, worker

_app = None


def main(environ, start_response):
    global _app
    if _app is None:
        module_name = env.ServingEnv().module_name
        user = importlib.import_module(module_name)
        if hasattr(user, "transform_fn"):  # as the image does: one function for the whole request
            handlers = transformer.Transformer(model_fn=user.model_fn, transform_fn=user.transform_fn)
        else:
            handlers = transformer.Transformer(
                model_fn=user.model_fn, input_fn=user.input_fn, predict_fn=user.predict_fn, output_fn=user.output_fn
            )
        handlers.initialize()
        _app = worker.Worker(transform_fn=handlers.transform, module_name=module_name)
    return _app(environ, start_response)
