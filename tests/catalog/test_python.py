"""The python cataloger on core metadata extracted from real PyPI wheels and an sdist."""

from __future__ import annotations

from pathlib import Path

from keelwatch.catalog.python import PythonCataloger, normalise_name

from ._support import FIXTURES, make_root, parse_ok, primary_location, scan_dir, syft_artifacts

DIR = FIXTURES / "python"
CAT = PythonCataloger()
SITE = "/usr/lib/python3/dist-packages"


def _image_files() -> dict[str, Path | bytes | str]:
    files: dict[str, Path | bytes | str] = {
        f"{SITE}/{d.name}/METADATA": d / "METADATA" for d in DIR.iterdir() if d.name.endswith(".dist-info")
    }
    sdist = DIR / "six-1.16.0.egg-info.PKG-INFO"
    files[f"{SITE}/six.egg-info/PKG-INFO"] = sdist  # directory form, as setuptools installs it
    files["/opt/app/six-1.16.0-py3.11.egg-info"] = sdist  # single-file form (distutils)
    files[f"{SITE}/six-1.16.0-py3.11.egg/EGG-INFO/PKG-INFO"] = sdist  # an unpacked egg (easy_install)
    return files


def test_agrees_with_syft(tmp_path: Path) -> None:
    """Same packages (dist-info and egg-info each reported), names, versions, purls and locations;
    licences equal wherever Syft's come from License-Expression or a short License field."""
    root = make_root(tmp_path / "root", _image_files())
    theirs = {
        (a["name"], a["version"], primary_location(a)): a
        for a in syft_artifacts(root, tmp_path)
        if a["type"] == "python"
    }
    result = scan_dir(root)
    assert result.warnings == []
    ours = {(p.name, p.version, p.locations[0]): p for p in result.packages if p.type == "python"}
    assert set(ours) == set(theirs)
    for key, pkg in ours.items():
        assert pkg.purl == theirs[key]["purl"]
        syft_lic = [lic["value"] for lic in theirs[key]["licenses"]]
        if syft_lic and all(len(v) <= 120 and "\n" not in v for v in syft_lic):
            assert pkg.licenses == syft_lic


def test_licence_sources() -> None:
    def lic(dist: str) -> list[str]:
        data = (DIR / dist / "METADATA").read_bytes()
        return parse_ok(CAT, f"{SITE}/{dist}/METADATA", data).packages[0].licenses

    assert lic("attrs-23.2.0.dist-info") == ["MIT"]  # License-Expression
    assert lic("requests-2.19.1.dist-info") == ["Apache 2.0"]  # short License
    # numpy pastes the whole BSD text into License: the Trove classifier is used instead.
    assert lic("numpy-1.26.4.dist-info") == ["BSD License"]
    assert lic("packaging-24.0.dist-info") == ["Apache Software License", "BSD License"]


def test_names_are_normalised() -> None:
    data = (DIR / "typing_extensions-4.12.2.dist-info/METADATA").read_bytes()
    [pkg] = parse_ok(CAT, f"{SITE}/typing_extensions-4.12.2.dist-info/METADATA", data).packages
    assert (pkg.name, pkg.purl) == ("typing-extensions", "pkg:pypi/typing-extensions@4.12.2")
    assert pkg.metadata["name"] == "typing_extensions"
    assert normalise_name("Foo__Bar.baz") == "foo-bar-baz"


def test_malformed_metadata_gives_warnings() -> None:
    real = (DIR / "six-1.16.0.dist-info/METADATA").read_bytes()
    path = f"{SITE}/six-1.16.0.dist-info/METADATA"
    garbage = real.replace(b"Summary:", b"this line has no colon\nSummary:", 1)
    result = parse_ok(CAT, path, garbage)
    assert [p.name for p in result.packages] == ["six"] and "no colon" in result.warnings[0]
    bad_utf8 = real.replace(b"Summary: ", b"Summary: \xff\xfe", 1)
    result = parse_ok(CAT, path, bad_utf8)
    assert result.packages and "invalid UTF-8" in result.warnings[0]
    for junk in (b"", b"\n", b"\x00\x01\x02", b"Name: only-a-name\n", real[:10]):
        result = parse_ok(CAT, path, junk)
        assert result.packages == [] and result.warnings
    huge = real.replace(b"\n\n", b"\n\n" + b"x" * (4 << 20), 1)  # a giant description body
    assert parse_ok(CAT, path, huge).packages[0].version == "1.16.0"
