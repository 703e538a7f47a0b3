"""Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018): one module per experiment, the recipe in common.py."""
