"""Every shipped diagram: BPMN 2.0 XSD, deployable, and clean in bpmn-moddle (bpmn.io)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine import Engine
from engine.parsing import SourceFile, parse_bundle
from tests.conftest import BPMN

DIAGRAMS = sorted(BPMN.glob("*.bpmn"))
CHECKER = BPMN / "tools" / "check_moddle.mjs"


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_diagram_validates_with_the_library(path: Path) -> None:
    # the whole library is one bundle: called processes resolve across files
    bundle = parse_bundle([SourceFile(p.name, p.read_bytes()) for p in DIAGRAMS])
    processes = {p.process_id: p for p in bundle.processes}
    assert path.stem in processes  # file stem = process id
    assert path.name in [s.name for s in processes[path.stem].sources]


def test_the_library_deploys_as_one_bundle(engine: Engine) -> None:
    result = engine.deploy([BPMN])
    assert sorted(result.created) == sorted(p.stem for p in DIAGRAMS)


def test_diagrams_load_cleanly_in_bpmn_moddle() -> None:
    node = shutil.which("node")
    modules = BPMN / "tools" / "node_modules" / "bpmn-moddle"
    if node is None or not modules.exists():
        message = "node or bpmn/tools/node_modules missing (scripts/test.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [node, str(CHECKER), *map(str, DIAGRAMS)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MODDLE_DIR": str(BPMN / "tools")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
