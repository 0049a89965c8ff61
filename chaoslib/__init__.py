"""chaoslib: ALBERT's shared layer as a dynamical system, and the analyses of "Transient Chaos in BERT".

One map, many analyses: load a network (``models.load_albert``), get its map
(``albert_map.AlbertMap``: ``x0 = embed(encoded)``, ``F = step``), then run it
(``runner.run_trajectory``, the perturbed pairs and Jacobian-vector products of ``lyapunov``)
and analyse (exponents, synchronisation, effective dimension, readouts). Analyses accept any
map ``step(x: (batch, *state)) -> (batch, *state)``, so they are also checked on toy maps.
"""

__version__ = "0.1.0"
