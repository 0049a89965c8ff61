"""The network and its map: ALBERT architectures, named random-init schemes, loading (pretrained or random), and the shared layer as a map F."""
