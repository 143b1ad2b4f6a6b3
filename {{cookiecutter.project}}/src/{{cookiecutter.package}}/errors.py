"""The one exception type users see: a message that says what failed, where, and how to fix it."""


class ProjectError(Exception):
    """A problem with the user's input or environment, reported as one clear message."""
