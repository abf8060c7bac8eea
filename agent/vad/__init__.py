"""Voice activity detection: cut a 16 kHz mono int16 PCM stream into utterances.

Three stages, one module each:

- ``_level``: a level normalizer (AGC), so that what the classifier hears does not depend
  on how far the speaker sits from the microphone;
- ``_classifiers``: a frame classifier labels every ``frame_ms`` frame as speech or not
  (Silero VAD by default; webrtcvad and an RMS threshold stay selectable);
- ``_segmenter``: :class:`Segmenter` turns those labels into utterances with padding,
  drops short bursts, and cuts long speech at its quietest frame so that each part fits
  one Whisper window.

Utterances always carry the original samples: the normalizer only feeds the classifier.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> silence = np.zeros(16_000, dtype=np.int16)
    >>> burst = (rng.standard_normal(16_000) * 3000).astype(np.int16)
    >>> seg = Segmenter(VadOptions(backend="energy"))
    >>> [(u.t0, u.t1) for u in seg.feed(np.concatenate([silence, burst, silence]))]
    [(0.79, 2.21)]
"""

from ._classifiers import EnergyFrameVad as EnergyFrameVad
from ._classifiers import FrameVad as FrameVad
from ._classifiers import NormalizedFrameVad as NormalizedFrameVad
from ._classifiers import SileroFrameVad as SileroFrameVad
from ._classifiers import WebrtcFrameVad as WebrtcFrameVad
from ._classifiers import make_frame_vad as make_frame_vad
from ._classifiers import restart_step as restart_step
from ._classifiers import silero_model_path as silero_model_path
from ._level import LevelNormalizer as LevelNormalizer
from ._options import BACKENDS as BACKENDS
from ._options import SAMPLE_RATE as SAMPLE_RATE
from ._options import Backend as Backend
from ._options import VadOptions as VadOptions
from ._segmenter import Segmenter as Segmenter
from ._segmenter import Utterance as Utterance
from ._segmenter import as_int16 as as_int16
