"""The vendors a connector can push to, one module each, all speaking
:class:`~relay.connectors.targets._base.Target`."""

from __future__ import annotations

from importlib import import_module

from ._base import TARGETS as TARGETS
from ._base import Note as Note
from ._base import PermanentError as PermanentError
from ._base import RetryableError as RetryableError
from ._base import Target as Target
from ._base import TargetError as TargetError
from ._base import Task as Task


def target_of(name: str) -> Target:
    """The target called ``name`` (one of :data:`TARGETS`)."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}")
    target: Target = import_module(f"{__name__}.{name}").TARGET
    return target
