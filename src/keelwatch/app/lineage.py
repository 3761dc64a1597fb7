"""Lineage over everything keelwatch knows: record images, build the index, resolve chains."""

from __future__ import annotations

from keelwatch.app.catalogue import Catalogue
from keelwatch.lineage.index import LineageIndex
from keelwatch.lineage.lineage import KnownImage, Lineage, resolve_lineage
from keelwatch.model import ScanResult
from keelwatch.oci.reference import canonical_name, try_parse
from keelwatch.store import images
from keelwatch.store.db import Store
from keelwatch.store.images import ImageFacts


def image_key(scan: ScanResult) -> str:
    return scan.image.digest or scan.image.config_digest or scan.image.ref


def image_names(refs: list[str]) -> list[str]:
    """The names one image was seen under: canonical (every spelling of a name is one name),
    registry names first, so a pushed image is not named after the local path it came from."""
    names = list(dict.fromkeys(canonical_name(r) for r in refs))
    return sorted(names, key=lambda n: (ref := try_parse(n)) is None or ref.transport.is_local)


def image_facts(scan: ScanResult) -> ImageFacts:
    """What lineage keeps of a scanned image."""
    image = scan.image
    return ImageFacts(
        key=image_key(scan),
        ref=canonical_name(image.ref),  # one name per image name, whatever the spelling
        diff_ids=tuple(layer.diff_id for layer in image.layers),
        history_length=image.history_length,
        annotations=dict(image.annotations),
        labels=dict(image.labels),
        created=image.created or "",
        os_id=image.os.id,
        os_version=image.os.version_id,
    )


def remember_image(store: Store, scan: ScanResult, scan_id: int | None = None) -> None:
    """Record (or refresh) an image's chain and names for lineage; idempotent per digest."""
    images.remember_image(store, image_facts(scan), scan_id)


class FleetLineage:
    """The lineage index over every known image, with approved bases preferred among twins."""

    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        approved = catalogue.approved_digests()
        self.known: dict[str, KnownImage] = {}
        for image in images.known_images(store):
            image.preference = 1 if image.key in approved else 0
            image.refs = tuple(image_names(list(image.refs)))  # rows written before canonical names
            self.known[image.key] = image
        self.index = LineageIndex(k.chain_image() for k in self.known.values())

    def resolve(self, scan: ScanResult) -> Lineage:
        """Lineage of a scanned image (it need not be stored yet)."""
        key = image_key(scan)
        image = self.known.get(key) or KnownImage(
            key=key,
            diff_ids=tuple(layer.diff_id for layer in scan.image.layers),
            refs=(scan.image.ref,),
            history_length=scan.image.history_length,
            annotations=scan.image.annotations,
            labels=scan.image.labels,
        )
        given = canonical_name(scan.image.ref)
        if image.refs[:1] != (scan.image.ref,):
            # the name the user gave titles the lineage; the image's other names are aliases
            image = KnownImage(
                image.key,
                image.diff_ids,
                (scan.image.ref, *(r for r in image.refs if r not in (given, scan.image.ref))),
                image.history_length,
                image.annotations,
                image.labels,
                image.preference,
            )
        platform = scan.image.platform

        def current(name: str) -> str | None:
            ref = try_parse(name)  # names come from data (annotations): never a local path
            if ref is None or ref.transport.is_local:
                return None
            return self.catalogue.current_digest(ref, platform)

        return resolve_lineage(image, self.index, self.known, current)
