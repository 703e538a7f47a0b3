"""Saddle points: critical points of network losses are mostly saddles, and saddle-free Newton escapes them (Dauphin et al. 2014)."""

# The index-against-loss figure (Fig. 1), then saddle-free Newton (Fig. 4).
ORDER = ("saddle_index", "saddle_free_newton")
