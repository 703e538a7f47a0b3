"""Cheap learning: products of inputs are cheap for deep nets, costly for shallow ones (Lin, Tegmark & Rolnick 2017)."""

# The multiplication gate (Fig. 2), then depth against width (Sec. III).
ORDER = ("cheap_multiplication", "cheap_depth")
