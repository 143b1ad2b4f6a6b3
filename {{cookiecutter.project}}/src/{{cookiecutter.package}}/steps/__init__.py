"""Step code: each module is one SageMaker job and a plain function the local run calls.

Paths are arguments (the /opt/ml/... defaults are only where SageMaker mounts them), so the same
functions run in-process, in tests and inside SageMaker Processing and Training containers.
job_paths.py names the processing jobs' inputs and outputs and where they are mounted, for both
these modules and the pipeline definition that mounts them.
"""
