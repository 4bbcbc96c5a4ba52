"""The search strategies of the Flax port as JAX functions over a decode step (twin of warmseq.generation)."""
