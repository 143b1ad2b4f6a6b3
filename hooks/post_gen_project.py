"""Prune the optional parts the answers switched off: the one place that knows what each owns."""

import shutil
from pathlib import Path

PACKAGE = "src/{{ cookiecutter.package }}"
OPTIONAL_PARTS = {
    "use_feature_store": [
        "features",
        f"{PACKAGE}/feature_store",
        "tests/test_feature_definitions.py",
        "tests/test_feature_store.py",
        "tests/featurestore_stub.py",
    ],
    "use_clarify": [
        f"{PACKAGE}/bias.py",
        f"{PACKAGE}/bias_facets.py",
        f"{PACKAGE}/bias_intervals.py",
        f"{PACKAGE}/pipeline/clarify.py",
        "tests/test_bias.py",
        "tests/test_bias_semantics.py",
    ],
}
ANSWERS = {
    "use_feature_store": "{{ cookiecutter.use_feature_store }}",
    "use_clarify": "{{ cookiecutter.use_clarify }}",
}


def main():
    for switch, paths in OPTIONAL_PARTS.items():
        if ANSWERS[switch] == "yes":
            continue
        for path in map(Path, paths):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


if __name__ == "__main__":
    main()
