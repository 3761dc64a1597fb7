"""The scan engine: stream layers safely, catalogue them (cached by diff_id), merge with whiteouts."""

from keelwatch.scan.cache import LayerCache
from keelwatch.scan.engine import scan_image, scan_reference

__all__ = ["LayerCache", "scan_image", "scan_reference"]
