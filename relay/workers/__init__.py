from ._llm import LlmBackend as LlmBackend
from ._llm import LlmConfig as LlmConfig
