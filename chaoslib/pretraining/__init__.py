"""Pretraining ALBERT from scratch (masked LM with n-gram masking + sentence-order prediction).

The offline edition's pretrained network is trained here (SPEC 5): ``python -m chaoslib.pretraining``.
"""
