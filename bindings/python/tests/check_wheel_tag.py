"""Checks that a wheel's manylinux tag is honest, by auditwheel's reading of it.

    python check_wheel_tag.py WHEEL AUDITWHEEL_SHOW_JSON

The second argument is the output of ``auditwheel show --json WHEEL``. The tag
``manylinux_X_Y_ARCH`` in the wheel's name is honest when auditwheel finds no shared
library outside the manylinux policy and no instruction-set extension the
architecture does not guarantee (it then gives a manylinux tag itself), and no
glibc symbol version newer than X.Y. run_tests.sh runs it on the wheel it builds;
exits 1 with the reason otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def main(wheel: Path, report_path: Path) -> str:
    """The verdict as one line; raises SystemExit if the tag is not honest."""
    m = re.search(r"-py3-none-manylinux_(\d+)_(\d+)_(\w+)\.whl$", wheel.name)
    if m is None:
        sys.exit(f"{wheel.name}: not a py3-none-manylinux_X_Y_ARCH wheel")
    tagged = (int(m.group(1)), int(m.group(2)))
    arch = m.group(3)
    report = json.loads(report_path.read_text())
    best = report["overall_tag"]
    if not best.startswith("manylinux_") or not best.endswith(f"_{arch}"):
        sys.exit(
            f"{wheel.name}: auditwheel gives {best} (external libraries: "
            f"{sorted(report.get('external_libs') or {})}, unsupported ISA: "
            f"{report.get('unsupported_isa')})"
        )
    needed = (0, 0)
    for library, versions in report["versioned_symbols"].items():
        for version in versions:
            v = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(\.\d+)?", version)
            if v is None:
                sys.exit(f"{wheel.name}: {library} version {version} is not glibc's")
            needed = max(needed, (int(v.group(1)), int(v.group(2))))
    if needed > tagged:
        sys.exit(
            f"{wheel.name}: tagged for glibc {tagged[0]}.{tagged[1]}, but the library "
            f"needs glibc {needed[0]}.{needed[1]}"
        )
    return (
        f"{wheel.name}: honest: its library needs glibc {needed[0]}.{needed[1]} and "
        f"only glibc; auditwheel's tag: {best}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(main(Path(sys.argv[1]), Path(sys.argv[2])))
