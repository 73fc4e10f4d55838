"""A composition root for tests: the app's own wiring, with settings and
fakes of the test's choosing (chalicelib/backends.py), instead of patched
module globals."""

from __future__ import annotations

from typing import Any

from chalicelib.backends import Root, Services
from chalicelib.config import environment
from chalicelib.config.settings import load_settings


class TestRoot(Root):
    """The current environment's settings with `env` laid over them, and
    Services holding `fakes` (faces=, reader=, store=, today=). Both may be
    changed during a test; nothing is cached (the adapters themselves are)."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.fakes: dict[str, Any] = {}
        super().__init__(
            lambda: load_settings({**environment.current(), **self.env}),
            lambda settings: Services(settings, **self.fakes),
        )

    def services(self) -> Services:
        return Services(self.settings(), **self.fakes)
