"""Performance by depth: GLUE (frozen and trained sweeps), masked LM by depth, and the handwriting readout."""
