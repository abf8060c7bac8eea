"""Audio sources for the agent: files and microphones, always 16 kHz mono int16 numpy arrays.

Files are decoded with PyAV (FFmpeg bundled, no system dependency) one packet at a time, so a
2-hour recording never sits in memory whole. Microphones use sounddevice, which needs the
PortAudio C library; it is imported only when a microphone is used, so transcribing a file
works on a machine without it.

>>> chunks = read_file("meeting.m4a", chunk_s=0.5)  # doctest: +SKIP
>>> next(chunks).dtype, next(chunks).shape  # doctest: +SKIP
(dtype('int16'), (8000,))
"""

from ._common import SAMPLE_RATE as SAMPLE_RATE
from ._common import AudioError as AudioError
from ._files import file_duration as file_duration
from ._files import read_file as read_file
from ._microphone import NO_MICROPHONE as NO_MICROPHONE
from ._microphone import PORTAUDIO_HINT as PORTAUDIO_HINT
from ._microphone import InputDevice as InputDevice
from ._microphone import Microphone as Microphone
from ._microphone import _resolve_device as _resolve_device
from ._microphone import list_devices as list_devices

__all__ = [
    "NO_MICROPHONE",
    "PORTAUDIO_HINT",
    "SAMPLE_RATE",
    "AudioError",
    "InputDevice",
    "Microphone",
    "file_duration",
    "list_devices",
    "read_file",
]
