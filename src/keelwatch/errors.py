"""Errors that end a command with a clear one-line message and a non-zero exit.

Every error a user can cause derives from KeelwatchError; the CLI prints
`error: <message>` and exits 2 for these, never a traceback.
"""


class KeelwatchError(Exception):
    """Base of all user-facing errors: the message is the whole explanation."""


class ImageSourceError(KeelwatchError):
    """The image reference cannot be resolved or read (bad path, missing blob, auth, network)."""


class DigestMismatchError(ImageSourceError):
    """A blob's content does not match its digest: the image is corrupt or tampered with."""


class LayerError(KeelwatchError):
    """A layer cannot be read safely (corrupt stream, bomb, limits exceeded)."""


class FeedError(KeelwatchError):
    """Vulnerability feed input is invalid; the update is rejected and stored data is untouched."""


class VersionError(KeelwatchError, ValueError):
    """A version string the ecosystem's rules cannot parse."""


class PolicyError(KeelwatchError):
    """A policy file is invalid (unknown rule, wrong type, bad regex)."""


class StoreError(KeelwatchError):
    """The store cannot be opened or migrated."""
