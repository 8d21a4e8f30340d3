"""Our exception types. Each message is one line: what was tried, and what to do about it.

The UI turns any `LoaderError` into a readable message; anything else is a bug.
"""


class LoaderError(Exception):
    """Base of every error `loaders` raises on purpose."""


# --- where a checkpoint comes from -------------------------------------------------------------
class CheckpointNotFound(LoaderError):
    """A local folder that does not exist, or a string that is neither a folder nor a repo id."""


class RepoNotFound(LoaderError):
    """The Hub answered that the repository (or revision) does not exist or is private."""


class GatedRepo(LoaderError):
    """The repository needs an accepted licence or a token."""


class HubUnreachable(LoaderError):
    """No network (or offline mode) and the file is not in the local cache."""


class MissingFile(LoaderError):
    """The checkpoint lacks a file the requested component needs."""


class MalformedFile(LoaderError):
    """A file exists but cannot be parsed (bad JSON, truncated weights, ...)."""


class LocalPathRefused(LoaderError):
    """Public mode: only Hub repo ids are accepted."""


class DownloadTooLarge(LoaderError):
    """Public mode: a file is larger than the download cap."""


# --- what a checkpoint is ---------------------------------------------------------------------
class UnsupportedModelType(LoaderError):
    """`model_type` missing, unknown, or known but without the requested component."""


class RemoteCodeRefused(LoaderError):
    """The checkpoint asks to run its own Python code (`auto_map` / `trust_remote_code`)."""


class ConfigError(LoaderError):
    """A config value has the wrong type or an impossible value."""


# --- components ---------------------------------------------------------------------------------
class TokenizerError(LoaderError):
    """Tokenizer files inconsistent, or a call asks for something impossible (pad without pad token)."""


class FeatureExtractionError(LoaderError):
    """Preprocessing config invalid, or an input the extractor cannot take."""


class InputError(LoaderError):
    """A user input (audio, image, text) that cannot be used: corrupt, empty, too large."""


class WeightLoadingError(LoaderError):
    """Weights missing, unreadable, unsafe, or of the wrong shape."""


class NotImplementedFamily(LoaderError):
    """The family is known (listed in the registry) but this component is not implemented yet."""
