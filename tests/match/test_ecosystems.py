"""Which ecosystem, name and version each package type is looked up under."""

from __future__ import annotations

from keelwatch.model import OSInfo, Package
from keelwatch.vulndb.ecosystems import Query, query_for


def test_distro_and_language_queries() -> None:
    deb = Package(
        "libssl3", "3.0.11-1~deb12u2+b1", "deb", source_name="openssl", source_version="3.0.11-1~deb12u2"
    )
    assert query_for(deb, OSInfo(id="debian", version_id="12")) == Query(
        "Debian:12", "openssl", "3.0.11-1~deb12u2"
    )
    assert query_for(deb, OSInfo(id="ubuntu", version_id="22.04")).ecosystem == "Ubuntu:22.04:LTS"
    assert query_for(deb, OSInfo(id="ubuntu", version_id="23.10")).ecosystem == "Ubuntu:23.10"
    assert query_for(deb, OSInfo(id="debian")) is None  # testing/sid: no advisory ecosystem
    assert query_for(deb, OSInfo(id="alpine", version_id="3.19.1")) is None
    apk = Package("libcrypto3", "3.1.4-r5", "apk", source_name="openssl")
    assert query_for(apk, OSInfo(id="alpine", version_id="3.19.1")) == Query(
        "Alpine:v3.19", "openssl", "3.1.4-r5"
    )
    rpm = Package("openssl-libs", "1:3.0.7-25.el9", "rpm")
    assert query_for(rpm, OSInfo(id="rocky", version_id="9.3")).ecosystem == "Rocky Linux:9"
    assert query_for(rpm, OSInfo(id="almalinux", version_id="8.9")).ecosystem == "AlmaLinux:8"
    assert query_for(rpm, OSInfo(id="rhel", version_id="9.3")) is None
    assert query_for(Package("Jinja2", "2.10", "python"), OSInfo()) == Query("PyPI", "jinja2", "2.10")
    assert query_for(Package("zope.interface", "5.0", "python"), OSInfo()).name == "zope-interface"
    assert query_for(Package("@babel/core", "7.0.0", "npm"), OSInfo()) == Query("npm", "@babel/core", "7.0.0")
