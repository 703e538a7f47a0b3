"""Loss surfaces: the spread of trained losses shrinks toward the best as width grows (Choromanska et al. 2015)."""
