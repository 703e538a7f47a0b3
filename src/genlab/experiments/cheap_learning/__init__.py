"""Cheap learning: products of inputs are cheap for deep nets, costly for shallow ones (Lin, Tegmark & Rolnick 2017)."""
