"""keelwatch: govern container base images and decide which containers to secure first."""

__version__ = "0.1.0"
