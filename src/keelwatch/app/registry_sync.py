"""Walk a whole registry: record where every tag points over time, scan only what is new.

`sync_registry` lists `/v2/_catalog` and each repository's tags (Link pagination),
resolves each tag to a digest with a HEAD (a GET only for digests keelwatch has not
seen, to follow a multi-arch index to the platform's manifest), records tag -> digest in
the tag history (so lineage can tell a base was rebuilt under the same tag), and scans
only digests that are neither in `known_images` nor in `scans`. A digest already known
under another name just gains the new name. Optionally, every image under the base
namespace (default `base/`) is registered as a catalogue candidate.

Per-tag problems (a tag deleted mid-walk, a non-image artifact such as a signature, a
platform the index lacks, a corrupt layer) are reported per tag and the walk goes on;
each tag's writes are complete or absent. Registry-wide problems (unreachable,
catalog access denied) end the sync with one error.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from keelwatch.app.catalogue import Catalogue
from keelwatch.app.lineage import remember_image
from keelwatch.app.scanning import Progress, scan_and_store
from keelwatch.errors import ImageSourceError, KeelwatchError
from keelwatch.governance.catalogue import repository_of
from keelwatch.governance.workflow import Actor
from keelwatch.model import ScanResult
from keelwatch.oci.image import DEFAULT_PLATFORM
from keelwatch.oci.reference import canonical_name, parse_registry_reference
from keelwatch.oci.registry import RegistryClient
from keelwatch.oci.resolve import CONFIG_TYPES, INDEX_TYPES, MANIFEST_TYPES, parse_json, select_manifest
from keelwatch.store import images
from keelwatch.store.db import Store
from keelwatch.store.scans import latest_scan_id, load_scan, scanned_manifest_digests

# what happened to one tag
NEW = "scanned"  # a digest keelwatch had not seen: scanned and stored
SEEN = "known"  # the digest was known already: tag recorded, nothing scanned
SKIPPED = "skipped"  # not an image keelwatch scans (artifact, missing platform, tag gone)
FAILED = "failed"  # an error while resolving or scanning this tag


@dataclass(slots=True)
class TagOutcome:
    ref: str  # registry/repository:tag
    status: str
    digest: str | None = None  # the image (platform manifest) digest recorded for the tag
    previous: str | None = None  # what the tag pointed at before, when it moved
    first_seen: bool = False  # keelwatch had never seen this tag before
    registered: bool = False
    message: str = ""

    @property
    def moved(self) -> bool:
        return bool(self.previous and self.digest and self.previous != self.digest)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "status": self.status,
            "digest": self.digest,
            "previous": self.previous,
            "moved": self.moved,
            "first_seen": self.first_seen,
            "registered": self.registered,
            "message": self.message,
        }


@dataclass(slots=True)
class SyncReport:
    registry: str
    repositories: list[str] = field(default_factory=list)
    outcomes: list[TagOutcome] = field(default_factory=list)

    def _with(self, status: str) -> list[TagOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def scanned(self) -> list[TagOutcome]:
        return self._with(NEW)

    @property
    def failed(self) -> list[TagOutcome]:
        return self._with(FAILED)

    @property
    def skipped(self) -> list[TagOutcome]:
        return self._with(SKIPPED)

    @property
    def moved(self) -> list[TagOutcome]:
        return [o for o in self.outcomes if o.moved]

    @property
    def registered(self) -> list[TagOutcome]:
        return [o for o in self.outcomes if o.registered]

    def to_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "repositories": len(self.repositories),
            "tags": len(self.outcomes),
            "new_digests": len({o.digest for o in self.scanned}),
            "moved_tags": len(self.moved),
            "new_tags": sum(1 for o in self.outcomes if o.first_seen),
            "registered": len(self.registered),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


HEAD_WORKERS = 8  # concurrent HEAD requests per repository
TagProgress = Callable[[int, int, str], None]  # (tags done, tags total, ref being synced)


def in_namespace(repository: str, namespace: str) -> bool:
    """`base/` holds `base/debian` and `base/x/y`; an empty namespace holds everything."""
    prefix = namespace.strip("/")
    return not prefix or repository == prefix or repository.startswith(prefix + "/")


class _Seen:
    """Digests keelwatch already has (known_images keys and stored scans), kept current during a sync."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.refs = images.names_by_key(store)
        self.known = set(self.refs)
        self.scanned = scanned_manifest_digests(store)

    def __contains__(self, digest: str) -> bool:
        return digest in self.known or digest in self.scanned

    def add_name(self, digest: str, ref: str) -> None:
        """A known image seen under one more name: lineage shows names, and outdated-base checks need them."""
        ref = canonical_name(ref)  # as app.lineage records names
        if ref in self.refs.get(digest, ()):
            return
        if digest not in self.known:
            self._remember_from_scans(digest)
        images.add_name(self.store, digest, ref)
        self.refs.setdefault(digest, set()).add(ref)

    def _remember_from_scans(self, digest: str) -> None:
        """A digest stored by a plain scan but never recorded for lineage: record it from that scan."""
        scan_id = latest_scan_id(self.store, digest)
        result = load_scan(self.store, scan_id) if scan_id is not None else None
        if result is not None:
            remember_image(self.store, result, scan_id)
            self.known.add(digest)
            self.refs.setdefault(digest, set()).add(result.image.ref)

    def stored_scan(self, digest: str) -> tuple[ScanResult, int] | None:
        scan_id = images.scan_id_of(self.store, digest)
        if scan_id is None:
            scan_id = latest_scan_id(self.store, digest)
        result = load_scan(self.store, scan_id) if scan_id is not None else None
        return (result, scan_id) if result is not None and scan_id is not None else None


def _image_digest(
    client: RegistryClient, repo: str, digest: str, platform: str, where: str
) -> tuple[str, set[str]]:
    """The manifest digest of the image for `platform` under `digest` (an image or an index),
    and the digests of every other manifest an index lists (the same tag on other platforms)."""
    siblings: set[str] = set()
    for _ in range(4):
        data, media_type, _ = client.get_manifest(repo, digest)
        doc = parse_json(data, f"manifest {digest} of {where}")
        mt = doc.get("mediaType") or media_type
        if mt in INDEX_TYPES or (not mt and "manifests" in doc):
            listed = doc.get("manifests") if isinstance(doc.get("manifests"), list) else []
            siblings |= {str(m.get("digest")) for m in listed if isinstance(m, dict)}
            digest = select_manifest(doc, platform, where)["digest"]
            continue
        if mt not in MANIFEST_TYPES:
            raise _Skip(f"not an image manifest ({mt or 'no media type'})")
        config_type = (doc.get("config") or {}).get("mediaType")
        if config_type and config_type not in CONFIG_TYPES:
            raise _Skip(f"an artifact, not a container image (config {config_type})")
        return digest, siblings - {digest}
    raise ImageSourceError(f"{where}: image indexes nested too deeply")


class _Skip(Exception):
    """This tag holds nothing keelwatch scans."""


def sync_registry(
    store: Store,
    catalogue: Catalogue,
    registry: str,
    *,
    namespace: str = "",
    insecure: bool = False,
    platform: str = DEFAULT_PLATFORM,
    register_bases: bool = False,
    base_namespace: str = "base/",
    actor: Actor | None = None,
    page_size: int | None = None,
    progress: TagProgress | None = None,
    layer_progress: Progress | None = None,
) -> SyncReport:
    """Sync every repository under `namespace` (all when empty) of `registry` into the store."""
    ref = parse_registry_reference(f"{registry.rstrip('/')}/keelwatch-sync-probe")
    host = ref.registry or registry
    if register_bases and actor is None:
        raise KeelwatchError("registering bases needs an actor (KEELWATCH_ACTOR / KEELWATCH_TEAM)")
    report = SyncReport(registry=host)
    seen = _Seen(store)
    with RegistryClient.for_reference(ref, insecure=insecure) as client:
        report.repositories = [r for r in client.list_repositories(page_size) if in_namespace(r, namespace)]
        tags = {repo: client.list_tags(repo, page_size) for repo in report.repositories}
        total = sum(len(t) for t in tags.values())
        done = 0
        for repo, repo_tags in tags.items():
            current = catalogue.current_digests(_repository_key(host, repo), platform)
            for tag, top in zip(repo_tags, _heads(client, repo, repo_tags), strict=True):
                tag_ref = f"{host}/{repo}:{tag}"
                if progress is not None:
                    progress(done, total, tag_ref)
                done += 1
                outcome = _sync_tag(
                    client, store, catalogue, seen, repo, tag_ref, top, current.get(tag), platform, insecure,
                    layer_progress,
                )  # fmt: skip
                if register_bases and outcome.digest and in_namespace(repo, base_namespace):
                    assert actor is not None
                    try:
                        outcome.registered = _register(catalogue, seen, outcome, actor)
                    except KeelwatchError as exc:
                        outcome.message = f"not registered: {exc}"
                report.outcomes.append(outcome)
        if progress is not None:
            progress(total, total, "")
    return report


def _sync_tag(
    client: RegistryClient,
    store: Store,
    catalogue: Catalogue,
    seen: _Seen,
    repo: str,
    tag_ref: str,
    top: str | None | KeelwatchError,
    previous: str | None,
    platform: str,
    insecure: bool,
    layer_progress: Progress | None,
) -> TagOutcome:
    try:
        if isinstance(top, KeelwatchError):
            raise top
        if top is None:
            return TagOutcome(tag_ref, SKIPPED, message="tag gone since it was listed")
        digest, siblings = (
            (top, set()) if top in seen else _image_digest(client, repo, top, platform, tag_ref)
        )
        status = SEEN
        if digest in seen:
            seen.add_name(digest, tag_ref)
        else:
            status = NEW
            stored = scan_and_store(
                store, tag_ref, platform=platform, insecure=insecure, progress=layer_progress
            )
            digest = stored.result.image.digest or digest  # the tag may have moved since the HEAD
            seen.known.add(digest)
        if status == SEEN:  # a new scan recorded its tag in the transaction that stored it
            catalogue.record_tag(tag_ref, digest, platform=platform)
        # another platform's image of the same index is not a move
        moved_from = previous if previous and previous != digest and previous not in siblings else None
        return TagOutcome(tag_ref, status, digest, moved_from, first_seen=previous is None)
    except _Skip as exc:
        return TagOutcome(tag_ref, SKIPPED, message=str(exc))
    except KeelwatchError as exc:
        if "no image for platform" in str(exc):
            return TagOutcome(tag_ref, SKIPPED, message=str(exc))
        return TagOutcome(tag_ref, FAILED, message=str(exc))


def _heads(client: RegistryClient, repo: str, tags: list[str]) -> list[str | None | KeelwatchError]:
    """Each tag's top digest (None: gone), HEADs in parallel: over a WAN the round trips dominate."""

    def head(tag: str) -> str | None | KeelwatchError:
        try:
            return client.head_manifest(repo, tag)
        except KeelwatchError as exc:
            return exc

    if len(tags) < 2:
        return [head(t) for t in tags]
    with ThreadPoolExecutor(max_workers=HEAD_WORKERS) as pool:
        return list(pool.map(head, tags))


def _repository_key(host: str, repo: str) -> str:
    """The catalogue key of a listed repository; a name the registry should never have listed
    keys nothing (each of its tags then fails alone, with the parser's reason)."""
    try:
        return repository_of(parse_registry_reference(f"{host}/{repo}"))[0]
    except KeelwatchError:
        return ""


def _register(catalogue: Catalogue, seen: _Seen, outcome: TagOutcome, actor: Actor) -> bool:
    """Register the tag's image as a candidate; False when the digest is in the catalogue already."""
    assert outcome.digest is not None
    if catalogue.get(outcome.digest) is not None:
        return False
    stored = seen.stored_scan(outcome.digest)
    if stored is None:
        raise KeelwatchError(f"no stored scan of {outcome.digest}")
    result, scan_id = stored
    _, created = catalogue.register(result, outcome.ref, actor, scan_id=scan_id)
    return created
