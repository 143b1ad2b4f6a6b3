"""{{ cookiecutter.description }}"""

import atexit
import gc
import os

# XGBoost's OpenMP threads spin while they wait for each other, which collapses training several
# times over when another process holds a core; waiting passively costs nothing on idle CPUs.
# OpenMP reads this once, when xgboost loads: the package sets it before any module imports xgboost
# (the model server imports xgboost first, so the endpoint's environment sets it too).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The libraries the commands and jobs import (Great Expectations, XGBoost, scikit-learn, pandas)
# leave about 350,000 long-lived objects, and Python walks every one of them on each full garbage
# collection and again at exit: about 2 s of a 10 s local run. Full collections now come after 100
# younger ones (not 10), and at exit the objects are frozen, so the last collection skips them.
# Data is freed by reference counting, not by these collections: memory use is the same.
gc.set_threshold(*gc.get_threshold()[:2], 100)
atexit.register(gc.freeze)

__version__ = "0.1.0"
