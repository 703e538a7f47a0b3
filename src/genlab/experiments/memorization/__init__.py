"""Memorization: nets fit random labels and random images; kernel interpolation still generalizes.

Zhang et al., "Understanding deep learning requires rethinking generalization", ICLR 2017.
"""
