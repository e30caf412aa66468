"""``xiaoneng serve``: the whole product in one process (web + timer worker).

The engine's CLI (``engine.cli``) takes commands from installed packages through the
entry-point group ``xiaoneng.commands``; ``pyproject.toml`` registers
:func:`add_serve_command` there. So ``xiaoneng serve`` exists when the web UI is
installed, and the engine never imports the web UI.

This module imports Flask only when ``serve`` runs: every other ``xiaoneng`` command
starts as fast as before.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
from types import FrameType
from typing import Any

SERVE_DESCRIPTION = (
    "Run the web UI and an embedded timer worker in this one process, on "
    "XIAONENG_DATABASE_URL (default: sqlite:///xiaoneng.db in the working directory). "
    "This is the embedded single-process mode, for trying Xiaoneng and for small "
    "installations; it serves with waitress. Production: gunicorn -w 2 --threads 4 "
    "'webui:create_app()' plus separate `xiaoneng worker` processes on PostgreSQL "
    "(see the README)."
)


def add_serve_command(sub: Any) -> None:
    """Add ``serve`` to the ``xiaoneng`` command line (entry point ``xiaoneng.commands``)."""
    p = sub.add_parser(
        "serve",
        help="run the web UI with an embedded timer worker in one process (SQLite)",
        description=SERVE_DESCRIPTION,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="load the demo organisation, the process library and sample cases in various "
        "states first, and print the demo logins",
    )
    p.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Run ``xiaoneng serve`` until Ctrl-C or SIGTERM; return the exit status."""
    import waitress

    from engine import DEMO_APPLICANT, DEMO_LOGINS, Engine, load_demo
    from webui import create_app, stop_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for chatty in ("SpiffWorkflow", "spiff", "apscheduler"):  # a line per step or wake-up
        logging.getLogger(chatty).setLevel(logging.WARNING)
    engine = Engine(create_schema=True)
    if args.demo:
        loaded = load_demo(engine)
        print(f"demo loaded: {', '.join(loaded['processes'])}")  # type: ignore[arg-type]
        more = ", ".join(loaded["more_cases"])  # type: ignore[arg-type]
        print(f"sample cases: {loaded['sample_case']}" + (f", {more}" if more else ""))
        print("demo logins (user / password):")
        for login in DEMO_LOGINS:
            print(f"  {login.person_id:<14} {login.password:<10} {login.what}")
        applicant = DEMO_APPLICANT  # logs in on the portal (/portal/login), not /login
        print(f"  {applicant.person_id:<14} {applicant.password:<10} {applicant.what}")
    app = create_app({"EMBEDDED_WORKER": True}, engine=engine)
    url = f"http://{_url_host(args.host)}:{args.port}/"
    print(f"Xiaoneng is at {url}  (database {engine.sa_engine.url.render_as_string()})")
    if app.config["SESSION_COOKIE_SECURE"] and not _is_loopback(args.host):
        print(
            "note: the session cookie is Secure: browsers send it back only over HTTPS "
            "(or to localhost). Put a TLS proxy in front (XIAONENG_TRUSTED_PROXIES=1), or "
            "for a trial on a closed network set XIAONENG_SESSION_COOKIE_SECURE=0.",
            file=sys.stderr,
        )
    signal.signal(signal.SIGTERM, _stop_serving)
    try:
        waitress.serve(app, host=args.host, port=args.port, threads=args.threads)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop the worker, close the pool
        print("stopping", file=sys.stderr)
    finally:
        stop_worker(app)
        engine.dispose()
    return 0


def _stop_serving(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104  (a display name for "every address")
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
