"""Runners and analyses of any map: trajectories with probes, Lyapunov exponents and spectra, synchronisation, effective dimension, the reduced map, toy maps with known exponents."""
