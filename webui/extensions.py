"""Flask extensions and the engine, as the views reach them.

Flask-WTF's :data:`csrf` and Flask-Babel's :data:`babel` keep their state per app, so one
instance serves every app ``create_app`` makes. Flask-Limiter keeps its storage on the
instance, so ``create_app`` makes one limiter per app (``app.extensions["limiter"]``).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from engine import Engine

#: The key of the engine in ``app.extensions``.
ENGINE_KEY = "xiaoneng"
#: The key of the embedded timer worker in ``app.extensions`` (when there is one).
WORKER_KEY = "xiaoneng.worker"

csrf = CSRFProtect()
babel = Babel()


def get_engine() -> Engine:
    """The engine of the current app."""
    engine: Engine = current_app.extensions[ENGINE_KEY]
    return engine
