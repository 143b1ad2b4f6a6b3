"""{{ cookiecutter.description }}"""

import os

# XGBoost's OpenMP threads spin while they wait for each other, which collapses training several
# times over when another process holds a core; waiting passively costs nothing on idle CPUs.
# OpenMP reads this once, when xgboost loads: the package sets it before any module imports xgboost
# (the model server imports xgboost first, so the endpoint's environment sets it too).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
