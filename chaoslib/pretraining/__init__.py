"""Pretraining ALBERT from scratch (masked LM with n-gram masking + sentence-order prediction).

The offline edition's pretrained network is trained here: ``python -m chaoslib.pretraining``.
"""
