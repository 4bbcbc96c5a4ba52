"""Generation as functions over a decoder step: greedy, beam search, sampling, streaming."""

from warmseq.generation.config import GenerationConfig
from warmseq.generation.driver import GenerateOutput, generate_tokens, stream_tokens
from warmseq.generation.streaming import stream_text

__all__ = ["GenerateOutput", "GenerationConfig", "generate_tokens", "stream_text", "stream_tokens"]
