"""warmseq: warm-started encoder-decoder models."""
