"""Exceptions with messages meant for the user (the CLI prints them without a traceback)."""


class SpinedlrError(Exception):
    """Base class: an error the user can fix, with a message that says how."""


class ConfigError(SpinedlrError):
    """The study configuration is invalid (names the file and key)."""


class ManifestError(SpinedlrError):
    """The manifest or a file it points to is invalid (names the patient, column or file)."""


class InputError(SpinedlrError):
    """A stage got input it cannot use (names the case and file)."""


class Interrupted(SpinedlrError):
    """Ctrl-C: the message says what was kept (the CLI adds how to resume)."""
