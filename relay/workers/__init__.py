"""The summary and action workers: backends (heuristics, an LLM) and their runner."""

from ._llm import LlmBackend as LlmBackend
from ._llm import LlmConfig as LlmConfig
from ._runner import WORKER_LEASE_S as WORKER_LEASE_S
from ._runner import Backend as Backend
from ._runner import DocHost as DocHost
from ._runner import HeuristicBackend as HeuristicBackend
from ._runner import RoomsHost as RoomsHost
from ._runner import WorkerOptions as WorkerOptions
from ._runner import Workers as Workers
