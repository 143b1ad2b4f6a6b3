"""Where the pipeline's processing jobs find their inputs and leave their outputs.

pipeline/definition.py mounts each input at input_dir(name) and uploads each output from
output_dir(name); the step modules' path options default to the same folders, and the steps
that write or read an output use the same names. Both import this one module (it ships in the
code bundle with the steps), so a name or a folder cannot drift between them.
"""

from __future__ import annotations

PROCESSING = "/opt/ml/processing"
OUTPUTS = f"{PROCESSING}/output"  # preprocess writes one folder per output here
# A processing job on several instances learns which one it is from this file (shards.py).
RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"

# Names of inputs and outputs: the step that writes one and the steps that read it agree on them.
CODE = "code"  # the code bundle (bundle.py), which every job runs from
WHEELS = "wheels"  # the locked dependencies' wheels the job launcher installs
DATA = "data"  # the raw data
DATA_CHECKS = "data_checks"  # the data checks' report, which preprocess reads before anything else
TRAIN, VALIDATION, TEST = SPLITS = ("train", "validation", "test")  # preprocess's splits, a folder each
CLARIFY = "clarify"  # preprocess's header-less train/ and test/ for the Clarify jobs, and FACET_GROUPS/
FACET_GROUPS = "facet_groups"  # the test split's facet group sizes, for the bias gate's min_rows rule
MODEL = "model"  # the training job's model.tar.gz
EVALUATION = "evaluation"  # holds EVALUATION_FILE
GATES = "gates"  # holds GATES_FILE

EVALUATION_FILE = "evaluation.json"
GATES_FILE = "gates.json"
SUITE = "data_checks/training.json"  # in the code bundle, where the jobs run


def input_dir(name: str) -> str:
    return f"{PROCESSING}/input/{name}"


def output_dir(name: str) -> str:
    return f"{OUTPUTS}/{name}"
