"""Hypothesis generators of realistic version strings for each ecosystem.

Versions are built from small piece alphabets so that generated pairs often share
prefixes and differ in exactly the places the ordering rules care about (`~`,
`^`, epochs, pre-release suffixes, leading zeros, letters vs digits).
"""

from __future__ import annotations

from hypothesis import Phase
from hypothesis import strategies as st

# For tests where one oracle call judges a whole batch and the failure lists every
# mismatching pair: shrinking (hundreds of oracle re-runs) would buy nothing.
BATCH_PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


def _joined(pieces: list[str], min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), min_size=min_size, max_size=max_size).map("".join)


def pairs(
    versions: st.SearchStrategy[str], tweak: st.SearchStrategy[str]
) -> st.SearchStrategy[tuple[str, str]]:
    """Independent pairs, and pairs where b is a with a small tail added (near-equal versions)."""
    independent = st.tuples(versions, versions)
    near = st.tuples(versions, tweak).map(lambda t: (t[0], t[0] + t[1]))
    swapped = near.map(lambda t: (t[1], t[0]))
    return st.one_of(independent, near, swapped)


# --- dpkg -----------------------------------------------------------------------------------
_DPKG_UP = [
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "00",
    ".",
    ".",
    "+",
    "~",
    "~~",
    "a",
    "b",
    "z",
    "A",
    "rc",
    "dfsg",
    "git",
]
_DPKG_REV = ["0", "1", "2", "10", "ubuntu", "deb", "u", "+", "~", "bpo", ".", "build"]
dpkg_epoch = st.sampled_from(["", "", "", "0:", "1:", "2:", "10:", "01:"])
dpkg_upstream = st.tuples(st.sampled_from(["0", "1", "2", "10", "1.0", "2.30"]), _joined(_DPKG_UP, 0, 5)).map(
    "".join
)
dpkg_revision = st.one_of(st.just(""), _joined(_DPKG_REV, 1, 4).map(lambda r: "-" + r))
dpkg_realistic = st.tuples(dpkg_epoch, dpkg_upstream, dpkg_revision).map("".join)
# Free-form strings over dpkg's syntax characters: exercises validation (empty revision,
# bad epochs, non-digit starts which dpkg only warns about).
dpkg_raw = st.text(alphabet="0123456789.+~:-aZ", min_size=1, max_size=10)
dpkg_versions = st.one_of(dpkg_realistic, dpkg_realistic, dpkg_raw)
dpkg_pairs = pairs(dpkg_versions, st.sampled_from(["~", "~~", "+", ".", "0", "a", "-1", ".0", "~rc1", "+b1"]))

# --- rpm ------------------------------------------------------------------------------------
_RPM = [
    "0",
    "1",
    "2",
    "10",
    "01",
    "001",
    ".",
    ".",
    "_",
    "+",
    "~",
    "^",
    "a",
    "b",
    "rc",
    "git",
    "el",
    "fc",
    "Z",
    "α",
]
rpm_field = st.tuples(st.sampled_from(["0", "1", "2", "10", "1.0", "a"]), _joined(_RPM, 0, 5)).map("".join)
rpm_evr = st.tuples(
    st.sampled_from(["", "", "0:", "1:", "2:", "10:"]),
    rpm_field,
    st.one_of(st.just(""), rpm_field.map(lambda r: "-" + r)),
).map("".join)
rpm_pairs = pairs(rpm_evr, st.sampled_from(["~", "^", ".0", "a", "~rc1", "^git1", "-1", ".el8"]))

# --- apk ------------------------------------------------------------------------------------
_APK_SUFFIX = ["_alpha", "_beta", "_pre", "_rc", "_p", "_cvs", "_svn", "_git", "_hg"]
apk_versions = st.builds(
    lambda first, dots, letter, suffixes, commit, rev: first + dots + letter + suffixes + commit + rev,
    st.sampled_from(["0", "1", "2", "10", "01", "006"]),
    _joined([".0", ".1", ".2", ".10", ".01", ".001"], 0, 4),
    st.sampled_from(["", "", "", "a", "b", "z"]),
    st.lists(
        st.tuples(st.sampled_from(_APK_SUFFIX), st.sampled_from(["", "1", "2", "10", "20240101"])).map(
            "".join
        ),
        max_size=2,
    ).map("".join),
    st.sampled_from(["", "", "", "~1234", "~abcd", "~0f"]),
    st.sampled_from(["", "", "-r0", "-r1", "-r10"]),
)

# --- SemVer / node-semver -------------------------------------------------------------------
_NUM = st.sampled_from(["0", "1", "2", "10", "01"])
_PRE = ["alpha", "beta", "rc", "0", "1", "2", "10", "01", "a-b", "-", "x1", "RC"]
semver_versions = st.builds(
    lambda prefix, ma, mi, pa, pre, build: f"{prefix}{ma}.{mi}.{pa}{pre}{build}",
    st.sampled_from(["", "", "", "v", "=", " "]),
    _NUM,
    _NUM,
    _NUM,
    st.one_of(
        st.just(""), st.lists(st.sampled_from(_PRE), min_size=1, max_size=3).map(lambda p: "-" + ".".join(p))
    ),
    st.sampled_from(["", "", "+build", "+001", "+a.b"]),
)
semver_strict_valid = st.builds(
    lambda ma, mi, pa, pre, build: f"{ma}.{mi}.{pa}{pre}{build}",
    st.integers(0, 12),
    st.integers(0, 12),
    st.integers(0, 12),
    st.one_of(
        st.just(""),
        st.lists(
            st.one_of(st.integers(0, 12).map(str), st.sampled_from(["alpha", "beta", "rc", "a-b", "x1"])),
            min_size=1,
            max_size=3,
        ).map(lambda p: "-" + ".".join(p)),
    ),
    st.sampled_from(["", "+build", "+001"]),
)

# --- Go -------------------------------------------------------------------------------------
go_versions = st.one_of(
    semver_strict_valid.map(lambda v: "v" + v),
    semver_strict_valid,
    st.builds(
        lambda base, ts, h: f"v{base}-{ts}-{h}",
        st.sampled_from(["0.0.0", "1.2.3", "1.2.4-0", "1.2.3-pre.0"]),
        st.sampled_from(["20191109021931", "20200101000000", "20231231235959"]),
        st.sampled_from(["daa7c04131f5", "0123456789ab"]),
    ),
    st.sampled_from(["v2.0.0+incompatible", "v1", "v1.2", "0"]),
)

# --- Maven ----------------------------------------------------------------------------------
_MAVEN = [
    "1",
    "2",
    "0",
    "10",
    "01",
    ".",
    ".",
    "-",
    "-",
    "alpha",
    "a",
    "beta",
    "b",
    "m",
    "milestone",
    "rc",
    "cr",
]
_MAVEN += ["SNAPSHOT", "ga", "final", "release", "sp", "xyz", "abc", "RELEASE", "Final"]
maven_raw = st.tuples(st.sampled_from(["1", "2", "0", "10"]), _joined(_MAVEN, 0, 6)).map("".join)
# Release-shaped versions (numbers, then one optional qualifier with an optional number):
# ComparableVersion is a total order on these.
maven_realistic = st.builds(
    lambda nums, sep, qual, qnum: ".".join(nums) + (f"{sep}{qual}{qnum}" if qual else ""),
    st.lists(st.sampled_from(["0", "1", "2", "10", "01"]), min_size=1, max_size=4),
    st.sampled_from(["-", ".", ""]),
    st.sampled_from(
        ["", "", "alpha", "beta", "milestone", "rc", "cr", "SNAPSHOT", "Final", "RELEASE", "sp", "jre"]
    ),
    st.sampled_from(["", "1", "2", "10", "-1", ".1"]),
)
maven_pairs = pairs(
    st.one_of(maven_raw, maven_realistic), st.sampled_from(["-1", ".0", "-SNAPSHOT", "sp", ".a"])
)

# --- PEP 440 --------------------------------------------------------------------------------
pep440_versions = st.builds(
    lambda epoch, release, pre, post, dev, local: f"{epoch}{release}{pre}{post}{dev}{local}",
    st.sampled_from(["", "", "", "1!"]),
    st.lists(st.sampled_from(["0", "1", "2", "10", "01"]), min_size=1, max_size=4).map(".".join),
    st.sampled_from(["", "", "a1", "b2", "rc1", "alpha2", "c1", ".pre3"]),
    st.sampled_from(["", "", ".post1", "-1", "post2"]),
    st.sampled_from(["", "", ".dev0", "dev3"]),
    st.sampled_from(["", "", "+local", "+abc.5", "+5"]),
)

# RubyGems: numeric head, letter and digit segments after dots, an optional `-` tail; zeros
# inside and at the end exercise canonical_segments.
_GEM_SEG = [".0", ".1", ".2", ".10", ".00", ".a", ".b", ".pre", ".rc1", ".Z", ".1a", ".0.0"]
rubygems_versions = st.tuples(
    st.sampled_from(["0", "1", "2", "10", "01"]),
    _joined(_GEM_SEG, 0, 5),
    st.sampled_from(["", "", "", "-pre", "-rc.1", "-1", "-x86-linux"]),
).map("".join)
