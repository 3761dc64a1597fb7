"""Coverage of the data per ecosystem of an image: covered, stale, not covered (fail closed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from keelwatch.model import OSInfo, Package
from keelwatch.vulndb.coverage import COVERED, NOT_COVERED, STALE, assess, image_ecosystems
from keelwatch.vulndb.model import FeedStatus

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def feed(name: str, age_days: float | None) -> FeedStatus:
    snapshot = "" if age_days is None else (NOW - timedelta(days=age_days)).isoformat()
    return FeedStatus(name, name.split(":")[0], "ok", 10, snapshot)


def test_each_ecosystem_of_the_image_is_judged() -> None:
    packages = [
        Package("openssl", "3.0.11-1~deb12u2", "deb", source_name="openssl"),
        Package("libc6", "2.36-9+deb12u4", "deb", source_name="glibc"),
        Package("requests", "2.19.1", "python"),
        Package("left-pad", "1.3.0", "npm"),
    ]
    present = image_ecosystems(packages, OSInfo(id="debian", version_id="12"))
    assert present == {("Debian:12", "deb"): 2, ("PyPI", "python"): 1, ("npm", "npm"): 1}
    feeds = [feed("debian-dsa", 1), feed("osv:PyPI", 30)]
    covering = {"Debian:12": ["debian-dsa"], "PyPI": ["osv:PyPI"]}
    coverage = assess(present, feeds, covering, max_age_days=5, now=NOW)
    assert {e.ecosystem: e.status for e in coverage.ecosystems} == {
        "Debian:12": COVERED,
        "PyPI": STALE,
        "npm": NOT_COVERED,
    }
    stale = coverage.with_status(STALE)[0]
    assert stale.reason(5) == "1 python package(s) (PyPI): data 30 days old in osv:PyPI (max 5)"
    assert coverage.to_dict()["feeds"][1]["age_days"] == 30.0


def test_no_advisory_ecosystem_and_undated_data_fail_closed() -> None:
    rhel = image_ecosystems([Package("bash", "5.1.8-6.el9", "rpm")], OSInfo(id="rhel", version_id="9.4"))
    assert rhel == {("rpm on rhel 9.4", "rpm"): 1}
    (eco,) = assess(rhel, [feed("osv:PyPI", 1)], {}, 5, NOW).ecosystems
    assert eco.status == NOT_COVERED and "no advisory data exists" in eco.reason(5)
    # a feed whose data proves no date cannot be called fresh
    (pypi,) = assess({("PyPI", "python"): 1}, [feed("osv:x", None)], {"PyPI": ["osv:x"]}, 5, NOW).ecosystems
    assert pypi.status == STALE
