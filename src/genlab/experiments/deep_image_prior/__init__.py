"""Deep Image Prior (Ulyanov, Vedaldi, Lempitsky, CVPR 2018): one module per experiment, the recipe in common.py."""

# The paper's order: the restoration tasks (Figs. 3-7), then the fitting-speed figure (Fig. 2).
ORDER = ("dip_denoise", "dip_jpeg", "dip_inpaint", "dip_sr", "dip_fitting_speed")
