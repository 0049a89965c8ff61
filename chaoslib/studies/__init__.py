"""Studies of networks: one analysis run on several networks through one driver.

``compare_networks(networks, analysis, inputs)`` runs an analysis of a map (:mod:`chaoslib.studies.analyses`:
local exponents, synchronisation, effective dimension) on every :class:`~chaoslib.model.network.Network`, one
network in memory at a time, through the sweep layer (:mod:`chaoslib.sweep`: in this process, or one Ray task
per network; with ``store_dir`` a rerun skips the networks already finished), and returns one labelled
``xarray.Dataset`` with a ``network`` dimension. :func:`chaoslib.studies.trajectories.network_trajectories`
runs the runner's probes on several networks the same way (one network in memory at a time). The estimators
themselves stay functions of a map in :mod:`chaoslib.dynamics`.
"""
