"""Three shortcuts that take the offline build from tens of seconds to a few, swapped in only while it runs.

The SDK repeats costly things that give the same answer every time within one build:
- it checks its config schema against the JSON-Schema metaschema on every settings lookup
  (about 170 per build, ~0.1 s each; the schema is a constant of the SDK, so it is checked once
  per process);
- botocore decodes its JSON data (endpoints, service models: megabytes) for every session and
  image URI lookup, and the SDK makes sessions of its own (about 100 decodes per build);
- each processing step makes a local-mode client, with a session of its own (S3 clients, its
  config read twice), only to read the name of one of the client's methods: four per build, about
  40 % of a build once the SDK is imported.

Each shortcut swaps one library name for the length of the build and puts it back after; no
library's code is edited. tests/test_pipeline_offline.py fails loudly if an upgrade of the SDK,
jsonschema or botocore makes a shortcut stop applying (the build would silently get slow again)
or changes what it returns.
"""

from __future__ import annotations

from contextlib import contextmanager

_CHECKED: dict[int, object] = {}  # id -> schema, kept alive so no other schema takes its id


@contextmanager
def schema_checked_once():
    """`jsonschema.validate` that checks each schema once per process, then validates only the
    instance: the same errors for a config that does not match. The SDK looks the function up at
    call time."""
    import jsonschema

    original = jsonschema.validate

    def validate(instance, schema, cls=None, *args, **kwargs):
        cls = cls or jsonschema.validators.validator_for(schema)
        if id(schema) not in _CHECKED:
            cls.check_schema(schema)
            _CHECKED[id(schema)] = schema
        error = jsonschema.exceptions.best_match(cls(schema, *args, **kwargs).iter_errors(instance))
        if error is not None:
            raise error

    jsonschema.validate = validate
    try:
        yield
    finally:
        jsonschema.validate = original


_LOADERS: dict = {}  # search path -> the loader every build in this process shares


@contextmanager
def one_data_loader():
    """Every botocore data loader asked for during a build is one shared loader per search path,
    so each JSON file is decoded once per process (tests build many times). Sessions share the
    decoded data as one session's clients always do; their credentials, region and handlers stay
    their own."""
    import botocore.loaders
    import botocore.session

    original = botocore.loaders.create_loader

    def shared(search_path_string=None):
        if search_path_string not in _LOADERS:
            _LOADERS[search_path_string] = original(search_path_string)
        return _LOADERS[search_path_string]

    # Sessions call botocore.session's own name for the function, the SDK botocore.loaders'.
    botocore.loaders.create_loader = botocore.session.create_loader = shared
    try:
        yield
    finally:
        botocore.loaders.create_loader = botocore.session.create_loader = original


@contextmanager
def local_clients_without_sessions():
    """The pipeline steps' local-mode client, without the session it would make: the steps only
    read a method's name from it (never call one), and the methods are the SDK's own."""
    from sagemaker.mlops.workflow import steps

    original = steps.LocalSagemakerClient

    class WithoutSession(original):
        def __init__(self, sagemaker_session=None):
            self.sagemaker_session = sagemaker_session

    steps.LocalSagemakerClient = WithoutSession
    try:
        yield
    finally:
        steps.LocalSagemakerClient = original
