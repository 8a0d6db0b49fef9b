"""Write docker/constraints.txt: the exact versions of sqlrec's run-time dependencies, as
installed in the environment this runs in (the one the tests passed in).

    .venv/bin/python docker/lock_requirements.py
    .venv/bin/python docker/lock_requirements.py --extra kubeflow   # kubeflow-constraints.txt

The image installs the package from the repository with these as pip constraints, so it runs
the versions the tests ran, not whatever the ranges of pyproject.toml allow on the day of the
build. Only the dependency graph of `sqlrec` itself (no extras) is written: dev tools stay out.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

CONSTRAINTS = Path(__file__).with_name("constraints.txt")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_pins(root: str = "sqlrec", extras: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every distribution `root` (with `extras`) needs at run time here (markers evaluated for
    this Python and platform, extras followed), with its installed version."""
    extras_seen: dict[str, set[str]] = {}
    pending = [(root, frozenset(extras))]
    while pending:
        name, extras = pending.pop()
        key = normalised(name)
        if key in extras_seen and extras <= extras_seen[key]:
            continue
        extras_seen.setdefault(key, set()).update(extras)
        for line in metadata.distribution(name).requires or []:
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in (extras or {""})]
            if requirement.marker and not any(requirement.marker.evaluate(environment)
                                              for environment in environments):
                continue
            pending.append((requirement.name, frozenset(requirement.extras)))
    return {metadata.distribution(key).metadata["Name"]: metadata.version(key)
            for key in extras_seen if key != normalised(root)}


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--extra") + 1] if "--extra" in argv else None
    pins = runtime_pins(extras=frozenset([extra] if extra else []))
    python = ".".join(map(str, sys.version_info[:2]))
    what = f"sqlrec[{extra}]'s" if extra else "sqlrec's"
    lines = [f"# Written by docker/lock_requirements.py on Python {python}: {what} run-time",
             "# dependencies as installed where the tests ran. Regenerate after changing them.",
             *(f"{name}=={version}" for name, version in sorted(pins.items(),
                                                              key=lambda pin: pin[0].lower()))]
    out = CONSTRAINTS.with_name(f"{extra}-constraints.txt") if extra else CONSTRAINTS
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(pins)} pins to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
