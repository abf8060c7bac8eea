"""``minuta devices``: the microphones ``minuta record --device`` can use."""

from __future__ import annotations

import argparse
from typing import Any

from ..audio import AudioError, list_devices
from ._common import CliError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "devices", help="list the input devices", description=__doc__
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        devices = list_devices()
    except AudioError as exc:
        raise CliError(str(exc)) from None
    if not devices:
        print("No input devices found.")
        return 0
    print("   # name (* default)")
    for d in devices:
        mark = "*" if d.is_default else " "
        print(f"{mark}{d.index:3d} {d.name} ({d.channels} ch, {d.default_samplerate:.0f} Hz)")
    return 0
