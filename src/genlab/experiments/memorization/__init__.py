"""Memorization: nets fit random labels and random images; kernel interpolation still generalizes (Zhang et al. 2017)."""
