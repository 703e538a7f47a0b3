"""Memorization: nets fit random labels and random images; kernel interpolation still generalizes.

Zhang et al., "Understanding deep learning requires rethinking generalization", ICLR 2017.
"""

# Fig. 1a, 1b, 1c, then the kernel section (each with its CIFAR-10 twin).
ORDER = ("mem_randomization", "mem_convergence", "mem_test_error", "kernel_interpolation",
         "kernel_random_features_cifar10", "kernel_gabor_mnist")
