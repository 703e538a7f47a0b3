"""Frequency principle: networks fit low frequencies first (Xu et al. 2018/2019; Rahaman et al. 2019)."""
