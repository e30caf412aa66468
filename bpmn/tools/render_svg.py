"""Render a BPMN file's diagram as SVG, the way the web UI draws it.

    python bpmn/tools/render_svg.py bpmn/general_permit.bpmn -o docs/images/general_permit.svg
    python bpmn/tools/render_svg.py bpmn/general_permit.bpmn -o case.svg \\
        --state accept=completed --state handle=active

Without ``-o`` the SVG goes to standard output. ``--state ID=STATE`` (repeatable) draws
element ID as ``completed``, ``active``, ``overdue`` or ``not_reached``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _state(text: str) -> tuple[str, str]:
    from webui.diagram import STATES

    element_id, sep, state = text.partition("=")
    if not sep or not element_id or state not in STATES:
        raise argparse.ArgumentTypeError(
            f"expected ID=STATE with STATE one of {', '.join(sorted(STATES))}, got {text!r}"
        )
    return element_id, state


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, render, write; return the exit status."""
    if str(ROOT) not in sys.path:  # run as a script from anywhere, installed or not
        sys.path.insert(0, str(ROOT))
    from webui.diagram import render_svg

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bpmn", type=Path, help="the BPMN file")
    parser.add_argument("-o", "--output", type=Path, help="the SVG file (default: stdout)")
    parser.add_argument(
        "--state",
        type=_state,
        action="append",
        default=[],
        metavar="ID=STATE",
        help="draw element ID in STATE (completed, active, overdue, not_reached)",
    )
    parser.add_argument("--process", help="the process whose diagram to draw")
    parser.add_argument("--title", help="the SVG's title (default: the process name)")
    args = parser.parse_args(argv)

    try:
        svg = render_svg(
            args.bpmn.read_bytes(),
            states=dict(args.state),
            process_id=args.process,
            title=args.title,
        )
    except (OSError, ValueError) as exc:
        print(f"render_svg: {args.bpmn}: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(svg)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(svg, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
