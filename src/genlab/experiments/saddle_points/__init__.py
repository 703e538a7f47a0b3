"""Saddle points: critical points of network losses are mostly saddles, and saddle-free Newton escapes them (Dauphin et al. 2014)."""
