"""Structured logs (JSON lines) carrying the request id. Never log templates, card numbers or codes."""
from __future__ import annotations

import logging
import os
import sys

import structlog


def _add_pid(_logger, _method: str, event: dict) -> dict:  # noqa: ANN001
    """Which worker process wrote the line (`backend serve --workers N` runs several)."""
    event["pid"] = os.getpid()
    return event


def configure_logging(json_lines: bool = True, level: int = logging.INFO) -> None:
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json_lines \
        else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_pid,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


log = structlog.get_logger("gatepay.backend")
