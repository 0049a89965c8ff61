"""Inputs: the ALBERT tokenizer and fixed-length encodings, Wikipedia-like text samples, n-gram masking, the MLM corpus and the handwriting glyphs."""
