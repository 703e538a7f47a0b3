"""Information plane: fitting then compression in I(X;T), I(T;Y), and its dependence on the estimator.

Shwartz-Ziv & Tishby 2017; Saxe et al. 2018.
"""

# tanh's compression first, then ReLU's absence of it.
ORDER = ("ib_tanh", "ib_relu")
